"""roadrunner against AMICI on the published PEtab problems: fval at nominal, gradient cost and agreement.

    python benchmarks/engine_gradients.py [--problems Boehm_JProteomeRes2014 ...] [--collection DIR]
                                          [--reference-limit 1.0] [--rtol 1e-8] [--atol 1e-12] [--max-steps N]

Per problem, at the nominal point, one process, CPU milliseconds (median of at least three,
all measured in the same interleaved rounds): a roadrunner simulation and its forward-difference
gradient (n simulations beyond the value), AMICI's simulation, forward and adjoint sensitivity
solves; the engine and way ``--engine auto`` chooses for a gradient method (from the timings it
saved when it first met the problem, so this is an out-of-sample check) and how much dearer that
way is, measured here, than the cheapest; fval on both engines (refs.tsv's reference is the likelihood part: fval minus the prior).
Gradients, as max |g - g_ref| / max |g_ref|, against AMICI's forward sensitivities at relative
tolerance 1e-12 (absolute 1e-14): AMICI's at the problem's tolerances (``fwd_error``) and
roadrunner's central differences at the tight tolerances, Richardson-extrapolated over steps 1e-3
and 5e-4 (``rr_differences_error``; skipped where one simulation takes longer than
``--reference-limit`` seconds). At the nominal point, a published optimum, the gradient is small,
so plain differences at the problems' 1e-8 miss by percent. AMICI compiles each model once
(cached in models_cache/amici).
"""

from __future__ import annotations

import argparse
import math
import time
from pathlib import Path

import numpy as np

from biobench.analysis.collection import references
from biobench.engines import likelihood_for
from biobench.engines.choice import resolve_engine
from biobench.engines.costs import interleaved_cpu_ms
from biobench.errors import BiobenchError
from biobench.petab import load_petab_problem
from biobench.running.bench_config import petab_yaml
from biobench.settings import IntegratorSettings

COLLECTION = Path(__file__).resolve().parent.parent.parent / "shared" / "benchmark_models_petab"
DEFAULT = ["Boehm_JProteomeRes2014", "Bachmann_MSB2011", "Lucarelli_CellSystems2018", "Isensee_JCB2018",
           "Chen_MSB2009", "Lang_PLOSComputBiol2024"]


def central_gradient(likelihood, x: np.ndarray, step: float) -> np.ndarray:
    g = np.zeros(len(x))
    for i in range(len(x)):
        up, down = x.copy(), x.copy()
        up[i] += step
        down[i] -= step
        g[i] = (likelihood.fval(up) - likelihood.fval(down)) / (2 * step)
    return g


def richardson_gradient(likelihood, x: np.ndarray) -> np.ndarray:
    """Central differences over steps 1e-3 and 5e-4, extrapolated (error O(h^4)), as gradient_cost.py does."""
    return (4 * central_gradient(likelihood, x, 5e-4) - central_gradient(likelihood, x, 1e-3)) / 3


def relative_error(g: np.ndarray, reference: np.ndarray) -> float:
    return float(np.abs(g - reference).max() / np.abs(reference).max())


