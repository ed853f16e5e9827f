"""A reproducible estimation problem: parameters, bounds, and the experiments that measure them.

Every problem has one shape: parameters on their scales within bounds, plus compiled
``Experiments`` (simulations, observables, measurements, noise). Synthetic problems
(``build_problem``) simulate the model at its nominal ("true") parameters on one time
grid and add seeded Gaussian noise; PEtab problems (``biobench.petab``) compile their
tables into the same form. The problem key hashes the model file, the settings and the
seed, so equal keys mean bit-identical data on one machine (on another CPU, roadrunner's model
compiled for its instruction set may move the simulated values in their last digits).
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass, field

import numpy as np

from biobench.errors import ProblemError
from biobench.experiments import Experiments, grid_experiments
from biobench.models.model import Model
from biobench.priors import PriorSpec
from biobench.settings import NoiseSettings, ProblemSettings
from biobench.simulator import Simulator, settable_parameter_ids
from biobench.time_grid import time_grid


@dataclass(frozen=True)
class Problem:
    """Everything a likelihood needs; immutable so every method sees the same instance."""

    model: Model
    settings: ProblemSettings
    parameter_ids: tuple[str, ...]
    scales: tuple[str, ...]
    lower: np.ndarray  # scaled
    upper: np.ndarray  # scaled
    nominal: np.ndarray  # natural scale: the truth for synthetic problems
    experiments: Experiments = field(repr=False)
    key: str = ""
    synthetic: bool = True  # data simulated from ``nominal``; a PEtab problem's nominal values are a reference
    # Per parameter, or empty: objective priors make the objective a negative log-posterior; initialization
    # priors are what the ``petab`` initializer samples starts from (PEtab's parameter table columns).
    objective_priors: tuple[PriorSpec | None, ...] = ()
    initialization_priors: tuple[PriorSpec | None, ...] = ()
    # Set when an automatic horizon found the nominal trajectory oscillating and sampled it per period.
    oscillation_period: float | None = None
    # The PEtab YAML a real problem was read from: what another engine (AMICI) is handed.
    petab_yaml: str | None = None

    @property
    def n_parameters(self) -> int:
        return len(self.parameter_ids)

    @property
    def n_data(self) -> int:
        return self.experiments.n_measurements

    @property
    def observables(self) -> tuple[str, ...]:
        return tuple(o.observable_id for o in self.experiments.observables)

    @property
    def timepoints(self) -> np.ndarray:
        """Every time point with a measurement."""
        return np.unique(self.experiments.times)

    @property
    def data(self) -> np.ndarray:
        """The measurements as a (time point, observable) grid (problems measured on one grid, e.g. synthetic)."""
        return self.experiments.grid(self.experiments.measured)

    @property
    def sigma(self) -> np.ndarray:
        """Known noise sigmas on the same grid as ``data`` (synthetic problems)."""
        sigma = self.experiments.numeric_sigma()
        if sigma is None:
            raise ProblemError(f"{self.problem_id}: sigma depends on formulas or parameters, so it has no grid.")
        return self.experiments.grid(sigma)

    @property
    def x_true(self) -> np.ndarray:
        return self.to_scaled(self.nominal)

    @property
    def has_truth(self) -> bool:
        """Synthetic data come from ``nominal``; a PEtab problem's nominal values are only a reference point."""
        return self.synthetic

    @property
    def problem_id(self) -> str:
        return f"{self.model.model_id}:{self.key[:10]}"

    def to_scaled(self, values: np.ndarray) -> np.ndarray:
        return _transform(np.asarray(values, dtype=float), self.scales, forward=True)

    def to_natural(self, x: np.ndarray) -> np.ndarray:
        return _transform(np.asarray(x, dtype=float), self.scales, forward=False)

    def describe(self) -> dict:
        return {
            "problem_id": self.problem_id,
            "key": self.key,
            "model": {"id": self.model.model_id, "name": self.model.name, "sha256": self.model.sha256,
                      "source": self.model.source},
            # Bounds and nominal value in natural units, and again on the estimation scale: never mixed.
            "parameters": [
                {"id": pid, "scale": s, "lower": float(lo), "upper": float(up), "nominal": float(nom),
                 "lower_scaled": float(lo_s), "upper_scaled": float(up_s), "nominal_scaled": float(nom_s)}
                | ({"prior": prior.describe()} if prior is not None else {})
                for pid, s, lo, up, nom, lo_s, up_s, nom_s, prior in zip(
                    self.parameter_ids, self.scales, self.to_natural(self.lower), self.to_natural(self.upper),
                    self.nominal, self.lower, self.upper, self.x_true,
                    self.objective_priors or [None] * len(self.scales))
            ],
            "observables": list(self.observables),
            "timepoints": [float(t) if math.isfinite(t) else "inf" for t in self.timepoints],  # inf: steady state
            "n_data": self.n_data,
            **({"oscillation_period": self.oscillation_period} if self.oscillation_period is not None else {}),
            "settings": self.settings.model_dump(mode="json"),
            **({} if self.synthetic else {"petab": self.experiments.describe()}),
        }


