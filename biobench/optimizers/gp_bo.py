"""``--opt bo``: Gaussian-process Bayesian optimization on scikit-optimize's GP, cheap per step.

The GP (amplitude x Matern 5/2 with one length scale per parameter, fitted noise,
normalised targets: what ``skopt.utils.cook_estimator("GP")`` builds) and the acquisition
functions (``skopt.acquisition``) are scikit-optimize's. The loop around them is written
here because ``gp_minimize`` spends its time where it does not need to: it re-optimizes the
kernel hyperparameters with restarts at every step and polishes the acquisition with
L-BFGS-B on one point at a time (0.6 s per step at 100 points in 7 dimensions on 2 cores;
15 ms here). Here:

- hyperparameters are re-optimized (warm-started, at most 30 L-BFGS-B iterations) when the
  number of points has grown by ``refit_growth`` since the last time; in between the GP
  is refitted to the new points with the last hyperparameters (one Cholesky factorization);
- the acquisition is maximized over ``n_points`` uniform candidates plus as many around the
  best points seen, then polished by a second, narrower batch around the winner: every
  candidate is scored in one batched prediction;
- the predictive variance of a batch is one triangular solve (skopt uses an einsum without
  BLAS, most of a step at 300 points).

``benchmarks/bo_overhead.py`` measures the cost per step. A GP refit is still O(n^3) in the
points, so ``max_evals`` ends a start even when the budget allows more.
"""

from __future__ import annotations

import functools
import warnings
from pathlib import Path
from typing import Literal

import numpy as np
from pydantic import Field

from biobench.objective import Objective
from biobench.optimizers.base import optimizers, seed_from
from biobench.optimizers.bo import AsinhSurrogate, ModelBasedOptimizer, ModelBasedOptions
from biobench.outcome import Outcome

_WARM_REFIT_ITERATIONS = 30
_LOCAL_WIDTH = 0.05  # candidates around the best points: normal, this sd in the unit box
_POLISH_WIDTH = 0.01  # the second batch around the winner
_N_ANCHORS = 5  # best points whose neighbourhoods get candidates


@functools.cache
def _gp_class():
    """skopt's GP with a faster batched ``predict`` (imported on first use: skopt takes seconds to import)."""
    from skopt.learning import GaussianProcessRegressor

    from scipy.linalg import solve_triangular

    class BlasVarianceGP(GaussianProcessRegressor):
        """diag(K* K^-1 K*^T) as |L^-1 K*^T|^2 (one BLAS triangular solve, as sklearn's own GP does; better
        conditioned than skopt's explicit inverse); every other call is skopt's own."""

        def predict(self, X, return_std=False, return_cov=False, return_mean_grad=False, return_std_grad=False):
            if not return_std or return_cov or return_mean_grad or return_std_grad or not hasattr(self, "L_"):
                return super().predict(X, return_std, return_cov, return_mean_grad, return_std_grad)
            X = np.asarray(X, dtype=float)
            k_trans = self.kernel_(X, self.X_train_)
            mean = self.y_train_std_ * (k_trans @ self.alpha_) + self.y_train_mean_
            v = solve_triangular(self.L_, k_trans.T, lower=True, check_finite=False)
            variance = self.kernel_.diag(X) - np.einsum("ij,ij->j", v, v)
            return mean, np.sqrt(np.clip(variance, 0.0, None) * self.y_train_std_**2)

    return BlasVarianceGP


def gaussian_process(n_dims: int, seed: int, previous=None):
    """A GP for the unit box: skopt's default kernel, or ``previous``'s fitted hyperparameters held fixed.

    ``seed`` seeds the random restarts of the hyperparameter search (sklearn draws them from
    numpy's global state otherwise, and the run would not be reproducible).

    skopt zeroes the fitted noise term of ``kernel_`` for prediction (the level is kept in
    ``noise_``); it is put back so a refit with fixed hyperparameters has the same noise model.
    """
    from skopt.learning.gaussian_process.kernels import ConstantKernel, Matern, WhiteKernel

    if previous is None:
        kernel = ConstantKernel(1.0, (0.01, 1000.0)) * Matern(length_scale=np.ones(n_dims),
                                                              length_scale_bounds=[(0.01, 100)] * n_dims, nu=2.5)
        return _gp_class()(kernel=kernel, normalize_y=True, noise="gaussian", n_restarts_optimizer=2,
                           random_state=seed)
    kernel = previous.kernel_.k1 + WhiteKernel(noise_level=max(previous.noise_ or 1e-5, 1e-5))
    return _gp_class()(kernel=kernel, normalize_y=True, noise="gaussian", optimizer=None, random_state=seed)


