"""Which method suits this model? A nearest-neighbour recommender over model features and stored benchmarks.

Evidence, not a black box: the recommender keeps, per benchmarked problem, its features
(``biobench.analysis.features``) and how each method (initializer + optimizer) did there: its rank
(``metrics.ranks``: converged starts per 1000 evaluations, ties broken by success rate and
median final fval), success rate, converged starts per 1000 evaluations and per minute. For
a new model it finds the k benchmarked problems nearest in feature space (features
sign-log transformed, missing ones imputed by the median, standardised; scikit-learn) and
ranks methods by their distance-weighted mean normalised rank there (those more of the
neighbours ran first), showing those neighbours as the evidence. With tens of benchmarked
models a nearest-neighbour rule is the honest choice: it needs no fitting beyond scaling and
says which models it leans on.

``leave_one_model_out`` measures it: for each problem, recommend from all the others and
check whether the top choice is a best method there (rank 1, ties included), against always
choosing the method with the best mean rank on the others, and against always choosing any one
fixed method (``fixed_method_hits``: the best of these is chosen with hindsight, so it flatters
the baseline). The left-out baseline alone can mislead: when two methods are nearly tied
overall, leaving out a problem one of them wins tips the choice to the other. And the winners
themselves are measured with a few starts each: ``best_method_stability`` says how often each
method wins when the starts are drawn again, so a choice can be scored by its expected hits.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from biobench.analysis import metrics
from biobench.errors import StoreError

SHIPPED = Path(__file__).parent / "data" / "recommender.json"
PERFORMANCE = ["rank", "normalised_rank", "success_rate", "converged_per_1000_evals", "converged_per_minute"]
NOT_FEATURES = {"problem_key", "problem_id", "model_id", "feature_seconds", "probe_points"}  # identity, or the cost of measuring


def performance_table(runs: pd.DataFrame, delta: float = metrics.DEFAULT_DELTA) -> pd.DataFrame:
    """Per problem and method: rank, normalised rank (0 = best, 1 = worst), success and efficiency."""
    board = metrics.per_problem(runs, delta)
    ranked = metrics.ranks(board)
    board = board.assign(rank=ranked["rank"].to_numpy())
    methods_per_problem = board.groupby("problem_key")["method"].transform("size")
    board["normalised_rank"] = ((board["rank"] - 1) / (methods_per_problem - 1).where(methods_per_problem > 1)).fillna(0)
    return board[["problem_key", "problem_id", "method", *PERFORMANCE]]


@dataclass
class Recommender:
    """The training table (features and performance per benchmarked problem) and the k of the neighbour rule."""

    features: pd.DataFrame  # index problem_key; columns problem_id, model_id and one per feature
    performance: pd.DataFrame  # performance_table rows
    k: int = 5
    # how far to trust it: leave-one-out hits against always the best overall method, measured when trained
    held_out: dict | None = field(default=None, compare=False)

    @classmethod
    def from_store(cls, store, k: int = 5, delta: float = metrics.DEFAULT_DELTA) -> Recommender:
        features = store.features_frame()
        runs = store.runs_frame()
        if features.empty or runs.empty:
            raise StoreError(f"the store {store.url} holds no benchmark with model features; run 'biobench bench' "
                             "on several models first (it measures their features), or leave out --results to use "
                             "the recommender shipped with biobench.")
        performance = performance_table(runs, delta)
        features = features[features["problem_key"].isin(performance["problem_key"])]
        return cls(features.set_index("problem_key"), performance[performance["problem_key"].isin(features["problem_key"])], k)

    @classmethod
    def load(cls, path: Path = SHIPPED, k: int = 5) -> Recommender:
        if not Path(path).exists():
            raise StoreError(f"no trained recommender at {path}; train one with 'biobench bench configs/corpus.yaml "
                             "--executor processes' and 'python benchmarks/train_recommender.py', or pass --results.")
        blob = json.loads(Path(path).read_text())
        return cls(pd.DataFrame(blob["features"]).set_index("problem_key"), pd.DataFrame(blob["performance"]), k,
                   blob["provenance"].get("held_out"))

    def save(self, path: Path, provenance: dict) -> None:
        blob = {"provenance": provenance, "features": json.loads(self.features.reset_index().to_json(orient="records")),
                "performance": json.loads(self.performance.to_json(orient="records"))}
        Path(path).write_text(json.dumps(blob, indent=1))

    @property
    def problems(self) -> list[str]:
        return list(self.features.index)

    def feature_names(self) -> list[str]:
        return [c for c in self.features.columns if c not in NOT_FEATURES and self.features[c].notna().any()]

    def recommend(self, features: dict, exclude: str | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
        """(methods ranked best first with expected performance, the neighbours used as evidence)."""
        from sklearn.impute import SimpleImputer
        from sklearn.preprocessing import StandardScaler

        known = self.features.drop(index=[exclude] if exclude in self.features.index else [])
        if len(known) < 1:
            raise StoreError("the recommender needs at least one other benchmarked problem.")
        names = self.feature_names()
        table = _signed_log(known[names].astype(float))
        query = _signed_log(pd.DataFrame([{n: features.get(n, np.nan) for n in names}]).astype(float))
        imputer = SimpleImputer(strategy="median", keep_empty_features=True).fit(table)
        scaler = StandardScaler().fit(imputer.transform(table))
        space = scaler.transform(imputer.transform(table))
        point = scaler.transform(imputer.transform(query))[0]
        distance = np.sqrt(((space - point) ** 2).sum(axis=1))
        nearest = np.argsort(distance, kind="stable")[: self.k]
        neighbours = pd.DataFrame({"problem_key": known.index[nearest], "problem_id": known["problem_id"].iloc[nearest],
                                   "distance": distance[nearest]}).reset_index(drop=True)
        weights = dict(zip(neighbours["problem_key"], 1.0 / (neighbours["distance"] + 1e-6)))
        rows = self.performance[self.performance["problem_key"].isin(weights)].copy()
        rows["weight"] = rows["problem_key"].map(weights)
        ranked = rows.groupby("method").apply(_weighted, include_groups=False).reset_index()
        # a method most neighbours ran first: where benchmarks with other methods sit side by side (the corpus and
        # the published problems), a method only one neighbour ran must not top the list on that one's word
        ranked = ranked.sort_values(["evidence_problems", "normalised_rank", "success_rate"],
                                    ascending=[False, True, False], kind="stable")
        best = self.performance.loc[self.performance["rank"] == 1].groupby("problem_key")["method"].agg(", ".join)
        neighbours["best_methods_there"] = neighbours["problem_key"].map(best)
        return ranked.reset_index(drop=True), neighbours

    def best_overall(self, exclude: str | None = None, among: set[str] | None = None) -> str:
        """The method with the lowest mean normalised rank (the baseline a recommender must beat), of ``among``
        where given (the methods a held-out problem was benchmarked with)."""
        rows = self.performance[self.performance["problem_key"] != exclude]
        if among is not None and rows["method"].isin(among).any():
            rows = rows[rows["method"].isin(among)]
        return str(rows.groupby("method")["normalised_rank"].mean().sort_values(kind="stable").index[0])

    def peers(self, methods: set[str]) -> Recommender:
        """The recommender over the problems where at least one of ``methods`` was benchmarked."""
        keys = self.performance.loc[self.performance["method"].isin(methods), "problem_key"].unique()
        return Recommender(self.features.loc[self.features.index.isin(keys)],
                           self.performance[self.performance["problem_key"].isin(keys)], self.k)

    @classmethod
    def combined(cls, parts: list[Recommender], k: int = 5) -> Recommender:
        """One recommender over several benchmarks (a synthetic corpus and real problems, say): their problems
        side by side, each with the methods it was benchmarked with; features one benchmark lacks are missing."""
        features = pd.concat([part.features for part in parts])
        features = features[~features.index.duplicated(keep="last")]
        performance = pd.concat([part.performance for part in parts]).drop_duplicates(["problem_key", "method"],
                                                                                      keep="last")
        return cls(features, performance.reset_index(drop=True), k)


def _weighted(group: pd.DataFrame) -> pd.Series:
    w = group["weight"].to_numpy()
    values = {c: float(np.average(group[c].fillna(0).to_numpy(), weights=w)) for c in PERFORMANCE[1:]}
    return pd.Series(values | {"evidence_problems": len(group)})


def _signed_log(frame: pd.DataFrame) -> pd.DataFrame:
    """sign(x) log10(1 + |x|): counts, seconds and spreads span decades; distances should compare magnitudes."""
    return np.sign(frame) * np.log10(1 + frame.abs())


def leave_one_model_out(recommender: Recommender, only: list[str] | None = None) -> pd.DataFrame:
    """Per problem where methods differ (of ``only``'s problem keys, where given): the best methods there, the
    recommender's top choice from the other problems, the best-overall baseline from the other problems (among
    the methods benchmarked there), and whether each is a best method."""
    rows = []
    for key in recommender.problems if only is None else [k for k in recommender.problems if k in set(only)]:
        here = recommender.performance[recommender.performance["problem_key"] == key]
        if here["rank"].nunique() < 2:
            continue  # every method tied: no choice can be right or wrong
        best = set(here.loc[here["rank"] == here["rank"].min(), "method"])
        peers = recommender.peers(set(here["method"]))  # neighbours must have run some of the methods run here
        ranked, _ = peers.recommend(recommender.features.loc[key].to_dict(), exclude=key) \
            if len(peers.problems) > 1 else (pd.DataFrame({"method": []}), None)
        choice = next((m for m in ranked["method"] if m in set(here["method"])), None)
        baseline = recommender.best_overall(exclude=key, among=set(here["method"]))
        rows.append({"problem_key": key, "problem_id": recommender.features.loc[key, "problem_id"],
                     "best": ", ".join(sorted(best)), "recommended": choice, "recommended_is_best": choice in best,
                     "baseline": baseline, "baseline_is_best": baseline in best})
    return pd.DataFrame(rows)


def held_out_summary(table: pd.DataFrame, k: int, problems_from: str) -> dict:
    """What ``leave_one_model_out`` measured, kept with a trained recommender so that ``biobench recommend`` can say
    how often its top choice was a best method, beside always choosing the best method overall."""
    return {"k": k, "problems_from": problems_from, "problems": len(table),
            "recommended_is_best": int(table["recommended_is_best"].sum()),
            "baseline_is_best": int(table["baseline_is_best"].sum()),
            "baseline": str(table["baseline"].mode().iloc[0]) if len(table) else None}


def held_out_sentence(held_out: dict) -> str:
    """One line for a modeller: how often the top choice was right when each problem was held out."""
    return (f"How far to trust it: with each of the {held_out['problems']} problems {held_out['problems_from']} "
            f"held out in turn (k = {held_out['k']}), its top choice was a best method on "
            f"{held_out['recommended_is_best']}; always choosing the method best on the others "
            f"({held_out['baseline']}) on {held_out['baseline_is_best']}.")


def best_method_stability(runs: pd.DataFrame, resamples: int = 200, seed: int = 0,
                          delta: float = metrics.DEFAULT_DELTA) -> pd.DataFrame:
    """Per problem (rows, by key) and method: the share of ``resamples`` bootstrap replicates (each method's starts
    on the problem drawn again with replacement) in which it is a best method (rank 1, ties included).

    How far a benchmark's winners can be predicted at all: a recommender is checked against winners
    that another draw of the same number of starts might change. Summed over problems, a method's
    column is the expected hits of always choosing it; each row's largest share summed is what knowing
    every problem's likeliest winner would score.
    """
    rng = np.random.default_rng(seed)
    runs = runs.assign(_method=metrics.method_label(runs))
    wins = []
    for _ in range(resamples):
        drawn = runs.groupby(["problem_key", "_method"], group_keys=False).sample(frac=1.0, replace=True,
                                                                                 random_state=rng)
        table = performance_table(drawn.drop(columns="_method").assign(run_id=np.arange(len(drawn))), delta)
        wins.append(table.loc[table["rank"] == table.groupby("problem_key")["rank"].transform("min"),
                              ["problem_key", "method"]])
    counts = pd.concat(wins).value_counts().unstack(fill_value=0) / resamples
    return counts.reindex(columns=sorted(counts.columns), fill_value=0.0)


def fixed_method_hits(recommender: Recommender, only: list[str] | None = None) -> pd.Series:
    """Per method: on how many problems where methods differ (of ``only``, where given) it is a best method."""
    performance = recommender.performance
    if only is not None:
        performance = performance[performance["problem_key"].isin(only)]
    differ = performance.groupby("problem_key")["rank"].transform("nunique") > 1
    best = performance[differ & (performance["rank"] == performance.groupby("problem_key")["rank"].transform("min"))]
    return best["method"].value_counts().reindex(sorted(performance["method"].unique()), fill_value=0)
