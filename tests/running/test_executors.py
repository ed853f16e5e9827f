"""Where starts run: a start's numbers depend only on its task, never on the executor."""

from __future__ import annotations

import dataclasses

import pytest

from biobench.errors import ConfigError
from biobench.running.executors import run_tasks
from biobench.running.runner import prepare_starts
from biobench.running.store import Store


@pytest.fixture(scope="module")
def tasks(two_step_problem, tmp_path_factory):
    store = Store(tmp_path_factory.mktemp("executors") / "plan.sqlite")
    planned, _, _ = prepare_starts(two_step_problem, "random", "local", n_starts=3, budget=25, seed=0, store=store)
    return planned


def test_a_process_pool_gives_the_records_this_process_gives(tasks, two_step_problem):
    problems = {two_step_problem.key: two_step_problem}
    serial = {r.start.key: r for r in run_tasks(tasks, problems, "serial")}
    pooled = {r.start.key: r for r in run_tasks(tasks, problems, "processes", workers=2)}
    assert set(serial) == set(pooled) == {t.start.key for t in tasks}  # none lost, none twice
    for key, record in serial.items():
        assert (pooled[key].x_best, pooled[key].fval_best, pooled[key].n_evals) == \
            (record.x_best, record.fval_best, record.n_evals)


def test_what_an_executor_cannot_do_is_refused_before_any_start(tasks, two_step_problem):
    problems = {two_step_problem.key: two_step_problem}
    with pytest.raises(ConfigError, match="--executor 'threads': choose one of serial, processes, dask"):
        list(run_tasks(tasks, problems, "threads"))
    killable = [dataclasses.replace(task, time_limit=1.0, kill_after=2.0) for task in tasks]
    with pytest.raises(ConfigError, match="simulation_time_limit needs --executor processes"):
        list(run_tasks(killable, problems, "serial"))
    assert list(run_tasks([], problems, "processes")) == []  # nothing to run starts no pool
