"""Space-filling quality of the initializers: centred L2 discrepancy by method, n and d.

    python benchmarks/initializer_quality.py [--seeds 20] [--n 16 64 256] [--d 2 7 20 50]

Lower is better. Each cell is the mean over seeds of scipy.stats.qmc.discrepancy
(method "CD") of the points mapped back to the unit cube. Initializers only see the
problem's box, so the benchmark hands them a unit box directly instead of a model.
"""

from __future__ import annotations

import argparse
import time
import warnings
from types import SimpleNamespace

import numpy as np
import pandas as pd
from scipy.stats import qmc

from biobench.initializers import initializers


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--n", type=int, nargs="+", default=[16, 64, 256])
    parser.add_argument("--d", type=int, nargs="+", default=[2, 7, 20, 50])
    parser.add_argument("--methods", nargs="+", default=["random", "lhs", "lhs-opt", "mjs", "sobol"])
    args = parser.parse_args()

    rows = []
    for d in args.d:
        box = SimpleNamespace(lower=np.zeros(d), upper=np.ones(d), n_parameters=d)
        for n in args.n:
            for method in args.methods:
                init = initializers.get(method)()
                start = time.perf_counter()
                values = []
                for seed in range(args.seeds):
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore", UserWarning)
                        values.append(qmc.discrepancy(init.sample(box, n, np.random.default_rng(seed)), method="CD"))
                rows.append({"d": d, "n": n, "method": method, "CD": np.mean(values),
                             "ms per design": (time.perf_counter() - start) / args.seeds * 1e3})
    frame = pd.DataFrame(rows)
    table = frame.pivot_table(index=["d", "n"], columns="method", values="CD")[args.methods]
    random_cd = table["random"]
    print(f"Centred L2 discrepancy, mean over {args.seeds} seeds (lower is better)\n")
    print(table.to_string(float_format=lambda v: f"{v:.4g}"))
    print("\nRelative to random:\n")
    print(table.div(random_cd, axis=0).to_string(float_format=lambda v: f"{v:.3f}"))
    print("\nMilliseconds per design:\n")
    print(frame.pivot_table(index=["d", "n"], columns="method", values="ms per design")[args.methods]
          .to_string(float_format=lambda v: f"{v:.2f}"))


if __name__ == "__main__":
    main()
