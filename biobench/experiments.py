"""What a problem measures, compiled into arrays: the one shape of every estimation problem.

A synthetic problem (one simulation on a time grid, every observable a species, a
known sigma per measurement) and a PEtab problem (several conditions, formulas,
placeholders) compile to the same ``Experiments``: which model parameters each
simulation sets (to numbers or to estimated parameters), the time grid of each
simulation, the row of the simulation each measurement reads, the placeholder values
of each measurement, and the observable and noise formulas as text. It is plain
data (picklable), so worker processes receive it with the problem, and the hot path
reads arrays, not tables.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from biobench.errors import ProblemError

TIME_SYMBOL = "time"
_IDENTIFIER = re.compile(r"^[A-Za-z_]\w*$")


def is_identifier(text: str) -> bool:
    """A formula that is one symbol: read directly, without sympy."""
    return bool(_IDENTIFIER.match(text.strip()))


@dataclass(frozen=True)
class Assignment:
    """Values of the model's settable parameters in one condition: ``base``, then ``x[source]`` at ``target``."""

    base: np.ndarray
    target: np.ndarray
    source: np.ndarray

    def values(self, x_natural: np.ndarray) -> np.ndarray:
        out = self.base.copy()
        out[self.target] = x_natural[self.source]
        return out


@dataclass(frozen=True)
class Reinitialization:
    """States a simulation condition sets after pre-equilibration (the rest keep the steady state)."""

    selectors: tuple[str, ...]
    base: np.ndarray
    source: np.ndarray  # index into x, or -1 for the value in ``base``

    def values(self, x_natural: np.ndarray) -> np.ndarray:
        out = self.base.copy()
        estimated = self.source >= 0
        out[estimated] = x_natural[self.source[estimated]]
        return out


NO_REINITIALIZATION = Reinitialization((), np.empty(0), np.empty(0, dtype=int))


@dataclass(frozen=True)
class Simulation:
    """One simulation: a (pre-equilibration, simulation) condition pair and its output times."""

    preequilibration_id: str
    condition_id: str
    preequilibration: Assignment | None
    condition: Assignment
    reinitialization: Reinitialization
    times: np.ndarray  # finite, starts at 0
    steady_state: bool = False  # measured at time inf: one more output row, after the run reaches steady state

    @property
    def n_rows(self) -> int:
        """Rows of output: one per time point, one more for the steady state."""
        return len(self.times) + int(self.steady_state)


@dataclass(frozen=True)
class Placeholders:
    """Per-measurement values of placeholders (``noiseParameter1_obs``...): numbers or estimated parameters."""

    values: np.ndarray  # (n_measurements, n_columns); NaN where estimated
    rows: np.ndarray
    columns: np.ndarray
    source: np.ndarray  # index into x

    def resolve(self, x_natural: np.ndarray) -> np.ndarray:
        """The values at one point, or with ``x_natural`` of several points (rows), one table per point."""
        if not self.source.size:
            return self.values
        if x_natural.ndim == 2:
            out = np.repeat(self.values[None], len(x_natural), axis=0)
            out[:, self.rows, self.columns] = x_natural[:, self.source]
            return out
        out = self.values.copy()
        out[self.rows, self.columns] = x_natural[self.source]
        return out

    @classmethod
    def numbers(cls, values: np.ndarray) -> Placeholders:
        """Placeholders that are all numbers (no estimated parameter)."""
        empty = np.empty(0, dtype=int)
        return cls(np.asarray(values, dtype=float), empty, empty, empty)


@dataclass(frozen=True)
class ObservableSpec:
    """One observable: formulas as PEtab text, transformation and noise distribution."""

    observable_id: str
    formula: str
    noise_formula: str
    transformation: str  # lin, log, log10
    distribution: str  # normal, laplace
    observable_placeholders: tuple[str, ...]
    noise_placeholders: tuple[str, ...]


