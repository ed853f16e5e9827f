"""How both VAEs (and the CcGAN's regression check) train: Adam on seeded minibatches of (x, condition) pairs,
in ``biobench.learning``'s epoch loop (early stopping with the best weights, an optuna search's deadline)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
from torch import nn

from biobench.learning import BestSoFar, minibatches, train_epochs

EpochCallback = Callable[[int], None]


def tensors(device: str, *arrays: np.ndarray) -> list[torch.Tensor]:
    """float32 tensors on ``device``; 1-D arrays become columns (conditions)."""
    return [torch.as_tensor(a.reshape(-1, 1) if a.ndim == 1 else a, dtype=torch.float32, device=device)
            for a in arrays]


def fit_epochs(model: nn.Module, loss: Callable[[nn.Module, torch.Tensor, torch.Tensor], torch.Tensor],
               x_train: np.ndarray, c_train: np.ndarray, x_val: np.ndarray, c_val: np.ndarray, *, lr: float,
               weight_decay: float, batch_size: int, max_epochs: int, patience: int, seed: int, device: str,
               deadline: float | None = None, on_epoch: EpochCallback | None = None,
               smallest_batch: int = 1) -> tuple[nn.Module, list[float], list[float]]:
    """Adam on ``loss(model, x, c)`` with early stopping on the validation loss; the best model and both curves.

    Training also stops after the epoch that passes ``deadline``, with the best model so far:
    a search bounded in time never waits for a slow trial.
    """
    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    model = model.to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=weight_decay)
    xt, ct, xv, cv = tensors(device, x_train, c_train, x_val, c_val)

    def epoch() -> float:
        total = 0.0
        for batch in minibatches(len(xt), batch_size, generator, device, smallest_batch):
            optimizer.zero_grad()
            value = loss(model, xt[batch], ct[batch])
            value.backward()
            optimizer.step()
            total += value.item() * len(batch)
        return total / len(xt)

    model, curves = train_epochs(model, epoch, lambda _: float(loss(model, xv, cv)),
                                 BestSoFar(model, patience, deadline), max_epochs, on_epoch=on_epoch)
    return model, curves["train"], curves["validation"]
