"""Start-point generators, registered by name (``--init NAME``)."""

from biobench.initializers import random  # noqa: F401  (registers "random")
from biobench.initializers.base import Initializer, initializers

__all__ = ["Initializer", "initializers"]
