"""biobench bench: config validation, identical results on every executor, kill and resume."""

from __future__ import annotations

import os
import signal
import shlex
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from biobench.analysis import metrics
from biobench.analysis.features import COUNTED
from biobench.commands import main
from biobench.errors import ConfigError
from biobench.running.bench import plan, run_plan
from biobench.running.bench_config import SUITES, load_bench_config
from biobench.running.executors import run_tasks
from biobench.running.store import Store
from tests.conftest import DATA, REPO

TINY = f"""
models: ["{DATA / 'two_step.xml'}", BIOMD0000000507]
problem: {{time: {{n: 11}}}}
initializers: [random, lhs]
optimizers: [local, {{ga: {{pop_size: 6}}}}]
starts: 3
budget: 60
seeds: [0, 1]
"""
COMPARED = ["problem_id", "method", "starts", "best_fval", "median_fval", "success_rate", "converged", "evaluations"]


def write(tmp_path, text, name="bench.yaml"):
    path = tmp_path / name
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    "text, message",
    [
        ("models: [BIOMD12]\nstrats: 3\n", "unknown key 'strats'"),
        ("models: []\n", "'models'"),
        ("models: [suite:everything]\n", "unknown suite 'everything'"),
        ("models: [dir:no/such/folder]\n", "dir:no/such/folder: no such folder"),
        ("models: [BIOMD12x]\n", "'BIOMD12x' is neither a BioModels ID"),
        ("models: [missing/model.xml]\n", "missing/model.xml: no such file"),
        ("models: [BIOMD12]\noptimizers: [simplex]\n", "unknown optimizer 'simplex'"),
        ("models: [BIOMD12]\noptimizers: [{ga: {pop: 3}}]\n", "has no option"),
        ("models: [BIOMD12]\nseeds: [1, 1]\n", "distinct"),
        ("models: [BIOMD12]\nproblem: {noise: {relatve: 1}}\n", "problem.noise.relatve"),
        ("models: [BIOMD12]\nsimulation_time_limit: 5\n", "simulation_time_limit needs time_limit"),
    ],
)
def test_bad_configs_name_the_key(tmp_path, text, message):
    with pytest.raises(ConfigError, match=message):
        load_bench_config(write(tmp_path, text))


def test_a_folder_is_a_suite_and_a_model_that_cannot_be_a_problem_is_refused_not_fatal(tmp_path):
    """A corpus bench must survive its bad files: the refusal and its reason are in the store and the report."""
    import shutil

    from biobench.report import build_report

    folder = tmp_path / "models"
    folder.mkdir()
    shutil.copy(DATA / "two_step.xml", folder / "b_two_step.xml")
    (folder / "a_broken.xml").write_text("<sbml>not a model</sbml>")
    (folder / "notes.txt").write_text("not SBML: ignored")
    config = load_bench_config(write(tmp_path, f"models: ['dir:{folder}']\nstarts: 1\nbudget: 20\n"))
    assert config.model_specs() == [str(folder / "a_broken.xml"), str(folder / "b_two_step.xml")]
    store = Store(tmp_path / "s.sqlite")
    bench = plan(config, store)
    assert list(bench.refused) == [str(folder / "a_broken.xml")] and len(bench.problems) == 1
    features = store.features_frame()  # measured for the problem that was built, for the recommender
    assert features["problem_key"].tolist() == list(bench.problems) and features.loc[0, "species"] >= 1
    (key,) = bench.problems
    kept = dict.fromkeys(COUNTED, -1.0)  # planted: a row that counts everything today's features count
    store.set_features(key, "b_two_step", "two_step", kept)
    plan(config, store)
    assert store.features_frame().loc[0, "species"] == -1  # measured once, not again
    store.set_features(key, "b_two_step", "two_step", {n: v for n, v in kept.items() if n != "steady_state_conditions"})
    plan(config, store)  # an earlier biobench's row, without a feature counted now: measured again
    again = store.features_frame()
    assert again.loc[0, "species"] >= 1 and again.loc[0, "steady_state_conditions"] == 0
    run_plan(bench, store)
    refused = store.refusals_frame()
    assert refused["model_spec"].tolist() == [str(folder / "a_broken.xml")] and refused["reason"].str.len().min() > 0
    page = build_report(store.url, tmp_path / "report").read_text()
    assert "Refused models" in page and "a_broken.xml" in page
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ConfigError, match="holds no SBML files"):
        load_bench_config(write(tmp_path, f"models: ['dir:{empty}']\n")).model_specs()


