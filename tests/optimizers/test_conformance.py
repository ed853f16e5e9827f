"""Every registered optimizer honours the fair-comparison rules: the conformance checks shipped in
``biobench.testing``. Options keep the expensive methods small (few GP iterations, short chains); the behaviour
under test is the same.
"""

from __future__ import annotations

import pytest

from biobench import testing
from biobench.optimizers import optimizers

SMALL = {
    "bo": {"n_initial": 5, "max_evals": 25, "n_points": 200},
    "bo-gp": {"n_initial": 5, "max_evals": 25},
    "bo-tpe": {"n_initial": 5},
    "cmaes": {"n_initial": 3},
    "ess": {"n_diverse": 8, "dim_refset": 4, "local_budget": 15, "local_every": 2},
    "ga": {"pop_size": 8},
    "mcmc": {"chains": 2},
    "surrogate": {"pilot": 10, "batch": 3, "samples": 100, "search_iterations": 2, "epochs": 20, "refit_epochs": 5,
                  "layers": 1, "width": 16, "rounds": 1},
}
NAMES = optimizers.names()


@pytest.fixture(scope="module")
def problems(two_step_problem, wide_problem, quadratic_problem, repressilator_problem):
    return testing.Problems(small=two_step_problem, wide=wide_problem, quadratic=quadratic_problem,
                            oscillator=repressilator_problem)


@pytest.mark.parametrize("check", testing.OPTIMIZER_CHECKS, ids=lambda check: check.__name__)
@pytest.mark.parametrize("name", NAMES)
def test_optimizer_conformance(name, check, problems):
    check(name, SMALL.get(name, {}), problems)


def test_a_method_that_simulates_behind_the_objectives_back_fails_the_charge_check(problems):
    """An optimizer that probes the likelihood directly (uncharged simulations) is caught by name."""
    import numpy as np

    from biobench.optimizers.local import LeastSquaresOptimizer

    class Peeking(LeastSquaresOptimizer):
        def minimize(self, objective, x0, rng, artifacts=None, spares=None):
            for _ in range(5):  # five simulations nobody pays for
                objective.likelihood.fval(np.asarray(x0, dtype=float))
            return super().minimize(objective, x0, rng, artifacts, spares)

    with pytest.raises(AssertionError, match="Peeking: every_simulation_is_charged"):
        testing.check_optimizer(Peeking, {}, problems)
