"""The neural surrogate of a problem's simulator: scaled parameters -> every simulated output (torch).

Inputs are the parameters in [0, 1] by the problem's bounds. Outputs are the
simulator's rows (every simulation's selected symbols at every output time) flattened;
each is compressed as asinh(y / s), with s about its median magnitude over the training
set, then standardised: outputs spread over orders of magnitude across the bounds (0 to 2e5
on BIOMD0000000507), and the squared error on raw values would fit only the largest. A
species in the nanomolar range weighs as much as one in the millimolar range.
Training: Adam on the squared error (or a full-batch L-BFGS polish), early stopping on a
validation split (the best weights are kept; optionally on the split without its worst
points, ``validation_trim``), bounded by epochs, patience and seconds; seeded and
deterministic on CPU. Saved as a state_dict (loaded with ``weights_only=True``) plus a
JSON config.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from biobench.learning import BestSoFar, train_epochs
from biobench.saved_networks import load_network, save_network

WEIGHTS = "surrogate.pt"  # the weights file in a saved surrogate's folder, beside its config
_MIN_STD = 1e-12  # an output that never changes is predicted as its mean
LBFGS_ITERATIONS = 20  # quasi-Newton iterations per epoch of an L-BFGS polish


@dataclass(frozen=True)
class NetworkSpec:
    n_inputs: int
    n_outputs: int
    layers: int = 3
    width: int = 128


def smooth_mlp(spec: NetworkSpec) -> nn.Sequential:
    """``layers`` hidden layers of ``width`` with SiLU (smooth, so gradients through it are useful), linear out."""
    blocks: list[nn.Module] = []
    for i in range(spec.layers):
        blocks += [nn.Linear(spec.n_inputs if i == 0 else spec.width, spec.width), nn.SiLU()]
    return nn.Sequential(*blocks, nn.Linear(spec.width, spec.n_outputs))


@dataclass(frozen=True)
class TrainingSpec:
    lr: float = 1e-3
    batch_size: int = 32
    max_epochs: int = 2000
    patience: int = 80
    time_limit: float = 120.0  # seconds
    validation: float = 0.15  # share of the training points held out for early stopping
    seed: int = 0
    validation_trim: float = 0.0  # share of the worst validation points left out of the early-stopping loss
    optimizer: str = "adam"  # or "lbfgs": full-batch quasi-Newton steps (one per epoch), for a polish


class SurrogateNetwork(nn.Module):
    """An MLP with SiLU activations (smooth, so the surrogate objective has useful gradients)."""

    def __init__(self, spec: NetworkSpec, lower: np.ndarray, upper: np.ndarray, scale: np.ndarray,
                 mean: np.ndarray, std: np.ndarray, z_min: np.ndarray, z_max: np.ndarray) -> None:
        super().__init__()
        self.spec = spec
        self.body = smooth_mlp(spec)
        buffers = {"lower": lower, "span": upper - lower, "scale": scale, "mean": mean, "std": std,
                   "z_min": z_min, "z_max": z_max}
        for name, value in buffers.items():
            self.register_buffer(name, torch.as_tensor(np.asarray(value, dtype=np.float32)))

    def forward(self, unit: torch.Tensor) -> torch.Tensor:
        """Standardised outputs of parameters already in [0, 1]."""
        return self.body(unit)

    @torch.no_grad()
    def predict(self, x_scaled: np.ndarray, batch: int = 8192) -> np.ndarray:
        """Outputs in the simulator's units for scaled parameters, shape (points, outputs)."""
        x = torch.as_tensor(np.atleast_2d(x_scaled), dtype=torch.float32, device=self.lower.device)
        parts = [self.decode(self((x[i:i + batch] - self.lower) / self.span)) for i in range(0, len(x), batch)]
        return torch.cat(parts).cpu().double().numpy()

    def encode(self, outputs: torch.Tensor) -> torch.Tensor:
        return (torch.asinh(outputs / self.scale) - self.mean) / self.std

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Back to the simulator's units, within the range seen in training: sinh turns an overshoot of the
        network into an exponentially large output."""
        return torch.sinh(torch.clamp(z * self.std + self.mean, self.z_min, self.z_max)) * self.scale


def output_transform(outputs: np.ndarray) -> tuple[np.ndarray, ...]:
    """Per output: the asinh scale, the mean and standard deviation after it, and the range seen.

    The scale is the median magnitude, but at least a thousandth of the largest: an output that
    decays to nothing in most simulations would otherwise be compressed so hard that a small error
    in the network's output is a large one in the simulator's units.
    """
    magnitude = np.abs(outputs)
    largest = magnitude.max(axis=0)
    scale = np.maximum(np.maximum(np.median(magnitude, axis=0), 1e-3 * largest), 1e-30)  # 1e-30: never 0 in float32
    z = np.arcsinh(outputs / scale)
    return scale, z.mean(axis=0), np.maximum(z.std(axis=0), _MIN_STD), z.min(axis=0), z.max(axis=0)


def fit(spec: NetworkSpec, training: TrainingSpec, x: np.ndarray, outputs: np.ndarray, lower: np.ndarray,
        upper: np.ndarray, model: SurrogateNetwork | None = None, device: str = "cpu",
        max_epochs: int | None = None, in_units: bool = False, on_epoch=None) -> tuple[SurrogateNetwork, dict]:
    """Train on (scaled parameters, outputs); continue from ``model`` when given (its standardisation kept).
    ``on_epoch(done, most)`` hears each finished epoch (a progress bar while a network trains).

    The loss is the squared error of the compressed outputs, or with ``in_units`` of the decoded
    outputs in the simulator's units over each output's spread: the error R^2 judges, for a
    fine-tune after a compressed fit (from scratch it would fit only the largest outputs).
    ``training.validation_trim`` leaves the worst share of validation points out of the early-stopping
    loss: a few points no network of the switch's state fits would otherwise stop training early and
    halve the step (measured in ``biobench.surrogate.regimes``). ``training.optimizer == "lbfgs"`` takes
    full-batch L-BFGS steps instead of Adam's minibatches: a polish of a trained network, whose fit of
    the largest outputs Adam leaves short. Returns the network with the weights of its best validation
    epoch and a summary (epochs, seconds, best validation loss, training and validation curves).
    """
    torch.manual_seed(training.seed)
    generator = np.random.default_rng(training.seed)
    order = generator.permutation(len(x))
    n_val = max(1, int(round(training.validation * len(x)))) if len(x) >= 10 else 0
    val, train = order[:n_val], order[n_val:]
    if model is None:
        model = SurrogateNetwork(spec, lower, upper, *output_transform(outputs[train]))
    model.to(device)
    unit = torch.as_tensor((x - lower) / (upper - lower), dtype=torch.float32, device=device)
    raw = torch.as_tensor(outputs, dtype=torch.float32, device=device)
    if in_units:
        spread = torch.clamp(raw[torch.as_tensor(train, device=device)].std(dim=0), min=1e-12)
        target = raw / spread
        predict = lambda inputs: model.decode(model(inputs)) / spread  # noqa: E731
    else:
        target, predict = model.encode(raw), model
    lbfgs = training.optimizer == "lbfgs"
    if lbfgs:  # a polish of a trained network: the line search sets the step, no schedule
        optimizer = torch.optim.LBFGS(model.parameters(), lr=1.0, max_iter=LBFGS_ITERATIONS, history_size=50,
                                      line_search_fn="strong_wolfe")
    else:
        optimizer = torch.optim.Adam(model.parameters(), lr=training.lr)
        # halve the step when validation stalls: the last factor of accuracy needs small steps
        schedule = torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, factor=0.5,
                                                              patience=max(1, training.patience // 4))
    train_rows = torch.as_tensor(train, device=device)

    def full_batch_loss() -> torch.Tensor:
        optimizer.zero_grad()
        loss = torch.mean((predict(unit[train_rows]) - target[train_rows]) ** 2)
        loss.backward()
        return loss
    val_rows = torch.as_tensor(val, device=device)

    def validation_loss() -> float:
        with torch.no_grad():
            squared = (predict(unit[val_rows]) - target[val_rows]) ** 2
            if not training.validation_trim:
                return float(torch.mean(squared))
            per_point = torch.mean(squared, dim=1)
            kept = max(1, int(len(per_point) * (1.0 - training.validation_trim)))
            return float(torch.mean(torch.sort(per_point).values[:kept]))

    start_loss = float("inf")
    if in_units and n_val:  # a fine-tune keeps the network it started from unless an epoch beats it
        model.eval()
        start_loss = validation_loss()
    started = time.perf_counter()
    best = BestSoFar(model, training.patience, time.monotonic() + training.time_limit, min_improvement=0.0,
                     best=start_loss)

    def epoch() -> float:
        if lbfgs:
            return float(optimizer.step(full_batch_loss).detach())
        shuffled = train[generator.permutation(len(train))]
        total = 0.0
        for i in range(0, len(shuffled), training.batch_size):
            rows = torch.as_tensor(shuffled[i:i + training.batch_size], device=device)
            loss = torch.mean((predict(unit[rows]) - target[rows]) ** 2)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += float(loss.detach()) * len(rows)
        return total / len(shuffled)

    most = max_epochs or training.max_epochs
    model, curves = train_epochs(model, epoch, lambda train_loss: validation_loss() if n_val else train_loss, best,
                                 most, after_validation=None if lbfgs else schedule.step,
                                 on_epoch=None if on_epoch is None else lambda done: on_epoch(done, most))
    epochs = len(curves["train"])
    summary = {"epochs": epochs, "seconds": time.perf_counter() - started, "best_validation_loss": best.best,
               "start_validation_loss": start_loss if in_units else None,  # a fresh fit starts from nothing
               "train_points": int(len(train)), "validation_points": int(n_val), "curves": curves}
    return model, summary


def save(model: SurrogateNetwork, config: dict, folder: Path) -> None:
    save_network(model, config | {"network": asdict(model.spec)}, folder, WEIGHTS)


def load(folder: Path, device: str = "cpu", build=None) -> tuple[SurrogateNetwork, dict] | None:
    """The saved network and config, or None when absent (``biobench.saved_networks``); ``build(config)`` makes
    the empty module its weights load into (default: one network; ``regimes.empty`` for --arch regimes)."""
    return load_network(folder, WEIGHTS, build or empty_network, "surrogate: the saved network", "--retrain",
                        device)


def empty_network(config: dict) -> SurrogateNetwork:
    """A network of the saved shape; its buffers (bounds, output transform) come with the weights."""
    spec = NetworkSpec(**config["network"])
    inputs, outputs = np.zeros(spec.n_inputs), np.ones(spec.n_outputs)
    return SurrogateNetwork(spec, inputs, inputs + 1, outputs, outputs, outputs, outputs, outputs)
