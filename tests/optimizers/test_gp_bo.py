"""The GP behind ``bo``: skopt's model, with a faster variance and hyperparameters carried between refits."""

from __future__ import annotations

import numpy as np
import pytest
from skopt.learning import GaussianProcessRegressor

from biobench.likelihood import Likelihood
from biobench.objective import Objective
from biobench.optimizers import optimizers
from biobench.optimizers.gp_bo import gaussian_process


@pytest.fixture(scope="module")
def fitted():
    rng = np.random.default_rng(0)
    x = rng.uniform(size=(60, 4))
    y = np.sin(6 * x[:, 0]) + x[:, 1] ** 2 - x[:, 2] * x[:, 3] + rng.normal(0, 0.05, 60)  # noise: well conditioned
    gp = gaussian_process(4, seed=0).fit(x, y)
    assert gp.noise_ > 1e-3  # a well-conditioned fit, where both variance formulas are accurate
    return gp, x, y


def test_batched_variance_is_skopts_own(fitted):
    gp, _, _ = fitted
    candidates = np.random.default_rng(1).uniform(size=(500, 4))
    mean, std = gp.predict(candidates, return_std=True)
    ref_mean, ref_std = GaussianProcessRegressor.predict(gp, candidates, return_std=True)  # skopt's einsum path
    np.testing.assert_allclose(mean, ref_mean, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(std, ref_std, rtol=1e-5, atol=1e-8)  # two formulas, rounding apart


def test_a_refit_with_held_hyperparameters_keeps_kernel_and_noise(fitted):
    gp, x, y = fitted
    x_more = np.vstack([x, np.random.default_rng(2).uniform(size=(5, 4))])
    y_more = np.concatenate([y, np.zeros(5)])
    again = gaussian_process(4, 0, gp).fit(x_more, y_more)
    np.testing.assert_allclose(again.kernel_.k1.theta, gp.kernel_.k1.theta)  # amplitude and length scales
    assert again.noise_ == pytest.approx(max(gp.noise_, 1e-5))  # the fitted noise, not the zeroed prediction term
    # It is a fit to the new data: it interpolates the new points (up to the noise), unlike the old model.
    assert np.abs(again.predict(x_more[-5:]) - y_more[-5:]).max() < np.abs(gp.predict(x_more[-5:]) - y_more[-5:]).max()


def test_bo_finds_the_two_step_optimum_within_its_max_evals(two_step_problem):
    """A 2-parameter problem the GP can model: 40 evaluations get close to the truth, and no more are used."""
    likelihood = Likelihood(two_step_problem)
    truth = likelihood.fval(two_step_problem.x_true)
    rng = np.random.default_rng(0)
    bo = optimizers.get("bo")(max_evals=40, n_initial=10, polish="none")
    design = np.random.default_rng(5).uniform(two_step_problem.lower, two_step_problem.upper, (10, 2))
    result = bo.minimize(Objective(likelihood, 1000), design, rng)
    assert result.n_evals == 40 and result.status == "stopped"
    assert result.fval_best < truth + 5 and result.fval_best < min(likelihood.fval(x) for x in design) - 100


def test_the_polish_goes_on_from_bos_best_point_with_the_rest_of_the_budget(two_step_problem):
    """BO finds the basin, a local search its bottom: the polish starts at the search's best point, and
    every evaluation of both is charged to the start."""
    likelihood = Likelihood(two_step_problem)
    truth = likelihood.fval(two_step_problem.x_true)
    design = np.random.default_rng(5).uniform(two_step_problem.lower, two_step_problem.upper, (10, 2))
    search = optimizers.get("bo")(max_evals=20, n_initial=10, polish="none").minimize(
        Objective(likelihood, 300), design, np.random.default_rng(0))
    objective = Objective(likelihood, 300)
    polished = optimizers.get("bo")(max_evals=20, n_initial=10).minimize(objective, design, np.random.default_rng(0))
    assert objective.history[19][1] == pytest.approx(search.evaluations[19][1])  # the same search first
    assert 20 < polished.n_evals <= 300 and polished.n_evals == len(objective.history)
    assert polished.fval_best < search.fval_best and polished.fval_best < truth + 1e-3
    assert "then local from the best point" in polished.message
    assert optimizers.get("bo")().evaluations_used(1000) == 1000  # the run header says the whole budget is used
