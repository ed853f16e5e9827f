"""The run record: one row per start, the unit the store, leaderboards and reports share."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field


@dataclass(frozen=True)
class RunRecord:
    """What one start of one method did on one problem, with the objective's own counts."""

    problem_key: str
    model_id: str
    initializer: str
    optimizer: str
    seed: int
    start_index: int
    n_starts: int
    budget: int
    x0: list[float]
    fval0: float
    x_best: list[float]
    fval_best: float
    n_evals: int
    n_failures: int
    seconds: float
    status: str  # "stopped" (the method's own criterion), "budget", "failed" or "error"
    message: str = ""
    init_options: dict = field(default_factory=dict)
    opt_options: dict = field(default_factory=dict)
    trace: list[tuple[int, float, float]] = field(default_factory=list, repr=False)
    extras: dict = field(default_factory=dict)  # method-specific results, e.g. MCMC posterior summaries
    # This start's share of evaluations and seconds an initializer spent before the starts
    # existed (the cvae's pilot design); charged to the method in every per-evaluation metric.
    simulation_seconds: float = 0.0  # of seconds, the time inside roadrunner
    pilot_evals: float = 0.0
    pilot_seconds: float = 0.0
    evaluations: list[tuple[list[float], float]] = field(default_factory=list, repr=False)  # every (x, fval)

    @property
    def task_key(self) -> str:
        return task_key(self.problem_key, self.initializer, self.init_options, self.optimizer, self.opt_options,
                        self.seed, self.n_starts, self.budget, self.start_index)

    def as_dict(self) -> dict:
        return asdict(self)


def task_key(problem_key: str, initializer: str, init_options: dict, optimizer: str, opt_options: dict,
             seed: int, n_starts: int, budget: int, start_index: int) -> str:
    """Deterministic identity of a start: rerunning the same settings finds it already done."""
    blob = json.dumps(
        [problem_key, initializer, init_options, optimizer, opt_options, seed, n_starts, budget, start_index],
        sort_keys=True,
    )
    return hashlib.sha256(blob.encode()).hexdigest()[:32]
