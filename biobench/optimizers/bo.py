"""Bayesian optimization with optuna's samplers (``bo-tpe``, ``bo-gp``), and what every BO variant shares.

All work in scaled space; the initializer's points are the initial design. The
surrogates model asinh(fval): the negative log-likelihood spans many decades between
a bad start and the optimum, and a GP fitted to raw values sees only the worst points.
asinh is monotone (the minimizer is unchanged), handles negative values, and is
logarithmic for large ones. A failed simulation is shown to the surrogate as the worst
value seen so far. ``bo`` (scikit-optimize's GP) is in ``gp_bo.py``.

A Gaussian process costs O(n^3) per refit in the number of evaluated points, so the GP
variants stop at ``max_evals`` even when the budget allows more; the run header and
the record show how many evaluations they used.
"""

from __future__ import annotations

import warnings
from typing import Literal
from pathlib import Path

import numpy as np

from pydantic import Field

from biobench.objective import Objective
from biobench.optimizers.base import Optimizer, local_phase_needs, optimizers, penalized, seed_from
from biobench.outcome import Outcome
from biobench.plugins import PluginOptions


class AsinhSurrogate:
    """The objective as a surrogate model should see it: finite and on an asinh scale."""

    def __init__(self, objective: Objective) -> None:
        self.objective = objective
        self.worst = None

    def __call__(self, x) -> float:
        value = np.arcsinh(self.objective.fval(np.asarray(x, dtype=float)))
        if np.isfinite(value):
            self.worst = value if self.worst is None else max(self.worst, value)
        return float(penalized(value, self.worst if self.worst is not None else 1e3))


class ModelBasedOptions(PluginOptions):
    n_initial: int = Field(10, ge=1)  # initial design points, drawn from the initializer
    max_evals: int = Field(50, ge=1)  # evaluations of the search, design included; a GP costs O(n^3) per refit
    # then a local search from the best point with the rest of the start's budget (charged to the start):
    # BO finds basins, not their bottoms (BIOMD0000000012: cvae + bo converged 0 of 10 starts without it)
    polish: Literal["local", "fides", "none"] = "local"


class ModelBasedOptimizer(Optimizer):
    """A BO method: an initial design from the initializer, at most min(budget, max_evals) evaluations of the
    search, then (``polish``) a local optimizer from the best point with what is left of the budget."""

    def n_start_points(self) -> int:
        return self.settings.n_initial

    def evaluations_used(self, budget: int) -> int:
        return budget if self.settings.polish != "none" else min(budget, self.settings.max_evals)

    def needs(self) -> str | None:
        return local_phase_needs(self.settings.polish)

    def _run(self, objective: Objective, x0: np.ndarray, rng: np.random.Generator, artifacts: Path | None) -> Outcome:
        searched = self._search(objective, x0, rng, artifacts)
        left = objective.remaining
        if self.settings.polish == "none" or objective.best_x is None or (left is not None and left < 1):
            return searched
        polished = optimizers.get(self.settings.polish)().minimize(objective, objective.best_x, rng)
        return Outcome(polished.status,
                       f"{searched.message}; then {self.settings.polish} from the best point: {polished.message}")

    def _search(self, objective: Objective, x0: np.ndarray, rng: np.random.Generator,
                artifacts: Path | None) -> Outcome:
        """The BO search itself."""
        raise NotImplementedError


class _OptunaOptimizer(ModelBasedOptimizer):
    """Optuna study over the scaled box; the initializer's points are enqueued first."""

    def _sampler(self, seed: int):
        raise NotImplementedError

    def _search(self, objective: Objective, x0: np.ndarray, rng: np.random.Generator,
                artifacts: Path | None) -> Outcome:
        import optuna

        optuna.logging.set_verbosity(optuna.logging.ERROR)  # per-trial chatter and optional-speed-up notes
        names = [f"x{i}" for i in range(objective.dim)]
        surrogate = AsinhSurrogate(objective)

        def trial_value(trial) -> float:
            x = [trial.suggest_float(n, float(lo), float(up)) for n, lo, up in
                 zip(names, objective.lower, objective.upper)]
            return surrogate(x)

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # experimental-feature warnings of optuna's samplers
            study = optuna.create_study(direction="minimize", sampler=self._sampler(seed_from(rng)))
            for point in x0:
                study.enqueue_trial(dict(zip(names, map(float, point))))
            study.optimize(trial_value, n_trials=self.settings.max_evals, catch=())
        return Outcome.stopped(f"{objective.n_evals} evaluations (max_evals {self.settings.max_evals})")


@optimizers.register("bo-tpe")
class OptunaTPE(_OptunaOptimizer):
    description = ("Bayesian optimization, optuna TPESampler (multivariate); about 4 ms per step at 100 points in 7 "
                   "dimensions (2 cores), uses the whole budget")

    class Options(ModelBasedOptions):
        max_evals: int = Field(100_000, ge=1)  # TPE is cheap per step: the budget ends it

    def _sampler(self, seed: int):
        import optuna

        return optuna.samplers.TPESampler(seed=seed, multivariate=True, n_startup_trials=self.settings.n_initial)


@optimizers.register("bo-gp")
class OptunaGP(_OptunaOptimizer):
    description = ("Bayesian optimization, optuna GPSampler (torch); about 0.2 s per step at 100 points in 7 "
                   "dimensions (2 cores); stops at max_evals")

    Options = ModelBasedOptions

    def _sampler(self, seed: int):
        import optuna

        return optuna.samplers.GPSampler(seed=seed, n_startup_trials=self.settings.n_initial,
                                         deterministic_objective=True)
