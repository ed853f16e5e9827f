"""roadrunner against AMICI on the published PEtab problems: fval at nominal, gradient cost and agreement.

    python benchmarks/engine_gradients.py [--problems Boehm_JProteomeRes2014 ...] [--collection DIR]
                                          [--max-compile 900] [--reference-limit 1.0]

Per problem, at the nominal point, one process, CPU milliseconds (median of at least three):
a roadrunner simulation and its forward-difference gradient (n simulations beyond the value),
AMICI's simulation, forward and adjoint sensitivity solves (``biobench.engines.costs``), the
gradient biobench chooses on AMICI and how much dearer it is than the cheapest of the three
ways; fval on both engines against refs.tsv; the AMICI forward gradient against roadrunner's
central differences at relative tolerance 1e-12 (step 1e-5; at the problems' 1e-8 differences
miss by about 1e-3 of Boehm's gradient), skipped where one simulation takes longer than
``--reference-limit`` seconds. AMICI compiles each model once (cached in models_cache/amici).
"""

from __future__ import annotations

import argparse
import math
import time
from pathlib import Path

import numpy as np

from biobench.engines import likelihood_for
from biobench.engines.costs import cpu_ms
from biobench.errors import BiobenchError
from biobench.petab import load_petab_problem
from biobench.settings import IntegratorSettings

COLLECTION = Path(__file__).resolve().parent.parent.parent / "shared" / "benchmark_models_petab"
DEFAULT = ["Boehm_JProteomeRes2014", "Bachmann_MSB2011", "Lucarelli_CellSystems2018", "Isensee_JCB2018",
           "Chen_MSB2009", "Lang_PLOSComputBiol2024"]


def references(collection: Path) -> dict[str, float]:
    refs = {}
    for line in (collection / "refs.tsv").read_text().splitlines()[1:]:
        name, value = line.split("\t")[:2]
        refs[name] = float(value)
    return refs


def central_gradient(likelihood, x: np.ndarray, step: float = 1e-5) -> np.ndarray:
    g = np.zeros(len(x))
    for i in range(len(x)):
        up, down = x.copy(), x.copy()
        up[i] += step
        down[i] -= step
        g[i] = (likelihood.fval(up) - likelihood.fval(down)) / (2 * step)
    return g


def compare(name: str, collection: Path, refs: dict[str, float], reference_limit: float) -> dict:
    yaml = collection / name / f"{name}.yaml"
    try:
        problem = load_petab_problem(yaml)
    except BiobenchError as exc:
        return {"problem": name, "parameters": "-", "amici": f"not loaded: {exc}"}
    x = problem.x_true
    row = {"problem": name, "parameters": problem.n_parameters}
    roadrunner = likelihood_for(problem, "roadrunner")
    row["fval_roadrunner"] = roadrunner.fval(x)
    rr_ms = cpu_ms(lambda: roadrunner.evaluate(x), 20) if math.isfinite(row["fval_roadrunner"]) else None
    row["rr_sim_ms"] = rr_ms
    row["rr_fd_ms"] = None if rr_ms is None else rr_ms * problem.n_parameters
    started = time.perf_counter()
    try:
        amici = likelihood_for(problem, "amici", say=lambda text: print(f"  {text}", flush=True))
    except BiobenchError as exc:
        row["amici"] = f"AMICI refuses: {exc}"
        return row
    row["amici_setup_s"] = time.perf_counter() - started  # compile (when not cached), mapping, cost measurement
    costs = amici.costs
    row |= {"fval_amici": amici.fval(x), "prior": amici.prior(x), "amici_sim_ms": costs.simulation_ms, "amici_fwd_ms": costs.forward_ms,
            "amici_adj_ms": costs.adjoint_ms, "chosen": costs.gradient, "fval_ref": refs.get(name, math.nan)}
    row["engines_rel_diff"] = abs(row["fval_amici"] - row["fval_roadrunner"]) / abs(row["fval_amici"])
    ways = {"rr differences": row["rr_fd_ms"], "amici forward": costs.forward_ms, "amici adjoint": costs.adjoint_ms}
    ways = {k: v for k, v in ways.items() if v is not None}
    chosen_ms = costs.forward_ms if costs.gradient == "forward" else costs.adjoint_ms
    row["cheapest"] = min(ways, key=ways.get)
    row["chosen_over_cheapest"] = chosen_ms / min(ways.values())
    if rr_ms is not None and rr_ms / 1000 <= reference_limit:
        tight = load_petab_problem(yaml, IntegratorSettings(relative_tolerance=1e-12))
        truth = central_gradient(likelihood_for(tight, "roadrunner"), x)
        exact = amici.derivatives(x, "forward")
        if exact is not None:
            row["gradient_rel_error"] = float(np.abs(exact.gradient - truth).max() / np.abs(truth).max())
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
    parser.add_argument("--reference-limit", type=float, default=1.0,
                        help="seconds per simulation above which no tight-tolerance difference reference is computed")
    args = parser.parse_args()
    refs = references(args.collection)
    columns = ["problem", "parameters", "fval_ref", "prior", "fval_roadrunner", "fval_amici", "engines_rel_diff",
               "rr_sim_ms", "rr_fd_ms", "amici_sim_ms", "amici_fwd_ms", "amici_adj_ms", "chosen", "cheapest", "chosen_over_cheapest",
               "gradient_rel_error", "amici_setup_s"]
    rows = []
    for name in args.problems:
        print(f"{name} ...", flush=True)
        row = compare(name, args.collection, refs, args.reference_limit)
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
