"""The surrogate's accuracy figures: the bootstrap interval of R^2 (numpy only, no network)."""

from __future__ import annotations

import numpy as np

from biobench.surrogate.quality import R2_DRAWS, r2_interval


def _r2(truth: np.ndarray, guess: np.ndarray) -> float:
    return 1.0 - np.sum((truth - guess) ** 2) / np.sum((truth - truth.mean()) ** 2)


def _held_out(seed: int = 3) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """100 held-out simulations of 6 values predicted within 1%, but one extreme one (50x larger) off by 30%;
    two values not finite (a failed prediction)."""
    rng = np.random.default_rng(seed)
    truth = rng.lognormal(size=(100, 6))
    guess = truth * (1 + 0.01 * rng.standard_normal(truth.shape))
    truth[17] *= 50
    guess[17] = 0.7 * truth[17]
    guess[4, 2] = truth[40, 5] = np.nan
    return truth, guess, np.isfinite(truth) & np.isfinite(guess)


def test_the_r2_interval_is_the_bootstrap_over_whole_simulations():
    """The vectorised sums must give what resampling the simulations and recomputing R^2 gives (a wrong spread
    formula, resampling values rather than simulations, or counting non-finite values changes the percentiles)."""
    truth, guess, finite = _held_out()
    low, high = r2_interval(truth, guess, finite, seed=5)
    counts = np.random.default_rng(5).multinomial(len(truth), np.full(len(truth), 1 / len(truth)), size=R2_DRAWS)
    brute = []
    for row in counts:
        rows = np.repeat(np.arange(len(truth)), row)
        keep = finite[rows]
        brute.append(_r2(truth[rows][keep], guess[rows][keep]))
    assert np.allclose([low, high], np.percentile(brute, [5, 95]), rtol=1e-9, atol=1e-12)


def test_the_interval_shows_an_r2_that_rests_on_one_extreme_simulation():
    """The point estimate is set by the one extreme simulation; resamples without it are near perfect."""
    truth, guess, finite = _held_out()
    r2 = _r2(truth[finite], guess[finite])
    low, high = r2_interval(truth, guess, finite)
    assert low < r2 < 0.95 < high
    assert high - low > 0.05
    perfect = r2_interval(truth, np.where(finite, truth, np.nan), finite)
    assert np.allclose(perfect, [1.0, 1.0])
