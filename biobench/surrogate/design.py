"""Where the surrogate's training simulations go: a space-filling first stage, then refinement where outputs are large.

Accuracy in the simulator's units (R^2, and the Gaussian likelihood) is decided by the largest
outputs: over BIOMD0000000507's bounds the top 1% of output values carry 56-77% of their variance,
a uniform design puts few points there, and one held-out trajectory above every training one
decided R^2 (0.72 for species_1 with 2000 Latin-hypercube simulations). So a share ``refine`` of
the training simulations is spent after a first network has been trained on the rest: among
``REFINE_POOL`` times as many candidates from the same initializer, those whose predicted
outputs are largest relative to each output's spread are simulated. The network's error is about
relative (it is trained on asinh-compressed outputs), so its error in the simulator's units is
largest there. Measured on BIOMD0000000507 (``benchmarks/surrogate_speed.py --seed S``, 2000
simulations, seeds 0-3): the worst observable's R^2 is 0.907, 0.855, 0.722, 0.967 with 600 of them
refined and 0.721, 0.648, 0.507, 0.640 without; on Boehm 0.834 against 0.516 (seed 0); on
BIOMD0000000012 and Bruno it is lower (the largest outputs are not large where every output is).
Written here because no library chooses simulations for a neural surrogate this way.

The held-out test points are never refined: they are a plain draw of the initializer, so the
report judges the network on the distribution a user samples.
"""

from __future__ import annotations

from collections import Counter

import numpy as np

from biobench.initializers.base import Initializer

REFINE_POOL = 20  # candidates predicted per refinement simulation


def output_weight(predicted: np.ndarray, spread: np.ndarray) -> np.ndarray:
    """Per point, the sum over outputs of (predicted / spread)^2: large where outputs are large."""
    spread = np.where(spread > 0, spread, 1.0)
    weight = np.sum((predicted / spread) ** 2, axis=1)
    return np.where(np.isfinite(weight), weight, -np.inf)


def refinement_points(predict, problem, initializer: Initializer, n: int, spread: np.ndarray,
                      rng: np.random.Generator) -> np.ndarray:
    """The ``n`` of ``REFINE_POOL * n`` initializer candidates with the largest ``output_weight`` of ``predict``.

    One score over every output, measured against two alternatives that did worse on BIOMD0000000507:
    turns per simulated symbol (each symbol's best candidate in turn; worse on BIOMD0000000012 and Bruno
    too) and the disagreement of four networks (query by committee; worst R^2 0.845, 0.801, 0.711, 0.958
    over seeds 0-3).
    """
    pool = initializer.sample(problem, REFINE_POOL * n, rng)
    return pool[np.argsort(-output_weight(predict(pool), spread), kind="stable")[:n]]


def refinement_effect(first: np.ndarray, refined: np.ndarray, spread: np.ndarray) -> dict:
    """Median ``output_weight`` of the first design's and the refined points' simulated outputs, and the
    percentile of the first design's weights at which the refined median falls (50: no better than chance)."""
    first_weight = output_weight(first, spread)
    refined_median = float(np.median(output_weight(refined, spread))) if len(refined) else float("nan")
    return {"first": float(np.median(first_weight)), "refined": refined_median,
            "refined_percentile": float(np.mean(first_weight < refined_median) * 100) if len(refined)
            else float("nan")}


def merge_costs(first: dict, second: dict) -> dict:
    """The design cost of two batches of simulations as one (every simulation counted, failures too)."""
    reasons = Counter(first["failure_reasons"]) + Counter(second["failure_reasons"])
    return {"simulations": first["simulations"] + second["simulations"], "failed": first["failed"] + second["failed"],
            "failure_reasons": dict(reasons), "seconds": first["seconds"] + second["seconds"],
            "simulation_seconds": first["simulation_seconds"] + second["simulation_seconds"]}
