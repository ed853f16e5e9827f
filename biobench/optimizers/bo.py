"""Bayesian optimization: scikit-optimize's GP (``bo``) and optuna's samplers (``bo-tpe``, ``bo-gp``).

All work in scaled space; the initializer's points are the initial design. The
surrogates model asinh(fval): the negative log-likelihood spans many decades between
a bad start and the optimum, and a GP fitted to raw values sees only the worst points.
asinh is monotone (the minimizer is unchanged), handles negative values, and is
logarithmic for large ones. A failed simulation is shown to the surrogate as the worst
value seen so far.

A Gaussian process costs O(n^3) per iteration in the number of evaluated points, so
the GP variants stop at ``max_evals`` (default 50: about 13 s per start for 7 parameters on 2
cores, growing cubically) even when the budget allows more;
the record shows how many evaluations they used.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Literal

import numpy as np

from pydantic import Field

from biobench.objective import Objective
from biobench.optimizers.base import Optimizer, optimizers, penalized, seed_from
from biobench.plugins import PluginOptions


class _Surrogate:
    """The objective as a surrogate model should see it: finite and on an asinh scale."""

    def __init__(self, objective: Objective) -> None:
        self.objective = objective
        self.worst = None

    def __call__(self, x) -> float:
        value = np.arcsinh(self.objective.fval(np.asarray(x, dtype=float)))
        if np.isfinite(value):
            self.worst = value if self.worst is None else max(self.worst, value)
        return float(penalized(value, self.worst if self.worst is not None else 1e3))


class GaussianProcessOptions(PluginOptions):
    n_initial: int = Field(10, ge=1)  # initial design points, drawn from the initializer
    max_evals: int = Field(50, ge=1)  # library calls (a repeated point is free); a GP costs O(n^3) per step


@optimizers.register("bo")
class SkoptGaussianProcess(Optimizer):
    description = "Bayesian optimization, scikit-optimize GP (Matern 5/2), gp_hedge acquisition"

    class Options(GaussianProcessOptions):
        acq_func: Literal["gp_hedge", "EI", "PI", "LCB"] = "gp_hedge"
        n_restarts_optimizer: int = Field(2, ge=1)
        n_points: int = Field(2000, ge=1)

    def n_start_points(self) -> int:
        return self.options["n_initial"]

    def _run(self, objective: Objective, x0: np.ndarray, rng: np.random.Generator, artifacts: Path | None) -> tuple:
        from skopt import gp_minimize

        n_calls = self.options["max_evals"]
        design = [list(map(float, x)) for x in x0[:n_calls]]
        if n_calls <= len(design):  # no room for a model-based step: the design is all there is
            for x in design:
                objective.fval(np.asarray(x))
            return "stopped", f"max_evals {n_calls} reached within the initial design"
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # skopt warns about repeated points near convergence
            gp_minimize(
                _Surrogate(objective),
                dimensions=list(zip(map(float, objective.lower), map(float, objective.upper))),
                n_calls=n_calls,
                x0=design,
                n_initial_points=0,
                acq_func=self.options["acq_func"],
                n_restarts_optimizer=self.options["n_restarts_optimizer"],
                n_points=self.options["n_points"],
                random_state=seed_from(rng),
            )
        return "stopped", f"{objective.n_evals} evaluations (max_evals {self.options['max_evals']})"


class _OptunaOptimizer(Optimizer):
    """Optuna study over the scaled box; the initializer's points are enqueued first."""

    def n_start_points(self) -> int:
        return self.options["n_initial"]

    def _sampler(self, seed: int):
        raise NotImplementedError

    def _run(self, objective: Objective, x0: np.ndarray, rng: np.random.Generator, artifacts: Path | None) -> tuple:
        import optuna

        optuna.logging.set_verbosity(optuna.logging.ERROR)  # per-trial chatter and optional-speed-up notes
        names = [f"x{i}" for i in range(objective.dim)]
        surrogate = _Surrogate(objective)

        def trial_value(trial) -> float:
            x = [trial.suggest_float(n, float(lo), float(up)) for n, lo, up in
                 zip(names, objective.lower, objective.upper)]
            return surrogate(x)

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # experimental-feature warnings of optuna's samplers
            study = optuna.create_study(direction="minimize", sampler=self._sampler(seed_from(rng)))
            for point in x0:
                study.enqueue_trial(dict(zip(names, map(float, point))))
            study.optimize(trial_value, n_trials=self.options["max_evals"], catch=())
        return "stopped", f"{objective.n_evals} evaluations (max_evals {self.options['max_evals']})"


@optimizers.register("bo-tpe")
class OptunaTPE(_OptunaOptimizer):
    description = "Bayesian optimization, optuna TPESampler (multivariate); cheap per step, uses the whole budget"

    class Options(GaussianProcessOptions):
        max_evals: int = Field(100_000, ge=1)  # TPE is cheap per step: the budget ends it

    def _sampler(self, seed: int):
        import optuna

        return optuna.samplers.TPESampler(seed=seed, multivariate=True, n_startup_trials=self.options["n_initial"])


@optimizers.register("bo-gp")
class OptunaGP(_OptunaOptimizer):
    description = "Bayesian optimization, optuna GPSampler (needs torch)"

    Options = GaussianProcessOptions

    def _sampler(self, seed: int):
        import optuna

        return optuna.samplers.GPSampler(seed=seed, n_startup_trials=self.options["n_initial"],
                                         deterministic_objective=True)
