"""Amortized inference (``--init amortized``): the noise model its datasets are drawn with, recovery of
identifiable parameters, the estimate as the first start, honest cost, reuse, and PEtab layouts.
Every test trains a small network on real simulations."""

from __future__ import annotations

import numpy as np
import pytest

from biobench.amortized.datasets import noise_sigma, simulate_datasets
from biobench.analysis import metrics
from biobench.initializers import initializers
from biobench.likelihood import Likelihood
from biobench.running.runner import run_starts
from biobench.running.store import Store

# bounded by epochs, not seconds: a loaded machine trains the same network, only slower
SMALL = {"datasets": 200, "time_limit": 600.0, "max_epochs": 150, "width": 64}


def test_synthetic_datasets_are_measured_as_the_problem_was(two_step_problem):
    """At the nominal point the sigma of a simulated dataset is the one the problem's data were made with."""
    likelihood = Likelihood(two_step_problem)
    y, sigma = likelihood.predict(two_step_problem.nominal)
    np.testing.assert_allclose(noise_sigma(likelihood, y, sigma), two_step_problem.experiments.numeric_sigma(),
                               rtol=1e-12)
    draws = likelihood.sample_measurements(np.tile(y, (4000, 1)), np.tile(sigma, (4000, 1)),
                                           np.random.default_rng(0))
    np.testing.assert_allclose(draws.mean(axis=0), y, atol=4 * sigma.max() / np.sqrt(4000))
    np.testing.assert_allclose(draws.std(axis=0), sigma, rtol=0.08)


def test_petab_noise_is_added_on_each_observable_scale_with_its_distribution(petab_problem):
    """log10 observables get noise on the log10 scale; Laplace ones a Laplace scale of sigma (mean |e| = b)."""
    likelihood = Likelihood(petab_problem)
    x = petab_problem.to_scaled(petab_problem.nominal)
    y, sigma = likelihood.predict(likelihood.natural(x))
    draws = likelihood.sample_measurements(np.tile(y, (6000, 1)), np.tile(sigma, (6000, 1)),
                                           np.random.default_rng(1))
    log10, laplace = likelihood._log10, likelihood._laplace
    assert log10.any() and laplace.any() and (~log10 & ~laplace).any()
    assert np.all(draws[:, log10] > 0)
    z = np.where(log10, np.log10(np.abs(draws)), draws) - np.where(log10, np.log10(np.abs(y)), y)
    gaussian = ~laplace
    np.testing.assert_allclose(z[:, gaussian].std(axis=0), sigma[gaussian], rtol=0.08)
    np.testing.assert_allclose(np.abs(z[:, laplace]).mean(axis=0), sigma[laplace], rtol=0.08)


def test_failed_simulations_are_counted_with_their_reason(two_step_problem):
    likelihood = Likelihood(two_step_problem)
    x = np.array([two_step_problem.x_true, two_step_problem.x_true + np.nan])
    data = simulate_datasets(likelihood, x)
    assert len(data.x) == 1 and data.cost["failed"] == 1 and sum(data.cost["failure_reasons"].values()) == 1


def test_the_estimate_recovers_identifiable_parameters_and_is_the_first_start(two_step_problem):
    design = initializers.get("amortized")(**SMALL).generate(two_step_problem, 6, np.random.default_rng(0))
    report = design.diagnostics["amortized"]
    span = two_step_problem.upper - two_step_problem.lower
    assert np.all(np.abs(np.array(report["estimate"]) - two_step_problem.x_true) / span < 0.08)  # identifiable
    np.testing.assert_allclose(design.points[0], report["estimate"], atol=1e-5)
    assert report["estimate_fval"] < Likelihood(two_step_problem).fval(two_step_problem.lower) - 100
    assert report["inference_seconds"] < 1.0 and len(np.unique(design.points, axis=0)) == 6
    # the others: its estimates for the data measured again, close to it (10% noise), not spread over the box
    assert report["other_starts"].startswith("the network's estimates for the data measured again")
    assert np.all(np.abs(design.points[1:] - design.points[0]) / span < 0.1)
    assert design.pilot_evals == SMALL["datasets"] + 1  # the datasets and the estimate's true evaluation


def test_cost_is_charged_to_every_run_and_the_network_is_reused(two_step_problem, tmp_path):
    store = Store(tmp_path / "amortized.sqlite")
    options = SMALL | {"max_epochs": 30}
    first = run_starts(two_step_problem, "amortized", "local", n_starts=3, budget=40, seed=0, store=store,
                       init_options=options)
    second = run_starts(two_step_problem, "amortized", "local", n_starts=3, budget=40, seed=1, store=store,
                        init_options=options)
    for summary in (first, second):
        assert sum(r.pilot_evals for r in summary.records) == pytest.approx(options["datasets"] + 1)
    one, two = first.records[0].extras["amortized"], second.records[0].extras["amortized"]
    assert not one["reused"] and two["reused"] and one["estimate"] == two["estimate"]
    runs = store.runs_frame()
    charged = metrics.per_problem(runs)["evaluations"].sum()
    assert charged == runs["n_evals"].sum() + runs["pilot_evals"].sum()


def test_a_petab_problem_with_several_conditions_gets_starts(petab_problem):
    design = initializers.get("amortized")(datasets=60, max_epochs=30).generate(petab_problem, 4,
                                                                                  np.random.default_rng(0))
    assert design.points.shape == (4, petab_problem.n_parameters)
    assert np.all(design.points >= petab_problem.lower) and np.all(design.points <= petab_problem.upper)
    assert np.isfinite(design.diagnostics["amortized"]["estimate_fval"])
