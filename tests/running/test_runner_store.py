"""Runs and the store: one complete row per start, resumable, survives being killed."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time

import numpy as np
import pytest

from biobench.errors import StoreError
from biobench.initializers import initializers
from biobench.likelihood import Likelihood
from biobench.optimizers import optimizers
from biobench.problem import build_problem
from biobench.running.runner import run_starts, start_points
from biobench.running.store import Store
from tests.conftest import DATA, REPO


def test_each_start_is_stored_with_x0_x_best_and_trace(two_step_problem, tmp_path):
    store = Store(tmp_path / "s.sqlite")
    summary = run_starts(two_step_problem, "random", "local", n_starts=4, budget=100, seed=3, store=store)
    frame = store.runs_frame()
    assert len(frame) == 4 == len(summary.records)
    assert sorted(frame["start_index"]) == [0, 1, 2, 3]
    assert all(len(x) == 2 for x in frame["x0"]) and all(len(x) == 2 for x in frame["x_best"])
    # stored values belong to stored points: fval0 is the objective at x0, fval_best at x_best
    likelihood = Likelihood(two_step_problem)
    for x0, fval0, x_best, fval_best in frame[["x0", "fval0", "x_best", "fval_best"]].itertuples(index=False):
        assert likelihood.fval(np.asarray(x0)) == pytest.approx(fval0, rel=1e-9)
        assert likelihood.fval(np.asarray(x_best)) == pytest.approx(fval_best, rel=1e-9)
    assert (frame["fval_best"] < frame["fval0"]).all()  # local improves on every random start of this problem
    assert frame["parameter_ids"].iloc[0] == ["k1", "R2_k2"]
    assert frame["versions"].iloc[0]["libroadrunner"]
    traces = store.traces_frame()
    assert set(traces["run_id"]) == set(frame["run_id"])
    last = traces.groupby("run_id")["fval_best"].last()
    np.testing.assert_allclose(last.loc[frame["run_id"]].to_numpy(), frame["fval_best"].to_numpy())


def test_same_seed_gives_the_same_records(two_step_problem, tmp_path):
    a = run_starts(two_step_problem, "random", "local", n_starts=3, budget=60, seed=5, store=Store(tmp_path / "a.db"))
    b = run_starts(two_step_problem, "random", "local", n_starts=3, budget=60, seed=5, store=Store(tmp_path / "b.db"))
    assert [r.x0 for r in a.records] == [r.x0 for r in b.records]
    assert [r.fval_best for r in a.records] == [r.fval_best for r in b.records]
    c = run_starts(two_step_problem, "random", "local", n_starts=3, budget=60, seed=6, store=Store(tmp_path / "c.db"))
    assert [r.x0 for r in a.records] != [r.x0 for r in c.records]


def test_rerun_skips_finished_starts(two_step_problem, tmp_path):
    store = Store(tmp_path / "s.sqlite")
    run_starts(two_step_problem, "random", "local", n_starts=3, budget=50, seed=0, store=store)
    again = run_starts(two_step_problem, "random", "local", n_starts=3, budget=50, seed=0, store=store)
    assert again.skipped == 3 and again.records == []
    assert len(store.runs_frame()) == 3


def test_unopenable_store_is_a_clear_error(tmp_path):
    with pytest.raises(StoreError, match="cannot open the results store"):
        Store("nosuchdialect://x/y")


def test_store_under_a_regular_file_is_a_clear_error_and_leaves_the_file(tmp_path):
    blocking = tmp_path / "notes.txt"
    blocking.write_text("mine")
    with pytest.raises(StoreError, match="notes.txt is a file, not a folder"):
        Store(blocking / "deeper" / "store.sqlite")
    assert blocking.read_text() == "mine"


def test_killed_run_leaves_only_complete_rows_and_the_next_run_finishes(tmp_path):
    db = tmp_path / "killed.sqlite"
    command = [sys.executable, str(REPO / "cli.py"), "run", "--model", str(DATA / "two_step.xml"),
               "--starts", "40", "--budget", "200", "--seed", "1", "--results", str(db)]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    try:
        while time.monotonic() < deadline:
            if db.exists():
                try:
                    with sqlite3.connect(db) as conn:
                        if conn.execute("select count(*) from runs").fetchone()[0] >= 3:
                            break
                except sqlite3.OperationalError:
                    pass  # tables not created yet
            time.sleep(0.02)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()

    with sqlite3.connect(db) as conn:
        assert conn.execute("pragma integrity_check").fetchone()[0] == "ok"
        n_runs = conn.execute("select count(*) from runs").fetchone()[0]
        assert 3 <= n_runs < 40, "the run was supposed to be killed midway"
        orphans = conn.execute("select count(*) from runs where (select count(*) from evaluations e where e.run_id = runs.run_id) "
            "!= runs.n_evals").fetchone()
        assert orphans[0] == 0
        assert conn.execute("select count(*) from runs where x_best is null or n_evals is null").fetchone()[0] == 0

    finished = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert finished.returncode == 0, finished.stderr
    assert f"{n_runs} of 40 starts were already in the store" in finished.stdout
    with sqlite3.connect(db) as conn:
        indices = [row[0] for row in conn.execute("select start_index from runs order by start_index")]
    assert indices == list(range(40))


def test_every_evaluated_point_is_stored(two_step_problem, tmp_path):
    store = Store(tmp_path / "s.sqlite")
    summary = run_starts(two_step_problem, "random", "local", n_starts=2, budget=30, seed=1, store=store)
    x, f = store.evaluated_points(two_step_problem.key)
    assert len(x) == sum(r.n_evals for r in summary.records)
    assert x.shape[1] == 2
    assert f.min() == pytest.approx(min(r.fval_best for r in summary.records))
    assert store.evaluated_points("no such problem")[0].size == 0


@pytest.mark.parametrize("optimizer, options", [("ga", {"pop_size": 6}), ("mcmc", {"chains": 2})])
def test_each_start_draws_from_its_own_random_stream(two_step_problem, tmp_path, optimizer, options):
    """Two starts from the same point: with one stream shared by every start they would repeat each other
    exactly, and a multistart of a stochastic method would be n copies of one run."""
    per_start = optimizers.get(optimizer)(**options).n_start_points()  # population methods take several
    guesses = np.tile(two_step_problem.x_true + 0.3, (2 * per_start, 1))
    summary = run_starts(two_step_problem, "random", optimizer, n_starts=2, budget=60, seed=0,
                         store=Store(tmp_path / "streams.sqlite"), guesses=guesses, opt_options=options)
    first, second = summary.records
    assert first.x0 == second.x0
    assert first.x_best != second.x_best
    again = run_starts(two_step_problem, "random", optimizer, n_starts=2, budget=60, seed=0,
                       store=Store(tmp_path / "again.sqlite"), guesses=guesses, opt_options=options)
    assert [r.x_best for r in again.records] == [first.x_best, second.x_best]  # and each stream is seeded


def test_a_start_point_that_cannot_be_simulated_is_replaced_by_a_spare_and_charged(two_step_model, tmp_path):
    """As pyPESTO resamples failed starts: the start goes on from a spare initializer point, and says so."""
    from biobench.settings import IntegratorSettings, ProblemSettings

    integrator = IntegratorSettings(maximum_num_steps=100, retry_non_stiff=False)  # Adams would finish them
    problem = build_problem(two_step_model, ProblemSettings(integrator=integrator))
    likelihood = Likelihood(problem)  # with 100 BDF steps, fast rates cannot be simulated: about 2 in 3 points fail
    summary = run_starts(problem, "random", "local", n_starts=8, budget=40, seed=0, store=Store(tmp_path / "s.sqlite"))
    drawn = start_points(problem, initializers.get("random")(), 8, seed=0).points
    replaced = [r for r in summary.records if r.extras.get("replaced_start_points")]
    assert replaced, "the test needs start points that fail"
    for record in replaced:
        original = drawn[record.start.start_index]
        assert not np.isfinite(likelihood.fval(original))  # the initializer's point fails ...
        assert record.x0 != original.tolist() and np.isfinite(record.fval0)  # ... and a spare that works is used
        assert record.fval0 == likelihood.fval(np.array(record.x0))
        tries = record.extras["replaced_start_points"]
        assert record.n_failures >= tries and record.n_evals >= tries + 1  # every failed try is charged
    kept = [r for r in summary.records if not r.extras.get("replaced_start_points")]
    for record in kept:  # a start point that works is used as it is
        assert record.x0 == drawn[record.start.start_index].tolist()


def test_only_chosen_starts_run_from_the_points_a_full_run_draws(two_step_problem, tmp_path):
    """Rerunning chosen starts with other settings (benchmarks/petab_convergence.py --only) is worth something
    only if start i is the same point as in the full run: a filter applied before the draw would shift them."""
    summary = run_starts(two_step_problem, "lhs", "local", n_starts=5, budget=20, seed=3,
                         store=Store(tmp_path / "s.sqlite"), only={1, 4})
    assert [r.start.start_index for r in summary.records] == [1, 4]
    drawn = start_points(two_step_problem, initializers.get("lhs")(), 5, seed=3).points
    assert [r.x0 for r in summary.records] == [drawn[1].tolist(), drawn[4].tolist()]


def test_one_method_with_other_options_is_other_starts_in_the_same_store(two_step_problem, tmp_path):
    """A start's key holds the optimizer's and initializer's options: a second run with another option value runs
    and stores its own starts instead of finding the first run's and skipping."""
    store = Store(tmp_path / "options.sqlite")
    for pop_size in (6, 8):
        summary = run_starts(two_step_problem, "random", "ga", n_starts=2, budget=30, seed=0, store=store,
                             opt_options={"pop_size": pop_size})
        assert len(summary.records) == 2 and summary.skipped == 0
    for optimization in ("none", "random-cd"):
        summary = run_starts(two_step_problem, "lhs", "local", n_starts=2, budget=20, seed=0, store=store,
                             init_options={"optimization": optimization})
        assert len(summary.records) == 2 and summary.skipped == 0
    runs = store.runs_frame()
    assert len(runs) == 8 and runs["task_key"].is_unique


