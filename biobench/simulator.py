"""One compiled roadrunner instance that runs every simulation of a problem's experiments.

The hot path is ``simulate``: per simulation, write every settable global parameter
in one call (so values changed by events in the previous run never leak into the
next), reset the state (which re-evaluates initial assignments), pre-equilibrate when
the experiment asks for it, simulate on the simulation's grid. Anything extra here is
paid on every objective evaluation.
"""

from __future__ import annotations

import math
import os
import time

import numpy as np
import roadrunner
from roadrunner import SelectionRecord

from biobench.errors import ProblemError, first_line
from biobench.experiments import Experiments, Simulation
from biobench.models.time_switches import time_switches
from biobench.models.model import Model
from biobench.settings import IntegratorSettings

# Failed simulations are counted, not printed: roadrunner's logger and SUNDIALS' own
# error and warning loggers (read from the environment when an integrator is created) stay quiet.
roadrunner.Logger.setLevel(roadrunner.Logger.LOG_FATAL)
os.environ.setdefault("SUNLOGGER_ERROR_FILENAME", os.devnull)
os.environ.setdefault("SUNLOGGER_WARNING_FILENAME", os.devnull)


def settable_parameters(rr: roadrunner.RoadRunner) -> list[int]:
    """Indices of the global parameters roadrunner lets us write.

    Parameters defined by assignment rules cannot be written; every other one is
    written on each evaluation. Ask roadrunner which is which rather than guess.
    """
    model = rr.model
    values = model.getGlobalParameterValues()
    settable = []
    for index, value in enumerate(values):
        try:
            model.setGlobalParameterValues([index], [value])
        except RuntimeError:
            continue
        settable.append(index)
    return settable


def settable_parameter_ids(rr: roadrunner.RoadRunner) -> tuple[list[str], np.ndarray]:
    """Ids and current values of the global parameters a condition may write.

    Parameters with rate rules are states: a reset restores them, they are never written.
    """
    ids = list(rr.model.getGlobalParameterIds())
    values = np.array(rr.model.getGlobalParameterValues(), dtype=float)
    states = set(rr.getRateRuleIds())
    indices = [i for i in settable_parameters(rr) if ids[i] not in states]
    return [ids[i] for i in indices], values[indices]


def configure_integrator(rr: roadrunner.RoadRunner, settings: IntegratorSettings) -> None:
    solver = rr.getIntegrator()
    solver.setValue("relative_tolerance", settings.relative_tolerance)
    if settings.absolute_tolerance is not None:
        solver.setValue("absolute_tolerance", settings.absolute_tolerance)
    solver.setValue("maximum_num_steps", settings.maximum_num_steps)


# What a reset restores: time, states (rate-rule ones included) and compartments, with initial
# assignments re-evaluated at the current parameter values. Compartments are not in roadrunner's
# default, so a compartment whose initial size depends on a parameter would keep its first size.
RESET = int(SelectionRecord.TIME | SelectionRecord.RATE | SelectionRecord.FLOATING | SelectionRecord.COMPARTMENT)
# Pre-equilibration integrates over windows [0, 1], [1, 10], ... [1e8, 1e9] until no state
# moves by more than this over a whole window (a derivative bound of tolerance / window length).
_STEADY_RTOL = 1e-6
_STEADY_ATOL = 1e-9
_STEADY_WINDOWS = np.concatenate([[0.0], np.logspace(0, 9, 10)])


