"""Do the generative initializers earn their place? cvae, cvae-transformer and ccgan against Latin hypercube
starts for ``local``, at an equal total budget.

    python benchmarks/generative_initializers.py [--starts 10] [--total 10000] [--seeds 0 1]
        [--inits lhs cvae cvae-transformer ccgan] [--models ...] [--results results/generative.sqlite]

Per problem and seed, every initializer gets the same number of starts of ``local``; lhs
gives each start total/starts evaluations, a generative initializer (default options, but
``use_store=false``: it must not learn from the evaluations other methods paid for) pays
its pilot and diagnostic evaluations out of the same total, so its starts get
(total - pilot)/starts. A model is trained once per problem and reused for the other
seeds, its pilot charged each time. Reported per problem and initializer (seeds pooled):
converged starts per 1000 evaluations (pilot charged; converged = within 0.1 of the best
value any run or the nominal parameters reached), converged starts; % finite: the share of
generated start points whose objective is finite (a start point that fails is replaced by
a spare, counted in its record); the median objective value at the start points (the
generated points at condition 0, or the lhs points); best and median final fval; the
number of distinct final values (local minima; closer than 0.1 count as one); the seconds
of pilot simulations plus training (once per problem). Default problems:
BIOMD0000000012, BIOMD0000000507 and, when ``../shared/benchmark_models_petab`` exists,
Boehm_JProteomeRes2014 and Bruno_JExpBot2016.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd

from biobench.analysis import metrics
from biobench.initializers import initializers
from biobench.running.runner import run_starts
from biobench.running.store import Store
from biobench.settings import ProblemSettings
from biobench.sources import load_problem

PETAB = Path(__file__).resolve().parents[1].parent / "shared" / "benchmark_models_petab"
DEFAULT_MODELS = ["BIOMD0000000012", "BIOMD0000000507"] + [
    str(PETAB / name / f"{name}.yaml") for name in ("Boehm_JProteomeRes2014", "Bruno_JExpBot2016")
    if (PETAB / name / f"{name}.yaml").exists()]
GENERATIVE = ("cvae", "cvae-transformer", "ccgan")


def distinct_minima(fvals: np.ndarray, tolerance: float = metrics.DEFAULT_DELTA) -> int:
    """Final values sorted; a gap above ``tolerance`` starts a new minimum."""
    finite = np.sort(fvals[np.isfinite(fvals)])
    return int(finite.size and 1 + (np.diff(finite) > tolerance).sum())


def start_point_columns(runs: pd.DataFrame) -> pd.DataFrame:
    """Per problem and initializer: % of generated start points with a finite objective, median start fval,
    seconds of pilot plus training (the cost charged to one run, i.e. one training)."""
    rows = []
    for (problem, init), group in runs.groupby(["problem_id", "initializer"]):
        replaced = sum((extras or {}).get("replaced_start_points", 0) for extras in group["extras"])
        one_run = group[group["seed"] == group["seed"].min()]
        rows.append({"problem_id": problem, "initializer": init,
                     "% finite": 100.0 * len(group) / (len(group) + replaced),
                     "median start fval": float(np.median(group["fval0"].to_numpy(dtype=float))),
                     "pilot + training s": float(one_run["pilot_seconds"].sum())})
    return pd.DataFrame(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--starts", type=int, default=10)
    parser.add_argument("--total", type=int, default=10_000, help="evaluations per method, problem and seed")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--inits", nargs="+", default=["lhs", *GENERATIVE])
    parser.add_argument("--models", nargs="+", default=DEFAULT_MODELS)
    parser.add_argument("--results", default="results/generative.sqlite")
    args = parser.parse_args()

    store = Store(args.results)
    pilots = {init: initializers.get(init)().pilot_evaluations() for init in args.inits}
    budgets = {init: (args.total - pilots[init]) // args.starts for init in args.inits}
    keys = []
    for spec in args.models:
        problem = load_problem(spec, ProblemSettings())
        keys.append(problem.key)
        for seed in args.seeds:
            for init, budget in budgets.items():
                print(f"{problem.problem_id}: {init} + local, seed {seed}, {args.starts} x {budget}", flush=True)
                run_starts(problem, init, "local", n_starts=args.starts, budget=budget, seed=seed, store=store,
                           init_options={"use_store": False} if init in GENERATIVE else None)

    runs = store.runs_frame()
    runs = runs[runs["problem_key"].isin(keys) & (runs["optimizer"] == "local") & runs["initializer"].isin(args.inits)
                & runs["seed"].isin(args.seeds)]
    board = metrics.per_problem(runs.assign(budget=0))  # budgets differ by design: one row per initializer
    minima = metrics.with_convergence(runs).groupby(["problem_id", "initializer"])["fval_best"].apply(
        lambda f: distinct_minima(f.to_numpy()))
    starts = start_point_columns(runs).set_index(["problem_id", "initializer"])
    print(f"\n{args.starts} starts of local per seed, seeds {args.seeds}, {args.total} evaluations per method and "
          f"seed (pilot included: {pilots})\n")
    index = list(zip(board["problem_id"], board["initializer"]))
    table = pd.DataFrame({
        "problem": board["problem_id"], "initializer": board["initializer"], "starts": board["starts"],
        "evaluations": board["evaluations"].round().astype(int), "f_ref": board["f_ref"],
        "converged": board["converged"], "converged per 1000 evals": board["converged_per_1000_evals"].round(3),
        "% finite": [round(starts.loc[i, "% finite"], 1) for i in index],
        "median start fval": [starts.loc[i, "median start fval"] for i in index],
        "best fval": board["best_fval"], "median fval": board["median_fval"],
        "distinct minima": [minima[i] for i in index],
        "pilot + training s": [round(starts.loc[i, "pilot + training s"], 1) for i in index],
    })
    print(table.to_markdown(index=False, floatfmt=".6g"))


if __name__ == "__main__":
    main()
