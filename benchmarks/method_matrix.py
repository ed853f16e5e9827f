"""Models x initializers x optimizers at an equal budget, with the leaderboard's metrics.

    python benchmarks/method_matrix.py [--models BIOMD0000000012 BIOMD0000000507]
        [--inits lhs] [--optimizers local lbfgsb bo bo-tpe bo-gp mcmc ga]
        [--starts 10] [--budget 500] [--seed 0] [--results results/method_matrix.sqlite]

    # optimizers compared (issue 4):
    python benchmarks/method_matrix.py
    # initializers compared with one local optimizer, the cvae's pilot included (issue 5):
    python benchmarks/method_matrix.py --inits cvae random lhs --optimizers local
    # an optimizer option, e.g. bo's acquisition function (one store per setting):
    python benchmarks/method_matrix.py --optimizers bo --starts 5 --opt-option acq_func=EI --results results/bo_ei.sqlite

Runs are stored (a rerun skips finished starts) and the table comes from the store
through biobench.analysis.metrics: converged means fval_best <= f_ref + 0.1, f_ref being the
lowest value known for the problem (every stored run and the true parameters).
"""

from __future__ import annotations

import argparse
import time

import pandas as pd

from biobench.analysis import metrics
from biobench.models import resolve_model
from biobench.problem import build_problem
from biobench.running.runner import run_starts
from biobench.running.store import Store


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=["BIOMD0000000012", "BIOMD0000000507"])
    parser.add_argument("--inits", nargs="+", default=["lhs"])
    parser.add_argument("--optimizers", nargs="+", default=["local", "lbfgsb", "bo", "bo-tpe", "bo-gp", "mcmc", "ga"])
    parser.add_argument("--starts", type=int, default=10)
    parser.add_argument("--budget", type=int, default=500)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--results", default="results/method_matrix.sqlite")
    parser.add_argument("--opt-option", action="append", default=[], metavar="KEY=VALUE",
                        help="an option for every optimizer run, e.g. acq_func=EI")
    args = parser.parse_args()
    opt_options = dict(pair.split("=", 1) for pair in args.opt_option)

    store = Store(args.results)
    for model_id in args.models:
        problem = build_problem(resolve_model(model_id))
        for init in args.inits:
            for optimizer in args.optimizers:
                start = time.perf_counter()
                run_starts(problem, init, optimizer, n_starts=args.starts, budget=args.budget, seed=args.seed,
                           store=store, opt_options=opt_options)
                print(f"{model_id} {init} + {optimizer}: {time.perf_counter() - start:.1f} s", flush=True)

    runs = store.runs_frame()
    board = metrics.per_problem(runs)  # f_ref from every stored run of a problem
    mine = board[board["initializer"].isin(args.inits) & board["optimizer"].isin(args.optimizers)
                 & board["model_id"].isin(args.models)]
    table = mine.set_index(["model_id", "method"])[
        ["starts", "best_fval", "median_fval", "f_ref", "success_rate", "converged", "evaluations",
         "converged_per_1000_evals", "seconds", "failed_starts"]]
    pd.set_option("display.width", 220)
    print(f"\n{args.starts} starts x {args.budget} evaluations per start, seed {args.seed}; evaluations and seconds "
          "include pilot costs; converged = fval_best <= f_ref + 0.1\n")
    print(table.to_string(float_format=lambda v: f"{v:.4g}"))


if __name__ == "__main__":
    main()
