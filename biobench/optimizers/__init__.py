"""Optimizers, registered by name (``--opt NAME``).

The libraries behind them (scikit-optimize, optuna, fides, cma, pymc, pymoo, torch) are imported when a
method runs, not here, so listing or using one method does not pay for the others.
"""

from biobench.optimizers import (  # noqa: F401  (each registers itself)
    bo, cmaes, ess, fides_tr, ga, gp_bo, local, mcmc, surrogate_search)
from biobench.optimizers.base import Optimizer, optimizers
from biobench.outcome import Outcome, StartResult, Status

__all__ = ["Optimizer", "Outcome", "StartResult", "Status", "optimizers"]
