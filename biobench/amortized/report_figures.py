"""``--init amortized`` in the report: what the network proposed, what the fit made of it, and what each cost.

One figure per problem amortized runs ran on, from the records' extras: per parameter the
network's estimate, the best fine-tuned start and (synthetic problems) the truth, in the
estimation scale; and the seconds of one network inference against one start's fit and
the network's one-off training.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from biobench.plotting import Figure, plt  # matplotlib on Agg (files only)


def amortized_diagnostics(runs: pd.DataFrame, problems: pd.DataFrame) -> list[Figure]:
    chosen = runs[runs["initializer"] == "amortized"]
    truth = problems.set_index("problem_key")["x_true"] if not problems.empty else pd.Series(dtype=object)
    figures = []
    for problem_id, group in chosen.groupby("problem_id", sort=True):
        group = group[[isinstance(e, dict) and "amortized" in e for e in group["extras"]]]
        if not group.empty:
            figures.append(_figure(str(problem_id), group, truth.get(group["problem_key"].iloc[0])))
    return figures


def _figure(problem_id: str, group: pd.DataFrame, x_true) -> Figure:
    report = group["extras"].iloc[0]["amortized"]
    estimate = np.asarray(report["estimate"], dtype=float)
    finite = group[np.isfinite(group["fval_best"])]
    best = finite.loc[finite["fval_best"].idxmin()] if not finite.empty else None
    names = list(group["parameter_ids"].iloc[0])
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.5), gridspec_kw={"width_ratios": [2, 1]})
    index = np.arange(len(names))
    left.scatter(index, estimate, marker="x", s=60, label="network estimate", zorder=3)
    if best is not None:
        left.scatter(index, best["x_best"], marker="o", s=40, facecolors="none", edgecolors="C1",
                     label="best start after the fit", zorder=3)
    if x_true is not None:
        left.scatter(index, x_true, marker="s", s=30, color="grey", alpha=0.6, label="truth", zorder=2)
    left.set_xticks(index, names, rotation=45, ha="right", fontsize=8)
    left.set_ylabel("value (estimation scale, log10 by default)")
    left.legend(fontsize=8)
    left.set_title("parameters")
    fit_seconds = group["seconds"].to_numpy(dtype=float)
    bars = {"network inference": report["inference_seconds"], "one start's fit (median)": np.median(fit_seconds),
            "network training (once)": report.get("training_seconds", np.nan)}
    right.bar(range(len(bars)), list(bars.values()), color=["C0", "C1", "C2"])
    right.set_xticks(range(len(bars)), list(bars), rotation=20, ha="right", fontsize=8)
    right.set_yscale("log")
    right.set_ylabel("seconds")
    right.set_title("time")
    fig.suptitle(f"Amortized inference: {problem_id}")
    fig.tight_layout()
    best_fval = best["fval_best"] if best is not None else np.nan
    f_true = group["f_true"].iloc[0]
    ratio = np.median(fit_seconds) / report["inference_seconds"] if report["inference_seconds"] > 0 else np.nan
    caption = (f"The network's estimate has fval {report['estimate_fval']:.4g}; the best of {len(group)} fine-tuned "
               f"starts {best_fval:.4g} (at the true parameters: {f_true:.4g}). One inference took "
               f"{report['inference_seconds']:.2g} s, {ratio:.0f} times less than one start's fit; training on "
               f"{report['datasets']['simulations']} simulated datasets ({report['datasets']['failed']} failed) took "
               f"{report.get('training_seconds', float('nan')):.1f} s once, and those simulations are charged to "
               "every run that uses the network.")
    return Figure(f"Amortized inference, {problem_id}", fig, caption)
