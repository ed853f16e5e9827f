"""The Python API for analysing results with pandas.

    import biobench
    runs = biobench.load_results("results/biobench.sqlite")     # one row per start
    traces = biobench.load_traces("results/biobench.sqlite")    # best-so-far per evaluation
    board = biobench.leaderboard("results/biobench.sqlite")     # one row per (problem, method)
    summary = biobench.overall("results/biobench.sqlite")       # one row per method, across problems
"""

from __future__ import annotations

import os

import pandas as pd

from biobench import metrics as lb
from biobench.store import Store


def load_results(results: str | os.PathLike | None = None, model_id: str | None = None) -> pd.DataFrame:
    """Every stored start: methods, seed, x0, fval0, x_best, fval_best, counts, times, problem info."""
    return Store(results).runs_frame(model_id=model_id)


def load_traces(results: str | os.PathLike | None = None) -> pd.DataFrame:
    """Best-so-far traces (run_id, eval_index, fval_best, seconds), joinable to load_results on run_id."""
    return Store(results).traces_frame()


def leaderboard(results: str | os.PathLike | None = None, model_id: str | None = None,
                delta: float = lb.DEFAULT_DELTA) -> pd.DataFrame:
    """Per problem and method: starts, best and median fval, success rate, converged per 1000 evals, ..."""
    return lb.per_problem(load_results(results, model_id), delta)


def overall(results: str | os.PathLike | None = None, delta: float = lb.DEFAULT_DELTA) -> pd.DataFrame:
    """Per method across problems: mean rank and the area under the performance profile."""
    return lb.overall(lb.per_problem(load_results(results), delta))
