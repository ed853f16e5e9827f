"""PEtab's negative log-likelihood of a compiled problem: the hot path of PEtab objectives.

One roadrunner instance simulates every condition (the model is compiled once per
process); observable and noise formulas are vectorized over all measurements of an
observable with sympy's ``lambdify``. Per measurement, with ``m`` the measurement, ``y``
the prediction, ``h`` the observable transformation (identity, ln, log10) and sigma
the noise formula's value, PEtab v1 defines

    normal:  0.5 log(2 pi sigma^2) + log(h'(m)^-1) + 0.5 ((h(m) - h(y)) / sigma)^2
    laplace: log(2 sigma)          + log(h'(m)^-1) + |h(m) - h(y)| / sigma

where ``log(h'(m)^-1)`` is 0 (lin), ``log m`` (log) or ``log(m ln 10)`` (log10).
"""

from __future__ import annotations

import math
import time

import numpy as np
import sympy as sp
from petab.v1.math import sympify_petab

from biobench.errors import ProblemError, first_line
from biobench.petab.experiments import TIME_SYMBOL, Experiments, Placeholders, Simulation
from biobench.settings import IntegratorSettings
from biobench.simulator import RESET, configure_integrator

# Pre-equilibration integrates over windows [0, 1], [1, 10], ... [1e8, 1e9] until no state
# moves by more than this over a whole window (a derivative bound of tolerance / window length).
_STEADY_RTOL = 1e-6
_STEADY_ATOL = 1e-9
_STEADY_WINDOWS = np.concatenate([[0.0], np.logspace(0, 9, 10)])
# Least-squares form of a parameter-dependent sigma: 0.5 * s^2 = log(sigma) + _SIGMA_OFFSET, with s real
# for every positive double sigma (log of the smallest one is about -745).
_SIGMA_OFFSET = 750.0


class PetabSimulator:
    """Simulates every (pre-equilibration, simulation) condition pair of a problem on one roadrunner instance."""

    def __init__(self, model, experiments: Experiments, integrator: IntegratorSettings | None = None) -> None:
        self.rr = model.simulator()
        self._model = self.rr.model
        ids = list(self._model.getGlobalParameterIds())
        self._settable = np.array([ids.index(pid) for pid in experiments.settable], dtype=np.int32)
        self.experiments = experiments
        symbols = list(dict.fromkeys(experiments.model_symbols.values()))
        states = list(dict.fromkeys(list(self._model.getFloatingSpeciesIds()) + list(self.rr.getRateRuleIds())))
        self.selections = symbols + [s for s in states if s not in symbols]
        self._symbol_columns = {name: self.selections.index(sel) for name, sel in experiments.model_symbols.items()}
        self._state_columns = np.array([self.selections.index(s) for s in states], dtype=int)
        try:
            self.rr.timeCourseSelections = self.selections
        except Exception as exc:
            raise ProblemError(f"{model.model_id}: roadrunner cannot read {self.selections}: {first_line(exc)}") from None
        configure_integrator(self.rr, integrator or IntegratorSettings())
        self.last_error: str | None = None
        self.seconds = 0.0

    def column(self, symbol: str) -> int:
        return self._symbol_columns[symbol]

    def simulate(self, x_natural: np.ndarray) -> np.ndarray | None:
        """Outputs of every simulation stacked in rows (``Experiments.row`` indexes them); None on failure."""
        started = time.perf_counter()
        try:
            blocks = [self._simulate_one(sim, x_natural) for sim in self.experiments.simulations]
        except RuntimeError as exc:
            self.last_error = first_line(exc, "integration failed")
            return None
        finally:
            self.seconds += time.perf_counter() - started
        out = blocks[0] if len(blocks) == 1 else np.concatenate(blocks)
        if not np.isfinite(out).all():
            self.last_error = "non-finite trajectory"
            return None
        return out

    def _simulate_one(self, sim: Simulation, x_natural: np.ndarray) -> np.ndarray:
        rr, model = self.rr, self._model
        if sim.preequilibration is not None:
            model.setGlobalParameterValues(self._settable, sim.preequilibration.values(x_natural))
            rr.reset(RESET)
            self._equilibrate()
            model.setGlobalParameterValues(self._settable, sim.condition.values(x_natural))
            for selector, value in zip(sim.reinitialization.selectors, sim.reinitialization.values(x_natural)):
                rr.setValue(selector, float(value))
        else:
            model.setGlobalParameterValues(self._settable, sim.condition.values(x_natural))
            rr.reset(RESET)
        if len(sim.times) == 1:  # only t = 0 is measured: no integration needed
            return np.asarray(rr.getSelectedValues(), dtype=float)[None, :]
        return np.asarray(rr.simulate(times=sim.times), dtype=float)

    def _equilibrate(self) -> None:
        """Integrate until the state stops moving (PEtab's pre-equilibration steady state)."""
        for start, end in zip(_STEADY_WINDOWS[:-1], _STEADY_WINDOWS[1:]):
            out = np.asarray(self.rr.simulate(times=[start, end]), dtype=float)[:, self._state_columns]
            if np.all(np.abs(out[1] - out[0]) <= _STEADY_ATOL + _STEADY_RTOL * np.abs(out[1])):
                return
        raise RuntimeError(f"pre-equilibration reached no steady state by t = {_STEADY_WINDOWS[-1]:g}")


