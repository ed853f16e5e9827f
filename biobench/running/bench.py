"""``biobench bench``: a whole benchmark matrix, resumable, on any executor.

The driver expands the config into problems and start tasks (deterministic keys; the
ones already in the store are skipped), hands the tasks to an executor and writes each
record the moment it comes back. A crash or Ctrl-C loses at most the starts in flight;
rerunning the same command finishes the rest, and nothing is ever written twice (task
keys are unique in the store).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from dataclasses import dataclass

from biobench.analysis.features import COUNTED, problem_features
from biobench.errors import BiobenchError, first_line
from biobench.initializers.base import ProgressCallback, no_progress
from biobench.problem import Problem
from biobench.running.bench_config import BenchConfig
from biobench.running.executors import run_tasks
from biobench.running.records import RunRecord
from biobench.running.runner import StartTask, prepare_starts
from biobench.running.store import Store
from biobench.sources import load_problem


@dataclass(frozen=True)
class BenchPlan:
    problems: dict[str, Problem]
    tasks: list[StartTask]
    skipped: int
    refused: dict[str, str]  # model spec -> why no problem could be built (also in the store)


def plan(config: BenchConfig, store: Store, notify: Callable[[str], None] | None = None,
         progress: ProgressCallback = no_progress) -> BenchPlan:
    """Problems and the starts still to run. Learning initializers (cvae) train here, in the driver,
    and tell ``progress`` how far they are.

    Each problem's features (``biobench.analysis.features``) are measured once and stored, and again where
    the stored ones were measured by an earlier biobench that did not count all of today's.
    A model that cannot become a problem (no estimable parameters, a simulation that fails at
    the nominal point, SBML roadrunner refuses...) is refused with its reason, recorded in
    the store, and the bench goes on: one bad file must not stop a corpus of 162.
    """
    problems: dict[str, Problem] = {}
    initializers, optimizers = config.method_specs("initializer"), config.method_specs("optimizer")
    tasks: list[StartTask] = []
    skipped = 0
    refused: dict[str, str] = {}
    measured = store.feature_keys(required=COUNTED)
    stored = store.features_frame()
    first_seconds = (dict(zip(stored["problem_key"], stored["seconds_per_simulation"].astype(float)))
                     if "seconds_per_simulation" in stored else {})
    with ProblemBuilder(config.build_time_limit) as builder:
        for spec in config.model_specs():
            built = builder.build(spec, config.problem, measured, notify)
            if isinstance(built, str):
                refused[spec] = built
                store.set_refusal(spec, built)
                if notify is not None:
                    notify(f"refused {spec}: {built}")
                continue
            problem, features = built
            store.set_refusal(spec, None)
            problems[problem.key] = problem
            seconds = _seconds_per_simulation(first_seconds.get(problem.key, math.nan), features)
            if features is not None:  # what 'biobench recommend' learns from, measured once
                # measured again for a newer biobench: the first timing stays, so a resumed bench plans alike
                features = features | {"seconds_per_simulation": seconds}
                store.set_features(problem.key, problem.problem_id, problem.model.model_id, features)
            n_run, time_limit = config.starts, config.time_limit
            if config.scale is not None:
                n_run, time_limit = config.scale.starts_and_limit(config.starts, seconds, time_limit)
                if notify is not None:
                    notify(f"{problem.problem_id}: {n_run} of {config.starts} starts per method, at most "
                           f"{time_limit:.3g} s each ({seconds:.3g} s per simulation)")
            for init, opt in itertools.product(initializers, optimizers):
                for seed, engine in itertools.product(config.seeds, config.engines):
                    new, done, _ = prepare_starts(
                        problem, init, opt, n_starts=config.starts, budget=config.budget, seed=seed, store=store,
                        progress=progress, time_limit=time_limit,
                        simulation_time_limit=config.simulation_time_limit, engine=engine)
                    tasks += [task for task in new if task.start.start_index < n_run]
                    skipped += done
    return BenchPlan(problems, tasks, skipped, refused)


def _seconds_per_simulation(first: float, features: dict | None) -> float:
    """The problem's measured seconds per simulation: as ``first`` stored (features measured again for a newer
    biobench must not change a resumed bench's starts), else just measured; NaN when unmeasured."""
    if not math.isnan(first) or features is None:
        return first
    return float(features.get("seconds_per_simulation", math.nan))


class ProblemBuilder:
    """Builds problems and measures their features: here, or in a worker process killed at ``time_limit``.

    A build loads the SBML, simulates the nominal point and measures features; on one corpus
    model a single simulation takes minutes, and roadrunner cannot be interrupted from Python,
    so a bounded build runs in a process of its own (pebble's pool of one, reused until a kill).
    """

    def __init__(self, time_limit: float | None) -> None:
        self.time_limit, self.pool = time_limit, None

    def __enter__(self) -> ProblemBuilder:
        if self.time_limit is not None:
            from multiprocessing import get_context

            from pebble import ProcessPool

            self.pool = ProcessPool(max_workers=1, context=get_context("spawn"))
        return self

    def __exit__(self, *exc) -> None:
        if self.pool is not None:
            self.pool.stop()
            self.pool.join()

    def build(self, spec: str, settings, measured: set[str], notify: Callable[[str], None] | None):
        """(problem, features or None when already measured), or the one-line reason it was refused."""
        if self.pool is None:
            outcome = build_problem_and_features(spec, settings, measured, notify)
        else:
            future = self.pool.schedule(build_problem_and_features, args=(spec, settings, measured),
                                        timeout=self.time_limit)
            try:
                outcome = future.result()
            except TimeoutError:
                return (f"building the problem (loading the SBML, simulating the nominal point, measuring features) "
                        f"took longer than the build_time_limit of {self.time_limit:g} s")
            except Exception as exc:  # the worker died (a crash inside a library): refused, the bench goes on
                return f"the build's worker process failed: {type(exc).__name__}: {first_line(exc)}"
        if isinstance(outcome, str):
            return outcome
        for message in outcome[2] if notify is not None else ():  # what a worker could not tell the user itself
            notify(message)
        return outcome[:2]


def build_problem_and_features(spec: str, settings, measured: set[str],
                               notify: Callable[[str], None] | None = None) -> tuple | str:
    """Load one problem and measure its features unless ``measured`` has its key; a refusal is its reason.

    Returns (problem, features or None, messages) where ``messages`` are what a worker process
    could not print itself (the driver passes them on); in-process they go to ``notify``.
    """
    messages: list[str] = []
    tell = notify if notify is not None else messages.append
    try:
        problem = load_problem(spec, settings, notify=tell)
    except Exception as exc:  # a library's own error too: recorded, never a crash of the whole bench
        reason = first_line(exc)
        return reason if isinstance(exc, BiobenchError) else f"{type(exc).__name__}: {reason}"
    features = None
    if problem.key not in measured:
        try:
            features = problem_features(problem, fallback="amici")  # where roadrunner cannot simulate it
        except Exception as exc:  # told, not fatal: the runs do not need features
            tell(f"features of {problem.problem_id} not measured: {type(exc).__name__}: {first_line(exc)}")
    return problem, features, messages


def run_plan(bench: BenchPlan, store: Store, executor: str = "serial", workers: int | None = None,
             scheduler: str | None = None, on_done: Callable[[RunRecord], None] | None = None) -> int:
    """Execute the plan, storing every record as it arrives; returns the number stored."""
    stored = 0
    for record in run_tasks(bench.tasks, bench.problems, executor, workers, scheduler):
        store.add_run(record)
        stored += 1
        if on_done is not None:
            on_done(record)
    return stored
