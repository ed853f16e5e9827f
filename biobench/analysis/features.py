"""Model features: what a model and its problem look like to an estimation method, measured.

The recommender (issue 19) learns which method suits which model from these, so each is
something a modeller could measure before choosing: size (species, reactions, estimable
parameters, observables, data points, events, rate rules), stiffness (integrator steps
and seconds per simulation at the nominal point; the spread of the Jacobian's eigenvalues
there), oscillation (peaks of the nominal trajectory), the data's dynamic range, and the
objective landscape probed at a small seeded Latin hypercube (the share of failed
simulations, how many decades the objective spans). Everything is from libsbml,
roadrunner (AMICI where roadrunner cannot simulate the problem) and scipy; nothing here is
charged to a method (features are not a method).
"""

from __future__ import annotations

import math
import time

import numpy as np

from biobench.engines import likelihood_for
from biobench.likelihood import Likelihood
from biobench.problem import Problem

PROBES = 32  # Latin hypercube points of the landscape probe
PROBE_SECONDS = 10.0  # ... or fewer: a slow model's probe stops when this much time has gone
# Counted on every problem (the measured ones may be NaN): a stored row without one of these was measured by an
# earlier biobench, and a bench measures that problem again (``biobench.running.bench``).
COUNTED = ("species", "boundary_species", "reactions", "events", "rate_rules", "assignment_rules", "compartments",
           "parameters", "observables", "data_points", "conditions", "preequilibrated_conditions",
           "steady_state_conditions", "data_per_parameter")
MAX_JACOBIAN = 100  # floating species: roadrunner's Jacobian of a 280-species model took minutes
SLOW_SIMULATION = 2.0  # seconds: above this, integrator steps, Jacobian and oscillation are not measured
PEAK_PROMINENCE = 0.05  # of a trajectory's range: smaller wiggles are integrator noise, not oscillation


def model_structure(sbml: str) -> dict:
    """Counts from the SBML document (libsbml): what the model is made of."""
    import libsbml

    model = libsbml.readSBMLFromString(sbml).getModel()
    rules = [model.getRule(i) for i in range(model.getNumRules())]
    species = [model.getSpecies(i) for i in range(model.getNumSpecies())]
    return {"species": sum(not s.getBoundaryCondition() for s in species),
            "boundary_species": sum(s.getBoundaryCondition() for s in species),
            "reactions": model.getNumReactions(), "events": model.getNumEvents(),
            "rate_rules": sum(r.isRate() for r in rules), "assignment_rules": sum(r.isAssignment() for r in rules),
            "compartments": model.getNumCompartments()}


def problem_features(problem: Problem, probes: int = PROBES, seed: int = 0, engine: str = "roadrunner",
                     fallback: str | None = None) -> dict:
    """Every feature of a problem (see the module docstring); NaN where one cannot be measured (e.g. the nominal
    point does not simulate) rather than an error, so a corpus of models yields one row each.

    On another ``engine`` (amici: a problem roadrunner cannot simulate, such as a large one at tight
    tolerances), the seconds per simulation and the landscape probe are that engine's; integrator steps,
    the Jacobian and oscillation are read from roadrunner's model wherever it simulates. ``fallback`` is
    that engine where roadrunner cannot simulate the nominal point: a bench's problems are timed and probed
    on the engine their methods can run on, not left unmeasured."""
    started = time.perf_counter()
    likelihood = likelihood_for(problem, "roadrunner")
    features = {**model_structure(problem.model.sbml), "parameters": problem.n_parameters,
                "observables": len(problem.observables), "data_points": problem.n_data,
                "conditions": len(problem.experiments.simulations),
                # steady states: conditions pre-equilibrated to one, and measurements taken at one (time inf)
                "preequilibrated_conditions": sum(sim.preequilibration is not None
                                                  for sim in problem.experiments.simulations),
                "steady_state_conditions": sum(sim.steady_state for sim in problem.experiments.simulations),
                "data_per_parameter": problem.n_data / max(1, problem.n_parameters)}
    features.update(_data_range(problem))
    features.update(_nominal_dynamics(problem, likelihood))
    if engine == "roadrunner" and fallback is not None and math.isnan(features["seconds_per_simulation"]):
        try:
            likelihood_for(problem, fallback, say=lambda _: None)
            engine = fallback
        except Exception:  # noqa: BLE001 - the fallback cannot run it either (not installed, refused): NaN stands
            pass
    if engine != "roadrunner":
        likelihood = likelihood_for(problem, engine, say=lambda _: None)
        features["seconds_per_simulation"] = _seconds_per_evaluation(problem, likelihood)
    features.update(_landscape(problem, likelihood, probes, seed))
    features["feature_seconds"] = time.perf_counter() - started
    return features


def _data_range(problem: Problem) -> dict:
    """Decades spanned by each observable's measurements (median over observables): wide ranges call for log scales."""
    exp = problem.experiments
    decades = []
    for k in range(len(exp.observables)):
        values = np.abs(exp.measured[(exp.observable_index == k) & np.isfinite(exp.measured)])
        positive = values[values > 0]
        if positive.size > 1:
            decades.append(np.log10(positive.max() / positive.min()))
    return {"data_decades": float(np.median(decades)) if decades else float("nan")}