@dataclass(frozen=True)
class Experiments:
    """Simulations, measurements and how to predict them."""

    settable: tuple[str, ...]  # roadrunner's writable global parameters, in the order every Assignment uses
    simulations: tuple[Simulation, ...]
    observables: tuple[ObservableSpec, ...]
    model_symbols: dict[str, str]  # formula symbol -> roadrunner selector
    parameter_symbols: dict[str, tuple[float, int]]  # formula symbol -> (fixed value, x index or -1)
    measured: np.ndarray = field(repr=False)
    times: np.ndarray = field(repr=False)
    observable_index: np.ndarray = field(repr=False)  # per measurement, index into observables
    row: np.ndarray = field(repr=False)  # per measurement, row of the stacked simulation outputs
    observable_parameters: Placeholders = field(repr=False)
    noise_parameters: Placeholders = field(repr=False)

    @property
    def n_measurements(self) -> int:
        return len(self.measured)

    @property
    def needs_states(self) -> bool:
        """Pre-equilibration and steady-state measurements read every state to decide when it is steady."""
        return any(sim.preequilibration is not None or sim.steady_state for sim in self.simulations)

    def numeric_sigma(self) -> np.ndarray | None:
        """Per-measurement sigma when every noise formula is its own numeric placeholder (synthetic problems)."""
        if self.noise_parameters.source.size or self.noise_parameters.values.shape[1] != 1:
            return None
        if any(spec.noise_placeholders != (spec.noise_formula.strip(),) for spec in self.observables):
            return None
        return self.noise_parameters.values[:, 0]

    def grid(self, values: np.ndarray) -> np.ndarray:
        """Per-measurement ``values`` as a (time point, observable) grid, NaN where nothing is measured.

        Only a problem with one simulation and one measurement per (time, observable), such
        as every synthetic problem, has such a grid.
        """
        times = np.unique(self.times)
        grid = np.full((len(times), len(self.observables)), np.nan)
        cells = (np.searchsorted(times, self.times), self.observable_index)
        if len(self.simulations) != 1 or len(set(zip(*cells))) != self.n_measurements:
            raise ProblemError(f"the measurements ({len(self.simulations)} simulations, replicates possible) do not "
                               "form one (time, observable) grid; read them per measurement instead.")
        grid[cells] = values
        return grid

    def describe(self) -> dict:
        return {
            "simulations": [{"preequilibration": s.preequilibration_id or None, "condition": s.condition_id,
                             "n_times": len(s.times), "steady_state": s.steady_state} for s in self.simulations],
            "observables": [{"id": o.observable_id, "formula": o.formula, "noise": o.noise_formula,
                             "transformation": o.transformation, "distribution": o.distribution}
                            for o in self.observables],
            "n_measurements": self.n_measurements,
        }


def grid_experiments(settable: Sequence[str], defaults: np.ndarray, estimated: Sequence[str],
                     observables: Sequence[str], times: np.ndarray, data: np.ndarray | None = None,
                     sigma: np.ndarray | None = None) -> Experiments:
    """One simulation from t = 0, observables = model entities read as roadrunner reports them, measured on
    ``times``; ``data`` and ``sigma`` are (time, observable) grids (NaN data = not measured, left out).

    Without data (while a synthetic problem is being made) every cell is a measurement of NaN.
    """
    times = np.asarray(times, dtype=float)
    shape = (len(times), len(observables))
    measured = np.ones(shape, dtype=bool) if data is None else np.isfinite(data)
    data = np.full(shape, np.nan) if data is None else np.asarray(data, dtype=float)
    sigma = np.ones(shape) if sigma is None else np.asarray(sigma, dtype=float)
    t_index, o_index = np.nonzero(measured)  # time-major, observable-minor: the order of data.ravel()
    grid = np.unique(np.concatenate([[0.0], times]))
    position = {pid: i for i, pid in enumerate(settable)}
    missing = [pid for pid in estimated if pid not in position]
    if missing:
        raise ProblemError(f"roadrunner cannot set parameters {missing}; they cannot be estimated.")
    condition = Assignment(np.asarray(defaults, dtype=float), np.array([position[p] for p in estimated], dtype=int),
                           np.arange(len(estimated)))
    specs = tuple(ObservableSpec(name, name, f"noiseParameter1_{name}", "lin", "normal", (),
                                 (f"noiseParameter1_{name}",)) for name in observables)
    return Experiments(
        settable=tuple(settable),
        simulations=(Simulation("", "c0", None, condition, NO_REINITIALIZATION, grid),),
        observables=specs,
        model_symbols={name: name for name in observables},
        parameter_symbols={},
        measured=data[t_index, o_index],
        times=times[t_index],
        observable_index=o_index,
        row=np.searchsorted(grid, times)[t_index],
        observable_parameters=Placeholders.numbers(np.empty((len(t_index), 0))),
        noise_parameters=Placeholders.numbers(sigma[t_index, o_index][:, None]),
    )
