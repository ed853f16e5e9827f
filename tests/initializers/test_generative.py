"""The generative family (cvae, cvae-transformer, ccgan): determinism, shapes and bounds, safe loading, reuse,
honest accounting, bounded training time. Every test runs each member with real training on real simulations."""

from __future__ import annotations

import json
import time

import numpy as np
import pytest
import torch

from biobench.analysis import metrics
from biobench.errors import PluginError
from biobench.initializers import initializers
from biobench.initializers.generative.training_data import cap_training_set, normalise_fvals
from biobench.running.runner import run_starts
from biobench.running.store import Store

COMMON = {"pilot": 48, "trials": 1, "diagnostic_samples": 2}
FAST = {"cvae": COMMON | {"max_epochs": 30, "patience": 5},
        "cvae-transformer": COMMON | {"max_epochs": 30, "patience": 5},
        "ccgan": COMMON | {"max_iterations": 200, "eval_every": 50}}
UNBOUNDED = {"cvae": {"max_epochs": 100_000, "patience": 100_000},  # hours of training without the time limit
             "cvae-transformer": {"max_epochs": 100_000, "patience": 100_000},
             "ccgan": {"max_iterations": 10_000_000, "patience": 100_000}}
MEMBERS = list(FAST)


@pytest.fixture(params=MEMBERS)
def name(request):
    return request.param


def make(name, **options):
    return initializers.get(name)(**(FAST[name] | options))


def generate(name, problem, n, seed, store, progress=None, **options):
    """A member as the runner uses it: the store of earlier evaluations passed in, a design with its cost out."""
    if progress is None:
        return make(name, **options).generate(problem, n, np.random.default_rng(seed), store)
    return make(name, **options).generate(problem, n, np.random.default_rng(seed), store, progress)


@pytest.fixture
def store(tmp_path):
    return Store(tmp_path / "cvae.sqlite")


def test_shapes_bounds_and_determinism(name, two_step_problem, store):
    a = generate(name, two_step_problem, 12, 0, store).points
    assert a.shape == (12, 2)
    assert np.all(a >= two_step_problem.lower) and np.all(a <= two_step_problem.upper)
    b = generate(name, two_step_problem, 12, 0, store, retrain=True).points
    np.testing.assert_array_equal(a, b)  # retrained from scratch on CPU: the same model, the same points
    c = generate(name, two_step_problem, 12, 1, store).points
    assert not np.array_equal(a, c)


def test_fifty_parameters(name, wide_problem, tmp_path):
    points = generate(name, wide_problem, 5, 0, Store(tmp_path / "w.sqlite"), pilot=32).points
    assert points.shape == (5, 50) and np.all(points >= wide_problem.lower) and np.all(points <= wide_problem.upper)


def test_trained_model_is_saved_and_reused_without_retraining(name, two_step_problem, store):
    first = generate(name, two_step_problem, 4, 0, store)
    folder = make(name).model_folder(two_step_problem, store)
    assert (folder / "model.pt").exists() and (folder / "config.json").exists()
    stamp = (folder / "model.pt").stat().st_mtime_ns
    second = generate(name, two_step_problem, 4, 0, store)
    assert second.diagnostics[name]["reused"] is True and first.diagnostics[name]["reused"] is False
    assert (folder / "model.pt").stat().st_mtime_ns == stamp
    assert second.pilot_evals == first.pilot_evals  # the model's cost is charged to every run that uses it
    np.testing.assert_array_equal(first.points, second.points)  # the loaded model is the trained one
    other = make(name, train_seed=1)  # another model option: another model
    assert other.model_folder(two_step_problem, store) != folder


def test_loading_is_safe(name, two_step_problem, store):
    generate(name, two_step_problem, 2, 0, store)
    folder = make(name).model_folder(two_step_problem, store)

    class Payload:  # an arbitrary object: weights_only loading must refuse it
        def __reduce__(self):
            return (print, ("this should never run",))

    torch.save({"weights": Payload()}, folder / "model.pt")
    with pytest.raises(PluginError, match="cannot be loaded safely"):
        generate(name, two_step_problem, 2, 0, store)
    (folder / "model.pt").write_bytes(b"not a torch file")
    with pytest.raises(PluginError, match="retrain=true"):
        generate(name, two_step_problem, 2, 0, store)
    points = generate(name, two_step_problem, 2, 0, store, retrain=True).points
    assert points.shape == (2, 2)


def test_training_uses_evaluated_points_from_the_store(name, two_step_problem, store):
    run_starts(two_step_problem, "random", "local", n_starts=2, budget=30, seed=0, store=store)
    n_stored = len(store.evaluated_points(two_step_problem.key)[0])
    diagnostics = generate(name, two_step_problem, 3, 0, store).diagnostics[name]
    assert diagnostics["n_from_store"] == n_stored > 0
    assert diagnostics["n_train"] + diagnostics["n_validation"] + diagnostics["n_infinite"] == COMMON["pilot"] + n_stored


