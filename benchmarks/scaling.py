"""Throughput of `biobench bench` with 1 and 2 worker processes, and time inside roadrunner.

    python benchmarks/scaling.py [--config configs/quick.yaml] [--workers 1 2]

Each worker count runs the whole config into a fresh temporary store with the
`processes` executor (planning excluded, pool start-up included). Reported: objective
evaluations per second, the speed-up over one worker, and the share of the workers'
time spent inside roadrunner (set parameters, reset, simulate), from the records.
Target on a 2-core machine: 2 workers >= 1.8 x one worker.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from biobench.running.bench import plan, run_plan
from biobench.running.bench_config import load_bench_config
from biobench.running.store import Store


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default="configs/quick.yaml")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    args = parser.parse_args()

    config = load_bench_config(args.config)
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for workers in args.workers:
            store = Store(Path(folder) / f"scaling-{workers}.sqlite")
            bench = plan(config, store)
            start = time.perf_counter()
            run_plan(bench, store, "processes", workers=workers)
            wall = time.perf_counter() - start
            runs = store.runs_frame()
            evals = int(runs["n_evals"].sum())
            rows.append((workers, len(runs), evals, wall, evals / wall,
                         runs["simulation_seconds"].sum() / runs["seconds"].sum()))
    base = rows[0][4]
    print(f"{args.config}: processes executor\n")
    print(f"{'workers':>7} {'starts':>6} {'evals':>7} {'seconds':>8} {'evals/s':>8} {'speed-up':>8} "
          f"{'in roadrunner':>13}")
    for workers, starts, evals, wall, rate, share in rows:
        print(f"{workers:>7} {starts:>6} {evals:>7} {wall:>8.1f} {rate:>8.0f} {rate / base:>8.2f} {share:>12.0%}")


if __name__ == "__main__":
    main()
