"""Leaderboard metrics, who wins: per-problem metrics, ranks across problems and Dolan-More performance profiles.

Everything is computed from the store's runs table alone. A method is an
(initializer, optimizer) pair in one configuration (budget, starts, options). A start has converged when
``fval_best <= f_ref + delta``, where f_ref is the lowest objective value known for
its problem: the best of all stored runs (any method) and the value at the true
parameters. A published problem has no truth: its f_ref is the value at the published
parameters, or a better one only once a second engine has confirmed it at the same point
(``biobench collection check --results``); an unconfirmed better value never sets the target,
unless nothing else is finite. Per-evaluation and per-minute metrics charge pilot costs (the cvae's
training design) to the method that spent them.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from biobench.outcome import Status

DEFAULT_DELTA = 0.1
METHOD_KEYS = ["initializer", "optimizer"]


def _configuration(row) -> dict[str, object]:
    """What makes a method beyond its two names: budget, starts per run, every option (a starts file too)."""
    config: dict[str, object] = {"budget": row.budget, "starts": row.n_starts}
    for prefix, options in (("init", row.init_options), ("opt", row.opt_options)):
        for key, value in (options if isinstance(options, dict) else json.loads(options or "{}")).items():
            config[f"{prefix}.{key}"] = str(value)[:8] if key == "guesses" else value  # a digest: short is enough
    return config


def method_label(frame: pd.DataFrame) -> pd.Series:
    """``initializer + optimizer``, and where runs of that pair differ in configuration, what differs.

    A method is its whole configuration: runs with another budget, number of starts, option
    or starts file are another method, never pooled into one leaderboard row (seeds are
    replicates and are pooled).
    """
    base = frame["initializer"] + " + " + frame["optimizer"]
    if "engine" in frame.columns:  # another engine is another method; the default one is not named
        engine = frame["engine"].fillna("roadrunner")
        if "extras" in frame.columns:  # run where 'auto' chose: one method whichever engine it chose per problem
            auto = frame["extras"].map(lambda extras: isinstance(extras, dict) and extras.get("engine_choice") == "auto")
            engine = engine.where(~auto.astype(bool), "auto")
        base = base.where(engine == "roadrunner", base + " [" + engine + "]")
    if not {"budget", "n_starts", "init_options", "opt_options"} <= set(frame.columns):
        return base
    configs = [_configuration(row) for row in frame.itertuples(index=False)]
    labels = base.tolist()
    positions: dict[str, list[int]] = {}
    for position, name in enumerate(labels):
        positions.setdefault(name, []).append(position)
    for name, chosen in positions.items():
        keys = sorted({k for p in chosen for k in configs[p]})
        varying = [k for k in keys
                   if len({json.dumps(configs[p].get(k), sort_keys=True, default=str) for p in chosen}) > 1]
        for p in chosen if varying else []:
            shown = ", ".join(f"{k}={configs[p].get(k, '-')}" for k in varying)
            labels[p] = f"{name} ({shown})"
    return pd.Series(labels, index=frame.index)


def with_convergence(runs: pd.DataFrame, delta: float = DEFAULT_DELTA) -> pd.DataFrame:
    """Runs with f_ref, converged, total evaluations and seconds (pilot included) added."""
    runs = runs.copy()
    runs["fval_best"] = runs["fval_best"].astype(float).fillna(np.inf)  # NULL = no finite value found
    best_run = runs.groupby("problem_key")["fval_best"].transform("min")
    f_true = runs["f_true"].astype(float).fillna(np.inf)
    if "has_truth" in runs:
        confirmed = runs["f_confirmed"].astype(float).fillna(np.inf)
        published = np.minimum(f_true, confirmed)
        best_run = best_run.where(runs["has_truth"].astype(bool) | ~np.isfinite(published), confirmed)
    runs["f_ref"] = np.minimum(best_run, f_true)
    runs["converged"] = runs["fval_best"] <= runs["f_ref"] + delta
    runs["failed"] = failed_starts(runs)
    runs["total_evals"] = runs["n_evals"] + runs.get("pilot_evals", 0.0)
    runs["total_seconds"] = runs["seconds"] + runs.get("pilot_seconds", 0.0)
    # CPU seconds (every thread of the start's process), pilot included; NaN for starts stored before they were
    cpu = runs["cpu_seconds"].astype(float) if "cpu_seconds" in runs else pd.Series(np.nan, index=runs.index)
    runs["total_cpu_seconds"] = cpu.where(cpu > 0) + runs.get("pilot_seconds", 0.0)
    runs["method"] = method_label(runs)
    return runs


def per_problem(runs: pd.DataFrame, delta: float = DEFAULT_DELTA) -> pd.DataFrame:
    """One row per (problem, method): the leaderboard's main table."""
    runs = with_convergence(runs, delta)
    grouped = runs.groupby(["problem_id", "model_id", "problem_key", *METHOD_KEYS, "method"], sort=True)
    board = grouped.agg(
        starts=("run_id", "size"),
        best_fval=("fval_best", "min"),
        median_fval=("fval_best", "median"),
        f_ref=("f_ref", "first"),
        converged=("converged", "sum"),
        evaluations=("total_evals", "sum"),
        seconds=("total_seconds", "sum"),
        cpu_seconds=("total_cpu_seconds", lambda v: v.sum(min_count=len(v))),
        median_seconds=("total_seconds", "median"),
        failed_starts=("failed", "sum"),
    ).reset_index()
    board["success_rate"] = board["converged"] / board["starts"]
    board["converged_per_1000_evals"] = 1000.0 * board["converged"] / board["evaluations"]
    board["converged_per_minute"] = 60.0 * board["converged"] / board["seconds"].where(board["seconds"] > 0)
    board["converged_per_cpu_minute"] = 60.0 * board["converged"] / board["cpu_seconds"].where(board["cpu_seconds"] > 0)
    board["converged"] = board["converged"].astype(int)
    board["failed_starts"] = board["failed_starts"].astype(int)
    return board


