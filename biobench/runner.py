"""Multistart runs: start points from an initializer, one optimizer run per start.

Randomness is derived from one seed: child 0 of ``SeedSequence(seed)`` drives the
initializer and child ``i + 1`` drives start ``i``, so a start gives the same
result whether it runs alone, first or last. Each start's record is written to the
store the moment it finishes; starts already in the store are skipped.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from biobench.errors import ConfigError, PluginError
from biobench.initializers import initializers
from biobench.initializers.guesses import guesses_digest
from biobench.objective import Objective
from biobench.optimizers import optimizers
from biobench.problem import Problem
from biobench.records import RunRecord, task_key
from biobench.store import Store


@dataclass(frozen=True)
class RunSummary:
    records: list[RunRecord]  # the starts run now
    skipped: int  # starts found in the store already
    f_true: float


_true_fvals: dict[str, float] = {}


def true_fval(problem: Problem) -> float:
    """The objective at the true (nominal) parameters, outside any budget; once per problem key."""
    if problem.key not in _true_fvals:  # a bench asks once per method and seed; the answer cannot change
        _true_fvals[problem.key] = Objective(problem).fval(problem.x_true)
    return _true_fvals[problem.key]


def checked_starts(starts, problem: Problem, n_starts: int, name: str) -> np.ndarray:
    """Hold third-party initializers to the interface: right shape, finite, inside the bounds."""
    starts = np.asarray(starts, dtype=float)
    if starts.shape != (n_starts, problem.n_parameters):
        raise PluginError(f"initializer {name!r} returned shape {starts.shape}, "
                          f"expected ({n_starts}, {problem.n_parameters}).")
    if not np.isfinite(starts).all() or (starts < problem.lower).any() or (starts > problem.upper).any():
        raise PluginError(f"initializer {name!r} returned points outside the problem's bounds.")
    return starts


def start_points(problem: Problem, initializer, n_starts: int, seed: int,
                 guesses: np.ndarray | None = None) -> np.ndarray:
    """The starts of a multistart: the user's guesses first, the initializer's points after.

    The initializer draws from child 0 of ``SeedSequence(seed)``, the same stream
    whatever the number of starts, so ``biobench starts`` shows what ``run`` uses.
    """
    n_guesses = 0 if guesses is None else len(guesses)
    if n_guesses > n_starts:
        raise ConfigError(f"the starts file has {n_guesses} points but only {n_starts} starts were asked for; "
                          f"pass --starts {n_guesses} or more.")
    n_sampled = n_starts - n_guesses
    sampled = np.empty((0, problem.n_parameters))
    if n_sampled:
        rng = np.random.default_rng(np.random.SeedSequence(seed).spawn(1)[0])
        sampled = checked_starts(initializer.sample(problem, n_sampled, rng), problem, n_sampled, initializer.name)
    return sampled if n_guesses == 0 else np.vstack([guesses, sampled])


@dataclass(frozen=True)
class StartTask:
    """One start, ready to run anywhere: everything but the problem, which workers build and keep.

    The driver prepares tasks (it owns the store and trains any learning initializer);
    ``execute`` runs one in whatever process or machine the executor chose. Its result
    depends only on the task, so executors and worker counts cannot change the numbers.
    """

    key: str
    problem_key: str
    model_id: str
    initializer: str
    init_options: dict
    optimizer: str
    opt_options: dict
    seed: int
    start_index: int
    n_starts: int
    budget: int
    x0: np.ndarray  # one point, or n_start_points() rows for population methods
    rng: np.random.SeedSequence
    pilot_evals: float
    pilot_seconds: float
    init_extras: dict
    artifacts: str


def prepare_starts(
    problem: Problem,
    initializer: str,
    optimizer: str,
    *,
    n_starts: int,
    budget: int,
    seed: int,
    store: Store,
    init_options: dict | None = None,
    opt_options: dict | None = None,
    guesses: np.ndarray | None = None,
) -> tuple[list[StartTask], int, float]:
    """The starts of (initializer, optimizer) on ``problem`` not yet in the store; also (skipped, f_true)."""
    init_options, opt_options = dict(init_options or {}), dict(opt_options or {})
    init = initializers.get(initializer)(**init_options)
    init_options = dict(init.options)
    if guesses is not None:
        init_options["guesses"] = guesses_digest(guesses)
    opt = optimizers.get(optimizer)(**opt_options)
    opt_options = dict(opt.options)  # with defaults filled in, so the record says what ran

    f_true = true_fval(problem)
    store.add_problem(problem, f_true)
    keys = [task_key(problem.key, initializer, init_options, optimizer, opt_options, seed, n_starts, budget, i)
            for i in range(n_starts)]
    done = store.done_task_keys(keys)
    if len(done) == n_starts:  # nothing left: do not even sample (a cvae would train)
        return [], len(done), f_true

    seeds = np.random.SeedSequence(seed).spawn(n_starts + 1)
    per_start = opt.n_start_points()
    init.store = store
    design = start_points(problem, init, n_starts * per_start, seed, guesses)
    starts = design.reshape(n_starts, per_start, problem.n_parameters)
    tasks = [
        StartTask(
            key=keys[i], problem_key=problem.key, model_id=problem.model.model_id, initializer=initializer,
            init_options=init_options, optimizer=optimizer, opt_options=opt_options, seed=seed, start_index=i,
            n_starts=n_starts, budget=budget, x0=starts[i], rng=seeds[i + 1],
            # whatever the initializer spent before the starts existed is shared out among them
            pilot_evals=init.pilot_evals / n_starts, pilot_seconds=init.pilot_seconds / n_starts,
            init_extras=dict(init.extras), artifacts=str(store.artifacts_dir / keys[i]),
        )
        for i in range(n_starts) if keys[i] not in done
    ]
    return tasks, len(done), f_true


# The record fields a task fixes before its start runs; the optimizer result gives the rest.
_FROM_TASK = ("problem_key", "model_id", "initializer", "optimizer", "seed", "start_index", "n_starts", "budget",
              "init_options", "opt_options", "pilot_evals", "pilot_seconds")


def execute(problem: Problem, task: StartTask, objective: Objective | None = None) -> RunRecord:
    """Run one start and return its record (the caller stores it)."""
    opt = optimizers.get(task.optimizer)(**task.opt_options)
    objective = objective or Objective(problem, budget=task.budget)
    objective.budget = task.budget
    objective.reset()
    result = opt.minimize(objective, task.x0, np.random.default_rng(task.rng), artifacts=Path(task.artifacts))
    from_task = {name: getattr(task, name) for name in _FROM_TASK}
    return RunRecord(**from_task, **(result.record_fields() | {"extras": {**task.init_extras, **result.extras}}))


def run_starts(
    problem: Problem,
    initializer: str,
    optimizer: str,
    *,
    store: Store,
    on_ready: Callable[[], None] | None = None,
    on_done: Callable[[RunRecord], None] | None = None,
    **settings,
) -> RunSummary:
    """Run the starts of (initializer, optimizer) on ``problem`` in this process, storing each record.

    ``settings`` are ``prepare_starts``'s: n_starts, budget, seed and optionally
    init_options, opt_options, guesses.
    """
    tasks, skipped, f_true = prepare_starts(problem, initializer, optimizer, store=store, **settings)
    if on_ready is not None:
        on_ready()
    objective = Objective(problem, budget=settings["budget"])  # one simulator for all starts
    records = []
    for task in tasks:
        record = execute(problem, task, objective)
        store.add_run(record)
        records.append(record)
        if on_done is not None:
            on_done(record)
    return RunSummary(records=records, skipped=skipped, f_true=f_true)
