"""Optimizers, registered by name (``--opt NAME``)."""

from biobench.optimizers import local  # noqa: F401  (registers "local", "lbfgsb")
from biobench.optimizers.base import Optimizer, OptimizerResult, optimizers

__all__ = ["Optimizer", "OptimizerResult", "optimizers"]