def ranks(board: pd.DataFrame) -> pd.DataFrame:
    """Rank of each method on each problem: more converged starts per 1000 evaluations is better.

    Ties share the average rank; success rate, then median final fval, break ties
    first, so two methods that never converge are still told apart.
    """
    # one sortable key per row: higher efficiency, higher success, lower median fval first
    key = pd.Series(list(zip(-board["converged_per_1000_evals"], -board["success_rate"], board["median_fval"])),
                    index=board.index, dtype=object)
    rank = key.groupby(board["problem_key"]).rank(method="average")
    return board[["problem_key", "problem_id", "method"]].assign(rank=rank.astype(float)).reset_index(drop=True)


def performance_profile(board: pd.DataFrame, n_points: int = 200) -> pd.DataFrame:
    """Dolan-More profile: share of problems a method solves within tau x the best method's cost.

    The cost of a method on a problem is its evaluations per converged start (pilot
    included); a method with no converged start has infinite cost there.
    """
    cost = board.assign(cost=board["evaluations"] / board["converged"].where(board["converged"] > 0))
    cost["cost"] = cost["cost"].fillna(np.inf)
    table = cost.pivot_table(index="problem_key", columns="method", values="cost", aggfunc="first")
    best = table.min(axis=1).replace(0, np.nan)
    ratio = table.div(best, axis=0)
    finite = ratio.to_numpy()[np.isfinite(ratio.to_numpy())]
    log_max = max(1.0, float(np.log2(finite.max()))) if finite.size else 1.0
    log_tau = np.linspace(0.0, log_max * 1.05, n_points)
    rows = []
    for method in ratio.columns:
        r = ratio[method].to_numpy()
        with np.errstate(divide="ignore", invalid="ignore"):
            log_r = np.where(np.isfinite(r), np.log2(r), np.inf)
        for t in log_tau:
            rows.append({"method": method, "log2_tau": t, "tau": 2.0**t,
                         "share_solved": float(np.mean(log_r <= t + 1e-12))})
    return pd.DataFrame(rows)


def overall(board: pd.DataFrame) -> pd.DataFrame:
    """Across problems: mean rank, problems covered and the area under the performance profile.

    The area is normalised to [0, 1]: 1 means best on every problem, 0 means never converged.
    """
    rank = ranks(board).groupby("method")["rank"].agg(mean_rank="mean", problems="size")
    profile = performance_profile(board)
    if profile.empty:
        return rank.assign(profile_auc=np.nan).reset_index()
    span = profile["log2_tau"].max()
    auc = profile.groupby("method").apply(
        lambda g: float(np.trapezoid(g["share_solved"], g["log2_tau"]) / span) if span > 0
        else float(g["share_solved"].iloc[0]), include_groups=False)
    totals = board.groupby("method").agg(starts=("starts", "sum"), converged=("converged", "sum"),
                                         evaluations=("evaluations", "sum"),
                                         solved=("converged", lambda v: int((v > 0).sum())))
    result = rank.join(auc.rename("profile_auc")).join(totals)
    result["success_rate"] = result["converged"] / result["starts"]
    result["share_solved"] = result["solved"] / result["problems"]
    return result.reset_index().sort_values(["mean_rank", "profile_auc"], ascending=[True, False])


def best_per_problem(board: pd.DataFrame) -> pd.DataFrame:
    """The winner on each problem (rank 1; ties broken as ``ranks`` does) with its rates and how many methods
    solved the problem at all: the compact table of a benchmark over many problems."""
    ranked = board.assign(rank=ranks(board)["rank"].to_numpy()).sort_values(["problem_id", "rank"])
    first = ranked.groupby("problem_key", sort=False).head(1)
    solved_by = board.groupby("problem_key")["converged"].apply(lambda v: int((v > 0).sum()))
    table = first.assign(methods_solving=first["problem_key"].map(solved_by),
                         methods=first["problem_key"].map(board.groupby("problem_key").size()))
    return table[["problem_id", "method", "starts", "converged", "converged_per_cpu_minute",
                  "converged_per_1000_evals", "best_fval", "f_ref", "methods_solving", "methods"]].rename(
        columns={"method": "best method"}).reset_index(drop=True)