def _nominal_dynamics(problem: Problem, likelihood: Likelihood) -> dict:
    """Seconds and integrator steps of one simulation, the Jacobian's eigenvalue spread at the end of the nominal
    trajectory (at t = 0 species at zero often make it undefined) and oscillation."""
    nan = float("nan")
    found = {"seconds_per_simulation": nan, "integrator_steps": nan, "stiffness_decades": nan,
             "fastest_timescale": nan, "oscillating": nan, "trajectory_peaks": nan}
    x_natural = likelihood.natural(problem.x_true)
    simulator = likelihood.simulator
    found["seconds_per_simulation"] = _median_seconds(lambda: simulator.simulate(x_natural) is not None)
    if math.isnan(found["seconds_per_simulation"]):
        return found
    if found["seconds_per_simulation"] > SLOW_SIMULATION:
        return found  # stepping and peaks would cost two more slow simulations: left unmeasured
    end = float(np.max(problem.experiments.times)) or 1.0
    trajectory = simulator.trajectory(x_natural, np.linspace(0.0, end, 400))
    if trajectory is not None:
        found.update(_oscillation(trajectory))
    rr = simulator.rr  # holds the nominal parameters now: count steps, read the Jacobian where the run ends
    integrator = rr.integrator
    try:
        integrator.variable_step_size = True
        rr.reset()
        found["integrator_steps"] = float(len(rr.simulate(0.0, end)) - 1)
        if 0 < rr.model.getNumFloatingSpecies() <= MAX_JACOBIAN:  # none: roadrunner crashes; hundreds: minutes
            found.update(_eigenvalue_spread(_jacobian(rr)))
    except RuntimeError:
        pass  # a model that simulates on the grid but not with free steps keeps NaN here
    finally:
        integrator.variable_step_size = False
        rr.reset()
    return found


def _seconds_per_evaluation(problem: Problem, likelihood) -> float:
    """Median seconds of the objective at the nominal point; NaN where it fails."""
    return _median_seconds(lambda: bool(np.isfinite(likelihood.fval(problem.x_true))))


def _median_seconds(run) -> float:
    """Median seconds of ``run()`` over three calls (fewer once they take a second in all); NaN as soon as one
    reports failure (returns False)."""
    timings: list[float] = []
    while len(timings) < 3 and sum(timings) < 1.0:
        began = time.perf_counter()
        if not run():
            return float("nan")
        timings.append(time.perf_counter() - began)
    return float(np.median(timings))


def _jacobian(rr) -> np.ndarray:
    """roadrunner's full Jacobian; its reduced one (the same matrix without moiety conservation) where the full
    one raises, as it does for some multi-compartment models."""
    try:
        return np.asarray(rr.getFullJacobian(), dtype=float)
    except RuntimeError:
        return np.asarray(rr.getReducedJacobian(), dtype=float)


def _eigenvalue_spread(jacobian: np.ndarray) -> dict:
    """Stiffness as decades between the fastest and slowest decaying modes (|Re lambda| > 1e-9), and the fastest
    mode's time scale: large spreads make explicit integrators and finite differences struggle."""
    while jacobian.size and not np.isfinite(jacobian).all():  # a state whose rates divide by zero there is left out
        bad = ~np.isfinite(jacobian)
        worst = int(np.argmax(bad.sum(axis=0) + bad.sum(axis=1)))
        jacobian = np.delete(np.delete(jacobian, worst, axis=0), worst, axis=1)
    if jacobian.size == 0:
        return {}
    rates = np.abs(np.linalg.eigvals(jacobian).real)
    rates = rates[rates > 1e-9]
    if rates.size == 0:
        return {"stiffness_decades": 0.0}
    return {"stiffness_decades": float(np.log10(rates.max() / rates.min())), "fastest_timescale": float(1 / rates.max())}


def _oscillation(trajectory: np.ndarray) -> dict:
    """Peaks (scipy ``find_peaks``, prominence above 5% of the column's range) in any simulated column; three or
    more count as oscillating."""
    from scipy.signal import find_peaks

    peaks = 0
    for column in trajectory.T:
        span = float(np.ptp(column))
        if span > 1e-12 * max(1.0, float(np.abs(column).max())):
            peaks = max(peaks, len(find_peaks(column, prominence=PEAK_PROMINENCE * span)[0]))
    return {"trajectory_peaks": float(peaks), "oscillating": float(peaks >= 3)}


def _landscape(problem: Problem, likelihood: Likelihood, probes: int, seed: int) -> dict:
    """The objective at ``probes`` Latin hypercube points (fewer when they take over ``PROBE_SECONDS``): the
    share that fails, the decades its finite values span."""
    from scipy.stats import qmc

    if probes <= 0:
        return {}
    unit = qmc.LatinHypercube(d=problem.n_parameters, rng=np.random.default_rng(seed)).random(probes)
    began, values = time.perf_counter(), []
    for u in unit:
        values.append(likelihood.fval(problem.lower + u * (problem.upper - problem.lower)))
        if time.perf_counter() - began > PROBE_SECONDS:
            break
    fvals = np.array(values)
    finite = fvals[np.isfinite(fvals)]
    spread = float(np.log10(np.quantile(finite, 0.9) - finite.min() + 1.0)) if finite.size > 1 else float("nan")
    return {"probe_points": float(len(fvals)), "probe_failed_share": float(1 - finite.size / len(fvals)),
            "probe_fval_decades": spread}
