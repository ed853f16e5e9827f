"""Every registered initializer honours the interface (the shared conformance suite)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from biobench.initializers import initializers

NAMES = initializers.names()
# Small settings for the learning initializers; the behaviour under test is the same.
_SMALL = {"pilot": 48, "trials": 1, "diagnostic_samples": 2}
OPTIONS = {"cvae": _SMALL | {"max_epochs": 30, "patience": 5}, "cvae-transformer": _SMALL | {"max_epochs": 30, "patience": 5},
           "ccgan": _SMALL | {"max_iterations": 200, "eval_every": 50},
           "amortized": {"datasets": 40, "max_epochs": 20}}  # bounded by epochs, not seconds: deterministic
# The generative ones concentrate their points where the objective is low, by design; the others fill the box.
SPACE_FILLING = {"random", "lhs", "lhs-opt", "mjs", "petab", "sobol"}  # petab: uniform without table priors


def sample(name, problem, n, seed):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # sobol's power-of-two advice
        return initializers.get(name)(**OPTIONS.get(name, {})).sample(problem, n, np.random.default_rng(seed))


@pytest.mark.parametrize("name", NAMES)
class TestInitializerConformance:
    def test_shape_and_bounds(self, name, two_step_problem):
        x = sample(name, two_step_problem, 16, 0)
        assert x.shape == (16, two_step_problem.n_parameters)
        assert np.all(x >= two_step_problem.lower) and np.all(x <= two_step_problem.upper)

    def test_same_seed_same_points(self, name, two_step_problem):
        np.testing.assert_array_equal(sample(name, two_step_problem, 9, 4), sample(name, two_step_problem, 9, 4))

    def test_different_seeds_differ(self, name, two_step_problem):
        assert not np.array_equal(sample(name, two_step_problem, 9, 4), sample(name, two_step_problem, 9, 5))

    def test_a_single_start(self, name, two_step_problem):
        x = sample(name, two_step_problem, 1, 0)
        assert x.shape == (1, 2) and np.all(x >= two_step_problem.lower) and np.all(x <= two_step_problem.upper)

    def test_many_more_starts_than_dimensions(self, name, two_step_problem):
        x = sample(name, two_step_problem, 1000, 1)
        assert x.shape == (1000, 2)
        assert len(np.unique(x, axis=0)) == 1000
        assert np.all(x >= two_step_problem.lower) and np.all(x <= two_step_problem.upper)
        if name not in SPACE_FILLING:
            return
        # the points fill the box: every quarter of every axis is visited
        unit = (x - two_step_problem.lower) / (two_step_problem.upper - two_step_problem.lower)
        for j in range(2):
            assert set(np.floor(unit[:, j] * 4).astype(int)) == {0, 1, 2, 3}

    def test_bounds_that_exclude_the_unit_cube(self, name, two_step_problem):
        """Points computed in [0, 1] and never mapped onto the bounds pass any box containing [0, 1]; not this one."""
        import dataclasses

        shifted = dataclasses.replace(two_step_problem, lower=two_step_problem.lower + 3,
                                      upper=two_step_problem.upper + 3, nominal=two_step_problem.nominal * 1e3,
                                      key=two_step_problem.key + "-shifted")
        x = sample(name, shifted, 200, 3)
        assert np.all(x >= shifted.lower) and np.all(x <= shifted.upper)
        assert np.mean((x == shifted.lower) | (x == shifted.upper)) < 0.5  # not clipped onto the bounds
        if name in SPACE_FILLING:
            unit = (x - shifted.lower) / (shifted.upper - shifted.lower)
            assert all(set(np.floor(unit[:, j] * 4).astype(int)) == {0, 1, 2, 3} for j in range(2))

    def test_fifty_dimensions(self, name, wide_problem):
        x = sample(name, wide_problem, 64, 2)
        assert x.shape == (64, 50)
        assert np.all(x >= wide_problem.lower) and np.all(x <= wide_problem.upper)
        assert np.isfinite(x).all()
