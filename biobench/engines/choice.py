"""``--engine auto``: run each method on whichever engine gets it what it asks for more cheaply here.

Small models simulate several times faster on roadrunner, whose forward differences (one
simulation per parameter) then beat AMICI's sensitivity solves; from some tens of parameters
AMICI's exact derivatives win (the engines page of the docs has the collection's table). So
the choice is measured per problem: both engines' simulations and AMICI's sensitivity solves
timed against each other in interleaved rounds at the nominal point (a change of load moves
them alike); AMICI's way to a derivative is the one its own measurement chose
(``biobench.engines.costs``). The timing is saved beside the compiled model, so every later
run on the problem chooses the same engine.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

from biobench.engines import check_engine, likelihood_for
from biobench.engines.costs import SensitivityCosts, interleaved_cpu_ms
from biobench.errors import BiobenchError
from biobench.problem import Problem


@dataclass(frozen=True)
class EngineTimes:
    """CPU ms of one simulation on each engine and of AMICI's sensitivity solves, measured in the same rounds."""

    roadrunner_ms: float | None  # None where roadrunner fails at the point (Isensee)
    amici_ms: float
    forward_ms: float | None  # None where the solve is not used on this problem (SensitivityCosts)
    adjoint_ms: float | None

    def amici_way_ms(self, way: str, n_parameters: int) -> float | None:
        return {"differences": self.amici_ms * n_parameters, "forward": self.forward_ms,
                "adjoint": self.adjoint_ms}[way]


# problem key -> AMICI's measured costs and the file its engine timings are kept in, or why AMICI cannot run the
# problem: what a choice needs, kept so that choosing for several methods builds AMICI's likelihood once
_known: dict[str, tuple[SensitivityCosts, Path] | str] = {}
_said: set[tuple[str, str]] = set()  # (problem key, message): a bench asks once per method and seed; told once


def _once(problem: Problem, say, message: str) -> None:
    if (problem.key, message) not in _said:
        _said.add((problem.key, message))
        say(message)


def resolve_engine(problem: Problem, engine: str, needs: str | None, say=print) -> str:
    """``engine`` itself, or for ``auto`` the engine cheaper for a method that ``needs`` the residual Jacobian,
    the gradient, or values only (None); roadrunner where AMICI is missing or refuses the problem."""
    check_engine(engine)
    if engine != "auto":
        return engine
    amici = None
    if problem.key not in _known:
        try:
            amici = likelihood_for(problem, "amici", say=say)
        except BiobenchError as exc:  # not installed, or the problem refused: said in one line either way
            _known[problem.key] = str(exc)
        else:
            _known[problem.key] = (amici.costs, Path(amici.compiled.module_dir) / f"engines-{problem.key[:16]}.json")
    known = _known[problem.key]
    if isinstance(known, str):
        _once(problem, say, f"engine auto: roadrunner, as AMICI cannot run this problem ({known})")
        return "roadrunner"
    costs, path = known
    times = saved_times(path) or measure_times(problem, amici or likelihood_for(problem, "amici", say=say), path)
    if needs is None:
        what, roadrunner_ms, amici_ms, way = "value-only methods", times.roadrunner_ms, times.amici_ms, "a simulation"
    else:
        what = "methods that need the residual Jacobian" if needs == "jacobian" else "gradient methods"
        way = costs.choose(needs)
        roadrunner_ms = None if times.roadrunner_ms is None else times.roadrunner_ms * problem.n_parameters
        amici_ms = times.amici_way_ms(way, problem.n_parameters) or costs.ratio(way) * times.amici_ms
        way = "differences" if way == "differences" else f"{way} sensitivities"
    chosen = "amici" if roadrunner_ms is None or amici_ms < roadrunner_ms else "roadrunner"
    shown = "fails" if roadrunner_ms is None else f"{roadrunner_ms:.3g}"
    _once(problem, say, f"engine auto for {what}: {chosen} (CPU ms: roadrunner {shown}, AMICI {amici_ms:.3g} by {way})")
    return chosen


def saved_times(path: Path) -> EngineTimes | None:
    """The engine timings saved at ``path``; None where there are none (or they cannot be read)."""
    try:
        return EngineTimes(**json.loads(path.read_text()))
    except (OSError, ValueError, TypeError):
        return None


def measure_times(problem: Problem, amici, path: Path) -> EngineTimes:
    """Both engines' simulations and AMICI's solves timed in the same rounds at the nominal point, saved at
    ``path`` (so every later run on the problem chooses the same engine)."""
    roadrunner = likelihood_for(problem, "roadrunner")
    x = amici.reference
    calls = {"roadrunner": lambda: roadrunner.evaluate(x), "amici": lambda: amici.evaluate(x)}
    for way in ("forward", "adjoint"):
        if amici.costs.ms(way) is not None:
            calls[way] = lambda way=way: amici.derivatives(x, way)
    measured = interleaved_cpu_ms(calls, repeats_cap=50)
    times = EngineTimes(measured.get("roadrunner"), measured.get("amici", amici.costs.simulation_ms),
                        measured.get("forward"), measured.get("adjoint"))
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(asdict(times)))
    tmp.replace(path)
    return times
