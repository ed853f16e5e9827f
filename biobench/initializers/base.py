"""The initializer interface: ``(problem, n_starts, rng[, store]) -> StartDesign`` in scaled space.

Space-filling designs implement ``sample``. Learning initializers (the cvae) override
``generate``: they receive the store of earlier evaluations as an argument and
return their points together with what making them cost and their diagnostics, so
nothing about a run is left on the instance.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar, Protocol

import numpy as np

from biobench.errors import PluginError
from biobench.plugins import Plugin, Registry
from biobench.problem import Problem


# (stage, done, total): what a slow initializer is doing, e.g. ("cvae: pilot evaluations", 120, 280).
ProgressCallback = Callable[[str, int, int], None]


def no_progress(stage: str, done: int, total: int) -> None:
    """The default: nobody is watching."""


class EvaluationStore(Protocol):
    """What a learning initializer reads and writes: earlier evaluations, and a folder for trained models."""

    artifacts_dir: Path

    def evaluated_points(self, problem_key: str) -> tuple[np.ndarray, np.ndarray]: ...


@dataclass(frozen=True)
class StartDesign:
    """Start points and their price: what the initializer simulated before any start existed (charged to
    its starts) and its diagnostics (JSON-serialisable, stored with every start's record)."""

    points: np.ndarray
    pilot_evals: int = 0
    pilot_seconds: float = 0.0
    diagnostics: dict = field(default_factory=dict)


class Initializer(Plugin, ABC):
    """Proposes start points inside the problem's scaled bounds."""

    # A design meant to cover the whole box (not to concentrate where the objective is low): the conformance
    # checks (``biobench.testing``) then require every quarter of every axis to be visited.
    space_filling: ClassVar[bool] = False

    kind = "initializer"

    def for_spares(self) -> Initializer:
        """The initializer that draws spare start points after the starts: itself, unless drawing again would
        repeat expensive work (the cvae must load its model, not retrain it)."""
        return self

    def pilot_evaluations(self) -> int:
        """Evaluations spent before the starts (a learning initializer's training design), charged to the run."""
        return 0

    def generate(self, problem: Problem, n_starts: int, rng: np.random.Generator,
                 store: EvaluationStore | None = None, progress: ProgressCallback = no_progress) -> StartDesign:
        """The design with its cost, checked against the interface; space-filling designs ignore ``store``
        and have nothing to report to ``progress``."""
        design = self._design(problem, n_starts, rng, store, progress)
        checked_points(design.points, problem, n_starts, self.name)
        return design

    def _design(self, problem: Problem, n_starts: int, rng: np.random.Generator,
                store: EvaluationStore | None, progress: ProgressCallback) -> StartDesign:
        """Learning initializers override this; the others only sample."""
        return StartDesign(np.asarray(self.sample(problem, n_starts, rng), dtype=float))

    @abstractmethod
    def sample(self, problem: Problem, n_starts: int, rng: np.random.Generator) -> np.ndarray:
        """Return ``n_starts`` points, one row each, inside ``[problem.lower, problem.upper]``."""


def checked_points(points: np.ndarray, problem: Problem, n_starts: int, name: str) -> np.ndarray:
    """Hold third-party initializers to the interface: right shape, finite, inside the bounds."""
    if points.shape != (n_starts, problem.n_parameters):
        raise PluginError(f"initializer {name!r} returned shape {points.shape}, "
                          f"expected ({n_starts}, {problem.n_parameters}).")
    if not np.isfinite(points).all() or (points < problem.lower).any() or (points > problem.upper).any():
        raise PluginError(f"initializer {name!r} returned points outside the problem's bounds.")
    return points


class TrainedInitializer(Initializer, ABC):
    """An initializer that trains a network for a problem and saves it beside the store (the generative family,
    amortized inference): spares load the trained network instead of training again, and the options in
    ``use_options`` change how a saved network is used, not the network, so they stay out of its folder's name
    and saved configuration (``biobench.saved_networks`` keeps the files)."""

    use_options: ClassVar[frozenset[str]] = frozenset({"retrain", "device"})

    def for_spares(self) -> TrainedInitializer:
        return type(self)(**(self.options | {"retrain": False}))  # the network trained for the starts

    def network_options(self) -> dict:
        return {key: value for key, value in self.options.items() if key not in self.use_options}

    def network_folder(self, store: EvaluationStore, problem: Problem, identity: str) -> Path:
        """``<store's artifacts>/<name>/<model id>-<digest of identity and network_options()>``."""
        from biobench.saved_networks import network_folder  # torch loads with the network, not the registry

        return network_folder(store.artifacts_dir / self.name, problem.model.model_id, identity,
                              self.network_options())


initializers: Registry[Initializer] = Registry("initializer", "biobench.initializers")


def scale_unit(unit: np.ndarray, problem: Problem) -> np.ndarray:
    """Map points from the unit cube onto the problem's scaled bounds."""
    return problem.lower + np.asarray(unit, dtype=float) * (problem.upper - problem.lower)
