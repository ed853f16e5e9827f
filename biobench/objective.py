"""The objective one start sees: a compiled likelihood, counted and held to the start's budget.

It is the referee of the fair-comparison rules: it counts every evaluation
(finite-difference ones included), refuses to run past the start's budget, turns
failed simulations into ``+inf`` instead of exceptions, and keeps the best-so-far
trace and every evaluated point. Its counts are the truth, not what an optimization
library reports. One is made per start (it is small); the ``Likelihood`` it wraps is
compiled once per problem and shared.

Engines that give exact derivatives (AMICI) answer ``derivatives``: one sensitivity solve,
charged its measured cost in simulation-equivalents (``biobench.engines.costs``), so
``n_evals`` counts simulation-equivalents, fractional where a solve costs a fraction more.

A point evaluated a moment ago is answered again without a new simulation or charge:
samplers such as DEMetropolisZ ask for the current point at every step, finite
differences revisit the centre, and libraries evaluate the start point that the
runner evaluated for ``fval0``.
"""

from __future__ import annotations

import math
import time

import numpy as np

from biobench.likelihood import Derivatives, Likelihood

# How many recently used points are remembered (see the module docstring).
_RECENT = 4


class BudgetExhausted(Exception):
    """Raised by the objective when a start has used its evaluation budget.

    Optimizer plugins let it propagate; the optimizer base class catches it and
    reports the best point found so far.
    """


class Objective:
    """Negative log-likelihood over scaled parameters, for one start: counted, budgeted, traced."""

    def __init__(self, likelihood: Likelihood, budget: int | None = None, time_limit: float | None = None,
                 on_progress=None) -> None:
        if budget is not None and budget <= 0:
            raise ValueError("budget must be a positive number of evaluations")
        self.likelihood = likelihood
        self.budget = budget
        self.time_limit = time_limit  # seconds: a slow model's start ends after the evaluation that passes it
        self.lower, self.upper = likelihood.lower, likelihood.upper
        self.dim = len(self.lower)
        self.n_evals: float = 0  # simulation-equivalents charged: 1 per simulation, a solve's ratio per sensitivity solve
        self.n_failures = 0
        self.best_fval = math.inf
        self.best_x: np.ndarray | None = None
        self.trace: list[tuple[int, float, float]] = []  # (evaluation, best fval so far, seconds)
        self.history: list[tuple[np.ndarray, float]] = []  # every evaluated point: training data for the cvae
        self._failed_residuals = np.full(likelihood.n_residuals, np.inf)
        self._recent: dict[bytes, tuple[np.ndarray, float]] = {}
        self._last_derivatives: tuple[bytes, Derivatives] | None = None  # methods ask for one point again at once
        self._exhausted = False
        # ``on_progress(n_evals)``, about every hundredth of the budget: a progress bar within a start
        self._on_progress = on_progress
        self._report_step = max(1.0, (budget or 100) / 100)
        self._next_report = 0.0
        self._t0 = time.perf_counter()
        self._cpu0 = time.process_time()
        self._sim0 = likelihood.simulator.seconds

    @property
    def simulator(self):
        return self.likelihood.simulator

    @property
    def remaining(self) -> float | None:
        """Simulation-equivalents left; 0 once a charge did not fit (a sensitivity solve dearer than what is left)."""
        if self.budget is None:
            return None
        return 0 if self._exhausted else self.budget - self.n_evals

    @property
    def seconds(self) -> float:
        return time.perf_counter() - self._t0

    @property
    def cpu_seconds(self) -> float:
        """CPU time of this process since the start began (every thread, so a multi-threaded library shows)."""
        return time.process_time() - self._cpu0

    @property
    def has_jacobian(self) -> bool:
        """Whether methods take the engine's exact residual Jacobian (``derivatives(x, "forward")``); otherwise
        fides and least squares difference."""
        return self.likelihood.jacobian_method == "forward"

    @property
    def has_gradient(self) -> bool:
        """Whether methods take the engine's exact gradient (``derivatives(x, gradient_method)``)."""
        return self.likelihood.gradient_method != "differences"

    @property
    def gradient_method(self) -> str:
        """How the gradient is got here: "forward" or "adjoint" sensitivities, or "differences"."""
        return self.likelihood.gradient_method

    @property
    def simulation_seconds(self) -> float:
        """Of ``seconds``, the part spent inside roadrunner."""
        return self.likelihood.simulator.seconds - self._sim0

    def _evaluate(self, x: np.ndarray) -> tuple[np.ndarray, float]:
        """Simulate once per new point; (residuals, fval) of the last few points are remembered."""
        key = x.tobytes()
        known = self._recent.pop(key, None)
        if known is not None:  # a point seen a moment ago is not a new evaluation
            self._recent[key] = known  # most recently used last
            return known
        self._charge(1)  # an int: counts stay integers where no sensitivity solve is charged
        x = x.copy()  # the caller may reuse its array; history and best keep this one
        evaluated = self.likelihood.evaluate(x) if math.isfinite(x @ x) else None  # one cheap NaN/inf check
        return self._book(key, x, evaluated)

    def _charge(self, cost: float) -> None:
        """Count ``cost`` simulation-equivalents, or raise ``BudgetExhausted`` when they do not fit."""
        if self.budget is not None and self.n_evals + cost > self.budget + 1e-9:
            self._exhausted = True  # what is left fits no further solve: the start is over
            raise BudgetExhausted(f"budget of {self.budget} evaluations used")
        if self.time_limit is not None and self.n_evals and self.seconds >= self.time_limit:
            raise BudgetExhausted(f"time limit of {self.time_limit:g} s per start reached after "
                                  f"{self.n_evals:.0f} evaluations")
        self.n_evals += cost
        if self._on_progress is not None and self.n_evals >= self._next_report:
            self._next_report = self.n_evals + self._report_step
            self._on_progress(self.n_evals)

    def _book(self, key: bytes, x: np.ndarray, evaluated) -> tuple[np.ndarray, float]:
        """Count a failure, keep the best and the history, remember the point."""
        if evaluated is None:
            self.n_failures += 1
            evaluated = (self._failed_residuals, math.inf)
        elif evaluated[1] < self.best_fval:
            self.best_fval, self.best_x = evaluated[1], x
            self.trace.append((math.ceil(self.n_evals - 1e-9), evaluated[1], self.seconds))
        self.history.append((x, evaluated[1]))
        if len(self._recent) >= _RECENT:
            del self._recent[next(iter(self._recent))]
        self._recent[key] = evaluated
        return evaluated

    def derivatives(self, x: np.ndarray, method: str = "forward"):
        """Value, gradient and (``method="forward"``) residual Jacobian at scaled ``x`` from one sensitivity
        solve, charged its measured cost; fval ``+inf`` and zero derivatives when the simulation fails.

        Only for engines with ``has_gradient`` (``has_jacobian`` for the forward method). The point's value is remembered, so a following
        ``fval`` or ``residuals`` at it is free.
        """
        x = np.array(x, dtype=float)
        key = x.tobytes()
        if self._last_derivatives is not None and self._last_derivatives[0] == key:
            known = self._last_derivatives[1]
            if known.jacobian is not None or method != "forward":
                return known
        self._charge(self.likelihood.costs.ratio(method))
        result = self.likelihood.derivatives(x, method) if math.isfinite(x @ x) else None
        self._recent.pop(key, None)
        if result is None:
            self._book(key, x, None)
            result = Derivatives(self._failed_residuals, math.inf, np.zeros(self.dim),
                                 None if method != "forward" else np.zeros((len(self._failed_residuals), self.dim)))
        else:
            self._book(key, x, (result.residuals, result.fval))
        self._last_derivatives = (key, result)
        return result

    def residuals(self, x: np.ndarray) -> np.ndarray:
        """Weighted residuals (data - model) / sigma; ``+inf`` everywhere when the simulation fails.

        ``0.5 * sum(residuals**2)`` plus a constant is ``fval``, so least-squares
        solvers minimize exactly the same function (problems whose sigma depends
        on parameters append one residual per measurement for the log(sigma) term).
        """
        return self._evaluate(np.asarray(x, dtype=float))[0].copy()

    def fval(self, x: np.ndarray) -> float:
        """Negative log-likelihood at scaled parameters ``x``; ``+inf`` when the simulation fails."""
        return self._evaluate(np.asarray(x, dtype=float))[1]

    def limited(self, limit: int) -> Objective:
        """A view for one phase of a method (the local searches of a global one): every evaluation is this
        objective's, counted and charged here, while the view stops the phase after ``limit`` of them."""
        return _Limited(self, limit)

    __call__ = fval


