"""A surrogate of a switch: one ensemble of networks per final state, blended by a calibrated classifier.

A bistable model (Gardner's toggle switch, BIOMD0000000507) ends in one of two states, and
its outputs jump between them across a surface in parameter space. One network smooths
the jump, so its squared error sits at the few points near it with large outputs
(held-out R^2 of species_2 0.888-0.957 over seeds 0-3). Here the user names the state,
``A`` ending above ``B`` at the last output row, and the surrogate is

    p(x) * mean(networks of state 1)(x) + (1 - p(x)) * mean(networks of state 0)(x)

with p a classifier's probability of state 1. Each state's networks are the shipped MLP,
fitted, fine-tuned and polished by full-batch L-BFGS (``build.fit_network``) on that state's
simulations only, with early stopping on the validation split without its worst 5% (a few
points near the switch that no network of the state fits otherwise stop training early;
Adam alone left the largest outputs 30-45% short on seed 2). ``members``
networks per state, with different seeds, are averaged: given each point's true state,
one network per state reached a held-out R^2 of 0.85 or 0.97 on the same simulations by
its seed alone. The classifier is boosted trees (scikit-learn's histogram gradient
boosting) on the parameters and their pairwise differences, with Platt scaling fitted by
5-fold cross-validation, so p is a calibrated probability: for a squared error, blending by
a calibrated probability near the switch costs less than choosing a side (measured against
an MLP classifier, with and without temperature scaling, an ensemble of five, and
uncalibrated trees: ``benchmarks/surrogate_regimes.py`` and README). With 2000 simulations
the worst held-out R^2 is 0.977, 0.961, 0.956, 0.964 on seeds 0-3 (README).

The trees are not a torch module and are not pickled: the state_dict keeps their training
set (scaled parameters and states) as buffers, and the deterministic fit is repeated when
a saved surrogate is loaded (seconds). Written here because no library blends regression
networks by a classifier of the simulation's state.
"""

from __future__ import annotations

import time
from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np
import torch
from torch import nn

from biobench.errors import ConfigError, ProblemError
from biobench.initializers.base import ProgressCallback, no_progress
from biobench.surrogate import network

if TYPE_CHECKING:
    from biobench.problem import Problem
    from biobench.surrogate.fitting import SurrogateOptions

VALIDATION_TRIM = 0.05  # share of each state network's worst validation points left out of early stopping
MIN_PER_STATE = 20  # simulations of each state needed to fit its networks
MEMBER_SEED_STEP = 1000  # member j of a state trains with seed + j * MEMBER_SEED_STEP
CALIBRATION_FOLDS = 5


def state_columns(selections: list[str], state: tuple[str, ...]) -> tuple[int, int]:
    """Columns of the two named outputs among the simulator's; a clear error names the available ones."""
    unknown = [name for name in state if name not in selections]
    if len(state) != 2 or unknown:
        raise ConfigError(f"surrogate: --state takes two of the simulated outputs {', '.join(selections)}"
                          + (f"; unknown: {', '.join(unknown)}" if unknown else "") + ".")
    return selections.index(state[0]), selections.index(state[1])


def final_state(outputs: np.ndarray, shape: tuple[int, int], columns: tuple[int, int]) -> np.ndarray:
    """1 where the first column ends above the second at the last output row, else 0."""
    last = outputs.reshape(len(outputs), *shape)[:, -1, :]
    return (last[:, columns[0]] > last[:, columns[1]]).astype(np.int64)


def gate_features(x_scaled: np.ndarray) -> np.ndarray:
    """The scaled parameters and every pairwise difference: on log10 scales, the log ratios (production over
    decay, one repressor's strength over the other's) that a switch's outcome follows, which trees, splitting
    one feature at a time, cannot form. Measured on BIOMD0000000507 seeds 0-3: held-out accuracy 0.928-0.948
    -> 0.953-0.970, Brier score lower on every seed."""
    first, second = np.triu_indices(x_scaled.shape[1], k=1)
    return np.hstack([x_scaled, x_scaled[:, first] - x_scaled[:, second]])


class CalibratedGate:
    """P(state 1 | scaled parameters): boosted trees on ``gate_features``, fitted on every simulation, with Platt
    scaling fitted on their cross-validated predictions (scikit-learn's ``ensemble=False``: one set of trees to
    evaluate instead of one per fold, five times faster, and a held-out R^2 as high or higher on seeds 0-3)."""

    def __init__(self, x: np.ndarray, state: np.ndarray, seed: int) -> None:
        from sklearn.calibration import CalibratedClassifierCV
        from sklearn.ensemble import HistGradientBoostingClassifier

        trees = HistGradientBoostingClassifier(max_iter=500, learning_rate=0.05, random_state=seed)
        self.classifier = CalibratedClassifierCV(trees, method="sigmoid", cv=CALIBRATION_FOLDS, ensemble=False)
        self.classifier.fit(gate_features(x), state)

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return self.classifier.predict_proba(gate_features(np.atleast_2d(x)))[:, 1]


