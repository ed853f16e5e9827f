"""Every registered initializer honours the interface: the conformance checks shipped in ``biobench.testing``."""

from __future__ import annotations

import pytest

from biobench import testing
from biobench.initializers import initializers

NAMES = initializers.names()
# Small settings for the learning initializers; the behaviour under test is the same.
_SMALL = {"pilot": 48, "trials": 1, "diagnostic_samples": 2}
OPTIONS = {"cvae": _SMALL | {"max_epochs": 30, "patience": 5}, "cvae-transformer": _SMALL | {"max_epochs": 30, "patience": 5},
           "ccgan": _SMALL | {"max_iterations": 200, "eval_every": 50},
           "amortized": {"datasets": 40, "max_epochs": 20}}  # bounded by epochs, not seconds: deterministic


@pytest.fixture(scope="module")
def problems(two_step_problem, wide_problem, quadratic_problem, repressilator_problem):
    return testing.Problems(small=two_step_problem, wide=wide_problem, quadratic=quadratic_problem,
                            oscillator=repressilator_problem)


@pytest.mark.parametrize("check", testing.INITIALIZER_CHECKS, ids=lambda check: check.__name__)
@pytest.mark.parametrize("name", NAMES)
def test_initializer_conformance(name, check, problems):
    check(name, OPTIONS.get(name, {}), problems)


def test_the_checks_run_on_their_own_problems_and_name_what_fails(tmp_path):
    """What a plugin author runs: the shipped problems, and an error that says which check failed."""
    from biobench.initializers.base import Initializer

    problems = testing.Problems.small_set(tmp_path)
    testing.check_initializer("lhs", {}, problems)
    testing.check_optimizer("local", {}, problems)  # its small problem fails under a small step limit, as it must

    class Corner(Initializer):  # every point in one corner: inside the bounds, the same whatever the seed
        def sample(self, problem, n_starts, rng):
            return problem.lower + 0.0 * rng.random((n_starts, problem.n_parameters))

    with pytest.raises(AssertionError, match="Corner: different_seeds_differ"):
        testing.check_initializer(Corner, {}, problems)
