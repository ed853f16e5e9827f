"""``--init cvae-transformer``: a conditional VAE whose encoder and decoder are transformers over parameter tokens.

Each parameter is a token: its value's embedding (one linear map shared by all parameters)
plus a learned embedding of which parameter it is; the condition is a token of its own.
The encoder reads [summary, condition, parameter tokens] and takes the posterior's mean
and log-variance from the summary token. The decoder (``nn.TransformerDecoder``) lets one
learned query per parameter attend to the latent token and a condition token, and reads
each parameter's value off its query (sigmoid: the box). Attention lets the model learn
which parameters move together (the correlated directions of a fit's valleys) without an
MLP's fixed input order. Same loss, data, condition semantics, accounting, saving and
diagnostics as ``cvae`` (``family``, ``cvae.VAEInitializer``); the optuna search covers
model width, heads, layers and latent dimension with the learning rate, weight decay and
batch size.
"""

from __future__ import annotations

import torch
from torch import nn

from biobench.initializers.base import initializers
from biobench.initializers.generative.cvae import VAEInitializer, VAEMixin, VAEOptions


class TransformerCVAE(VAEMixin, nn.Module):
    def __init__(self, n_params: int, d_model: int = 32, heads: int = 2, layers: int = 2, latent: int = 4) -> None:
        super().__init__()
        self.latent = latent
        self.value = nn.Linear(1, d_model)  # a parameter's value -> its token (shared by all parameters)
        self.which = nn.Embedding(n_params, d_model)  # ... plus which parameter it is
        self.condition_in = nn.Linear(1, d_model)
        self.summary = nn.Parameter(torch.zeros(1, 1, d_model))
        self.encoder = nn.TransformerEncoder(
            nn.TransformerEncoderLayer(d_model, heads, 2 * d_model, dropout=0.0, batch_first=True), layers,
            enable_nested_tensor=False)
        self.mu = nn.Linear(d_model, latent)
        self.logvar = nn.Linear(d_model, latent)
        self.queries = nn.Embedding(n_params, d_model)  # one query per parameter to decode
        self.latent_in = nn.Linear(latent, d_model)
        self.condition_out = nn.Linear(1, d_model)
        self.decoder = nn.TransformerDecoder(
            nn.TransformerDecoderLayer(d_model, heads, 2 * d_model, dropout=0.0, batch_first=True), layers)
        self.head = nn.Linear(d_model, 1)
        self.register_buffer("index", torch.arange(n_params), persistent=False)

    def encode(self, x: torch.Tensor, c: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        tokens = self.value(x.unsqueeze(-1)) + self.which(self.index)  # (batch, parameters, d_model)
        sequence = torch.cat([self.summary.expand(len(x), -1, -1), self.condition_in(c).unsqueeze(1), tokens], dim=1)
        summary = self.encoder(sequence)[:, 0]
        return self.mu(summary), self.logvar(summary)

    def decode(self, z: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        memory = torch.stack([self.latent_in(z), self.condition_out(c)], dim=1)  # (batch, 2, d_model)
        queries = self.queries(self.index).expand(len(z), -1, -1)
        return torch.sigmoid(self.head(self.decoder(queries, memory)).squeeze(-1))


@initializers.register("cvae-transformer")
class TransformerCvaeInitializer(VAEInitializer):
    description = "conditional VAE with transformer encoder/decoder over parameter tokens, sampled at low fval"

    class Options(VAEOptions):
        pass

    def search_space(self, trial, n_params: int) -> dict:
        return {"n_params": n_params, "d_model": trial.suggest_categorical("d_model", [16, 32, 64]),
                "heads": trial.suggest_categorical("heads", [1, 2, 4]), "layers": trial.suggest_int("layers", 1, 3),
                "latent": trial.suggest_int("latent", 2, max(2, min(8, n_params))), **self.training_search(trial)}

    def first_guess(self, n_params: int) -> dict:
        return {"d_model": 32, "heads": 2, "layers": 2, "latent": min(4, max(2, n_params)), "lr": 1e-3,
                "weight_decay": 1e-5, "batch_size": 32}

    def build(self, config: dict) -> TransformerCVAE:
        return TransformerCVAE(config["n_params"], config["d_model"], config["heads"], config["layers"],
                               config["latent"])
