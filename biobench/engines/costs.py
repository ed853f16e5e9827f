"""What a sensitivity solve costs, measured per problem, and the gradient it chooses.

A start's budget is in simulation-equivalents: a forward or adjoint sensitivity solve is
charged its measured CPU time over that of one simulation of the same problem on the same
engine (at least 1). Exact gradients are not always cheaper (AMICI 1.0.1, CPU ms at the
nominal point: on Boehm a forward solve costs about 4 simulations, fewer than the 9 of
forward differences; on Bachmann the adjoint is 13x dearer than forward), so the costs are
measured when the engine first meets the problem, saved beside the compiled model (so every
later run charges the same) and shown by ``biobench problem --engine amici``.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from biobench.errors import ProblemError

_MIN_REPEATS = 3
_TARGET_SECONDS = 0.3  # per kind of solve, when one solve is fast enough to repeat
_MAX_SECONDS = 20.0  # past this one measurement is enough (a Chen forward solve takes minutes)
GRADIENT_WAYS = ("forward", "adjoint", "differences")


@dataclass(frozen=True)
class SensitivityCosts:
    """CPU milliseconds per solve at one point, and the ways to a gradient chosen from them."""

    n_parameters: int
    simulation_ms: float
    forward_ms: float | None  # None where the forward solve failed: no exact residual Jacobian
    # None where the adjoint solve failed, or is not trusted (a discontinuous model whose forward solve works)
    adjoint_ms: float | None

    def ms(self, way: str) -> float | None:
        """CPU ms of one gradient (or Jacobian) by ``way``: forward/adjoint sensitivities or forward differences
        (one simulation per parameter beyond the value); None where that way fails on this problem."""
        return {"forward": self.forward_ms, "adjoint": self.adjoint_ms,
                "differences": self.simulation_ms * self.n_parameters}[way]

    def ratio(self, method: str) -> float:
        """Simulation-equivalents one sensitivity solve of ``method`` is charged (a simulation is 1)."""
        ms = self.ms(method)
        if ms is None:
            raise ValueError(f"{method} sensitivities are not available on this problem")
        return max(1.0, float(ms) / self.simulation_ms)

    def choose(self, needs: str, fixed: str | None = None) -> str:
        """How a method that ``needs`` the residual Jacobian ("jacobian": fides, least squares) or the gradient
        ("gradient": L-BFGS-B) gets it here: the way the user ``fixed`` where it gives that, else the cheapest
        measured. The adjoint gives no Jacobian, so a fixed adjoint leaves Jacobian methods the cheapest way."""
        ways = ("forward", "differences") if needs == "jacobian" else GRADIENT_WAYS
        if fixed in ways:
            if self.ms(fixed) is None:
                raise ProblemError(f"{fixed} sensitivities fail on this problem at its nominal point; use --engine "
                                   "amici (the cheapest way that works) instead of amici:" + fixed)
            return fixed
        available = {way: self.ms(way) for way in ways if self.ms(way) is not None}
        return min(available, key=available.get)

    @property
    def jacobian(self) -> bool:
        """Whether forward sensitivities work here: the exact residual Jacobian."""
        return self.forward_ms is not None

    @property
    def gradient(self) -> str:
        """The cheapest way to a gradient measured here (exact or by differences)."""
        return self.choose("gradient")

    def table(self) -> list[tuple[str, float, float]]:
        """(way, ms, simulation-equivalents) rows for a person to read."""
        rows = [("simulation", self.simulation_ms, 1.0),
                ("forward differences", self.ms("differences"), float(self.n_parameters))]
        if self.forward_ms is not None:
            rows.append(("forward sensitivities", self.forward_ms, self.ratio("forward")))
        if self.adjoint_ms is not None:
            rows.append(("adjoint sensitivities", self.adjoint_ms, self.ratio("adjoint")))
        return rows


def interleaved_cpu_ms(calls: dict, repeats_cap: int) -> dict[str, float]:
    """Median CPU ms of each call, run in turn round after round (so a change of load on a shared machine
    moves them alike and their ratios stay put): at least three rounds, more while they take under 0.3 s,
    none begun after 20 s. A call that fails is dropped from the answer."""
    times: dict[str, list[float]] = {name: [] for name in calls}
    alive, spent, rounds = dict(calls), 0.0, 0
    while (alive and rounds < repeats_cap and spent < _MAX_SECONDS
           and (rounds < _MIN_REPEATS or spent < _TARGET_SECONDS)):
        for name, call in list(alive.items()):
            started = time.process_time()
            ok = call() is not None
            elapsed = time.process_time() - started
            spent += elapsed
            if not ok:
                del alive[name], times[name]
                continue
            times[name].append(elapsed)
        rounds += 1
    return {name: 1000.0 * float(np.median(values)) for name, values in times.items()}


def measure_costs(likelihood, x: np.ndarray, repeats_cap: int = 50) -> SensitivityCosts:
    """Measure simulation, forward and adjoint solves of ``likelihood`` (an AMICI one) at scaled ``x``.

    AMICI's adjoint is untested across discontinuities (events, piecewise in time): there it is measured, and
    used, only where forward sensitivities fail (Chen: non-finite after minutes; the adjoint takes 8 s). A solve
    that fails is left out (None), so methods take derivatives by differences of AMICI's simulations.
    """
    x = np.asarray(x, dtype=float)

    def adjoint():
        return likelihood.derivatives(x, "adjoint")

    calls = {"simulation": lambda: likelihood.evaluate(x), "forward": lambda: likelihood.derivatives(x, "forward")}
    if not likelihood.discontinuous:
        calls["adjoint"] = adjoint
    measured = interleaved_cpu_ms(calls, repeats_cap)
    if "forward" not in measured and likelihood.discontinuous:
        measured |= interleaved_cpu_ms({"adjoint": adjoint}, repeats_cap)
    if "simulation" not in measured:
        raise ProblemError(f"{likelihood.problem.model.model_id}: AMICI's simulation fails at the nominal point "
                           f"({likelihood.simulator.last_error}), so its cost cannot be measured; use "
                           "--engine roadrunner.")
    # where both sensitivity solves fail (Lang: non-finite sensitivities), derivatives come from differences of
    # AMICI's simulations: ``choose`` finds no other way
    return SensitivityCosts(len(x), max(measured["simulation"], 1e-3), measured.get("forward"),
                            measured.get("adjoint"))


def load_or_measure(likelihood, x: np.ndarray, path: Path) -> SensitivityCosts:
    """The costs saved at ``path``, or measured now and saved there (so later runs charge the same)."""
    if path.is_file():
        try:
            return SensitivityCosts(**json.loads(path.read_text()))
        except (ValueError, TypeError):
            pass  # an unreadable file is measured again
    costs = measure_costs(likelihood, x)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(asdict(costs), indent=1))
    tmp.replace(path)
    return costs
