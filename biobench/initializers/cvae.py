"""``--init cvae``: start points from a conditional VAE trained on (parameters, fval) pairs.

Training data: a Latin hypercube pilot design evaluated with the objective, plus every
point that earlier runs on the same problem evaluated (read from the store). Vectors
are normalised to [0, 1] by the bounds; the condition is the objective value
normalised to [0, 1] over the finite training values, on a log scale when they span
more than two decades. Infinite values are left out of training and counted.

Hyperparameters (layers, width, latent dimension, learning rate, weight decay, batch
size) are chosen by a small optuna search on the validation loss. The trained model is
saved (state_dict + JSON config) under the store's artifacts folder and reused for the
same problem and options; it is retrained only with ``retrain=true``.

Honest accounting: the pilot design, and the few evaluations the diagnostics spend,
are the cvae's cost. They are charged to every run that uses the model (trained now or
loaded), spread over its starts, and appear in every per-evaluation metric.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import time
import warnings
from pathlib import Path
from typing import Literal

import numpy as np
from scipy import stats
from scipy.spatial.distance import cdist

from pydantic import Field

from biobench.errors import PluginError
from biobench.initializers.base import EvaluationStore, Initializer, StartDesign, initializers, scale_unit
from biobench.plugins import PluginOptions
from biobench.problem import Problem

# Options that change the trained model; the others only change how it is used.
_MODEL_OPTIONS = ("pilot", "trials", "max_epochs", "patience", "beta", "recon_sigma", "batch_norm", "train_seed",
                  "use_store")
CONDITION_BANDS = {"below [-0.25, 0)": (-0.25, 0.0), "inside [0, 1]": (0.0, 1.0), "above (1, 1.25]": (1.0, 1.25)}


def normalise_fvals(f: np.ndarray) -> tuple[np.ndarray, dict]:
    """Condition values in [0, 1] for finite fvals; log scale when they span more than two decades."""
    low, high = float(f.min()), float(f.max())
    shifted = f - low + 1.0  # >= 1, so the log is defined and 0 maps to 0
    use_log = bool(np.log10(shifted.max()) > 2.0)
    values = np.log10(shifted) if use_log else f - low
    span = float(values.max()) or 1.0
    return values / span, {"f_min": low, "f_max": high, "log": use_log, "span": span}


@initializers.register("cvae")
class CvaeInitializer(Initializer):
    description = "conditional VAE trained on (parameters, fval) pairs, sampled at the low-fval condition"

    class Options(PluginOptions):
        pilot: int = Field(256, ge=8)  # Latin hypercube points evaluated to train on (charged)
        trials: int = Field(4, ge=1)  # optuna trials
        max_epochs: int = Field(300, ge=1)
        patience: int = Field(25, ge=1)
        beta: float = Field(1.0, ge=0)
        recon_sigma: float = Field(0.1, gt=0)
        batch_norm: bool = False
        condition: float = 0.0  # where generation samples: 0 = the lowest fval seen
        train_seed: int = Field(0, ge=0)
        use_store: bool = True  # train on the store's earlier evaluations too
        retrain: bool = False
        diagnostic_samples: int = Field(8, ge=0)
        device: Literal["auto", "cpu", "cuda"] = "auto"

    # -- where the model lives ------------------------------------------------------------
    def model_folder(self, problem: Problem, store: EvaluationStore) -> Path:
        settings = {k: self.options[k] for k in _MODEL_OPTIONS}
        digest = hashlib.sha256(json.dumps([problem.key, settings], sort_keys=True).encode()).hexdigest()[:16]
        return store.artifacts_dir / "cvae" / f"{problem.model.model_id}-{digest}"

    def _device(self) -> str:
        import torch

        if self.options["device"] == "auto":
            return "cuda" if torch.cuda.is_available() else "cpu"
        return self.options["device"]

    # -- the plugin interface -----------------------------------------------------------------
    def sample(self, problem: Problem, n_starts: int, rng: np.random.Generator) -> np.ndarray:
        """Points from a model trained now on the pilot design alone (nothing read or saved)."""
        return self.generate(problem, n_starts, rng).points

    def _design(self, problem: Problem, n_starts: int, rng: np.random.Generator,
                store: EvaluationStore | None) -> StartDesign:
        """Train (or load the model saved beside ``store``), then decode prior samples at ``condition``."""
        import torch

        from biobench.initializers import cvae_model

        started = time.perf_counter()
        folder = self.model_folder(problem, store) if store is not None else None
        device = self._device()
        loaded = None if self.options["retrain"] or folder is None else cvae_model.load(folder, device)
        if loaded is None:
            model, config = self._train(problem, device, store)
            if folder is not None:
                cvae_model.save(model, config, folder)
        else:
            model, config = loaded
        generator = torch.Generator().manual_seed(int(rng.integers(0, 2**63 - 1)))
        unit = np.clip(model.generate(np.full(n_starts, self.options["condition"]), generator), 0.0, 1.0)
        train = np.asarray(config["training_points"], dtype=float)
        diagnostics = {"cvae": config["diagnostics"] | {
            "reused": loaded is not None,
            "seconds_this_run": time.perf_counter() - started,
            "distances": _distances(unit, train, np.asarray(config["training_conditions"], dtype=float)),
            "model_folder": None if folder is None else str(folder),
        }}
        return StartDesign(scale_unit(unit, problem), pilot_evals=int(config["cost"]["evals"]),
                           pilot_seconds=float(config["cost"]["seconds"]), diagnostics=diagnostics)

    # -- training ----------------------------------------------------------------------------
    def _training_data(self, problem: Problem, objective,
                       store: EvaluationStore | None) -> tuple[np.ndarray, np.ndarray]:
        from scipy.stats import qmc

        pilot_rng = np.random.default_rng(self.options["train_seed"])
        design = scale_unit(qmc.LatinHypercube(d=problem.n_parameters, rng=pilot_rng).random(self.options["pilot"]),
                            problem)
        x, f = design, np.array([objective.fval(point) for point in design])
        if self.options["use_store"] and store is not None:
            stored_x, stored_f = store.evaluated_points(problem.key)
            if stored_x.size:
                x, f = np.vstack([x, stored_x]), np.concatenate([f, stored_f])
        return x, f

    def _train(self, problem: Problem, device: str, store: EvaluationStore | None):
        import optuna

        from biobench.initializers import cvae_model
        from biobench.likelihood import Likelihood
        from biobench.objective import Objective

        started = time.perf_counter()
        objective = Objective(Likelihood(problem))  # counts the pilot and diagnostic simulations: the cvae's cost
        x, f = self._training_data(problem, objective, store)
        finite = np.isfinite(f)
        if finite.sum() < 8:
            raise PluginError(f"cvae: only {int(finite.sum())} of {len(f)} pilot points have a finite objective "
                              "value; increase --init-option pilot=... or check the model's bounds.")
        unit = (x[finite] - problem.lower) / (problem.upper - problem.lower)
        conditions, scaling = normalise_fvals(f[finite])
        order = np.random.default_rng(self.options["train_seed"]).permutation(len(unit))
        n_val = max(2, len(unit) // 5)
        val, tr = order[:n_val], order[n_val:]
        seed = self.options["train_seed"]
        base = cvae_model.Training(max_epochs=self.options["max_epochs"], patience=self.options["patience"],
                                   beta=self.options["beta"], recon_sigma=self.options["recon_sigma"])

        def configure(trial) -> tuple:
            arch = cvae_model.Architecture(
                n_params=problem.n_parameters, layers=trial.suggest_int("layers", 1, 3),
                width=trial.suggest_categorical("width", [16, 32, 64, 128]),
                latent=trial.suggest_int("latent", 2, max(2, min(8, problem.n_parameters))),
                batch_norm=self.options["batch_norm"])
            training = dataclasses.replace(
                base, lr=trial.suggest_float("lr", 1e-4, 1e-2, log=True),
                weight_decay=trial.suggest_float("weight_decay", 1e-7, 1e-3, log=True),
                batch_size=trial.suggest_categorical("batch_size", [16, 32, 64]))
            return arch, training

        results = {}

        def trial_loss(trial) -> float:
            arch, training = configure(trial)
            fitted = cvae_model.fit(arch, training, unit[tr], conditions[tr], unit[val], conditions[val], seed, device)
            results[trial.number] = fitted
            return min(fitted[2])

        optuna.logging.set_verbosity(optuna.logging.ERROR)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            study = optuna.create_study(sampler=optuna.samplers.TPESampler(seed=seed))
            study.enqueue_trial({"layers": 2, "width": 64, "latent": min(4, max(2, problem.n_parameters)),
                                 "lr": 1e-3, "weight_decay": 1e-5, "batch_size": 32})  # a sensible first guess
            study.optimize(trial_loss, n_trials=self.options["trials"])
        model, train_curve, val_curve = results[study.best_trial.number]

        diagnostics = {
            "hyperparameters": study.best_trial.params,
            "trials": len(study.trials),
            "n_train": int(len(tr)), "n_validation": int(n_val), "n_pilot": int(self.options["pilot"]),
            "n_from_store": int(len(f) - self.options["pilot"]), "n_infinite": int((~finite).sum()),
            "condition_scaling": scaling,
            "train_loss": [round(v, 6) for v in train_curve], "val_loss": [round(v, 6) for v in val_curve],
            **_reconstruction(model, unit[val], conditions[val]),
        }
        diagnostics.update(self._generation_checks(model, problem, objective, scaling))
        config = {
            "problem_key": problem.key, "options": {k: self.options[k] for k in _MODEL_OPTIONS},
            "cost": {"evals": objective.n_evals, "seconds": time.perf_counter() - started},
            "diagnostics": diagnostics,
            "training_points": unit.round(6).tolist(), "training_conditions": conditions.round(6).tolist(),
        }
        return model, config

    def _generation_checks(self, model, problem: Problem, objective, scaling: dict) -> dict:
        """Evaluate a few generated vectors per condition band: do low conditions give low, finite fvals?"""
        import torch

        k = self.options["diagnostic_samples"]
        if k <= 0:
            return {}
        rng = np.random.default_rng(self.options["train_seed"] + 1)
        generator = torch.Generator().manual_seed(self.options["train_seed"] + 1)
        finite_fraction, by_condition = {}, []
        for label, (low, high) in CONDITION_BANDS.items():
            c = rng.uniform(low, high, k)
            if label.startswith("inside"):
                c[0] = 0.0
            points = scale_unit(np.clip(model.generate(c, generator), 0, 1), problem)
            fvals = np.array([objective.fval(p) for p in points])
            finite_fraction[label] = float(np.isfinite(fvals).mean())
            by_condition += [{"condition": round(float(ci), 4), "fval": float(fi) if np.isfinite(fi) else None}
                             for ci, fi in zip(c, fvals)]
        fin = [row for row in by_condition if row["fval"] is not None]
        spearman = stats.spearmanr([r["condition"] for r in fin], [r["fval"] for r in fin]).statistic \
            if len(fin) > 2 else float("nan")
        return {"finite_fraction": finite_fraction, "fval_by_condition": by_condition,
                "condition_fval_spearman": None if np.isnan(spearman) else round(float(spearman), 4)}


def _reconstruction(model, x_val: np.ndarray, c_val: np.ndarray) -> dict:
    x_hat = model.reconstruct(x_val, c_val)
    a, b = x_val.ravel(), x_hat.ravel()
    return {"recon_rmse": round(float(np.sqrt(np.mean((a - b) ** 2))), 6),
            "recon_pearson": round(float(stats.pearsonr(a, b).statistic), 6) if a.std() and b.std() else None,
            "recon_spearman": round(float(stats.spearmanr(a, b).statistic), 6) if a.std() and b.std() else None}


def _distances(generated: np.ndarray, train: np.ndarray, conditions: np.ndarray) -> dict:
    """Does it memorize? Nearest-neighbour distances (normalised space) of generated vectors
    to the training set and to its best quartile, against distances within the best quartile."""
    best = train[conditions <= np.quantile(conditions, 0.25)]
    to_train = cdist(generated, train).min(axis=1)
    to_best = cdist(generated, best).min(axis=1)
    within = cdist(best, best)
    np.fill_diagonal(within, np.inf)
    within_best = within.min(axis=1) if len(best) > 1 else np.array([np.nan])
    return {"to_training_median": round(float(np.median(to_train)), 6),
            "to_best_quartile_median": round(float(np.median(to_best)), 6),
            "within_best_quartile_median": round(float(np.nanmedian(within_best)), 6),
            "exact_copies": int((to_train < 1e-6).sum())}