def test_a_collection_folder_of_petab_problems_is_a_source(tmp_path):
    collection = tmp_path / "collection"
    shutil.copytree(DATA / "benchmark_models_petab" / "Boehm_JProteomeRes2014", collection / "Boehm_JProteomeRes2014")
    shutil.copytree(DATA / "petab_two_step", collection / "petab_two_step")
    (collection / "LICENSE").write_text("a file, not a problem")
    (collection / "notes").mkdir()  # a folder without a problem file
    config = load_bench_config(write(tmp_path, f"models: ['petab_dir:{collection}']\n"))
    assert config.model_specs() == [str(collection / "Boehm_JProteomeRes2014" / "Boehm_JProteomeRes2014.yaml"),
                                     str(collection / "petab_two_step" / "petab_two_step.yaml")]
    with pytest.raises(ConfigError, match="holds no PEtab problems"):
        load_bench_config(write(tmp_path, f"models: ['petab_dir:{collection / 'notes'}']\n")).model_specs()
    # a problem file with the generic name problem.yaml is known by its folder's name
    generic = shutil.copytree(DATA / "petab_two_step", collection / "Generic_2020")
    (generic / "petab_two_step.yaml").rename(generic / "problem.yaml")
    from biobench.sources import load_problem

    assert load_problem(generic / "problem.yaml").model.model_id == "Generic_2020"


def test_a_slow_problem_runs_the_first_of_its_starts_within_the_time_a_method_has(tmp_path):
    """scale: a method's seconds per problem are shared by its starts; where a simulation is slow, fewer starts
    (the first ones of the same design, so the method stays one method) each with more time."""
    text = (f"models: ['{DATA / 'two_step.xml'}']\nproblem: {{time: {{n: 11}}}}\nstarts: 6\nbudget: 50\n"
            "scale: {seconds: 30, min_evaluations: 100, min_starts: 2}\n")
    config = load_bench_config(write(tmp_path, text))
    fast = plan(config, Store(tmp_path / "fast.sqlite"))  # the two-step model simulates in well under 1 ms
    assert [t.start.start_index for t in fast.tasks] == list(range(6)) and {t.time_limit for t in fast.tasks} == {5.0}
    (key,) = fast.problems
    for seconds, starts in ((0.075, 4), (1.0, 2), (float("nan"), 2)):  # planted: as measured by a slower machine
        store = Store(tmp_path / f"slow{seconds}.sqlite")
        planted = dict.fromkeys(COUNTED, 1.0) | {"seconds_per_simulation": seconds}
        store.set_features(key, "two_step", "two_step", planted)
        slow = plan(config, store)
        assert [t.start.start_index for t in slow.tasks] == list(range(starts))
        assert {t.time_limit for t in slow.tasks} == {30 / starts}
        assert {t.start.key for t in slow.tasks} <= {t.start.key for t in fast.tasks}  # the same method's starts
    # a row an earlier biobench stored (fewer features): measured again, but the first seconds still plan
    store = Store(tmp_path / "earlier.sqlite")
    store.set_features(key, "two_step", "two_step", {"seconds_per_simulation": 1.0})
    for _ in range(2):  # and go on planning alike once they are stored
        assert [t.start.start_index for t in plan(config, store).tasks] == [0, 1]
    assert set(COUNTED) <= set(store.features_frame().columns)


