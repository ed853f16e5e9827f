"""What every network biobench trains shares (the generative initializers, amortized inference, surrogates):
the loop that simulates its training design, the epoch loop with early stopping that keeps the best
weights, and seeded minibatches.

Written here rather than taken from a trainer library (Lightning, ignite) because the loop is a few
lines and must do two things those do not do together: stop at a shared deadline of an optuna search,
and be bit-for-bit reproducible on CPU under a seed.
"""

from __future__ import annotations

import copy
import time
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import torch
from torch import nn


def simulate_design(points: np.ndarray, simulate: Callable[[np.ndarray], Any],
                    progress: Callable[[str, int, int], None] | None = None,
                    label: str = "simulations") -> tuple[list[Any], dict]:
    """Simulate every point of a training design once, in order: ``simulate(point)`` returns what the method
    keeps (outputs, observables, a fval), or a ``str`` saying why that point failed. Returns the results (None
    where a point failed) and the cost every learned method reports: simulations, failed, the failures by
    reason, and seconds. What each method simulates, and whether it is charged, is its ``simulate``."""
    results: list[Any] = []
    reasons: Counter[str] = Counter()
    started = time.perf_counter()
    for i, point in enumerate(points):
        result = simulate(point)
        if isinstance(result, str):
            reasons[result] += 1
            result = None
        results.append(result)
        if progress is not None:
            progress(label, i + 1, len(points))
    cost = {"simulations": len(points), "failed": int(sum(reasons.values())), "failure_reasons": dict(reasons),
            "seconds": time.perf_counter() - started}
    return results, cost


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


def train_epochs(model: nn.Module, epoch: Callable[[], float], validation: Callable[[float], float],
                 best: BestSoFar, max_epochs: int, *, trained: nn.Module | None = None,
                 after_validation: Callable[[float], None] | None = None,
                 on_epoch: Callable[[int], None] | None = None) -> tuple[nn.Module, dict[str, list[float]]]:
    """The epoch loop every network here trains with: ``epoch()`` makes one pass over the training data and
    returns its mean loss, ``validation(train_loss)`` the value early stopping watches (computed without
    gradients), ``after_validation`` hears it (a learning-rate schedule), ``on_epoch`` the epochs done.
    ``trained`` is the module put in training mode (default ``model``; a frozen part stays in eval). Returns
    the weights of the best validation epoch (``best.restore()``) and the training and validation curves."""
    trained = model if trained is None else trained
    curves: dict[str, list[float]] = {"train": [], "validation": []}
    for _ in range(max_epochs):
        trained.train()
        curves["train"].append(epoch())
        trained.eval()
        with torch.no_grad():
            value = validation(curves["train"][-1])
        curves["validation"].append(value)
        if after_validation is not None:
            after_validation(value)
        if on_epoch is not None:
            on_epoch(len(curves["validation"]))
        if best.should_stop(value):
            break
    return best.restore(), curves


def minibatches(n: int, batch_size: int, generator: torch.Generator, device: str,
                smallest: int = 1) -> Iterator[torch.Tensor]:
    """A seeded permutation of ``range(n)`` in batches; a last batch smaller than ``smallest`` is skipped."""
    order = torch.randperm(n, generator=generator).to(device)
    for start in range(0, n, batch_size):
        batch = order[start:start + batch_size]
        if len(batch) >= smallest:
            yield batch
