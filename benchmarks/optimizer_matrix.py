"""Models x optimizers at an equal budget: best fval, success rate, converged starts per 1000 evaluations.

    python benchmarks/optimizer_matrix.py [--models BIOMD0000000012 BIOMD0000000507]
        [--optimizers local lbfgsb bo bo-tpe bo-gp mcmc ga] [--init lhs] [--starts 10]
        [--budget 500] [--seed 0] [--results results/optimizer_matrix.sqlite]

Runs are stored (a rerun skips finished starts), and the table is computed from the
store: a start has converged when fval_best <= f_ref + 0.1, with f_ref the lowest
value known for the problem (every stored run and the true parameters).
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd

from biobench.models import resolve_model
from biobench.problem import build_problem
from biobench.runner import run_starts
from biobench.store import Store

DELTA = 0.1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=["BIOMD0000000012", "BIOMD0000000507"])
    parser.add_argument("--optimizers", nargs="+", default=["local", "lbfgsb", "bo", "bo-tpe", "bo-gp", "mcmc", "ga"])
    parser.add_argument("--init", default="lhs")
    parser.add_argument("--starts", type=int, default=10)
    parser.add_argument("--budget", type=int, default=500)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--results", default="results/optimizer_matrix.sqlite")
    args = parser.parse_args()

    store = Store(args.results)
    for model_id in args.models:
        problem = build_problem(resolve_model(model_id))
        for optimizer in args.optimizers:
            start = time.perf_counter()
            run_starts(problem, args.init, optimizer, n_starts=args.starts, budget=args.budget, seed=args.seed,
                       store=store)
            print(f"{model_id} {optimizer}: {time.perf_counter() - start:.1f} s", flush=True)

    runs = store.runs_frame()
    runs = runs[(runs["initializer"] == args.init) & (runs["budget"] == args.budget) & (runs["seed"] == args.seed)
                & runs["optimizer"].isin(args.optimizers) & runs["model_id"].isin(args.models)]
    runs["fval_best"] = runs["fval_best"].astype(float).fillna(np.inf)
    f_ref = runs.groupby("problem_key")["fval_best"].min().combine(
        runs.groupby("problem_key")["f_true"].first(), min)
    runs["converged"] = runs["fval_best"] <= runs["problem_key"].map(f_ref) + DELTA
    table = runs.groupby(["model_id", "optimizer"]).agg(
        starts=("run_id", "size"),
        best_fval=("fval_best", "min"),
        median_fval=("fval_best", "median"),
        success_rate=("converged", "mean"),
        converged=("converged", "sum"),
        evaluations=("n_evals", "sum"),
        seconds=("seconds", "sum"),
    )
    table["converged_per_1000_evals"] = 1000 * table["converged"] / table["evaluations"]
    table = table.drop(columns="converged")
    pd.set_option("display.width", 200)
    print(f"\ninit {args.init}, {args.starts} starts x {args.budget} evaluations, seed {args.seed}; "
          f"f_ref per model: " + ", ".join(f"{runs[runs.problem_key == k].model_id.iloc[0]} {v:.4g}"
                                           for k, v in f_ref.items()))
    print(table.to_string(float_format=lambda v: f"{v:.4g}"))


if __name__ == "__main__":
    main()
