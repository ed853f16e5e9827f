"""The generative initializers' common ground: train a conditional generator of parameter vectors on
(parameters, fval) pairs, then sample it at the low-fval condition.

A family member (``cvae``, ``cvae-transformer``, ``ccgan``) holds only its network, its loss
and its hyperparameter search space; this class does the rest the same way for all:
training data (``training_data``), an optuna search over the member's knobs bounded by
``trials`` and the members' epoch or step limits, so the same seed trains the same network on
any machine, loaded or not; ``time_limit`` (seconds) may cap it too, at the price of that
reproducibility (a trial running at the limit stops at its best state so far),
saving (state_dict + JSON config under the store's artifacts folder, reused for the same
problem and options, retrained only with ``retrain=true``) and diagnostics.

Honest accounting: the pilot design and the few evaluations the diagnostics spend are the
initializer's cost. They are charged to every run that uses the model (trained now or
loaded), spread over its starts, and appear in every per-evaluation metric.
"""

from __future__ import annotations

import time
import warnings
from abc import abstractmethod
from pathlib import Path
from typing import Literal

import numpy as np
from pydantic import Field

from biobench.initializers.base import (EvaluationStore, ProgressCallback, StartDesign, TrainedInitializer,
                                        no_progress, scale_unit)
from biobench.initializers.generative import diagnostics
from biobench.initializers.generative.loop import EpochCallback
from biobench.initializers.generative.training_data import TrainingSet, collect
from biobench.plugins import PluginOptions
from biobench.problem import Problem
from biobench.saved_networks import resolve_device, trained_or_loaded


class GenerativeOptions(PluginOptions):
    pilot: int = Field(256, ge=8)  # Latin hypercube points evaluated to train on (charged)
    trials: int = Field(4, ge=1)  # optuna trials
    # seconds for the whole search (trials stop at it); none by default: what trains then depends on the load
    time_limit: float | None = Field(None, gt=0)
    max_train: int = Field(2000, ge=16)  # training points at most: pilot, best, stratified rest
    condition: float = 0.0  # where generation samples: 0 = the lowest fval seen
    train_seed: int = Field(0, ge=0)
    use_store: bool = True  # train on the store's earlier evaluations too
    retrain: bool = False
    diagnostic_samples: int = Field(8, ge=0)
    device: Literal["auto", "cpu", "cuda"] = "auto"