class RegimeSurrogate(nn.Module):
    """Two states' network ensembles and the gate between them; ``predict`` like ``SurrogateNetwork``'s."""

    def __init__(self, experts: list[network.SurrogateNetwork], members: int, gate_x: np.ndarray,
                 gate_state: np.ndarray, seed: int) -> None:
        super().__init__()
        self.experts = nn.ModuleList(experts)  # state 0's members, then state 1's
        self.members, self.seed = members, seed
        self.register_buffer("gate_x", torch.as_tensor(np.asarray(gate_x, dtype=np.float64)))
        self.register_buffer("gate_state", torch.as_tensor(np.asarray(gate_state, dtype=np.int64)))
        self._gate: CalibratedGate | None = None

    @property
    def spec(self) -> network.NetworkSpec:
        return self.experts[0].spec

    def gate(self, x_scaled: np.ndarray) -> np.ndarray:
        if self._gate is None:  # fitted on first use, so a loaded surrogate fits it from its saved buffers
            self._gate = CalibratedGate(self.gate_x.cpu().numpy(), self.gate_state.cpu().numpy(), self.seed)
        return self._gate(x_scaled)

    @torch.no_grad()
    def predict(self, x_scaled: np.ndarray, batch: int = 8192) -> np.ndarray:
        x_scaled = np.atleast_2d(x_scaled)
        p = self.gate(x_scaled)[:, None]
        means = [np.mean([m.predict(x_scaled, batch) for m in self.experts[k * self.members:(k + 1) * self.members]],
                         axis=0) for k in (0, 1)]
        return p * means[1] + (1.0 - p) * means[0]


def fit(problem: Problem, options: SurrogateOptions, x: np.ndarray, y: np.ndarray, shape: tuple[int, int],
        columns: tuple[int, int], device: str = "cpu",
        progress: ProgressCallback = no_progress) -> tuple[RegimeSurrogate, dict]:
    """Fit both states' ensembles and the gate on (x, y); the summary says what each took."""
    from biobench.surrogate.fitting import fit_network

    state = final_state(y, shape, columns)
    counts = [int((state == k).sum()) for k in (0, 1)]
    if min(counts) < MIN_PER_STATE:
        raise ProblemError(f"{problem.problem_id}: --state {' '.join(options.state)}: {counts[1]} of {len(state)} "
                           f"training simulations end with {options.state[0]} above {options.state[1]} and "
                           f"{counts[0]} do not; each state needs at least {MIN_PER_STATE}. Name two outputs that "
                           "switch, or use --arch mlp.")
    started = time.perf_counter()
    experts, epochs, validation_points = [], 0, 0
    for k in (0, 1):
        for j in range(options.members):
            member = replace(options, seed=options.seed + j * MEMBER_SEED_STEP)
            model, summary = fit_network(problem, member, x[state == k], y[state == k], device, progress,
                                         validation_trim=VALIDATION_TRIM, polish=True)
            experts.append(model)
            epochs += sum(summary.get(stage, {}).get("epochs", 0) for stage in ("fine_tune", "polish"))
            epochs += summary["epochs"]
            validation_points += summary["validation_points"] if j == 0 else 0
    networks_seconds = time.perf_counter() - started
    surrogate = RegimeSurrogate(experts, options.members, x, state, options.seed)
    surrogate.gate(x[:1])  # fit the gate now, so its seconds count as training
    summary = {"epochs": epochs, "seconds": time.perf_counter() - started, "train_points": int(len(x)),
               "validation_points": validation_points,
               "regimes": {"state": list(options.state), "simulations_per_state": counts, "members": options.members,
                           "networks_seconds": networks_seconds,
                           "gate_seconds": time.perf_counter() - started - networks_seconds}}
    return surrogate, summary


def empty(config: dict) -> RegimeSurrogate:
    """A surrogate of the saved shape: its weights and the gate's training set come with the state_dict."""
    regimes = config["training"]["regimes"]
    members, n_points = regimes["members"], sum(regimes["simulations_per_state"])
    experts = [network.empty_network(config) for _ in range(2 * members)]
    n_inputs = experts[0].spec.n_inputs
    return RegimeSurrogate(experts, members, np.zeros((n_points, n_inputs)), np.zeros(n_points),
                           config["options"]["seed"])
