"""Local gradient-based optimizers from scipy, bounded, with finite-difference gradients, or the engine's
exact ones where it has them (``--engine amici``: forward sensitivities for least squares' Jacobian, the
cheaper of forward and adjoint for L-BFGS-B's gradient, each solve charged its measured cost).

Finite differences go through the objective like any other evaluation, so they are
counted against the budget. Forward differences use a relative step of 1e-5 in
scaled space: the default sqrt(machine eps) would difference CVODE's own error
(relative tolerance 1e-8) rather than the model. Near an optimum forward differences
are mostly integrator error, so ``local`` ends with a few iterations of central
differences (step 1e-4) from where the forward run stopped, as ``fides`` does (see its
module for the measured gradient errors). Variables are scaled by the Jacobian's column
norms (``x_scale="jac"``): on Boehm the unscaled trust region crawled along a flat
direction towards the bounds and stopped at 138.34, central differences or not; scaled,
the same start reaches 138.227 (optimum 138.222) in half the evaluations.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import numpy as np
from pydantic import Field
from scipy.optimize import least_squares, minimize

from biobench.objective import Objective
from biobench.optimizers.base import Optimizer, optimizers
from biobench.outcome import Outcome
from biobench.plugins import PluginOptions

# A failed simulation is +inf to the objective; scipy's solvers need finite numbers,
# so they see a value far worse than any real fit instead.
_PENALTY_RESIDUAL = 1e8
_PENALTY_FVAL = 1e100


@optimizers.register("local")
class LeastSquaresOptimizer(Optimizer):
    description = "scipy least_squares, trust-region reflective on the weighted residuals (bounded)"

    class Options(PluginOptions):
        ftol: float = Field(1e-8, ge=0)
        xtol: float = Field(1e-8, ge=0)
        gtol: float = Field(1e-8, ge=0)
        diff_step: float = Field(1e-5, gt=0)  # relative finite-difference step in scaled space
        # forward-then-central: forward differences, then at most polish_iterations central ones
        differences: Literal["forward", "central", "forward-then-central"] = "forward-then-central"
        central_step: float = Field(1e-4, gt=0)
        polish_iterations: int = Field(5, ge=1)
        x_scale: Literal["jac", "unit"] = "jac"  # jac: scipy's scaling by the Jacobian's column norms

    def needs(self) -> str | None:
        return "jacobian"

    def _run(self, objective: Objective, x0: np.ndarray, rng: np.random.Generator, artifacts: Path | None) -> Outcome:
        def residuals(x: np.ndarray) -> np.ndarray:
            r = objective.residuals(x)
            return np.where(np.isfinite(r), r, _PENALTY_RESIDUAL)

        def solve(start: np.ndarray, jac, step: float | None, max_nfev: int):
            return least_squares(
                residuals,
                start,
                bounds=(objective.lower, objective.upper),
                method="trf",
                jac=jac,
                diff_step=step,
                ftol=self.settings.ftol,
                xtol=self.settings.xtol,
                gtol=self.settings.gtol,
                x_scale="jac" if self.settings.x_scale == "jac" else 1.0,
                max_nfev=max_nfev,  # trf counts steps, not Jacobian probes; the objective enforces the budget
            )

        def differences(start: np.ndarray, central: bool, max_nfev: int):
            return solve(start, "3-point" if central else "2-point",
                         (self.settings.central_step if central else self.settings.diff_step), max_nfev)

        if objective.has_jacobian:  # the engine's forward-sensitivity Jacobian: exact, no polish needed
            def jacobian(x: np.ndarray) -> np.ndarray:
                d = objective.derivatives(x, "forward")
                return d.jacobian if np.isfinite(d.fval) else np.zeros_like(d.jacobian)

            result = solve(x0, jacobian, None, max_nfev=10**9)
            return Outcome.ended(result.status > 0, f"{result.message} (forward sensitivities)")
        kind = self.settings.differences
        result = differences(x0, central=kind == "central", max_nfev=10**9)
        message = result.message
        if kind == "forward-then-central" and objective.best_x is not None:
            polish = differences(objective.best_x, central=True, max_nfev=self.settings.polish_iterations)
            message = f"{message} Polished with central differences: {polish.message}"
        return Outcome.ended(result.status > 0, message)


@optimizers.register("lbfgsb")
class LbfgsbOptimizer(Optimizer):
    description = "scipy L-BFGS-B on the negative log-likelihood (bounded, finite-difference gradient)"

    class Options(PluginOptions):
        ftol: float = Field(1e-10, ge=0)
        gtol: float = Field(1e-6, ge=0)
        diff_step: float = Field(1e-5, gt=0)
        maxcor: int = Field(10, ge=1)

    def needs(self) -> str | None:
        return "gradient"

    def _run(self, objective: Objective, x0: np.ndarray, rng: np.random.Generator, artifacts: Path | None) -> Outcome:
        def fval(x: np.ndarray) -> float:
            f = objective.fval(x)
            return f if np.isfinite(f) else _PENALTY_FVAL

        exact = objective.has_gradient
        method = objective.gradient_method if exact else None

        def fval_gradient(x: np.ndarray) -> tuple[float, np.ndarray]:
            d = objective.derivatives(x, method)
            return (d.fval, d.gradient) if np.isfinite(d.fval) else (_PENALTY_FVAL, np.zeros(len(x)))

        result = minimize(
            fval_gradient if exact else fval,
            x0,
            jac=exact,
            method="L-BFGS-B",
            bounds=list(zip(objective.lower, objective.upper)),
            options={
                "ftol": self.settings.ftol,
                "gtol": self.settings.gtol,
                "eps": self.settings.diff_step,
                "maxcor": self.settings.maxcor,
                "maxfun": 10**9,
                "maxiter": 10**9,
            },
        )
        return Outcome.ended(result.success, str(result.message))
