"""A real-coded genetic algorithm: pymoo's GA (SBX crossover, polynomial mutation).

The initial population is the initializer's points; survival keeps the best
individuals of parents and offspring together, so the best solution is never lost
(elitism). The budget is the total number of evaluations over all generations; the
objective stops the run mid-generation when it is spent.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from pydantic import Field

from biobench.objective import Objective
from biobench.optimizers.base import Optimizer, optimizers, seed_from
from biobench.outcome import Outcome
from biobench.plugins import PluginOptions

_PENALTY = 1e300  # failed simulations rank last; the GA needs only an ordering


@optimizers.register("ga")
class GeneticAlgorithm(Optimizer):
    description = "real-coded genetic algorithm (pymoo GA: tournament, SBX, polynomial mutation, elitist survival)"

    class Options(PluginOptions):
        pop_size: int = Field(20, ge=2)
        eta_crossover: float = Field(15.0, gt=0)
        eta_mutation: float = Field(20.0, gt=0)

    def n_start_points(self) -> int:
        return self.settings.pop_size

    def _run(self, objective: Objective, x0: np.ndarray, rng: np.random.Generator, artifacts: Path | None) -> Outcome:
        from pymoo.algorithms.soo.nonconvex.ga import GA
        from pymoo.core.problem import ElementwiseProblem
        from pymoo.operators.crossover.sbx import SBX
        from pymoo.operators.mutation.pm import PM
        from pymoo.optimize import minimize

        class _Problem(ElementwiseProblem):
            def __init__(self) -> None:
                super().__init__(n_var=objective.dim, n_obj=1, xl=objective.lower, xu=objective.upper)

            def _evaluate(self, x, out, *args, **kwargs) -> None:
                f = objective.fval(x)
                out["F"] = f if np.isfinite(f) else _PENALTY

        algorithm = GA(
            pop_size=self.settings.pop_size,
            sampling=np.asarray(x0, dtype=float),
            crossover=SBX(eta=self.settings.eta_crossover, prob=0.9),
            mutation=PM(eta=self.settings.eta_mutation),
            eliminate_duplicates=True,
        )
        # The objective ends the run when the budget is spent; a generation count that cannot be reached
        # first (each generation evaluates at least one new point) still bounds a population that stops
        # producing new offspring.
        generations = objective.budget if objective.budget is not None else 100
        minimize(_Problem(), algorithm, termination=("n_gen", generations), seed=seed_from(rng), verbose=False)
        return Outcome.stopped(f"{objective.n_evals} evaluations")
