"""Time the command biobench is known by, as a new user runs it.

    python benchmarks/headline.py [--work DIR] [--stored 25000] [--busy 1]

``biobench run --model BIOMD0000000012 --init cvae --opt bo`` with every default, twice:
from a fresh store, and from a store already holding about ``--stored`` evaluations of the
same problem (the cvae trains on them as well, capped by ``max_train``). The second store
is built once in DIR by ``biobench run --init lhs --opt bo-tpe`` starts of 1000 evaluations
and copied before each timing, so reruns time the same situation. Targets: at most 3
minutes for the command, at most 30 s of cvae training (its optuna search), on 2 cores.
``--busy N`` times each case again with N CPU-bound processes running beside it (a shared
machine: the other core busy), as every user of a login node or laptop sees it.
"""

from __future__ import annotations

import argparse
import contextlib
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import biobench

COMMAND = ["run", "--model", "BIOMD0000000012", "--init", "cvae", "--opt", "bo"]


def biobench_cli(*args: str) -> float:
    """Run the CLI in a fresh process (imports included, as a user pays them); seconds of wall time."""
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "biobench.commands", *args], check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


@contextlib.contextmanager
def busy(processes: int):
    """``processes`` CPU-bound processes running while the block runs."""
    spinners = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(processes)]
    try:
        yield
    finally:
        for spinner in spinners:
            spinner.kill()
            spinner.wait()


def evaluations_in(store: Path) -> int:
    return int(biobench.load_results(store)["n_evals"].sum()) if store.exists() else 0


def cvae_summary(store: Path) -> dict:
    runs = biobench.load_results(store)
    mine = runs[(runs["initializer"] == "cvae") & (runs["optimizer"] == "bo")]
    cvae = mine["extras"].iloc[0]["cvae"]
    return {"best": float(mine["fval_best"].min()), "search": cvae["search_seconds"], "trials": cvae["trials"],
            "limited": cvae["time_limited"], "n_train": cvae["n_train"] + cvae["n_validation"],
            "pilot_seconds": float(mine["pilot_seconds"].sum())}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", default="results/headline")
    parser.add_argument("--stored", type=int, default=25_000)
    parser.add_argument("--busy", type=int, default=0, help="also time with this many CPU-bound processes beside it")
    args = parser.parse_args()
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)

    seeded = work / f"stored_{args.stored}.sqlite"
    if not seeded.exists():
        starts = max(1, args.stored // 1000)
        print(f"building a store of {starts} x 1000 evaluations (once): {seeded}", flush=True)
        biobench_cli("run", "--model", "BIOMD0000000012", "--init", "lhs", "--opt", "bo-tpe", "--starts", str(starts),
                     "--budget", "1000", "--results", str(seeded.with_suffix(".building.sqlite")))
        shutil.move(seeded.with_suffix(".building.sqlite"), seeded)

    print("| store before the run | busy processes beside it | evaluations in it | command seconds | cvae search "
          "seconds (trials, time-limited) | training points | pilot seconds | best fval |")
    print("|---|---|---|---|---|---|---|---|")
    loads = [0] + ([args.busy] if args.busy else [])
    for (label, source), load in ((case, load) for case in (("fresh", None), (f"{args.stored} evaluations", seeded))
                                  for load in loads):
        store = work / "timed.sqlite"
        for old in work.glob("timed.sqlite*"):
            old.unlink() if old.is_file() else shutil.rmtree(old)
        shutil.rmtree(work / "timed_artifacts", ignore_errors=True)
        if source is not None:
            with sqlite3.connect(source) as src, sqlite3.connect(store) as dst:
                src.backup(dst)
        before = evaluations_in(store)
        with busy(load):
            seconds = biobench_cli(*COMMAND, "--results", str(store))
        info = cvae_summary(store)
        print(f"| {label} | {load} | {before} | {seconds:.1f} | {info['search']:.1f} ({info['trials']}, {info['limited']}) | "
              f"{info['n_train']} | {info['pilot_seconds']:.1f} | {info['best']:.6g} |", flush=True)


if __name__ == "__main__":
    main()
