"""Train the shipped recommender from benchmarks and measure it by leave-one-model-out.

    biobench bench configs/corpus.yaml --executor processes      # the corpus bench (hours on 2 cores)
    biobench bench configs/collection.yaml --executor processes  # the published problems (hours on 2 cores)
    python benchmarks/train_recommender.py [--results results/corpus.sqlite results/collection.sqlite]
                                           [--shipped] [--held-out results/collection.sqlite] [--k 1 3 5 10]
                                           [--out biobench/analysis/data/recommender.json]

``--results`` takes several stores (their problems side by side, each with the methods it was
benchmarked with); ``--shipped`` adds the training table shipped with biobench (the corpus
bench's, for a machine without that store). ``--held-out STORE`` holds out only that store's
problems (the collection's: does what the recommender learned help on real problems?).

For every k, each benchmarked problem where the methods differ is held out in turn: the
recommender learns from all the others and its top choice is checked against the best
methods there (rank 1 by converged starts per 1000 evaluations, ties broken by success
rate and median final fval; ties count as best), beside the baselines of always choosing
the method with the best mean rank on the others, and of always choosing one fixed method
(the best such method in hindsight). Winners decided by a few starts can change with another
draw of them, so each choice is also scored by its share of ``--resamples`` bootstrap replicates
of the starts in which it is a best method (``best_method_stability``): expected hits, beside
what always knowing each problem's likeliest winner would score. The recommender with the first
k is saved (its training table, with where it came from and its leave-one-out hits against the
best-overall baseline, which ``biobench recommend`` prints) for ``biobench recommend``.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import json
from pathlib import Path

import pandas as pd

from biobench.analysis.recommend import (SHIPPED, Recommender, best_method_stability, fixed_method_hits,
                                         held_out_summary, leave_one_model_out)
from biobench.running.store import Store


def training(stores: list[Store], shipped: bool) -> Recommender:
    parts = [Recommender.from_store(store) for store in stores]
    # a problem in a store and in the shipped table: the store's (newer) benchmark wins
    return Recommender.combined(([Recommender.load(SHIPPED)] if shipped else []) + parts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", nargs="+", default=["results/corpus.sqlite"])
    parser.add_argument("--shipped", action="store_true", help="add the training table shipped with biobench")
    parser.add_argument("--held-out", help="hold out only this store's problems, one at a time")
    parser.add_argument("--k", type=int, nargs="+", default=[5, 1, 3, 10])
    parser.add_argument("--out", default=str(SHIPPED))
    parser.add_argument("--show", action="store_true", help="print every held-out problem's row")
    parser.add_argument("--resamples", type=int, default=200, help="bootstrap replicates of the starts (0: none)")
    args = parser.parse_args()

    held_out = None if args.held_out is None else Store(args.held_out, must_exist=True).features_frame()
    only = None if held_out is None else list(held_out["problem_key"])
    stores = [Store(path, must_exist=True) for path in args.results]
    stability = None
    if args.resamples:
        stability = best_method_stability(pd.concat([store.runs_frame() for store in stores], ignore_index=True),
                                          args.resamples)
    trained = training(stores, args.shipped)
    summary = []
    held_out_from = f"benchmarked in {args.held_out}" if args.held_out else "benchmarked, where methods differ"
    measured = None  # the first k's leave-one-out hits, saved with it for 'biobench recommend' to print
    for k in args.k:
        recommender = dataclasses.replace(trained, k=k)
        table = leave_one_model_out(recommender, only)
        if k == args.k[0]:
            measured = held_out_summary(table, k, held_out_from)
        fixed = fixed_method_hits(recommender, only)
        if stability is not None:
            table = table.assign(**_expected_hits(table, stability))
        summary.append({"k": k, "problems benchmarked": len(recommender.problems),
                        "problems where methods differ": len(table),
                        "recommender top-1 is best": f"{table['recommended_is_best'].sum()} "
                                                     f"({100 * table['recommended_is_best'].mean():.0f}%)",
                        "always the best overall method (left-out)": f"{table['baseline_is_best'].sum()} "
                                                                     f"({100 * table['baseline_is_best'].mean():.0f}%)",
                        "always one method (best in hindsight)": f"{fixed.max()} ({100 * fixed.max() / len(table):.0f}%, "
                                                                 f"{fixed.idxmax()})"})
        if stability is not None:
            held = stability.loc[stability.index.isin(set(table["problem_key"]))]
            summary[-1] |= {"expected: recommender": f"{table['recommended_share'].sum():.2f}",
                            "expected: best overall": f"{table['baseline_share'].sum():.2f}",
                            "expected: likeliest winner known": f"{held.max(axis=1).sum():.2f}"}
        if args.show and k == args.k[0]:
            print(table.drop(columns="problem_key").to_markdown(index=False))
    print(pd.DataFrame(summary).to_markdown(index=False))
    if args.show and stability is not None:
        shares = stability[stability.index.isin(only)] if only is not None else stability
        shares = shares.rename(index=trained.features["problem_id"]).rename_axis("problem")
        print(f"\nshare of {args.resamples} resamples of the starts in which each method is a best method:")
        print(shares.round(2).to_markdown())
    chosen = dataclasses.replace(trained, k=args.k[0])
    print("\nbest method per problem (rank 1, ties included):")
    best = chosen.performance[chosen.performance["rank"] == 1]["method"].value_counts()
    print(best.to_markdown())
    provenance = {
        "trained": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "from": args.results, "k": args.k[0], "problems": len(chosen.problems),
        "methods": sorted(chosen.performance["method"].unique()),
        "command": "python benchmarks/train_recommender.py --results " + " ".join(args.results)
                   + (" --shipped" if args.shipped else "")
                   + (f" --held-out {args.held_out}" if args.held_out else ""),
        "held_out": measured,
    }
    if args.shipped:  # where the table it added came from
        added = json.loads(SHIPPED.read_text())["provenance"]
        while added.get("from") == args.results and "shipped" in added:  # retrained from the same stores: its
            added = added["shipped"]  # rows of them are replaced, so the table it added came from further back
        provenance["shipped"] = added
    chosen.save(Path(args.out), provenance)
    print(f"\nsaved {args.out}")


def _expected_hits(table: pd.DataFrame, stability: pd.DataFrame) -> dict:
    """Per held-out problem: the share of resamples in which the recommended and the baseline method win."""
    keys = table["problem_key"]

    def share(method_column: str) -> list[float]:
        return [float(stability.at[key, method]) if key in stability.index and method in stability.columns else 0.0
                for key, method in zip(keys, table[method_column])]
    return {"recommended_share": share("recommended"), "baseline_share": share("baseline")}


if __name__ == "__main__":
    main()
