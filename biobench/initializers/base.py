"""The initializer interface: ``(problem, n_starts, rng) -> (n_starts, n_params)`` in scaled space."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import TYPE_CHECKING

import numpy as np

from biobench.plugins import Plugin, Registry
from biobench.problem import Problem

if TYPE_CHECKING:
    from biobench.store import Store


class Initializer(Plugin, ABC):
    """Proposes start points inside the problem's scaled bounds.

    An initializer that learns (the cvae) may read earlier runs from ``store`` (set by
    the runner) and must report what it spent before any start existed in
    ``pilot_evals`` and ``pilot_seconds``: the runner charges that cost to its starts.
    ``extras`` (JSON-serialisable) is stored with every start's record.
    """

    kind = "initializer"
    store: Store | None = None
    pilot_evals: int = 0
    pilot_seconds: float = 0.0
    extras: dict = {}

    @abstractmethod
    def sample(self, problem: Problem, n_starts: int, rng: np.random.Generator) -> np.ndarray:
        """Return ``n_starts`` points, one row each, inside ``[problem.lower, problem.upper]``."""


initializers: Registry[Initializer] = Registry("initializer", "biobench.initializers")


def scale_unit(unit: np.ndarray, problem: Problem) -> np.ndarray:
    """Map points from the unit cube onto the problem's scaled bounds."""
    return problem.lower + np.asarray(unit, dtype=float) * (problem.upper - problem.lower)
