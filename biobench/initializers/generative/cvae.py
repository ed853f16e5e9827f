"""``--init cvae``: a conditional VAE with MLP encoder and decoder.

Reconstruction loss: a Gaussian negative log-likelihood with fixed standard deviation
``recon_sigma`` (in normalised units), i.e. a scaled squared error. The targets are
continuous, so binary cross-entropy (the other common choice) would treat them as
probabilities; the fixed sigma sets how tightly decoded vectors must match against the
KL term, which keeps the latent space from collapsing onto the prior. The optuna search
covers layers, width, latent dimension, learning rate, weight decay and batch size.
"""

from __future__ import annotations

import numpy as np
import torch
from pydantic import Field
from torch import nn

from biobench.initializers.base import initializers
from biobench.initializers.generative import diagnostics
from biobench.initializers.generative.family import GenerativeInitializer, GenerativeOptions
from biobench.initializers.generative.loop import fit_epochs
from biobench.initializers.generative.training_data import TrainingSet


def mlp(n_in: int, width: int, layers: int, batch_norm: bool = False) -> nn.Sequential:
    blocks: list[nn.Module] = []
    for i in range(layers):
        blocks.append(nn.Linear(n_in if i == 0 else width, width))
        if batch_norm:
            blocks.append(nn.BatchNorm1d(width))
        blocks.append(nn.ReLU())
    return nn.Sequential(*blocks)


class VAEMixin:
    """What a conditional VAE offers once it has ``encode(x, c) -> (mu, logvar)`` and ``decode(z, c)``:
    the training forward pass, generation from the prior, latent means and reconstruction."""

    latent: int

    def forward(self, x: torch.Tensor, c: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        mu, logvar = self.encode(x, c)
        logvar = logvar.clamp(-10, 10)
        z = mu + torch.randn_like(mu) * torch.exp(0.5 * logvar)
        return self.decode(z, c), mu, logvar

    def _device(self) -> torch.device:
        return next(self.parameters()).device

    @torch.no_grad()
    def generate(self, conditions: np.ndarray, generator: torch.Generator) -> np.ndarray:
        """Decode prior samples z ~ N(0, I) at the given conditions; values in [0, 1]."""
        self.eval()
        c = torch.as_tensor(np.asarray(conditions, dtype=np.float32).reshape(-1, 1), device=self._device())
        z = torch.randn(len(c), self.latent, generator=generator).to(self._device())
        return self.decode(z, c).cpu().numpy().astype(float)

    def _means(self, x: np.ndarray, c: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
        self.eval()
        xt = torch.as_tensor(x, dtype=torch.float32, device=self._device())
        ct = torch.as_tensor(c.reshape(-1, 1), dtype=torch.float32, device=self._device())
        return self.encode(xt, ct)[0], ct

    @torch.no_grad()
    def latent_means(self, x: np.ndarray, c: np.ndarray) -> np.ndarray:
        """The encoder's posterior means: where the model puts vectors in its latent space."""
        return self._means(x, c)[0].cpu().numpy().astype(float)

    @torch.no_grad()
    def reconstruct(self, x: np.ndarray, c: np.ndarray) -> np.ndarray:
        """Decode the posterior means: how well the model represents vectors it is shown."""
        mu, ct = self._means(x, c)
        return self.decode(mu, ct).cpu().numpy().astype(float)


class ConditionalVAE(VAEMixin, nn.Module):
    """Encoder q(z | x, c) and decoder p(x | z, c), both MLPs; the decoder ends in a sigmoid (the box)."""

    def __init__(self, n_params: int, layers: int = 2, width: int = 64, latent: int = 4,
                 batch_norm: bool = False) -> None:
        super().__init__()
        self.latent = latent
        self.encoder = mlp(n_params + 1, width, layers, batch_norm)
        self.mu = nn.Linear(width, latent)
        self.logvar = nn.Linear(width, latent)
        self.decoder = nn.Sequential(mlp(latent + 1, width, layers, batch_norm), nn.Linear(width, n_params),
                                     nn.Sigmoid())

    def encode(self, x: torch.Tensor, c: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.encoder(torch.cat([x, c], dim=1))
        return self.mu(h), self.logvar(h)

    def decode(self, z: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        return self.decoder(torch.cat([z, c], dim=1))


def elbo_loss(beta: float, recon_sigma: float):
    """Per-sample mean of reconstruction NLL (fixed sigma) + beta * KL(q(z|x,c) || N(0, I))."""

    def loss(model: nn.Module, x: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        x_hat, mu, logvar = model(x, c)
        recon = ((x - x_hat) ** 2).sum(dim=1) / (2.0 * recon_sigma**2)
        kl = -0.5 * (1 + logvar - mu**2 - logvar.exp()).sum(dim=1)
        return (recon + beta * kl).mean()

    return loss


class VAEOptions(GenerativeOptions):
    max_epochs: int = Field(300, ge=1)
    patience: int = Field(25, ge=1)
    beta: float = Field(1.0, ge=0)
    recon_sigma: float = Field(0.1, gt=0)


class VAEInitializer(GenerativeInitializer):
    """The two VAEs' shared training (ELBO, early stopping on the validation ELBO) and diagnostics."""

    def training_search(self, trial) -> dict:
        return {"lr": trial.suggest_float("lr", 1e-4, 1e-2, log=True),
                "weight_decay": trial.suggest_float("weight_decay", 1e-7, 1e-3, log=True),
                "batch_size": trial.suggest_categorical("batch_size", [16, 32, 64]),
                "max_epochs": self.settings.max_epochs}

    def fit(self, config, data: TrainingSet, seed, device, deadline, on_epoch):
        model, train_curve, val_curve = fit_epochs(
            self.build(config), elbo_loss(self.settings.beta, self.settings.recon_sigma), data.x_train,
            data.c_train, data.x_val, data.c_val, lr=config["lr"], weight_decay=config["weight_decay"],
            batch_size=config["batch_size"], max_epochs=self.settings.max_epochs, patience=self.settings.patience,
            seed=seed, device=device, deadline=deadline, on_epoch=on_epoch,
            smallest_batch=2 if config.get("batch_norm") else 1)  # batch norm needs two samples
        return model, {"train_loss": train_curve, "val_loss": val_curve}, min(val_curve)

    def network_diagnostics(self, model, data: TrainingSet) -> dict:
        return {**diagnostics.reconstruction(model, data.x_val, data.c_val),
                "latent_projection": diagnostics.latent_projection(model, data.x_val, data.c_val)}


@initializers.register("cvae")
class CvaeInitializer(VAEInitializer):
    description = "conditional VAE (MLP) trained on (parameters, fval) pairs, sampled at the low-fval condition"

    class Options(VAEOptions):
        batch_norm: bool = False

    def search_space(self, trial, n_params: int) -> dict:
        return {"n_params": n_params, "layers": trial.suggest_int("layers", 1, 3),
                "width": trial.suggest_categorical("width", [16, 32, 64, 128]),
                "latent": trial.suggest_int("latent", 2, max(2, min(8, n_params))),
                "batch_norm": self.settings.batch_norm, **self.training_search(trial)}

    def first_guess(self, n_params: int) -> dict:
        return {"layers": 2, "width": 64, "latent": min(4, max(2, n_params)), "lr": 1e-3, "weight_decay": 1e-5,
                "batch_size": 32}

    def build(self, config: dict) -> ConditionalVAE:
        return ConditionalVAE(config["n_params"], config["layers"], config["width"], config["latent"],
                              config["batch_norm"])
