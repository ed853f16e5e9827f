"""``biobench collection check``: references met on both engines, and a better value reported only when both agree."""

from __future__ import annotations

import io
import math
import shutil

import pandas as pd
import pytest
from click.testing import CliRunner

from biobench.analysis.collection import ProblemCheck, check_collection
from biobench.commands import main
from biobench.petab.exporter import export_problem
from biobench.running.runner import run_starts
from biobench.running.store import Store
from tests.conftest import DATA

pytest.importorskip("amici", reason="the amici engine needs AMICI (pip install -e '.[test]' builds it)")


@pytest.fixture(scope="module")
def collection(tmp_path_factory, two_step_problem):
    """Boehm (published, with a reference) and the two-step synthetic problem exported as PEtab (its nominal point
    is not its optimum: the data are noisy), in Benchmark-Models-PEtab's layout."""
    folder = tmp_path_factory.mktemp("collection")
    shutil.copytree(DATA / "benchmark_models_petab" / "Boehm_JProteomeRes2014", folder / "Boehm_JProteomeRes2014")
    export_problem(two_step_problem, folder / "two_step")
    (folder / "refs.tsv").write_text("problem\tfval_nominal_ref\tsource\n"
                                     "Boehm_JProteomeRes2014\t138.22199970618027\tthe collection\n")
    return folder


def test_both_engines_meet_the_reference_and_a_better_fit_is_confirmed(collection, shared_cache, tmp_path):
    from biobench.petab import load_petab_problem

    two_step = load_petab_problem(next((collection / "two_step").glob("*.yaml")))
    store = Store(tmp_path / "runs.sqlite")
    run_starts(two_step, "random", "local", n_starts=2, budget=200, seed=0, store=store)
    checks = {c.problem: c for c in check_collection(collection, ["roadrunner", "amici"], store.runs_frame(),
                                                     say=lambda _: None)}
    boehm = checks["Boehm_JProteomeRes2014"]
    assert all(abs(boehm.fval[e] - boehm.reference) < 1e-6 * boehm.reference for e in ("roadrunner", "amici"))
    fitted = checks["two_step"]
    assert math.isnan(fitted.reference) and fitted.best < min(fitted.fval.values())  # the fit beats nominal
    assert fitted.new_best_known().endswith("engines agree)")  # and AMICI gives it at the same point

    board = CliRunner().invoke(main, ["collection", "check", str(collection), "--results",
                                      str(tmp_path / "runs.sqlite"), "--format", "csv"])
    assert board.exit_code == 0, board.output
    frame = pd.read_csv(io.StringIO(board.stdout))  # progress goes to stderr
    assert list(frame["problem"]) == ["Boehm_JProteomeRes2014", "two_step"]
    assert frame.loc[0, "amici vs reference"] < 1e-6 and frame.loc[1, "new best known"].endswith("engines agree)")
    # written to the store: the problem's target in leaderboards from now on
    confirmed = Store(tmp_path / "runs.sqlite").problems_frame().set_index("problem_key")["f_confirmed"]
    assert confirmed[two_step.key] == pytest.approx(fitted.best)
    from biobench.report import build_report

    page = build_report(str(tmp_path / "runs.sqlite"), tmp_path / "report").read_text()
    section = page.split("<h2>Better than published, confirmed</h2>")[1].split("<h2>")[0]
    assert f"{fitted.best:.6g}" in section and "fval on amici" in section and "fval on roadrunner" in section


def test_an_engine_failing_at_the_problems_tolerances_is_asked_at_looser_ones(collection, shared_cache, tmp_path):
    """Chen on roadrunner in small: 100 steps per output interval are too few at rtol 1e-12 (and, with no
    non-stiff retry, the simulation fails), enough at 1e-6; the value comes with the engine named."""
    from biobench.settings import IntegratorSettings

    tight = IntegratorSettings(relative_tolerance=1e-12, absolute_tolerance=1e-14, maximum_num_steps=100,
                               retry_non_stiff=False)
    (check,) = check_collection(collection, ["roadrunner", "amici"], only=["two_step"], say=lambda _: None,
                                integrator=tight)
    assert check.loosened == {"roadrunner"} and "roadrunner" not in check.problems
    assert check.fval["roadrunner"] == pytest.approx(check.fval["amici"], rel=1e-4)
    assert "roadrunner (rtol 1e-06, atol 1e-06)" in check.row(["roadrunner", "amici"])["looser tolerances"]
    (default,) = check_collection(collection, ["roadrunner"], only=["two_step"], say=lambda _: None)
    assert default.loosened == set()


def test_a_value_one_engine_does_not_give_is_not_a_new_best():
    check = ProblemCheck("p", fval={"roadrunner": 10.0, "amici": 10.0}, best=5.0,
                         confirmed={"roadrunner": 5.0, "amici": 7.0})
    assert check.new_best_known() == "not confirmed: roadrunner 5, amici 7"
    assert ProblemCheck("p", fval={"roadrunner": 10.0}, best=10.0).new_best_known() == ""  # not below nominal
