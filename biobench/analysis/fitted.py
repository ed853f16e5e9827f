"""Fitted parameters a modeller can read: the best start of each (problem, method), per parameter id, in
natural units beside the nominal value and the bounds.

The store keeps points on the estimation scale (log10 by default) as JSON lists; this undoes the
scale of each parameter (recorded with the problem, ``biobench.problem.from_scale``) and says which
estimates sit on a bound, where a fit is often not identifiable or the bounds too narrow.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd

from biobench.analysis import metrics
from biobench.problem import from_scale

COLUMNS = ["problem_id", "method", "run_id", "fval_best", "parameter", "estimate", "nominal", "lower", "upper",
           "at_bound"]


def fitted_parameters(runs: pd.DataFrame, problems: pd.DataFrame, bound_tolerance: float = 1e-3) -> pd.DataFrame:
    """One row per parameter of the best start of each (problem, method) in ``runs`` (a store's runs frame),
    with ``problems`` (its problems frame) giving scales, nominal values and bounds."""
    if runs.empty:
        return pd.DataFrame(columns=COLUMNS)
    described = {key: {p["id"]: p for p in json.loads(text)["parameters"]}
                 for key, text in zip(problems["problem_key"], problems["description"])}
    runs = runs.assign(method=metrics.method_label(runs))
    finite = runs[runs["fval_best"].map(math.isfinite)]
    best = finite.loc[finite.groupby(["problem_key", "method"])["fval_best"].idxmin()]
    rows = []
    for _, run in best.sort_values(["problem_id", "fval_best"]).iterrows():
        parameters = described[run["problem_key"]]
        for pid, scaled in zip(run["parameter_ids"], run["x_best"]):
            info = parameters[pid]
            width = info["upper_scaled"] - info["lower_scaled"]
            at_bound = ("lower" if scaled - info["lower_scaled"] <= bound_tolerance * width else
                        "upper" if info["upper_scaled"] - scaled <= bound_tolerance * width else "")
            rows.append({"problem_id": run["problem_id"], "method": run["method"], "run_id": int(run["run_id"]),
                         "fval_best": run["fval_best"], "parameter": pid,
                         "estimate": float(from_scale(np.float64(scaled), info["scale"])), "nominal": info["nominal"],
                         "lower": info["lower"], "upper": info["upper"], "at_bound": at_bound})
    return pd.DataFrame(rows, columns=COLUMNS)
