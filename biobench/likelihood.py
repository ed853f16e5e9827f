"""A problem compiled once into its negative log-likelihood (log-posterior with priors): the hot path of
every objective.

One roadrunner instance simulates every condition; observables are predicted from
the stacked outputs (a plain gather where a formula is one model symbol, a
vectorized formula otherwise) and scored with PEtab's likelihood. Per measurement,
with ``m`` the measurement, ``y`` the prediction, ``h`` the observable transformation
(identity, ln, log10) and sigma the noise formula's value, PEtab v1 defines

    normal:  0.5 log(2 pi sigma^2) + log(h'(m)^-1) + 0.5 ((h(m) - h(y)) / sigma)^2
    laplace: log(2 sigma)          + log(h'(m)^-1) + |h(m) - h(y)| / sigma

where ``log(h'(m)^-1)`` is 0 (lin), ``log m`` (log) or ``log(m ln 10)`` (log10).
Synthetic problems are the special case of one simulation, lin observables and a
known sigma per measurement.

A ``Likelihood`` holds no per-start state: counting, budgets and traces belong to
the per-start ``Objective`` that wraps it, so one compiled likelihood serves every start.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from biobench.errors import ProblemError
from biobench.formulas import Formula
from biobench.priors import ObjectivePrior
from biobench.problem import Problem
from biobench.simulator import Simulator

# Least-squares form of a parameter-dependent sigma: 0.5 * s^2 = log(sigma) + _SIGMA_OFFSET, with s real
# for every positive double sigma (log of the smallest one is about -745).
_SIGMA_OFFSET = 750.0
_BATCH = 256  # points per vectorized scoring: tables of placeholders are copied once per point


@dataclass(frozen=True)
class Derivatives:
    """One evaluation with sensitivities (engines that have them): what a gradient-based method asks of a point."""

    residuals: np.ndarray
    fval: float
    gradient: np.ndarray  # of fval, on the scaled parameters
    jacobian: np.ndarray | None  # of the residuals; None from an adjoint solve


class ReferenceValues:
    """Uncounted values every engine's likelihood answers from its ``evaluate``, ``natural`` and ``_prior``."""

    costs = None  # an engine with exact derivatives measures what a sensitivity solve costs (SensitivityCosts)
    # how a method gets the residual Jacobian and the gradient: "differences" of counted simulations unless the
    # engine has sensitivities ("forward", "adjoint") and they are chosen
    jacobian_method = "differences"
    gradient_method = "differences"

    def prior(self, x: np.ndarray) -> float:
        """The negative log-prior at scaled ``x`` (0 without priors): ``fval - prior`` is the likelihood part."""
        if self._prior is None:
            return 0.0
        x = np.asarray(x, dtype=float)
        return self._prior(x, self.natural(x))

    def fval(self, x: np.ndarray) -> float:
        """The objective (negative log-likelihood, or log-posterior with priors) at scaled ``x``, counted by
        nobody (reference values such as f_true)."""
        evaluated = self.evaluate(np.asarray(x, dtype=float))
        return math.inf if evaluated is None else evaluated[1]


