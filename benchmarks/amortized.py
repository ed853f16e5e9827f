"""Amortized inference against fitting: how fast, how accurate, and does it help a fit converge.

    python benchmarks/amortized.py [--models BIOMD0000000012 BIOMD0000000507 benchmarks/models/michaelis_menten.xml]
                                   [--datasets 1000] [--time-limit 60] [--tests 100] [--budget 600]
                                   [--starts 20] [--start-budget 300]

Per model (a synthetic problem with default settings):
1. Train ``--init amortized``'s network once (``--datasets`` simulations, ``--time-limit`` s).
2. ``--tests`` test datasets: parameters by Latin hypercube (seed 1) in the bounds, data drawn
   with the problem's noise model. For each: the network's estimate (timed, one forward pass),
   that estimate fine-tuned by ``local`` (``--budget`` evaluations), and ``lhs + local`` with
   the same budget (3 starts of a third each, timed). Reported: parameter recovery error
   (RMSE over parameters, scaled units, median over datasets) of the network alone, network +
   fine-tune and lhs + local; the share of datasets where each reaches the best fval known for
   that dataset (within 0.1, the leaderboard's tolerance, or below); network seconds vs the
   seconds of the multistart until its first start reached that quality.
3. On the problem's own data, ``amortized + local`` vs ``lhs + local`` (``--starts`` starts of
   ``--start-budget``): converged starts per 1000 evaluations, the pilot charged.
"""

from __future__ import annotations

import argparse
import dataclasses
import tempfile
import time
from pathlib import Path

import numpy as np

from biobench import metrics
from biobench.amortized.datasets import noise_sigma
from biobench.amortized.initializer import AmortizedInitializer
from biobench.initializers import initializers
from biobench.initializers.base import no_progress
from biobench.likelihood import Likelihood
from biobench.models import resolve_model
from biobench.objective import Objective
from biobench.optimizers import optimizers
from biobench.problem import build_problem
from biobench.runner import run_starts
from biobench.store import Store

MODELS = ["BIOMD0000000012", "BIOMD0000000507", str(Path(__file__).parent / "models" / "michaelis_menten.xml")]
TOLERANCE = metrics.DEFAULT_DELTA


def with_data(problem, likelihood, x_scaled, rng):
    """The problem measured anew at ``x_scaled`` with its own noise model: same layout, new data and truth."""
    y, sigma = likelihood.predict(likelihood.natural(x_scaled))
    sigma = noise_sigma(likelihood, y, sigma)
    data = likelihood.sample_measurements(y[None], sigma[None], rng)[0]
    exp = problem.experiments
    noise = dataclasses.replace(exp.noise_parameters, values=sigma[:, None])
    return dataclasses.replace(problem, nominal=problem.to_natural(x_scaled), key=f"{problem.key}-{rng.integers(1e9)}",
                               experiments=dataclasses.replace(exp, measured=data, noise_parameters=noise))


def fit(likelihood, x0, budget, seed):
    objective = Objective(likelihood, budget=budget)
    started = time.perf_counter()
    result = optimizers.get("local")().minimize(objective, x0, np.random.default_rng(seed))
    return result, time.perf_counter() - started


def first_reaching(trace_fvals_seconds, target):
    """Seconds of a multistart (starts run one after another) until a start's best reached ``target``."""
    elapsed = 0.0
    for result, seconds in trace_fvals_seconds:
        if result.fval_best <= target:
            for _, f, s in result.trace:
                if f <= target:
                    return elapsed + s
            return elapsed + seconds
        elapsed += seconds
    return np.nan


def unit_rmse(problem, x, truth):
    span = problem.upper - problem.lower
    return float(np.sqrt(np.mean(((x - truth) / span) ** 2)))


