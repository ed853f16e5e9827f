"""Local gradient-based optimizers from scipy, bounded, with finite-difference gradients.

Finite differences go through the objective like any other evaluation, so they are
counted against the budget. Forward differences use a relative step of 1e-5 in
scaled space: the default sqrt(machine eps) would difference CVODE's own error
(relative tolerance 1e-8) rather than the model.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from pydantic import Field
from scipy.optimize import least_squares, minimize

from biobench.objective import Objective
from biobench.optimizers.base import Optimizer, optimizers
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

    def _run(self, objective: Objective, x0: np.ndarray, rng: np.random.Generator, artifacts: Path | None) -> tuple:
        def residuals(x: np.ndarray) -> np.ndarray:
            r = objective.residuals(x)
            return np.where(np.isfinite(r), r, _PENALTY_RESIDUAL)

        result = least_squares(
            residuals,
            x0,
            bounds=(objective.lower, objective.upper),
            method="trf",
            jac="2-point",
            diff_step=self.options["diff_step"],
            ftol=self.options["ftol"],
            xtol=self.options["xtol"],
            gtol=self.options["gtol"],
            max_nfev=10**9,  # the objective enforces the budget
        )
        return ("stopped" if result.status > 0 else "failed"), result.message


@optimizers.register("lbfgsb")
class LbfgsbOptimizer(Optimizer):
    description = "scipy L-BFGS-B on the negative log-likelihood (bounded, finite-difference gradient)"

    class Options(PluginOptions):
        ftol: float = Field(1e-10, ge=0)
        gtol: float = Field(1e-6, ge=0)
        diff_step: float = Field(1e-5, gt=0)
        maxcor: int = Field(10, ge=1)

    def _run(self, objective: Objective, x0: np.ndarray, rng: np.random.Generator, artifacts: Path | None) -> tuple:
        def fval(x: np.ndarray) -> float:
            f = objective.fval(x)
            return f if np.isfinite(f) else _PENALTY_FVAL

        result = minimize(
            fval,
            x0,
            method="L-BFGS-B",
            bounds=list(zip(objective.lower, objective.upper)),
            options={
                "ftol": self.options["ftol"],
                "gtol": self.options["gtol"],
                "eps": self.options["diff_step"],
                "maxcor": self.options["maxcor"],
                "maxfun": 10**9,
                "maxiter": 10**9,
            },
        )
        return ("stopped" if result.success else "failed"), str(result.message)
