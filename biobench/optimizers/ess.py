"""``--opt ess``: enhanced scatter search with local refinement (Egea, Martí & Banga 2010, as in MEIGO).

No maintained Python package provides eSS outside pyPESTO (too heavy a dependency for one
method), so it is written here, following the published algorithm and pyPESTO's
``ESSOptimizer``:

1. *Diversification*: the initializer's ``n_diverse`` points (100; Egea et al. use 10 per
   parameter) are evaluated; the reference set holds the best half of ``dim_refset`` of them plus randomly
   chosen others.
2. *Combination*: every member x_i is combined with every other member x_j: with the set
   sorted by fval, a child is drawn uniformly in the hyper-rectangle between
   x_i - d (1 + a b) and x_i - d (1 - a b), d = (x_j - x_i) / 2, a = sign(j - i),
   b = (|j - i| - 1) / (dim_refset - 2), so children of good members stay near them and
   children of poor ones explore. A member is replaced by its best child when that is
   better, and then the *go-beyond* step extrapolates along the improving direction while
   it keeps improving (with steps that double after every two successes).
3. *Local refinement*: after the first iteration and then every ``local_every`` iterations,
   the best child away from earlier local starts and solutions starts a local search (``local``: fides, or scipy least squares) of at most
   ``local_budget`` evaluations; its result enters the set in place of the worst member.
4. *Stagnation*: a member not improved for ``max_stuck`` iterations is replaced by a fresh
   uniform point (the diversification stream, seeded).

Every evaluation, local searches included, goes through the start's counted objective;
the budget ends the search.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Literal

import numpy as np
from pydantic import Field

from biobench.objective import BudgetExhausted, Objective
from biobench.optimizers.base import Optimizer, optimizers
from biobench.outcome import Outcome
from biobench.plugins import PluginOptions


def default_refset_size(dim: int) -> int:
    """The smallest b with b^2 - b >= 10 n (pyPESTO's rule, after Egea et al.), at least 4 and even."""
    b = math.ceil((1 + math.sqrt(1 + 40 * dim)) / 2)
    return max(4, b + b % 2)


_NEW_REGION = 0.1  # a local search starts this far (scaled units: a tenth of a decade) from earlier ones


@optimizers.register("ess")
class EnhancedScatterSearch(Optimizer):
    description = ("enhanced scatter search (Egea et al. 2010): reference-set combinations, go-beyond steps, "
                   "local refinement with fides, restarts of stuck members")

    class Options(PluginOptions):
        n_diverse: int = Field(100, ge=4)  # initializer points evaluated first (Egea et al.: 10 per parameter)
        dim_refset: int | None = Field(None, ge=4)  # reference set size; default from the dimension
        local: Literal["fides", "local", "none"] = "fides"
        local_every: int = Field(10, ge=1)  # iterations between local searches
        local_budget: int = Field(1000, ge=10)
        local_options: dict = Field(default_factory=dict)  # the local optimizer's own, e.g. {subspace: full}
        max_stuck: int = Field(20, ge=1)  # iterations without improvement before a member is replaced

    def __init__(self, **options) -> None:
        super().__init__(**options)
        if self.settings.local != "none":
            self._local_optimizer()  # a wrong local option fails here, before any simulation

    def _local_optimizer(self) -> Optimizer:
        return optimizers.get(self.settings.local)(**self.settings.local_options)

    def n_start_points(self) -> int:
        return self.settings.n_diverse

    def needs(self) -> str | None:
        return None if self.settings.local == "none" else self._local_optimizer().needs()

    def _run(self, objective: Objective, x0: np.ndarray, rng: np.random.Generator, artifacts: Path | None) -> Outcome:
        dim = objective.dim
        size = self.settings.dim_refset or default_refset_size(dim)
        points = np.atleast_2d(x0)
        values = np.array([objective.fval(x) for x in points])
        order = np.argsort(values)
        half = size // 2
        best, rest = order[:half], order[half:]
        chosen = np.concatenate([best, rng.choice(rest, min(size - half, len(rest)), replace=False)])
        refset, fvals = points[chosen].copy(), values[chosen].copy()
        stuck = np.zeros(len(refset), dtype=int)
        refined: list[np.ndarray] = []
        local_runs = iteration = 0
        while True:
            iteration += 1
            order = np.argsort(fvals)
            refset, fvals, stuck = refset[order], fvals[order], stuck[order]
            children, child_f = self._combine(objective, refset, rng)
            improved = child_f < fvals
            for i in np.flatnonzero(improved):
                refset[i], fvals[i] = self._go_beyond(objective, refset[i], children[i], child_f[i], rng)
            stuck = np.where(improved, 0, stuck + 1)
            # a local search after the first iteration, then every local_every iterations
            if self.settings.local != "none" and (iteration - 1) % self.settings.local_every == 0:
                start = self._local_start(children, child_f, refset, fvals, refined)
                if start is not None:
                    x, f = self._refine(objective, start, rng)
                    refined += [start, x]  # neither is a new place to search from
                    local_runs += 1
                    worst = int(np.argmax(fvals))
                    if f < fvals[worst]:
                        refset[worst], fvals[worst], stuck[worst] = x, f, 0
            for i in np.flatnonzero(stuck >= self.settings.max_stuck):
                if i == int(np.argmin(fvals)):
                    continue  # the best member stays
                refset[i] = rng.uniform(objective.lower, objective.upper)
                fvals[i], stuck[i] = objective.fval(refset[i]), 0
            if objective.budget is None and iteration >= 1000:
                return Outcome.stopped(f"{iteration} iterations, {local_runs} local searches")

    def _combine(self, objective: Objective, refset: np.ndarray, rng: np.random.Generator):
        """The best child of every member, from hyper-rectangles towards and away from the others."""
        size = len(refset)
        children, child_f = refset.copy(), np.full(size, np.inf)
        for i in range(size):
            for j in range(size):
                if i == j:
                    continue
                d = (refset[j] - refset[i]) / 2
                a, b = np.sign(j - i), (abs(j - i) - 1) / (size - 2)
                c1, c2 = refset[i] - d * (1 + a * b), refset[i] - d * (1 - a * b)
                child = np.clip(c1 + (c2 - c1) * rng.uniform(size=len(d)), objective.lower, objective.upper)
                f = objective.fval(child)
                if f < child_f[i]:
                    children[i], child_f[i] = child, f
        return children, child_f

    @staticmethod
    def _go_beyond(objective: Objective, parent: np.ndarray, child: np.ndarray, f_child: float,
                   rng: np.random.Generator) -> tuple[np.ndarray, float]:
        """Extrapolate from the parent through the improving child while that improves (Egea et al.'s go-beyond):
        a new point drawn between the child and the child plus (child - parent) / lambda, lambda halved after
        every two improvements (so the steps grow)."""
        lam, improvements = 1.0, 1
        while True:
            candidate = np.clip(child + (child - parent) / lam * rng.uniform(size=len(child)), objective.lower,
                                objective.upper)
            f = objective.fval(candidate)
            if not f < f_child:
                return child, f_child
            parent, child, f_child = child, candidate, f
            improvements += 1
            if improvements == 2:
                lam, improvements = lam / 2, 0

    @staticmethod
    def _local_start(children, child_f, refset, fvals, refined) -> np.ndarray | None:
        """The best child (else member) farther than ``_NEW_REGION`` (scaled units, any coordinate) from every
        earlier local start and local solution."""
        candidates = np.vstack([children, refset])
        values = np.concatenate([child_f, fvals])
        for k in np.argsort(values):
            if np.isfinite(values[k]) and all(np.abs(candidates[k] - r).max() > _NEW_REGION for r in refined):
                return candidates[k].copy()
        return None

    def _refine(self, objective: Objective, start: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, float]:
        """A local search from ``start`` within its own sub-budget; every evaluation is the start's."""
        local = self._local_optimizer()
        result = local.minimize(objective.limited(self.settings.local_budget), start, rng)
        if objective.remaining is not None and objective.remaining <= 0:
            raise BudgetExhausted(f"budget of {objective.budget} evaluations used")
        return np.asarray(result.x_best, dtype=float), float(result.fval_best)
