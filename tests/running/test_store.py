"""The results store: where a location points, what it refuses, and that nothing is written twice."""

from __future__ import annotations

import numpy as np
import pytest

from biobench.errors import StoreError
from biobench.outcome import StartResult
from biobench.running.records import RunRecord, StartIdentity
from biobench.running.runner import true_fval
from biobench.running.store import Store, results_url


def record(problem, index, fval):
    start = StartIdentity(problem_key=problem.key, initializer="random", optimizer="local", seed=0,
                          start_index=index, n_starts=2, budget=10)
    x = problem.x_true.tolist()
    return RunRecord(start=start, model_id=problem.model.model_id,
                     result=StartResult(x0=x, fval0=fval + 1, x_best=x, fval_best=fval, n_evals=3, n_failures=0,
                                        seconds=0.1, status="stopped", trace=[(1, fval, 0.1)],
                                        evaluations=[(x, fval + 1), (x, fval)]))


def test_a_location_is_a_file_a_folder_a_url_or_the_environments(tmp_path, monkeypatch):
    assert results_url(tmp_path / "a.sqlite") == f"sqlite:///{tmp_path / 'a.sqlite'}"
    assert results_url(tmp_path).endswith("/biobench.sqlite")  # a folder gets the default name
    assert results_url("postgres://u@h/db") == "postgresql+psycopg://u@h/db"  # the driver biobench installs
    monkeypatch.setenv("BIOBENCH_RESULTS", str(tmp_path / "env.sqlite"))
    assert results_url() == f"sqlite:///{tmp_path / 'env.sqlite'}"


def test_a_reading_command_refuses_a_store_that_is_not_there(tmp_path):
    with pytest.raises(StoreError, match="no results store at"):
        Store(tmp_path / "misspelled.sqlite", must_exist=True)
    assert not (tmp_path / "misspelled.sqlite").exists()


def test_a_start_is_stored_once_with_its_trace_and_evaluations(two_step_problem, tmp_path):
    store = Store(tmp_path / "once.sqlite")
    store.add_problem(two_step_problem, true_fval(two_step_problem))
    store.add_problem(two_step_problem, 0.0)  # a second call is a no-op: the first f_true stays
    first = record(two_step_problem, 0, 5.0)
    assert store.add_run(first) is not None
    assert store.add_run(first) is None  # the same start again: not written twice
    runs = store.runs_frame()
    assert len(runs) == 1 and runs.loc[0, "f_true"] == pytest.approx(true_fval(two_step_problem))
    assert store.done_task_keys([first.start.key, "other"]) == {first.start.key}
    assert len(store.traces_frame()) == 1
    x, f = store.evaluated_points(two_step_problem.key)
    assert x.shape == (2, two_step_problem.n_parameters) and np.array_equal(f, [6.0, 5.0])


def test_refusals_and_features_are_replaced_not_accumulated(tmp_path):
    store = Store(tmp_path / "tables.sqlite")
    store.set_refusal("m.xml", "no estimable parameters")
    store.set_refusal("m.xml", "the simulation fails")
    assert store.refusals_frame()[["model_spec", "reason"]].values.tolist() == [["m.xml", "the simulation fails"]]
    store.set_refusal("m.xml", None)  # built after all: no longer refused
    assert store.refusals_frame().empty
    store.set_features("k", "p", "m", {"species": 3, "stiffness_decades": float("nan")})
    store.set_features("k", "p", "m", {"species": 4, "stiffness_decades": 2.0})
    features = store.features_frame()
    assert len(features) == 1 and features.loc[0, "species"] == 4 and store.feature_keys() == {"k"}
