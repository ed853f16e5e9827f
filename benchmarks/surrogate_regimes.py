"""What each part of ``--arch regimes`` is worth: one network against per-state networks, by classifier, on the toggle switch.

    python benchmarks/surrogate_regimes.py [--problem BIOMD0000000507] [--state species_1 species_2]
                                           [--train 2000] [--test 1000] [--refine 0.3] [--uncertain 0]
                                           [--seed 0]

About 5 minutes per seed on one core; to run seeds side by side, give each OMP_NUM_THREADS=1 (torch's
threads on busy cores slow training many times over).

BIOMD0000000507 (Gardner's genetic toggle switch) ends in a U-high or a V-high state, and the single
network's held-out R^2 is decided by a few points it puts in the wrong one (README, "Neural
surrogates"). Here, on the same simulations as ``biobench surrogate --refine R --fine-tune`` (same
seed, same design, same refinement), the single network is compared with a classifier of the
final state (``--state A B``: output A above output B at the last output time) and one network per
state, each fitted and fine-tuned by ``biobench.surrogate.fitting.fit_network`` on its state's
simulations. Rows: the single network; the per-state networks chosen by an MLP classifier (hard),
blended by its probability (soft), the same with uncalibrated boosted trees on the parameters alone,
chosen by each held-out point's true state (oracle: what a perfect classifier would give), and the
shipped ``--arch regimes`` (``biobench/surrogate/regimes.py``: an ensemble per state with trimmed
early stopping and an L-BFGS polish, blended by calibrated trees on the parameters and their
differences).
``--uncertain U`` spends a share U of the refinement simulations where the MLP classifier is least
sure (probability nearest 0.5 among ``REFINE_POOL`` times as many candidates) instead of where
outputs are large. The MLP classifier (binary cross-entropy, a fixed number of epochs) is written
here because it is ten lines of torch.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import replace
from types import SimpleNamespace

import numpy as np
import torch
from torch import nn

from biobench.errors import ConfigError
from biobench.initializers import initializers
from biobench.likelihood import Likelihood
from biobench.settings import ProblemSettings
from biobench.sources import load_problem
from biobench.surrogate import quality, regimes
from biobench.surrogate.build import (SurrogateOptions, TrainedSurrogate, fit_network, output_shape,
                                      simulate_design, simulate_training_set)
from biobench.surrogate.design import REFINE_POOL
from biobench.surrogate.regimes import final_state

from petab_convergence import model_spec  # noqa: E402  (benchmarks/ is the script's folder)

CLASSIFIER_EPOCHS, CLASSIFIER_WIDTH = 300, 128


def fit_classifier(problem, x: np.ndarray, state: np.ndarray, seed: int):
    """An MLP of the scaled parameters in [0, 1] -> the probability of state 1."""
    torch.manual_seed(seed)
    generator = np.random.default_rng(seed)
    net = nn.Sequential(nn.Linear(problem.n_parameters, CLASSIFIER_WIDTH), nn.SiLU(),
                        nn.Linear(CLASSIFIER_WIDTH, CLASSIFIER_WIDTH), nn.SiLU(), nn.Linear(CLASSIFIER_WIDTH, 1))
    unit = lambda z: torch.as_tensor((z - problem.lower) / (problem.upper - problem.lower), dtype=torch.float32)  # noqa: E731
    inputs, target = unit(x), torch.as_tensor(state, dtype=torch.float32)[:, None]
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-3)
    for _ in range(CLASSIFIER_EPOCHS):
        order = generator.permutation(len(x))
        for i in range(0, len(order), 64):
            rows = order[i:i + 64]
            loss = nn.functional.binary_cross_entropy_with_logits(net(inputs[rows]), target[rows])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    net.eval()
    return lambda z: torch.sigmoid(net(unit(z))).detach().numpy()[:, 0]


def fit_boosted_trees(x: np.ndarray, state: np.ndarray, seed: int):
    """scikit-learn's histogram gradient boosting on the scaled parameters: axis-aligned splits, where the
    MLP draws a smooth boundary; both are measured because neither reaches the oracle."""
    from sklearn.ensemble import HistGradientBoostingClassifier

    trees = HistGradientBoostingClassifier(max_iter=500, learning_rate=0.05, random_state=seed).fit(x, state)
    return lambda z: trees.predict_proba(np.atleast_2d(z))[:, 1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--problem", default="BIOMD0000000507")
    parser.add_argument("--state", nargs=2, default=["species_1", "species_2"], metavar=("A", "B"))
    parser.add_argument("--train", type=int, default=2000)
    parser.add_argument("--test", type=int, default=1000)
    parser.add_argument("--refine", type=float, default=0.3)
    parser.add_argument("--uncertain", type=float, default=0.0)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    problem = load_problem(model_spec(args.problem), ProblemSettings())
    likelihood = Likelihood(problem)
    shape = output_shape(likelihood)
    if not 0 <= args.uncertain <= 1:
        parser.error("--uncertain takes a share in [0, 1]")
    try:
        first, second = regimes.state_columns(list(likelihood.simulator.selections), tuple(args.state))
    except ConfigError as exc:
        parser.error(str(exc))
    n_refine = int(round(args.refine * args.train))
    n_uncertain = int(round(args.uncertain * n_refine))
    # the same draw as --refine alone: the first design keeps its size, refinement by magnitude gives up n_uncertain
    options = SurrogateOptions(n_train=args.train - n_uncertain, n_test=args.test, time_limit=600.0,
                               seed=args.seed, refine=(n_refine - n_uncertain) / (args.train - n_uncertain),
                               fine_tune=True)
    started = time.perf_counter()
    data = simulate_training_set(problem, options, likelihood)
    x, y = data.x_train, data.y_train
    if n_uncertain:
        classifier = fit_classifier(problem, x, final_state(y, shape, (first, second)), args.seed)
        stream = np.random.default_rng(np.random.SeedSequence(args.seed, spawn_key=(2,)))
        pool = initializers.get(options.design)().sample(problem, REFINE_POOL * n_uncertain, stream)
        extra = pool[np.argsort(np.abs(classifier(pool) - 0.5), kind="stable")[:n_uncertain]]
        outputs, failed, _ = simulate_design(likelihood, extra)
        x, y = np.vstack([x, extra[~failed]]), np.vstack([y, outputs[~failed]])
    x_test, y_test = data.design[data.test_rows], data.outputs[data.test_rows]
    state, test_state = final_state(y, shape, (first, second)), final_state(y_test, shape, (first, second))
    single, _ = fit_network(problem, options, x, y)
    classifier = fit_classifier(problem, x, state, args.seed)
    trees = fit_boosted_trees(x, state, args.seed)
    per_state = [fit_network(problem, options, x[state == s], y[state == s])[0] for s in (0, 1)]
    shipped_options = replace(options, arch="regimes", state=tuple(args.state))
    shipped, _ = regimes.fit(problem, shipped_options, x, y, shape, (first, second))

    def true_state(z):  # the oracle simulates: the held-out points' states, and the nominal point's
        outputs, failed, _ = simulate_design(likelihood, z)
        return np.where(failed, 0.5, final_state(np.nan_to_num(outputs), shape, (first, second)))

    weights = {"single network": None,
               "per state, classifier (hard)": lambda z: (classifier(z) > 0.5) * 1.0,
               "per state, classifier (soft)": classifier,
               "per state, boosted trees (hard)": lambda z: (trees(z) > 0.5) * 1.0,
               "per state, boosted trees (soft)": trees,
               "per state, true state (oracle)": true_state,
               f"shipped --arch regimes ({shipped_options.members} per state, calibrated trees)": shipped}
    accuracy = np.mean((classifier(x_test) > 0.5) == test_state)
    trees_accuracy = np.mean((trees(x_test) > 0.5) == test_state)
    print(f"{args.problem}: {len(x)} training simulations kept of {args.train} ({n_refine} refined, {n_uncertain} of them by the "
          f"classifier's uncertainty), {len(x_test)} held out, seed {args.seed}; state: {args.state[0]} > "
          f"{args.state[1]} at the last time in {state.mean():.0%} of the training simulations; held-out accuracy: "
          f"classifier {accuracy:.3f}, boosted trees {trees_accuracy:.3f}; {time.perf_counter() - started:.0f} s\n")
    print("| seed | surrogate | worst R^2 (observable) [90% interval] | R^2 per observable | Spearman of fval |")
    print("|---|---|---|---|---|")
    for label, weight in weights.items():
        def predict(z, weight=weight):
            z = np.atleast_2d(z)  # accuracy also asks for the nominal point alone
            if weight is None or weight is shipped:
                return (weight or single).predict(z)
            w = weight(z)[:, None]
            return w * per_state[1].predict(z) + (1 - w) * per_state[0].predict(z)

        surrogate = TrainedSurrogate(SimpleNamespace(predict=predict), {}, None, False, shape)  # what accuracy reads
        report = quality.accuracy(surrogate, likelihood, x_test, y_test, problem)
        finite = {k: v for k, v in report["observables"].items() if np.isfinite(v["r2"])}
        worst = quality.worst_observable(finite)
        interval = ", ".join(f"{b:.3f}" for b in finite[worst]["r2_interval"])
        each = ", ".join(f"{k} {v['r2']:.3f}" for k, v in finite.items())
        print(f"| {args.seed} | {label} | {finite[worst]['r2']:.3f} ({worst}) [{interval}] | {each} | "
              f"{report['objective']['spearman']:.3f} |")

if __name__ == "__main__":
    main()
