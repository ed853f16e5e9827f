"""Every registered optimizer honours the fair-comparison rules (the shared conformance suite).

Options keep the expensive methods small (few GP iterations, short chains); the
behaviour under test is the same.
"""

from __future__ import annotations

import numpy as np
import pytest

from biobench.initializers import initializers
from biobench.likelihood import Likelihood
from biobench.objective import Objective
from biobench.optimizers import optimizers

SMALL = {
    "bo": {"n_initial": 5, "max_evals": 25, "n_points": 200},
    "bo-gp": {"n_initial": 5, "max_evals": 25},
    "bo-tpe": {"n_initial": 5},
    "cmaes": {"n_initial": 3},
    "ess": {"n_diverse": 8, "dim_refset": 4, "local_budget": 15, "local_every": 2},
    "ga": {"pop_size": 8},
    "mcmc": {"chains": 2},
    "surrogate": {"pilot": 10, "batch": 3, "samples": 100, "search_iterations": 2, "epochs": 20, "refit_epochs": 5,
                  "layers": 1, "width": 16, "rounds": 1},
}
NAMES = optimizers.names()


def run(name, problem, budget, seed=0, objective=None):
    opt = optimizers.get(name)(**SMALL.get(name, {}))
    design = initializers.get("lhs")().sample(problem, opt.n_start_points(), np.random.default_rng(seed))
    x0 = design if opt.n_start_points() > 1 else design[0]
    objective = objective or Objective(Likelihood(problem), budget=budget)
    return opt.minimize(objective, x0, np.random.default_rng(seed + 1)), objective


def spy(objective):
    """Record every point the optimizer asks for (observes, does not change, the objective)."""
    seen = []
    evaluate = objective._evaluate

    def recording(x):
        seen.append(np.array(x))
        return evaluate(x)

    objective._evaluate = recording
    return seen


@pytest.mark.parametrize("name", NAMES)
class TestOptimizerConformance:
    def test_never_exceeds_the_budget(self, name, two_step_problem):
        for budget in (1, 9, 40):
            result, objective = run(name, two_step_problem, budget)
            assert result.n_evals <= budget and objective.n_evals <= budget
            assert result.status != "error", result.message

    def test_every_simulation_is_charged(self, name, two_step_problem):
        """Count what roadrunner is asked to do, not what the objective counted: an optimizer that takes
        finite-difference probes (or anything else) from the uncounted likelihood simulates more than it is
        charged for. A repeated point is free (the objective's memo), so simulations <= n_evals."""
        likelihood = Likelihood(two_step_problem)
        simulations = [0]
        simulate = likelihood.simulator.simulate

        def counted(x_natural):
            simulations[0] += 1
            return simulate(x_natural)

        likelihood.simulator.simulate = counted
        _, objective = run(name, two_step_problem, 60, objective=Objective(likelihood, budget=60))
        assert 0 < simulations[0] <= objective.n_evals <= 60

    def test_respects_bounds(self, name, two_step_problem):
        objective = Objective(Likelihood(two_step_problem), budget=40)
        seen = spy(objective)
        result, _ = run(name, two_step_problem, 40, objective=objective)
        points = np.array(seen)
        assert np.all(points >= two_step_problem.lower - 1e-12) and np.all(points <= two_step_problem.upper + 1e-12)
        assert np.all(result.x_best >= two_step_problem.lower) and np.all(result.x_best <= two_step_problem.upper)

    def test_deterministic_under_a_seed(self, name, two_step_problem):
        """Only the seed decides: numpy's global state (which libraries fall back to) is moved between runs."""
        np.random.seed(1)
        a, _ = run(name, two_step_problem, 30, seed=3)
        np.random.seed(2)
        b, _ = run(name, two_step_problem, 30, seed=3)
        assert a.fval_best == b.fval_best and a.n_evals == b.n_evals
        np.testing.assert_array_equal(a.x_best, b.x_best)

    def test_survives_failed_simulations(self, name, two_step_problem):
        objective = Objective(Likelihood(two_step_problem), budget=30)
        objective.simulator.rr.getIntegrator().setValue("maximum_num_steps", 60)  # fast rates now fail
        objective.simulator.retry_non_stiff = False  # Adams would finish them (IntegratorSettings.retry_non_stiff)
        result, _ = run(name, two_step_problem, 30, objective=objective)
        assert objective.n_failures > 0, "the test needs some failed simulations"
        assert result.status != "error", result.message
        assert result.n_evals <= 30

    def test_improves_on_a_quadratic(self, name, quadratic_problem):
        result, objective = run(name, quadratic_problem, 150)
        f_opt = Objective(Likelihood(quadratic_problem)).fval(quadratic_problem.x_true)
        assert result.fval_best < result.fval0
        assert result.fval_best < f_opt + 0.5 * (result.fval0 - f_opt)

    def test_improves_on_the_repressilator(self, name, repressilator_problem):
        result, _ = run(name, repressilator_problem, 60)
        assert result.fval_best < result.fval0
        assert result.n_evals <= 60
