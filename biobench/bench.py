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
from biobench.executors import run_tasks
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


def plan(config: BenchConfig, store: Store, notify: Callable[[str], None] | None = None,
         progress: ProgressCallback = no_progress) -> BenchPlan:
    """Problems and the starts still to run. Learning initializers (cvae) train here, in the driver,
    and tell ``progress`` how far they are."""
    problems: dict[str, Problem] = {}
    tasks: list[StartTask] = []
    skipped = 0
    for spec in config.model_specs():
        problem = load_problem(spec, config.problem, notify=notify)
        problems[problem.key] = problem
        for init, init_options in config.methods(config.initializers):
            for opt, opt_options in config.methods(config.optimizers):
                for seed in config.seeds:
                    new, done, _ = prepare_starts(problem, init, opt, n_starts=config.starts, budget=config.budget,
                                                  seed=seed, store=store, init_options=init_options,
                                                  opt_options=opt_options, progress=progress)
                    tasks += new
                    skipped += done
    return BenchPlan(problems, tasks, skipped)


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
