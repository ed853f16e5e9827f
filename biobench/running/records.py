"""A start's identity and its record: the unit the runner, executors, store and reports share."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field, fields

import numpy as np

from biobench.outcome import StartResult


@dataclass(frozen=True)
class StartIdentity:
    """What makes a start this start: rerunning the same settings finds it done, changing any makes a new one.

    Options are the full option sets (defaults filled in), so the record says what ran.
    """

    problem_key: str
    initializer: str
    optimizer: str
    seed: int
    n_starts: int
    budget: int
    start_index: int
    init_options: dict = field(default_factory=dict)
    opt_options: dict = field(default_factory=dict)
    engine: str = "roadrunner"  # the simulator: a method on another engine is another method

    @property
    def key(self) -> str:
        """Deterministic key of the start (unique in the store); computed here and nowhere else.

        The default engine is left out of the hash, so keys from before engines existed stay valid."""
        parts = [self.problem_key, self.initializer, self.init_options, self.optimizer, self.opt_options,
                 self.seed, self.n_starts, self.budget, self.start_index]
        if self.engine != "roadrunner":
            parts.append(self.engine)
        blob = json.dumps(parts, sort_keys=True)
        return hashlib.sha256(blob.encode()).hexdigest()[:32]

    def columns(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class RunRecord:
    """What one start of one method did on one problem: its identity, the optimizer's result, and this start's
    share of what the initializer spent before the starts existed (the cvae's pilot design), charged to the
    method in every per-evaluation metric."""

    start: StartIdentity
    model_id: str
    result: StartResult
    pilot_evals: float = 0.0
    pilot_seconds: float = 0.0
    init_extras: dict = field(default_factory=dict)  # the initializer's diagnostics and labels (engine choice)

    @property
    def extras(self) -> dict:
        """Method-specific results: the initializer's, then the optimizer's (MCMC posterior summaries)."""
        return {**self.init_extras, **self.result.extras}

    def __getattr__(self, name: str):
        """The result's fields read as the record's (``record.fval_best``), as the store's columns name them."""
        if name in _RESULT_FIELDS:
            return getattr(self.result, name)
        raise AttributeError(f"{type(self).__name__!r} has no attribute {name!r}")

    def columns(self) -> dict:
        """The runs-table row (less its JSON encoding): identity, result and pilot share, one column each."""
        row = {name: getattr(self.result, name) for name in _RESULT_FIELDS}
        row["x0"], row["x_best"] = np.asarray(row["x0"]).tolist(), np.asarray(row["x_best"]).tolist()
        row["status"] = str(row["status"])
        return row | self.start.columns() | {"model_id": self.model_id, "extras": self.extras,
                                             "pilot_evals": self.pilot_evals, "pilot_seconds": self.pilot_seconds}


_RESULT_FIELDS = tuple(f.name for f in fields(StartResult) if f.name != "extras")
