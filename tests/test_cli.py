"""The command line, as a user types it."""

from __future__ import annotations

import io
import json
import re
import math

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from biobench.commands import main
from tests.conftest import DATA

TWO_STEP = str(DATA / "two_step.xml")


def invoke(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def test_run_then_runs_in_every_format(tmp_path):
    store = str(tmp_path / "r.sqlite")
    result = invoke("run", "--model", TWO_STEP, "--starts", "3", "--budget", "80", "--results", store)
    assert result.exit_code == 0, result.output
    assert "fval at the true parameters" in result.output and "converged starts" in result.output
    assert "two_step: random + local, seed 0" in result.output  # titled by the model, its only problem here

    as_csv = invoke("runs", "--results", store, "--format", "csv")
    frame = pd.read_csv(io.StringIO(as_csv.output))
    assert len(frame) == 3 and {"x0_scaled", "x_best_scaled", "fval_best", "n_evals"} <= set(frame.columns)
    assert len(json.loads(frame["x_best_scaled"].iloc[0])) == 2

    invoke("runs", "--results", store, "--format", "parquet", "--out", str(tmp_path / "runs.parquet"))
    parquet = pd.read_parquet(tmp_path / "runs.parquet")
    assert list(parquet["parameter_ids"].iloc[0]) == ["k1", "R2_k2"]  # lists, not JSON text
    assert list(parquet["x_best_scaled"].iloc[0]) == pytest.approx(json.loads(frame["x_best_scaled"].iloc[0]))

    as_json = json.loads(invoke("runs", "--results", store, "--format", "json").output)
    assert len(as_json) == 3 and as_json[0]["initializer"] == "random" and as_json[0]["optimizer"] == "local"

    table = invoke("runs", "--results", store, "--model", "two_step")
    assert table.exit_code == 0 and "two_step" in table.output

    # the fitted values of the best start, per parameter id, in natural units (the store keeps log10 values)
    fitted = pd.read_csv(io.StringIO(invoke("runs", "--results", store, "--params", "--format", "csv").output))
    best = frame.loc[frame["fval_best"].idxmin()]
    assert list(fitted["parameter"]) == ["k1", "R2_k2"] and set(fitted["run_id"]) == {best["run_id"]}
    np.testing.assert_allclose(np.log10(fitted["estimate"]), json.loads(best["x_best_scaled"]), rtol=1e-12)
    assert (fitted["lower"] < fitted["nominal"]).all() and (fitted["nominal"] < fitted["upper"]).all()
    assert "estimate" in invoke("runs", "--results", store, "--params").output


def test_run_header_states_the_evaluations_each_method_really_uses(tmp_path):
    store = str(tmp_path / "r.sqlite")
    result = invoke("run", "--model", TWO_STEP, "--opt", "bo", "--starts", "1", "--budget", "500",
                    "--opt-option", "max_evals=12", "--opt-option", "n_initial=4", "--opt-option", "polish=none",
                    "--results", store)
    assert result.exit_code == 0, result.output
    flat = " ".join(result.output.split())  # rich wraps long lines
    assert "1 start x 12 evaluations (bo stops at max_evals 12; budget 500)" in flat
    assert pd.read_sql("select n_evals from runs", f"sqlite:///{store}")["n_evals"].tolist() == [12]
    plain = invoke("run", "--model", TWO_STEP, "--starts", "1", "--budget", "30", "--results", store)
    assert "1 start x 30 evaluations, seed" in " ".join(plain.output.split())  # the budget is what it uses
    pilot = invoke("run", "--model", TWO_STEP, "--init", "cvae", "--starts", "2", "--budget", "30", "--results", store,
                   "--init-option", "pilot=16", "--init-option", "trials=1", "--init-option", "max_epochs=3",
                   "--init-option", "diagnostic_samples=2")
    flat = " ".join(pilot.output.split())
    assert "plus cvae's pilot of 22 evaluations" in flat  # 16 pilot + 2 x 3 diagnostic bands
    assert re.search(r"pilot evaluations of cvae \(charged to it\)\W+22\b", flat)  # what the summary charged
    # Not a terminal: the slow preparation is reported in plain lines, a few per stage.
    assert "cvae: pilot evaluations: 1/16" in pilot.output and "cvae: pilot evaluations: 16/16" in pilot.output
    assert pilot.output.count("cvae: pilot evaluations") == 5 and "cvae: training, trial 1 of 1 (epochs): 1/3" in flat


def test_run_with_config_file(tmp_path):
    config = tmp_path / "c.yaml"
    config.write_text("starts: 2\nbudget: 40\nseed: 4\nproblem:\n  time: {end: 10, n: 6}\n")
    store = str(tmp_path / "r.sqlite")
    result = invoke("run", "--model", TWO_STEP, "--config", str(config), "--results", store, "--opt", "lbfgsb",
                    "--opt-option", "gtol=1e-5")
    assert result.exit_code == 0, result.output
    runs = json.loads(invoke("runs", "--results", store, "--format", "json").output)
    assert len(runs) == 2 and {r["seed"] for r in runs} == {4} and all(r["n_evals"] <= 40 for r in runs)


def test_a_time_limit_ends_each_start_and_says_so(tmp_path):
    config = tmp_path / "c.yaml"
    config.write_text("time_limit: 1.0e-6\nproblem:\n  time: {end: 10, n: 6}\n")  # in a run config as in bench's
    store = str(tmp_path / "r.sqlite")
    result = invoke("run", "--model", TWO_STEP, "--config", str(config), "--results", store, "--starts", "2")
    assert result.exit_code == 0, result.output
    runs = json.loads(invoke("runs", "--results", store, "--format", "json").output)
    assert all("time limit of 1e-06 s per start" in r["message"] and r["n_evals"] <= 2 for r in runs)
    result = invoke("run", "--model", TWO_STEP, "--config", str(config), "--results", str(tmp_path / "s.sqlite"),
                    "--starts", "1", "--time-limit", "1e-6")
    assert "at most 1e-06 s each" in result.output


def test_a_run_config_names_its_engine_and_a_wrong_one_is_refused_before_any_work(tmp_path):
    config = tmp_path / "c.yaml"
    config.write_text("engine: amcii\n")
    result = CliRunner().invoke(main, ["run", "--model", "BIOMD9999999999", "--config", str(config)])
    assert result.exit_code != 0 and "Did you mean 'amici'" in result.output and "Traceback" not in result.output


@pytest.mark.parametrize("command", [["leaderboard"], ["runs"], ["report"], ["recommend", "--model", "BIOMD12"]])
def test_a_command_that_reads_results_refuses_a_store_that_is_not_there(command, tmp_path):
    missing = tmp_path / "misspelt.sqlite"
    result = CliRunner().invoke(main, [*command, "--results", str(missing)])
    assert result.exit_code != 0 and "no results store at" in result.output
    assert not missing.exists()  # and no empty store is left under the wrong name


def test_problem_json_describes_parameters_and_objective():
    result = invoke("problem", "--model", TWO_STEP, "--format", "json")
    info = json.loads(result.output)
    assert [p["id"] for p in info["parameters"]] == ["k1", "R2_k2"]
    assert info["parameters"][0] | {"nominal": 0.5, "scale": "log10"} == info["parameters"][0]
    # one unit per key: natural bounds beside the natural nominal value, scaled ones named as such
    k1 = info["parameters"][0]
    assert k1["lower"] < k1["nominal"] < k1["upper"] and k1["lower"] == pytest.approx(0.005)
    assert k1["nominal_scaled"] == pytest.approx(math.log10(0.5)) and k1["upper_scaled"] == pytest.approx(math.log10(50))
    table = invoke("problem", "--model", TWO_STEP).output
    assert "natural units" in table and "0.005" in table
    assert info["observables"] == ["A", "B", "C"] and info["n_data"] == 153
    assert info["fval_nominal"] < 1e6


def test_problem_table_for_the_offline_default(tmp_path):
    result = CliRunner().invoke(main, ["problem", "--model", "BIOMD12"])
    assert result.exit_code == 0, result.output
    assert "offline copy" in result.output  # the notice, on stderr, is part of CliRunner's output
    assert "tau_prot" in result.output and "objective (negative log-likelihood)" in result.output


def test_fetch_and_models_list_the_cache():
    assert invoke("fetch", "BIOMD12", "BIOMD507").exit_code == 0
    listing = json.loads(invoke("models", "--format", "json").output)
    assert [m["id"] for m in listing] == ["BIOMD0000000012", "BIOMD0000000507"]
    assert listing[0]["species"] == 6 and listing[0]["estimable_parameters"] == 7
    assert listing[0]["source"].startswith("offline copy")
    assert "Repressilator" in invoke("models").output


def test_user_errors_are_one_line_not_tracebacks(tmp_path):
    cases = [
        (["fetch", "../../etc/passwd"], "is not a BioModels identifier"),
        (["run", "--model", "nonsense"], "neither a BioModels ID"),
        (["run", "--model", TWO_STEP, "--opt", "simplex"], "unknown optimizer 'simplex'"),
        (["run", "--model", TWO_STEP, "--init", "grid"], "unknown initializer 'grid'"),
        (["run", "--model", TWO_STEP, "--opt-option", "ftol"], "expected KEY=VALUE"),
        (["problem", "--model", str(DATA / "broken.xml")], "not valid SBML"),
        (["problem", "--model", TWO_STEP, "--config", str(tmp_path / "none.yaml")], "no such configuration file"),
    ]
    for args, message in cases:
        result = CliRunner().invoke(main, args)
        assert result.exit_code != 0, args
        assert message in result.output, (args, result.output)
        assert "Traceback" not in result.output


@pytest.mark.parametrize("args, message", [
    (["run", "--opt", "simplex"], "unknown optimizer 'simplex'"),
    (["run", "--init", "grid"], "unknown initializer 'grid'"),
    (["run", "--opt-option", "bogus=1"], "has no option(s) ['bogus']"),
    (["run", "--init", "lhs", "--init-option", "optimization=lloyd"], "optimization must be one of"),
    (["starts", "--init", "grid"], "unknown initializer 'grid'"),
])
def test_method_names_and_options_are_checked_before_the_model_is_fetched(args, message):
    """BIOMD0000000999 cannot be fetched here (no network, no offline copy): the method error must come first,
    with no header or progress bar before it."""
    result = CliRunner().invoke(main, [args[0], "--model", "BIOMD0000000999", *args[1:]])
    assert result.exit_code != 0
    assert message in result.output and "could not be reached" not in result.output, result.output
    assert result.output.strip().count("\n") == 0  # one line: nothing printed before the error


def test_plugins_lists_methods_with_options():
    output = invoke("plugins").output
    assert "random" in output and "local" in output and "lbfgsb" in output and "ftol" in output


def test_method_options_from_config_and_mcmc_extras(tmp_path):
    config = tmp_path / "c.yaml"
    config.write_text("starts: 1\nbudget: 60\noptions:\n  mcmc: {chains: 2}\n  lhs: {optimization: random-cd}\n")
    store = tmp_path / "r.sqlite"
    result = invoke("run", "--model", TWO_STEP, "--config", str(config), "--init", "lhs", "--opt", "mcmc",
                    "--results", str(store))
    assert result.exit_code == 0, result.output
    (row,) = json.loads(invoke("runs", "--results", str(store), "--format", "json").output)
    assert row["opt_options"]["chains"] == 2 and row["n_evals"] <= 60
    posterior = row["extras"]["posterior"]
    assert len(posterior["mean"]) == 2 and len(posterior["r_hat"]) == 2
    import numpy as np

    samples = np.load(row["extras"]["samples"])["theta"]
    assert samples.shape[0] == 2 and samples.shape[2] == 2
    assert str(tmp_path) in row["extras"]["samples"]

