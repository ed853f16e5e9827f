"""A PEtab problem from the command line: describe, run with several methods, leaderboard, bench."""

from __future__ import annotations

import json

from tests.conftest import PETAB_TWO_STEP
from tests.test_cli import invoke


def test_problem_describes_conditions_observables_and_measurements():
    result = invoke("problem", "--model", str(PETAB_TWO_STEP))
    assert result.exit_code == 0, result.output
    for text in ("3 simulations, 16 measurements", "c_pre", "laplace", "log10", "noiseParameter1_obs_B"):
        assert text in result.output
    described = json.loads(invoke("problem", "--model", str(PETAB_TWO_STEP), "--format", "json").output)
    assert described["petab"]["n_measurements"] == 16 and len(described["parameters"]) == 5


def test_run_methods_then_leaderboard(tmp_path):
    store = str(tmp_path / "r.sqlite")
    for init, opt in (("lhs", "local"), ("sobol", "ga")):
        result = invoke("run", "--model", str(PETAB_TWO_STEP), "--init", init, "--opt", opt, "--starts", "2",
                        "--budget", "60", "--results", store)
        assert result.exit_code == 0, result.output
        # a PEtab table's nominal values are a reference, not the truth synthetic data come from
        assert "fval at the nominal parameters (not a truth)" in result.output
        assert "true parameters" not in result.output
    board = invoke("leaderboard", "--results", store, "--format", "csv")
    assert "lhs + local" in board.output and "sobol + ga" in board.output


def test_bench_config_mixes_biomodels_and_petab(tmp_path):
    config = tmp_path / "bench.yaml"
    config.write_text(f"models: [{PETAB_TWO_STEP}, {PETAB_TWO_STEP.parent.parent / 'two_step.xml'}]\n"
                      "initializers: [random]\noptimizers: [local]\nseeds: [0]\nstarts: 2\nbudget: 40\n")
    result = invoke("bench", str(config), "--results", str(tmp_path / "b.sqlite"))
    assert result.exit_code == 0, result.output
    runs = json.loads(invoke("runs", "--results", str(tmp_path / "b.sqlite"), "--format", "json").output)
    assert {r["model_id"] for r in runs} == {"petab_two_step", "two_step"} and len(runs) == 4
