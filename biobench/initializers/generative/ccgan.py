"""``--init ccgan``: a continuous conditional GAN (Ding et al., ICLR 2021) generating parameter vectors
conditioned on the normalised objective value.

As the paper does it, adapted from images to parameter vectors:
- **Vicinal losses.** Each step draws target labels from the training labels plus Gaussian
  noise (sigma by Silverman's rule of thumb, the paper's choice); the discriminator sees,
  for each target, a real vector whose label lies in the target's vicinity and a fake one
  generated at a label drawn uniformly from that vicinity. ``vicinity=hard`` (HVDL) uses
  the window |y - t| <= kappa with kappa = ``kappa_scale`` x the largest gap between
  neighbouring training labels; ``vicinity=soft`` (SVDL) weights every pair by
  exp(-nu (y - t)^2) with nu = 1 / kappa^2 and keeps pairs whose weight exceeds 1e-3.
  Hinge loss, a spectrally normalised projection discriminator, Adam with betas (0.5, 0.999).
- **Label embedding (the paper's improved label input).** A regression network maps
  vectors to their label through a non-negative embedding h (x -> h -> y); then a small
  network y -> h is trained, the regression's last layer fixed, so that noisy labels map
  to embeddings the last layer reads back as the label. The generator takes [noise, h(y)];
  the discriminator projects its features onto h(t) (concatenation in the generator rather
  than the paper's conditional batch norm: these are MLPs, not convolutional stacks).
- **Model selection.** A GAN's losses do not say when it is good, so every ``eval_every``
  iterations the energy distance between held-out (vector, label) pairs and generated ones
  at the same labels is measured; the generator with the lowest is kept (early stopping on
  it with ``patience`` checks), and optuna minimises it over width, layers, noise
  dimension, embedding size, kappa's scale, learning rates and batch size.
"""

from __future__ import annotations

import time
from typing import Literal

import numpy as np
import torch
from pydantic import Field
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm

from biobench.initializers.base import initializers
from biobench.initializers.generative import diagnostics
from biobench.initializers.generative.cvae import mlp
from biobench.initializers.generative.family import GenerativeInitializer, GenerativeOptions
from biobench.initializers.generative.loop import fit_epochs, tensors
from biobench.initializers.generative.training_data import TrainingSet
from biobench.learning import BestSoFar

SOFT_THRESHOLD = 1e-3  # soft vicinity: pairs with a smaller weight are not drawn (the paper's nonzero threshold)


