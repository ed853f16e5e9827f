"""What each design promises beyond the interface: strata, 2-D subcells, low discrepancy."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from scipy.stats import qmc

from biobench.initializers import initializers
from biobench.initializers.mjs import grid_shape, multi_jittered


def unit_sample(name, problem, n, seed):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        x = initializers.get(name)().sample(problem, n, np.random.default_rng(seed))
    return (x - problem.lower) / (problem.upper - problem.lower)


@pytest.mark.parametrize("name", ["lhs", "lhs-opt", "mjs"])
@pytest.mark.parametrize("n", [1, 7, 12, 64])
def test_one_point_in_each_one_dimensional_stratum(name, n, wide_problem):
    u = unit_sample(name, wide_problem, n, 3)
    for j in range(u.shape[1]):
        assert sorted(np.floor(u[:, j] * n).astype(int)) == list(range(n)), f"dimension {j}"


@pytest.mark.parametrize("correlated", [True, False])
@pytest.mark.parametrize("n, d", [(12, 4), (16, 5), (30, 6), (13, 2)])
def test_mjs_points_are_jittered_within_their_2d_subcells(correlated, n, d):
    u = multi_jittered(n, d, np.random.default_rng(0), correlated)
    m, k = grid_shape(n)
    for first in range(0, d - 1, 2):
        x, y = u[:, first], u[:, first + 1]
        coarse = {(int(a * m), int(b * k)) for a, b in zip(x, y)}
        assert len(coarse) == n, "each coarse cell holds exactly one point"
        # inside coarse cell (i, j) the point sits in fine column i*k + pi(j) and fine row j*m + sigma(i)
        assert np.all(np.floor(x * n) // k == np.floor(x * m))
        assert np.all(np.floor(y * n) // m == np.floor(y * k))


def test_mjs_jitter_is_not_the_cell_centre():
    u = multi_jittered(16, 2, np.random.default_rng(0))
    offsets = (u * 16) % 1
    assert offsets.std() > 0.1  # jittered, not centred


def test_correlated_mjs_shares_one_permutation_across_columns():
    u = multi_jittered(16, 2, np.random.default_rng(1), correlated=True)
    m, k = grid_shape(16)
    i, j = np.floor(u[:, 0] * m).astype(int), np.floor(u[:, 1] * k).astype(int)
    pi = np.floor(u[:, 0] * 16).astype(int) - i * k
    for row in range(k):
        assert len(set(pi[j == row])) == 1  # every column uses the same fine position for this row


def test_grid_shape_is_as_square_as_n_allows():
    assert [grid_shape(n) for n in (1, 2, 12, 16, 30, 13)] == [(1, 1), (1, 2), (3, 4), (4, 4), (5, 6), (1, 13)]


@pytest.mark.parametrize("name", ["lhs", "lhs-opt", "mjs", "sobol"])
@pytest.mark.parametrize("n, d", [(16, 2), (32, 7), (64, 7)])
def test_discrepancy_is_below_random_on_average(name, n, d, wide_problem, repressilator_problem, two_step_problem):
    problem = {2: two_step_problem, 7: repressilator_problem}[d]
    seeds = range(10)
    mine = np.mean([qmc.discrepancy(unit_sample(name, problem, n, s), method="CD") for s in seeds])
    baseline = np.mean([qmc.discrepancy(unit_sample("random", problem, n, s), method="CD") for s in seeds])
    assert mine < baseline


def test_sobol_warns_when_n_is_not_a_power_of_two(two_step_problem):
    with pytest.warns(UserWarning, match="not a power of two.*use 8 or 16 starts"):
        initializers.get("sobol")().sample(two_step_problem, 10, np.random.default_rng(0))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        initializers.get("sobol")().sample(two_step_problem, 16, np.random.default_rng(0))
