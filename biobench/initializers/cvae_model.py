"""The conditional variational autoencoder behind ``--init cvae`` (torch).

Inputs are parameter vectors normalised to [0, 1] by the problem's bounds; the
condition c is the objective value normalised to [0, 1] (0 = the lowest seen).

Reconstruction loss: a Gaussian negative log-likelihood with fixed standard deviation
``recon_sigma`` (in normalised units), i.e. a scaled squared error. The targets are
continuous, so binary cross-entropy (the other common choice) would treat them as
probabilities; the fixed sigma sets how tightly decoded vectors must match against the
KL term, which keeps the latent space from collapsing onto the prior.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from biobench.saved_networks import load_network, save_network


@dataclass(frozen=True)
class Architecture:
    n_params: int
    layers: int = 2
    width: int = 64
    latent: int = 4
    batch_norm: bool = False


@dataclass(frozen=True)
class Training:
    lr: float = 1e-3
    weight_decay: float = 1e-5
    batch_size: int = 32
    max_epochs: int = 300
    patience: int = 25
    beta: float = 1.0
    recon_sigma: float = 0.1


def _mlp(n_in: int, width: int, layers: int, batch_norm: bool) -> nn.Sequential:
    blocks: list[nn.Module] = []
    for i in range(layers):
        blocks.append(nn.Linear(n_in if i == 0 else width, width))
        if batch_norm:
            blocks.append(nn.BatchNorm1d(width))
        blocks.append(nn.ReLU())
    return nn.Sequential(*blocks)


class ConditionalVAE(nn.Module):
    """Encoder q(z | x, c) and decoder p(x | z, c), both MLPs; the decoder ends in a sigmoid (the box)."""

    def __init__(self, arch: Architecture) -> None:
        super().__init__()
        self.arch = arch
        self.encoder = _mlp(arch.n_params + 1, arch.width, arch.layers, arch.batch_norm)
        self.mu = nn.Linear(arch.width, arch.latent)
        self.logvar = nn.Linear(arch.width, arch.latent)
        self.decoder = nn.Sequential(_mlp(arch.latent + 1, arch.width, arch.layers, arch.batch_norm),
                                     nn.Linear(arch.width, arch.n_params), nn.Sigmoid())

    def forward(self, x: torch.Tensor, c: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        h = self.encoder(torch.cat([x, c], dim=1))
        mu, logvar = self.mu(h), self.logvar(h).clamp(-10, 10)
        z = mu + torch.randn_like(mu) * torch.exp(0.5 * logvar)
        return self.decoder(torch.cat([z, c], dim=1)), mu, logvar

    @torch.no_grad()
    def generate(self, conditions: np.ndarray, generator: torch.Generator) -> np.ndarray:
        """Decode prior samples z ~ N(0, I) at the given conditions; values in [0, 1]."""
        self.eval()
        device = next(self.parameters()).device
        c = torch.as_tensor(np.asarray(conditions, dtype=np.float32).reshape(-1, 1), device=device)
        z = torch.randn(len(c), self.arch.latent, generator=generator).to(device)
        return self.decoder(torch.cat([z, c], dim=1)).cpu().numpy().astype(float)

    def _encoded(self, x: np.ndarray, c: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
        """(posterior means, conditions) of ``x`` at ``c``, as tensors on the model's device."""
        self.eval()
        device = next(self.parameters()).device
        xt = torch.as_tensor(x, dtype=torch.float32, device=device)
        ct = torch.as_tensor(c.reshape(-1, 1), dtype=torch.float32, device=device)
        return self.mu(self.encoder(torch.cat([xt, ct], dim=1))), ct

    @torch.no_grad()
    def latent_means(self, x: np.ndarray, c: np.ndarray) -> np.ndarray:
        """The encoder's posterior means: where the model puts vectors in its latent space."""
        return self._encoded(x, c)[0].cpu().numpy().astype(float)

    @torch.no_grad()
    def reconstruct(self, x: np.ndarray, c: np.ndarray) -> np.ndarray:
        """Decode the posterior means: how well the model represents vectors it is shown."""
        mu, ct = self._encoded(x, c)
        return self.decoder(torch.cat([mu, ct], dim=1)).cpu().numpy().astype(float)

def loss(model: ConditionalVAE, x: torch.Tensor, c: torch.Tensor, training: Training) -> torch.Tensor:
    """Per-sample mean of reconstruction NLL (fixed sigma) + beta * KL(q(z|x,c) || N(0, I))."""
    x_hat, mu, logvar = model(x, c)
    recon = ((x - x_hat) ** 2).sum(dim=1) / (2.0 * training.recon_sigma**2)
    kl = -0.5 * (1 + logvar - mu**2 - logvar.exp()).sum(dim=1)
    return (recon + training.beta * kl).mean()


def fit(arch: Architecture, training: Training, x_train: np.ndarray, c_train: np.ndarray, x_val: np.ndarray,
        c_val: np.ndarray, seed: int, device: str = "cpu", deadline: float | None = None,
        on_epoch: Callable[[int], None] | None = None) -> tuple[ConditionalVAE, list[float], list[float]]:
    """Adam with early stopping on the validation loss; returns the best model and both loss curves.

    Training also stops after the epoch that passes ``deadline`` (``time.monotonic()``), with
    the best model so far: a search bounded in time never waits for a slow trial.
    """
    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    model = ConditionalVAE(arch).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=training.lr, weight_decay=training.weight_decay)
    xt = torch.as_tensor(x_train, dtype=torch.float32, device=device)
    ct = torch.as_tensor(c_train.reshape(-1, 1), dtype=torch.float32, device=device)
    xv = torch.as_tensor(x_val, dtype=torch.float32, device=device)
    cv = torch.as_tensor(c_val.reshape(-1, 1), dtype=torch.float32, device=device)
    train_curve, val_curve = [], []
    best, best_state, since_best = np.inf, copy.deepcopy(model.state_dict()), 0
    for _ in range(training.max_epochs):
        model.train()
        order = torch.randperm(len(xt), generator=generator).to(device)
        total = 0.0
        for start in range(0, len(xt), training.batch_size):
            batch = order[start:start + training.batch_size]
            if arch.batch_norm and len(batch) < 2:
                continue  # batch norm needs two samples
            optimizer.zero_grad()
            value = loss(model, xt[batch], ct[batch], training)
            value.backward()
            optimizer.step()
            total += float(value) * len(batch)
        train_curve.append(total / len(xt))
        model.eval()
        with torch.no_grad():
            val_curve.append(float(loss(model, xv, cv, training)))
        if on_epoch is not None:
            on_epoch(len(val_curve))
        if val_curve[-1] < best - 1e-6:
            best, best_state, since_best = val_curve[-1], copy.deepcopy(model.state_dict()), 0
        else:
            since_best += 1
            if since_best >= training.patience:
                break
        if deadline is not None and time.monotonic() >= deadline:
            break
    model.load_state_dict(best_state)
    model.eval()
    return model, train_curve, val_curve


def save(model: ConditionalVAE, config: dict, folder: Path) -> None:
    save_network(model, config | {"architecture": asdict(model.arch)}, folder, "model.pt")


def load(folder: Path, device: str = "cpu") -> tuple[ConditionalVAE, dict] | None:
    """The saved model and config, or None when absent (``biobench.saved_networks``)."""
    return load_network(folder, "model.pt", lambda config: ConditionalVAE(Architecture(**config["architecture"])),
                        "cvae: the saved model", "--init-option retrain=true", device)