class _Limited(Objective):
    """A view of the start's objective that stops a local search after ``limit`` more evaluations.

    It forwards every evaluation to the parent objective (which counts and charges it, and
    may end the start); its own count only caps the local search.
    """

    def __init__(self, parent: Objective, limit: int) -> None:
        remaining = parent.remaining
        super().__init__(parent.likelihood, limit if remaining is None else min(limit, remaining))
        self.parent = parent

    def _evaluate(self, x: np.ndarray):
        if self.budget is not None and self.n_evals >= self.budget:
            raise BudgetExhausted("local search budget used")
        result = self.parent._evaluate(x)  # counted (and budgeted) by the start's objective
        self.n_evals += 1
        if result[1] < self.best_fval:
            self.best_fval, self.best_x = result[1], np.array(x, dtype=float)
        return result

    def derivatives(self, x: np.ndarray, method: str = "forward"):
        """A sensitivity solve charged to the start's objective; its cost counts against this local budget too."""
        cost = self.likelihood.costs.ratio(method)
        if self.budget is not None and self.n_evals + cost > self.budget + 1e-9:
            if self.parent.remaining is not None and self.parent.remaining < cost:
                self.parent.derivatives(x, method)  # no solve fits the start's budget either: it ends the start
            raise BudgetExhausted("local search budget used")
        before = self.parent.n_evals
        result = self.parent.derivatives(x, method)
        self.n_evals += self.parent.n_evals - before
        if result.fval < self.best_fval:
            self.best_fval, self.best_x = result.fval, np.array(x, dtype=float)
        return result
