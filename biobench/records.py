"""A start's identity and its record: the unit the runner, executors, store and reports share."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field


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
    """What one start of one method did on one problem, with the objective's own counts."""

    start: StartIdentity
    model_id: str
    x0: list[float]
    fval0: float
    x_best: list[float]
    fval_best: float
    n_evals: float  # simulation-equivalents charged (an integer on roadrunner)
    n_failures: int
    seconds: float
    status: str  # "stopped" (the method's own criterion), "budget", "failed", "error" or "killed" (hung)
    message: str = ""
    trace: list[tuple[int, float, float]] = field(default_factory=list, repr=False)
    extras: dict = field(default_factory=dict)  # method-specific results, e.g. MCMC posterior summaries
    simulation_seconds: float = 0.0  # of seconds, the time inside the engine
    cpu_seconds: float = 0.0  # CPU time of the start's process (the fair price on a shared machine)
    # This start's share of evaluations and seconds an initializer spent before the starts
    # existed (the cvae's pilot design); charged to the method in every per-evaluation metric.
    pilot_evals: float = 0.0
    pilot_seconds: float = 0.0
    evaluations: list[tuple[list[float], float]] = field(default_factory=list, repr=False)  # every (x, fval)
