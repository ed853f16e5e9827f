"""What every network biobench trains shares (the generative initializers, amortized inference, surrogates):
early stopping that keeps the best weights, and seeded minibatches.

Written here rather than taken from a trainer library (Lightning, ignite) because the loop is a few
lines and must do two things those do not do together: stop at a shared deadline of an optuna search,
and be bit-for-bit reproducible on CPU under a seed.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Iterator

import numpy as np
import torch
from torch import nn


class BestSoFar:
    """Tracks a validation value to be minimised: keeps a copy of the best weights, says when to stop
    (``patience`` checks without an improvement of more than ``min_improvement``, or the ``deadline`` of
    ``time.monotonic()`` passed). ``best`` is the value to beat (a fine-tune keeps its starting network
    unless an epoch beats it)."""

    def __init__(self, model: nn.Module, patience: int, deadline: float | None, min_improvement: float = 1e-6,
                 best: float = np.inf) -> None:
        self.model, self.patience, self.deadline, self.min_improvement = model, patience, deadline, min_improvement
        self.best, self.state, self.since_best = best, copy.deepcopy(model.state_dict()), 0

    def should_stop(self, value: float) -> bool:
        if value < self.best - self.min_improvement:
            self.best, self.state, self.since_best = value, copy.deepcopy(self.model.state_dict()), 0
        else:
            self.since_best += 1
            if self.since_best >= self.patience:
                return True
        return self.deadline is not None and time.monotonic() >= self.deadline

    def restore(self) -> nn.Module:
        self.model.load_state_dict(self.state)
        return self.model.eval()


def minibatches(n: int, batch_size: int, generator: torch.Generator, device: str,
                smallest: int = 1) -> Iterator[torch.Tensor]:
    """A seeded permutation of ``range(n)`` in batches; a last batch smaller than ``smallest`` is skipped."""
    order = torch.randperm(n, generator=generator).to(device)
    for start in range(0, n, batch_size):
        batch = order[start:start + batch_size]
        if len(batch) >= smallest:
            yield batch