def test_a_build_past_its_time_limit_is_refused_and_one_within_it_is_built_in_a_worker(tmp_path):
    """build_time_limit runs each build (SBML, nominal simulation, features) in a process killed at the limit."""
    folder = tmp_path / "models"
    folder.mkdir()
    (folder / "a_broken.xml").write_text("<sbml>not a model</sbml>")
    (folder / "b_two_step.xml").write_text((DATA / "two_step.xml").read_text())
    generous = load_bench_config(write(tmp_path, f"models: ['dir:{folder}']\nstarts: 1\nbudget: 20\n"
                                                 "build_time_limit: 120\n"))
    store = Store(tmp_path / "generous.sqlite")
    bench = plan(generous, store)
    assert list(bench.refused) == [str(folder / "a_broken.xml")] and "build_time_limit" not in bench.refused[
        str(folder / "a_broken.xml")]
    assert store.features_frame()["problem_key"].tolist() == list(bench.problems)  # measured in the worker
    assert run_plan(bench, store) == 1
    # 60000 output times: this build takes about 13 s (the features simulate it dozens of times)
    tight = load_bench_config(write(tmp_path, f"models: ['{folder / 'b_two_step.xml'}']\nbuild_time_limit: 0.5\n"
                                              "problem: {time: {end: 20, n: 60000}}\n", "tight.yaml"))
    started = time.monotonic()
    refused = plan(tight, Store(tmp_path / "tight.sqlite")).refused
    assert list(refused.values()) == ["building the problem (loading the SBML, simulating the nominal point, "
                                      "measuring features) took longer than the build_time_limit of 0.5 s"]
    assert time.monotonic() - started < 8  # killed at the limit (plus a worker start), not waited for


def test_a_start_past_its_simulation_time_limit_is_killed_stored_and_not_run_again(tmp_path):
    """The worker is killed (roadrunner cannot be interrupted), the start recorded as a failed 'killed' one."""
    text = f"models: ['{DATA / 'two_step.xml'}']\nproblem: {{time: {{n: 11}}}}\nstarts: 2\nbudget: 30\n"
    store = Store(tmp_path / "killed.sqlite")
    # A 2 ms limit, and mcmc, which first imports pymc in the worker (seconds, in every fresh worker): a
    # start that stays inside one long step past its limit, as a hanging simulation does
    config = load_bench_config(write(tmp_path, text + "optimizers: [mcmc]\ntime_limit: 0.001\n"
                                                      "simulation_time_limit: 0.001\n"))
    bench = plan(config, store)
    with pytest.raises(ConfigError, match="needs --executor processes"):
        list(run_tasks(bench.tasks, bench.problems, "serial"))
    assert run_plan(bench, store, "processes", workers=1) == 2
    runs = store.runs_frame()
    assert set(runs["status"]) == {"killed"} and runs["message"].str.contains("simulation_time_limit").all()
    assert (runs["n_evals"] == 30).all() and np.isinf(runs["fval_best"]).all()
    assert metrics.per_problem(runs)["failed_starts"].tolist() == [2]
    assert plan(config, store).tasks == []  # stored: a rerun does not hang on it again
    ample = load_bench_config(write(tmp_path, text + "time_limit: 60\nsimulation_time_limit: 60\nseeds: [1]\n",
                                    "ample.yaml"))
    assert run_plan(plan(ample, store), store, "processes", workers=1) == 2
    assert "killed" not in set(store.runs_frame().query("seed == 1")["status"])