def to_scale(values: np.ndarray, scale: str) -> np.ndarray:
    """Natural values of one parameter onto its estimation scale."""
    return np.log10(values) if scale == "log10" else np.log(values) if scale == "log" else np.asarray(values)


def from_scale(x: np.ndarray, scale: str) -> np.ndarray:
    return 10.0**x if scale == "log10" else np.exp(x) if scale == "log" else np.asarray(x)


def _transform(values: np.ndarray, scales: tuple[str, ...], forward: bool) -> np.ndarray:
    out = np.array(values, dtype=float, copy=True)
    for i, scale in enumerate(scales):
        out[..., i] = to_scale(values[..., i], scale) if forward else from_scale(values[..., i], scale)
    return out


def problem_key(model: Model, settings: ProblemSettings, oscillation_aware: bool = False) -> str:
    """Equal keys, equal data: grids shaped by an oscillation hash apart from the fixed grid older versions used.

    The non-stiff retry is hashed only when switched off, so keys from before it existed stay valid:
    it changes no simulation that succeeded, and the data come from one that did.
    """
    content = {"model": model.sha256, "settings": settings.model_dump(mode="json")}
    if settings.integrator.retry_non_stiff:
        del content["settings"]["integrator"]["retry_non_stiff"]
    if oscillation_aware:
        content["time_grid"] = "oscillation-aware"
    blob = json.dumps(content, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()


def _select_parameters(model: Model, settings: ProblemSettings) -> list[tuple[str, float]]:
    known = {p.id: p for p in model.parameters}
    if settings.parameters is None:
        chosen = [p for p in model.estimable_parameters if p.id not in settings.exclude]
    else:
        chosen = []
        for pid in settings.parameters:
            if pid not in known:
                raise ProblemError(f"parameters: {pid!r} is not a global parameter of {model.model_id} "
                                   f"(known: {', '.join(sorted(known))}).")
            if not known[pid].estimable:
                raise ProblemError(f"parameters: {pid!r} cannot be estimated: it is {known[pid].excluded_because}.")
            chosen.append(known[pid])
    for pid in settings.exclude:
        if pid not in known:
            raise ProblemError(f"exclude: {pid!r} is not a global parameter of {model.model_id}.")
    if not chosen:
        raise ProblemError(f"{model.model_id} has no estimable parameters (constant, not set by rules or "
                           "assignments, finite and non-zero); pass --model with another model.")
    for pid in settings.bounds:
        if pid not in {p.id for p in chosen}:
            raise ProblemError(f"bounds: {pid!r} is not among the estimated parameters.")
    return [(p.id, p.value) for p in chosen]


def _bounds(pid: str, nominal: float, settings: ProblemSettings) -> tuple[float, float]:
    if pid in settings.bounds:
        lo, up = settings.bounds[pid]
        if not (lo < up) or (settings.scale != "lin" and lo <= 0):
            raise ProblemError(f"bounds: {pid!r} needs lower < upper (and lower > 0 on a log scale), got {lo}, {up}.")
        if not lo <= nominal <= up:
            raise ProblemError(f"bounds: {pid!r} = {nominal} lies outside its bounds [{lo}, {up}].")
        return lo, up
    return nominal / settings.bounds_factor, nominal * settings.bounds_factor


def _default_observables(model: Model, settings: ProblemSettings) -> tuple[str, ...]:
    """The configured observables; else the floating species; else, for models written in rate rules alone
    (neuron and organ models of BioModels), the variables those rules integrate."""
    if settings.observables is not None:
        return tuple(settings.observables)
    if model.species:
        return model.species
    rate_rules = tuple(model.simulator().getRateRuleIds())
    if not rate_rules:
        raise ProblemError(f"{model.model_id} has neither floating species nor rate rules to observe; set "
                           "observables in the config.")
    return rate_rules


def synthetic_sigma(y: np.ndarray, observable: np.ndarray, noise: NoiseSettings) -> np.ndarray:
    """The noise scale of each synthetic measurement with noise-free value ``y`` (``observable``: its observable's
    index): ``relative x |y|`` plus a floor, the absolute setting or 1% of the largest ``|y|`` of its observable
    (1e-6 where that is zero, so a flat observable still has a finite sigma). The rule's one home: a synthetic
    problem's data and the amortized initializer's simulated datasets both use it."""
    if noise.absolute is not None:
        floor = np.full(len(y), float(noise.absolute))
    else:
        largest = np.zeros(int(observable.max()) + 1)
        np.maximum.at(largest, observable, np.abs(y))
        floor = 0.01 * largest[observable]
        floor[floor == 0] = 1e-6
    return noise.relative * np.abs(y) + floor


def build_problem(model: Model, settings: ProblemSettings | None = None) -> Problem:
    """Turn a model into a synthetic problem; same model, settings and seed give identical data."""
    settings = settings or ProblemSettings()
    chosen = _select_parameters(model, settings)
    ids = tuple(pid for pid, _ in chosen)
    nominal = np.array([value for _, value in chosen], dtype=float)
    bounds = np.array([_bounds(pid, value, settings) for pid, value in chosen], dtype=float)
    scales = (settings.scale,) * len(ids)
    observables = _default_observables(model, settings)
    if len(set(observables)) != len(observables):
        raise ProblemError(f"observables: {list(observables)} names an observable twice; list each once.")

    settable, defaults = settable_parameter_ids(model.simulator())

    def experiments(times: np.ndarray, data: np.ndarray | None = None, sigma: np.ndarray | None = None):
        return grid_experiments(settable, defaults, ids, observables, times, data, sigma)

    # A simulator of the nominal model (before there are data) finds the horizon and the true trajectory.
    simulator = Simulator(model, experiments(np.zeros(1)), settings.integrator)
    grid_shape = time_grid(settings.time, lambda times: simulator.trajectory(nominal, times))
    timepoints = grid_shape.times
    grid = np.unique(np.concatenate([[0.0], timepoints]))  # simulations start at t = 0
    trajectory = simulator.trajectory(nominal, grid)
    if trajectory is None:
        raise ProblemError(f"{model.model_id}: the simulation at the nominal parameters fails "
                           f"({simulator.last_error}); the model cannot serve as a synthetic problem.")
    y_true = trajectory[np.searchsorted(grid, timepoints)]

    observable = np.tile(np.arange(y_true.shape[1]), y_true.shape[0])  # row-major: each row's observables
    sigma = synthetic_sigma(y_true.ravel(), observable, settings.noise).reshape(y_true.shape)
    rng = np.random.default_rng(settings.seed)
    data = y_true + sigma * rng.standard_normal(y_true.shape)

    lower, upper = _transform(bounds[:, 0], scales, True), _transform(bounds[:, 1], scales, True)
    return Problem(
        model=model,
        settings=settings,
        parameter_ids=ids,
        scales=scales,
        lower=lower,
        upper=upper,
        nominal=nominal,
        experiments=experiments(timepoints, data, sigma),
        key=problem_key(model, settings, oscillation_aware=grid_shape.period is not None),
        oscillation_period=grid_shape.period,
    )
