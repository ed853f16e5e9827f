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
   that dataset (within 0.1, the leaderboard's tolerance, or below); the network's seconds per
   dataset (median of 5 warm calls) vs the seconds of the whole multistart where it reached the
   fine-tuned fval, and vs the seconds until its first start got there (an oracle's stop).
3. On the problem's own data, ``amortized + local`` vs ``lhs + local`` (``--starts`` starts of
   ``--start-budget``): converged starts per 1000 evaluations, the pilot charged.
4. With ``--sbi``: neural posterior estimation from the ``sbi`` package trained on the same
   simulations, its posterior mean as the start, fine-tuned the same way. sbi is not a
   dependency of biobench; run it from a throwaway environment:
       python -m venv --system-site-packages /tmp/sbienv && /tmp/sbienv/bin/pip install sbi
       /tmp/sbienv/bin/python benchmarks/amortized.py --sbi
"""

from __future__ import annotations

import argparse
import dataclasses
import tempfile
import time
from pathlib import Path

import numpy as np

from biobench.amortized.datasets import noise_sigma
from biobench.amortized.initializer import AmortizedInitializer
from biobench.analysis import metrics
from biobench.initializers import initializers
from biobench.initializers.base import no_progress
from biobench.likelihood import Likelihood
from biobench.models import resolve_model
from biobench.objective import Objective
from biobench.optimizers import optimizers
from biobench.problem import build_problem
from biobench.running.runner import run_starts
from biobench.running.store import Store

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


def train_npe(problem, likelihood, model, args):
    """sbi's neural posterior estimation on the same simulations (one noisy draw each), inputs encoded
    as the amortized network's are: the peer baseline (its posterior mean is the start)."""
    import torch
    from sbi.inference import NPE
    from sbi.utils import BoxUniform

    from biobench.amortized.datasets import simulate_datasets

    x = initializers.get("lhs")().sample(problem, args.datasets, np.random.default_rng(0))  # the same design
    data = simulate_datasets(likelihood, x)
    theta = torch.as_tensor((data.x - problem.lower) / (problem.upper - problem.lower), dtype=torch.float32)
    with torch.no_grad():
        observed = model.encode(torch.as_tensor(data.noisy(np.random.default_rng(0), likelihood), dtype=torch.float32))
    torch.manual_seed(0)
    prior = BoxUniform(low=torch.zeros(problem.n_parameters), high=torch.ones(problem.n_parameters))
    inference = NPE(prior=prior, show_progress_bars=False)
    started = time.perf_counter()
    inference.append_simulations(theta, observed).train(show_train_summary=False)
    posterior = inference.build_posterior()

    def mean(measured: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            encoded = model.encode(torch.as_tensor(np.array(measured)[None], dtype=torch.float32))
        return posterior.sample((200,), x=encoded, show_progress_bars=False).mean(0).numpy().astype(float)

    return mean, time.perf_counter() - started


def one_model(spec: str, args) -> dict:
    problem = build_problem(resolve_model(spec))
    likelihood = Likelihood(problem)
    init = AmortizedInitializer(datasets=args.datasets, time_limit=args.time_limit)
    model, config = init._train(problem, likelihood, "cpu", no_progress)
    npe, npe_seconds = train_npe(problem, likelihood, model, args) if args.sbi else (None, np.nan)
    rng = np.random.default_rng(1)
    tests = initializers.get("lhs")().sample(problem, args.tests, rng)
    rows = []
    for i, truth in enumerate(tests):
        if likelihood.predict(likelihood.natural(truth)) is None:
            continue  # no data can be made where the model does not simulate
        test = with_data(problem, likelihood, truth, rng)
        test_likelihood = Likelihood(test, simulator=likelihood.simulator)
        network_seconds = []
        for _ in range(5):  # warm calls: the rate at which a trained network reads dataset after dataset
            started = time.perf_counter()
            unit = model.estimate(test.experiments.measured)[0]
            network_seconds.append(time.perf_counter() - started)
        estimate = problem.lower + unit * (problem.upper - problem.lower)
        tuned, _ = fit(test_likelihood, estimate, args.budget, i)
        third = args.budget // 3
        multistart = [fit(test_likelihood, x0, third, 1000 * i + k)
                      for k, x0 in enumerate(initializers.get("lhs")().sample(problem, 3, np.random.default_rng(i)))]
        best_multi = min(multistart, key=lambda r: r[0].fval_best)[0]
        npe_row = {}
        if npe is not None:
            started = time.perf_counter()
            npe_start = problem.lower + npe(test.experiments.measured) * (problem.upper - problem.lower)
            npe_seconds_one = time.perf_counter() - started
            npe_tuned, _ = fit(test_likelihood, npe_start, args.budget, i)
            npe_row = {"npe_error": unit_rmse(problem, npe_start, truth), "npe_seconds": npe_seconds_one,
                       "npe_tuned_error": unit_rmse(problem, npe_tuned.x_best, truth), "npe_fval": npe_tuned.fval_best}
        best_known = min(tuned.fval_best, best_multi.fval_best, test_likelihood.fval(truth),
                         npe_row.get("npe_fval", np.inf))
        if npe_row:
            npe_row["npe_tuned_reached"] = npe_row.pop("npe_fval") <= best_known + TOLERANCE
        rows.append({"network_error": unit_rmse(problem, estimate, truth),
                     "tuned_error": unit_rmse(problem, tuned.x_best, truth),
                     "multi_error": unit_rmse(problem, best_multi.x_best, truth),
                     "estimate_fval": test_likelihood.fval(estimate),
                     "network_reached": test_likelihood.fval(estimate) <= best_known + TOLERANCE,
                     "tuned_reached": tuned.fval_best <= best_known + TOLERANCE,
                     "multi_reached": best_multi.fval_best <= best_known + TOLERANCE,
                     "network_seconds": float(np.median(network_seconds)),
                     "multi_seconds_to_tuned": first_reaching(multistart, tuned.fval_best + TOLERANCE),
                     "multi_seconds": sum(seconds for _, seconds in multistart)
                     if best_multi.fval_best <= tuned.fval_best + TOLERANCE else np.nan, **npe_row})
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
            "npe_training_seconds": npe_seconds,
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
    parser.add_argument("--sbi", action="store_true", help="add sbi's NPE as a peer baseline (sbi is not a "
                        "dependency: run this in a throwaway environment with sbi installed)")
    args = parser.parse_args()
    results = [one_model(spec, args) for spec in args.models]
    print(f"{args.datasets} training simulations, {args.tests} test datasets, fit budget {args.budget}\n")
    print("| model | parameters | training s (failed sims) | recovery error: network / + fine-tune / lhs + local "
          "| reaches best known: network / + fine-tune / lhs + local | network s | multistart s to the fine-tuned "
          "fval (datasets) | x faster | multistart s until its first start got there | x faster |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in results:
        network = np.median(r["network_seconds"])
        total, oracle = np.nanmedian(r["multi_seconds"]), np.nanmedian(r["multi_seconds_to_tuned"])
        print(f"| {r['model']} | {r['parameters']} | {r['training_seconds']:.1f} ({r['failed']}) | "
              f"{np.median(r['network_error']):.3f} / {np.median(r['tuned_error']):.3f} / "
              f"{np.median(r['multi_error']):.3f} | {r['network_reached'].mean():.0%} / {r['tuned_reached'].mean():.0%}"
              f" / {r['multi_reached'].mean():.0%} (of {r['tests']}) | {network:.2e} | {total:.3f} "
              f"({np.isfinite(r['multi_seconds']).sum()}) | {total / network:.0f} | {oracle:.3f} | "
              f"{oracle / network:.0f} |")
    if args.sbi:
        print("\nPeer baseline, sbi's NPE on the same simulations (posterior mean of 200 samples as the start):\n")
        print("| model | NPE training s | recovery error: posterior mean / + fine-tune | reaches best known after "
              "fine-tune | s per dataset |")
        print("|---|---|---|---|---|")
        for r in results:
            print(f"| {r['model']} | {r['npe_training_seconds']:.1f} | {np.median(r['npe_error']):.3f} / "
                  f"{np.median(r['npe_tuned_error']):.3f} | {np.mean(r['npe_tuned_reached']):.0%} | "
                  f"{np.median(r['npe_seconds']):.2e} |")
    print("\n| model | method | converged | evaluations (pilot included) | converged per 1000 evaluations |")
    print("|---|---|---|---|---|")
    for r in results:
        for method, row in r["board"].iterrows():
            print(f"| {r['model']} | {method} | {int(row['converged'])} / {int(row['starts'])} | "
                  f"{int(row['evaluations'])} | {row['converged_per_1000_evals']:.2f} |")


if __name__ == "__main__":
    main()