def test_shipped_configs_are_valid():
    quick = load_bench_config(REPO / "configs" / "quick.yaml")
    assert quick.model_specs() == SUITES["offline"]
    small = load_bench_config(REPO / "configs" / "biomodels-small.yaml")
    assert len(small.model_specs()) >= 5 and all(m.startswith("BIOMD") for m in small.model_specs())
    online = load_bench_config(REPO / "configs" / "corpus-online.yaml")
    assert len(online.model_specs()) == 162 and all(m.startswith("BIOMD") for m in online.model_specs())
    corpus_folder = REPO.parent / "shared" / "biomodels" / "models"
    if corpus_folder.is_dir():  # configs/corpus.yaml names it relative to the repository
        cwd = os.getcwd()
        try:
            os.chdir(REPO)
            corpus = load_bench_config(REPO / "configs" / "corpus.yaml")
            assert [Path(m).stem for m in corpus.model_specs()] == online.model_specs()
            collection = load_bench_config(REPO / "configs" / "collection.yaml")
            assert len(collection.model_specs()) >= 25 and collection.scale is not None
        finally:
            os.chdir(cwd)


def test_pool_workers_share_the_cores_between_them():
    """torch, MKL and OpenBLAS each size their threads to the whole machine: two workers on two cores, each with
    two spinning threads, ran four surrogate starts in 153 s instead of 12 s. Each worker gets its share."""
    import threadpoolctl
    import torch

    from biobench.running.executors import threads_per_worker, worker_pool

    with worker_pool({}, 2) as pool:
        torch_threads = pool.schedule(torch.get_num_threads).result(timeout=120)
        loaded = pool.schedule(threadpoolctl.threadpool_info).result(timeout=120)
    share = threads_per_worker(2)
    assert torch_threads == share
    assert any(library["user_api"] == "blas" for library in loaded)  # numpy's, loaded with biobench
    assert all(library["num_threads"] <= share for library in loaded)


@pytest.mark.slow
def test_every_executor_gives_the_same_leaderboard(tmp_path):
    config = load_bench_config(write(tmp_path, TINY))
    boards = {}
    for executor in ("serial", "processes", "dask"):
        store = Store(tmp_path / f"{executor}.sqlite")
        bench = plan(config, store)
        assert len(bench.tasks) == 2 * 2 * 2 * 2 * 3
        assert run_plan(bench, store, executor, workers=2) == len(bench.tasks)
        boards[executor] = metrics.per_problem(store.runs_frame())[COMPARED]
        again = plan(config, store)  # a rerun finds everything done
        assert again.tasks == [] and again.skipped == len(bench.tasks)
    assert boards["serial"].equals(boards["processes"])
    assert boards["serial"].equals(boards["dask"])


def test_bench_command_runs_and_resumes(tmp_path):
    config = write(tmp_path, TINY.replace("seeds: [0, 1]", "seeds: [0]") + f"results: {tmp_path / 'r.sqlite'}\n")
    first = CliRunner().invoke(main, ["bench", str(config)])
    assert first.exit_code == 0, first.output
    assert "24 starts: 0 already stored, 24 to run" in first.output and "Across problems" in first.output
    # the follow-up commands it prints read this bench's store, not the default one
    suggested = next(line for line in first.output.splitlines() if "biobench leaderboard" in line)
    board = CliRunner().invoke(main, shlex.split(suggested.split("biobench", 1)[1]) + ["--format", "csv"])
    assert board.exit_code == 0 and "random + local" in board.output, board.output
    second = CliRunner().invoke(main, ["bench", str(config)])
    assert "24 starts: 24 already stored, 0 to run" in second.output
    refused = CliRunner().invoke(main, ["bench", str(config), "--scheduler", "tcp://127.0.0.1:1"])
    assert refused.exit_code != 0 and "--scheduler goes with --executor dask" in refused.output


def _count(db):
    try:
        with sqlite3.connect(db) as conn:
            return conn.execute("select count(*) from runs").fetchone()[0]
    except sqlite3.OperationalError:
        return 0