class _Formula:
    """A formula of one observable, evaluated for all its measurements (``rows``) at once."""

    def __init__(self, text: str, placeholders: tuple[str, ...], table: Placeholders, rows: np.ndarray,
                 experiments: Experiments, simulator: PetabSimulator) -> None:
        expr = sympify_petab(text)
        symbols = sorted(expr.free_symbols, key=str)
        self.rows = rows
        self._output_rows = experiments.row[rows]  # rows of the stacked simulation outputs
        self._times = experiments.times[rows]
        self._table = table
        self._args: list[tuple[str, object]] = []
        for symbol in symbols:
            name = str(symbol)
            if name in placeholders:
                self._args.append(("placeholder", placeholders.index(name)))
            elif name == TIME_SYMBOL:
                self._args.append(("time", None))
            elif name in experiments.model_symbols:
                self._args.append(("model", simulator.column(name)))
            else:
                self._args.append(("parameter", experiments.parameter_symbols[name]))
        estimated_placeholders = bool(np.isin(rows, table.rows).any())
        self.depends_on_x = any(kind == "model" or (kind == "parameter" and ref[1] >= 0)
                                or (kind == "placeholder" and estimated_placeholders) for kind, ref in self._args)
        self._function = sp.lambdify(symbols, expr, modules="numpy")

    def __call__(self, outputs: np.ndarray | None, x_natural: np.ndarray | None) -> np.ndarray:
        """Values at every row; ``outputs`` and ``x_natural`` may be None when nothing depends on them."""
        args = []
        placeholders = None
        for kind, ref in self._args:
            if kind == "model":
                args.append(outputs[self._output_rows, ref])
            elif kind == "time":
                args.append(self._times)
            elif kind == "parameter":
                value, index = ref
                args.append(x_natural[index] if index >= 0 else value)
            else:
                if placeholders is None:
                    placeholders = self._table.resolve(x_natural) if self.depends_on_x else self._table.values
                args.append(placeholders[self.rows, ref])
        with np.errstate(all="ignore"):
            return np.broadcast_to(np.asarray(self._function(*args), dtype=float), self.rows.shape)


