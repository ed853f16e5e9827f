"""Simulated datasets for amortized inference: parameter vectors in the bounds, their noise-free observables
in the problem's measurement layout, and noisy copies drawn with the problem's own noise model.

The layout is the problem's: one value per measurement, in measurement order (several
conditions, replicates and observable formulas included), so a network trained on these
reads the problem's real data unchanged. Noise: synthetic problems are measured with
sigma = relative * |y| + absolute (the floor 1% of each observable's largest |y| by
default), so each simulated dataset gets the sigma its own trajectory implies; PEtab
problems use their noise formulas (which may read estimated parameters), Gaussian or
Laplace, added on the observable's transformed scale (lin, log, log10). Failed
simulations are counted with their reasons, never silently dropped.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from biobench.initializers.base import ProgressCallback, no_progress
from biobench.learning import simulate_design
from biobench.likelihood import Likelihood
from biobench.problem import synthetic_sigma


@dataclass(frozen=True)
class SimulatedDatasets:
    x: np.ndarray  # (n, parameters) scaled parameters of the simulations that succeeded
    clean: np.ndarray  # (n, measurements) noise-free observables
    sigma: np.ndarray  # (n, measurements) the noise scale each dataset is measured with
    cost: dict  # simulations, failed, failure_reasons, seconds

    def noisy(self, rng: np.random.Generator, likelihood: Likelihood, rows: np.ndarray | None = None) -> np.ndarray:
        """A fresh noisy draw of every dataset (or of ``rows``): new noise each call, the same simulations."""
        rows = np.arange(len(self.x)) if rows is None else rows
        return likelihood.sample_measurements(self.clean[rows], self.sigma[rows], rng)


def noise_sigma(likelihood: Likelihood, y: np.ndarray, sigma: np.ndarray) -> np.ndarray:
    """The sigma a dataset with noise-free observables ``y`` is measured with (see the module docstring)."""
    problem = likelihood.problem
    if not problem.synthetic:
        return sigma
    return synthetic_sigma(y, likelihood.experiments.observable_index, problem.settings.noise)


def simulate_datasets(likelihood: Likelihood, x: np.ndarray, progress: ProgressCallback = no_progress,
                      label: str = "amortized: simulated datasets") -> SimulatedDatasets:
    """Simulate every scaled parameter vector in ``x``; keep those whose observables and sigmas are usable."""
    probe = np.random.default_rng(0)

    def dataset_at(point: np.ndarray):
        predicted = likelihood.predict(likelihood.natural(point))
        if predicted is None:
            return likelihood.simulator.last_error or "non-finite observables or sigmas"
        y, s = predicted
        s = noise_sigma(likelihood, y, s)
        if np.all(s > 0) and np.isfinite(likelihood.sample_measurements(y[None], s[None], probe)).all():
            return y, s
        return "observables outside the noise model (a log-scale observable <= 0, or sigma <= 0)"

    results, cost = simulate_design(x, dataset_at, progress, label)
    keep = np.array([r is not None for r in results], dtype=bool)
    clean = np.array([r[0] for r in results if r is not None]).reshape(-1, likelihood.experiments.n_measurements)
    sigma = np.array([r[1] for r in results if r is not None]).reshape(clean.shape)
    return SimulatedDatasets(x[keep], clean, sigma, cost)