def test_a_method_that_cannot_run_on_an_engine_is_refused_before_any_work(two_step_problem, tmp_path):
    """A saved surrogate learned roadrunner's trajectories: on AMICI reusing it would fail inside every start."""
    from biobench.errors import ConfigError
    from biobench.running.bench_config import load_bench_config
    from biobench.running.runner import prepare_starts

    store = Store(tmp_path / "engines.sqlite")
    with pytest.raises(ConfigError, match="--opt surrogate runs on roadrunner only.*reuse.*use --engine roadrunner"):
        prepare_starts(two_step_problem, "random", "surrogate", n_starts=1, budget=50, seed=0, store=store,
                       engine="amici:adjoint", opt_options={"reuse": True})
    assert store.runs_frame().empty
    tasks, _, _ = prepare_starts(two_step_problem, "random", "surrogate", n_starts=1, budget=50, seed=0,
                                 store=store, engine="auto", opt_options={"reuse": True})
    assert [task.start.engine for task in tasks] == ["roadrunner"]
    config = tmp_path / "bench.yaml"
    config.write_text("models: [BIOMD0000000012]\noptimizers: [local, {surrogate: {reuse: true}}]\n"
                      "engines: [roadrunner, amici]\n")
    with pytest.raises(ConfigError, match="surrogate runs on roadrunner only .*not on amici"):
        load_bench_config(config)
    config.write_text("models: [BIOMD0000000012]\noptimizers: [local, surrogate]\nengines: [roadrunner, amici]\n")
    load_bench_config(config)  # without reuse it learns whichever engine simulates


def test_a_problem_is_compiled_once_per_process(two_step_model, tmp_path, monkeypatch):
    """The value at the truth, an initializer's pilot, every start and the next method's starts share one
    compiled roadrunner model (a large model compiles in seconds; it used to be three times per run)."""
    from biobench.problem import build_problem
    from biobench.settings import ProblemSettings
    from biobench.simulator import Simulator

    problem = build_problem(two_step_model, ProblemSettings(seed=11))  # a key no other test compiles
    built = []
    construct = Simulator.__init__
    monkeypatch.setattr(Simulator, "__init__", lambda self, *a, **k: (built.append(1), construct(self, *a, **k))[1])
    store = Store(tmp_path / "once.sqlite")
    run_starts(problem, "random", "local", n_starts=2, budget=20, seed=0, store=store)
    run_starts(problem, "lhs", "lbfgsb", n_starts=2, budget=20, seed=0, store=store)
    assert len(built) == 1
