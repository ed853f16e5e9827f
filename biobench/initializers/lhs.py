"""Latin hypercube starts (scipy.stats.qmc): one point in each of n strata of every parameter."""

from __future__ import annotations

import numpy as np
from scipy.stats import qmc

from biobench.errors import PluginError
from biobench.initializers.base import Initializer, initializers, scale_unit
from biobench.problem import Problem

_OPTIMIZATIONS = ("none", "random-cd")


@initializers.register("lhs")
class LatinHypercubeInitializer(Initializer):
    description = "Latin hypercube (scipy.stats.qmc), each point jittered inside its strata"
    defaults = {"optimization": "none"}

    def check_options(self) -> None:
        if self.options["optimization"] not in _OPTIMIZATIONS:
            # Lloyd-Voronoi iterations would break the one-point-per-stratum property.
            raise PluginError(f"lhs: optimization must be one of {', '.join(_OPTIMIZATIONS)}, "
                              f"not {self.options['optimization']!r}.")

    def sample(self, problem: Problem, n_starts: int, rng: np.random.Generator) -> np.ndarray:
        optimization = self.options["optimization"]
        sampler = qmc.LatinHypercube(
            d=problem.n_parameters, optimization=None if optimization == "none" else optimization, rng=rng
        )
        return scale_unit(sampler.random(n_starts), problem)


@initializers.register("lhs-opt")
class OptimizedLatinHypercubeInitializer(LatinHypercubeInitializer):
    description = "Latin hypercube improved by coordinate swaps that lower the centred L2 discrepancy"
    defaults = {"optimization": "random-cd"}
