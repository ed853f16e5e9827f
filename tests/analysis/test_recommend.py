"""The recommender: learns from a real (small) benchmarked with features, explains itself, is evaluated honestly."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

from biobench.analysis.recommend import (Recommender, best_method_stability, held_out_sentence, held_out_summary,
                                         leave_one_model_out, performance_table)
from biobench.commands import main
from biobench.errors import StoreError
from biobench.running.bench import plan, run_plan
from biobench.running.bench_config import load_bench_config
from biobench.running.store import Store
from biobench.testing import decay_model_sbml, quadratic_model_sbml
from tests.conftest import DATA


@pytest.fixture(scope="module")
def benchmarked(tmp_path_factory):
    """Four small real models, two methods that differ: a bench that measures features as it builds problems."""
    folder = tmp_path_factory.mktemp("suite")
    (folder / "decays3.xml").write_text(decay_model_sbml(3))
    (folder / "decays6.xml").write_text(decay_model_sbml(6))
    (folder / "quadratic4.xml").write_text(quadratic_model_sbml(4))
    (folder / "two_step.xml").write_text((DATA / "two_step.xml").read_text())
    config = folder / "bench.yaml"
    config.write_text(f"models: ['dir:{folder}']\ninitializers: [lhs]\noptimizers: [local, {{ga: {{pop_size: 8}}}}]\n"
                      "starts: 3\nbudget: 60\nproblem: {time: {end: 10, n: 6}}\n")
    store = Store(folder / "bench.sqlite")
    run_plan(plan(load_bench_config(config), store), store)
    return store


def test_performance_ranks_every_method_on_every_problem(benchmarked):
    table = performance_table(benchmarked.runs_frame())
    assert len(table) == 4 * 2 and set(table["method"]) == {"lhs + local", "lhs + ga"}
    for _, here in table.groupby("problem_key"):
        assert sorted(here["rank"]) in ([1.0, 2.0], [1.5, 1.5]) and here["normalised_rank"].between(0, 1).all()


def test_a_benchmarked_model_is_its_own_nearest_neighbour_and_gets_its_best_method(benchmarked):
    recommender = Recommender.from_store(benchmarked, k=1)
    table = performance_table(benchmarked.runs_frame())
    for key in recommender.problems:
        ranked, neighbours = recommender.recommend(recommender.features.loc[key].to_dict())
        assert neighbours.loc[0, "problem_key"] == key and neighbours.loc[0, "distance"] == pytest.approx(0, abs=1e-9)
        best = table[(table["problem_key"] == key) & (table["rank"] == table[table["problem_key"] == key]["rank"].min())]
        assert ranked.loc[0, "method"] in set(best["method"])


def test_leave_one_model_out_never_sees_the_held_out_model(benchmarked):
    recommender = Recommender.from_store(benchmarked, k=2)
    key = recommender.problems[0]
    _, neighbours = recommender.recommend(recommender.features.loc[key].to_dict(), exclude=key)
    assert key not in set(neighbours["problem_key"]) and len(neighbours) == 2
    table = leave_one_model_out(recommender)
    assert set(table.columns) == {"problem_key", "problem_id", "best", "recommended", "recommended_is_best",
                                  "baseline", "baseline_is_best"}
    assert len(table) <= 4 and table["recommended"].isin(["lhs + local", "lhs + ga"]).all()


def test_benchmarks_with_other_methods_combine_and_are_held_out_on_their_own_terms(benchmarked):
    """The shipped corpus table (lhs with cmaes, fides, lbfgsb, local) beside this bench (lhs with local, ga): held
    out one at a time, a problem of this bench is judged on the methods it was benchmarked with, and so is the
    baseline (the corpus's favourite, never run here, would be wrong by construction)."""
    mine, shipped = Recommender.from_store(benchmarked, k=5), Recommender.load(k=5)
    both = Recommender.combined([shipped, mine], k=5)
    assert len(both.problems) == len(shipped.problems) + len(mine.problems)
    assert "ga" not in " ".join(shipped.performance["method"])  # the parts differ in their methods
    table = leave_one_model_out(both, only=mine.problems)
    assert len(table) <= len(mine.problems)
    assert set(table["recommended"]) | set(table["baseline"]) <= {"lhs + local", "lhs + ga"}


def test_methods_more_neighbours_ran_come_first_where_benchmarks_differ_in_methods(benchmarked):
    """Beside the shipped table (other methods), a method only the nearest corpus problem ran must not top the
    list on that one problem's word: ranked by evidence, then by expected rank."""
    both = Recommender.combined([Recommender.load(k=5), Recommender.from_store(benchmarked, k=5)], k=5)
    mixed = 0
    for key in Recommender.from_store(benchmarked).problems:
        ranked, _ = both.recommend(both.features.loc[key].to_dict(), exclude=key)
        evidence = ranked["evidence_problems"].tolist()
        assert evidence == sorted(evidence, reverse=True)
        mixed += len(set(evidence)) > 1
    assert mixed  # some query's neighbours came from both benchmarks


def test_a_winner_decided_by_one_lucky_start_wins_only_some_resamples(benchmarked):
    """Bootstrap of the starts: a method whose only converged start is drawn in about 1 - (1 - 1/n)^n of the
    replicates wins about that share where it wins by that start alone; reproducible by seed."""
    runs = benchmarked.runs_frame()
    key = runs["problem_key"].iloc[0]
    here = runs["problem_key"] == key
    runs.loc[here, "fval_best"] = runs.loc[here, "f_true"] + 50.0  # nobody converges on this problem ...
    runs.loc[here & (runs["optimizer"] == "ga"), "fval_best"] += 10.0  # (ga ends worse: no tie) ...
    lucky = runs.index[here & (runs["optimizer"] == "ga")][0]
    runs.loc[lucky, "fval_best"] = runs.loc[lucky, "f_true"]  # ... but one start of ga
    stability = best_method_stability(runs, resamples=400, seed=1)
    n = int((here & (runs["optimizer"] == "ga")).sum())
    assert stability.loc[key, "lhs + ga"] == pytest.approx(1 - (1 - 1 / n) ** n, abs=0.08)
    assert (stability.sum(axis=1) >= 1 - 1e-9).all()  # every replicate has a winner (ties: several)
    assert stability.equals(best_method_stability(runs, resamples=400, seed=1))


def test_saved_recommender_recommends_the_same_and_says_how_far_to_trust_it(benchmarked, tmp_path):
    recommender = Recommender.from_store(benchmarked, k=3)
    table = leave_one_model_out(recommender)
    measured = held_out_summary(table, 3, "benchmarked here")
    assert measured["recommended_is_best"] == table["recommended_is_best"].sum() <= measured["problems"] == len(table)
    assert measured["baseline_is_best"] == table["baseline_is_best"].sum()
    recommender.save(tmp_path / "r.json", {"command": "test", "held_out": measured})
    again = Recommender.load(tmp_path / "r.json", k=3)
    assert again.held_out == measured
    assert f"best method on {measured['recommended_is_best']};" in held_out_sentence(again.held_out)
    query = recommender.features.iloc[1].to_dict()
    a, b = recommender.recommend(query)[0], again.recommend(query)[0]
    assert a["method"].tolist() == b["method"].tolist()
    np.testing.assert_allclose(a["normalised_rank"], b["normalised_rank"])


def test_a_store_without_features_is_a_clear_error(tmp_path):
    with pytest.raises(StoreError, match="no benchmark with model features"):
        Recommender.from_store(Store(tmp_path / "empty.sqlite"))


def test_the_command_ranks_methods_with_evidence(benchmarked):
    runner = CliRunner()
    out = runner.invoke(main, ["recommend", "--model", str(DATA / "two_step.xml"), "--results", benchmarked.url,
                               "--k", "2", "--format", "json"])
    assert out.exit_code == 0, out.output
    answer = json.loads(out.output)
    assert {m["method"] for m in answer["methods"]} == {"lhs + local", "lhs + ga"} and len(answer["evidence"]) == 2
    table = runner.invoke(main, ["recommend", "--model", str(DATA / "two_step.xml"), "--results", benchmarked.url])
    assert table.exit_code == 0 and "evidence: nearest benchmarked problems" in table.output


def test_the_shipped_recommender_works_out_of_the_box(tmp_path):
    """Trained on the corpus bench and the published collection (benchmarks/train_recommender.py); a fresh clone
    has it as package data. A synthetic model's neighbours are corpus problems: their methods are listed."""
    from biobench.analysis.recommend import SHIPPED

    blob = json.loads(SHIPPED.read_text())
    recommender = Recommender.load()
    assert blob["provenance"]["problems"] == len(recommender.problems) >= 50
    out = CliRunner().invoke(main, ["recommend", "--model", str(DATA / "two_step.xml"), "--format", "json"])
    assert out.exit_code == 0, out.output
    methods = [m["method"] for m in json.loads(out.output)["methods"]]
    assert {"lhs + local", "lhs + fides", "lhs + cmaes", "lhs + lbfgsb"} <= set(methods)
    assert set(methods) <= set(blob["provenance"]["methods"])
    # it says how it did on the published problems held out one at a time, beside always one method
    held_out = json.loads(out.output)["held_out"]
    assert held_out == recommender.held_out and held_out["problems"] >= 20
    assert 0 <= held_out["recommended_is_best"] <= held_out["problems"] and held_out["baseline"]
    table = CliRunner().invoke(main, ["recommend", "--model", str(DATA / "two_step.xml")])
    assert table.exit_code == 0 and "How far to trust it" in table.output
    with pytest.raises(StoreError, match="train one with"):
        Recommender.load(tmp_path / "absent.json")