@pytest.mark.slow
@pytest.mark.parametrize("how", [signal.SIGKILL, signal.SIGINT])
def test_killed_bench_loses_only_starts_in_flight_and_resumes(tmp_path, how):
    db = tmp_path / "killed.sqlite"
    config = write(tmp_path, TINY.replace("budget: 60", "budget: 200") + f"results: {db}\n")
    command = [sys.executable, str(REPO / "cli.py"), "bench", str(config), "--executor", "processes", "--workers", "2"]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    # Ctrl-C as in a terminal: a test run started in the background (bash '&') ignores SIGINT, and a child
    # inherits that, so the driver would finish every start and exit 0.
    proc = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            start_new_session=True, preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and _count(db) < 5 and proc.poll() is None:
        time.sleep(0.05)
    if how == signal.SIGKILL:
        os.killpg(proc.pid, signal.SIGKILL)  # the driver and its workers, at once
    else:
        proc.send_signal(signal.SIGINT)  # Ctrl-C in the driver
    try:
        _, stderr = proc.communicate(timeout=60)
    finally:
        try:
            os.killpg(proc.pid, signal.SIGKILL)  # no worker may outlive the test
        except ProcessLookupError:
            pass
    if how == signal.SIGINT:
        assert proc.returncode == 130 and b"rerun the same command" in stderr

    stored = _count(db)
    assert 5 <= stored < 48, "the bench was supposed to be interrupted midway"
    with sqlite3.connect(db) as conn:
        assert conn.execute("pragma integrity_check").fetchone()[0] == "ok"

    finished = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
    assert finished.returncode == 0, finished.stderr
    assert f"{stored} already stored, {48 - stored} to run" in finished.stdout
    with sqlite3.connect(db) as conn:
        keys = [row[0] for row in conn.execute("select task_key from runs")]
        orphans = conn.execute("select count(*) from runs where (select count(*) from evaluations e where e.run_id = runs.run_id) "
            "!= runs.n_evals")
        assert orphans.fetchone()[0] == 0
    assert len(keys) == len(set(keys)) == 48


@pytest.fixture(scope="module")
def postgres_url(tmp_path_factory):
    from tests.running.bench import postgres

    if not postgres.available():
        pytest.fail("PostgreSQL server binaries (initdb, pg_ctl) are missing: .ci/run installs Debian's "
                    "postgresql package; run it, or 'apt-get install postgresql'.")
    server = postgres.PostgresServer(tmp_path_factory.mktemp("pg") / "cluster")
    url = server.start()
    yield url
    server.stop()


def test_postgres_server_moves_to_another_port_when_its_port_is_taken(tmp_path):
    """Another test session may bind the chosen port first: the server must start anyway, not fail."""
    import socket

    from tests.running.bench import postgres

    if not postgres.available():
        pytest.fail("PostgreSQL server binaries (initdb, pg_ctl) are missing: .ci/run installs them.")
    server = postgres.PostgresServer(tmp_path / "cluster")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        server.port = taken.getsockname()[1]
        url = server.start()
        try:
            assert f":{taken.getsockname()[1]}/" not in url
        finally:
            server.stop()


def test_bench_against_postgresql_with_two_concurrent_drivers(tmp_path, postgres_url):
    """Two drivers share one PostgreSQL store: every start is stored exactly once."""
    config = write(tmp_path, TINY.replace("seeds: [0, 1]", "seeds: [0]"))
    plain = postgres_url.replace("postgresql+psycopg://", "postgresql://")  # as a user types it
    command = [sys.executable, str(REPO / "cli.py"), "bench", str(config), "--results", plain]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    drivers = [subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
               for _ in range(2)]
    for driver in drivers:
        _, stderr = driver.communicate(timeout=600)
        assert driver.returncode == 0, stderr
    store = Store(postgres_url)
    runs = store.runs_frame()
    assert len(runs) == 24 and runs["task_key"].is_unique
    board = metrics.per_problem(runs)
    assert set(board["method"]) == {"random + local", "lhs + local", "random + ga", "lhs + ga"}
    serial = Store(tmp_path / "serial.sqlite")
    run_plan(plan(load_bench_config(config), serial), serial)
    assert metrics.per_problem(serial.runs_frame())[COMPARED].equals(board[COMPARED])


