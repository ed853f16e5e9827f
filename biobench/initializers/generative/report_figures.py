"""The generative initializers' diagnostics in the report: does each model earn its place?

One figure per problem and generative initializer (cvae, cvae-transformer, ccgan), from the
diagnostics stored with its runs: training curves; the share of generated points with a
finite objective per condition band (extrapolation below 0 and above 1 included); their
objective values per band; the memorization check (distances of condition-0 samples to the
training set and to its best quartile, beside the best quartile's own spacing); the
validation set in latent space (PCA to 2-D) coloured by condition for the VAEs, the
validation energy distance per check for the GAN; and the optuna search as parallel
coordinates. Where two or more ran on a problem, a figure sets them side by side. Stores
written before a diagnostic existed get an empty panel that says so.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from biobench.initializers.generative import LABELS, MEMBERS
from biobench.initializers.generative.diagnostics import CONDITION_BANDS
from biobench.plotting import Figure, plt  # matplotlib on Agg (files only)

_LOG_PARAMS = ("lr", "weight_decay", "width", "batch_size", "lr_g", "lr_d", "kappa_scale", "d_model")  # log scales


def generative_diagnostics(runs: pd.DataFrame) -> list[Figure]:
    """Per problem: one figure per generative initializer that ran, then the side-by-side figure (two or more)."""
    found: dict[str, dict[str, dict]] = {}
    for record in runs.itertuples():
        for name in MEMBERS:
            diagnostics = (record.extras or {}).get(name)
            if diagnostics and "train_loss" in diagnostics:
                found.setdefault(record.problem_id, {}).setdefault(name, diagnostics)
    figures = []
    for problem_id, members in found.items():
        figures += [_figure(problem_id, name, diagnostics) for name, diagnostics in members.items()]
        if len(members) > 1:
            figures.append(_side_by_side(problem_id, members))
    return figures


def _figure(problem_id: str, name: str, cvae: dict) -> Figure:
    fig, axes = plt.subplots(2, 3, figsize=(15, 8))
    fifth = _latent if name.startswith("cvae") else _validation_curve
    for draw, ax in zip((_losses, _finite_by_band, _fval_by_band, _distances, fifth, _search), axes.flat):
        if not draw(ax, cvae):
            ax.text(0.5, 0.5, "not recorded by the biobench\nversion that trained this model", ha="center",
                    va="center", transform=ax.transAxes, color="grey")
            ax.set_xticks([]), ax.set_yticks([])
    fig.suptitle(f"{LABELS[name]} diagnostics: {problem_id}")
    fig.tight_layout()
    return Figure(f"{LABELS[name]} diagnostics, {problem_id}", fig, _caption(name, cvae))


def _caption(name: str, cvae: dict) -> str:
    def number(key: str) -> str:
        value = cvae.get(key)
        return "-" if value is None else f"{value:.3g}"

    search = (f"; optuna search: {cvae.get('trials', '-')} trials in {cvae['search_seconds']:.1f} s"
              f"{' (stopped by its time limit)' if cvae.get('time_limited') else ''}"
              if "search_seconds" in cvae else "")
    quality = (f"Reconstruction of the validation vectors (normalised units): RMSE {number('recon_rmse')}, Pearson "
               f"{number('recon_pearson')}, Spearman {number('recon_spearman')}." if name.startswith("cvae") else
               f"Label embedding: the regression x -> h -> fval condition explains R^2 = "
               f"{number('label_regression_r2')} of held-out conditions; {cvae.get('vicinity', '-')} vicinity.")
    latent = ("the validation vectors' latent means in 2-D, coloured by condition" if name.startswith("cvae") else
              "the energy distance between held-out (vector, condition) pairs and generated ones at the same "
              "conditions, per check (the best generator is kept)")
    return (f"{quality} Energy distance to held-out vectors {number('validation_energy')}. Trained on "
            f"{cvae.get('n_train', '-')} "
            f"vectors ({cvae.get('n_pilot', '-')} pilot, {cvae.get('n_from_store', '-')} from the store), validated "
            f"on {cvae.get('n_validation', '-')}, {cvae.get('n_infinite', 0)} with an infinite objective left out"
            f"{search}. Top: loss per epoch (a validation curve rising while training falls is memorization); the "
            "share of generated vectors whose objective is finite per condition band, extrapolation below 0 and "
            "above 1 included; their objective values per band (a useful model gives lower values at lower "
            "conditions). Bottom: median nearest-neighbour distances of condition-0 samples to the training set and "
            "to its best quartile, beside the best quartile's own spacing (samples much closer than that spacing "
            f"are copies); {latent}; the hyperparameter search, one line per trial coloured by its validation value.")


def _losses(ax, cvae: dict) -> bool:
    names = cvae.get("loss_names")
    if names:  # a GAN: generator and discriminator losses; the validation criterion has its own panel
        for key in ("train_loss", "d_loss"):
            ax.plot(np.arange(1, len(cvae.get(key, [])) + 1), cvae.get(key, []), label=names[key])
        ax.set(xlabel="check (iterations / eval_every)", ylabel="mean loss since the last check",
               title="adversarial losses")
    else:
        ax.plot(np.arange(1, len(cvae["train_loss"]) + 1), cvae["train_loss"], label="training")
        if cvae.get("val_loss"):
            ax.plot(np.arange(1, len(cvae["val_loss"]) + 1), cvae["val_loss"], label="validation")
        ax.set(xlabel="epoch", ylabel="loss (reconstruction + KL, per sample)", title="loss curves")
    ax.legend(fontsize=8)
    return True


def _validation_curve(ax, cvae: dict) -> bool:
    values = cvae.get("val_loss")
    if not values:
        return False
    ax.plot(np.arange(1, len(values) + 1), values, marker=".", color="darkorange")
    ax.set(xlabel="check", ylabel="energy distance (normalised units)", title="validation: generated vs held out")
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
    _boxes_with_dots(ax, list(bands.values()), list(bands), ["black"] * len(bands))
    ax.set(xlabel="condition band", ylabel="fval of generated vectors", title="objective by condition")
    return True


def _boxes_with_dots(ax, groups: list[list[float]], labels: list[str], colours: list) -> None:
    """One box per group with every value as a dot on it (a group may be empty); log scale when all are positive."""
    ax.boxplot([g if g else [np.nan] for g in groups], tick_labels=labels)
    for i, (values, colour) in enumerate(zip(groups, colours), start=1):
        ax.scatter(np.full(len(values), i), values, s=12, color=colour, alpha=0.6, zorder=3)
    every = [v for g in groups for v in g]
    if every and min(every) > 0:
        ax.set_yscale("log")


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


def _side_by_side(problem_id: str, members: dict[str, dict]) -> Figure:
    """The questions every member answers, one colour per member: finite share by band, objective at the
    low-fval band, sample quality on held-out vectors, training time."""
    names = list(members)
    colours = dict(zip(names, plt.cm.tab10.colors))
    fig, (finite, fvals, energy, seconds) = plt.subplots(1, 4, figsize=(18, 4.5))
    width = 0.8 / len(names)
    for i, name in enumerate(names):
        shares = members[name].get("finite_fraction") or {}
        finite.bar(np.arange(len(CONDITION_BANDS)) + i * width, [100 * shares.get(b, np.nan) for b in CONDITION_BANDS],
                   width, label=LABELS[name], color=colours[name])
    finite.set_xticks(np.arange(len(CONDITION_BANDS)) + 0.4 - width / 2, list(CONDITION_BANDS), fontsize=8)
    finite.set(ylim=(0, 105), ylabel="% generated with finite fval", title="finite objective by condition band")
    finite.legend(fontsize=8)
    inside = [[r["fval"] for r in members[n].get("fval_by_condition") or []
               if r["fval"] is not None and 0 <= r["condition"] <= 1] for n in names]
    _boxes_with_dots(fvals, inside, [LABELS[n] for n in names], [colours[n] for n in names])
    fvals.set(ylabel="fval of generated vectors", title="objective at conditions in [0, 1]")
    for ax, key, label, title in ((energy, "validation_energy", "energy distance (normalised units)",
                                   "sample quality on held-out vectors (lower is better)"),
                                  (seconds, "search_seconds", "seconds", "training time (optuna search)")):
        values = [members[n].get(key, np.nan) for n in names]
        ax.bar([LABELS[n] for n in names], [np.nan if v is None else v for v in values],
               color=[colours[n] for n in names])
        ax.set(ylabel=label, title=title)
        ax.tick_params(axis="x", labelsize=8)
    fig.suptitle(f"Generative initializers side by side: {problem_id}")
    fig.tight_layout()
    caption = ("Each generative initializer's model for this problem, from the diagnostics stored with its runs: the "
               "share of generated vectors with a finite objective per condition band; the objective values of those "
               "generated at conditions in [0, 1] (a useful model puts them low); the energy distance between held-out "
               "(vector, condition) pairs and vectors generated at the same conditions, the one sample-quality measure "
               "all of them share; and the seconds their hyperparameter search took. Which one gives better starts is "
               "in the leaderboard (converged starts per 1000 evaluations, pilot charged).")
    return Figure(f"Generative initializers side by side, {problem_id}", fig, caption)