def one_model(spec: str, args) -> dict:
    problem = build_problem(resolve_model(spec))
    likelihood = Likelihood(problem)
    init = AmortizedInitializer(datasets=args.datasets, time_limit=args.time_limit)
    model, config = init._train(problem, likelihood, "cpu", no_progress)
    rng = np.random.default_rng(1)
    tests = initializers.get("lhs")().sample(problem, args.tests, rng)
    rows = []
    for i, truth in enumerate(tests):
        if likelihood.predict(likelihood.natural(truth)) is None:
            continue  # no data can be made where the model does not simulate
        test = with_data(problem, likelihood, truth, rng)
        test_likelihood = Likelihood(test, simulator=likelihood.simulator)
        started = time.perf_counter()
        unit = model.estimate(test.experiments.measured)[0]
        network_seconds = time.perf_counter() - started
        estimate = problem.lower + unit * (problem.upper - problem.lower)
        tuned, _ = fit(test_likelihood, estimate, args.budget, i)
        third = args.budget // 3
        multistart = [fit(test_likelihood, x0, third, 1000 * i + k)
                      for k, x0 in enumerate(initializers.get("lhs")().sample(problem, 3, np.random.default_rng(i)))]
        best_multi = min(multistart, key=lambda r: r[0].fval_best)[0]
        best_known = min(tuned.fval_best, best_multi.fval_best, test_likelihood.fval(truth))
        rows.append({"network_error": unit_rmse(problem, estimate, truth),
                     "tuned_error": unit_rmse(problem, tuned.x_best, truth),
                     "multi_error": unit_rmse(problem, best_multi.x_best, truth),
                     "estimate_fval": test_likelihood.fval(estimate),
                     "network_reached": test_likelihood.fval(estimate) <= best_known + TOLERANCE,
                     "tuned_reached": tuned.fval_best <= best_known + TOLERANCE,
                     "multi_reached": best_multi.fval_best <= best_known + TOLERANCE,
                     "network_seconds": network_seconds,
                     "multi_seconds_to_tuned": first_reaching(multistart, tuned.fval_best + TOLERANCE)})
    frame = {k: np.array([r[k] for r in rows], dtype=float) for k in rows[0]}
    with tempfile.TemporaryDirectory() as folder:
        store = Store(Path(folder) / "amortized.sqlite")
        for name in ("amortized", "lhs"):
            run_starts(problem, name, "local", n_starts=args.starts, budget=args.start_budget, seed=0, store=store,
                       init_options={"datasets": args.datasets, "time_limit": args.time_limit}
                       if name == "amortized" else None)
        board = metrics.per_problem(store.runs_frame()).set_index("method")
    return {"model": problem.model.model_id, "parameters": problem.n_parameters, "tests": len(rows),
            "training_seconds": config["training_seconds"], "failed": config["datasets"]["failed"], **frame,
            "board": board}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=MODELS)
    parser.add_argument("--datasets", type=int, default=1000)
    parser.add_argument("--time-limit", type=float, default=60.0)
    parser.add_argument("--tests", type=int, default=100)
    parser.add_argument("--budget", type=int, default=600)
    parser.add_argument("--starts", type=int, default=20)
    parser.add_argument("--start-budget", type=int, default=300)
    args = parser.parse_args()
    results = [one_model(spec, args) for spec in args.models]
    print(f"{args.datasets} training simulations, {args.tests} test datasets, fit budget {args.budget}\n")
    print("| model | parameters | training s (failed sims) | recovery error: network / + fine-tune / lhs + local "
          "| reaches best known: network / + fine-tune / lhs + local | network s | multistart s to the same fval "
          "(median) | x faster |")
    print("|---|---|---|---|---|---|---|---|")
    for r in results:
        speed = np.nanmedian(r["multi_seconds_to_tuned"]) / np.median(r["network_seconds"])
        print(f"| {r['model']} | {r['parameters']} | {r['training_seconds']:.1f} ({r['failed']}) | "
              f"{np.median(r['network_error']):.3f} / {np.median(r['tuned_error']):.3f} / "
              f"{np.median(r['multi_error']):.3f} | {r['network_reached'].mean():.0%} / {r['tuned_reached'].mean():.0%}"
              f" / {r['multi_reached'].mean():.0%} (of {r['tests']}) | {np.median(r['network_seconds']):.2e} | "
              f"{np.nanmedian(r['multi_seconds_to_tuned']):.3f} (reached in "
              f"{np.isfinite(r['multi_seconds_to_tuned']).sum()}) | {speed:.0f} |")
    print("\n| model | method | converged | evaluations (pilot included) | converged per 1000 evaluations |")
    print("|---|---|---|---|---|")
    for r in results:
        for method, row in r["board"].iterrows():
            print(f"| {r['model']} | {method} | {int(row['converged'])} / {int(row['starts'])} | "
                  f"{int(row['evaluations'])} | {row['converged_per_1000_evals']:.2f} |")


if __name__ == "__main__":
    main()
