"""The objective every optimizer sees: negative log-likelihood over scaled parameters.

It is also the referee of the fair-comparison rules: it counts every evaluation
(finite-difference ones included), refuses to run past the per-start budget, turns
failed simulations into ``+inf`` instead of exceptions, and keeps the best-so-far
trace. Its counts are the truth, not what an optimization library reports.
"""

from __future__ import annotations

import math
import time

import numpy as np

from biobench.problem import Problem
from biobench.simulator import Simulator


# How many recently used points are remembered: samplers such as DEMetropolisZ ask for
# the current point and the proposal at every step, finite differences revisit the centre.
_RECENT = 4


class BudgetExhausted(Exception):
    """Raised by the objective when a start has used its evaluation budget.

    Optimizer plugins let it propagate; the optimizer base class catches it and
    reports the best point found so far.
    """


class GridFit:
    """Synthetic problems: one simulation on the time grid, Gaussian noise of known sigma."""

    def __init__(self, problem: Problem, simulator: Simulator | None = None) -> None:
        self.simulator = simulator or Simulator(
            problem.model, problem.parameter_ids, problem.observables, problem.settings.integrator
        )
        self._times = problem.timepoints
        self._data = problem.data
        self._inv_sigma = 1.0 / problem.sigma
        self._mask = np.isfinite(problem.data)
        self._const = float(0.5 * np.sum(np.log(2.0 * math.pi * problem.sigma[self._mask] ** 2)))
        self.n_residuals = int(self._mask.sum())
        self._all_measured = bool(self._mask.all())

    def __call__(self, values: np.ndarray) -> tuple[np.ndarray, float] | None:
        """(weighted residuals, negative log-likelihood) at natural-scale values; None when CVODE fails."""
        y = self.simulator.simulate_natural(values, self._times)
        if y is None:
            return None
        res = (self._data - y) * self._inv_sigma
        res = res.ravel() if self._all_measured else res[self._mask]
        return res, 0.5 * float(res @ res) + self._const


class Objective:
    """Negative log-likelihood of a problem's data: synthetic (grid) or PEtab problems alike."""

    def __init__(self, problem: Problem, budget: int | None = None, simulator: Simulator | None = None) -> None:
        if budget is not None and budget < 1:
            raise ValueError("budget must be a positive number of evaluations")
        self.problem = problem
        self.budget = budget
        if problem.experiments is not None:
            from biobench.petab.fit import PetabFit  # sympy and petab load only for PEtab problems

            self.fit = PetabFit(problem)
        else:
            self.fit = GridFit(problem, simulator)
        self.simulator = self.fit.simulator
        self.lower, self.upper = problem.lower, problem.upper
        self._log10 = np.array([s == "log10" for s in problem.scales])
        self._ln = np.array([s == "log" for s in problem.scales])
        self._all_log10 = bool(self._log10.all())
        self._failed_residuals = np.full(self.fit.n_residuals, np.inf)
        self.reset()

    @property
    def dim(self) -> int:
        return self.problem.n_parameters

    def reset(self) -> None:
        """Start counting afresh (a new start of a multistart)."""
        self.n_evals = 0
        self.n_failures = 0
        self.best_fval = math.inf
        self.best_x: np.ndarray | None = None
        self.trace: list[tuple[int, float, float]] = []  # (evaluation, best fval so far, seconds)
        self.history: list[tuple[np.ndarray, float]] = []  # every evaluated point: training data for the cvae
        self._t0 = time.perf_counter()
        self._sim0 = self.simulator.seconds
        self._recent: dict[bytes, tuple[np.ndarray, float]] = {}

    @property
    def remaining(self) -> int | None:
        return None if self.budget is None else self.budget - self.n_evals

    @property
    def seconds(self) -> float:
        return time.perf_counter() - self._t0

    @property
    def simulation_seconds(self) -> float:
        """Of ``seconds``, the part spent inside roadrunner."""
        return self.simulator.seconds - self._sim0

    def _natural(self, x: np.ndarray) -> np.ndarray:
        if self._all_log10:
            return 10.0**x
        v = np.array(x, dtype=float)
        v[self._log10] = 10.0 ** v[self._log10]
        v[self._ln] = np.exp(v[self._ln])
        return v

    def _evaluate(self, x: np.ndarray) -> tuple[np.ndarray, float]:
        """Simulate once per new point; (residuals, fval) of the last few points are remembered."""
        key = x.tobytes()
        known = self._recent.pop(key, None)
        if known is not None:  # a point seen a moment ago is not a new evaluation
            self._recent[key] = known  # most recently used last
            return known
        if self.budget is not None and self.n_evals >= self.budget:
            raise BudgetExhausted(f"budget of {self.budget} evaluations used")
        self.n_evals += 1
        x = x.copy()  # the caller may reuse its array; history and best keep this one
        fitted = self.fit(self._natural(x)) if np.isfinite(x).all() else None
        if fitted is None:
            self.n_failures += 1
            res, fval = self._failed_residuals, math.inf
        else:
            res, fval = fitted
            if fval < self.best_fval:
                self.best_fval, self.best_x = fval, x
                self.trace.append((self.n_evals, fval, self.seconds))
        self.history.append((x, fval))
        if len(self._recent) >= _RECENT:
            del self._recent[next(iter(self._recent))]
        self._recent[key] = (res, fval)
        return res, fval

    def residuals(self, x: np.ndarray) -> np.ndarray:
        """Weighted residuals (data - model) / sigma; ``+inf`` everywhere when the simulation fails.

        ``0.5 * sum(residuals**2)`` plus a constant is ``fval``, so least-squares
        solvers minimize exactly the same function (PEtab problems whose sigma depends
        on parameters append one residual per measurement for the log(sigma) term).
        """
        return self._evaluate(np.asarray(x, dtype=float))[0].copy()

    def fval(self, x: np.ndarray) -> float:
        """Negative log-likelihood at scaled parameters ``x``; ``+inf`` when the simulation fails."""
        return self._evaluate(np.asarray(x, dtype=float))[1]

    __call__ = fval
