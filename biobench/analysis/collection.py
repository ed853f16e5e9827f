"""``biobench collection check``: a folder of published PEtab problems, checked on every engine.

Per problem: its size, the objective at the published (nominal) parameters on each engine, the
collection's reference (``refs.tsv`` beside the problems: the likelihood at nominal, so the prior
is added before comparing) and how far each engine is from it. With a results store, the best
value any stored start reached and the start's key; where that value is below the objective at
the published parameters, it is simulated again at the same point on the other engine, and only
a value both engines give (1e-4 relative, as for the references) is reported as a new best-known
value. A problem an engine cannot load or simulate gets its one-line reason instead of a number.

Where an engine fails at a point at the problem's tolerances it is asked once more at ``LOOSER``
ones, and the table says so: roadrunner's dense solver cannot integrate Chen_MSB2009's 500 species
at 1e-8 within its step limit, yet at 1e-6 it gives AMICI's value (at 1e-8) to 1e-7 relative. A
value that holds across tolerances and engines is what a confirmation asks.

A better point found elsewhere (another tool, another benchmark) is checked the same way: given as
a PEtab parameter table whose ``nominalValue`` column holds it (the problem's own table with that
column replaced is what any PEtab tool can write), it is simulated on every engine, and where
the engines agree on a value below the best stored one, that value is confirmed, naming its file.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from biobench.engines import likelihood_for
from biobench.errors import BiobenchError
from biobench.running.bench_config import petab_problems
from biobench.settings import IntegratorSettings

AGREEMENT = 1e-4  # relative: what counts as the same objective value on two engines, or as the reference
LOOSER = {"relative_tolerance": 1e-6, "absolute_tolerance": 1e-6}  # where the problem's tolerances fail


@dataclass
class ProblemCheck:
    """One row of the table."""

    problem: str
    problem_key: str = ""
    parameters: int | None = None
    measurements: int | None = None
    conditions: int | None = None
    reference: float = math.nan  # the collection's likelihood at nominal
    prior: float = math.nan  # the objective prior at nominal (0 without priors)
    fval: dict[str, float] = field(default_factory=dict)  # engine -> objective at nominal
    problems: dict[str, str] = field(default_factory=dict)  # engine -> why there is no value
    best: float = math.nan  # the best stored start's objective
    best_key: str = ""
    best_engine: str = ""
    best_source: str = ""  # a parameter table the best point came from, where it was not a stored start
    confirmed: dict[str, float] = field(default_factory=dict)  # engine -> objective at the best start's point
    loosened: set[str] = field(default_factory=set)  # engines that gave a value only at LOOSER tolerances

    def row(self, engines: list[str]) -> dict:
        row = {"problem": self.problem, "parameters": self.parameters, "measurements": self.measurements,
               "conditions": self.conditions, "reference": self.reference}
        for engine in engines:
            value = self.fval.get(engine, math.nan)
            row[f"fval {engine}"] = value if engine not in self.problems else self.problems[engine]
            row[f"{engine} vs reference"] = _relative(value - _zero(self.prior), self.reference)
        row |= {"best value": self.best, "found at": self.best_key or self.best_source,
                "best engine": self.best_engine,
                "new best known": self.new_best_known(),
                "looser tolerances": ", ".join(f"{engine} (rtol {LOOSER['relative_tolerance']:g}, atol "
                                               f"{LOOSER['absolute_tolerance']:g})"
                                               for engine in sorted(self.loosened))}
        return row

    def nominal(self) -> float:
        return min((v for v in self.fval.values() if math.isfinite(v)), default=math.inf)

    def beats_nominal(self) -> bool:
        nominal = self.nominal()
        return math.isfinite(self.best) and self.best < nominal - AGREEMENT * max(1.0, abs(nominal))

    def is_confirmed(self) -> bool:
        """The best stored value beats the published point and at least two engines give it there."""
        values = list(self.confirmed.values())
        return (self.beats_nominal() and len(values) >= 2
                and all(_relative(v, self.best) <= AGREEMENT for v in values))

    def evidence(self) -> dict:
        return {"task_key": self.best_key, "engine": self.best_engine, "values": self.confirmed,
                "looser_tolerances": {engine: LOOSER for engine in sorted(self.loosened)}} \
            | ({"source": self.best_source} if self.best_source else {})

    def new_best_known(self) -> str:
        """A best stored value below the objective at nominal, said only when every engine agrees on it."""
        if not self.beats_nominal():
            return ""
        if self.is_confirmed():
            looser = f"; {', '.join(sorted(self.loosened))} at rtol {LOOSER['relative_tolerance']:g}" \
                if self.loosened else ""
            return f"{self.best:.6g} (published {self.nominal():.6g}; engines agree{looser})"
        shown = ", ".join(f"{engine} {value:.6g}" for engine, value in self.confirmed.items())
        return f"not confirmed: {shown}"


def _zero(value: float) -> float:
    return 0.0 if not math.isfinite(value) else value


def _relative(value: float, reference: float) -> float:
    if not (math.isfinite(value) and math.isfinite(reference)):
        return math.nan
    return abs(value - reference) / max(abs(reference), 1e-12)


def references(folder: Path) -> dict[str, float]:
    """``refs.tsv`` of a collection (problem, fval_nominal_ref, ...); empty where there is none."""
    path = folder / "refs.tsv"
    if not path.is_file():
        return {}
    table = pd.read_csv(path, sep="\t")
    return dict(zip(table["problem"], pd.to_numeric(table["fval_nominal_ref"], errors="coerce")))


def check_collection(folder: str | Path, engines: list[str], runs: pd.DataFrame | None = None,
                     only: list[str] | None = None, say=print, integrator: IntegratorSettings | None = None,
                     points: dict[str, Path] | None = None) -> list[ProblemCheck]:
    """Every problem of ``folder`` (or those named in ``only``) on every engine; ``runs`` (a store's runs frame)
    gives the best stored starts; ``points`` (problem name -> PEtab parameter table) better points found
    elsewhere. ``integrator``: the problems' tolerances (biobench's defaults)."""
    from biobench.petab import load_petab_problem

    folder = Path(folder)
    refs = references(folder)
    checks = []
    for yaml in petab_problems(str(folder)):
        name = Path(yaml).parent.name
        if only and name not in only:
            continue
        say(f"{name} ...")
        check = ProblemCheck(name, reference=refs.get(name, math.nan))
        checks.append(check)
        settings = integrator or IntegratorSettings()
        try:
            problem = load_petab_problem(yaml, settings)
        except BiobenchError as exc:
            check.problems = {engine: f"not loaded: {exc}" for engine in engines}
            continue
        check.problem_key = problem.key
        check.parameters, check.measurements = problem.n_parameters, problem.n_data
        check.conditions = len(problem.experiments.simulations)
        evaluate = _Evaluator(yaml, problem, settings, check, lambda text: say(f"  {text}"))
        for engine in engines:
            try:
                check.fval[engine] = evaluate(engine, problem.x_true)
            except BiobenchError as exc:
                check.problems[engine] = str(exc)
                continue
            check.prior = evaluate.likelihoods[engine].prior(problem.x_true)
            if not math.isfinite(check.fval[engine]):
                check.problems[engine] = f"fails at nominal ({evaluate.likelihoods[engine].simulator.last_error})"
        if runs is not None:
            _best_stored(check, problem, runs, evaluate)
        if points and name in points:
            _candidate(check, problem, points[name], evaluate)
    return checks


class _Evaluator:
    """The objective of one problem on each engine at its tolerances, or where that fails at ``LOOSER`` ones
    (the engine is then named in ``check.loosened``)."""

    def __init__(self, yaml: str, problem, settings: IntegratorSettings, check: ProblemCheck, say) -> None:
        self.yaml, self.problem, self.settings, self.check, self.say = yaml, problem, settings, check, say
        self.likelihoods: dict = {}
        self._looser: dict = {}

    def __call__(self, engine: str, x: np.ndarray) -> float:
        if engine not in self.likelihoods:
            self.likelihoods[engine] = likelihood_for(self.problem, engine, say=self.say)
        value = self.likelihoods[engine].fval(x)
        if math.isfinite(value):
            return value
        if engine not in self._looser:
            from biobench.petab import load_petab_problem

            try:
                looser = load_petab_problem(self.yaml, self.settings.model_copy(update=LOOSER))
                self._looser[engine] = likelihood_for(looser, engine, say=self.say)
            except BiobenchError:
                self._looser[engine] = None
        if self._looser[engine] is None:
            return value
        value = self._looser[engine].fval(x)
        if math.isfinite(value):
            self.check.loosened.add(engine)
        return value


def _best_stored(check: ProblemCheck, problem, runs: pd.DataFrame, evaluate: _Evaluator) -> None:
    """The best stored start of the problem, simulated again at its point on every engine that loads it."""
    mine = runs[(runs["problem_key"] == problem.key) & np.isfinite(runs["fval_best"].astype(float))]
    if mine.empty:
        return
    best = mine.loc[mine["fval_best"].idxmin()]
    check.best, check.best_key = float(best["fval_best"]), str(best["task_key"])
    check.best_engine = str(best.get("engine") or "roadrunner")
    x = np.asarray(best["x_best"], dtype=float)
    check.confirmed = {engine: evaluate(engine, x) for engine in evaluate.likelihoods}


def _candidate(check: ProblemCheck, problem, table: Path, evaluate: _Evaluator) -> None:
    """The point of a parameter table, simulated on every engine; it replaces the best stored start where the first
    engine that simulates it gives a lower value (the engines must then agree on it to confirm it)."""
    x = read_point(table, problem)
    values = {engine: evaluate(engine, x) for engine in evaluate.likelihoods}
    value = next((v for v in values.values() if math.isfinite(v)), math.nan)
    if math.isfinite(value) and not value >= check.best:
        check.best, check.best_key, check.best_engine, check.best_source = value, "", "", str(table)
        check.confirmed = values


def point_values(table: str | Path) -> dict[str, float]:
    """parameterId -> nominalValue of a PEtab parameter table (a point: natural values, as PEtab defines them)."""
    path = Path(table)
    if not path.is_file():
        raise BiobenchError(f"{path}: no such file.")
    try:
        frame = pd.read_csv(path, sep="\t")
    except (OSError, ValueError) as exc:
        raise BiobenchError(f"{path}: not a readable parameter table ({exc}).") from None
    if not {"parameterId", "nominalValue"} <= set(frame.columns):
        raise BiobenchError(f"{path}: not a PEtab parameter table (tab-separated, with the columns parameterId and "
                            "nominalValue: the point); write the problem's own table with nominalValue replaced.")
    return dict(zip(frame["parameterId"].astype(str), pd.to_numeric(frame["nominalValue"], errors="coerce")))


def read_point(table: str | Path, problem) -> np.ndarray:
    """A problem's point from a PEtab parameter table (``point_values``), on the problem's scales: every estimated
    parameter must be there, finite and within its bounds."""
    path, values = Path(table), point_values(table)
    missing = [pid for pid in problem.parameter_ids if pid not in values]
    if missing:
        raise BiobenchError(f"{path}: no value for {len(missing)} estimated parameter(s) of "
                            f"{problem.problem_id}, e.g. {', '.join(missing[:3])}.")
    natural = np.array([values[pid] for pid in problem.parameter_ids], dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        x = problem.to_scaled(natural)
    outside = [pid for pid, xi, lo, hi in zip(problem.parameter_ids, x, problem.lower, problem.upper)
               if not (math.isfinite(xi) and lo - 1e-9 * max(1.0, abs(lo)) <= xi <= hi + 1e-9 * max(1.0, abs(hi)))]
    if outside:
        raise BiobenchError(f"{path}: {len(outside)} value(s) not finite or outside the problem's bounds, e.g. "
                            f"{', '.join(outside[:3])}: a point of this problem lies within its bounds.")
    return np.clip(x, problem.lower, problem.upper)


def check_table(checks: list[ProblemCheck], engines: list[str]) -> pd.DataFrame:
    return pd.DataFrame([check.row(engines) for check in checks])
