"""Where prepared starts run: in this process, a local process pool, or a Dask cluster.

Workers receive each problem once and keep its compiled likelihood (one simulator)
for all the starts they run; each start gets a fresh objective of its own. The driver
alone writes the store, record by record, as results arrive. A start's numbers depend
only on its task, never on the executor.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from concurrent.futures import FIRST_COMPLETED, wait
from multiprocessing import get_context

from biobench.engines import likelihood_for
from biobench.errors import ConfigError, ExecutorError
from biobench.problem import Problem
from biobench.running.records import RunRecord
from biobench.running.runner import StartTask, execute, killed_record
from biobench.threads import limit_threads, threads_per_worker

EXECUTORS = ("serial", "processes", "dask")

# Per-process state of a worker: the problems it was given (``likelihood_for`` keeps their compiled likelihoods).
_problems: dict[str, Problem] = {}


def _install(problems: dict[str, Problem]) -> None:
    _problems.update(problems)


def _start_worker(problems: dict[str, Problem], threads: int) -> None:
    limit_threads(threads)
    _install(problems)


def run_task(task: StartTask, *problems: Problem) -> RunRecord:
    """Execute one start with this process's compiled likelihood of its problem (``problems``: ones to install)."""
    if problems:
        _install({p.key: p for p in problems})
    return execute(likelihood_for(_problems[task.start.problem_key], task.start.engine), task)


def run_tasks(tasks: list[StartTask], problems: dict[str, Problem], executor: str = "serial",
              workers: int | None = None, scheduler: str | None = None) -> Iterator[RunRecord]:
    """Yield records as their starts finish, in completion order."""
    if executor not in EXECUTORS:
        raise ConfigError(f"--executor {executor!r}: choose one of {', '.join(EXECUTORS)}.")
    if executor != "processes" and any(task.kill_after is not None for task in tasks):
        raise ConfigError(f"simulation_time_limit needs --executor processes: a simulation running in "
                          f"{'this process' if executor == 'serial' else 'a Dask worker'} cannot be stopped.")
    if not tasks:
        return
    if executor == "serial":
        _install(problems)
        for task in tasks:
            yield run_task(task)
    elif executor == "processes":
        yield from _process_pool(tasks, problems, workers or os.cpu_count() or 1)
    else:
        yield from _dask(tasks, problems, workers, scheduler)


def _process_pool(tasks: list[StartTask], problems: dict[str, Problem], workers: int) -> Iterator[RunRecord]:
    """A pool (pebble's) that kills a start at its ``kill_after`` and replaces the worker: roadrunner's
    integrator cannot be interrupted from Python, so a hanging simulation ends only with its process."""
    from pebble import ProcessExpired

    with worker_pool(problems, workers) as pool:
        futures = {pool.schedule(run_task, args=(task,), timeout=task.kill_after): task for task in tasks}
        pending = set(futures)
        try:
            while pending:
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    try:
                        yield future.result()
                    except TimeoutError:
                        yield killed_record(futures[future])
                    except ProcessExpired:
                        raise ExecutorError("a worker process died (killed, or out of memory); the finished starts "
                                            "are stored: rerun the same command to run the rest.") from None
        except BaseException:  # Ctrl-C or a dead worker: drop what has not started
            for future in pending:
                future.cancel()
            pool.stop()
            raise


def worker_pool(problems: dict[str, Problem], workers: int):
    """pebble's process pool whose workers hold ``problems`` and share the cores (``limit_threads``); spawn, not
    fork: the driver has threads (progress display) and a compiled LLVM model."""
    from pebble import ProcessPool

    return ProcessPool(max_workers=workers, context=get_context("spawn"), initializer=_start_worker,
                       initargs=(problems, threads_per_worker(workers)))


def _dask(tasks: list[StartTask], problems: dict[str, Problem], workers: int | None,
          scheduler: str | None) -> Iterator[RunRecord]:
    try:
        from distributed import Client, LocalCluster, as_completed
    except ImportError:  # pragma: no cover - distributed is a dependency
        raise ConfigError("--executor dask needs the 'distributed' package: pip install distributed") from None
    cluster = None
    if scheduler is None:
        cluster = LocalCluster(n_workers=workers or os.cpu_count() or 1, threads_per_worker=1, processes=True,
                               dashboard_address=None, silence_logs=40)
    try:
        client = Client(scheduler if scheduler is not None else cluster)
    except OSError as exc:
        raise ConfigError(f"cannot reach the Dask scheduler at {scheduler}: {exc}") from None
    try:
        # each worker receives each problem once; futures as top-level arguments are resolved there
        shared = dict(zip(problems, client.scatter(list(problems.values()), broadcast=True)))

        futures = [client.submit(run_task, task, shared[task.start.problem_key], pure=False,
                                 key=f"biobench-{task.start.key}")
                   for task in tasks]
        try:
            for future in as_completed(futures):
                yield future.result()
        except BaseException:
            client.cancel(futures)
            raise
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
