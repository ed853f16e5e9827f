"""Does the cvae earn its place? cvae against Latin hypercube starts for ``local``, at an equal total budget.

    python benchmarks/cvae_vs_lhs.py [--starts 10] [--total 10000] [--seeds 0 1] [--models ...]
                                     [--results results/cvae_vs_lhs.sqlite]

Per problem and seed, both initializers get the same number of starts of ``local``; lhs
gives each start total/starts evaluations, the cvae (default options, but ``use_store=false``:
it must not learn from the evaluations the lhs runs paid for) pays its pilot and diagnostic
evaluations out of the same total, so its starts get (total - pilot)/starts. The cvae is
trained once per problem and reused for the other seeds, its pilot charged each time.
Reported per problem and initializer (seeds pooled): converged starts per 1000 evaluations
(pilot charged; converged = within 0.1 of the best value any run or the nominal parameters
reached), converged starts, best and median final fval, and the number of distinct final
objective values (local minima; final values closer than 0.1 count as one). Default
problems: BIOMD0000000012, BIOMD0000000507 and, when ``../shared/benchmark_models_petab``
exists, Boehm_JProteomeRes2014 and Fujita_SciSignal2010.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd

from biobench import metrics
from biobench.initializers import initializers
from biobench.runner import run_starts
from biobench.settings import ProblemSettings
from biobench.sources import load_problem
from biobench.store import Store

PETAB = Path(__file__).resolve().parents[1].parent / "shared" / "benchmark_models_petab"
DEFAULT_MODELS = ["BIOMD0000000012", "BIOMD0000000507"] + [
    str(PETAB / name / f"{name}.yaml") for name in ("Boehm_JProteomeRes2014", "Fujita_SciSignal2010")
    if (PETAB / name / f"{name}.yaml").exists()]


def distinct_minima(fvals: np.ndarray, tolerance: float = metrics.DEFAULT_DELTA) -> int:
    """Final values sorted; a gap above ``tolerance`` starts a new minimum."""
    finite = np.sort(fvals[np.isfinite(fvals)])
    return int(finite.size and 1 + (np.diff(finite) > tolerance).sum())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--starts", type=int, default=10)
    parser.add_argument("--total", type=int, default=10_000, help="evaluations per method, problem and seed")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--models", nargs="+", default=DEFAULT_MODELS)
    parser.add_argument("--results", default="results/cvae_vs_lhs.sqlite")
    args = parser.parse_args()

    store = Store(args.results)
    pilot = initializers.get("cvae")().pilot_evaluations()
    budgets = {"lhs": args.total // args.starts, "cvae": (args.total - pilot) // args.starts}
    keys = []
    for spec in args.models:
        problem = load_problem(spec, ProblemSettings())
        keys.append(problem.key)
        for seed in args.seeds:
            for init, budget in budgets.items():
                print(f"{problem.problem_id}: {init} + local, seed {seed}, {args.starts} x {budget}", flush=True)
                run_starts(problem, init, "local", n_starts=args.starts, budget=budget, seed=seed, store=store,
                           init_options={"use_store": False} if init == "cvae" else None)

    runs = store.runs_frame()
    runs = runs[runs["problem_key"].isin(keys) & (runs["optimizer"] == "local")]
    board = metrics.per_problem(runs.assign(budget=0))  # budgets differ by design: one row per initializer
    minima = metrics.with_convergence(runs).groupby(["problem_id", "initializer"])["fval_best"].apply(
        lambda f: distinct_minima(f.to_numpy()))
    print(f"\n{args.starts} starts of local per seed, seeds {args.seeds}, {args.total} evaluations per method and "
          f"seed (cvae: pilot {pilot} included)\n")
    table = pd.DataFrame({
        "problem": board["problem_id"], "initializer": board["initializer"], "starts": board["starts"],
        "evaluations": board["evaluations"].round().astype(int), "f_ref": board["f_ref"],
        "converged": board["converged"], "converged per 1000 evals": board["converged_per_1000_evals"].round(3),
        "best fval": board["best_fval"], "median fval": board["median_fval"],
        "distinct minima": [minima[(p, i)] for p, i in zip(board["problem_id"], board["initializer"])],
    })
    print(table.to_markdown(index=False, floatfmt=".6g"))


if __name__ == "__main__":
    main()
