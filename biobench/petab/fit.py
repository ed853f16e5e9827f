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
from biobench.petab.experiments import TIME_SYMBOL, Experiments, ObservableSpec, Simulation
from biobench.settings import IntegratorSettings
from biobench.simulator import RESET

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
        settings = integrator or IntegratorSettings()
        solver = self.rr.getIntegrator()
        solver.setValue("relative_tolerance", settings.relative_tolerance)
        if settings.absolute_tolerance is not None:
            solver.setValue("absolute_tolerance", settings.absolute_tolerance)
        solver.setValue("maximum_num_steps", settings.maximum_num_steps)
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
    """A formula of one observable, evaluated for all its measurements at once."""

    def __init__(self, text: str, placeholders: tuple[str, ...], placeholder_kind: str,
                 experiments: Experiments, simulator: PetabSimulator) -> None:
        expr = sympify_petab(text)
        self.symbols = sorted(expr.free_symbols, key=str)
        self.args: list[tuple[str, object]] = []
        for symbol in self.symbols:
            name = str(symbol)
            if name in placeholders:
                self.args.append((placeholder_kind, placeholders.index(name)))
            elif name == TIME_SYMBOL:
                self.args.append(("time", None))
            elif name in experiments.model_symbols:
                self.args.append(("model", simulator.column(name)))
            else:
                self.args.append(("parameter", experiments.parameter_symbols[name]))
        self.depends_on_x = any(kind in ("model", "parameter", placeholder_kind) for kind, _ in self.args)
        self.function = sp.lambdify(self.symbols, expr, modules="numpy")

    def __call__(self, rows: np.ndarray, outputs: np.ndarray, placeholders: np.ndarray,
                 times: np.ndarray, x_natural: np.ndarray) -> np.ndarray:
        args = []
        for kind, ref in self.args:
            if kind == "model":
                args.append(outputs[:, ref])
            elif kind == "time":
                args.append(times)
            elif kind == "parameter":
                value, index = ref
                args.append(x_natural[index] if index >= 0 else value)
            else:
                args.append(placeholders[rows, ref])
        return np.broadcast_to(np.asarray(self.function(*args), dtype=float), rows.shape)


class PetabFit:
    """Simulate, predict every measurement, and score it with PEtab's likelihood."""

    def __init__(self, problem, simulator: PetabSimulator | None = None) -> None:
        exp: Experiments = problem.experiments
        self.experiments = exp
        self.simulator = simulator or PetabSimulator(problem.model, exp, problem.settings.integrator)
        self._observables = []
        for k, spec in enumerate(exp.observables):
            rows = np.flatnonzero(exp.observable_index == k)
            if rows.size == 0:
                continue
            self._observables.append((rows, self._formula(spec.formula, spec, "observable"),
                                      self._formula(spec.noise_formula, spec, "noise")))
        transformation = [exp.observables[k].transformation for k in exp.observable_index]
        distribution = [exp.observables[k].distribution for k in exp.observable_index]
        m = exp.measured
        self._log = np.array([t == "log" for t in transformation])
        self._log10 = np.array([t == "log10" for t in transformation])
        self._laplace = np.array([d == "laplace" for d in distribution])
        with np.errstate(divide="ignore", invalid="ignore"):
            self._measured = self._transform(m)
            jacobian = np.where(self._log, np.log(m), 0.0) + np.where(self._log10, np.log(m * math.log(10)), 0.0)
        self._constant = np.where(self._laplace, math.log(2.0), 0.5 * math.log(2.0 * math.pi)) + jacobian
        if not np.isfinite(self._measured).all():
            raise ProblemError("measurement table: log-transformed observables need positive measurements.")
        self._sigma_varies = any(noise.depends_on_x for _, _, noise in self._observables)
        self.n_residuals = len(m) * (2 if self._sigma_varies else 1)
        self._rows = exp.row

    def _formula(self, text: str, spec: ObservableSpec, kind: str) -> _Formula:
        placeholders = spec.observable_placeholders if kind == "observable" else spec.noise_placeholders
        return _Formula(text, placeholders, kind, self.experiments, self.simulator)

    def _transform(self, values: np.ndarray) -> np.ndarray:
        out = np.array(values, dtype=float, copy=True)
        out[self._log] = np.log(values[self._log])
        out[self._log10] = np.log10(values[self._log10])
        return out

    @property
    def last_error(self) -> str | None:
        return self.simulator.last_error

    def predict(self, x_natural: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
        """Simulated observable values and noise sigmas for every measurement, in measurement-table order."""
        outputs = self.simulator.simulate(x_natural)
        if outputs is None:
            return None
        exp = self.experiments
        per_measurement = outputs[self._rows]
        obs_values = exp.observable_parameters.resolve(x_natural)
        noise_values = exp.noise_parameters.resolve(x_natural)
        y = np.empty(exp.n_measurements)
        sigma = np.empty(exp.n_measurements)
        with np.errstate(all="ignore"):
            for rows, formula, noise in self._observables:
                y[rows] = formula(rows, per_measurement[rows], obs_values, exp.times[rows], x_natural)
                sigma[rows] = noise(rows, per_measurement[rows], noise_values, exp.times[rows], x_natural)
        return y, sigma

    def __call__(self, x_natural: np.ndarray) -> tuple[np.ndarray, float] | None:
        """(least-squares residuals, negative log-likelihood); None when the simulation or the likelihood fails."""
        predicted = self.predict(x_natural)
        if predicted is None:
            return None
        y, sigma = predicted
        with np.errstate(all="ignore"):
            weighted = (self._measured - self._transform(y)) / sigma
            log_sigma = np.log(sigma)
            misfit = np.where(self._laplace, np.abs(weighted), 0.5 * weighted**2)
            fval = float(np.sum(self._constant) + np.sum(log_sigma) + np.sum(misfit))
        if not math.isfinite(fval) or not (sigma > 0).all():
            self.simulator.last_error = ("non-positive prediction of a log-transformed observable"
                                         if (sigma > 0).all() else "noise formula gave a non-positive sigma")
            return None
        residuals = np.where(self._laplace, np.sign(weighted) * np.sqrt(2.0 * np.abs(weighted)), weighted)
        if self._sigma_varies:
            residuals = np.concatenate([residuals, np.sqrt(2.0 * (log_sigma + _SIGMA_OFFSET))])
        return residuals, fval

    def chi2(self, x_natural: np.ndarray) -> float:
        """PEtab's chi2: the sum of squared (transformed) residuals over sigma."""
        y, sigma = self.predict(x_natural)
        return float(np.sum(((self._measured - self._transform(y)) / sigma) ** 2))
