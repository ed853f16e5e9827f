"""The Python API for analysing results with pandas.

    import biobench
    runs = biobench.load_results("results/biobench.sqlite")     # one row per start
    traces = biobench.load_traces("results/biobench.sqlite")    # best-so-far per evaluation
    board = biobench.leaderboard("results/biobench.sqlite")     # one row per (problem, method)
    summary = biobench.overall("results/biobench.sqlite")       # one row per method, across problems
"""

from __future__ import annotations

import json
import os

import pandas as pd

from biobench.analysis import metrics as lb
from biobench.atomic import atomic_write
from biobench.errors import ConfigError
from biobench.running.store import Store

# What ``biobench runs`` shows and exports, one row per start.
RUN_COLUMNS = ["run_id", "problem_id", "model_id", "initializer", "optimizer", "engine", "seed", "start_index", "fval0",
               "fval_best", "n_evals", "n_failures", "seconds", "cpu_seconds", "status", "parameter_ids", "x0", "x_best", "message",
               "opt_options", "extras", "created_at"]
# The store keeps points on the estimation scale (log10 by default): exports say so in the column name.
SCALED_NAMES = {"x0": "x0_scaled", "x_best": "x_best_scaled"}
_LIST_COLUMNS = ("parameter_ids", "x0_scaled", "x_best_scaled")
_DICT_COLUMNS = ("opt_options", "extras")


def load_results(results: str | os.PathLike | None = None, model_id: str | None = None) -> pd.DataFrame:
    """Every stored start: methods, seed, x0, fval0, x_best, fval_best, counts, times, problem info."""
    return Store(results, must_exist=True).runs_frame(model_id=model_id)


def load_traces(results: str | os.PathLike | None = None) -> pd.DataFrame:
    """Best-so-far traces (run_id, eval_index, fval_best, seconds), joinable to load_results on run_id."""
    return Store(results, must_exist=True).traces_frame()


def leaderboard(results: str | os.PathLike | None = None, model_id: str | None = None,
                delta: float = lb.DEFAULT_DELTA) -> pd.DataFrame:
    """Per problem and method: starts, best and median fval, success rate, converged per 1000 evals, ..."""
    return lb.per_problem(load_results(results, model_id), delta)


def overall(results: str | os.PathLike | None = None, delta: float = lb.DEFAULT_DELTA) -> pd.DataFrame:
    """Per method across problems: mean rank and the area under the performance profile."""
    return lb.overall(lb.per_problem(load_results(results), delta))


def write_frame(frame: pd.DataFrame, fmt: str, out: str | os.PathLike | None = None) -> str | None:
    """A table as csv, parquet or json: the text when ``out`` is None, else written atomically to ``out``."""
    if fmt == "parquet":
        if out is None:
            raise ConfigError("--format parquet writes a binary file: pass --out runs.parquet.")
        return atomic_write(out, lambda handle: frame.to_parquet(handle, index=False))
    if fmt not in ("csv", "json"):
        raise ConfigError(f"--format {fmt!r}: choose csv, parquet or json.")
    text = frame.to_csv(index=False) if fmt == "csv" else frame.to_json(orient="records", indent=2)
    return text if out is None else atomic_write(out, lambda handle: handle.write(text.encode()))


def export_runs(frame: pd.DataFrame, fmt: str, out: str | os.PathLike | None = None) -> str | None:
    """Runs as csv, parquet or json: the text when ``out`` is None, else written atomically to ``out``.

    Points are named ``x0_scaled``/``x_best_scaled``. Parquet keeps them (and ``parameter_ids``)
    as list columns; dict columns (options, extras) are JSON strings there and in csv, where the
    lists are JSON strings too (one cell each, read back with json.loads).
    """
    frame = frame[RUN_COLUMNS].rename(columns=SCALED_NAMES)
    if fmt == "json":
        return write_frame(frame, fmt, out)
    flat = frame.copy()
    for column in _DICT_COLUMNS + (_LIST_COLUMNS if fmt == "csv" else ()):
        flat[column] = flat[column].map(json.dumps)
    return write_frame(flat, fmt, out)