def compare(name: str, collection: Path, refs: dict[str, float], reference_limit: float,
            integrator: IntegratorSettings) -> dict:
    yaml = petab_yaml(collection / name) or collection / name / f"{name}.yaml"  # a missing one: said by the load
    try:
        problem = load_petab_problem(yaml, integrator)
    except BiobenchError as exc:
        return {"problem": name, "parameters": "-", "amici": f"not loaded: {exc}"}
    x = problem.x_true
    row = {"problem": name, "parameters": problem.n_parameters}
    roadrunner = likelihood_for(problem, "roadrunner")
    row["fval_roadrunner"] = roadrunner.fval(x)
    started = time.perf_counter()
    try:
        amici = likelihood_for(problem, "amici", say=lambda text: print(f"  {text}", flush=True))
    except BiobenchError as exc:
        row["amici"] = f"AMICI refuses: {exc}"
        return row
    row["amici_setup_s"] = time.perf_counter() - started  # compile (when not cached), mapping, cost measurement
    # what --engine auto runs a gradient method on, from the timings saved when it first met the problem ...
    engine = resolve_engine(problem, "auto", "gradient", say=lambda text: print(f"  {text}", flush=True))
    row["chosen"] = "rr differences" if engine == "roadrunner" else f"amici {amici.gradient_method}"
    # ... against every way measured afresh here, in the same interleaved rounds
    calls = {"rr": lambda: roadrunner.evaluate(x), "sim": lambda: amici.evaluate(x),
             "forward": lambda: amici.derivatives(x, "forward")}
    if not amici.discontinuous or amici.costs.forward_ms is None:
        calls["adjoint"] = lambda: amici.derivatives(x, "adjoint")
    fresh = interleaved_cpu_ms(calls, 20)
    rr_ms = fresh.get("rr") if math.isfinite(row["fval_roadrunner"]) else None
    row |= {"rr_sim_ms": rr_ms, "rr_fd_ms": None if rr_ms is None else rr_ms * problem.n_parameters,
            "fval_amici": amici.fval(x), "prior": amici.prior(x), "amici_sim_ms": fresh.get("sim"),
            "amici_fwd_ms": fresh.get("forward"), "amici_adj_ms": fresh.get("adjoint"),
            "fval_ref": refs.get(name, math.nan)}
    row["engines_rel_diff"] = abs(row["fval_amici"] - row["fval_roadrunner"]) / abs(row["fval_amici"])
    ways = {"rr differences": row["rr_fd_ms"], "amici forward": row["amici_fwd_ms"],
            "amici adjoint": row["amici_adj_ms"],
            "amici differences": None if fresh.get("sim") is None else fresh["sim"] * problem.n_parameters}
    ways = {k: v for k, v in ways.items() if v is not None}
    row["cheapest"] = min(ways, key=ways.get)
    row["chosen_over_cheapest"] = ways.get(row["chosen"], math.nan) / min(ways.values())
    exact = amici.derivatives(x, "forward")
    tolerances = amici.solver.get_relative_tolerance(), amici.solver.get_absolute_tolerance()
    amici.solver.set_relative_tolerance(1e-12)
    amici.solver.set_absolute_tolerance(1e-14)
    truth = amici.derivatives(x, "forward")  # exact sensitivities, 10^4 times tighter: the reference
    amici.solver.set_relative_tolerance(tolerances[0])  # the likelihood is the process's shared one: put it back
    amici.solver.set_absolute_tolerance(tolerances[1])
    if exact is not None and truth is not None:
        row["fwd_error"] = relative_error(exact.gradient, truth.gradient)
        if rr_ms is not None and rr_ms / 1000 <= reference_limit:
            tight = load_petab_problem(yaml, IntegratorSettings(relative_tolerance=1e-12, absolute_tolerance=1e-14))
            row["rr_differences_error"] = relative_error(richardson_gradient(likelihood_for(tight, "roadrunner"), x),
                                                         truth.gradient)
    return row


def fmt(value) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if isinstance(value, float):
        return f"{value:.6g}" if abs(value) >= 1e-3 or value == 0 else f"{value:.2e}"
    return str(value)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--problems", nargs="+", default=DEFAULT)
    parser.add_argument("--collection", type=Path, default=COLLECTION)
    parser.add_argument("--rtol", type=float, default=1e-8, help="relative tolerance of both engines")
    parser.add_argument("--atol", type=float, help="absolute tolerance of both engines [default: 1e-12]")
    parser.add_argument("--max-steps", type=int, default=20_000, help="integrator steps (roadrunner: per output interval)")
    parser.add_argument("--reference-limit", type=float, default=1.0,
                        help="seconds per simulation above which no tight-tolerance difference reference is computed")
    args = parser.parse_args()
    refs = references(args.collection)
    columns = ["problem", "parameters", "fval_ref", "prior", "fval_roadrunner", "fval_amici", "engines_rel_diff",
               "rr_sim_ms", "rr_fd_ms", "amici_sim_ms", "amici_fwd_ms", "amici_adj_ms", "chosen", "cheapest", "chosen_over_cheapest",
               "fwd_error", "rr_differences_error", "amici_setup_s"]
    rows = []
    for name in args.problems:
        print(f"{name} ...", flush=True)
        integrator = IntegratorSettings(relative_tolerance=args.rtol, absolute_tolerance=args.atol,
                                        maximum_num_steps=args.max_steps)
        row = compare(name, args.collection, refs, args.reference_limit, integrator)
        rows.append(row)
        print("  " + ", ".join(f"{k}={fmt(row.get(k))}" for k in columns[1:] + ["amici"] if k in row), flush=True)
    print("\n| " + " | ".join(columns) + " |")
    print("|" + "---|" * len(columns))
    for row in rows:
        if "amici" in row:
            print(f"| {row['problem']} | {row['parameters']} | {row['amici']} |")
            continue
        print("| " + " | ".join(fmt(row.get(c)) for c in columns) + " |")


if __name__ == "__main__":
    main()
