"""The objective: likelihood values, counting, the budget, failed simulations."""

from __future__ import annotations

import math

import numpy as np
import pytest

from biobench.likelihood import Likelihood
from biobench.objective import BudgetExhausted, Objective


def test_true_parameters_are_finite_and_better_than_perturbed(repressilator_problem):
    objective = Objective(Likelihood(repressilator_problem))
    f_true = objective.fval(repressilator_problem.x_true)
    assert math.isfinite(f_true)
    rng = np.random.default_rng(0)
    for _ in range(5):
        x = repressilator_problem.x_true + rng.normal(0, 0.3, repressilator_problem.n_parameters)
        assert objective.fval(x) > f_true


def test_fval_is_half_sum_of_squared_residuals_plus_gaussian_constant(two_step_problem):
    objective = Objective(Likelihood(two_step_problem))
    x = two_step_problem.x_true + 0.1
    r = objective.residuals(x)
    sigma = two_step_problem.sigma
    expected = 0.5 * np.sum(r**2) + 0.5 * np.sum(np.log(2 * np.pi * sigma**2))
    assert objective.fval(x) == pytest.approx(expected, rel=1e-12)
    assert r.shape == (two_step_problem.n_data,)


def test_every_evaluation_is_counted_and_repeats_are_free(two_step_problem):
    objective = Objective(Likelihood(two_step_problem))
    objective.fval(two_step_problem.x_true)
    objective.fval(two_step_problem.x_true)  # same point: no simulation, no charge
    objective.residuals(two_step_problem.x_true + 0.01)
    assert objective.n_evals == 2


def test_budget_is_never_exceeded(two_step_problem):
    objective = Objective(Likelihood(two_step_problem), budget=5)
    rng = np.random.default_rng(0)
    for _ in range(5):
        objective.fval(rng.uniform(two_step_problem.lower, two_step_problem.upper))
    with pytest.raises(BudgetExhausted):
        objective.fval(two_step_problem.x_true)
    assert objective.n_evals == 5


def test_failed_simulation_is_inf_and_counted_not_raised(two_step_problem):
    objective = Objective(Likelihood(two_step_problem))
    objective.simulator.rr.getIntegrator().setValue("maximum_num_steps", 100)
    objective.simulator.retry_non_stiff = False  # a failure as BDF gives it (IntegratorSettings.retry_non_stiff)
    huge = two_step_problem.upper + 40  # rates of 10^40: CVODE gives up after 100 steps
    assert objective.fval(huge) == math.inf
    assert np.isinf(objective.residuals(huge + 1)).all()
    assert objective.n_failures == 2 and objective.n_evals == 2
    assert objective.fval(np.full(2, np.nan)) == math.inf


def test_best_so_far_trace_is_monotone(two_step_problem):
    objective = Objective(Likelihood(two_step_problem))
    rng = np.random.default_rng(1)
    for _ in range(20):
        objective.fval(rng.uniform(two_step_problem.lower, two_step_problem.upper))
    fvals = [f for _, f, _ in objective.trace]
    evals = [i for i, _, _ in objective.trace]
    assert fvals == sorted(fvals, reverse=True) and evals == sorted(evals)
    assert objective.best_fval == fvals[-1]


def test_a_new_start_counts_afresh_over_the_same_likelihood(two_step_problem):
    likelihood = Likelihood(two_step_problem)
    first = Objective(likelihood, budget=3)
    first.fval(two_step_problem.x_true)
    objective = Objective(likelihood, budget=3)  # the next start: a fresh objective, the compiled likelihood shared
    assert objective.n_evals == 0 and objective.best_x is None and objective.trace == []
    assert objective.fval(two_step_problem.x_true) == first.best_fval and first.n_evals == 1


def test_a_time_limit_ends_a_start_after_the_evaluation_that_passes_it(two_step_problem, tmp_path):
    import time

    from biobench.running.runner import run_starts
    from biobench.running.store import Store

    likelihood, rng = Likelihood(two_step_problem), np.random.default_rng(0)
    began = time.perf_counter()  # before the objective, whose clock starts when it is made
    objective = Objective(likelihood, budget=10**6, time_limit=0.05)
    with pytest.raises(BudgetExhausted, match="time limit of 0.05 s"):
        while True:
            objective.fval(rng.uniform(two_step_problem.lower, two_step_problem.upper))
    assert time.perf_counter() - began >= 0.05 and objective.n_evals < 10**6
    # in a run: the start stops early and its record says why; without the limit it would use its budget
    record = run_starts(two_step_problem, "random", "local", n_starts=1, budget=500, seed=0,
                        store=Store(tmp_path / "t.sqlite"), time_limit=1e-9).records[0]
    assert record.n_evals == 1 and record.status == "budget" and "time limit" in record.message


def test_a_time_limit_passing_while_a_failed_start_simulates_ends_the_start_not_the_bench(two_step_problem):
    """The corpus bench died here: the spare's evaluation raised the time limit outside the optimizer's guard."""
    from biobench.optimizers import optimizers

    objective = Objective(Likelihood(two_step_problem), budget=100, time_limit=1e-9)
    spare = two_step_problem.x_true[None, :]
    result = optimizers.get("local")().minimize(objective, np.full(2, np.nan), np.random.default_rng(0),
                                                spares=spare)
    assert math.isinf(result.fval0) and objective.n_evals == 1 and "replaced_start_points" not in result.extras
