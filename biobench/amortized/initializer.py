"""``--init amortized``: start points from a network that reads the problem's data (``biobench.amortized``).

The network is trained once per problem and options on ``datasets`` simulations drawn in
the bounds (Latin hypercube, seeded) and saved beside the store, like the generative
initializers' models. Starts: the first is the network's estimate for the problem's
measurements; the others are its estimates for the same data measured again, noise drawn
with the problem's noise model (a parametric bootstrap: how far the estimate moves with
measurement noise; ``_around_estimate``).

Cost, charged like every pilot: the training simulations and the one true evaluation of
the estimate (its fval is in the record's extras beside the inference time), for every
run that uses the network, trained now or loaded. A run's own fval_best is the
fine-tuned result of the multi-stage procedure (amortized + local or lbfgsb).
"""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path
from typing import Literal

import numpy as np
from pydantic import Field

from biobench.errors import ProblemError
from biobench.initializers.base import EvaluationStore, ProgressCallback, StartDesign, TrainedInitializer, initializers
from biobench.plugins import PluginOptions
from biobench.problem import Problem

_WEIGHTS = "amortized.pt"


@initializers.register("amortized")
class AmortizedInitializer(TrainedInitializer):
    description = ("amortized inference: a network trained on simulated datasets reads the data and proposes "
                   "parameters (its estimate first, the rest around it)")

    @classmethod
    def report_figures(cls, runs, problems) -> list:
        from biobench.amortized.report_figures import amortized_diagnostics

        return amortized_diagnostics(runs, problems)

    class Options(PluginOptions):
        datasets: int = Field(1000, ge=20)  # simulations to train on (charged)
        proxy_weight: float = Field(1.0, ge=0)  # weight of the reconstruction through the proxy network
        layers: int = Field(3, ge=1)
        width: int = Field(256, ge=4)
        time_limit: float = Field(60.0, gt=0)  # training seconds, both networks
        max_epochs: int = Field(3000, ge=1)  # per network; early stopping usually ends training first
        train_seed: int = Field(0, ge=0)
        retrain: bool = False
        device: Literal["auto", "cpu", "cuda"] = "auto"

    evaluate_estimate = True  # the spares' instance does not: the starts' design did (and was charged)

    def pilot_evaluations(self) -> int:
        return self.settings.datasets + 1  # + the true evaluation of the network's estimate

    def for_spares(self) -> AmortizedInitializer:
        spares = super().for_spares()
        spares.evaluate_estimate = False
        return spares

    def model_folder(self, problem: Problem, store: EvaluationStore) -> Path:
        """Named by the problem's measurement layout, not its data: the network reads any dataset measured
        the same way, which is what amortized means (a new dataset costs one forward pass)."""
        return self.network_folder(store, problem, layout_key(problem))

    def sample(self, problem: Problem, n_starts: int, rng: np.random.Generator) -> np.ndarray:
        return self.generate(problem, n_starts, rng).points

    def _design(self, problem: Problem, n_starts: int, rng: np.random.Generator,
                store: EvaluationStore | None, progress: ProgressCallback) -> StartDesign:
        from biobench.amortized import network
        from biobench.engines import likelihood_for
        from biobench.saved_networks import resolve_device, trained_or_loaded

        started = time.perf_counter()
        device = resolve_device(self.settings.device)
        likelihood = likelihood_for(problem, "roadrunner")
        folder = self.model_folder(problem, store) if store is not None else None
        model, config, reused = trained_or_loaded(
            folder, _WEIGHTS, network.empty_model, "amortized: the saved network", "--init-option retrain=true",
            device, self.settings.retrain, lambda: self._train(problem, likelihood, device, progress))
        inference_started = time.perf_counter()
        estimate = model.estimate(problem.experiments.measured)[0]
        inference_seconds = time.perf_counter() - inference_started
        estimate_fval = (likelihood.fval(problem.lower + estimate * (problem.upper - problem.lower))  # charged: + 1
                         if self.evaluate_estimate else float("nan"))
        estimate_seconds = time.perf_counter() - inference_started
        others, how = self._around_estimate(model, likelihood, estimate, config, n_starts - 1, rng)
        unit = np.vstack([estimate, others])[:n_starts]
        report = {self.name: {
            "reused": reused, "inference_seconds": inference_seconds,
            "estimate_fval": float(estimate_fval),
            "estimate": (problem.lower + estimate * (problem.upper - problem.lower)).round(6).tolist(),  # scaled
            "other_starts": how, "seconds_this_run": time.perf_counter() - started,
            "model_folder": None if folder is None else str(folder),
            **{k: config[k] for k in ("datasets", "training_seconds", "epochs", "proxy")},
        }}
        return StartDesign(problem.lower + unit * (problem.upper - problem.lower),
                           pilot_evals=int(config["cost"]["evals"]) + int(self.evaluate_estimate),
                           pilot_seconds=float(config["cost"]["seconds"]) + estimate_seconds, diagnostics=report)

    def _around_estimate(self, model, likelihood, estimate: np.ndarray, config: dict, n: int,
                         rng: np.random.Generator) -> tuple[np.ndarray, str]:
        """The other starts: the network's estimates for the data measured again (a parametric bootstrap,
        noise drawn around the measurements with the sigma the estimate implies), which shows how far the
        estimate moves with measurement noise and costs no simulation (the proxy predicts the estimate's
        observables). Where sigma depends on parameters or states (PEtab noise formulas), draws around the
        estimate with the network's validation RMSE instead, truncated to the bounds."""
        problem = likelihood.problem
        measured = problem.experiments.measured
        if problem.synthetic:
            from biobench.amortized.datasets import noise_sigma

            predicted = model.proxy.predict(problem.lower + estimate * (problem.upper - problem.lower))[0]
            sigma = noise_sigma(likelihood, predicted, None)
        else:
            sigma = problem.experiments.numeric_sigma()
        if sigma is None or n <= 0:
            spread = np.maximum(np.asarray(config["training"]["validation_rmse"]), 1e-3)
            return around(estimate, spread, n, rng), "around the estimate, N(0, validation RMSE^2) per parameter"
        draws = likelihood.sample_measurements(np.tile(measured, (n, 1)), np.tile(sigma, (n, 1)), rng)
        draws = np.where(np.isfinite(draws), draws, measured)
        return np.clip(model.estimate(draws), 0.0, 1.0), "the network's estimates for the data measured again"

    def _train(self, problem: Problem, likelihood, device: str, progress: ProgressCallback):
        from biobench.amortized import datasets as simulated
        from biobench.amortized import network
        from biobench.surrogate.network import NetworkSpec

        settings = self.settings
        started = time.perf_counter()
        rng = np.random.default_rng(settings.train_seed)
        x = initializers.get("lhs")().sample(problem, settings.datasets, rng)
        data = simulated.simulate_datasets(likelihood, x, progress)
        if len(data.x) < 20:
            raise ProblemError(f"{problem.problem_id}: {data.cost['failed']} of {settings.datasets} simulated "
                               f"datasets failed ({', '.join(data.cost['failure_reasons'])}); too few remain to "
                               "train the amortized network. Narrow the bounds or loosen the integrator settings.")
        progress("amortized: training", 0, 1)
        n_measurements = likelihood.experiments.n_measurements
        spec = NetworkSpec(n_measurements, problem.n_parameters, settings.layers, settings.width)  # inference
        proxy_spec = NetworkSpec(problem.n_parameters, n_measurements)
        training = network.AmortizedTraining(proxy_weight=settings.proxy_weight, time_limit=settings.time_limit,
                                             max_epochs=settings.max_epochs, seed=settings.train_seed)
        model, summary = network.train(data, likelihood, spec, proxy_spec, training, device)
        progress("amortized: training", 1, 1)
        config = {"problem_key": problem.key, "options": self.network_options(),
                  "inference": summary["inference"], "proxy_network": summary["proxy_network"],
                  "training": summary, "datasets": data.cost, "training_seconds": round(summary["seconds"], 3),
                  "epochs": summary["epochs"], "proxy": summary["proxy"],
                  "cost": {"evals": settings.datasets, "seconds": time.perf_counter() - started}}
        return model, config


def around(center: np.ndarray, spread: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` points from N(center, spread^2) per coordinate, truncated to [0, 1] (scipy's truncnorm)."""
    from scipy.stats import truncnorm

    if n <= 0:
        return np.empty((0, len(center)))
    a, b = (0.0 - center) / spread, (1.0 - center) / spread
    return truncnorm.rvs(a, b, loc=center, scale=spread, size=(n, len(center)), random_state=rng)


def layout_key(problem: Problem) -> str:
    """What a dataset of ``problem`` is, without its values: model, parameters and bounds, measurement
    layout and noise model. Two synthetic problems that differ only in their data share it."""
    exp = problem.experiments
    noise = problem.settings.noise.model_dump(mode="json") if problem.synthetic else exp.noise_parameters.values
    layout = [problem.model.sha256, problem.parameter_ids, problem.scales, problem.lower, problem.upper, exp.times,
              exp.observable_index, exp.row, [repr(spec) for spec in exp.observables], noise,
              problem.settings.integrator.model_dump(mode="json"),
              None if problem.synthetic else exp.describe()]
    return hashlib.sha256(json.dumps(layout, default=_plain, sort_keys=True).encode()).hexdigest()


def _plain(value):
    return np.asarray(value).tolist()
