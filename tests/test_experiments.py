"""The one problem shape: what each simulation sets, where each measurement reads, placeholders resolved."""

from __future__ import annotations

import numpy as np
import pytest

from biobench.errors import ProblemError
from biobench.experiments import Assignment, Placeholders, Reinitialization, grid_experiments, is_identifier


def test_an_assignment_writes_estimated_values_over_its_base():
    assignment = Assignment(base=np.array([1.0, 2.0, 3.0]), target=np.array([2, 0]), source=np.array([0, 1]))
    np.testing.assert_array_equal(assignment.values(np.array([10.0, 20.0])), [20.0, 2.0, 10.0])
    np.testing.assert_array_equal(assignment.base, [1.0, 2.0, 3.0])  # the base is never written


def test_a_reinitialization_mixes_numbers_and_estimates():
    reinit = Reinitialization(("[A]", "[B]"), base=np.array([5.0, 7.0]), source=np.array([-1, 1]))
    np.testing.assert_array_equal(reinit.values(np.array([0.1, 0.2])), [5.0, 0.2])


def test_placeholders_resolve_estimated_cells_only():
    table = Placeholders(values=np.array([[1.5], [np.nan], [np.nan]]), rows=np.array([1, 2]),
                         columns=np.array([0, 0]), source=np.array([1, 0]))
    np.testing.assert_array_equal(table.resolve(np.array([3.0, 4.0]))[:, 0], [1.5, 4.0, 3.0])
    numbers = Placeholders.numbers(np.array([[0.5]]))
    assert numbers.resolve(np.array([9.0])) is numbers.values


def test_a_petab_problem_compiles_to_its_simulations_and_measurements(petab_problem):
    exp = petab_problem.experiments
    assert [(s.preequilibration_id, s.condition_id) for s in exp.simulations] == [
        ("", "c_low"), ("", "c_high"), ("c_pre", "c_low")]
    assert exp.needs_states  # pre-equilibration reads every state
    assert exp.numeric_sigma() is None  # sigma_B is estimated, obs_A's noise is a formula
    # each condition sets k1 from its own parameter: k1_base (x[0]) in c_low, k1_high (x[2]) in c_high
    k1 = exp.settable.index("k1")
    x = np.arange(1.0, 6.0)
    assert exp.simulations[0].condition.values(x)[k1] == 1.0 and exp.simulations[1].condition.values(x)[k1] == 3.0
    # every measurement reads a row inside its simulation's outputs
    assert exp.row.max() < sum(s.n_rows for s in exp.simulations) and exp.n_measurements == len(exp.measured)


def test_a_grid_of_one_simulation_and_its_sigma():
    exp = grid_experiments(["k", "v"], np.array([1.0, 2.0]), ["v"], ["S", "P"], np.array([1.0, 2.0]),
                           data=np.array([[1.0, np.nan], [3.0, 4.0]]), sigma=np.array([[0.1, 0.2], [0.3, 0.4]]))
    assert exp.n_measurements == 3 and not exp.needs_states  # the NaN cell is not a measurement
    np.testing.assert_array_equal(exp.numeric_sigma(), [0.1, 0.3, 0.4])
    np.testing.assert_array_equal(exp.row, [1, 2, 2])  # the outputs start at t = 0
    grid = exp.grid(exp.measured)
    np.testing.assert_array_equal(np.isnan(grid), [[False, True], [False, False]])
    with pytest.raises(ProblemError, match="cannot set parameters"):
        grid_experiments(["k"], np.array([1.0]), ["missing"], ["S"], np.array([1.0]))


def test_identifiers_are_read_without_sympy():
    assert is_identifier(" k_1 ") and not is_identifier("2 * k") and not is_identifier("1e3")
