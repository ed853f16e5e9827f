"""The local optimizers reach the optimum from near the truth, inside the budget."""

from __future__ import annotations

import numpy as np
import pytest

from biobench.errors import PluginError
from biobench.likelihood import Likelihood
from biobench.objective import Objective
from biobench.optimizers import optimizers
from tests.conftest import DATA

LOCAL = ["local", "lbfgsb"]


def _near_truth(problem, scale=0.02):
    signs = np.where(np.arange(problem.n_parameters) % 2, 1.0, -1.0)
    return problem.x_true + scale * signs


def test_local_from_near_truth_reaches_f_true_on_repressilator(repressilator_problem):
    likelihood = Likelihood(repressilator_problem)
    f_true = likelihood.fval(repressilator_problem.x_true)
    objective = Objective(likelihood, budget=1000)
    result = optimizers.get("local")().minimize(objective, _near_truth(repressilator_problem), np.random.default_rng(0))
    assert result.fval_best <= f_true + 0.1
    assert result.n_evals <= 1000 and result.status == "stopped"


@pytest.mark.parametrize("name", LOCAL)
def test_converges_on_small_model(two_step_problem, name):
    likelihood = Likelihood(two_step_problem)
    f_true = likelihood.fval(two_step_problem.x_true)
    objective = Objective(likelihood, budget=500)
    result = optimizers.get(name)().minimize(objective, _near_truth(two_step_problem, 0.5), np.random.default_rng(0))
    assert result.fval_best <= f_true + 0.1
    assert result.fval_best < result.fval0


@pytest.mark.parametrize("name", LOCAL)
@pytest.mark.parametrize("budget", [1, 2, 7, 30])
def test_budget_is_never_exceeded(two_step_problem, name, budget):
    objective = Objective(Likelihood(two_step_problem), budget=budget)
    result = optimizers.get(name)().minimize(objective, two_step_problem.lower + 0.3, np.random.default_rng(0))
    assert result.n_evals <= budget
    assert result.status in ("budget", "stopped")
    assert np.isfinite(result.fval_best)


@pytest.mark.parametrize("name", LOCAL)
def test_stays_inside_bounds(two_step_problem, name):
    objective = Objective(Likelihood(two_step_problem), budget=200)
    result = optimizers.get(name)().minimize(objective, two_step_problem.upper, np.random.default_rng(0))
    assert np.all(result.x_best >= two_step_problem.lower) and np.all(result.x_best <= two_step_problem.upper)


def test_survives_a_start_where_simulation_fails(two_step_problem):
    objective = Objective(Likelihood(two_step_problem), budget=50)
    objective.simulator.rr.getIntegrator().setValue("maximum_num_steps", 5)
    objective.simulator.retry_non_stiff = False  # Adams would finish them
    result = optimizers.get("local")().minimize(objective, two_step_problem.upper, np.random.default_rng(0))
    assert result.n_failures >= 1 and result.status != "error", result.message
    assert result.n_evals <= 50


def test_options_are_validated_and_typed():
    opt = optimizers.get("local")(ftol="1e-6")
    assert opt.options["ftol"] == 1e-6
    with pytest.raises(PluginError, match="no option"):
        optimizers.get("local")(tolerance=1)
    with pytest.raises(PluginError, match="not a valid float"):
        optimizers.get("local")(ftol="small")


def test_unknown_optimizer_lists_the_known_ones():
    with pytest.raises(PluginError, match="available: bo, bo-gp, bo-tpe, cmaes, ess, fides, ga, lbfgsb, local, mcmc"):
        optimizers.get("simplex")


BOEHM = DATA / "benchmark_models_petab" / "Boehm_JProteomeRes2014" / "Boehm_JProteomeRes2014.yaml"  # BSD-3 copy


def test_jacobian_scaling_takes_boehm_from_its_ridge_to_the_published_optimum():
    """Where unscaled least squares stopped on Boehm (138.35, on a flat ridge towards the bounds), scaling by
    the Jacobian's column norms reaches the published optimum 138.222 (unscaled: 138.33)."""
    from biobench.petab import load_petab_problem

    problem = load_petab_problem(BOEHM)
    likelihood = Likelihood(problem)
    ridge = np.array([-1.565, -4.202, -2.197, -1.79, 3.123, 4.199, 0.589, 0.819, 0.498])
    results = {scale: optimizers.get("local")(x_scale=scale).minimize(Objective(likelihood, 2000), ridge,
                                                                    np.random.default_rng(0))
               for scale in ("jac", "unit")}
    assert results["jac"].fval_best < 138.222 + 0.1 < results["unit"].fval_best
