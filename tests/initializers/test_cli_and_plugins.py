"""`biobench starts`, `run --init ...`, and third-party plugins through entry points."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from biobench.commands import main
from tests.conftest import DATA, REPO

TWO_STEP = str(DATA / "two_step.xml")


def test_starts_prints_scaled_points_per_parameter():
    result = CliRunner().invoke(main, ["starts", "--model", TWO_STEP, "--init", "mjs", "-n", "4", "--format", "csv"])
    assert result.exit_code == 0, result.output
    frame = pd.read_csv(io.StringIO(result.output))
    assert list(frame.columns) == ["log10(k1)", "log10(R2_k2)"] and len(frame) == 4


def test_starts_shows_what_run_uses(tmp_path):
    shown = CliRunner().invoke(main, ["starts", "--model", TWO_STEP, "--init", "lhs", "-n", "3", "--seed", "2",
                                      "--format", "json"])
    store = str(tmp_path / "r.sqlite")
    ran = CliRunner().invoke(main, ["run", "--model", TWO_STEP, "--init", "lhs", "--starts", "3", "--seed", "2",
                                    "--budget", "20", "--results", store])
    assert ran.exit_code == 0, ran.output
    stored = json.loads(CliRunner().invoke(main, ["runs", "--results", store, "--format", "json"]).output)
    np.testing.assert_allclose([r["x0_scaled"] for r in stored], [list(p.values()) for p in json.loads(shown.output)])


@pytest.mark.parametrize("name", ["lhs", "lhs-opt", "mjs", "sobol"])
def test_run_works_with_each_initializer(tmp_path, name):
    result = CliRunner().invoke(main, ["run", "--model", TWO_STEP, "--init", name, "--starts", "4", "--budget", "40",
                                       "--results", str(tmp_path / "r.sqlite")])
    assert result.exit_code == 0, result.output
    assert f"{name} + local" in result.output


def test_run_with_starts_file_and_init_option(tmp_path):
    guesses = tmp_path / "g.csv"
    guesses.write_text("k1,R2_k2\n0.5,0.2\n")
    store = str(tmp_path / "r.sqlite")
    result = CliRunner().invoke(main, ["run", "--model", TWO_STEP, "--init", "mjs", "--init-option", "correlated=false",
                                       "--starts", "3", "--budget", "30", "--starts-file", str(guesses),
                                       "--results", store])
    assert result.exit_code == 0, result.output
    stored = json.loads(CliRunner().invoke(main, ["runs", "--results", store, "--format", "json"]).output)
    np.testing.assert_allclose(stored[0]["x0_scaled"], np.log10([0.5, 0.2]))


def test_bad_init_option_is_named():
    result = CliRunner().invoke(main, ["starts", "--model", TWO_STEP, "--init", "lhs", "--init-option", "optimization=x"])
    assert result.exit_code != 0 and "optimization must be one of" in result.output


PLUGIN = '''
"""A third-party initializer: every start at the lower corner plus a seeded nudge."""
import numpy as np
from biobench.initializers import Initializer


class CornerInitializer(Initializer):
    description = "starts near the lower corner (test plugin)"

    def sample(self, problem, n_starts, rng):
        span = problem.upper - problem.lower
        return problem.lower + 0.1 * span * rng.random((n_starts, problem.n_parameters))
'''


def test_third_party_initializer_registers_through_an_entry_point(tmp_path):
    """An installed distribution (a dist-info with entry_points.txt on the path) adds --init corner."""
    (tmp_path / "corner_plugin.py").write_text(textwrap.dedent(PLUGIN))
    dist = tmp_path / "corner_plugin-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: corner-plugin\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text("[biobench.initializers]\ncorner = corner_plugin:CornerInitializer\n")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), str(REPO)])}

    listing = subprocess.run([sys.executable, str(REPO / "cli.py"), "plugins"], env=env, capture_output=True,
                             text=True, timeout=120)
    assert listing.returncode == 0, listing.stderr
    assert "corner" in listing.stdout and "test plugin" in listing.stdout

    store = tmp_path / "r.sqlite"
    run = subprocess.run([sys.executable, str(REPO / "cli.py"), "run", "--model", TWO_STEP, "--init", "corner",
                          "--starts", "3", "--budget", "30", "--results", str(store)],
                         env=env, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert "corner + local" in run.stdout
