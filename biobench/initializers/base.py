"""The initializer interface: ``(problem, n_starts, rng) -> (n_starts, n_params)`` in scaled space."""

from __future__ import annotations

from abc import ABC, abstractmethod
import numpy as np

from biobench.problem import Problem
from biobench.plugins import Plugin, Registry


class Initializer(Plugin, ABC):
    """Proposes start points inside the problem's scaled bounds."""

    kind = "initializer"

    @abstractmethod
    def sample(self, problem: Problem, n_starts: int, rng: np.random.Generator) -> np.ndarray:
        """Return ``n_starts`` points, one row each, inside ``[problem.lower, problem.upper]``."""


initializers: Registry[Initializer] = Registry("initializer", "biobench.initializers")


def scale_unit(unit: np.ndarray, problem: Problem) -> np.ndarray:
    """Map points from the unit cube onto the problem's scaled bounds."""
    return problem.lower + np.asarray(unit, dtype=float) * (problem.upper - problem.lower)
