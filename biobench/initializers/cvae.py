"""``--init cvae``: start points from a conditional VAE trained on (parameters, fval) pairs.

Training data: a Latin hypercube pilot design evaluated with the objective, plus every
point that earlier runs on the same problem evaluated (read from the store). Vectors
are normalised to [0, 1] by the bounds; the condition is the objective value
normalised to [0, 1] over the finite training values, on a log scale when they span
more than two decades. Infinite values are left out of training and counted.

Bounded time, whatever the store holds: at most ``max_train`` points are trained on (the
pilot design, the best quarter of the cap by fval, and a sample of the rest stratified by
fval, seeded), and the optuna search (layers, width, latent dimension, learning rate,
weight decay, batch size; chosen on the validation loss) stops after ``trials`` trials or
``time_limit`` seconds, whichever comes first; a trial running at the limit stops at its
best epoch so far. The diagnostics say when the limit cut the search (then a rerun on a
slower machine may train a different model; the saved one is reused). The trained model is
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
from biobench.initializers.base import (EvaluationStore, Initializer, ProgressCallback, StartDesign, initializers,
                                        no_progress, scale_unit)
from biobench.plugins import PluginOptions
from biobench.problem import Problem

# Options that change the trained model; the others only change how it is used.
_MODEL_OPTIONS = ("pilot", "trials", "max_epochs", "patience", "beta", "recon_sigma", "batch_norm", "train_seed",
                  "use_store", "max_train", "time_limit")
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
        time_limit: float = Field(25.0, gt=0)  # seconds for the whole search; trials stop at it
        max_train: int = Field(2000, ge=16)  # training points at most: pilot, best, stratified rest
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

    def for_spares(self) -> CvaeInitializer:
        return CvaeInitializer(**(self.options | {"retrain": False}))  # the model trained for the starts

    def pilot_evaluations(self) -> int:
        """The pilot design and the diagnostic samples of three condition bands (charged even when reused)."""
        return self.options["pilot"] + len(CONDITION_BANDS) * self.options["diagnostic_samples"]

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
                store: EvaluationStore | None, progress: ProgressCallback) -> StartDesign:
        """Train (or load the model saved beside ``store``), then decode prior samples at ``condition``."""
        import torch

        from biobench.initializers import cvae_model

        started = time.perf_counter()
        folder = self.model_folder(problem, store) if store is not None else None
        device = self._device()
        loaded = None if self.options["retrain"] or folder is None else cvae_model.load(folder, device)
        if loaded is None:
            model, config = self._train(problem, device, store, progress)
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
    def _training_data(self, problem: Problem, objective, store: EvaluationStore | None,
                       progress: ProgressCallback) -> tuple[np.ndarray, np.ndarray, int]:
        """Pilot design plus stored points (capped, see the module docstring); also how many stored ones there were."""
        from scipy.stats import qmc

        pilot_rng = np.random.default_rng(self.options["train_seed"])
        design = scale_unit(qmc.LatinHypercube(d=problem.n_parameters, rng=pilot_rng).random(self.options["pilot"]),
                            problem)
        f = np.empty(len(design))
        for i, point in enumerate(design):
            f[i] = objective.fval(point)
            progress("cvae: pilot evaluations", i + 1, len(design))
        x, n_stored = design, 0
        if self.options["use_store"] and store is not None:
            stored_x, stored_f = store.evaluated_points(problem.key)
            n_stored = len(stored_f)
            keep = cap_training_set(stored_f, self.options["max_train"] - len(design), self.options["train_seed"])
            x, f = np.vstack([x, stored_x[keep]]) if keep.size else x, np.concatenate([f, stored_f[keep]])
        return x, f, n_stored

    def _train(self, problem: Problem, device: str, store: EvaluationStore | None,
               progress: ProgressCallback = no_progress):
        import optuna

        from biobench.initializers import cvae_model
        from biobench.likelihood import Likelihood
        from biobench.objective import Objective

        started = time.perf_counter()
        objective = Objective(Likelihood(problem))  # counts the pilot and diagnostic simulations: the cvae's cost
        x, f, n_stored = self._training_data(problem, objective, store, progress)
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
        search_started = time.monotonic()
        deadline = search_started + self.options["time_limit"]
        n_trials = self.options["trials"]

        def trial_loss(trial) -> float:
            arch, training = configure(trial)

            def epoch_done(epoch: int) -> None:
                progress(f"cvae: training, trial {trial.number + 1} of {n_trials} (epochs)", epoch, training.max_epochs)

            fitted = cvae_model.fit(arch, training, unit[tr], conditions[tr], unit[val], conditions[val], seed, device,
                                    deadline=deadline, on_epoch=epoch_done)
            results[trial.number] = fitted
            return min(fitted[2])

        optuna.logging.set_verbosity(optuna.logging.ERROR)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            study = optuna.create_study(sampler=optuna.samplers.TPESampler(seed=seed))
            study.enqueue_trial({"layers": 2, "width": 64, "latent": min(4, max(2, problem.n_parameters)),
                                 "lr": 1e-3, "weight_decay": 1e-5, "batch_size": 32})  # a sensible first guess
            study.optimize(trial_loss, n_trials=n_trials, timeout=self.options["time_limit"])
        model, train_curve, val_curve = results[study.best_trial.number]
        search_seconds = time.monotonic() - search_started

        diagnostics = {
            "hyperparameters": study.best_trial.params,
            "trials": len(study.trials),
            "search_seconds": round(search_seconds, 2),
            "time_limited": bool(search_seconds >= self.options["time_limit"]),  # the limit, not trials, ended it
            "n_train": int(len(tr)), "n_validation": int(n_val), "n_pilot": int(self.options["pilot"]),
            "n_from_store": int(len(f) - self.options["pilot"]), "n_stored": int(n_stored),
            "n_infinite": int((~finite).sum()),
            "condition_scaling": scaling,
            "train_loss": [round(v, 6) for v in train_curve], "val_loss": [round(v, 6) for v in val_curve],
            **_reconstruction(model, unit[val], conditions[val]),
            "latent_projection": _latent_projection(model, unit[val], conditions[val]),
            "search": [{"number": t.number, "params": t.params, "value": t.value, "state": t.state.name}
                       for t in study.trials],
        }
        diagnostics.update(self._generation_checks(model, problem, objective, scaling, progress))
        config = {
            "problem_key": problem.key, "options": {k: self.options[k] for k in _MODEL_OPTIONS},
            "cost": {"evals": objective.n_evals, "seconds": time.perf_counter() - started},
            "diagnostics": diagnostics,
            "training_points": unit.round(6).tolist(), "training_conditions": conditions.round(6).tolist(),
        }
        return model, config

    def _generation_checks(self, model, problem: Problem, objective, scaling: dict,
                           progress: ProgressCallback = no_progress) -> dict:
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
            progress("cvae: diagnostic evaluations", len(by_condition) + k, len(CONDITION_BANDS) * k)
            finite_fraction[label] = float(np.isfinite(fvals).mean())
            by_condition += [{"condition": round(float(ci), 4), "fval": float(fi) if np.isfinite(fi) else None}
                             for ci, fi in zip(c, fvals)]
        fin = [row for row in by_condition if row["fval"] is not None]
        spearman = stats.spearmanr([r["condition"] for r in fin], [r["fval"] for r in fin]).statistic \
            if len(fin) > 2 else float("nan")
        return {"finite_fraction": finite_fraction, "fval_by_condition": by_condition,
                "condition_fval_spearman": None if np.isnan(spearman) else round(float(spearman), 4)}


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


def _reconstruction(model, x_val: np.ndarray, c_val: np.ndarray) -> dict:
    x_hat = model.reconstruct(x_val, c_val)
    a, b = x_val.ravel(), x_hat.ravel()
    return {"recon_rmse": round(float(np.sqrt(np.mean((a - b) ** 2))), 6),
            "recon_pearson": round(float(stats.pearsonr(a, b).statistic), 6) if a.std() and b.std() else None,
            "recon_spearman": round(float(stats.spearmanr(a, b).statistic), 6) if a.std() and b.std() else None}


def _latent_projection(model, x_val: np.ndarray, c_val: np.ndarray) -> dict:
    """The validation vectors' latent means in 2-D (PCA when the latent space has more dimensions), with
    their conditions: low-fval points should gather, not scatter, if the condition shapes the latent space."""
    from sklearn.decomposition import PCA

    latent = model.latent_means(x_val, c_val)
    if latent.shape[1] > 2:
        pca = PCA(n_components=2, random_state=0).fit(latent)
        points, explained = pca.transform(latent), [round(float(v), 4) for v in pca.explained_variance_ratio_]
    else:
        points, explained = latent, None
    return {"points": points.round(5).tolist(), "conditions": c_val.round(5).tolist(),
            "method": "pca" if explained else "latent", "explained_variance": explained}


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
