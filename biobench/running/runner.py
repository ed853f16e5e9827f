"""Multistart runs: start points from an initializer, one optimizer run per start.

Randomness is derived from one seed: child 0 of ``SeedSequence(seed)`` drives the
initializer and child ``i + 1`` drives start ``i``, so a start gives the same
result whether it runs alone, first or last; a stream of its own draws the spare start
points that replace a start point whose simulation fails. Each start's record is
written to the store the moment it finishes; starts already in the store are skipped.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Collection
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from biobench.engines import DEFAULT_ENGINE, check_engine, likelihood_for
from biobench.engines.choice import resolve_engine
from biobench.errors import ConfigError
from biobench.initializers.base import EvaluationStore, Initializer, ProgressCallback, StartDesign, no_progress
from biobench.initializers.guesses import guesses_digest
from biobench.likelihood import Likelihood
from biobench.method_spec import MethodSpec
from biobench.objective import Objective
from biobench.outcome import StartResult, Status
from biobench.problem import Problem
from biobench.running.records import RunRecord, StartIdentity
from biobench.running.store import Store


SPARES_PER_START = 5  # initializer points a single-point start may fall back on when its own point fails
_SPARE_STREAM = 2**31  # spawn key of the spares' stream: apart from the initializer's (0) and the starts' (1..n)


@dataclass(frozen=True)
class RunSummary:
    records: list[RunRecord]  # the starts run now
    skipped: int  # starts found in the store already
    f_true: float


_true_fvals: dict[str, float] = {}


def true_fval(problem: Problem) -> float:
    """The objective at the true (nominal) parameters, outside any budget; once per problem key."""
    if problem.key not in _true_fvals:  # a bench asks once per method and seed; the answer cannot change
        _true_fvals[problem.key] = likelihood_for(problem, "roadrunner").fval(problem.x_true)
    return _true_fvals[problem.key]


def engine_for(opt, name: str, problem: Problem, engine: str) -> str:
    """The engine the method runs on: ``engine``, ``auto`` resolved, or refused before any work where the method
    cannot run on it."""
    if opt.engines is not None:
        if engine == "auto":
            return opt.engines[0]
        if engine.partition(":")[0] not in opt.engines:
            raise ConfigError(f"--opt {name} runs on {' or '.join(opt.engines)} only ({opt.engines_reason}); "
                              f"use --engine {opt.engines[0]}.")
    return resolve_engine(problem, engine, opt.needs())


def start_points(problem: Problem, initializer: Initializer, n_starts: int, seed: int,
                 guesses: np.ndarray | None = None, store: EvaluationStore | None = None,
                 progress: ProgressCallback = no_progress) -> StartDesign:
    """The starts of a multistart: the user's guesses first, the initializer's points after.

    The initializer draws from child 0 of ``SeedSequence(seed)``, the same stream
    whatever the number of starts, so ``biobench starts`` shows what ``run`` uses.
    """
    n_guesses = 0 if guesses is None else len(guesses)
    if n_guesses > n_starts:
        raise ConfigError(f"the starts file has {n_guesses} points but only {n_starts} starts were asked for; "
                          f"pass --starts {n_guesses} or more.")
    if n_guesses == n_starts:
        return StartDesign(np.asarray(guesses, dtype=float))
    rng = np.random.default_rng(np.random.SeedSequence(seed).spawn(1)[0])
    design = initializer.generate(problem, n_starts - n_guesses, rng, store, progress)
    if n_guesses == 0:
        return design
    return StartDesign(np.vstack([guesses, design.points]), design.pilot_evals, design.pilot_seconds,
                       design.diagnostics)


@dataclass(frozen=True)
class StartTask:
    """One start, ready to run anywhere: everything but the problem, which workers build and keep.

    The driver prepares tasks (it owns the store and trains any learning initializer);
    ``execute`` runs one in whatever process or machine the executor chose. Its result
    depends only on the task, so executors and worker counts cannot change the numbers.
    """

    start: StartIdentity
    optimizer: MethodSpec  # built once per worker process, whatever the number of starts it runs
    model_id: str
    x0: np.ndarray  # one point, or n_start_points() rows for population methods
    rng: np.random.SeedSequence
    pilot_evals: float  # this start's share of what the initializer (and the method) spent before the starts
    pilot_seconds: float
    init_extras: dict
    artifacts: str
    spares: np.ndarray | None = None  # for single-point methods: points to start from if x0 cannot be simulated
    time_limit: float | None = None  # seconds per start (a corpus bench's guard against slow models)
    # Seconds after which a start still running is killed (processes executor): its time limit plus
    # the longest one evaluation may take; past it, one simulation hangs and only a kill ends it.
    kill_after: float | None = None


def prepare_starts(
    problem: Problem,
    initializer: MethodSpec | str,
    optimizer: MethodSpec | str,
    *,
    n_starts: int,
    budget: int,
    seed: int,
    store: Store,
    init_options: dict | None = None,
    opt_options: dict | None = None,
    guesses: np.ndarray | None = None,
    progress: ProgressCallback = no_progress,
    time_limit: float | None = None,
    simulation_time_limit: float | None = None,
    engine: str = DEFAULT_ENGINE,
) -> tuple[list[StartTask], int, float]:
    """The starts of (initializer, optimizer) on ``problem`` not yet in the store; also (skipped, f_true).

    A method is a ``MethodSpec``, or a registry name with its options (``init_options``, ``opt_options``).

    ``progress`` hears what a slow initializer (the cvae's pilot and training) is doing.
    ``time_limit`` (seconds per start) ends a start after the evaluation that passes it, as
    if its budget were used (the record's message says which); it is a guard, not part of
    the start's identity, so a rerun with another limit finds the stored starts done.
    ``simulation_time_limit`` (seconds, with ``time_limit``) kills a start still running
    ``time_limit + simulation_time_limit`` seconds after it began: one evaluation took that
    long, which the time limit cannot end (``biobench.running.executors``, processes only).
    ``engine`` simulates the starts (``biobench.engines``; ``auto`` is resolved here, per problem and
    method); the engine that runs is part of each start's identity.
    """
    check_engine(engine)
    init_spec = MethodSpec.initializer(initializer, init_options)
    opt_spec = MethodSpec.optimizer(optimizer, opt_options)
    init, opt = init_spec.build(), opt_spec.build()
    requested, engine = engine, engine_for(opt, opt_spec.name, problem, engine)
    init_options = dict(init.identity_options)  # with defaults filled in, so the record says what ran
    if guesses is not None:
        init_options["guesses"] = guesses_digest(guesses)

    f_true = true_fval(problem)
    store.add_problem(problem, f_true)
    identities = [StartIdentity(problem.key, init_spec.name, opt_spec.name, seed, n_starts, budget, i, init_options,
                                dict(opt.identity_options), engine) for i in range(n_starts)]
    done = store.done_task_keys([s.key for s in identities])
    if len(done) == n_starts:  # nothing left: do not even sample (a cvae would train)
        return [], len(done), f_true

    seeds = np.random.SeedSequence(seed).spawn(n_starts + 1)
    per_start = opt.n_start_points()
    design = start_points(problem, init, n_starts * per_start, seed, guesses, store, progress)
    starts = design.points.reshape(n_starts, per_start, problem.n_parameters)
    spares = _spare_points(problem, init, n_starts, seed, store) if per_start == 1 else None
    shared = opt.shared_cost(problem)  # e.g. a saved surrogate's simulations: charged like the pilot
    pilot_evals = design.pilot_evals + (shared.evals if shared else 0.0)
    pilot_seconds = design.pilot_seconds + (shared.seconds if shared else 0.0)
    extras = design.diagnostics | (shared.diagnostics if shared else {})
    tasks = [
        StartTask(start=identity, optimizer=opt_spec, model_id=problem.model.model_id, x0=starts[i], rng=seeds[i + 1],
                  # whatever the initializer spent before the starts existed is shared out among them
                  pilot_evals=pilot_evals / n_starts, pilot_seconds=pilot_seconds / n_starts,
                  # leaderboards label a method run on whichever engine auto chose by that choice, not by the engine
                  init_extras=extras | ({"engine_choice": "auto"} if requested == "auto" else {}),
                  artifacts=str(store.artifacts_dir / identity.key),
                  spares=None if spares is None else spares[i], time_limit=time_limit,
                  kill_after=None if simulation_time_limit is None else (time_limit or 0.0) + simulation_time_limit)
        for i, identity in enumerate(identities) if identity.key not in done
    ]
    return tasks, len(done), f_true


def _spare_points(problem: Problem, init: Initializer, n_starts: int, seed: int, store: Store) -> np.ndarray:
    """``SPARES_PER_START`` further initializer points per start, from a stream of their own.

    A learning initializer reuses the model it just trained (saved beside the store);
    its cost is charged once, with the starts. Design-size warnings (Sobol' balance) do
    not apply to spares.
    """
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(_SPARE_STREAM,)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        points = init.for_spares().generate(problem, n_starts * SPARES_PER_START, rng, store).points
    return points.reshape(n_starts, SPARES_PER_START, problem.n_parameters)


def execute(likelihood: Likelihood, task: StartTask, on_progress=None) -> RunRecord:
    """Run one start on a fresh per-start objective over the problem's compiled likelihood; the caller stores it.
    ``on_progress(n_evals)`` hears the start's evaluations as they are charged."""
    opt = task.optimizer.build()
    objective = Objective(likelihood, budget=task.start.budget, time_limit=task.time_limit, on_progress=on_progress)
    result = opt.minimize(objective, task.x0, np.random.default_rng(task.rng), artifacts=Path(task.artifacts),
                          spares=task.spares)
    return RunRecord(start=task.start, model_id=task.model_id, result=result, pilot_evals=task.pilot_evals,
                     pilot_seconds=task.pilot_seconds, init_extras=task.init_extras)


def killed_record(task: StartTask) -> RunRecord:
    """The record of a start killed at ``task.kill_after``: nothing it found survived the kill, so it is a
    failed start charged its whole budget (how many evaluations it made is unknown, at least as many as
    fitted in the time) and the seconds it was given. Stored, so a rerun does not hang on it again."""
    x0 = np.atleast_2d(task.x0)[0].tolist()
    result = StartResult(x_best=x0, fval_best=float("inf"), x0=x0, fval0=float("nan"), n_evals=task.start.budget,
                         n_failures=0, seconds=float(task.kill_after), status=Status.KILLED,
                         message=f"killed after {task.kill_after:g} s: one evaluation ran longer than the "
                                 "simulation_time_limit (a simulation that hangs or takes minutes)")
    return RunRecord(start=task.start, model_id=task.model_id, result=result, pilot_evals=task.pilot_evals,
                     pilot_seconds=task.pilot_seconds, init_extras=task.init_extras)


def run_starts(
    problem: Problem,
    initializer: MethodSpec | str,
    optimizer: MethodSpec | str,
    *,
    n_starts: int,
    budget: int,
    seed: int,
    store: Store,
    init_options: dict | None = None,
    opt_options: dict | None = None,
    guesses: np.ndarray | None = None,
    engine: str = DEFAULT_ENGINE,
    time_limit: float | None = None,
    only: Collection[int] | None = None,
    progress: ProgressCallback = no_progress,
    on_ready: Callable[[], None] | None = None,
    on_done: Callable[[RunRecord], None] | None = None,
    on_evals: Callable[[int, float], None] | None = None,
) -> RunSummary:
    """Run the starts of (initializer, optimizer) on ``problem`` in this process, storing each record.

    The arguments up to ``time_limit`` are ``prepare_starts``'s. ``only``: run just these start indices of the
    ``n_starts`` drawn (a benchmark reruns chosen starts with other settings; the points are the same).
    ``progress`` hears a slow initializer, ``on_ready`` that the starts are drawn, ``on_done`` each stored
    record and ``on_evals(start_index, n_evals)`` a start's evaluations as they are charged.
    """
    tasks, skipped, f_true = prepare_starts(problem, initializer, optimizer, n_starts=n_starts, budget=budget,
                                            seed=seed, store=store, init_options=init_options,
                                            opt_options=opt_options, guesses=guesses, progress=progress,
                                            time_limit=time_limit, engine=engine)
    if only is not None:
        tasks = [task for task in tasks if task.start.start_index in only]
    if on_ready is not None:
        on_ready()
    # compiled once, for all starts, on the engine they were prepared for (``auto`` resolved)
    likelihood = likelihood_for(problem, tasks[0].start.engine) if tasks else None
    records = []
    for task in tasks:
        index = task.start.start_index
        record = execute(likelihood, task, None if on_evals is None else lambda n, i=index: on_evals(i, n))
        store.add_run(record)
        records.append(record)
        if on_done is not None:
            on_done(record)
    return RunSummary(records=records, skipped=skipped, f_true=f_true)
