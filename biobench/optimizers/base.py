"""The optimizer interface and the bookkeeping every plugin shares.

A plugin implements ``_run(objective, x0, rng)`` and lets ``BudgetExhausted``
propagate; the base class turns budget exhaustion, library errors and success into
one ``OptimizerResult`` built from the objective's own counts, so no plugin can
misreport its evaluations.
"""

from __future__ import annotations

import dataclasses
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any

import numpy as np

from biobench.objective import BudgetExhausted, Objective
from biobench.plugins import Plugin, Registry


@dataclass(frozen=True)
class OptimizerResult:
    x_best: np.ndarray
    fval_best: float
    x0: np.ndarray
    fval0: float
    n_evals: int
    n_failures: int
    seconds: float
    status: str
    message: str
    trace: list[tuple[int, float, float]]

    def record_fields(self) -> dict[str, Any]:
        """The part of a ``RunRecord`` that the optimizer run determines."""
        fields = dataclasses.asdict(self)
        fields["x0"], fields["x_best"] = self.x0.tolist(), np.asarray(self.x_best).tolist()
        return fields


class Optimizer(Plugin, ABC):
    """Minimizes an ``Objective`` from a start point within the objective's budget."""

    kind = "optimizer"

    def minimize(self, objective: Objective, x0: np.ndarray, rng: np.random.Generator) -> OptimizerResult:
        x0 = np.clip(np.asarray(x0, dtype=float), objective.lower, objective.upper)
        # Evaluated here so every record has fval0; the objective does not charge the
        # plugin again when its first call is at x0.
        fval0 = objective.fval(x0)
        status, message = "error", ""
        try:
            status, message = self._run(objective, x0, rng)
        except BudgetExhausted as exc:
            status, message = "budget", str(exc)
        except Exception as exc:  # a library failure ends this start, not the benchmark
            status, message = "error", f"{type(exc).__name__}: {exc}"
        if objective.best_x is None:
            status = "failed" if status != "error" else status
            message = message or "no finite objective value was found"
        best_x = objective.best_x if objective.best_x is not None else x0
        return OptimizerResult(
            x_best=best_x,
            fval_best=objective.best_fval,
            x0=x0,
            fval0=fval0,
            n_evals=objective.n_evals,
            n_failures=objective.n_failures,
            seconds=objective.seconds,
            status=status,
            message=message,
            trace=list(objective.trace),
        )

    @abstractmethod
    def _run(self, objective: Objective, x0: np.ndarray, rng: np.random.Generator) -> tuple[str, str]:
        """Optimize; return (status, message): "stopped" when the method's own criterion ended it."""


optimizers: Registry[Optimizer] = Registry("optimizer", "biobench.optimizers")