def test_pilot_cost_is_charged_in_records_and_metrics(name, two_step_problem, store):
    summary = run_starts(two_step_problem, name, "local", n_starts=4, budget=20, seed=0, store=store,
                         init_options=FAST[name])
    pilot = COMMON["pilot"] + 3 * COMMON["diagnostic_samples"]
    assert all(r.pilot_evals == pilot / 4 for r in summary.records)
    assert all(r.pilot_seconds > 0 for r in summary.records)
    board = metrics.per_problem(store.runs_frame())
    row = board[board["initializer"] == name].iloc[0]
    assert row["evaluations"] == sum(r.n_evals for r in summary.records) + pilot
    diagnostics = json.loads(json.dumps(summary.records[0].extras[name]))
    for key in ("train_loss", "val_loss", "finite_fraction", "fval_by_condition", "distances", "n_infinite",
                "validation_energy", "hyperparameters"):
        assert key in diagnostics, key
    if name.startswith("cvae"):
        assert {"recon_rmse", "recon_pearson", "recon_spearman", "latent_projection"} <= set(diagnostics)
    else:
        assert {"d_loss", "label_regression_r2", "embedding_mse"} <= set(diagnostics)
    assert set(diagnostics["finite_fraction"]) == {"below [-0.25, 0)", "inside [0, 1]", "above (1, 1.25]"}


def test_the_training_set_is_capped_with_the_best_kept_and_the_rest_stratified():
    f = np.random.default_rng(3).permutation(np.concatenate([np.arange(10_000.0), [np.inf] * 100]))
    keep = cap_training_set(f, 400, seed=0)
    assert len(keep) == len(set(keep.tolist())) == 400
    kept = np.sort(f[keep])
    np.testing.assert_array_equal(kept[:100], np.arange(100.0))  # the best quarter, all of it
    rest = kept[100:]
    # one point from each of 300 equal-count fval bands of the rest: spread over the whole range
    assert np.histogram(rest[np.isfinite(rest)], bins=10, range=(100, 10_000))[0].min() >= 25
    np.testing.assert_array_equal(keep, cap_training_set(f, 400, seed=0))  # seeded
    np.testing.assert_array_equal(cap_training_set(f[:50], 400, seed=0), np.arange(50))  # under the cap: all


def test_a_limit_shorter_than_one_step_still_gives_a_model(name, two_step_problem, store):
    """The deadline passes before any loop starts (a loaded machine): each loop still takes one step."""
    design = generate(name, two_step_problem, 3, 0, store, time_limit=1e-9)
    assert design.points.shape == (3, 2) and design.diagnostics[name]["time_limited"]


def test_a_large_store_is_capped_and_training_stops_at_the_time_limit(name, two_step_problem, store):
    run_starts(two_step_problem, "random", "local", n_starts=3, budget=60, seed=0, store=store)
    n_stored = len(store.evaluated_points(two_step_problem.key)[0])
    assert n_stored > 60
    stages = []
    started = time.monotonic()
    design = generate(name, two_step_problem, 3, 0, store, max_train=COMMON["pilot"] + 40, trials=50, time_limit=2.0,
                      progress=lambda *a: stages.append(a), **UNBOUNDED[name])
    elapsed = time.monotonic() - started
    cvae = design.diagnostics[name]
    assert cvae["n_stored"] == n_stored and cvae["n_from_store"] == 40  # capped, and the record says so
    assert cvae["n_train"] + cvae["n_validation"] + cvae["n_infinite"] == COMMON["pilot"] + 40
    # the limit, not the trials, ended it; the last epoch or check may run past it (more on a loaded machine)
    assert cvae["time_limited"] and cvae["trials"] < 50 and cvae["search_seconds"] >= 2.0
    assert elapsed < 300  # 50 trials of 100000 epochs would take hours (a margin for any machine and load)
    names = {stage for stage, _, _ in stages}
    assert {f"{name}: pilot evaluations", f"{name}: diagnostic evaluations"} <= names
    assert any(stage.startswith(f"{name}: training, trial 1 of 50") for stage in names)
    pilot = [(done, total) for stage, done, total in stages if stage == f"{name}: pilot evaluations"]
    assert pilot[-1] == (COMMON["pilot"], COMMON["pilot"]) and len(pilot) == COMMON["pilot"]


def test_condition_is_log_scaled_when_fvals_span_decades():
    c, scaling = normalise_fvals(np.array([10.0, 1e3, 1e6]))
    assert scaling["log"] and c.min() == 0.0 and c.max() == 1.0 and 0 < c[1] < 0.6
    c, scaling = normalise_fvals(np.array([10.0, 20.0, 30.0]))
    assert not scaling["log"] and np.allclose(c, [0, 0.5, 1])


def test_bad_options_are_named(name):
    with pytest.raises(PluginError, match="pilot must be at least 8"):
        initializers.get(name)(pilot=2)


def test_spare_start_points_come_from_the_trained_model_not_a_second_training(name):
    forced = make(name, retrain=True)
    assert forced.for_spares().options == forced.options | {"retrain": False}


def test_training_pairs_are_scaled_by_the_bounds_and_keep_their_objective_values(two_step_problem):
    """The two-step problem's bounds are not [0, 1] (log10 scale, about [-2.3, 1.7]): what the networks train on
    must be the evaluated points mapped into [0, 1], each beside the objective value of that very point."""
    from biobench.initializers.generative.training_data import collect
    from biobench.likelihood import Likelihood
    from biobench.objective import Objective

    problem = two_step_problem
    assert (problem.lower < 0).any() and (problem.upper > 1).any()
    likelihood = Likelihood(problem)
    settings = initializers.get("cvae").Options(train_seed=0, pilot=24, use_store=False, max_train=100)
    data = collect("cvae", problem, Objective(likelihood, budget=100), None, settings, lambda *_: None)
    assert data.unit.min() >= 0 and data.unit.max() <= 1 and np.ptp(data.unit, axis=0).min() > 0.8
    points = problem.lower + data.unit * (problem.upper - problem.lower)
    fvals = np.array([likelihood.fval(point) for point in points])
    conditions, _ = normalise_fvals(fvals)
    np.testing.assert_allclose(data.conditions, conditions, atol=1e-9)
