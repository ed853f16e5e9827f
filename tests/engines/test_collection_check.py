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


def test_a_better_point_found_elsewhere_is_confirmed_and_becomes_the_target(collection, shared_cache, tmp_path):
    """A point from another tool, as PEtab's parameter table with nominalValue replaced: below the best stored
    start and given by both engines, it is confirmed, written to the store and names its file; a stored start
    further up no longer counts as converged."""
    from biobench.analysis import metrics
    from biobench.petab import load_petab_problem

    two_step = load_petab_problem(next((collection / "two_step").glob("*.yaml")))
    store = Store(tmp_path / "runs.sqlite")
    run_starts(two_step, "random", "local", n_starts=1, budget=4, seed=0, store=store)  # stops far from the optimum
    elsewhere = Store(tmp_path / "elsewhere.sqlite")
    run_starts(two_step, "random", "local", n_starts=1, budget=400, seed=1, store=elsewhere)
    found = elsewhere.runs_frame().iloc[0]
    table = pd.read_csv(next((collection / "two_step").glob("parameters*.tsv")), sep="\t")
    natural = dict(zip(two_step.parameter_ids, two_step.to_natural(found["x_best"])))
    table["nominalValue"] = [natural.get(pid, value) for pid, value in zip(table["parameterId"], table["nominalValue"])]
    point = tmp_path / "best.tsv"
    table.to_csv(point, sep="\t", index=False)
    stored_best = float(store.runs_frame()["fval_best"].iloc[0])
    assert found["fval_best"] < stored_best - 1.0

    out = CliRunner().invoke(main, ["collection", "check", str(collection), "--problem", "two_step", "--point",
                                    f"two_step={point}", "--results", str(tmp_path / "runs.sqlite"), "--format", "csv"])
    assert out.exit_code == 0, out.output
    row = pd.read_csv(io.StringIO(out.stdout)).iloc[0]
    assert row["found at"] == str(point) and row["new best known"].endswith("engines agree)")
    assert row["best value"] == pytest.approx(found["fval_best"], rel=1e-6)
    problems = Store(tmp_path / "runs.sqlite").problems_frame().set_index("problem_key")
    assert problems.loc[two_step.key, "f_confirmed"] == pytest.approx(found["fval_best"], rel=1e-6)
    assert str(point) in problems.loc[two_step.key, "confirmed_by"]
    board = metrics.per_problem(Store(tmp_path / "runs.sqlite").runs_frame())
    assert board["converged"].sum() == 0  # the stored start is the best stored, but not the best known


def test_a_point_option_is_checked_before_anything_is_simulated(collection, tmp_path):
    def check(*point):
        return CliRunner().invoke(main, ["collection", "check", str(collection), "--point", *point])

    unknown = check("two_stpe=x.tsv")
    assert unknown.exit_code == 2 and "did you mean 'two_step'" in unknown.output
    assert "did you mean 'two_step'" in check("two=x.tsv").output  # the start of a problem's name
    assert "no such file" in check(f"two_step={tmp_path / 'absent.tsv'}").output
    (tmp_path / "plain.tsv").write_text("id\tvalue\nk1\t1\n")
    assert "not a PEtab parameter table" in check(f"two_step={tmp_path / 'plain.tsv'}").output
    assert "give PROBLEM=PARAMETERS.tsv" in check("best.tsv").output


def test_a_point_lacking_a_parameter_or_outside_the_bounds_is_refused_by_name(collection, tmp_path):
    from biobench.analysis.collection import read_point
    from biobench.errors import BiobenchError
    from biobench.petab import load_petab_problem

    two_step = load_petab_problem(next((collection / "two_step").glob("*.yaml")))
    table = pd.read_csv(next((collection / "two_step").glob("parameters*.tsv")), sep="\t")
    estimated = table[table["parameterId"].isin(two_step.parameter_ids)]
    nominal_point = read_point(next((collection / "two_step").glob("parameters*.tsv")), two_step)
    assert nominal_point == pytest.approx(two_step.x_true)  # the published table is the nominal point
    short = tmp_path / "short.tsv"
    table[table["parameterId"] != estimated["parameterId"].iloc[0]].to_csv(short, sep="\t", index=False)
    with pytest.raises(BiobenchError, match="no value for 1 estimated parameter"):
        read_point(short, two_step)
    far = tmp_path / "far.tsv"
    table.assign(nominalValue=table["nominalValue"] * 1e9).to_csv(far, sep="\t", index=False)
    with pytest.raises(BiobenchError, match="outside the problem's bounds"):
        read_point(far, two_step)
