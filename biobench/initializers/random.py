"""Uniform random starts in the scaled bounds: the baseline every other design must beat."""

from __future__ import annotations

import numpy as np

from biobench.initializers.base import Initializer, initializers
from biobench.problem import Problem


@initializers.register("random")
class RandomInitializer(Initializer):
    description = "independent uniform draws in the scaled (log10) bounds"
    space_filling = True

    def sample(self, problem: Problem, n_starts: int, rng: np.random.Generator) -> np.ndarray:
        return rng.uniform(problem.lower, problem.upper, size=(n_starts, problem.n_parameters))