class GenerativeInitializer(TrainedInitializer):
    """Base of the family; a member sets ``name``-level metadata and implements the four network hooks."""

    use_options = frozenset({"condition", "retrain", "diagnostic_samples", "device"})

    @classmethod
    def report_figures(cls, runs, problems) -> list:
        from biobench.initializers.generative.report_figures import generative_diagnostics

        return generative_diagnostics(runs)

    Options = GenerativeOptions
    weights_file = "model.pt"

    # -- what a member implements -----------------------------------------------------------
    @abstractmethod
    def search_space(self, trial, n_params: int) -> dict:
        """The network's configuration for an optuna trial: JSON-serialisable, enough to ``build`` it."""

    @abstractmethod
    def first_guess(self, n_params: int) -> dict:
        """Trial parameters tried first (a sensible default), as optuna's ``enqueue_trial`` takes them."""

    @abstractmethod
    def build(self, config: dict):
        """An untrained network for a configuration (also how a saved one is rebuilt before its weights load)."""

    @abstractmethod
    def fit(self, config: dict, data: TrainingSet, seed: int, device: str, deadline: float,
            on_epoch: EpochCallback) -> tuple[object, dict[str, list[float]], float]:
        """Train; return the network (best state), its curves (``train_loss`` and ``val_loss`` at least) and the
        value optuna minimises (lower is better, comparable between trials of this member)."""

    def network_diagnostics(self, model, data: TrainingSet) -> dict:
        """What only this kind of network can say about itself (an encoder's reconstruction, a GAN's losses)."""
        return {}

    # -- the plugin interface ---------------------------------------------------------------------
    def pilot_evaluations(self) -> int:
        """The pilot design and the diagnostic samples of three condition bands (charged even when reused)."""
        return self.settings.pilot + len(diagnostics.CONDITION_BANDS) * self.settings.diagnostic_samples

    def model_folder(self, problem: Problem, store: EvaluationStore) -> Path:
        return self.network_folder(store, problem, problem.key)

    def sample(self, problem: Problem, n_starts: int, rng: np.random.Generator) -> np.ndarray:
        """Points from a model trained now on the pilot design alone (nothing read or saved)."""
        return self.generate(problem, n_starts, rng).points

    def _design(self, problem: Problem, n_starts: int, rng: np.random.Generator,
                store: EvaluationStore | None, progress: ProgressCallback) -> StartDesign:
        """Train (or load the model saved beside ``store``), then sample at ``condition``."""
        import torch

        started = time.perf_counter()
        folder = self.model_folder(problem, store) if store is not None else None
        device = resolve_device(self.settings.device)
        model, config, reused = trained_or_loaded(
            folder, self.weights_file, lambda config: self.build(config["architecture"]),
            f"{self.name}: the saved model", "--init-option retrain=true", device, self.settings.retrain,
            lambda: self._train(problem, device, store, progress))
        generator = torch.Generator().manual_seed(int(rng.integers(0, 2**63 - 1)))
        unit = np.clip(model.generate(np.full(n_starts, self.settings.condition), generator), 0.0, 1.0)
        train = np.asarray(config["training_points"], dtype=float)
        report = {self.name: config["diagnostics"] | {
            "reused": reused,
            "seconds_this_run": time.perf_counter() - started,
            "distances": diagnostics.distances(unit, train, np.asarray(config["training_conditions"], dtype=float)),
            "model_folder": None if folder is None else str(folder),
        }}
        return StartDesign(scale_unit(unit, problem), pilot_evals=int(config["cost"]["evals"]),
                           pilot_seconds=float(config["cost"]["seconds"]), diagnostics=report)

    # -- training ----------------------------------------------------------------------------------
    def _train(self, problem: Problem, device: str, store: EvaluationStore | None,
               progress: ProgressCallback = no_progress) -> tuple[object, dict]:
        import optuna
        import torch

        from biobench.engines import likelihood_for
        from biobench.objective import Objective

        started = time.perf_counter()
        objective = Objective(likelihood_for(problem, "roadrunner"))  # counts the pilot and diagnostic simulations: the cost
        data = collect(self.name, problem, objective, store, self.settings, progress)
        seed, n_trials = self.settings.train_seed, self.settings.trials
        results: dict[int, tuple] = {}
        search_started = time.monotonic()
        deadline = search_started + (self.settings.time_limit or float("inf"))

        def trial_value(trial) -> float:
            config = self.search_space(trial, problem.n_parameters)

            def epoch_done(epoch: int) -> None:
                progress(f"{self.name}: training, trial {trial.number + 1} of {n_trials} (epochs)", epoch,
                         config.get("max_epochs", epoch))

            torch.manual_seed(seed)  # weights initialise the same way in every trial and every retraining
            model, curves, value = self.fit(config, data, seed, device, deadline, epoch_done)
            results[trial.number] = (model, config, curves)
            return value

        optuna.logging.set_verbosity(optuna.logging.ERROR)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            study = optuna.create_study(sampler=optuna.samplers.TPESampler(seed=seed))
            study.enqueue_trial(self.first_guess(problem.n_parameters))
            study.optimize(trial_value, n_trials=1)  # the first guess always trains, however short the limit
            remaining = deadline - time.monotonic()
            if n_trials > 1 and remaining > 0:
                study.optimize(trial_value, n_trials=n_trials - 1,
                               timeout=None if remaining == float("inf") else remaining)
        model, network_config, curves = results[study.best_trial.number]
        search_seconds = time.monotonic() - search_started
        report = {
            "hyperparameters": study.best_trial.params,
            "trials": len(study.trials),
            "search_seconds": round(search_seconds, 2),
            # the limit, not trials, ended it
            "time_limited": bool(self.settings.time_limit and search_seconds >= self.settings.time_limit),
            **data.counts(),
            **{key: [round(v, 6) for v in values] for key, values in curves.items()},
            "validation_energy": round(diagnostics.conditional_energy(model.generate, data.x_val, data.c_val, seed), 6),
            **self.network_diagnostics(model, data),
            "search": [{"number": t.number, "params": t.params, "value": t.value, "state": t.state.name}
                       for t in study.trials],
        }
        report.update(diagnostics.generation_checks(self.name, model, problem, objective,
                                                    self.settings.diagnostic_samples, seed, progress))
        config = {
            "problem_key": problem.key, "options": self.network_options(),
            "architecture": network_config,
            "cost": {"evals": objective.n_evals, "seconds": time.perf_counter() - started},
            "diagnostics": report,
            "training_points": data.unit.round(6).tolist(), "training_conditions": data.conditions.round(6).tolist(),
        }
        return model, config