class PetabFit:
    """Simulate, predict every measurement, and score it with PEtab's likelihood."""

    def __init__(self, problem, simulator: PetabSimulator | None = None) -> None:
        exp: Experiments = problem.experiments
        self.experiments = exp
        self.simulator = simulator or PetabSimulator(problem.model, exp, problem.settings.integrator)
        self._formulas: list[_Formula] = []
        self._noise: list[_Formula] = []
        for k, spec in enumerate(exp.observables):
            rows = np.flatnonzero(exp.observable_index == k)
            if rows.size:
                self._formulas.append(_Formula(spec.formula, spec.observable_placeholders,
                                               exp.observable_parameters, rows, exp, self.simulator))
                self._noise.append(_Formula(spec.noise_formula, spec.noise_placeholders, exp.noise_parameters,
                                            rows, exp, self.simulator))
        transformation = [exp.observables[k].transformation for k in exp.observable_index]
        distribution = [exp.observables[k].distribution for k in exp.observable_index]
        m = exp.measured
        self._log = np.array([t == "log" for t in transformation])
        self._log10 = np.array([t == "log10" for t in transformation])
        self._laplace = np.array([d == "laplace" for d in distribution])
        self._any_log = bool(self._log.any() or self._log10.any())
        self._any_laplace = bool(self._laplace.any())
        with np.errstate(divide="ignore", invalid="ignore"):
            self._measured = self._transform(m)
            jacobian = np.where(self._log, np.log(m), 0.0) + np.where(self._log10, np.log(m * math.log(10)), 0.0)
        if not np.isfinite(self._measured).all():
            raise ProblemError("measurement table: log-transformed observables need positive measurements.")
        self._constant = float(np.sum(np.where(self._laplace, math.log(2.0), 0.5 * math.log(2.0 * math.pi))
                                      + jacobian))
        self._sigma_varies = any(noise.depends_on_x for noise in self._noise)
        # A sigma that no parameter changes is computed once, and its log folded into the constant.
        self._sigma = None if self._sigma_varies else self._noise_values(None, None)
        if self._sigma is not None and np.all(self._sigma > 0) and np.isfinite(self._sigma).all():
            self._constant += float(np.sum(np.log(self._sigma)))
        else:
            self._sigma = None
        self.n_residuals = len(m) * (2 if self._sigma_varies else 1)

    def _noise_values(self, outputs: np.ndarray | None, x_natural: np.ndarray | None) -> np.ndarray:
        sigma = np.empty(self.experiments.n_measurements)
        for noise in self._noise:
            sigma[noise.rows] = noise(outputs, x_natural)
        return sigma

    def _transform(self, values: np.ndarray) -> np.ndarray:
        out = np.array(values, dtype=float, copy=True)
        out[self._log] = np.log(values[self._log])
        out[self._log10] = np.log10(values[self._log10])
        return out

    def predict(self, x_natural: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
        """Simulated observable values and noise sigmas for every measurement, in measurement-table order."""
        outputs = self.simulator.simulate(x_natural)
        if outputs is None:
            return None
        y = np.empty(self.experiments.n_measurements)
        for formula in self._formulas:
            y[formula.rows] = formula(outputs, x_natural)
        sigma = self._sigma if self._sigma is not None else self._noise_values(outputs, x_natural)
        return y, sigma

    def __call__(self, x_natural: np.ndarray) -> tuple[np.ndarray, float] | None:
        """(least-squares residuals, negative log-likelihood); None when the simulation or the likelihood fails."""
        predicted = self.predict(x_natural)
        if predicted is None:
            return None
        y, sigma = predicted
        with np.errstate(all="ignore"):
            weighted = (self._measured - (self._transform(y) if self._any_log else y)) / sigma
            if self._any_laplace:
                misfit = float(np.sum(np.where(self._laplace, np.abs(weighted), 0.5 * weighted**2)))
            else:
                misfit = 0.5 * float(weighted @ weighted)
            fval = self._constant + misfit
            if self._sigma is None:
                log_sigma = np.log(sigma)
                fval += float(np.sum(log_sigma))
        if not math.isfinite(fval) or (self._sigma is None and not (sigma > 0).all()):
            self.simulator.last_error = ("non-positive prediction of a log-transformed observable"
                                         if (sigma > 0).all() else "noise formula gave a non-positive sigma")
            return None
        residuals = weighted
        if self._any_laplace:
            residuals = np.where(self._laplace, np.sign(weighted) * np.sqrt(2.0 * np.abs(weighted)), weighted)
        if self._sigma_varies:
            residuals = np.concatenate([residuals, np.sqrt(2.0 * (log_sigma + _SIGMA_OFFSET))])
        return residuals, fval

    def chi2(self, x_natural: np.ndarray) -> float:
        """PEtab's chi2: the sum of squared (transformed) residuals over sigma."""
        y, sigma = self.predict(x_natural)
        return float(np.sum(((self._measured - self._transform(y)) / sigma) ** 2))