class Likelihood(ReferenceValues):
    """Scaled parameters -> (least-squares residuals, negative log-likelihood) of one problem."""

    def __init__(self, problem: Problem, simulator: Simulator | None = None) -> None:
        exp = problem.experiments
        self.problem = problem
        self.experiments = exp
        self.simulator = simulator or Simulator(problem.model, exp, problem.settings.integrator)
        self.lower, self.upper = problem.lower, problem.upper
        self._log10_x = np.array([s == "log10" for s in problem.scales])
        self._ln_x = np.array([s == "log" for s in problem.scales])
        self._all_log10_x = bool(self._log10_x.all())
        self._formulas, self._noise = [], []
        for k, spec in enumerate(exp.observables):
            rows = np.flatnonzero(exp.observable_index == k)
            if rows.size:
                observable = {name: (exp.observable_parameters, j)
                              for j, name in enumerate(spec.observable_placeholders)}
                noise = {name: (exp.noise_parameters, j) for j, name in enumerate(spec.noise_placeholders)}
                self._formulas.append(Formula(spec.formula, observable, rows, exp, self.simulator.column))
                # PEtab lets a noise formula read the observable's placeholders too (sigma = a + b * scale * y)
                self._noise.append(Formula(spec.noise_formula, {**observable, **noise}, rows, exp,
                                           self.simulator.column))
        self._plan_predictions()
        transformation = [exp.observables[k].transformation for k in exp.observable_index]
        distribution = [exp.observables[k].distribution for k in exp.observable_index]
        m = exp.measured
        self._log = np.array([t == "log" for t in transformation], dtype=bool)
        self._log10 = np.array([t == "log10" for t in transformation], dtype=bool)
        self._laplace = np.array([d == "laplace" for d in distribution], dtype=bool)
        self._any_log = bool(self._log.any() or self._log10.any())
        self._any_laplace = bool(self._laplace.any())
        with np.errstate(divide="ignore", invalid="ignore"):
            self._measured = self._transform(m)
            self._jacobian = np.where(self._log, np.log(m), 0.0) + np.where(self._log10, np.log(m * math.log(10)), 0.0)
        if not np.isfinite(self._measured).all():
            raise ProblemError("measurement table: log-transformed observables need positive measurements.")
        self._sigma_varies = any(noise.depends_on_x for noise in self._noise)
        # A sigma that no parameter changes is computed once, its log folded into the constant.
        sigma = None if self._sigma_varies else exp.numeric_sigma()
        if sigma is None and not self._sigma_varies:
            sigma = self._noise_values(None, None)
        self._sigma = self._inv_sigma = None
        if sigma is not None and np.all(sigma > 0) and np.isfinite(sigma).all():
            self._sigma, self._inv_sigma = sigma, 1.0 / sigma
            self._constant = float(np.sum(np.where(self._laplace, np.log(2.0 * sigma),
                                                   0.5 * np.log(2.0 * math.pi * sigma**2)) + self._jacobian))
        else:
            self._constant = float(np.sum(np.where(self._laplace, math.log(2.0), 0.5 * math.log(2.0 * math.pi))
                                          + self._jacobian))
        self._prior = (ObjectivePrior(problem.objective_priors, problem.scales)
                       if any(p is not None for p in problem.objective_priors) else None)
        self.n_residuals = len(m) * (2 if self._sigma_varies else 1) + (self._prior.n_residuals if self._prior else 0)
        # Most problems (every synthetic one) are Gaussian with known sigma on lin observables read
        # straight from the outputs, without priors: they get a path with nothing else in it.
        plain = (self._inv_sigma is not None and not self._computed and not self._any_log and not self._any_laplace
                 and self._prior is None)
        self.evaluate = self._evaluate_plain if plain else self._evaluate_general
        self._score = self._score_plain if plain else self._score_general

    # -- predictions ---------------------------------------------------------------------------
    def _plan_predictions(self) -> None:
        """Which measurements are a plain read of one output column, and which need a formula.

        Plain reads are one ``take`` of flat output indices, or no copy at all when they are
        the whole output in order (every synthetic problem); only the rest go through formulas.
        """
        exp = self.experiments
        n_columns = len(self.simulator.selections)
        flat = np.full(exp.n_measurements, -1, dtype=np.int64)
        self._computed = []
        for formula in self._formulas:
            column = formula.model_column
            if column is None:
                self._computed.append(formula)
            else:
                flat[formula.rows] = exp.row[formula.rows] * n_columns + column
        self._direct_rows = np.flatnonzero(flat >= 0)
        self._direct_index = flat[self._direct_rows]
        n_outputs = sum(sim.n_rows for sim in exp.simulations) * n_columns
        self._whole_output = not self._computed and np.array_equal(self._direct_index, np.arange(n_outputs))

    # Predictions, noise, transformations and natural values take one point, or a leading axis of points
    # (outputs (points, rows, columns), x (points, parameters)): a surrogate's candidates scored at once.
    def _predict(self, outputs: np.ndarray, x_natural: np.ndarray) -> np.ndarray:
        flat = outputs.reshape(outputs.shape[:-2] + (-1,))
        if self._whole_output:
            return flat
        if not self._computed:  # every measurement is a plain read, in measurement order
            return flat.take(self._direct_index, axis=-1)
        y = np.empty(flat.shape[:-1] + (self.experiments.n_measurements,))
        y[..., self._direct_rows] = flat.take(self._direct_index, axis=-1)
        for formula in self._computed:
            y[..., formula.rows] = formula(outputs, x_natural)
        return y

    def _noise_values(self, outputs: np.ndarray | None, x_natural: np.ndarray | None) -> np.ndarray:
        points = () if x_natural is None or x_natural.ndim == 1 else x_natural.shape[:1]
        sigma = np.empty(points + (self.experiments.n_measurements,))
        for noise in self._noise:
            sigma[..., noise.rows] = noise(outputs, x_natural)
        return sigma

    def _transform(self, values: np.ndarray) -> np.ndarray:
        out = np.array(values, dtype=float, copy=True)
        out[..., self._log] = np.log(values[..., self._log])
        out[..., self._log10] = np.log10(values[..., self._log10])
        return out

    def _misfit(self, weighted: np.ndarray) -> np.ndarray | float:
        """Sum of the measurements' misfits (|w| for Laplace noise, w^2 / 2 for Gaussian), per point."""
        if self._any_laplace:
            return np.sum(np.where(self._laplace, np.abs(weighted), 0.5 * weighted**2), axis=-1)
        return 0.5 * (weighted @ weighted if weighted.ndim == 1 else np.einsum("ij,ij->i", weighted, weighted))

    def natural(self, x: np.ndarray) -> np.ndarray:
        """Scaled parameters (the optimizers' space) to the model's natural values."""
        if self._all_log10_x:
            return 10.0**x
        v = np.array(x, dtype=float)
        v[..., self._log10_x] = 10.0 ** v[..., self._log10_x]
        v[..., self._ln_x] = np.exp(v[..., self._ln_x])
        return v

    def predict(self, x_natural: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
        """Simulated observable values and noise sigmas for every measurement, in measurement order; None when
        the simulation fails or gives non-finite values."""
        outputs = self.simulator.simulate(x_natural)
        if outputs is None:
            return None
        y = self._predict(outputs, x_natural)  # an output no measurement reads may be NaN (0/0 at t = 0)
        sigma = self._sigma if self._sigma is not None else self._noise_values(outputs, x_natural)
        if not (np.isfinite(y).all() and np.isfinite(sigma).all()):
            return None
        return y, sigma

    # -- the likelihood ------------------------------------------------------------------------
    def __call__(self, x: np.ndarray) -> tuple[np.ndarray, float] | None:
        """(least-squares residuals, negative log-likelihood) at scaled ``x``; None when the simulation or the
        likelihood fails. ``0.5 * sum(residuals**2)`` differs from the value by a constant."""
        return self.evaluate(x)

    def observables(self, outputs: np.ndarray, x: np.ndarray) -> np.ndarray:
        """The observable value of every measurement (untransformed) from simulator ``outputs`` at scaled ``x``."""
        return np.array(self._predict(np.asarray(outputs, dtype=float), self.natural(np.asarray(x, dtype=float))))

    def score(self, outputs: np.ndarray, x: np.ndarray) -> tuple[np.ndarray, float] | None:
        """(residuals, negative log-likelihood) of simulator ``outputs`` (``Simulator.simulate``'s rows) at
        scaled ``x``: the likelihood without the simulation, for outputs a surrogate predicts."""
        return self._score(np.asarray(outputs, dtype=float), np.asarray(x, dtype=float), self.natural(x))

    def sample_measurements(self, y: np.ndarray, sigma: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Measurements drawn from this problem's noise model around noise-free observables ``y`` (rows of
        datasets in measurement order): Gaussian or Laplace with scale ``sigma`` on each observable's
        transformed scale, back-transformed. NaN where a log-scale observable is not positive."""
        y = np.atleast_2d(np.asarray(y, dtype=float))
        with np.errstate(divide="ignore", invalid="ignore"):
            z = np.where(self._log, np.log(y), np.where(self._log10, np.log10(y), y))
        noise = np.where(self._laplace, rng.laplace(0.0, 1.0, y.shape), rng.standard_normal(y.shape))
        z = z + sigma * noise
        with np.errstate(over="ignore"):
            return np.where(self._log, np.exp(z), np.where(self._log10, 10.0**z, z))

    def fvals_of_outputs(self, outputs: np.ndarray, x: np.ndarray) -> np.ndarray:
        """The objective for many (outputs, scaled x) pairs at once, ``_BATCH`` points at a time (inf where it
        fails): the likelihood's own predictions, noise and priors, without the simulation. For surrogate
        searches."""
        x = np.atleast_2d(np.asarray(x, dtype=float))
        outputs = np.asarray(outputs, dtype=float).reshape(len(x), -1, len(self.simulator.selections))
        return np.concatenate([self._fvals(outputs[i:i + _BATCH], x[i:i + _BATCH])
                               for i in range(0, len(x), _BATCH)])

    def _fvals(self, outputs: np.ndarray, x: np.ndarray) -> np.ndarray:
        """The score's value for a batch of points (outputs (points, rows, columns)); priors point by point."""
        x_natural = self.natural(x)
        with np.errstate(all="ignore"):
            y = self._predict(outputs, x_natural)
            if self._any_log:
                y = self._transform(y)
            fvals = np.full(len(x), self._constant)
            if self._inv_sigma is not None:
                weighted = (self._measured - y) * self._inv_sigma
            else:
                sigma = self._noise_values(outputs, x_natural)
                weighted = (self._measured - y) / sigma
                fvals = np.where((sigma > 0).all(axis=1), fvals + np.log(sigma).sum(axis=1), np.inf)
            fvals = fvals + self._misfit(weighted)
        if self._prior is not None:
            fvals = fvals + np.array([self._prior(point, natural) for point, natural in zip(x, x_natural)])
        return np.where(np.isfinite(fvals), fvals, np.inf)

    def _evaluate_plain(self, x: np.ndarray) -> tuple[np.ndarray, float] | None:
        x_natural = self.natural(x)
        outputs = self.simulator.simulate(x_natural)
        if outputs is None:
            return None
        return self._score_plain(outputs, x, x_natural)

    def _score_plain(self, outputs: np.ndarray, x: np.ndarray, x_natural: np.ndarray):
        weighted = (self._measured - self._predict(outputs, x_natural)) * self._inv_sigma
        fval = 0.5 * float(weighted @ weighted) + self._constant
        if not math.isfinite(fval):
            self.simulator.last_error = "non-finite trajectory"
            return None
        return weighted, fval

    def _evaluate_general(self, x: np.ndarray) -> tuple[np.ndarray, float] | None:
        x_natural = self.natural(x)
        outputs = self.simulator.simulate(x_natural)
        if outputs is None:
            return None
        return self._score_general(outputs, x, x_natural)

    def _score_general(self, outputs: np.ndarray, x: np.ndarray, x_natural: np.ndarray):
        y = self._predict(outputs, x_natural)
        if self._any_log:
            with np.errstate(all="ignore"):
                y = self._transform(y)
        if self._inv_sigma is not None:
            weighted = (self._measured - y) * self._inv_sigma
            log_sigma = None
        else:
            sigma = self._noise_values(outputs, x_natural)
            if not (sigma > 0).all():
                self.simulator.last_error = "noise formula gave a non-positive sigma"
                return None
            weighted = (self._measured - y) / sigma
            log_sigma = np.log(sigma)
        fval = float(self._misfit(weighted)) + self._constant
        if log_sigma is not None:
            fval += float(np.sum(log_sigma))
        if not math.isfinite(fval):
            self.simulator.last_error = ("non-positive prediction of a log-transformed observable" if self._any_log
                                         else "non-finite trajectory")
            return None
        residuals = weighted
        if self._any_laplace:
            residuals = np.where(self._laplace, np.sign(weighted) * np.sqrt(2.0 * np.abs(weighted)), weighted)
        if self._sigma_varies:
            residuals = np.concatenate([residuals, np.sqrt(2.0 * (log_sigma + _SIGMA_OFFSET))])
        if self._prior is not None:
            prior = self._prior.residuals(x, x_natural)
            fval += 0.5 * float(prior @ prior) + self._prior.constant
            if not math.isfinite(fval):
                self.simulator.last_error = "outside the support of a uniform prior"
                return None
            residuals = np.concatenate([residuals, prior])
        return residuals, fval

    def chi2(self, x_natural: np.ndarray) -> float:
        """PEtab's chi2: the sum of squared (transformed) residuals over sigma."""
        y, sigma = self.predict(x_natural)
        return float(np.sum(((self._measured - self._transform(y)) / sigma) ** 2))