class Simulator:
    """Simulates every (pre-equilibration, simulation) pair of ``experiments`` on one roadrunner instance."""

    def __init__(self, model: Model, experiments: Experiments, integrator: IntegratorSettings | None = None) -> None:
        self.rr = model.simulator()
        self._model = self.rr.model  # each attribute access builds a new SWIG proxy
        ids = list(self._model.getGlobalParameterIds())
        missing = [pid for pid in experiments.settable if pid not in ids]
        if missing:
            raise ProblemError(f"{model.model_id}: roadrunner does not know parameters {missing}.")
        self._settable = np.array([ids.index(pid) for pid in experiments.settable], dtype=np.int32)  # fastest type
        self.experiments = experiments
        symbols = list(dict.fromkeys(experiments.model_symbols.values()))
        states = []
        if experiments.needs_states:  # only pre-equilibration reads every state
            states = list(dict.fromkeys(list(self._model.getFloatingSpeciesIds()) + list(self.rr.getRateRuleIds())))
        self.selections = symbols + [s for s in states if s not in symbols]
        self._symbol_columns = {name: self.selections.index(sel) for name, sel in experiments.model_symbols.items()}
        self._state_columns = np.array([self.selections.index(s) for s in states], dtype=int)
        try:
            self.rr.timeCourseSelections = self.selections
        except Exception as exc:
            raise ProblemError(
                f"{model.model_id}: cannot observe {symbols}: {first_line(exc)}. Observables must be ids of "
                f"species, parameters or compartments (floating species: {', '.join(model.species)})."
            ) from None
        integrator = integrator or IntegratorSettings()
        configure_integrator(self.rr, integrator)
        self._n_rows = sum(sim.n_rows for sim in experiments.simulations)
        self.last_error: str | None = None
        self.last_outputs: np.ndarray | None = None  # of the last successful ``simulate``: a surrogate's training data
        self.seconds = 0.0  # spent inside roadrunner: the share benchmarks report
        self.retry_non_stiff = integrator.retry_non_stiff
        self._switches = time_switches(model.sbml)
        self._restart_at_switches = False  # only a retry restarts: every simulation that works stays as it was

    def column(self, symbol: str) -> int:
        """Column of a formula symbol in the outputs."""
        return self._symbol_columns[symbol]

    def simulate(self, x_natural: np.ndarray) -> np.ndarray | None:
        """Outputs of every simulation stacked in rows (``Experiments.row`` indexes them); None on failure.

        Values are not checked for finiteness here: the likelihood's value is, once, at the end.
        """
        started = time.perf_counter()
        try:
            out = self._simulate_all(x_natural)
        except RuntimeError as exc:
            out = self._retry(self._simulate_all, exc, x_natural)
            if out is None:
                return None
        finally:
            self.seconds += time.perf_counter() - started
        if out.shape[0] != self._n_rows:
            self.last_error = "incomplete trajectory"
            return None
        self.last_outputs = out
        return out

    def trajectory(self, x_natural: np.ndarray, times: np.ndarray) -> np.ndarray | None:
        """The first simulation on another grid starting at t = 0 (a synthetic problem's horizon); None on failure."""
        first, times = self.experiments.simulations[0], np.asarray(times, dtype=float)
        try:
            out = self._simulate_one(first, x_natural, times)
        except RuntimeError as exc:
            out = self._retry(self._simulate_one, exc, first, x_natural, times)
            if out is None:
                return None
        if out.shape[0] != len(times) or not np.isfinite(out).all():
            self.last_error = "non-finite or incomplete trajectory"
            return None
        return out

    def _simulate_all(self, x_natural: np.ndarray) -> np.ndarray:
        simulations = self.experiments.simulations
        if len(simulations) == 1:  # the common case: no list, no concatenation
            return self._simulate_one(simulations[0], x_natural, simulations[0].times)
        return np.concatenate([self._simulate_one(sim, x_natural, sim.times) for sim in simulations])

    def _retry(self, run, error: RuntimeError, *args) -> np.ndarray | None:
        """``run(*args)`` after it failed with ``error``: restarted at the time switches, else non-stiff; None
        when neither helps (the first error kept in ``last_error``)."""
        out = self._switch_retry(run, error, *args)
        return out if out is not None else self._nonstiff_retry(run, error, *args)

    def _switch_retry(self, run, error: RuntimeError, *args) -> np.ndarray | None:
        """``run(*args)`` once more with the integrator restarted at the model's time switches (inputs that
        switch on or off at a time: ``biobench.models.time_switches``), as AMICI does; None when the model has
        none or that fails too. Isensee_JCB2018 at its published parameters: one of 123 simulations ends in
        CV_TOO_MUCH_WORK at a switch without, and the likelihood agrees with AMICI's to 1e-7 with."""
        if not self._switches:
            return None
        self.last_error = first_line(error, "integration failed")
        self._restart_at_switches = True
        try:
            return run(*args)
        except RuntimeError:
            return None
        finally:
            self._restart_at_switches = False

    def _integrate(self, times: np.ndarray) -> np.ndarray:
        """Outputs at ``times`` from the current state; with restarts, the integration stops just before each
        switch inside the span (1e-10 of its time early: the states move by that times their rate) and starts
        again at it, so no step straddles a jump."""
        rr = self.rr
        switches = []
        if self._restart_at_switches:
            switches = sorted({(rr.getValue(sw.symbol) if sw.symbol else 0.0) + sw.offset for sw in self._switches})
            switches = [t for t in switches if times[0] < t < times[-1]]
        if not switches:
            return np.asarray(rr.simulate(times=times), dtype=float)
        pieces = []
        bounds = [float(times[0])] + switches + [math.inf]
        for begin, end in zip(bounds[:-1], bounds[1:]):
            inside = times[(times >= begin) & (times < end)] if math.isfinite(end) else times[times >= begin]
            grid = [begin] + [float(t) for t in inside if t != begin]
            stop = end - 1e-10 * max(1.0, abs(end))
            if math.isfinite(end) and stop > grid[-1]:
                grid.append(stop)
            if len(grid) < 2:
                raise RuntimeError(f"time switches too close to integrate between ({begin:g}, {end:g})")
            out = np.asarray(rr.simulate(times=grid), dtype=float)
            keep = np.zeros(len(grid), dtype=bool)
            keep[0] = begin in inside
            keep[1:1 + len(inside) - int(keep[0])] = True
            pieces.append(out[keep])
        return np.concatenate(pieces)

    def _nonstiff_retry(self, run, error: RuntimeError, *args) -> np.ndarray | None:
        """``run(*args)`` once more with CVODE's non-stiff (Adams) method after the stiff (BDF) one failed; None,
        with the first error kept, when that fails too.

        BDF's corrector stops converging where rate laws raise a state to a large power (Hill
        coefficients up to 250 over BIOMD0000000507's bounds: 55 of 400 Latin-hypercube points fail
        with CV_CONV_FAILURE, at any tolerance from 1e-6 to 1e-10); Adams finishes 32 of those 55, and
        29 of them agree with Adams at tolerances 1000 times tighter to 1.3e-4 (relative; there the
        other 3 fail). Only failed simulations pay for the retry, and every other simulation is
        unchanged: the solver is set back to BDF (bit-identical outputs after a retry, tested). Its
        time is in ``seconds``; switched off by ``IntegratorSettings.retry_non_stiff``.
        """
        self.last_error = first_line(error, "integration failed")
        if not self.retry_non_stiff:
            return None
        integrator = self.rr.getIntegrator()
        integrator.setValue("stiff", False)
        try:
            return run(*args)
        except RuntimeError:
            return None
        finally:
            integrator.setValue("stiff", True)

    def _simulate_one(self, sim: Simulation, x_natural: np.ndarray, times: np.ndarray) -> np.ndarray:
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
        if len(times) == 1:  # only t = 0 is measured: no integration needed
            out = np.asarray(rr.getSelectedValues(), dtype=float)[None, :]
        else:
            out = self._integrate(times)
        if sim.steady_state:
            out = np.vstack([out, self._equilibrate(float(times[-1]))])
        return out

    def _equilibrate(self, start: float = 0.0) -> np.ndarray:
        """Integrate on from ``start`` until the state stops moving (PEtab's steady state); the outputs there."""
        for begin, end in zip(start + _STEADY_WINDOWS[:-1], start + _STEADY_WINDOWS[1:]):
            out = np.asarray(self.rr.simulate(times=[begin, end]), dtype=float)
            states = out[:, self._state_columns]
            if np.all(np.abs(states[1] - states[0]) <= _STEADY_ATOL + _STEADY_RTOL * np.abs(states[1])):
                return out[1]
        raise RuntimeError(f"no steady state within t = {start + _STEADY_WINDOWS[-1]:g}")
