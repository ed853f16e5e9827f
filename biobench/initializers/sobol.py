"""Scrambled Sobol' starts (scipy.stats.qmc).

Sobol' sequences are balanced only for n a power of two; other n work but lose that
property, which the user is warned about (scipy's own warning is replaced by one that
says what to do).
"""

from __future__ import annotations

import warnings

import numpy as np
from scipy.stats import qmc

from biobench.initializers.base import Initializer, initializers, scale_unit
from biobench.problem import Problem


@initializers.register("sobol")
class SobolInitializer(Initializer):
    description = "scrambled Sobol' sequence (scipy.stats.qmc); best with a power-of-two number of starts"
    space_filling = True

    def sample(self, problem: Problem, n_starts: int, rng: np.random.Generator) -> np.ndarray:
        if n_starts & (n_starts - 1):
            lower, upper = 1 << (n_starts.bit_length() - 1), 1 << n_starts.bit_length()
            warnings.warn(
                f"sobol: {n_starts} starts is not a power of two, so the Sobol' points lose their balance; "
                f"use {lower} or {upper} starts.",
                UserWarning,
                stacklevel=2,
            )
        sampler = qmc.Sobol(d=problem.n_parameters, scramble=True, rng=rng)
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*balance properties of Sobol.*")
            unit = sampler.random(n_starts)
        return scale_unit(unit, problem)
