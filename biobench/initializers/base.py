"""The initializer interface: ``(problem, n_starts, rng) -> (n_starts, n_params)`` in scaled space."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import ClassVar

import numpy as np

from biobench.problem import Problem
from biobench.registry import Registry


class Initializer(ABC):
    """Proposes start points inside the problem's scaled bounds."""

    name: ClassVar[str] = ""
    description: ClassVar[str] = ""

    def __init__(self, **options) -> None:
        if options:
            raise TypeError(f"{type(self).__name__} takes no options, got {sorted(options)}")

    @abstractmethod
    def sample(self, problem: Problem, n_starts: int, rng: np.random.Generator) -> np.ndarray:
        """Return ``n_starts`` points, one row each, inside ``[problem.lower, problem.upper]``."""


initializers: Registry[Initializer] = Registry("initializer", "biobench.initializers")
