"""One compiled roadrunner instance that simulates a problem's observables.

The hot path is ``simulate_natural``: write every global parameter in one call
(so values changed by events in the previous run never leak into the next),
reset the state (which re-evaluates initial assignments), simulate on the given
grid. Anything extra here is paid on every objective evaluation.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence

import numpy as np
import roadrunner
from roadrunner import SelectionRecord

from biobench.errors import ProblemError, first_line
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


class Simulator:
    """Simulates a model at given natural-scale values of a chosen set of parameters."""

    def __init__(
        self,
        model: Model,
        parameter_ids: Sequence[str],
        observables: Sequence[str],
        integrator: IntegratorSettings | None = None,
    ) -> None:
        self.rr = model.simulator()
        all_ids = list(self.rr.model.getGlobalParameterIds())
        missing = [pid for pid in parameter_ids if pid not in all_ids]
        if missing:
            raise ProblemError(f"{model.model_id}: roadrunner does not know parameters {missing}.")
        values = np.array(self.rr.model.getGlobalParameterValues(), dtype=float)
        settable = settable_parameters(self.rr)
        self._settable = np.asarray(settable, dtype=np.int32)  # roadrunner converts an int32 array fastest
        self._base = values[settable]
        self._index = np.array([settable.index(all_ids.index(pid)) for pid in parameter_ids], dtype=int)
        self._model = self.rr.model  # each attribute access builds a new SWIG proxy
        try:
            self.rr.timeCourseSelections = list(observables)
        except Exception as exc:
            raise ProblemError(
                f"{model.model_id}: cannot observe {list(observables)}: {exc}. Observables must be ids of "
                f"species, parameters or compartments (floating species: {', '.join(model.species)})."
            ) from None
        configure_integrator(self.rr, integrator or IntegratorSettings())
        self.last_error: str | None = None
        self.seconds = 0.0  # spent inside roadrunner (set, reset, simulate): the share benchmarks report

    def simulate_natural(self, values: np.ndarray, times: np.ndarray) -> np.ndarray | None:
        """Observables at ``times`` (rows) for natural-scale ``values``; None when CVODE fails."""
        full = self._base.copy()
        full[self._index] = values
        rr = self.rr
        started = time.perf_counter()
        try:
            self._model.setGlobalParameterValues(self._settable, full)
            rr.reset(RESET)
            result = rr.simulate(times=times)
        except RuntimeError as exc:
            self.last_error = first_line(exc, "integration failed")
            return None
        finally:
            self.seconds += time.perf_counter() - started
        y = np.asarray(result)
        if y.shape[0] != len(times) or not np.isfinite(y).all():
            self.last_error = "non-finite or incomplete trajectory"
            return None
        return y
