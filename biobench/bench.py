"""``biobench bench``: a whole benchmark matrix, resumable, on any executor.

The driver expands the config into problems and start tasks (deterministic keys; the
ones already in the store are skipped), hands the tasks to an executor and writes each
record the moment it comes back. A crash or Ctrl-C loses at most the starts in flight;
rerunning the same command finishes the rest, and nothing is ever written twice (task
keys are unique in the store).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from biobench.bench_config import BenchConfig
from biobench.errors import BiobenchError, first_line
from biobench.executors import run_tasks
from biobench.features import problem_features
from biobench.initializers.base import ProgressCallback, no_progress
from biobench.problem import Problem
from biobench.records import RunRecord
from biobench.runner import StartTask, prepare_starts
from biobench.sources import load_problem
from biobench.store import Store


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

    Each problem's features (``biobench.features``) are measured once and stored.
    A model that cannot become a problem (no estimable parameters, a simulation that fails at
    the nominal point, SBML roadrunner refuses...) is refused with its reason, recorded in
    the store, and the bench goes on: one bad file must not stop a corpus of 162.
    """
    problems: dict[str, Problem] = {}
    tasks: list[StartTask] = []
    skipped = 0
    refused: dict[str, str] = {}
    measured = store.feature_keys()
    for spec in config.model_specs():
        try:
            problem = load_problem(spec, config.problem, notify=notify)
        except Exception as exc:  # a library's own error too: recorded, never a crash of the whole bench
            reason = first_line(exc)
            refused[spec] = reason if isinstance(exc, BiobenchError) else f"{type(exc).__name__}: {reason}"
            store.set_refusal(spec, refused[spec])
            if notify is not None:
                notify(f"refused {spec}: {refused[spec]}")
            continue
        store.set_refusal(spec, None)
        problems[problem.key] = problem
        if problem.key not in measured:  # what 'biobench recommend' learns from, measured once
            _measure_features(problem, store, notify)
        for init, init_options in config.methods(config.initializers):
            for opt, opt_options in config.methods(config.optimizers):
                for seed in config.seeds:
                    new, done, _ = prepare_starts(problem, init, opt, n_starts=config.starts, budget=config.budget,
                                                  seed=seed, store=store, init_options=init_options,
                                                  opt_options=opt_options, progress=progress,
                                                  time_limit=config.time_limit)
                    tasks += new
                    skipped += done
    return BenchPlan(problems, tasks, skipped, refused)


def _measure_features(problem: Problem, store: Store, notify: Callable[[str], None] | None) -> None:
    """Store the problem's features; a failure to measure them is told, not fatal (the runs do not need them)."""
    try:
        values = problem_features(problem)
    except Exception as exc:
        if notify is not None:
            notify(f"features of {problem.problem_id} not measured: {type(exc).__name__}: {first_line(exc)}")
        return
    store.set_features(problem.key, problem.problem_id, problem.model.model_id, values)


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
