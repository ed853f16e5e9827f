"""``--opt cmaes``: CMA-ES (the ``cma`` package) with increasing-population restarts, fed by the initializer.

The initializer's points are the means of successive runs: the first run starts at the
first point, and whenever CMA-ES stops on its own criteria before the budget is spent
it restarts from the next point with twice the population (IPOP-CMA-ES, Auger & Hansen
2005), so the budget is used and the initializer decides where the search looks. Each
parameter's initial standard deviation is ``sigma0`` times its range in scaled space. A
failed simulation ranks last (CMA-ES uses only the ranking of a generation).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from pydantic import Field

from biobench.objective import Objective
from biobench.optimizers.base import Optimizer, optimizers, seed_from
from biobench.outcome import Outcome
from biobench.plugins import PluginOptions

_PENALTY = 1e300


@optimizers.register("cmaes")
class CmaEs(Optimizer):
    description = ("CMA-ES (cma package), restarts with doubled population (IPOP) from the initializer's "
                   "successive points until the budget is spent")

    class Options(PluginOptions):
        n_initial: int = Field(10, ge=1)  # initializer points: the means of the first and later restarts
        sigma0: float = Field(0.25, gt=0, le=1)  # initial standard deviation, as a fraction of each range
        popsize: int | None = Field(None, ge=2)  # first run's population; default cma's 4 + 3 ln(n)

    def n_start_points(self) -> int:
        return self.settings.n_initial

    def _run(self, objective: Objective, x0: np.ndarray, rng: np.random.Generator, artifacts: Path | None) -> Outcome:
        import cma

        means = np.atleast_2d(x0)
        span = objective.upper - objective.lower
        popsize = self.settings.popsize or 4 + int(3 * np.log(objective.dim))
        runs = 0
        while objective.remaining is None or objective.remaining > 0:
            mean = means[runs % len(means)]
            es = cma.CMAEvolutionStrategy(mean, self.settings.sigma0, {
                "bounds": [list(objective.lower), list(objective.upper)], "CMA_stds": list(span),
                "popsize": popsize, "seed": seed_from(rng) + 1, "verbose": -9, "maxfevals": np.inf,
                "tolflatfitness": 10})
            while not es.stop():
                points = es.ask()
                values = [objective.fval(np.asarray(p)) for p in points]  # BudgetExhausted ends the start
                es.tell(points, [v if np.isfinite(v) else _PENALTY for v in values])
            runs += 1
            popsize *= 2
            if objective.budget is None and runs >= len(means):
                break
        return Outcome.stopped(f"{runs} CMA-ES runs, the last with population {popsize // 2}")
