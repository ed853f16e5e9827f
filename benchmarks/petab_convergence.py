"""Which methods reach the published optimum of real problems, and at what CPU cost?

    python benchmarks/petab_convergence.py [--problems Boehm_JProteomeRes2014 ...] [--starts 50]
                                           [--methods fides local lbfgsb ess:10000:10 fides:5000:30,subspace=full]
                                           [--budget 3000] [--init random] [--seed 0] [--only 46 ...]
                                           [--engines roadrunner amici] [--store runs.sqlite]

For each problem (a folder name in ``../shared/benchmark_models_petab``, or anything
``--model`` accepts) and method, ``--starts`` starts from the initializer (``--seed``, the
same start points for every single-point method), each with ``--budget`` evaluations,
run serially in this process; ``NAME:BUDGET:STARTS`` gives a method its own (a global
method such as ess is one long search per start) and ``,KEY=VALUE`` after it sets an option. Reported: best fval; converged starts, i.e. within 0.1 of
the best known value (the collection's reference at its published optimum, or a better
value some run found); CPU seconds of the starts (each start's ``time.process_time``, so an
engine's one-off compile and cost measurement are not in it); converged starts per CPU-minute;
evaluations (simulation-equivalents: a sensitivity solve counts its measured cost). Every method
runs on each of ``--engines``. ``--store`` keeps the starts (each start's status and point) in a
store that ``biobench runs`` reads, instead of a temporary one. ``--only`` runs just those start indices of the
``--starts`` drawn (to rerun chosen starts with other settings; the row counts only them).
One compute thread (BLAS, torch), as ``biobench`` itself runs; ``BIOBENCH_THREADS`` raises it.
pyPESTO + AMICI + fides on Boehm, for comparison: 5 of 200 random starts converged in
205 CPU-s, 1.46 per CPU-minute.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from biobench.analysis import metrics
from biobench.engines import ENGINE_NAMES
from biobench.running.bench_config import petab_yaml
from biobench.running.runner import run_starts
from biobench.running.store import Store
from biobench.settings import ProblemSettings
from biobench.sources import load_problem
from biobench.threads import limit_threads_as_configured

COLLECTION = Path(__file__).resolve().parents[1].parent / "shared" / "benchmark_models_petab"
DEFAULT_PROBLEMS = ["Boehm_JProteomeRes2014", "Fujita_SciSignal2010", "Crauste_CellSystems2017", "Bruno_JExpBot2016",
                    "Rahman_MBS2016", "Perelson_Science1996", "BIOMD0000000012"]
DELTA = 0.1


def model_spec(name: str) -> str:
    """A folder of the collection by name (its problem file), or anything ``--model`` accepts."""
    return str(petab_yaml(COLLECTION / name) or name)


def parse_method(entry: str, args: argparse.Namespace) -> tuple[str, int, int, dict[str, str]]:
    """``NAME[:BUDGET[:STARTS]][,KEY=VALUE...]`` -> (name, budget, starts, options); absent parts from the flags."""
    head, *settings = entry.split(",")
    method, budget, starts = (head.split(":") + [None, None])[:3]
    return method, int(budget or args.budget), int(starts or args.starts), dict(s.split("=", 1) for s in settings)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--problems", nargs="+", default=DEFAULT_PROBLEMS)
    parser.add_argument("--methods", nargs="+", default=["fides", "local", "lbfgsb"])
    parser.add_argument("--starts", type=int, default=50)
    parser.add_argument("--budget", type=int, default=3000)
    parser.add_argument("--init", default="random")
    parser.add_argument("--seed", type=int, default=0, help="seeds the start points (other seeds: more starts)")
    parser.add_argument("--only", type=int, nargs="+", help="run only these start indices")
    parser.add_argument("--engines", nargs="+", default=["roadrunner"], choices=ENGINE_NAMES)
    parser.add_argument("--store", type=Path, help="keep the starts in this store (default: a temporary one)")
    args = parser.parse_args()
    limit_threads_as_configured()  # as the command line: torch and BLAS pools would multiply CPU seconds
    methods = [parse_method(entry, args) for entry in args.methods]  # a bad --only is refused before any work
    if args.only:
        for method, _, starts, _ in methods:
            if min(args.only) < 0 or max(args.only) >= starts:
                parser.error(f"--only {' '.join(map(str, args.only))}: {method} has starts 0-{starts - 1}")

    plan = "; ".join(f"{method}: {starts} starts x {budget} evaluations" for method, budget, starts, _ in methods)
    print(f"{args.init} starts, seed {args.seed}, per problem: {plan}; converged = within {DELTA} of the best "
          f"known value\n")
    print("| problem | parameters | method | best fval | best known | converged | CPU s | converged per CPU-minute "
          "| evaluations | failed starts |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as folder:
        store = Store(args.store or Path(folder) / "convergence.sqlite")
        for name in args.problems:
            problem = load_problem(model_spec(name), ProblemSettings())
            entries = []
            for engine in args.engines:
                for method, budget, starts, settings in methods:
                    stored = set(store.runs_frame()["run_id"])
                    run_starts(problem, args.init, method, n_starts=starts, budget=budget, seed=args.seed,
                               store=store, opt_options=settings, only=args.only, engine=engine)
                    label = method + (f" ({', '.join(f'{k}={v}' for k, v in settings.items())})" if settings else "")
                    frame = store.runs_frame()
                    ran = sorted(set(frame.loc[~frame["run_id"].isin(stored), "engine"]))  # auto: the engine chosen
                    shown = engine if engine != "auto" else "auto: " + "/".join(ran)
                    label += "" if shown == "roadrunner" else f" [{shown}]"
                    if args.only:
                        label += f" (starts {' '.join(map(str, args.only))} of {starts}, seed {args.seed})"
                    entries.append((label, set(store.runs_frame()["run_id"]) - stored))
            # The leaderboard's own convergence: f_ref is the best of every run and the nominal point.
            runs = metrics.with_convergence(store.runs_frame().query("problem_key == @problem.key"), DELTA)
            for label, run_ids in entries:
                rows = runs[runs["run_id"].isin(run_ids)]
                if rows.empty:  # auto chose an engine whose starts ran already: they are the row above
                    print(f"| {name} | {problem.n_parameters} | {label} | the starts of the engine it chose, above |")
                    continue
                cpu = float(rows["cpu_seconds"].sum())
                converged = int(rows["converged"].sum())
                print(f"| {name} | {problem.n_parameters} | {label} | {rows['fval_best'].min():.6g} | "
                      f"{rows['f_ref'].iloc[0]:.6g} | {converged} / {len(rows)} | {cpu:.1f} | {60 * converged / cpu:.2f} | "
                      f"{round(rows['total_evals'].sum())} | {int(rows['failed'].sum())} |", flush=True)


if __name__ == "__main__":
    main()
