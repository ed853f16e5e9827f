"""Enhanced scatter search: its reference set, its local searches within their sub-budget, all charged."""

from __future__ import annotations

import numpy as np
import pytest

from biobench.errors import PluginError
from biobench.initializers import initializers
from biobench.likelihood import Likelihood
from biobench.objective import BudgetExhausted, Objective
from biobench.optimizers import optimizers
from biobench.optimizers.ess import default_refset_size


def test_refset_size_follows_the_published_rule():
    for dim in (1, 2, 9, 50):
        b = default_refset_size(dim)
        assert b * b - b >= 10 * dim and b % 2 == 0 and b >= 4
        assert (b - 2) ** 2 - (b - 2) < 10 * dim or b == 4  # the smallest even size that satisfies it


def test_a_local_search_is_capped_by_its_sub_budget_and_charged_to_the_start(two_step_problem):
    parent = Objective(Likelihood(two_step_problem), 100)
    sub = parent.limited(7)
    rng = np.random.default_rng(0)
    for _ in range(7):
        sub.fval(rng.uniform(two_step_problem.lower, two_step_problem.upper))
    assert parent.n_evals == 7 and sub.best_fval == parent.best_fval  # every evaluation is the start's
    try:
        sub.fval(two_step_problem.x_true)
        raise AssertionError("the sub-budget should have ended the local search")
    except BudgetExhausted:
        pass
    assert parent.n_evals == 7


def test_ess_with_fides_refinement_finds_the_two_step_optimum(two_step_problem):
    likelihood = Likelihood(two_step_problem)
    optimum = likelihood.fval(two_step_problem.x_true)
    ess = optimizers.get("ess")(n_diverse=20, local_budget=200)
    design = initializers.get("lhs")().sample(two_step_problem, 20, np.random.default_rng(1))
    objective = Objective(likelihood, 1500)
    result = ess.minimize(objective, design, np.random.default_rng(2))
    assert result.fval_best <= optimum + 0.1 and result.n_evals == objective.n_evals <= 1500


def test_local_options_reach_the_local_search_and_a_wrong_one_fails_before_any_simulation():
    ess = optimizers.get("ess")(local_options={"subspace": "full", "differences": "central"})
    assert ess._local_optimizer().options["subspace"] == "full"
    with pytest.raises(PluginError, match="no option.*subspac"):
        optimizers.get("ess")(local_options={"subspac": "full"})