class CCGAN(nn.Module):
    """Label embedding (x -> h -> y regression and y -> h), generator and projection discriminator."""

    def __init__(self, n_params: int, width: int = 64, layers: int = 2, noise: int = 4, embedding: int = 16) -> None:
        super().__init__()
        self.noise = noise
        self.x_to_h = nn.Sequential(mlp(n_params, width, 2), nn.Linear(width, embedding), nn.ReLU())
        self.h_to_y = nn.Linear(embedding, 1)
        self.y_to_h = nn.Sequential(nn.Linear(1, width), nn.ReLU(), nn.Linear(width, embedding), nn.ReLU())
        self.generator = nn.Sequential(mlp(noise + embedding, width, layers), nn.Linear(width, n_params), nn.Sigmoid())
        blocks: list[nn.Module] = []
        for i in range(layers):
            blocks += [spectral_norm(nn.Linear(n_params if i == 0 else width, width)), nn.LeakyReLU(0.2)]
        self.features = nn.Sequential(*blocks)
        self.score = spectral_norm(nn.Linear(width, 1))
        self.project = spectral_norm(nn.Linear(embedding, width, bias=False))

    def embed(self, y: torch.Tensor) -> torch.Tensor:
        return self.y_to_h(y)

    def fake(self, z: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return self.generator(torch.cat([z, self.embed(y)], dim=1))

    def discriminate(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        phi = self.features(x)
        return (self.score(phi) + (phi * self.project(self.embed(y))).sum(dim=1, keepdim=True)).squeeze(1)

    @torch.no_grad()
    def generate(self, conditions: np.ndarray, generator: torch.Generator) -> np.ndarray:
        self.eval()
        device = next(self.parameters()).device
        y = torch.as_tensor(np.asarray(conditions, dtype=np.float32).reshape(-1, 1), device=device)
        z = torch.randn(len(y), self.noise, generator=generator).to(device)
        return self.fake(z, y).cpu().numpy().astype(float)


def _train_embedding(model: CCGAN, data: TrainingSet, seed: int, device: str, deadline: float) -> dict:
    """The improved label input: regression x -> h -> y, then y -> h against the fixed last layer."""
    regression = nn.Sequential(model.x_to_h, model.h_to_y)
    fit_epochs(regression, lambda net, x, c: ((net(x) - c) ** 2).mean(), data.x_train, data.c_train, data.x_val,
               data.c_val, lr=1e-3, weight_decay=1e-5, batch_size=32, max_epochs=300, patience=20, seed=seed,
               device=device, deadline=deadline)
    with torch.no_grad():
        xv, cv = tensors(device, data.x_val, data.c_val)
        residual = float(((regression(xv) - cv) ** 2).mean())
        regression_r2 = 1.0 - residual / max(float(cv.var()), 1e-12)
    model.h_to_y.requires_grad_(False)
    labels = np.unique(data.c_train)  # the training split's labels only
    generator = torch.Generator().manual_seed(seed)
    optimizer = torch.optim.Adam(model.y_to_h.parameters(), lr=1e-3)
    base = torch.as_tensor(labels, dtype=torch.float32, device=device).reshape(-1, 1)
    for _ in range(300):  # at least one step, like every training loop here, even past the deadline
        y = base[torch.randint(len(base), (128,), generator=generator).to(device)]
        y = y + 0.2 * torch.randn(y.shape, generator=generator).to(device)  # the paper's gamma ~ N(0, 0.2^2)
        optimizer.zero_grad()
        loss = ((model.h_to_y(model.y_to_h(y)) - y) ** 2).mean()
        loss.backward()
        optimizer.step()
        if time.monotonic() >= deadline:
            break
    model.h_to_y.requires_grad_(True)
    return {"label_regression_r2": round(regression_r2, 4), "embedding_mse": round(loss.item(), 6)}


class Vicinity:
    """Draws (target label, real index, fake label, weights) batches under the hard or soft vicinal rule."""

    def __init__(self, labels: np.ndarray, kind: str, kappa_scale: float, rng: np.random.Generator) -> None:
        self.labels, self.kind, self.rng = labels, kind, rng
        self.unique = np.unique(labels)
        self.sigma = 1.06 * float(np.std(labels)) * len(labels) ** (-1 / 5)  # Silverman's rule of thumb
        gap = float(np.max(np.diff(self.unique))) if len(self.unique) > 1 else 1.0
        self.kappa = kappa_scale * gap
        self.nu = 1.0 / self.kappa**2
        self.radius = self.kappa if kind == "hard" else float(np.sqrt(-np.log(SOFT_THRESHOLD) / self.nu))

    def draw(self, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        base = self.rng.choice(self.unique, n)
        target = base + self.rng.normal(0, self.sigma, n)
        inside = np.abs(self.labels[None, :] - target[:, None]) <= self.radius
        for _ in range(20):  # a target with no real vector in its vicinity gets fresh noise, as the paper does
            empty = ~inside.any(axis=1)
            if not empty.any():
                break
            target[empty] = base[empty] + self.rng.normal(0, self.sigma, empty.sum())
            inside[empty] = np.abs(self.labels[None, :] - target[empty, None]) <= self.radius
        empty = ~inside.any(axis=1)  # still none: the target is its training label itself
        target[empty] = base[empty]
        inside[empty] = self.labels[None, :] == base[empty, None]
        real = np.argmax(self.rng.random(inside.shape) * inside, axis=1)
        fake = np.clip(self.rng.uniform(target - self.radius, target + self.radius), 0.0, 1.0)
        if self.kind == "hard":
            return target, real, fake, np.ones(n), np.ones(n)
        return (target, real, fake, np.exp(-self.nu * (self.labels[real] - target) ** 2),
                np.exp(-self.nu * (fake - target) ** 2))


@initializers.register("ccgan")
class CcganInitializer(GenerativeInitializer):
    description = "continuous conditional GAN (vicinal losses, label embedding) sampled at the low-fval condition"

    class Options(GenerativeOptions):
        vicinity: Literal["hard", "soft"] = "hard"
        max_iterations: int = Field(3000, ge=1)
        eval_every: int = Field(50, ge=1)
        patience: int = Field(10, ge=1)  # validation checks without improvement

    def search_space(self, trial, n_params: int) -> dict:
        return {"n_params": n_params, "width": trial.suggest_categorical("width", [32, 64, 128]),
                "layers": trial.suggest_int("layers", 1, 3), "noise": trial.suggest_int("noise", 2, 8),
                "embedding": trial.suggest_categorical("embedding", [8, 16, 32]),
                "kappa_scale": trial.suggest_float("kappa_scale", 0.5, 4.0, log=True),
                "lr_g": trial.suggest_float("lr_g", 1e-4, 3e-3, log=True),
                "lr_d": trial.suggest_float("lr_d", 1e-4, 3e-3, log=True),
                "batch_size": trial.suggest_categorical("batch_size", [32, 64, 128]),
                "max_epochs": self.settings.max_iterations // self.settings.eval_every}

    def first_guess(self, n_params: int) -> dict:
        return {"width": 64, "layers": 2, "noise": 4, "embedding": 16, "kappa_scale": 2.0, "lr_g": 1e-3,
                "lr_d": 1e-3, "batch_size": 64}

    def build(self, config: dict) -> CCGAN:
        return CCGAN(config["n_params"], config["width"], config["layers"], config["noise"], config["embedding"])

    def fit(self, config, data: TrainingSet, seed, device, deadline, on_epoch):
        model = self.build(config).to(device)
        embedding = _train_embedding(model, data, seed, device, deadline)
        model.y_to_h.requires_grad_(False)  # the embedding is fixed while the GAN trains, as in the paper
        vicinity = Vicinity(data.c_train, self.settings.vicinity, config["kappa_scale"],
                            np.random.default_rng(seed))
        generator = torch.Generator().manual_seed(seed)
        opt_g = torch.optim.Adam(model.generator.parameters(), lr=config["lr_g"], betas=(0.5, 0.999))
        opt_d = torch.optim.Adam([*model.features.parameters(), *model.score.parameters(),
                                  *model.project.parameters()], lr=config["lr_d"], betas=(0.5, 0.999))
        (x_real,) = tensors(device, data.x_train)
        best = BestSoFar(model, self.settings.patience, deadline)
        curves: dict[str, list[float]] = {"train_loss": [], "d_loss": [], "val_loss": []}
        g_sum = d_sum = 0.0
        n = config["batch_size"]
        for iteration in range(1, self.settings.max_iterations + 1):
            model.train()
            target, real, fake_labels, w_real, w_fake = vicinity.draw(n)
            t, yf, wr, wf = tensors(device, target, fake_labels, w_real, w_fake)
            fake = model.fake(torch.randn(n, model.noise, generator=generator).to(device), yf)
            d_loss = (wr.squeeze(1) * torch.relu(1 - model.discriminate(x_real[real], t))).mean() + \
                (wf.squeeze(1) * torch.relu(1 + model.discriminate(fake.detach(), t))).mean()
            opt_d.zero_grad()
            d_loss.backward()
            opt_d.step()
            g_loss = -model.discriminate(model.fake(torch.randn(n, model.noise, generator=generator).to(device), t),
                                         t).mean()
            opt_g.zero_grad()
            g_loss.backward()
            opt_g.step()
            g_sum, d_sum = g_sum + g_loss.item(), d_sum + d_loss.item()
            late = time.monotonic() >= deadline  # checked every iteration: a check interval may be slow
            if iteration % self.settings.eval_every and not late:
                continue
            done = iteration % self.settings.eval_every or self.settings.eval_every
            curves["train_loss"].append(g_sum / done)
            curves["d_loss"].append(d_sum / done)
            g_sum = d_sum = 0.0
            curves["val_loss"].append(diagnostics.conditional_energy(model.generate, data.x_val, data.c_val, seed, 1))
            on_epoch(len(curves["val_loss"]))
            if best.should_stop(curves["val_loss"][-1]) or late:
                break
        if not curves["val_loss"]:  # fewer iterations than one check
            curves["val_loss"].append(diagnostics.conditional_energy(model.generate, data.x_val, data.c_val, seed, 1))
            best.should_stop(curves["val_loss"][-1])
        model = best.restore()
        model.embedding_quality = embedding  # for network_diagnostics; not saved
        return model, curves, best.best

    def network_diagnostics(self, model, data: TrainingSet) -> dict:
        return {**getattr(model, "embedding_quality", {}), "vicinity": self.settings.vicinity, "loss_names": {"train_loss": "generator (hinge)",
                                                                     "d_loss": "discriminator (hinge, vicinal)",
                                                                     "val_loss": "energy distance, validation"}}
