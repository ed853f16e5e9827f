"""The surrogate's options and how one network is fitted to simulations: shared by the plain network and the
regime surrogate (``biobench.surrogate.regimes``), so neither imports the other's module."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import numpy as np

from biobench.errors import ConfigError
from biobench.initializers import initializers
from biobench.initializers.base import ProgressCallback, no_progress
from biobench.problem import Problem

if TYPE_CHECKING:  # torch is imported when a surrogate is trained, not when the command line starts
    from biobench.surrogate.network import NetworkSpec, SurrogateNetwork, TrainingSpec

ARCHITECTURES = ("mlp", "regimes")
# The fine-tune starts from a converged fit: a smaller step, and a shorter wait for an improvement.
FINE_TUNE_LR, FINE_TUNE_PATIENCE = 3e-4, 30
# The L-BFGS polish: each epoch is one quasi-Newton step of 20 iterations on every training point.
POLISH_EPOCHS, POLISH_PATIENCE = 50, 10


@dataclass(frozen=True)
class SurrogateOptions:
    n_train: int = 1000  # simulations for training (validation split included)
    n_test: int = 200  # further simulations, held out, for the quality report
    design: str = "lhs"  # the initializer that draws the parameter vectors
    seed: int = 0
    layers: int = 3
    width: int = 128
    time_limit: float = 120.0  # training seconds
    max_epochs: int = 2000  # the bound that does not depend on the machine's load (reproducible results)
    arch: str = "mlp"  # or "regimes": one ensemble per final state and a classifier between them (regimes.py)
    refine: float = 0.0  # share of n_train simulated where a first network predicts large outputs (design.py)
    fine_tune: bool = False  # then train on the error in the simulator's units (what R^2 judges)
    state: tuple[str, ...] = ()  # regimes: two simulated outputs; state 1 is the first ending above the second
    members: int = 5  # regimes: networks averaged per state

    def validated(self) -> SurrogateOptions:
        """Reject what the user typed before any simulation runs."""
        if self.arch not in ARCHITECTURES:
            raise ConfigError(f"surrogate: unknown architecture {self.arch!r}; available: {', '.join(ARCHITECTURES)}.")
        if self.arch == "regimes" and (len(self.state) != 2 or self.state[0] == self.state[1]):
            raise ConfigError("surrogate: --arch regimes needs --state A B, two different simulated outputs: the "
                              "simulation's state is whether A ends above B.")
        if self.arch != "regimes" and (self.state or self.members != SurrogateOptions.members):
            raise ConfigError("surrogate: --state and --members are options of --arch regimes; add --arch regimes or "
                              "drop them.")
        if self.members < 1:
            raise ConfigError(f"surrogate: --members {self.members}: at least one network per state.")
        if self.n_train < 20:
            raise ConfigError(f"surrogate: --train {self.n_train} is too few simulations; use at least 20.")
        if self.n_test < 2:
            raise ConfigError("surrogate: --test needs at least 2 held-out simulations.")
        if not 0 <= self.refine < 1 or self.n_train - self.n_refine < 20:
            raise ConfigError(f"surrogate: --refine {self.refine} must be in [0, 1) and leave at least 20 of the "
                              f"{self.n_train} training simulations to the first design.")
        if self.layers < 1 or self.width < 1 or self.time_limit <= 0 or self.max_epochs < 1:
            raise ConfigError("surrogate: layers, width, the time limit and max epochs must be positive.")
        initializers.get(self.design)  # an unknown initializer names the available ones
        return self

    @property
    def n_refine(self) -> int:
        return int(round(self.refine * self.n_train))


def network_spec(problem: Problem, options: SurrogateOptions, n_outputs: int) -> NetworkSpec:
    from biobench.surrogate import network

    return network.NetworkSpec(problem.n_parameters, n_outputs, options.layers, options.width)


def training_spec(options: SurrogateOptions) -> TrainingSpec:
    from biobench.surrogate import network

    return network.TrainingSpec(time_limit=options.time_limit, max_epochs=options.max_epochs, seed=options.seed)


def fit_network(problem: Problem, options: SurrogateOptions, x: np.ndarray, y: np.ndarray, device: str = "cpu",
                progress: ProgressCallback = no_progress, judge: Callable[[SurrogateNetwork], dict] | None = None,
                validation_trim: float = 0.0, polish: bool = False) -> tuple[SurrogateNetwork, dict]:
    """The network of ``options`` on (x, y): a fit on compressed outputs, then (``options.fine_tune``) a fine-tune
    in the simulator's units. ``judge(model)``, when given, is the held-out accuracy per observable, measured
    before the fine-tune changes the weights in place, so the summary shows what the fine-tune did.
    ``validation_trim``: see ``network.fit``. ``polish`` ends with full-batch L-BFGS in the simulator's units
    (``POLISH_EPOCHS``, ``POLISH_PATIENCE``), after the fine-tune when there is one."""
    from biobench.surrogate import network

    spec = network_spec(problem, options, y.shape[1])
    training = replace(training_spec(options), validation_trim=validation_trim)
    stage = "surrogate: training (epochs; early stopping usually ends it sooner)"
    model, summary = network.fit(spec, training, x, y, problem.lower, problem.upper, device=device,
                                 on_epoch=lambda done, most: progress(stage, done, most))
    if options.fine_tune:
        before = judge(model) if judge is not None else None
        progress("surrogate: fine-tuning in the simulator's units", 0, 1)
        tuning = replace(training, lr=FINE_TUNE_LR, patience=FINE_TUNE_PATIENCE)
        model, tuned = network.fit(spec, tuning, x, y, problem.lower, problem.upper, model=model, device=device,
                                   in_units=True)
        progress("surrogate: fine-tuning in the simulator's units", 1, 1)
        summary["fine_tune"] = {k: tuned[k] for k in ("epochs", "seconds", "best_validation_loss",
                                                       "start_validation_loss")}
        if before is not None:
            summary["fine_tune"]["held_out_before"] = {name: {"rmse": v["rmse"], "r2": v["r2"]}
                                                       for name, v in before.items()}
    if polish:
        progress("surrogate: L-BFGS polish in the simulator's units", 0, 1)
        polishing = replace(training, optimizer="lbfgs", max_epochs=POLISH_EPOCHS, patience=POLISH_PATIENCE)
        model, polished = network.fit(spec, polishing, x, y, problem.lower, problem.upper, model=model,
                                      device=device, in_units=True)
        progress("surrogate: L-BFGS polish in the simulator's units", 1, 1)
        summary["polish"] = {k: polished[k] for k in ("epochs", "seconds", "best_validation_loss",
                                                       "start_validation_loss")}
    return model, summary
