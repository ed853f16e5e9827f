"""What every generative initializer trains on: (parameters, condition) pairs, normalised and split.

A Latin hypercube pilot design evaluated with the objective, plus the points earlier runs
on the same problem evaluated (read from the store, capped). Vectors are normalised to
[0, 1] by the bounds; the condition is the objective value normalised to [0, 1] over the
finite training values, on a log scale when they span more than two decades (0 = the lowest
fval seen). Infinite values are left out of training and counted.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from biobench.errors import PluginError
from biobench.initializers.base import EvaluationStore, ProgressCallback, scale_unit
from biobench.learning import simulate_design
from biobench.plugins import PluginOptions
from biobench.problem import Problem


@dataclass(frozen=True)
class TrainingSet:
    """Normalised vectors and conditions with a seeded training/validation split, and where they came from."""

    unit: np.ndarray  # (n, d) finite-fval vectors in [0, 1]
    conditions: np.ndarray  # (n,) in [0, 1]
    scaling: dict  # how fvals became conditions (normalise_fvals)
    train: np.ndarray  # indices into unit
    validation: np.ndarray
    n_pilot: int
    n_from_store: int
    n_stored: int
    n_infinite: int

    @property
    def x_train(self) -> np.ndarray:
        return self.unit[self.train]

    @property
    def c_train(self) -> np.ndarray:
        return self.conditions[self.train]

    @property
    def x_val(self) -> np.ndarray:
        return self.unit[self.validation]

    @property
    def c_val(self) -> np.ndarray:
        return self.conditions[self.validation]

    def counts(self) -> dict:
        return {"n_train": int(len(self.train)), "n_validation": int(len(self.validation)),
                "n_pilot": self.n_pilot, "n_from_store": self.n_from_store, "n_stored": self.n_stored,
                "n_infinite": self.n_infinite, "condition_scaling": self.scaling}


def normalise_fvals(f: np.ndarray) -> tuple[np.ndarray, dict]:
    """Condition values in [0, 1] for finite fvals; log scale when they span more than two decades."""
    low, high = float(f.min()), float(f.max())
    shifted = f - low + 1.0  # >= 1, so the log is defined and 0 maps to 0
    use_log = bool(np.log10(shifted.max()) > 2.0)
    values = np.log10(shifted) if use_log else f - low
    span = float(values.max()) or 1.0
    return values / span, {"f_min": low, "f_max": high, "log": use_log, "span": span}


def cap_training_set(f: np.ndarray, room: int, seed: int) -> np.ndarray:
    """Indices of at most ``room`` stored points: the best quarter of the room by fval, then a sample of the rest
    stratified by fval (equal numbers from equal-count fval bands), so the training set and its time stay bounded.

    Failed points (inf) count as the worst band: the model never trains on them, but the
    diagnostics count them.
    """
    if room <= 0:
        return np.array([], dtype=int)
    if len(f) <= room:
        return np.arange(len(f))
    order = np.argsort(f, kind="stable")
    n_best = room // 4
    rest = order[n_best:]
    bands = np.array_split(rest, room - n_best)  # equal-count fval bands of the rest, one point drawn from each
    rng = np.random.default_rng(seed)
    return np.concatenate([order[:n_best], [band[rng.integers(len(band))] for band in bands]]).astype(int)


def collect(name: str, problem: Problem, objective, store: EvaluationStore | None, settings: PluginOptions,
            progress: ProgressCallback) -> TrainingSet:
    """Evaluate the pilot design (charged through ``objective``), add capped stored points, normalise and split."""
    from scipy.stats import qmc

    seed = settings.train_seed
    design = scale_unit(qmc.LatinHypercube(d=problem.n_parameters, rng=np.random.default_rng(seed))
                        .random(settings.pilot), problem)

    def charged_fval(point: np.ndarray):  # through the objective: every pilot simulation is charged
        value = objective.fval(point)
        return value if np.isfinite(value) else "non-finite objective value"

    results, _ = simulate_design(design, charged_fval, progress, f"{name}: pilot evaluations")
    f = np.array([np.inf if r is None else r for r in results], dtype=float)
    x, n_stored = design, 0
    if settings.use_store and store is not None:
        stored_x, stored_f = store.evaluated_points(problem.key)
        n_stored = len(stored_f)
        keep = cap_training_set(stored_f, settings.max_train - len(design), seed)
        x, f = np.vstack([x, stored_x[keep]]) if keep.size else x, np.concatenate([f, stored_f[keep]])
    finite = np.isfinite(f)
    if finite.sum() < 8:
        raise PluginError(f"{name}: only {int(finite.sum())} of {len(f)} pilot points have a finite objective "
                          "value; increase --init-option pilot=... or check the model's bounds.")
    unit = (x[finite] - problem.lower) / (problem.upper - problem.lower)
    conditions, scaling = normalise_fvals(f[finite])
    order = np.random.default_rng(seed).permutation(len(unit))
    n_val = max(2, len(unit) // 5)
    return TrainingSet(unit, conditions, scaling, train=order[n_val:], validation=order[:n_val],
                       n_pilot=int(settings.pilot), n_from_store=int(len(f) - settings.pilot),
                       n_stored=int(n_stored), n_infinite=int((~finite).sum()))
