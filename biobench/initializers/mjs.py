"""Multi-jittered sampling (Chiu, Shirley & Wang 1994; correlated variant of Kensler 2013).

No maintained library offers it, so it is written here.

Two dimensions, n points. Factor n = m * k with m the largest divisor of n not above
sqrt(n). The unit square is cut into a coarse grid of m columns by k rows, and each
column (row) again into k (m) fine strips, so each axis has n fine strata of width 1/n.
The point of coarse cell (i, j) is placed at

    x = (i * k + pi(j) + u) / n,      y = (j * m + sigma(i) + v) / n,      u, v ~ U[0, 1)

Every coarse cell holds one point, every fine stratum of either axis holds one point
(the Latin hypercube property), and each point is jittered inside its 2-D subcell.
pi and sigma are random permutations of the fine-strip index: in the original scheme
each column (row) draws its own; in Kensler's correlated variant (the default,
``correlated=True``) all columns share pi and all rows share sigma, which spreads the
points more evenly.

d dimensions, as the literature does it (the "padding" used in production renderers):
dimensions are paired (0, 1), (2, 3), ...; each pair gets its own 2-D multi-jittered
pattern, and the order of points within each pair is shuffled independently so pairs
are not correlated with each other. An odd last dimension gets 1-D jittered
stratification (one point per stratum, in random order). The result keeps the
one-point-per-stratum property in every dimension and the 2-D subcell property within
every pair. When n is prime, m = 1 and the pattern is a jittered 2-D Latin hypercube.
"""

from __future__ import annotations

import math

import numpy as np

from biobench.initializers.base import Initializer, initializers, scale_unit
from biobench.plugins import PluginOptions
from biobench.problem import Problem


def grid_shape(n: int) -> tuple[int, int]:
    """(m, k) with m * k = n and m the largest divisor of n not above sqrt(n)."""
    m = max(d for d in range(1, math.isqrt(n) + 1) if n % d == 0)
    return m, n // m


def multi_jittered_2d(n: int, rng: np.random.Generator, correlated: bool = True) -> np.ndarray:
    """n points in the unit square, one per coarse cell and per fine stratum of each axis."""
    m, k = grid_shape(n)
    i = np.arange(n) % m  # coarse column
    j = np.arange(n) // m  # coarse row
    if correlated:
        pi, sigma = rng.permutation(k)[j], rng.permutation(m)[i]
    else:
        pi = np.argsort(rng.random((m, k)), axis=1)[i, j]  # one permutation of 0..k-1 per column
        sigma = np.argsort(rng.random((k, m)), axis=1)[j, i]  # one permutation of 0..m-1 per row
    u, v = rng.random(n), rng.random(n)
    x = (i * k + pi + u) / n
    y = (j * m + sigma + v) / n
    return np.column_stack([x, y])


def multi_jittered(n: int, d: int, rng: np.random.Generator, correlated: bool = True) -> np.ndarray:
    """n points in the unit d-cube: 2-D multi-jittered pairs of dimensions, padded together."""
    out = np.empty((n, d))
    for first in range(0, d - 1, 2):
        out[:, first:first + 2] = multi_jittered_2d(n, rng, correlated)[rng.permutation(n)]
    if d % 2:
        out[:, -1] = (rng.permutation(n) + rng.random(n)) / n
    return out


@initializers.register("mjs")
class MultiJitteredInitializer(Initializer):
    description = "multi-jittered sampling (correlated, Kensler 2013): Latin hypercube + one point per 2-D cell"
    space_filling = True

    class Options(PluginOptions):
        correlated: bool = True  # Kensler's variant; false: one permutation per column and row (the original)

    def sample(self, problem: Problem, n_starts: int, rng: np.random.Generator) -> np.ndarray:
        unit = multi_jittered(n_starts, problem.n_parameters, rng, self.settings.correlated)
        return scale_unit(unit, problem)
