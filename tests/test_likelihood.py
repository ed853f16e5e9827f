"""The compiled likelihood: one implementation for synthetic and PEtab problems, numbers unchanged."""

from __future__ import annotations

import json

import numpy as np
import pytest

from biobench.likelihood import Likelihood
from biobench.objective import Objective
from tests.conftest import DATA

REFERENCE = json.loads((DATA / "reference_fvals.json").read_text())["problems"]


def points(problem):
    rng = np.random.default_rng(0)
    return [problem.x_true] + [rng.uniform(problem.lower, problem.upper) for _ in range(4)]


@pytest.mark.parametrize("name", ["two_step", "repressilator", "quadratic", "petab_two_step"])
def test_values_are_those_of_the_core_before_the_reshape(name, request):
    """Synthetic problems now compile to the PEtab-shaped experiments; the objective did not move.

    Bit-identical on the machine that recorded the values; on another CPU, roadrunner's JIT compiles the
    model for that instruction set and the integrator's last digits move (up to 1.8e-8 relative at x_true,
    measured on an AVX-512 EPYC), so the check is to 1e-7: a changed formula, noise model or data point
    moves the objective by orders of magnitude more."""
    fixture = {"two_step": "two_step_problem", "repressilator": "repressilator_problem",
               "quadratic": "quadratic_problem", "petab_two_step": "petab_problem"}[name]
    problem = request.getfixturevalue(fixture)
    assert problem.key == REFERENCE[name]["key"]
    likelihood = Likelihood(problem)
    recorded = [float(value) for value in REFERENCE[name]["fvals"]]
    assert [likelihood.fval(x) for x in points(problem)] == pytest.approx(recorded, rel=1e-7, abs=0)


def test_a_synthetic_problem_is_one_simulation_of_species_observables(two_step_problem):
    exp = two_step_problem.experiments
    assert len(exp.simulations) == 1 and exp.simulations[0].preequilibration is None
    assert [o.formula for o in exp.observables] == ["A", "B", "C"]
    assert exp.n_measurements == two_step_problem.data.size
    np.testing.assert_array_equal(exp.numeric_sigma(), two_step_problem.sigma.ravel())


def test_the_fast_gaussian_path_equals_the_general_petab_path(repressilator_problem):
    likelihood = Likelihood(repressilator_problem)
    assert likelihood.evaluate == likelihood._evaluate_plain  # synthetic problems take the fast path
    for x in points(repressilator_problem):
        fast, general = likelihood._evaluate_plain(x), likelihood._evaluate_general(x)
        np.testing.assert_allclose(fast[0], general[0], rtol=1e-14)
        assert fast[1] == pytest.approx(general[1], rel=1e-14)


def test_one_likelihood_serves_many_starts_without_state(two_step_problem):
    likelihood = Likelihood(two_step_problem)
    x = two_step_problem.x_true + 0.2
    a, b = Objective(likelihood, budget=2), Objective(likelihood, budget=2)
    assert a.fval(x) == b.fval(x) == likelihood.fval(x)
    assert (a.n_evals, b.n_evals) == (1, 1)  # the likelihood itself counts nothing
