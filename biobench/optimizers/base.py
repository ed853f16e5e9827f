"""The optimizer interface and the bookkeeping every plugin shares.

A plugin implements ``_run(objective, x0, rng, artifacts)``, returns an ``Outcome`` and lets
``BudgetExhausted`` propagate; the base class turns budget exhaustion, library errors and the
outcome into one ``StartResult`` built from the objective's own counts, so no plugin can
misreport its evaluations.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

import numpy as np

from biobench.objective import BudgetExhausted, Objective
from biobench.outcome import Outcome, StartResult, Status
from biobench.plugins import Plugin, Registry


@dataclass(frozen=True)
class SharedCost:
    """What a method spent for all starts of a run before they existed (simulations and seconds: a saved
    surrogate's training design), shared out among the starts and charged to them as an initializer's pilot
    is; ``diagnostics`` go into every start's extras (what was reused, from where)."""

    evals: float
    seconds: float
    description: str  # what was reused, for the run's header
    diagnostics: dict = field(default_factory=dict)


class Optimizer(Plugin, ABC):
    """Minimizes an ``Objective`` from its start point(s) within the objective's budget.

    Single-point methods get one start point. Population methods (BO's initial design,
    GA's population, MCMC's chains) say how many points they need through
    ``n_start_points``; the runner draws them all from the chosen initializer.
    """

    kind = "optimizer"
    # The engines the method can run on (None: any), and why not the others: a method that reads one
    # simulator's own outputs (a saved surrogate learned roadrunner's trajectories) says so before any work.
    engines: ClassVar[tuple[str, ...] | None] = None
    engines_reason: ClassVar[str] = ""

    def n_start_points(self) -> int:
        return 1

    def needs(self) -> str | None:
        """What the method asks of the objective beyond values: "jacobian" (of the residuals), "gradient", or
        None. ``--engine auto`` chooses the engine whose way to it is measured cheapest on the problem."""
        return None

    def shared_cost(self, problem) -> SharedCost | None:
        """What this method reuses from before the run, at its price (None: nothing); asked once per run."""
        return None

    def evaluations_used(self, budget: int) -> int:
        """At most how many evaluations a start uses with this budget (GP methods stop earlier)."""
        return budget

    def minimize(self, objective: Objective, x0: np.ndarray, rng: np.random.Generator,
                 artifacts: Path | None = None, spares: np.ndarray | None = None) -> StartResult:
        """Run from ``x0`` (one point, or ``n_start_points()`` rows) and report from the objective's counts.

        ``artifacts`` is a path prefix under which a method may save bulky output
        (MCMC samples); the files it writes are listed in the result's extras. ``spares``
        are further initializer points: a single-point method whose start point cannot be
        simulated starts from the first spare that can (as pyPESTO resamples failed
        starts), each failed try charged; the record's x0 is the point used and its extras
        count the replacements. Population methods rank failed points themselves.
        """
        starts = np.clip(np.atleast_2d(np.asarray(x0, dtype=float)), objective.lower, objective.upper)
        # Evaluated here so every record has fval0; the objective does not charge the
        # plugin again when its first call is at the same point.
        fval0 = objective.fval(starts[0])
        replaced = 0
        if spares is not None and self.n_start_points() == 1:
            for spare in np.clip(np.atleast_2d(spares), objective.lower, objective.upper):
                if np.isfinite(fval0) or (objective.remaining is not None and objective.remaining <= 0):
                    break
                try:
                    fval_spare = objective.fval(spare)
                except BudgetExhausted:  # a time limit passed while the failed start simulated: keep it
                    break
                starts[0], replaced, fval0 = spare, replaced + 1, fval_spare
        try:
            outcome = self._run(objective, starts if self.n_start_points() > 1 else starts[0], rng, artifacts)
            if not isinstance(outcome, Outcome):
                raise TypeError(f"{type(self).__name__}._run returned {type(outcome).__name__}, not an Outcome")
        except BudgetExhausted as exc:
            outcome = Outcome(Status.BUDGET, str(exc))
        except Exception as exc:  # a library failure ends this start, not the benchmark
            outcome = Outcome(Status.ERROR, f"{type(exc).__name__}: {exc}")
        status, message, extras = outcome.status, outcome.message, dict(outcome.extras)
        if replaced:
            extras["replaced_start_points"] = replaced
        if objective.best_x is None:
            status = Status.FAILED if status != Status.ERROR else status
            message = message or "no finite objective value was found"
        best_x = objective.best_x if objective.best_x is not None else starts[0]
        return StartResult(
            x_best=np.asarray(best_x).tolist(),
            fval_best=objective.best_fval,
            x0=starts[0].tolist(),
            fval0=fval0,
            n_evals=objective.n_evals,
            n_failures=objective.n_failures,
            seconds=objective.seconds,
            simulation_seconds=objective.simulation_seconds,
            cpu_seconds=objective.cpu_seconds,
            status=status,
            message=message,
            trace=list(objective.trace),
            extras=extras,
            evaluations=[(x.tolist(), f) for x, f in objective.history],
        )

    def search(self, objective: Objective, x0: np.ndarray, rng: np.random.Generator) -> None:
        """Run this method as one phase of another (a global method's polish) on that method's objective: what it
        finds is the objective's best, and the end of the budget ends the caller too (``BudgetExhausted``)."""
        self._run(objective, x0, rng, None)

    @abstractmethod
    def _run(self, objective: Objective, x0: np.ndarray, rng: np.random.Generator,
             artifacts: Path | None) -> Outcome:
        """Optimize; return ``Outcome.stopped(message)`` when the method's own criterion ended it,
        ``Outcome.failed(message)`` when it gave up (extras: a JSON-serialisable dict stored with the
        record, e.g. posterior summaries)."""


def seed_from(rng: np.random.Generator) -> int:
    """An integer seed for libraries that do not take a numpy Generator."""
    return int(rng.integers(0, 2**31 - 1))


def penalized(fval: float, worst: float) -> float:
    """A finite stand-in for a failed simulation: the worst value seen, for surrogate models."""
    return fval if np.isfinite(fval) else worst


optimizers: Registry[Optimizer] = Registry("optimizer", "biobench.optimizers")


def local_phase_needs(name: str) -> str | None:
    """What the local method ``name`` that a global method runs ("none": no local phase) asks of the objective:
    the global method's ``needs``, as its local phase takes most of its simulations on a large problem."""
    return None if name == "none" else optimizers.get(name)().needs()
