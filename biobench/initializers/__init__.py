"""Start-point generators, registered by name (``--init NAME``)."""

from biobench.initializers import cvae, lhs, mjs, petab_priors, random, sobol  # noqa: F401  (each registers itself)
from biobench.initializers.base import Initializer, initializers, scale_unit

__all__ = ["Initializer", "initializers", "scale_unit"]
