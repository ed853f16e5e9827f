"""CMA-ES restarts from the initializer's points with a doubled population until the budget is spent."""

from __future__ import annotations

import numpy as np

from biobench.likelihood import Likelihood
from biobench.objective import Objective
from biobench.optimizers import optimizers


def test_runs_restart_from_successive_initializer_points_until_the_budget_is_spent(two_step_problem):
    objective = Objective(Likelihood(two_step_problem), 600)
    seen = []
    evaluate = objective._evaluate
    objective._evaluate = lambda point: seen.append(np.array(point)) or evaluate(point)
    means = np.array([two_step_problem.lower + 0.1 * (two_step_problem.upper - two_step_problem.lower),
                      two_step_problem.upper - 0.1 * (two_step_problem.upper - two_step_problem.lower)])
    result = optimizers.get("cmaes")(n_initial=2, popsize=6).minimize(objective, means, np.random.default_rng(0))
    assert result.n_evals == 600 and result.status == "budget"  # restarts keep going until the budget ends
    first = np.array(seen[1:7])  # after fval0 at the first mean: the first generation of 6
    np.testing.assert_allclose(first.mean(axis=0), means[0], atol=0.8)  # sampled around the first point
    assert result.fval_best <= Likelihood(two_step_problem).fval(two_step_problem.x_true) + 1.0