def test_drivers_writing_the_same_features_and_refusals_at_once_do_not_fail(postgres_url):
    """Two drivers measure the same problem's features (or refuse the same model) at once: a replace of one
    row is delete + insert, and the second insert of a key used to fail the whole bench on the unique key."""
    from concurrent.futures import ThreadPoolExecutor

    stores = [Store(postgres_url) for _ in range(4)]

    def write(i: int) -> None:
        store = stores[i % 4]
        for j in range(25):
            store.set_features(f"race-{j}", "p", "m", {"writer": float(i)})
            store.set_refusal(f"race-model-{j}", f"refused by {i}")

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(write, range(4)))  # re-raises a writer's error
    frame = stores[0].features_frame()
    assert sorted(frame["problem_key"][frame["problem_key"].str.startswith("race-")]) == \
        sorted(f"race-{j}" for j in range(25))
    refused = stores[0].refusals_frame()
    assert refused["model_spec"].str.startswith("race-model-").sum() == 25


@pytest.mark.slow
def test_a_killed_worker_is_reported_and_the_rerun_finishes(tmp_path):
    db = tmp_path / "worker.sqlite"
    config = write(tmp_path, TINY.replace("budget: 60", "budget: 200") + f"results: {db}\n")
    command = [sys.executable, str(REPO / "cli.py"), "bench", str(config), "--executor", "processes", "--workers", "2"]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and _count(db) < 3 and proc.poll() is None:
            time.sleep(0.05)
        # One worker dies, as under the OOM killer. A worker killed between two starts is replaced by the pool
        # without a loss (nothing to report), so kill one every 0.3 s until one dies inside a start.
        kills = 0
        while proc.poll() is None and time.monotonic() < deadline:
            workers = subprocess.run(["pgrep", "-P", str(proc.pid), "-f", "spawn_main"], capture_output=True,
                                     text=True).stdout.split()
            if workers:
                os.kill(int(workers[0]), signal.SIGKILL)
                kills += 1
            time.sleep(0.3)
        assert kills, "the pool's workers should be running"
        _, stderr = proc.communicate(timeout=120)
    finally:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    assert proc.returncode != 0 and "a worker process died" in stderr and "Traceback" not in stderr
    finished = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
    assert finished.returncode == 0, finished.stderr
    with sqlite3.connect(db) as conn:
        keys = [row[0] for row in conn.execute("select task_key from runs")]
    assert len(keys) == len(set(keys)) == 48


@pytest.mark.parametrize("executor", ["serial", "processes", pytest.param("dask", marks=pytest.mark.slow)])
def test_a_start_that_raises_is_reported_not_lost(executor, two_step_problem, tmp_path):
    """A worker that cannot run a start (here: its optimizer is unknown there) must stop the bench with the
    error, never yield fewer records as if the start had not existed."""
    import dataclasses

    from biobench.errors import PluginError
    from biobench.method_spec import MethodSpec
    from biobench.running.executors import run_tasks
    from biobench.running.runner import prepare_starts

    tasks, _, _ = prepare_starts(two_step_problem, "random", "local", n_starts=3, budget=20, seed=0,
                                 store=Store(tmp_path / "raising.sqlite"))
    vanished = MethodSpec("optimizer", "vanished", {})  # a spec the worker's registry cannot build
    broken = dataclasses.replace(tasks[1], optimizer=vanished,
                                 start=dataclasses.replace(tasks[1].start, optimizer="vanished"))
    records = []
    with pytest.raises(PluginError, match="vanished"):
        for record in run_tasks([tasks[0], broken, tasks[2]], {two_step_problem.key: two_step_problem}, executor,
                                workers=1):
            records.append(record)
    assert len(records) < 3
