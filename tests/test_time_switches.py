"""Inputs that switch on at a time: roadrunner fails across the jump, a restart at the switch time gets through."""

from __future__ import annotations

import numpy as np
import pytest

from biobench.likelihood import Likelihood
from biobench.models import load_model
from biobench.models.time_switches import TimeSwitch, time_switches
from biobench.problem import build_problem
from biobench.settings import ProblemSettings, TimeSettings
from tests.conftest import DATA

# x' = k (u - x^2) with u = 0 before t_on = 10 and 5 after, k = 1e8: x = 1 / (1 + k t) before the switch and
# sqrt(5) within nanoseconds after it. CVODE's step collapses at t = 10 (CV_TOO_MUCH_WORK), as on Isensee_JCB2018.
SWITCH = DATA / "time_switch.xml"


@pytest.fixture(scope="module")
def switched():
    settings = ProblemSettings(time=TimeSettings(end=20.0, n=21), parameters=["k"])
    problem = build_problem(load_model(SWITCH), settings)
    return problem, Likelihood(problem)


def test_the_switch_times_are_read_from_the_formulas():
    assert time_switches(SWITCH.read_text()) == [TimeSwitch("t_on", 0.0)]
    rule = SWITCH.read_text().replace("<ci>t_on</ci>", "<cn>7.5</cn>")
    assert time_switches(rule) == [TimeSwitch(None, 7.5)]


def test_a_simulation_that_fails_at_a_switch_is_restarted_there(switched):
    problem, likelihood = switched
    simulator = likelihood.simulator
    nominal = likelihood.natural(problem.x_true)
    with pytest.raises(RuntimeError, match="CV_TOO_MUCH_WORK"):
        simulator._simulate_all(nominal)  # the premise: without a restart the integration stalls at t = 10

    out = simulator.simulate(nominal)
    assert out is not None
    times = problem.experiments.simulations[0].times
    x = out[:, simulator.column("x")]
    # states are continuous: at t = 10 itself x is still the value before the switch
    expected = np.where(times <= 10, 1.0 / (1.0 + 1e8 * times), np.sqrt(5.0))
    np.testing.assert_allclose(x, expected, rtol=2e-3)  # near 1e-9 the absolute tolerance (1e-12) is felt
    assert len(x) == len(times) and not simulator._restart_at_switches  # later simulations run as before
    assert np.isfinite(likelihood.fval(problem.x_true))
