"""How a start ended, typed: the status every record carries, what a method's search returns, and what a start
found. Plain values (a ``StrEnum``, frozen dataclasses) so the store, executors and reports share them unchanged."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

import numpy as np


class Status(StrEnum):
    """Why a start ended; stored as its value ("stopped", ...), so stores written before the enum read the same."""

    STOPPED = "stopped"  # the method's own criterion
    BUDGET = "budget"  # its evaluations or its time limit were used up
    FAILED = "failed"  # the method gave up, or no finite objective value was found
    ERROR = "error"  # a library raised: this start ended, not the benchmark
    KILLED = "killed"  # one simulation hung past the bench's limit; its process was killed


@dataclass(frozen=True)
class Outcome:
    """What a method's search returns: its status (STOPPED or FAILED; the base class sets the others), a message
    that says why in the method's words, and JSON-serialisable extras stored with the record (MCMC posteriors)."""

    status: Status
    message: str
    extras: dict = field(default_factory=dict)

    @classmethod
    def stopped(cls, message: str, extras: dict | None = None) -> Outcome:
        return cls(Status.STOPPED, message, extras or {})

    @classmethod
    def failed(cls, message: str, extras: dict | None = None) -> Outcome:
        return cls(Status.FAILED, message, extras or {})

    @classmethod
    def ended(cls, success: bool, message: str, extras: dict | None = None) -> Outcome:
        """STOPPED when the library says it converged, FAILED otherwise."""
        return cls(Status.STOPPED if success else Status.FAILED, message, extras or {})


@dataclass(frozen=True)
class StartResult:
    """What one start did, from the objective's own counts (so no method can misreport its evaluations)."""

    x_best: np.ndarray | list[float]
    fval_best: float
    x0: np.ndarray | list[float]
    fval0: float
    n_evals: float  # simulation-equivalents charged (an integer on roadrunner)
    n_failures: int
    seconds: float
    status: Status
    message: str = ""
    simulation_seconds: float = 0.0  # of seconds, the time inside the engine
    cpu_seconds: float = 0.0  # CPU time of the start's process (the fair price on a shared machine)
    trace: list[tuple[int, float, float]] = field(default_factory=list, repr=False)
    extras: dict = field(default_factory=dict)
    evaluations: list[tuple[list[float], float]] = field(default_factory=list, repr=False)  # every (x, fval)
