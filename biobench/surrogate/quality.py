"""How good and how fast a surrogate is, on simulations it never saw.

Accuracy is judged where it matters to estimation: on the observables (the problem's
formulas applied to predicted and simulated outputs, so scaling factors and offsets
count) and on the objective computed from them. Speed is evaluations per second of the
network, one point per call and in batches, on CPU and on a GPU when torch sees one,
against roadrunner's simulations of the same problem on the same machine (roadrunner
has no batched call, so its batched rate is its single rate).
"""

from __future__ import annotations

import time

import numpy as np
from scipy.stats import spearmanr

from biobench.likelihood import Likelihood
from biobench.problem import Problem

NEAR_OPTIMUM = 0.1  # the best tenth of the test points by true objective
R2_DRAWS, R2_LEVEL = 1000, 90  # bootstrap resamples of the held-out simulations, and the interval's coverage (%)
SPEED_ROUNDS, SPEED_ROUND_SECONDS = 7, 0.1  # timed rounds per rate, and about how long each lasts


def accuracy(trained, likelihood: Likelihood, x: np.ndarray, outputs: np.ndarray, problem: Problem) -> dict:
    """RMSE and R^2 per observable, and the objective from predictions against the true one."""
    predicted = trained.outputs(x)
    simulated = outputs.reshape(predicted.shape)
    per_observable = observable_accuracy(likelihood, x, predicted, simulated)
    f_true = np.array([_fval(likelihood, out, point) for out, point in zip(simulated, x)])
    f_pred = np.array([_fval(likelihood, out, point) for out, point in zip(predicted, x)])
    both = np.isfinite(f_true) & np.isfinite(f_pred)
    near = both & (f_true <= np.quantile(f_true[both], NEAR_OPTIMUM)) if both.any() else both
    nominal = problem.x_true
    nominal_outputs = likelihood.simulator.simulate(likelihood.natural(nominal))
    nominal_error = float("nan")
    if nominal_outputs is not None:
        nominal_error = abs(_fval(likelihood, trained.outputs(nominal)[0], nominal)
                            - _fval(likelihood, nominal_outputs, nominal))
    return {
        "test_points": int(len(x)),
        "observables": per_observable,
        "objective": {
            "spearman": float(spearmanr(f_true[both], f_pred[both]).statistic) if both.sum() > 2 else float("nan"),
            "median_abs_error_near_optimum": float(np.median(np.abs(f_pred[near] - f_true[near]))) if near.any()
            else float("nan"),
            "abs_error_at_nominal": nominal_error,
            "failed_predictions": int((~np.isfinite(f_pred) & np.isfinite(f_true)).sum()),
            "pairs": [[_finite(a), _finite(b)] for a, b in zip(f_true, f_pred)],  # (true, surrogate), for the figure
        },
    }


def observable_accuracy(likelihood: Likelihood, x: np.ndarray, predicted: np.ndarray, simulated: np.ndarray) -> dict:
    """Per observable (the problem's formulas applied to both): RMSE, R^2 with its bootstrap interval, and the
    simulated range; ``predicted`` and ``simulated`` are shaped (points, rows, columns) like the simulator's."""
    exp = likelihood.experiments
    y_true = np.array([likelihood.observables(out, point) for out, point in zip(simulated, x)])
    y_pred = np.array([likelihood.observables(out, point) for out, point in zip(predicted, x)])
    per_observable = {}
    for k, spec in enumerate(exp.observables):
        columns = exp.observable_index == k
        if not columns.any():
            continue
        truth, guess = y_true[:, columns], y_pred[:, columns]
        finite = np.isfinite(truth) & np.isfinite(guess)
        residual = float(np.sum((truth - guess)[finite] ** 2))
        values = truth[finite]
        spread = float(np.sum((values - values.mean()) ** 2))
        per_observable[spec.observable_id] = {
            "rmse": float(np.sqrt(residual / max(1, len(values)))),
            "r2": 1.0 - residual / spread if spread > 0 else float("nan"),
            "r2_interval": r2_interval(truth, guess, finite),
            "range": [float(values.min()), float(values.max())] if len(values) else [],
        }
    return per_observable


