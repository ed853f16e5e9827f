"""Start-point generators, registered by name (``--init NAME``)."""

from biobench.initializers import lhs, mjs, petab_priors, random, sobol  # noqa: F401  (each registers itself)
from biobench.initializers.base import Initializer, initializers, scale_unit
from biobench.initializers.generative import MEMBERS

# The generative family is built on torch: imported when one is asked for, not by every command.
for _name, _module in MEMBERS.items():
    initializers.register_lazily(_name, f"biobench.initializers.generative.{_module}")
initializers.register_lazily("amortized", "biobench.amortized.initializer")

__all__ = ["Initializer", "initializers", "scale_unit"]
