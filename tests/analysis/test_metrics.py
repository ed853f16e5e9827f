"""Leaderboard metrics on a hand-built store whose answers are known."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from biobench import api
from biobench.analysis import metrics
from biobench.outcome import StartResult
from biobench.problem import build_problem
from biobench.running.records import RunRecord, StartIdentity
from biobench.running.runner import true_fval
from biobench.running.store import Store
from biobench.settings import ProblemSettings, TimeSettings


def record(problem, init, opt, i, fval, n_evals, seconds=1.0, status="stopped", pilot_evals=0.0):
    x = problem.x_true.tolist()
    start = StartIdentity(problem_key=problem.key, initializer=init, optimizer=opt, seed=0, start_index=i,
                          n_starts=10, budget=1000)
    return RunRecord(start=start, model_id=problem.model.model_id, pilot_evals=pilot_evals,
                     result=StartResult(x0=x, fval0=fval + 10, x_best=x, fval_best=fval, n_evals=n_evals, n_failures=0,
                                        seconds=seconds, status=status,
                                        trace=[(1, fval, seconds)] if math.isfinite(fval) else []))


@pytest.fixture(scope="module")
def store(two_step_model, tmp_path_factory):
    a = build_problem(two_step_model, ProblemSettings(time=TimeSettings(end=20, n=11), seed=0))
    b = build_problem(two_step_model, ProblemSettings(time=TimeSettings(end=20, n=11), seed=1))
    fa, fb = true_fval(a), true_fval(b)
    s = Store(tmp_path_factory.mktemp("metrics") / "hand.sqlite")
    s.add_problem(a, fa)
    s.add_problem(b, fb)
    for init in ("random", "sobol"):  # two methods with identical results: a tie
        for i, f in enumerate([fa - 1, fa - 0.95, fa + 5]):
            s.add_run(record(a, init, "local", i, f, 100))
    s.add_run(record(a, "lhs", "ga", 0, math.inf, 50, status="failed"))  # never converges
    s.add_run(record(a, "lhs", "ga", 1, fa + 1, 50, status="budget"))
    s.add_run(record(a, "cvae", "local", 0, fa - 1, 100, pilot_evals=100))  # pilot cost charged
    s.add_run(record(b, "random", "local", 0, fb + 0.05, 10))  # the only method on problem b
    s.known = {"fa": fa, "fb": fb, "a": a.problem_id, "b": b.problem_id}
    return s


def row(board, problem_id, method):
    (found,) = board[(board["problem_id"] == problem_id) & (board["method"] == method)].to_dict("records")
    return found


def test_per_problem_metrics(store):
    board = metrics.per_problem(store.runs_frame())
    fa = store.known["fa"]
    r = row(board, store.known["a"], "random + local")
    assert r["starts"] == 3 and r["converged"] == 2 and r["success_rate"] == pytest.approx(2 / 3)
    assert r["f_ref"] == pytest.approx(fa - 1) and r["best_fval"] == pytest.approx(fa - 1)
    assert r["median_fval"] == pytest.approx(fa - 0.95)
    assert r["converged_per_1000_evals"] == pytest.approx(1000 * 2 / 300)
    assert r["converged_per_minute"] == pytest.approx(60 * 2 / 3)
    assert r["median_seconds"] == 1.0 and r["failed_starts"] == 0


def test_a_method_that_never_converges_and_infinite_fvals(store):
    r = row(metrics.per_problem(store.runs_frame()), store.known["a"], "lhs + ga")
    assert r["converged"] == 0 and r["success_rate"] == 0 and r["converged_per_1000_evals"] == 0
    assert r["failed_starts"] == 1
    assert r["best_fval"] == pytest.approx(store.known["fa"] + 1)
    assert r["median_fval"] == math.inf


def test_pilot_evaluations_are_charged(store):
    r = row(metrics.per_problem(store.runs_frame()), store.known["a"], "cvae + local")
    assert r["converged"] == 1 and r["converged_per_1000_evals"] == pytest.approx(1000 / 200)


def test_f_ref_includes_the_true_parameters(store):
    r = row(metrics.per_problem(store.runs_frame()), store.known["b"], "random + local")
    assert r["f_ref"] == pytest.approx(store.known["fb"])  # no run beat the truth here
    assert r["converged"] == 1  # fb + 0.05 <= fb + 0.1


def test_a_published_problem_is_judged_against_a_better_value_only_once_a_second_engine_confirmed_it(
        petab_problem, tmp_path):
    """A PEtab problem has no truth: its target is the value at its published parameters until another engine
    gives a better stored value at the same point; a lower value one engine alone reports never moves it."""
    nominal = true_fval(petab_problem)
    store = Store(tmp_path / "published.sqlite")
    store.add_problem(petab_problem, nominal)
    store.add_run(record(petab_problem, "random", "local", 0, nominal - 5, 100))  # better, not confirmed
    store.add_run(record(petab_problem, "random", "local", 1, nominal + 0.05, 100))
    r = row(metrics.per_problem(store.runs_frame()), petab_problem.model.model_id, "random + local")
    assert r["f_ref"] == pytest.approx(nominal) and r["converged"] == 2
    assert metrics.unconfirmed(store.runs_frame())["problem_id"].tolist() == [petab_problem.model.model_id]

    store.set_confirmed(petab_problem.key, nominal - 5, {"values": {"roadrunner": nominal - 5, "amici": nominal - 5}})
    r = row(metrics.per_problem(store.runs_frame()), petab_problem.model.model_id, "random + local")
    assert r["f_ref"] == pytest.approx(nominal - 5) and r["converged"] == 1
    assert metrics.unconfirmed(store.runs_frame()).empty


def test_a_published_problem_that_fails_at_its_published_point_is_judged_against_its_best_start(petab_problem,
                                                                                                 tmp_path):
    store = Store(tmp_path / "failing.sqlite")
    store.add_problem(petab_problem, float("inf"))  # the nominal simulation failed: nothing else is finite
    store.add_run(record(petab_problem, "random", "local", 0, 12.0, 100))
    store.add_run(record(petab_problem, "random", "local", 1, 13.0, 100))
    r = row(metrics.per_problem(store.runs_frame()), petab_problem.model.model_id, "random + local")
    assert r["f_ref"] == 12.0 and r["converged"] == 1


def test_a_problem_is_shown_by_its_model_where_no_other_problem_has_that_model(store, two_step_model, tmp_path):
    from biobench.running.store import readable_problem_ids

    assert set(store.runs_frame()["problem_id"]) == {store.known["a"], store.known["b"]}  # two data sets: digests
    alone = build_problem(two_step_model, ProblemSettings(time=TimeSettings(end=20, n=11), seed=0))
    one = Store(tmp_path / "one.sqlite")
    one.add_problem(alone, true_fval(alone))
    one.add_run(record(alone, "random", "local", 0, 1.0, 10))
    assert set(one.runs_frame()["problem_id"]) == {"two_step"}
    ids = readable_problem_ids(pd.Series(["m:1", "m:2", "n:3", "m:1"]), pd.Series(["k1", "k2", "k3", "k1"]))
    assert ids.tolist() == ["m:1", "m:2", "n", "m:1"]


def test_the_compact_tables_of_a_benchmark_over_many_problems(store):
    board = metrics.per_problem(store.runs_frame())
    best = metrics.best_per_problem(board).set_index("problem_id")
    assert best.loc[store.known["b"], "best method"] == "random + local"
    assert best.loc[store.known["a"], "best method"] in ("random + local", "sobol + local")  # tied, both 2/3
    assert best.loc[store.known["a"], ["methods_solving", "methods"]].tolist() == [3, 4]  # lhs + ga never converged
    overall = metrics.overall(board).set_index("method")
    assert overall.loc["random + local", "share_solved"] == 1.0 and overall.loc["lhs + ga", "share_solved"] == 0.0
    failed = metrics.failures(store.runs_frame())
    assert failed[["method", "status", "starts"]].values.tolist() == [["lhs + ga", "failed", 1]]


def test_a_method_that_reports_failure_after_finding_a_value_is_judged_by_its_value(two_step_problem, tmp_path):
    """L-BFGS-B's abnormal line search ends many starts at the optimum with success false: a stop, not a failure."""
    f = true_fval(two_step_problem)
    s = Store(tmp_path / "abnormal.sqlite")
    s.add_problem(two_step_problem, f)
    s.add_run(record(two_step_problem, "random", "lbfgsb", 0, f, 100, status="failed"))
    s.add_run(record(two_step_problem, "random", "lbfgsb", 1, math.inf, 100, status="failed"))
    s.add_run(record(two_step_problem, "random", "lbfgsb", 2, f + 0.01, 100, status="error"))
    r = row(metrics.per_problem(s.runs_frame()), two_step_problem.model.model_id, "random + lbfgsb")
    assert r["converged"] == 2 and r["failed_starts"] == 2  # no value found, and a start that raised
    assert metrics.failures(s.runs_frame())["status"].tolist() == ["error", "failed"]


