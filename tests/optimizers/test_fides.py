"""fides with a Gauss-Newton Hessian: exact where the model is linear, every Jacobian probe charged and in bounds."""

from __future__ import annotations

import numpy as np
import pytest

from biobench.likelihood import Likelihood
from biobench.objective import Objective
from biobench.optimizers import optimizers
from biobench.optimizers.fides_tr import residual_jacobian
from biobench.petab import load_petab_problem
from tests.conftest import DATA

BOEHM = DATA / "benchmark_models_petab" / "Boehm_JProteomeRes2014" / "Boehm_JProteomeRes2014.yaml"  # BSD-3 copy


@pytest.mark.parametrize("differences", ["forward", "central"])
def test_the_jacobian_is_exact_on_a_linear_model_and_probes_stay_in_bounds(quadratic_problem, differences):
    """The quadratic problem observes its parameters (lin scale): d r / d p = -1 / sigma, exactly."""
    objective = Objective(Likelihood(quadratic_problem))
    x = quadratic_problem.upper.copy()  # on the upper bound: a forward probe must step backwards
    seen = []
    evaluate = objective._evaluate
    objective._evaluate = lambda point: seen.append(np.array(point)) or evaluate(point)
    r0 = objective.residuals(x)
    jac = residual_jacobian(objective, x, r0, 1e-5, central=differences == "central")
    sigma = quadratic_problem.sigma  # (time points, observables)
    expected = np.zeros_like(jac)
    for i in range(quadratic_problem.n_parameters):  # residual row t * n_obs + i depends on p_i only
        expected[i::quadratic_problem.n_parameters, i] = -1.0 / sigma[:, i]
    np.testing.assert_allclose(jac, expected, rtol=1e-6, atol=1e-9)
    points = np.array(seen)
    assert np.all(points <= quadratic_problem.upper) and np.all(points >= quadratic_problem.lower)
    # One probe per parameter and the centre: at the upper bound a central pair's upper probe is the centre itself.
    assert objective.n_evals == 1 + quadratic_problem.n_parameters


def test_gauss_newton_solves_a_linear_least_squares_problem_in_a_few_iterations(quadratic_problem):
    likelihood = Likelihood(quadratic_problem)
    optimum = likelihood.fval(quadratic_problem.x_true)
    x0 = quadratic_problem.lower + 0.1 * (quadratic_problem.upper - quadratic_problem.lower)
    result = optimizers.get("fides")().minimize(Objective(likelihood, 500), x0, np.random.default_rng(0))
    assert result.status == "stopped" and result.fval_best <= optimum + 1e-6
    assert result.n_evals < 60  # Gauss-Newton is exact here: a handful of iterations of n + 1 evaluations


def test_a_start_whose_simulation_fails_is_reported_as_failed(two_step_problem):
    objective = Objective(Likelihood(two_step_problem), 50)
    objective.simulator.rr.getIntegrator().setValue("maximum_num_steps", 5)  # every simulation now fails ...
    objective.simulator.retry_non_stiff = False  # ... Adams's too
    result = optimizers.get("fides")().minimize(objective, two_step_problem.x_true, np.random.default_rng(0))
    assert result.status == "failed" and result.n_evals == 1


@pytest.mark.parametrize("name, gain", [("fides", 1e-3), ("local", 2e-5)])
def test_a_central_difference_polish_ends_below_where_forward_differences_stall(repressilator_problem, name, gain):
    """Near an optimum forward differences are mostly integrator error: the run stops above the optimum
    (fides 0.005, least squares 5e-5 to 1.6e-4 on the repressilator: the integrator's last digits, and so
    the stall, move with the CPU the model is compiled for); a few central iterations take it to within 3e-6."""
    likelihood = Likelihood(repressilator_problem)
    x0 = repressilator_problem.x_true + 0.02 * np.where(np.arange(repressilator_problem.n_parameters) % 2, 1.0, -1.0)
    runs = {differences: optimizers.get(name)(differences=differences).minimize(
                Objective(likelihood, 3000), x0, np.random.default_rng(0))
            for differences in ("forward", "forward-then-central")}
    forward, polished = runs["forward"], runs["forward-then-central"]
    assert polished.fval_best < forward.fval_best - gain
    assert polished.status == "stopped" and polished.n_evals > forward.n_evals  # the polish is charged


@pytest.mark.parametrize("hessian", ["fx", "gn-then-bfgs"])
def test_the_other_hessians_reach_boehms_optimum_and_every_probe_is_charged(hessian):
    """FX (fides on the residuals: 0.5 |r|^2, the objective less its constant) and the GN-then-BFGS switch descend
    into Boehm's optimum from near it, and the start is charged exactly what it simulated. Where fides stops
    depends on its path (FX stopped 0.11 above the optimum here), which another CPU's last bits can change: the
    bound is the basin, below the next local minimum (145.76)."""
    boehm = load_petab_problem(BOEHM)
    likelihood = Likelihood(boehm)
    objective = Objective(likelihood, 3000)
    start_fval = likelihood.fval(boehm.x_true + 0.1)  # 170.1
    simulated = []
    evaluate = likelihood.evaluate
    likelihood.evaluate = lambda x: simulated.append(1) or evaluate(x)
    result = optimizers.get("fides")(hessian=hessian).minimize(objective, boehm.x_true + 0.1, np.random.default_rng(0))
    assert result.fval_best < 140.0 < start_fval and result.status == "stopped"
    assert result.n_evals == len(simulated)