def _warm_hyperparameter_search(obj_func, initial_theta, bounds):
    """sklearn's GP optimizer with an iteration cap: it starts from the last hyperparameters, which are close."""
    from scipy.optimize import minimize

    result = minimize(obj_func, initial_theta, jac=True, method="L-BFGS-B", bounds=bounds,
                      options={"maxiter": _WARM_REFIT_ITERATIONS})
    return result.x, result.fun


@optimizers.register("bo")
class SkoptGaussianProcess(ModelBasedOptimizer):
    description = ("Bayesian optimization on scikit-optimize's GP (Matern 5/2) with EI; about 15 ms per step at "
                   "100 points in 7 dimensions (2 cores), more as points grow; stops at max_evals")

    class Options(ModelBasedOptions):
        max_evals: int = Field(200, ge=1)
        acq_func: Literal["EI", "PI", "LCB"] = "EI"
        xi: float = Field(0.01, ge=0)  # EI/PI exploration margin (asinh units)
        kappa: float = Field(1.96, ge=0)  # LCB exploration weight
        n_points: int = Field(1000, ge=10)  # uniform acquisition candidates per step (as many again near the best)
        refit_growth: float = Field(1.2, ge=1.0)  # re-optimize kernel hyperparameters when the points grew this much

    def _search(self, objective: Objective, x0: np.ndarray, rng: np.random.Generator,
                artifacts: Path | None) -> Outcome:
        n_calls = self.settings.max_evals
        lower, span = objective.lower, objective.upper - objective.lower
        surrogate = AsinhSurrogate(objective)
        design = x0[:n_calls]
        units = list((design - lower) / span)
        values = [surrogate(x) for x in design]
        if n_calls <= len(design):  # no room for a model-based step: the design is all there is
            return Outcome.stopped(f"max_evals {n_calls} reached within the initial design")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # sklearn's convergence notes on hyperparameter bounds
            seed = seed_from(rng)
            gp = gaussian_process(objective.dim, seed).fit(np.array(units), np.array(values))
            optimized_at = len(units)
            for _ in range(len(units), n_calls):
                unit = self._next_point(gp, np.array(units), np.array(values), rng)
                units.append(unit)
                values.append(surrogate(lower + unit * span))
                if len(units) >= self.settings.refit_growth * optimized_at:
                    gp = gaussian_process(objective.dim, seed, gp).set_params(optimizer=_warm_hyperparameter_search)
                    optimized_at = len(units)
                else:
                    gp = gaussian_process(objective.dim, seed, gp)
                gp.fit(np.array(units), np.array(values))
        return Outcome.stopped(f"{objective.n_evals} evaluations (max_evals {n_calls})")

    def _next_point(self, gp, units: np.ndarray, values: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """The best candidate of a uniform batch and batches near the best points, then polished nearby."""
        n, dim = self.settings.n_points, units.shape[1]
        anchors = units[np.argsort(values)[:_N_ANCHORS]]
        near = anchors[rng.integers(0, len(anchors), n)] + rng.normal(0.0, _LOCAL_WIDTH, (n, dim))
        candidates = np.clip(np.vstack([rng.uniform(size=(n, dim)), near]), 0.0, 1.0)
        best = candidates[np.argmax(self._score(gp, candidates, values.min()))]
        polish = np.clip(best + rng.normal(0.0, _POLISH_WIDTH, (n // 4, dim)), 0.0, 1.0)
        candidates = np.vstack([best[None, :], polish])
        return candidates[np.argmax(self._score(gp, candidates, values.min()))]

    def _score(self, gp, candidates: np.ndarray, y_best: float) -> np.ndarray:
        """The acquisition, higher is better."""
        from skopt.acquisition import gaussian_ei, gaussian_lcb, gaussian_pi

        acq = self.settings.acq_func
        if acq == "LCB":
            return -gaussian_lcb(candidates, gp, kappa=self.settings.kappa)
        scorer = gaussian_ei if acq == "EI" else gaussian_pi
        return scorer(candidates, gp, y_opt=y_best, xi=self.settings.xi)
