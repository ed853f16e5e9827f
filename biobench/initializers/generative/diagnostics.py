"""Diagnostics shared by the generative initializers: does a trained model earn its place?

Every model is asked the same questions, so the report can set them side by side: do
generated vectors have finite, low objective values at low conditions (a few evaluations
per condition band, charged)? How close are held-out vectors and generated ones (energy
distance at the validation conditions)? Does it copy its training set? Models with an
encoder (the VAEs) also report reconstruction and their latent space.
"""

from __future__ import annotations

import numpy as np
from scipy import stats
from scipy.spatial.distance import cdist

from biobench.initializers.base import ProgressCallback, scale_unit
from biobench.problem import Problem

CONDITION_BANDS = {"below [-0.25, 0)": (-0.25, 0.0), "inside [0, 1]": (0.0, 1.0), "above (1, 1.25]": (1.0, 1.25)}


def energy_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Energy distance between two samples of vectors, 2 E|A-B| - E|A-A'| - E|B-B'| (Szekely and Rizzo):
    zero only when the distributions agree. Written here because scipy's ``energy_distance`` is 1-D only."""
    return float(2 * cdist(a, b).mean() - cdist(a, a).mean() - cdist(b, b).mean())


def conditional_energy(generate, x_val: np.ndarray, c_val: np.ndarray, seed: int, draws: int = 3) -> float:
    """Energy distance between held-out (vector, condition) pairs and generated ones at the same conditions,
    averaged over ``draws`` seeded draws: the sample quality every generative model is compared on."""
    import torch

    generator = torch.Generator().manual_seed(seed)
    real = np.column_stack([x_val, c_val])
    values = [energy_distance(real, np.column_stack([np.clip(generate(c_val, generator), 0, 1), c_val]))
              for _ in range(draws)]
    return float(np.mean(values))


def generation_checks(name: str, model, problem: Problem, objective, samples: int, seed: int,
                      progress: ProgressCallback) -> dict:
    """Evaluate a few generated vectors per condition band: do low conditions give low, finite fvals?"""
    import torch

    if samples <= 0:
        return {}
    rng = np.random.default_rng(seed + 1)
    generator = torch.Generator().manual_seed(seed + 1)
    finite_fraction, by_condition = {}, []
    for label, (low, high) in CONDITION_BANDS.items():
        c = rng.uniform(low, high, samples)
        if label.startswith("inside"):
            c[0] = 0.0
        points = scale_unit(np.clip(model.generate(c, generator), 0, 1), problem)
        fvals = np.array([objective.fval(p) for p in points])
        progress(f"{name}: diagnostic evaluations", len(by_condition) + samples, len(CONDITION_BANDS) * samples)
        finite_fraction[label] = float(np.isfinite(fvals).mean())
        by_condition += [{"condition": round(float(ci), 4), "fval": float(fi) if np.isfinite(fi) else None}
                         for ci, fi in zip(c, fvals)]
    fin = [row for row in by_condition if row["fval"] is not None]
    spearman = stats.spearmanr([r["condition"] for r in fin], [r["fval"] for r in fin]).statistic \
        if len(fin) > 2 else float("nan")
    return {"finite_fraction": finite_fraction, "fval_by_condition": by_condition,
            "condition_fval_spearman": None if np.isnan(spearman) else round(float(spearman), 4)}


def reconstruction(model, x_val: np.ndarray, c_val: np.ndarray) -> dict:
    """How well an encoder-decoder represents held-out vectors (decoding their posterior means)."""
    x_hat = model.reconstruct(x_val, c_val)
    a, b = x_val.ravel(), x_hat.ravel()
    return {"recon_rmse": round(float(np.sqrt(np.mean((a - b) ** 2))), 6),
            "recon_pearson": round(float(stats.pearsonr(a, b).statistic), 6) if a.std() and b.std() else None,
            "recon_spearman": round(float(stats.spearmanr(a, b).statistic), 6) if a.std() and b.std() else None}


def latent_projection(model, x_val: np.ndarray, c_val: np.ndarray) -> dict:
    """The validation vectors' latent means in 2-D (PCA when the latent space has more dimensions), with
    their conditions: low-fval points should gather, not scatter, if the condition shapes the latent space."""
    from sklearn.decomposition import PCA

    latent = model.latent_means(x_val, c_val)
    if latent.shape[1] > 2:
        pca = PCA(n_components=2, random_state=0).fit(latent)
        points, explained = pca.transform(latent), [round(float(v), 4) for v in pca.explained_variance_ratio_]
    else:
        points, explained = latent, None
    return {"points": points.round(5).tolist(), "conditions": c_val.round(5).tolist(),
            "method": "pca" if explained else "latent", "explained_variance": explained}


def distances(generated: np.ndarray, train: np.ndarray, conditions: np.ndarray) -> dict:
    """Does it memorize? Nearest-neighbour distances (normalised space) of generated vectors
    to the training set and to its best quartile, against distances within the best quartile."""
    best = train[conditions <= np.quantile(conditions, 0.25)]
    to_train = cdist(generated, train).min(axis=1)
    to_best = cdist(generated, best).min(axis=1)
    within = cdist(best, best)
    np.fill_diagonal(within, np.inf)
    within_best = within.min(axis=1) if len(best) > 1 else np.array([np.nan])
    return {"to_training_median": round(float(np.median(to_train)), 6),
            "to_best_quartile_median": round(float(np.median(to_best)), 6),
            "within_best_quartile_median": round(float(np.nanmedian(within_best)), 6),
            "exact_copies": int((to_train < 1e-6).sum())}
