"""The surrogate's accuracy at a glance, saved beside the network by ``biobench surrogate``.

Left: predicted (dashed) against simulated (solid) trajectories of every simulator output
for three held-out test points, one panel each (several conditions are drawn one after
another, separated by dotted lines). Right: the objective computed from the surrogate's
outputs against the true one on every held-out point.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from biobench.atomic import atomic_write_bytes
from biobench.plotting import plt, png_bytes  # matplotlib on Agg (files only)

N_TRAJECTORIES = 3


def accuracy_figure(trained, likelihood, problem_id: str) -> plt.Figure:
    """The figure for a trained surrogate whose config holds its test points and objective pairs."""
    config = trained.config
    points = np.asarray(config["test_points"], dtype=float)[:N_TRAJECTORIES]
    simulated = np.asarray(config["test_outputs"], dtype=float)[:N_TRAJECTORIES].reshape(-1, *trained.output_shape)
    predicted = trained.outputs(points)
    sims = likelihood.experiments.simulations
    one_grid = len(sims) == 1 and not sims[0].steady_state  # else: output rows, conditions one after another
    times = sims[0].times if one_grid else np.arange(trained.output_shape[0])
    names = likelihood.simulator.selections
    fig, axes = plt.subplots(1, len(points) + 1, figsize=(4.2 * (len(points) + 1), 4))
    for k, ax in enumerate(axes[:-1]):
        for j, name in enumerate(names):
            line, = ax.plot(times, simulated[k][:, j], linewidth=1.2, label=name if k == 0 else None)
            ax.plot(times, predicted[k][:, j], linestyle="--", linewidth=1.2, color=line.get_color())
        for boundary in np.cumsum([s.n_rows for s in sims[:-1]]):
            ax.axvline(boundary - 0.5, color="grey", linestyle=":", linewidth=0.8)
        ax.set_xlabel("time" if one_grid else "output row (conditions one after another)")
        ax.set_title(f"test point {k + 1}: simulated (solid), surrogate (dashed)", fontsize=9)
        if np.nanmin(simulated[k]) > 0:
            ax.set_yscale("log")
    if len(names) <= 12:
        axes[0].legend(fontsize=7, loc="best")
    pairs = np.asarray(config["quality"]["objective"].get("pairs", []), dtype=float).reshape(-1, 2)
    both = np.isfinite(pairs).all(axis=1)
    ax = axes[-1]
    if both.any():
        ax.scatter(pairs[both, 0], pairs[both, 1], s=10, alpha=0.6)
        low, high = pairs[both].min(), pairs[both].max()
        ax.plot([low, high], [low, high], color="grey", linestyle=":")
        ax.set_xscale("symlog"), ax.set_yscale("symlog")
    spearman = config["quality"]["objective"]["spearman"]
    ax.set(xlabel="true objective", ylabel="objective from the surrogate",
           title=f"held-out points (Spearman {spearman:.3f})")
    fig.suptitle(f"Surrogate of {problem_id}")
    fig.tight_layout()
    return fig


def save_accuracy_figure(trained, likelihood, problem_id: str, path: Path) -> Path:
    atomic_write_bytes(path, png_bytes(accuracy_figure(trained, likelihood, problem_id)))
    return path
