"""``--opt fides``: the fides trust-region optimizer with a Gauss-Newton (Fisher information) Hessian.

fides (Fröhlich & Sorger 2022) is the optimizer pyPESTO recommends for ODE models: an
interior trust region that reflects at the bounds, solved in a 2-D subspace (or the full
space, ``subspace=full``: 4-5x fewer evaluations on Fujita near its optimum, more on
Boehm's random starts). It is given
the objective's value, the gradient J^T r and the Gauss-Newton Hessian J^T J of the
weighted residuals r (0.5 |r|^2 + const is the objective, so these are exact for the
value and the gradient and the Fisher information for the Hessian).

On an engine with exact sensitivities (``--engine amici``) J is the forward-sensitivity
Jacobian, one solve per iteration charged its measured cost, and fides runs to its own
tolerances without a polish. Otherwise the residual Jacobian J comes from finite differences through the counted objective, so
every probe is charged: forward differences cost n evaluations per iteration, central
ones 2n. Away from an optimum forward differences are accurate enough (relative error
~1e-4 on Boehm at step 1e-5), but at the optimum the gradient is small and their error
is not (66% there, central: 0.8%), so forward runs stop about 0.007 above Boehm's
optimum. By default (``forward-then-central``) a start therefore runs to a loose stopping
tolerance (1e-6) with forward differences, then polishes from there with at most 5
central iterations to fides' own tolerances (1e-8): the cheap Jacobian where it
suffices, the accurate one where it matters (``benchmarks/petab_convergence.py`` measures
the choices). The Jacobian is written here rather than taken from scipy's private
``approx_derivative`` because the probes must stay inside the bounds and go through the
objective one at a time. A trial point whose simulation fails is a rejected step to
fides (it shrinks the region); a start whose own simulation fails ends with status
"failed".
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Literal

import numpy as np
from pydantic import Field

from biobench.objective import Objective
from biobench.optimizers.base import Optimizer, optimizers
from biobench.outcome import Outcome
from biobench.plugins import PluginOptions


def residual_jacobian(objective: Objective, x: np.ndarray, r0: np.ndarray, step: float, central: bool) -> np.ndarray:
    """d r / d x by finite differences in scaled space, each probe an evaluation of ``objective``.

    The step is ``step * max(1, |x_i|)``; a forward probe that would leave the box goes
    backwards instead, a central pair is shifted to fit. A probe whose simulation fails
    gives a zero column (that parameter is held for this iteration).
    """
    jac = np.zeros((len(r0), len(x)))
    for i in range(len(x)):
        h = step * max(1.0, abs(x[i]))
        if central:
            low, high = max(x[i] - h, objective.lower[i]), min(x[i] + h, objective.upper[i])
            r_low, r_high = _probe(objective, x, i, low), _probe(objective, x, i, high)
            if r_low is not None and r_high is not None and high > low:
                jac[:, i] = (r_high - r_low) / (high - low)
            continue
        target = x[i] + h if x[i] + h <= objective.upper[i] else x[i] - h
        r = _probe(objective, x, i, target)
        if r is not None:
            jac[:, i] = (r - r0) / (target - x[i])
    return jac


def _probe(objective: Objective, x: np.ndarray, i: int, value: float) -> np.ndarray | None:
    moved = x.copy()
    moved[i] = value
    r = objective.residuals(moved)
    return r if np.isfinite(r).all() else None


@optimizers.register("fides")
class FidesOptimizer(Optimizer):
    description = ("fides trust region (reflective, 2-D subspace) with the Gauss-Newton Hessian J^T J of the "
                   "residuals; finite-difference Jacobian, forward then a central-difference polish by default")

    class Options(PluginOptions):
        # forward: n probes per iteration; central: 2n, accurate near an optimum; forward-then-central:
        # forward to the loose tolerances below, then central to the polish tolerances.
        differences: Literal["forward", "central", "forward-then-central"] = "forward-then-central"
        diff_step: float = Field(1e-5, gt=0)  # forward step, relative to max(1, |x|) in scaled space
        central_step: float = Field(1e-4, gt=0)  # central step (error O(h^2): a larger step is best)
        fatol: float = Field(1e-6, ge=0)  # stopping tolerances of the forward stage (and of forward alone)
        frtol: float = Field(1e-6, ge=0)
        polish_ftol: float = Field(1e-8, ge=0)  # fatol = frtol of a central stage (fides' defaults)
        polish_iterations: int = Field(5, ge=1)  # of the central stage after a forward one
        gatol: float = Field(1e-6, ge=0)
        subspace: Literal["2D", "full"] = "2D"  # the trust-region subproblem: fides' 2-D subspace, or exact
        # the Hessian: Gauss-Newton J^T J; or fides' FX, which blends in a BFGS correction where the residuals
        # are large (where J^T J misses curvature: Fletcher and Xu; better on large problems in Fröhlich and
        # Sorger 2022); or Gauss-Newton for 20 iterations, then BFGS
        hessian: Literal["gn", "fx", "gn-then-bfgs"] = "gn"

    added_later = {"hessian": "gn"}

    def needs(self) -> str | None:
        return "jacobian"

    def _run(self, objective: Objective, x0: np.ndarray, rng: np.random.Generator, artifacts: Path | None) -> Outcome:
        if not np.isfinite(objective.fval(x0)):
            return Outcome.failed("the simulation at the start point fails")
        logging.getLogger("fides").setLevel(logging.ERROR)  # per-iteration lines; the exit flag is in the record
        if objective.has_jacobian:  # exact Jacobian: no differences, no polish, fides' own tolerances
            flag = self._stage(objective, x0, central=False, ftol=(self.settings.polish_ftol,) * 2, exact=True)
            return _ending(flag, " (forward sensitivities)")
        differences = self.settings.differences
        if differences == "central":
            return _ending(self._stage(objective, x0, central=True, ftol=(self.settings.polish_ftol,) * 2))
        flag = self._stage(objective, x0, central=False, ftol=(self.settings.fatol, self.settings.frtol))
        if differences == "forward":
            return _ending(flag)
        polish = self._stage(objective, objective.best_x, central=True, ftol=(self.settings.polish_ftol,) * 2,
                             max_iterations=self.settings.polish_iterations)
        # the forward run's verdict; the polish may stop at its iteration cap
        return _ending(flag, f", then central-difference polish: {polish.name}")

    def _stage(self, objective: Objective, x0: np.ndarray, central: bool, ftol: tuple[float, float],
               max_iterations: int = 10**9, exact: bool = False):
        """One fides run from ``x0`` with forward or central differences, or the engine's exact Jacobian; its
        exit flag."""
        import fides

        step = self.settings.central_step if central else self.settings.diff_step

        def evaluated(x: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
            """fval, the weighted residuals and their Jacobian (zeros where the simulation fails)."""
            if exact:
                d = objective.derivatives(x, "forward")
                return d.fval, d.residuals, (d.jacobian if np.isfinite(d.fval) else np.zeros_like(d.jacobian))
            r = objective.residuals(x)
            fval = objective.fval(x)  # the same point: answered from the objective's memory, not simulated again
            if not np.isfinite(fval):
                return fval, r, np.zeros((len(r), len(x)))
            return fval, r, residual_jacobian(objective, x, r, step, central)

        def value_gradient_hessian(x: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
            fval, r, jac = evaluated(x)
            if not np.isfinite(fval):
                return np.inf, np.zeros(len(x)), np.zeros((len(x), len(x)))
            return fval, jac.T @ r, jac.T @ jac

        def residuals_jacobian(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            return evaluated(x)[1:]

        options = {fides.Options.FATOL: ftol[0], fides.Options.FRTOL: ftol[1],
                   fides.Options.GATOL: self.settings.gatol, fides.Options.MAXITER: max_iterations,
                   fides.Options.SUBSPACE_DIM: fides.SubSpaceDim(self.settings.subspace)}
        updates = {"gn": None, "fx": lambda: fides.hessian_approximation.FX(fides.BFGS()),
                   "gn-then-bfgs": lambda: fides.hessian_approximation.HybridFixed(fides.BFGS(), switch_iteration=20)}
        update = updates[self.settings.hessian]
        # FX works on the residuals themselves (fides then minimises 0.5 |r|^2: the objective less its constant)
        structured = self.settings.hessian == "fx"
        solver = fides.Optimizer(residuals_jacobian if structured else value_gradient_hessian, ub=objective.upper,
                                 lb=objective.lower, verbose=logging.ERROR, options=options, resfun=structured,
                                 hessian_update=None if update is None else update())
        solver.minimize(np.array(x0, dtype=float))
        return solver.exitflag


def _ending(flag, more: str = "") -> Outcome:
    """Tolerances met, or no step left to take (trust region at machine precision): a normal end."""
    import fides

    return Outcome.ended(flag > 0 or flag == fides.ExitFlag.DELTA_TOO_SMALL, f"fides: {flag.name}{more}")
