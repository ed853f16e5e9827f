"""The report's figures, each a (title, figure, caption) computed from store frames alone.

A figure function returns None when the store has nothing for it to show, so the
report simply leaves that section out. Every figure takes the same ``palette`` (method
-> colour, from ``method_palette``), so a method has one colour across the report.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.ticker import MaxNLocator

from biobench.analysis import metrics
from biobench.plotting import Figure, Palette, marker_of, plt

FLOOR = 1e-3  # distances to f_ref below this are drawn at this value on log axes
FLOOR_LABEL = f"floor: fval - f_ref < {FLOOR:g} drawn here (the best start sits at 0)"

def _reference_lines(ax, delta: float) -> None:
    """The convergence threshold and the floor of log axes, both named in the legend."""
    ax.axhline(delta, color="black", linestyle="--", linewidth=1, label=f"converged (f_ref + {delta:g})")
    ax.axhline(FLOOR, color="grey", linestyle=":", linewidth=1, label=FLOOR_LABEL)


def _gap(values: pd.Series, f_ref: pd.Series) -> pd.Series:
    """fval - f_ref, floored for log axes (0 = as good as the best known value)."""
    return (values - f_ref).clip(lower=FLOOR)


def waterfall(runs: pd.DataFrame, delta: float, palette: Palette) -> list[Figure]:
    out = []
    for problem_id, group in runs.groupby("problem_id"):
        fig, ax = plt.subplots(figsize=(7, 4))
        for method, starts in group.groupby("method"):
            gap = _gap(starts["fval_best"], starts["f_ref"]).sort_values().to_numpy()
            ax.plot(np.arange(1, len(gap) + 1), np.where(np.isfinite(gap), gap, np.nan),
                    marker=marker_of(palette, method), markersize=5, markerfacecolor="none", linewidth=1,
                    label=method, color=palette[method])
        _reference_lines(ax, delta)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # ranks are whole numbers
        ax.set(yscale="log", xlabel="start, sorted by final objective value (rank)",
               ylabel="final fval - f_ref (negative log-likelihood units)",
               title=f"Waterfall: {problem_id}")
        ax.legend(fontsize=8)
        out.append(Figure(f"Waterfall plot, {problem_id}", fig,
                          f"Every start's final objective value minus f_ref (the best value known for the problem, "
                          f"{group['f_ref'].iloc[0]:.6g}), sorted from best to worst, one line per method. A flat "
                          f"run of points below the dashed line is a set of starts that found the best basin; "
                          f"plateaus above it are local optima. Differences below {FLOOR:g} (the best start's is "
                          f"0) are drawn on the dotted floor line, since a log axis has no 0. Failed starts (no "
                          f"finite value) are not drawn."))
    return out


def _resample(traces: pd.DataFrame, runs: pd.DataFrame, axis: str, grid: np.ndarray) -> pd.DataFrame:
    """Best-so-far gap of every run at common grid points (evaluations or seconds)."""
    rows = []
    f_ref = runs.set_index("run_id")["f_ref"]
    method = runs.set_index("run_id")["method"]
    for run_id, trace in traces.groupby("run_id"):
        if run_id not in f_ref.index:
            continue
        x, y = trace[axis].to_numpy(), trace["fval_best"].to_numpy()
        idx = np.searchsorted(x, grid, side="right") - 1
        values = np.where(idx >= 0, y[np.clip(idx, 0, None)], np.nan)
        rows.append(pd.DataFrame({"grid": grid, "gap": np.clip(values - f_ref[run_id], FLOOR, None),
                                  "method": method[run_id]}))
    return pd.concat(rows, ignore_index=True) if rows else pd.DataFrame(columns=["grid", "gap", "method"])


def convergence(runs: pd.DataFrame, traces: pd.DataFrame, delta: float, palette: Palette) -> list[Figure]:
    out = []
    if traces.empty:
        return out
    for problem_id, group in runs.groupby("problem_id"):
        mine = traces[traces["run_id"].isin(group["run_id"])]
        if mine.empty:
            continue
        # a trace holds improvements only: each start's end (its evaluations, seconds and best value) closes
        # its curve, so a start that searched on without improving runs to where it stopped
        ends = group.loc[np.isfinite(group["fval_best"]), ["run_id", "n_evals", "seconds", "fval_best"]]
        ends = ends.rename(columns={"n_evals": "eval_index"})
        mine = pd.concat([mine, ends[ends["run_id"].isin(mine["run_id"])]], ignore_index=True)
        mine = mine.sort_values(["run_id", "eval_index", "seconds"], kind="stable")
        fig, axes = plt.subplots(1, 2, figsize=(11, 4))
        for ax, axis, label in ((axes[0], "eval_index", "objective evaluations"), (axes[1], "seconds", "seconds")):
            # log-spaced grids on log axes: early progress and long runs are both visible
            top = max(float(mine[axis].max()), 1e-9)
            low = max(float(mine.loc[mine[axis] > 0, axis].min()), top * 1e-4) if (mine[axis] > 0).any() else top
            grid = np.geomspace(low, top, 200)
            if axis == "eval_index":
                grid = np.unique(grid.round())
            curves = _resample(mine, group, axis, grid)
            for method, curve in curves.groupby("method"):
                stats = curve.groupby("grid")["gap"].quantile([0.25, 0.5, 0.75]).unstack()
                ax.plot(stats.index, stats[0.5], label=method, color=palette[method])
                ax.fill_between(stats.index, stats[0.25], stats[0.75], alpha=0.2, color=palette[method])
            _reference_lines(ax, delta)
            ax.set(xscale="log", yscale="log", xlabel=f"{label} (log scale)", ylabel="best fval so far - f_ref",
                   title=f"against {label}")
        axes[0].legend(fontsize=8)
        fig.suptitle(f"Convergence: {problem_id}")
        fig.tight_layout()
        out.append(Figure(f"Convergence, {problem_id}", fig,
                          "Best objective value found so far minus f_ref, against objective evaluations (left) and "
                          "wall-clock seconds (right): the line is the median over a method's starts and the band "
                          "the 25-75% quantiles. Curves that reach the dashed line (f_ref + delta) early are cheap "
                          f"paths to the best basin; below {FLOOR:g} they rest on the dotted floor line. Pilot "
                          "evaluations of a method are not in these curves (see the leaderboard, which charges "
                          "them)."))
    return out


def final_values(runs: pd.DataFrame, delta: float, palette: Palette) -> Figure:
    data = runs.assign(gap=_gap(runs["fval_best"], runs["f_ref"]))
    data = data[np.isfinite(data["gap"])]
    order = sorted(data["method"].unique())
    g = sns.catplot(data=data, x="method", y="gap", hue="method", order=order, hue_order=order, palette=palette,
                    col="model_id", kind="box", col_wrap=min(3, data["model_id"].nunique()), sharey=False,
                    height=3.5, aspect=1.3, fliersize=0, saturation=1, boxprops={"alpha": 0.45}, legend=False)
    g.map_dataframe(sns.stripplot, x="method", y="gap", order=order, size=3, color="black", alpha=0.6)
    for ax in g.axes.flat:
        ax.set_yscale("log")
        _reference_lines(ax, delta)
        ax.tick_params(axis="x", rotation=30)
    handles, labels = g.axes.flat[0].get_legend_handles_labels()
    g.figure.legend(handles, labels, fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.14), ncol=1)
    g.set_axis_labels("method (initializer + optimizer)", "final fval - f_ref")
    g.set_titles("{col_name}")
    g.figure.suptitle("Final objective values per model and method", y=1.02)
    return Figure("Final objective values", g.figure,
                  "Each dot is one start's final objective value minus f_ref, boxes show quartiles; one panel per "
                  "model, boxes in the method's colour. Lower is better; the dashed line is the convergence "
                  f"threshold delta, the dotted line the {FLOOR:g} floor of the log axis.")


def success_heatmap(board: pd.DataFrame) -> Figure:
    table = board.pivot_table(index="model_id", columns="method", values="success_rate", aggfunc="mean")
    fig, ax = plt.subplots(figsize=(1.6 + 1.3 * table.shape[1], 1.2 + 0.6 * table.shape[0]))
    sns.heatmap(table, annot=True, fmt=".0%", vmin=0, vmax=1, cmap="viridis", ax=ax,
                cbar_kws={"label": "success rate (converged starts / starts)"})
    ax.set(xlabel="method (initializer + optimizer)", ylabel="model", title="Success rate")
    ax.tick_params(axis="x", rotation=30)
    return Figure("Success rate", fig, "Share of starts that converged (fval_best <= f_ref + delta) for every model "
                                       "and method; blank cells are combinations that were not run.")


def performance_profiles(board: pd.DataFrame, palette: Palette) -> Figure | None:
    """None with fewer than two problems: a profile compares methods across problems."""
    if board["problem_id"].nunique() < 2:
        return None
    profile = metrics.performance_profile(board)
    fig, ax = plt.subplots(figsize=(7, 4))
    for method, curve in profile.groupby("method"):
        ax.step(curve["tau"], curve["share_solved"], where="post", label=method, color=palette[method])
    ax.set_xscale("log", base=2)
    ax.set(xlabel="tau: cost within tau x the best method's (evaluations per converged start)",
           ylabel="share of problems", ylim=(-0.02, 1.02), title="Performance profiles (Dolan-More)")
    ax.legend(fontsize=8)
    return Figure("Performance profiles", fig,
                  "For each method, the share of problems on which its cost (evaluations per converged start, pilot "
                  "evaluations included) is within a factor tau of the cheapest method's. The curve's value at "
                  "tau = 1 is how often the method was the cheapest; its height at the right is how often it "
                  "converged at all. Higher and further left is better.")


def parameter_recovery(runs: pd.DataFrame, problems: pd.DataFrame, palette: Palette) -> Figure | None:
    rows = []
    truth = problems.set_index("problem_key")
    best = runs[np.isfinite(runs["fval_best"])].sort_values("fval_best").groupby(["problem_key", "method"]).head(1)
    for record in best.itertuples():
        x_true = truth.loc[record.problem_key, "x_true"]
        if x_true is None:
            continue
        for pid, estimate, true in zip(record.parameter_ids, record.x_best, x_true):
            rows.append({"problem": record.problem_id, "method": record.method, "parameter": pid,
                         "true": true, "estimated": estimate})
    if not rows:
        return None
    data = pd.DataFrame(rows)
    order = sorted(data["method"].unique())
    # Colour and marker both name the method, and markers are translucent: coinciding estimates stay visible.
    g = sns.relplot(data=data, x="true", y="estimated", hue="method", style="method", hue_order=order,
                    style_order=order, palette=palette, alpha=0.7, s=40, col="problem",
                    col_wrap=min(3, data["problem"].nunique()), height=3.5, facet_kws={"sharex": False,
                                                                                      "sharey": False})
    for ax in g.axes.flat:
        low, high = ax.get_xlim()
        ax.plot([low, high], [low, high], color="grey", linestyle=":", linewidth=1)
    g.set_axis_labels("true value (log10)", "estimate of the best start (log10)")
    g.set_titles("{col_name}")
    g.figure.suptitle("Parameter recovery on synthetic problems", y=1.02)
    return Figure("Parameter recovery", g.figure,
                  "Estimated against true parameter values (scaled, log10 by default) for the best start of each "
                  "method on each synthetic problem, one colour and marker per method. Points on the dotted "
                  "diagonal are recovered; points far from it with a converged fit are practically "
                  "non-identifiable parameters.")
