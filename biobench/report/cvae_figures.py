"""The cvae's diagnostics in the report: does the generative model earn its place?

One figure per problem a cvae ran on, from the diagnostics stored with its runs: loss
curves; the share of generated points with a finite objective per condition band
(extrapolation below 0 and above 1 included); their objective values per band; the
memorization check (distances of condition-0 samples to the training set and to its best
quartile, beside the best quartile's own spacing); the validation set in latent space
(PCA to 2-D) coloured by condition; and the optuna search as parallel coordinates.
Stores written before a diagnostic existed get an empty panel that says so.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from biobench.initializers.cvae import CONDITION_BANDS
from biobench.report.figures import Figure

_LOG_PARAMS = ("lr", "weight_decay", "width", "batch_size")  # searched on log scales


def cvae_diagnostics(runs: pd.DataFrame) -> list[Figure]:
    found: dict[str, dict] = {}
    for record in runs.itertuples():
        cvae = (record.extras or {}).get("cvae")
        if cvae and "train_loss" in cvae:
            found.setdefault(record.problem_id, cvae)
    return [_figure(problem_id, cvae) for problem_id, cvae in found.items()]


def _figure(problem_id: str, cvae: dict) -> Figure:
    fig, axes = plt.subplots(2, 3, figsize=(15, 8))
    for draw, ax in zip((_losses, _finite_by_band, _fval_by_band, _distances, _latent, _search), axes.flat):
        if not draw(ax, cvae):
            ax.text(0.5, 0.5, "not recorded by the biobench\nversion that trained this model", ha="center",
                    va="center", transform=ax.transAxes, color="grey")
            ax.set_xticks([]), ax.set_yticks([])
    fig.suptitle(f"cVAE diagnostics: {problem_id}")
    fig.tight_layout()
    return Figure(f"cVAE diagnostics, {problem_id}", fig, _caption(cvae))


def _caption(cvae: dict) -> str:
    def number(key: str) -> str:
        value = cvae.get(key)
        return "-" if value is None else f"{value:.3g}"

    search = (f"; optuna search: {cvae.get('trials', '-')} trials in {cvae['search_seconds']:.1f} s"
              f"{' (stopped by its time limit)' if cvae.get('time_limited') else ''}"
              if "search_seconds" in cvae else "")
    return (f"Reconstruction of the validation vectors (normalised units): RMSE {number('recon_rmse')}, Pearson "
            f"{number('recon_pearson')}, Spearman {number('recon_spearman')}. Trained on {cvae.get('n_train', '-')} "
            f"vectors ({cvae.get('n_pilot', '-')} pilot, {cvae.get('n_from_store', '-')} from the store), validated "
            f"on {cvae.get('n_validation', '-')}, {cvae.get('n_infinite', 0)} with an infinite objective left out"
            f"{search}. Top: loss per epoch (a validation curve rising while training falls is memorization); the "
            "share of generated vectors whose objective is finite per condition band, extrapolation below 0 and "
            "above 1 included; their objective values per band (a useful model gives lower values at lower "
            "conditions). Bottom: median nearest-neighbour distances of condition-0 samples to the training set and "
            "to its best quartile, beside the best quartile's own spacing (samples much closer than that spacing "
            "are copies); the validation vectors' latent means in 2-D, coloured by condition; the hyperparameter "
            "search, one line per trial coloured by its validation loss.")


def _losses(ax, cvae: dict) -> bool:
    ax.plot(np.arange(1, len(cvae["train_loss"]) + 1), cvae["train_loss"], label="training")
    if cvae.get("val_loss"):
        ax.plot(np.arange(1, len(cvae["val_loss"]) + 1), cvae["val_loss"], label="validation")
    ax.set(xlabel="epoch", ylabel="loss (reconstruction + KL, per sample)", title="loss curves")
    ax.legend(fontsize=8)
    return True


def _finite_by_band(ax, cvae: dict) -> bool:
    shares = cvae.get("finite_fraction")
    if not shares:
        return False
    bands = [band for band in CONDITION_BANDS if band in shares]  # low to high, whatever order the store kept
    ax.bar(bands, [100 * shares[band] for band in bands], color="steelblue")
    ax.set(ylim=(0, 105), ylabel="% generated with finite fval", title="finite objective by condition band")
    ax.tick_params(axis="x", labelsize=8)
    return True


def _fval_by_band(ax, cvae: dict) -> bool:
    rows = cvae.get("fval_by_condition")
    if not rows:
        return False
    bands = {"below 0": [], "[0, 1]": [], "above 1": []}
    for row in rows:
        if row["fval"] is not None:
            key = "below 0" if row["condition"] < 0 else "above 1" if row["condition"] > 1 else "[0, 1]"
            bands[key].append(row["fval"])
    data = [bands[k] for k in bands]
    ax.boxplot([d if d else [np.nan] for d in data], tick_labels=list(bands))
    for i, values in enumerate(data, start=1):
        ax.scatter(np.full(len(values), i), values, s=12, color="black", alpha=0.6, zorder=3)
    finite = [v for d in data for v in d]
    if finite and min(finite) > 0:
        ax.set_yscale("log")
    ax.set(xlabel="condition band", ylabel="fval of generated vectors", title="objective by condition")
    return True


def _distances(ax, cvae: dict) -> bool:
    distances = cvae.get("distances")
    if not distances:
        return False
    labels = ["samples to\ntraining set", "samples to\nbest quartile", "within\nbest quartile"]
    values = [distances["to_training_median"], distances["to_best_quartile_median"],
              distances["within_best_quartile_median"]]
    ax.bar(labels, values, color=["steelblue", "steelblue", "grey"])
    ax.set(ylabel="median nearest-neighbour distance\n(normalised units)",
           title=f"memorization check ({distances.get('exact_copies', 0)} exact copies)")
    ax.tick_params(axis="x", labelsize=8)
    return True


def _latent(ax, cvae: dict) -> bool:
    projection = cvae.get("latent_projection")
    if not projection or not projection["points"]:
        return False
    points = np.asarray(projection["points"], dtype=float)
    y = points[:, 1] if points.shape[1] > 1 else np.zeros(len(points))
    scatter = ax.scatter(points[:, 0], y, c=projection["conditions"], cmap="viridis", s=14)
    plt.colorbar(scatter, ax=ax, label="condition (0 = lowest fval)")
    explained = projection.get("explained_variance")
    names = ([f"PC{i + 1} ({100 * v:.0f}% of variance)" for i, v in enumerate(explained)] if explained
             else ["latent 1", "latent 2"])
    ax.set(xlabel=names[0], ylabel=names[1], title="validation set in latent space")
    return True


def _search(ax, cvae: dict) -> bool:
    trials = [t for t in cvae.get("search") or [] if t.get("value") is not None]
    if not trials:
        return False
    names = sorted({name for t in trials for name in t["params"]})
    table = pd.DataFrame([t["params"] for t in trials], columns=names).astype(float)
    for name in names:
        if name in _LOG_PARAMS:
            table[name] = np.log10(table[name])
    low, high = table.min(), table.max()
    scaled = (table - low) / (high - low).replace(0, 1)
    values = np.array([t["value"] for t in trials])
    colours = plt.cm.viridis((values - values.min()) / (np.ptp(values) or 1))
    for row, colour in zip(scaled.to_numpy(), colours):
        ax.plot(range(len(names)), row, color=colour, marker="o", linewidth=1.5)
    ax.set_xticks(range(len(names)), [f"log10 {n}" if n in _LOG_PARAMS else n for n in names], rotation=30,
                  fontsize=8)
    ax.set(ylabel="value, scaled to the searched range", ylim=(-0.05, 1.05),
           title=f"optuna search: {len(trials)} trials (yellow = worst loss)")
    return True