def test_a_method_run_on_the_engine_auto_chose_is_one_method_whichever_engine_it_chose():
    frame = pd.DataFrame({"initializer": ["random"] * 4, "optimizer": ["fides"] * 4,
                          "engine": ["amici", "roadrunner", "amici", "roadrunner"],
                          "extras": [{"engine_choice": "auto"}, {"engine_choice": "auto"}, {}, None]})
    assert metrics.method_label(frame).tolist() == ["random + fides [auto]", "random + fides [auto]",
                                                    "random + fides [amici]", "random + fides"]


def test_delta_is_configurable(store):
    r = row(metrics.per_problem(store.runs_frame(), delta=0.01), store.known["b"], "random + local")
    assert r["converged"] == 0


def test_ranks_share_ties_and_mean_over_problems(store):
    board = metrics.per_problem(store.runs_frame())
    rank = metrics.ranks(board)
    on_a = dict(zip(rank[rank.problem_id == store.known["a"]]["method"], rank[rank.problem_id == store.known["a"]]["rank"]))
    assert on_a == {"random + local": 1.5, "sobol + local": 1.5, "cvae + local": 3.0, "lhs + ga": 4.0}
    summary = metrics.overall(board).set_index("method")
    assert summary.loc["random + local", "mean_rank"] == pytest.approx(1.25)
    assert summary.loc["random + local", "problems"] == 2  # the model with a single method counts too
    assert summary.loc["lhs + ga", "mean_rank"] == 4.0


