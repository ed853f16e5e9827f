"""Latin hypercube starts (scipy.stats.qmc): one point in each of n strata of every parameter."""

from __future__ import annotations

from typing import Literal

import numpy as np
from scipy.stats import qmc

from biobench.initializers.base import Initializer, initializers, scale_unit
from biobench.plugins import PluginOptions
from biobench.problem import Problem


@initializers.register("lhs")
class LatinHypercubeInitializer(Initializer):
    description = "Latin hypercube (scipy.stats.qmc), each point jittered inside its strata"
    space_filling = True

    class Options(PluginOptions):
        # scipy's Lloyd-Voronoi iterations would break the one-point-per-stratum property: not offered.
        optimization: Literal["none", "random-cd"] = "none"

    def sample(self, problem: Problem, n_starts: int, rng: np.random.Generator) -> np.ndarray:
        optimization = self.settings.optimization
        sampler = qmc.LatinHypercube(
            d=problem.n_parameters, optimization=None if optimization == "none" else optimization, rng=rng
        )
        return scale_unit(sampler.random(n_starts), problem)


@initializers.register("lhs-opt")
class OptimizedLatinHypercubeInitializer(LatinHypercubeInitializer):
    description = "Latin hypercube improved by coordinate swaps that lower the centred L2 discrepancy"

    class Options(PluginOptions):
        optimization: Literal["none", "random-cd"] = "random-cd"
