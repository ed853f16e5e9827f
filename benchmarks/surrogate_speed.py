"""When does a neural surrogate pay for itself? Its speed and accuracy on held-out simulations, per problem.

    python benchmarks/surrogate_speed.py [--problems BIOMD0000000012 BIOMD0000000507 Boehm_JProteomeRes2014
                                          Bruno_JExpBot2016] [--train 2000] [--test 200] [--layers 3]
                                         [--width 128] [--time-limit 600] [--refine 0.3] [--seed 0]
                                         [--fine-tune] [--arch regimes --state A B [--members 5]]

For each problem (anything ``--model`` accepts, or a folder name in
``../shared/benchmark_models_petab``): the design simulations (Latin hypercube in the
bounds, seed 0; a share ``--refine`` of the training ones where a first network predicts
the largest outputs, ``biobench/surrogate/design.py``), training seconds (both networks),
the worst (with its 90% bootstrap interval over the held-out simulations) and median
R^2 over observables on the held-out simulations, the Spearman
correlation of the objective computed from the surrogate with the true one, and
evaluations per second of roadrunner (one simulation per call, measured on the design)
and of the surrogate (one point per call, and batches of 4096, on CPU and on a GPU when
torch sees one). ``--arch regimes --state A B``: the surrogate of a switch (one ensemble of
networks per final state and a classifier between them, ``biobench/surrogate/regimes.py``), for
problems that simulate both outputs. Nothing is saved: every problem is
trained afresh. Run it on an otherwise idle machine: torch's threads slow down by two
orders of magnitude when the cores are busy.
"""

from __future__ import annotations

import argparse

import numpy as np

from biobench.settings import ProblemSettings
from biobench.sources import load_problem
from biobench.surrogate.build import SurrogateOptions, train_surrogate, training_seconds
from biobench.surrogate.quality import worst_observable

from petab_convergence import model_spec  # noqa: E402  (benchmarks/ is the script's folder)

DEFAULT_PROBLEMS = ["BIOMD0000000012", "BIOMD0000000507", "Boehm_JProteomeRes2014", "Bruno_JExpBot2016"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--problems", nargs="+", default=DEFAULT_PROBLEMS)
    parser.add_argument("--train", type=int, default=2000)
    parser.add_argument("--test", type=int, default=200)
    parser.add_argument("--layers", type=int, default=SurrogateOptions.layers)
    parser.add_argument("--width", type=int, default=SurrogateOptions.width)
    parser.add_argument("--time-limit", type=float, default=600.0,
                        help="training seconds per network; 60 binds on a busy machine (another network each run)")
    parser.add_argument("--refine", type=float, default=SurrogateOptions.refine)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--fine-tune", action="store_true")
    parser.add_argument("--arch", default="mlp")
    parser.add_argument("--state", nargs=2, default=(), metavar=("A", "B"))
    parser.add_argument("--members", type=int, default=SurrogateOptions.members)
    args = parser.parse_args()
    options = SurrogateOptions(n_train=args.train, n_test=args.test, layers=args.layers, width=args.width,
                               time_limit=args.time_limit, refine=args.refine, seed=args.seed,
                               fine_tune=args.fine_tune, arch=args.arch, state=tuple(args.state),
                               members=args.members).validated()
    regimes = f", {args.members} per final state of {' > '.join(args.state)}" if args.arch == "regimes" else ""
    print(f"{args.train} training ({args.refine:g} of them refined) + {args.test} test simulations (lhs, seed "
          f"{args.seed}), MLP {args.layers} x {args.width}{regimes}\n")
    print("| problem | parameters | outputs | failed simulations | simulation s | training s (epochs) | worst R^2 "
          "(observable) [90% interval] | median R^2 | Spearman of fval | roadrunner / s | surrogate / s, single | "
          "surrogate / s, batched | batched x roadrunner |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for name in args.problems:
        problem = load_problem(model_spec(name), ProblemSettings())
        trained = train_surrogate(problem, options, None)
        config = trained.config
        quality, speed = config["quality"], config["quality"]["speed"]
        r2 = {k: v["r2"] for k, v in quality["observables"].items() if np.isfinite(v["r2"])}
        worst = worst_observable(quality["observables"])
        low, high = quality["observables"][worst]["r2_interval"]
        batched = max(v for k, v in speed.items() if k.startswith("surrogate_batched"))
        single = max(v for k, v in speed.items() if k.startswith("surrogate_single"))
        cost, training = config["design_cost"], config["training"]
        print(f"| {name} | {problem.n_parameters} | {trained.model.spec.n_outputs} | {cost['failed']} / "
              f"{cost['simulations']} | {cost['simulation_seconds']:.1f} | {training_seconds(training):.1f} "
              f"({training['epochs']}) | {r2[worst]:.3f} ({worst}) [{low:.3f}, {high:.3f}] | "
              f"{np.median(list(r2.values())):.3f} | "
              f"{quality['objective']['spearman']:.3f} | {speed['roadrunner_single']:.0f} | {single:.0f} | "
              f"{batched:.0f} | {batched / speed['roadrunner_single']:.0f} |", flush=True)


if __name__ == "__main__":
    main()