def test_performance_profile_area(store):
    summary = metrics.overall(metrics.per_problem(store.runs_frame())).set_index("method")
    assert summary.loc["random + local", "profile_auc"] == pytest.approx(1.0)
    assert summary.loc["sobol + local", "profile_auc"] == pytest.approx(0.5)  # not run on problem b
    assert summary.loc["lhs + ga", "profile_auc"] == 0.0
    # cvae costs 200 evaluations per converged start against the best 150: solved from tau = 4/3 on
    expected = 0.5 * (1.05 - np.log2(4 / 3)) / 1.05
    assert summary.loc["cvae + local", "profile_auc"] == pytest.approx(expected, abs=0.01)


def test_python_api_returns_dataframes(store):
    path = store.url.removeprefix("sqlite:///")
    runs = api.load_results(path)
    assert len(runs) == 10 and {"x0", "x_best", "fval_best", "initializer"} <= set(runs.columns)
    assert set(api.load_traces(path)["run_id"]) <= set(runs["run_id"])
    assert len(api.leaderboard(path)) == 5
    assert list(api.overall(path)["method"])[0] == "random + local"


def test_an_older_store_gains_new_columns(tmp_path, two_step_problem):
    import sqlite3

    path = tmp_path / "old.sqlite"
    Store(path).add_problem(two_step_problem, 1.0)
    with sqlite3.connect(path) as conn:
        conn.execute("ALTER TABLE runs DROP COLUMN pilot_evals")
    Store(path).add_run(record(two_step_problem, "random", "local", 0, 1.0, 10))
    assert Store(path).runs_frame()["pilot_evals"].tolist() == [0.0]


def test_a_method_is_its_whole_configuration(two_step_model, tmp_path):
    """Runs of one pair with another budget, option or starts file are another leaderboard row; seeds pool.

    Pooled, the budget-5000 starts (all converged) would lift the budget-100 ones to one row at 75%."""
    problem = build_problem(two_step_model, ProblemSettings(time=TimeSettings(end=20, n=11), seed=0))
    f = true_fval(problem)
    s = Store(tmp_path / "configs.sqlite")
    s.add_problem(problem, f)

    def add(budget, seed, i, fval, opt_options=None, init_options=None):
        start = StartIdentity(problem_key=problem.key, initializer="mjs", optimizer="local", seed=seed,
                              start_index=i, n_starts=2, budget=budget, opt_options=opt_options or {},
                              init_options=init_options or {})
        x = problem.x_true.tolist()
        s.add_run(RunRecord(start=start, model_id="two_step",
                            result=StartResult(x0=x, fval0=fval + 10, x_best=x, fval_best=fval, n_evals=budget,
                                               n_failures=0, seconds=1.0, status="stopped")))

    for seed in (0, 1):  # replicates of one configuration
        add(100, seed, 0, f + 50)
        add(100, seed, 1, f + 50)
        add(5000, seed, 0, f - 1)
        add(5000, seed, 1, f - 1)
    add(100, 0, 0, f - 1, init_options={"guesses": "3ab1c2d4e5f6"})  # a starts file holding the answer
    board = metrics.per_problem(s.runs_frame())
    rows = dict(zip(board["method"], board["success_rate"]))
    assert set(rows) == {"mjs + local (budget=100, init.guesses=-)", "mjs + local (budget=5000, init.guesses=-)",
                         "mjs + local (budget=100, init.guesses=3ab1c2d4)"}
    assert rows["mjs + local (budget=100, init.guesses=-)"] == 0.0
    assert board.set_index("method").loc["mjs + local (budget=5000, init.guesses=-)", "starts"] == 4


def test_f_ref_is_the_best_of_all_methods_not_of_each(two_step_model, tmp_path):
    """Both methods beat the nominal fval; only the one within delta of the best any method found has
    converged. With f_ref taken per method, every method would "converge" to its own best."""
    problem = build_problem(two_step_model, ProblemSettings(time=TimeSettings(end=20, n=11), seed=0))
    f = true_fval(problem)
    s = Store(tmp_path / "fref.sqlite")
    s.add_problem(problem, f)
    s.add_run(record(problem, "random", "local", 0, f - 1.0, 100))
    s.add_run(record(problem, "sobol", "local", 0, f - 0.5, 100))
    board = metrics.per_problem(s.runs_frame())
    assert row(board, problem.model.model_id, "random + local")["converged"] == 1
    assert row(board, problem.model.model_id, "sobol + local")["converged"] == 0
    assert board["f_ref"].tolist() == pytest.approx([f - 1.0, f - 1.0])
