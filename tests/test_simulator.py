"""The simulator: a simulation the stiff solver cannot finish is retried with the non-stiff one, and nothing else changes."""

from __future__ import annotations

import numpy as np
import pytest

from biobench.likelihood import Likelihood
from biobench.models import load_model
from biobench.models.offline import offline_copy
from biobench.problem import build_problem
from biobench.settings import IntegratorSettings
from biobench.simulator import configure_integrator

# Natural parameters of the toggle switch (BIOMD0000000507) from a Latin hypercube over its default bounds:
# BDF stops with CV_CONV_FAILURE at both; Adams finishes the first, not the second. Chosen so that each
# outcome, and the tight reference below, hold under relative perturbations of 1e-9 to 1e-2 (at some failing
# points Adams's outcome does not, and another CPU's arithmetic could flip it).
RESCUED = [1045.0101222169521, 1.5619909733544521, 8.9317416736213, 6.09824903607157, 0.0007367892043816168,
           0.07519155663393523, 0.40786560451721826, 2.014368855878336]
LOST = [1859.6006706869423, 764.579053096656, 68.89036014689361, 0.11298761266770971, 5.430154421458319e-05,
        36.21410074542489, 50.85246388376746, 0.01620018468814657]


@pytest.fixture(scope="module")
def toggle_switch():
    problem = build_problem(load_model(offline_copy("BIOMD0000000507").path, model_id="BIOMD0000000507"))
    return Likelihood(problem), problem


def test_a_failed_stiff_simulation_is_retried_non_stiff_and_later_ones_are_unchanged(toggle_switch):
    likelihood, problem = toggle_switch
    simulator = likelihood.simulator
    integrator = simulator.rr.getIntegrator()
    nominal = likelihood.natural(problem.x_true)
    before = simulator.simulate(nominal)
    rescued = np.array(RESCUED)
    with pytest.raises(RuntimeError, match="CV_CONV_FAILURE"):
        simulator._simulate_all(rescued)  # the premise: BDF alone fails here

    out = simulator.simulate(rescued)
    assert out is not None and np.isfinite(out).all()
    assert integrator.getValue("stiff"), "the solver must be stiff again after the retry"
    np.testing.assert_array_equal(simulator.simulate(nominal), before)  # later simulations as if none failed

    # the rescued trajectory is the ODE's: Adams at tolerances 1000 times tighter agrees
    tight = Likelihood(problem).simulator
    tight.rr.getIntegrator().setValue("stiff", False)
    configure_integrator(tight.rr, IntegratorSettings(relative_tolerance=1e-11, absolute_tolerance=1e-13,
                                                      maximum_num_steps=1_000_000))
    reference = tight._simulate_all(rescued)
    np.testing.assert_allclose(out, reference, rtol=1e-3, atol=1e-6 * np.abs(reference).max())
    assert simulator.trajectory(rescued, problem.timepoints) is not None  # the horizon's simulation retries too


def test_a_simulation_both_solvers_fail_is_reported_with_the_stiff_solvers_error(toggle_switch):
    likelihood, problem = toggle_switch
    simulator = likelihood.simulator
    assert simulator.simulate(np.array(LOST)) is None
    assert "CV_CONV_FAILURE" in simulator.last_error
    assert simulator.rr.getIntegrator().getValue("stiff")
    assert simulator.trajectory(np.array(LOST), problem.timepoints) is None


def test_switched_off_the_failure_stands_and_the_problem_key_says_so(toggle_switch):
    """``retry_non_stiff: false`` gives AMICI's and pyPESTO's behaviour, under its own key (the default keeps the
    key it had before the retry existed: tests/test_likelihood.py checks the reference keys)."""
    _, problem = toggle_switch
    off = problem.settings.model_copy(update={"integrator": IntegratorSettings(retry_non_stiff=False)})
    strict = build_problem(problem.model, off)
    assert strict.key != problem.key
    assert Likelihood(strict).simulator.simulate(np.array(RESCUED)) is None