def failed_starts(runs: pd.DataFrame) -> pd.Series:
    """Starts that found no finite value, raised (``error``) or were killed. A method's own "failed" with a finite
    value found (L-BFGS-B's abnormal line search, often at the optimum) is a stop, judged by its value."""
    return ~np.isfinite(runs["fval_best"].astype(float)) | runs["status"].isin([Status.ERROR, Status.KILLED])


def failures(runs: pd.DataFrame) -> pd.DataFrame:
    """Failed, errored and killed starts (``failed_starts``) per problem and method, with their reasons."""
    runs = runs.assign(method=method_label(runs))
    bad = runs[failed_starts(runs)]
    if bad.empty:
        return pd.DataFrame(columns=["problem_id", "method", "status", "starts", "reason"])
    reason = bad["message"].fillna("").map(lambda text: (text.splitlines() or ["(no message)"])[0][:160])
    return (bad.assign(reason=reason).groupby(["problem_id", "method", "status", "reason"], sort=True)
            .size().rename("starts").reset_index()[["problem_id", "method", "status", "starts", "reason"]])


def unconfirmed(runs: pd.DataFrame, delta: float = DEFAULT_DELTA) -> pd.DataFrame:
    """Published problems whose best stored value is below their target (f_ref) by more than ``delta`` without a
    second engine's confirmation: the target stays the published value until ``biobench collection check``
    confirms the better one."""
    runs = with_convergence(runs, delta)
    if "has_truth" not in runs:
        return pd.DataFrame(columns=["problem_id", "best_fval", "f_ref"])
    best = runs.groupby(["problem_key", "problem_id"]).agg(best_fval=("fval_best", "min"), f_ref=("f_ref", "first"),
                                                         has_truth=("has_truth", "first"))
    below = best[~best["has_truth"].astype(bool) & (best["best_fval"] < best["f_ref"] - delta)]
    return below.reset_index()[["problem_id", "best_fval", "f_ref"]]


def run_summary(runs: pd.DataFrame, problem_key: str, initializer: str, optimizer: str, seed: int, budget: int,
                f_nominal: float, delta: float = DEFAULT_DELTA, synthetic: bool = True,
                engine: str = "roadrunner") -> pd.DataFrame:
    """What ``biobench run`` reports for one method on one problem: (metric, value) rows.

    ``runs`` may hold other problems and methods: f_ref is taken over every run of the
    problem, so a method is judged against the best any method found. Only synthetic data
    have true parameters; a PEtab problem's nominal values are a reference point.
    """
    runs = with_convergence(runs[runs["problem_key"] == problem_key], delta)
    mine = runs[(runs["initializer"] == initializer) & (runs["optimizer"] == optimizer) & (runs["seed"] == seed)
                & (runs["budget"] == budget) & (runs.get("engine", "roadrunner") == engine)]
    f_ref = float(runs["f_ref"].iloc[0]) if len(runs) else f_nominal
    rows = [("starts", len(mine)),
            ("best fval", float(mine["fval_best"].min()) if len(mine) else np.nan),
            ("median fval", float(mine["fval_best"].median()) if len(mine) else np.nan),
            ("fval at the true parameters" if synthetic else "fval at the nominal parameters (not a truth)",
             f_nominal),
            (f"converged starts (fval <= f_ref + {delta}, f_ref = {f_ref:.6g})",
             f"{int(mine['converged'].sum())} / {len(mine)}")]
    pilot = float(mine["pilot_evals"].sum())
    if pilot:
        rows += [(f"pilot evaluations of {initializer} (charged to it)", round(pilot)),
                 (f"pilot seconds of {initializer} (charged to it)", round(float(mine["pilot_seconds"].sum()), 1))]
    rows += [("evaluations (total, pilot included)", round(float(mine["total_evals"].sum()))),
             ("failed simulations", int(mine["n_failures"].sum())),
             ("seconds (total, pilot included)", round(float(mine["total_seconds"].sum()), 1))]
    if "cpu_seconds" in mine and float(mine["cpu_seconds"].sum()) > 0:
        rows.append(("CPU seconds of the starts", round(float(mine["cpu_seconds"].sum()), 1)))
    return pd.DataFrame(rows, columns=["metric", "value"])


LEADERBOARD_COLUMNS = ["problem_id", "method", "starts", "best_fval", "median_fval", "f_ref", "success_rate",
                       "converged", "converged_per_1000_evals", "converged_per_minute", "converged_per_cpu_minute", "median_seconds",
                       "failed_starts"]