def worst_observable(observables: dict) -> str | None:
    """The observable with the lowest finite R^2 (what decides whether a surrogate is good enough), or None."""
    finite = {name: v["r2"] for name, v in observables.items() if np.isfinite(v["r2"])}
    return min(finite, key=finite.get) if finite else None


def r2_interval(truth: np.ndarray, guess: np.ndarray, finite: np.ndarray, draws: int = R2_DRAWS,
                level: float = R2_LEVEL, seed: int = 0) -> list[float]:
    """Bootstrap interval of R^2 over held-out simulations (rows: simulations, columns: values of one observable).

    Whole simulations are resampled, since that is what a new held-out draw changes: where a few
    extreme trajectories carry most of the variance (BIOMD0000000507), R^2 rests on them and the
    interval says how far. Written here because scipy's bootstrap recomputes the statistic per
    resample; with per-simulation sums every resample is one matrix product.
    """
    masked = np.where(finite, truth, 0.0)
    sums = np.stack([np.sum(np.where(finite, truth - guess, 0.0) ** 2, axis=1), masked.sum(axis=1),
                     np.sum(masked ** 2, axis=1), finite.sum(axis=1)], axis=1)  # per simulation
    n = len(sums)
    if n < 2:
        return [float("nan"), float("nan")]
    counts = np.random.default_rng(seed).multinomial(n, np.full(n, 1.0 / n), size=draws)
    residual, total, squares, values = (counts @ sums).T
    with np.errstate(divide="ignore", invalid="ignore"):
        spread = squares - total ** 2 / values
        r2 = np.where(spread > 0, 1.0 - residual / spread, np.nan)
    r2 = r2[np.isfinite(r2)]
    if not len(r2):
        return [float("nan"), float("nan")]
    tail = (100 - level) / 2
    return [float(np.percentile(r2, tail)), float(np.percentile(r2, 100 - tail))]


def _finite(value: float) -> float | None:
    return float(value) if np.isfinite(value) else None  # JSON has no inf


def _fval(likelihood: Likelihood, outputs: np.ndarray, x: np.ndarray) -> float:
    scored = likelihood.score(outputs, x)
    return np.inf if scored is None else scored[1]


def speed(trained, x: np.ndarray, roadrunner_seconds: float, batch: int = 4096, rounds: int = SPEED_ROUNDS,
          round_seconds: float = SPEED_ROUND_SECONDS) -> dict:
    """Evaluations per second: the network one point per call and in batches (CPU, and GPU when present),
    and roadrunner (seconds per simulation measured on the design).

    Each rate is the median of ``rounds`` timed rounds of about ``round_seconds`` each, after a warm-up:
    a single round of five batches (30 ms) measured right after training read 290,000 evaluations per
    second where later rounds of the same network read 640,000, and roadrunner's rate is an average
    over the whole design, seconds long, so one short round would compare a hiccup with a mean.
    """
    import torch

    rng = np.random.default_rng(0)
    points = x[rng.integers(0, len(x), batch)]
    result = {"roadrunner_single": 1.0 / roadrunner_seconds if roadrunner_seconds > 0 else float("nan")}
    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    model = trained.model
    for device in devices:
        model.to(device)
        sync = torch.cuda.synchronize if device == "cuda" else (lambda: None)
        singles = [points[i:i + 1] for i in range(min(batch, 256))]
        result[f"surrogate_single_{device}"] = _rate(lambda i: model.predict(singles[i % len(singles)]), 1, rounds,
                                                     round_seconds, sync)
        result[f"surrogate_batched_{device}"] = _rate(lambda i: model.predict(points), batch, rounds, round_seconds,
                                                      sync)
    model.to("cpu")
    result["speedup_batched_cpu"] = result["surrogate_batched_cpu"] / result["roadrunner_single"]
    result["batch"] = batch
    return result


def _rate(call, points_per_call: int, rounds: int, round_seconds: float, sync) -> float:
    """Median over rounds of points per second; the calls per round are set from a timed warm-up call."""
    started = time.perf_counter()
    call(0)
    sync()
    calls = max(1, int(round_seconds / max(time.perf_counter() - started, 1e-6)))
    rates = []
    for _ in range(rounds):
        started = time.perf_counter()
        for i in range(calls):
            call(i)
        sync()
        rates.append(calls * points_per_call / (time.perf_counter() - started))
    return float(np.median(rates))
