"""Model features: each one measured on a model whose answer is known, stored, and shown by the command."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from click.testing import CliRunner

from biobench.analysis.features import model_structure, problem_features
from biobench.commands import main
from biobench.models import load_model
from biobench.problem import build_problem
from biobench.running.store import Store
from biobench.settings import ProblemSettings, TimeSettings
from biobench.testing import decay_model_sbml
from tests.conftest import DATA


@pytest.fixture(scope="module")
def decays(tmp_path_factory):
    """Seven independent decays with rates 0.1 .. 0.7: the Jacobian is diag(-k), nothing oscillates."""
    path = tmp_path_factory.mktemp("decays") / "decays7.xml"
    path.write_text(decay_model_sbml(7))
    return build_problem(load_model(path), ProblemSettings(time=TimeSettings(end=10, n=11)))


def test_structure_is_counted_from_the_sbml(decays):
    assert model_structure(decays.model.sbml) == {"species": 7, "boundary_species": 0, "reactions": 7, "events": 0,
                                                  "rate_rules": 0, "assignment_rules": 0, "compartments": 1}


def test_problem_size_stiffness_and_no_oscillation_on_decays(decays):
    f = problem_features(decays, probes=8)
    assert (f["parameters"], f["observables"], f["data_points"], f["conditions"]) == (7, 7, 77, 1)
    assert f["data_per_parameter"] == pytest.approx(11)
    assert f["stiffness_decades"] == pytest.approx(math.log10(0.7 / 0.1), rel=1e-6)  # eigenvalues -k_i
    assert f["fastest_timescale"] == pytest.approx(1 / 0.7, rel=1e-6)
    assert f["oscillating"] == 0 and f["trajectory_peaks"] == 0
    assert f["integrator_steps"] >= 1 and f["seconds_per_simulation"] > 0
    # the data decay from 1..5 to exp(-k t) of that: a known number of decades per observable
    exp = decays.experiments
    expected = np.median([np.log10(np.abs(exp.measured[exp.observable_index == k]).max()
                                   / np.abs(exp.measured[exp.observable_index == k]).min()) for k in range(7)])
    assert f["data_decades"] == pytest.approx(expected)


def test_the_repressilator_oscillates(repressilator_problem):
    f = problem_features(repressilator_problem, probes=0)
    assert f["oscillating"] == 1 and f["trajectory_peaks"] >= 3
    assert "probe_failed_share" not in f  # no probe asked for


def test_landscape_probe_is_seeded_and_counts_failures(two_step_problem):
    a, b = problem_features(two_step_problem, probes=16, seed=3), problem_features(two_step_problem, probes=16, seed=3)
    assert a["probe_fval_decades"] == b["probe_fval_decades"] and a["probe_failed_share"] == 0.0
    assert a["probe_points"] == 16
    assert problem_features(two_step_problem, probes=16, seed=4)["probe_fval_decades"] != a["probe_fval_decades"]


def test_features_are_stored_and_replaced(tmp_path, two_step_problem):
    store = Store(tmp_path / "f.sqlite")
    store.set_features(two_step_problem.key, two_step_problem.problem_id, "two_step", {"species": 2, "x": float("nan")})
    store.set_features(two_step_problem.key, two_step_problem.problem_id, "two_step", {"species": 3, "x": 1.5})
    frame = store.features_frame()
    assert len(frame) == 1 and frame.loc[0, "species"] == 3 and frame.loc[0, "x"] == 1.5
    store.set_features("other", "other:1", "m", {"species": 1, "x": float("nan")})
    assert np.isnan(store.features_frame().set_index("problem_key").loc["other", "x"])  # NaN survives as NaN


def test_the_command_measures_stores_and_prints(tmp_path):
    results = str(tmp_path / "r.sqlite")
    runner = CliRunner()
    out = runner.invoke(main, ["features", "--model", str(DATA / "two_step.xml"), "--results", results,
                               "--probes", "4", "--format", "json"])
    assert out.exit_code == 0, out.output
    shown = json.loads(out.output)["features"]
    stored = Store(results).features_frame().iloc[0]
    assert shown["species"] == stored["species"] == 3 - shown["boundary_species"]
    table = runner.invoke(main, ["features", "--model", str(DATA / "two_step.xml"), "--results", results])
    assert table.exit_code == 0 and "Jacobian eigenvalue spread" in table.output
    bad = runner.invoke(main, ["features", "--model", str(DATA / "two_step.xml"), "--probes", "-1"])
    assert bad.exit_code != 0 and "-1" in bad.output


def test_steady_states_of_a_petab_problem_are_counted(petab_problem):
    f = problem_features(petab_problem, probes=0)
    assert (f["conditions"], f["preequilibrated_conditions"], f["steady_state_conditions"]) == (3, 1, 0)
