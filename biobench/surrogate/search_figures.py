"""``--opt surrogate`` in the report: how well did the surrogate predict, and what did it cost?

One figure per problem the surrogate optimizer ran on, from the record's extras: every
candidate's objective as the network predicted it against the simulated value (a
held-out check: the prediction came before the simulation), coloured by round; and, per
start, true simulations against surrogate evaluations and the seconds spent training.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.stats import spearmanr

from biobench.plotting import Figure, plt  # matplotlib on Agg (files only)


def surrogate_diagnostics(runs: pd.DataFrame) -> list[Figure]:
    chosen = runs[runs["optimizer"] == "surrogate"]
    figures = []
    for problem_id, group in chosen.groupby("problem_id", sort=True):
        rows = [(e, int(n)) for e, n in zip(group["extras"], group["n_evals"]) if isinstance(e, dict) and "candidates" in e]
        if rows:
            figures.append(_figure(str(problem_id), [e for e, _ in rows], [n for _, n in rows]))
    return figures


def _figure(problem_id: str, extras: list[dict], n_evals: list[int]) -> Figure:
    checks = np.array([[np.nan if v is None else v for v in row] for e in extras for row in e["candidates"]],
                      dtype=float).reshape(-1, 3)
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 5))
    both = np.isfinite(checks[:, 1]) & np.isfinite(checks[:, 2])
    spearman = spearmanr(checks[both, 1], checks[both, 2]).statistic if both.sum() > 2 else float("nan")
    if both.any():
        shown = left.scatter(checks[both, 2], checks[both, 1], c=checks[both, 0], cmap="viridis", s=12, alpha=0.7)
        fig.colorbar(shown, ax=left, label="round")
        low, high = np.nanmin(checks[both, 1:]), np.nanmax(checks[both, 1:])
        left.plot([low, high], [low, high], color="grey", linestyle=":", label="predicted = simulated")
        left.set_xscale("symlog"), left.set_yscale("symlog")
        left.legend(loc="upper left")
    left.set_xlabel("simulated objective")
    left.set_ylabel("objective predicted by the surrogate")
    left.set_title("candidates, predicted before they were simulated")
    surrogate_evals = [e.get("surrogate_evaluations", 0) for e in extras]
    training = [e.get("training_seconds", 0.0) for e in extras]
    starts = np.arange(len(extras))
    right.bar(starts - 0.2, n_evals, width=0.4, label="true simulations")
    right.bar(starts + 0.2, surrogate_evals, width=0.4, label="surrogate evaluations")
    right.set_yscale("log")
    right.set_xlabel("start")
    right.set_xticks(starts)
    right.legend(loc="upper left")
    right.set_title("evaluations per start")
    fig.suptitle(f"Surrogate-assisted optimization: {problem_id}")
    fig.tight_layout()
    failed = int((np.isfinite(checks[:, 1]) & ~np.isfinite(checks[:, 2])).sum())
    caption = (f"{len(checks)} candidates over {len(extras)} starts; Spearman correlation of predicted and simulated "
               f"objective {spearman:.3f}; {failed} candidates whose simulation failed. Surrogate evaluations per "
               f"true simulation: median {np.median(np.divide(surrogate_evals, np.maximum(n_evals, 1))):.0f}; "
               f"training seconds per start: median {np.median(training):.1f} (included in the run's seconds and "
               "in converged starts per minute). Left: a useful surrogate puts the candidates near the dotted line, "
               "and later rounds (yellow) lower than early ones.")
    return Figure(f"Surrogate-assisted optimization, {problem_id}", fig, caption)
