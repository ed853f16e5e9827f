"""The inference network (measurements -> parameters) and the proxy of the simulator it is trained through.

After "Deep Learning for Fast Inference of Mechanistic Models' Parameters" (arXiv 2312.03166):
a proxy network learns parameters -> noise-free observables from the simulated pairs
(``biobench.surrogate.network``'s MLP and training, unchanged); the inference network then
learns noisy observables -> parameters with an autoencoder-like loss, measurements ->
inference -> parameters -> frozen proxy -> reconstructed measurements, plus the parameter
loss on the simulated pairs:

    loss = mean((g(y~) - theta)^2) + proxy_weight * mean((proxy(g(y~)) - encode(y~))^2)

in scaled-parameter units ([0, 1] by the bounds) and the proxy's standardised output units.
The reconstruction term keeps an estimate of a poorly identified parameter where it
reproduces the data, not at the average of the parameters that could have made them.
Each epoch draws fresh noise for every simulation, so no simulation is seen twice alike.
Inputs pass through the proxy's own encoding (asinh around each measurement's median
magnitude, standardised), clipped to [-10, 10] so an outlying measurement cannot saturate
the network. Written here because no library trains this two-network loss; the loop is a
few lines of torch with the shared early stopping (``BestSoFar``).
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass

import numpy as np
import torch
from torch import nn

from biobench.amortized.datasets import SimulatedDatasets
from biobench.learning import BestSoFar, train_epochs
from biobench.likelihood import Likelihood
from biobench.surrogate import network as surrogate_network

_CLIP = 10.0


class AmortizedModel(nn.Module):
    """Both networks in one module, so one state_dict saves and loads them together. ``spec``: measurements
    in, parameters out (the surrogate's MLP, squashed into [0, 1])."""

    def __init__(self, proxy: surrogate_network.SurrogateNetwork, spec: surrogate_network.NetworkSpec) -> None:
        super().__init__()
        self.proxy, self.spec = proxy, spec
        self.inference = nn.Sequential(surrogate_network.smooth_mlp(spec), nn.Sigmoid())

    def encode(self, measurements: torch.Tensor) -> torch.Tensor:
        return torch.clamp(self.proxy.encode(measurements), -_CLIP, _CLIP)

    def forward(self, measurements: torch.Tensor) -> torch.Tensor:
        """Parameters in [0, 1] (by the bounds) for raw measurements, one dataset per row."""
        return self.inference(self.encode(measurements))

    @torch.no_grad()
    def estimate(self, measurements: np.ndarray) -> np.ndarray:
        """The network's estimate, unit scale, for one dataset or a batch of them."""
        y = torch.as_tensor(np.array(np.atleast_2d(measurements)), dtype=torch.float32, device=self.proxy.lower.device)
        return self(y).cpu().double().numpy()


@dataclass(frozen=True)
class AmortizedTraining:
    proxy_weight: float = 1.0
    lr: float = 1e-3
    batch_size: int = 64
    max_epochs: int = 3000  # per network
    patience: int = 60
    time_limit: float = 60.0  # seconds for both networks together
    validation: float = 0.15
    seed: int = 0


def train(datasets: SimulatedDatasets, likelihood: Likelihood, spec: surrogate_network.NetworkSpec,
          proxy_spec: surrogate_network.NetworkSpec, training: AmortizedTraining, device: str = "cpu") -> tuple[AmortizedModel, dict]:
    """The proxy first (a third of the time limit at most), then the inference network through it."""
    started = time.perf_counter()
    problem = likelihood.problem
    x_unit = (datasets.x - problem.lower) / (problem.upper - problem.lower)
    proxy, proxy_summary = surrogate_network.fit(
        proxy_spec, surrogate_network.TrainingSpec(time_limit=training.time_limit / 3, seed=training.seed,
                                                   validation=training.validation, max_epochs=training.max_epochs),
        datasets.x, datasets.clean, problem.lower, problem.upper, device=device)
    proxy.requires_grad_(False)
    torch.manual_seed(training.seed)
    model = AmortizedModel(proxy, spec).to(device)
    rng = np.random.default_rng(training.seed)
    order = rng.permutation(len(x_unit))
    n_val = max(1, int(round(training.validation * len(x_unit))))
    val, fit_rows = order[:n_val], order[n_val:]
    theta = torch.as_tensor(x_unit, dtype=torch.float32, device=device)
    y_val = torch.as_tensor(datasets.noisy(rng, likelihood, val), dtype=torch.float32, device=device)
    optimizer = torch.optim.Adam(model.inference.parameters(), lr=training.lr)
    schedule = torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, factor=0.5, patience=training.patience // 4)
    deadline = time.monotonic() + max(0.0, training.time_limit - (time.perf_counter() - started))
    best = BestSoFar(model, training.patience, deadline)

    def loss_terms(y: torch.Tensor, target: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        encoded = model.encode(y)
        estimate = model.inference(encoded)
        return torch.mean((estimate - target) ** 2), torch.mean((model.proxy(estimate) - encoded) ** 2)

    validation_parameters: list[float] = []

    def epoch() -> float:
        shuffled = fit_rows[rng.permutation(len(fit_rows))]
        y_fit = torch.as_tensor(datasets.noisy(rng, likelihood, shuffled), dtype=torch.float32, device=device)
        total = 0.0
        for i in range(0, len(shuffled), training.batch_size):
            rows = torch.as_tensor(shuffled[i:i + training.batch_size], device=device)
            parameter_loss, reconstruction = loss_terms(y_fit[i:i + training.batch_size], theta[rows])
            loss = parameter_loss + training.proxy_weight * reconstruction
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += float(loss.detach()) * len(rows)
        return total / len(shuffled)

    def validation(_: float) -> float:
        parameter_loss, reconstruction = loss_terms(y_val, theta[torch.as_tensor(val, device=device)])
        validation_parameters.append(float(parameter_loss))
        return float(parameter_loss + training.proxy_weight * reconstruction)

    model, curves = train_epochs(model, epoch, validation, best, training.max_epochs, trained=model.inference,
                                 after_validation=schedule.step)
    curves["validation_parameters"] = validation_parameters
    with torch.no_grad():
        error = model.estimate(y_val.cpu().numpy()) - x_unit[val]
    summary = {"proxy": {k: v for k, v in proxy_summary.items() if k != "curves"},
               "epochs": len(curves["train"]), "seconds": time.perf_counter() - started,
               "validation_rmse": np.sqrt(np.mean(error**2, axis=0)).tolist(),  # per parameter, unit scale
               "curves": curves, "inference": asdict(spec), "proxy_network": asdict(proxy_spec),
               "training": asdict(training)}
    return model, summary


def empty_model(config: dict) -> AmortizedModel:
    """A model of the saved shape; its weights and buffers come from the state_dict."""
    proxy = surrogate_network.empty_network({"network": config["proxy_network"]})
    return AmortizedModel(proxy, surrogate_network.NetworkSpec(**config["inference"]))
