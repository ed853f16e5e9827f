"""Trained torch networks on disk: a state_dict (weights only) plus a JSON config, loaded without pickle.

One home for every trained network's files (generative initializers, amortized inference,
surrogates): a folder named by what the network depends on, train-or-load, the device. The
config is written last, so a folder with both files holds a complete network; loading uses
``weights_only=True``, so a file cannot run code; a damaged file is a clear error that says
how to retrain.
"""

from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from torch import nn

from biobench.atomic import atomic_write_bytes, atomic_write_text
from biobench.errors import PluginError, first_line

CONFIG = "config.json"


def save_network(model: nn.Module, config: dict, folder: Path, weights: str) -> None:
    buffer = io.BytesIO()
    torch.save({k: v.cpu() for k, v in model.state_dict().items()}, buffer)
    atomic_write_bytes(folder / weights, buffer.getvalue())
    atomic_write_text(folder / CONFIG, json.dumps(config, indent=2))


def load_network(folder: Path, weights: str, build: Callable[[dict], nn.Module], what: str, retrain: str,
                 device: str = "cpu") -> tuple[nn.Module, dict] | None:
    """The saved network (``build(config)`` given its weights) and config, or None when absent.

    ``what`` names the network in the error ("cvae: the saved model"), ``retrain`` says how
    to train it again ("--retrain").
    """
    config_path, weights_path = folder / CONFIG, folder / weights
    if not (config_path.exists() and weights_path.exists()):
        return None
    try:
        config = json.loads(config_path.read_text())
        model = build(config)
        model.load_state_dict(torch.load(weights_path, map_location="cpu", weights_only=True))
    except Exception as exc:  # weights_only refuses pickled code; a damaged file fails to parse
        raise PluginError(f"{what} in {folder} cannot be loaded safely ({type(exc).__name__}: "
                          f"{first_line(exc)[:200]}); delete the folder or pass {retrain}.") from None
    return model.to(device).eval(), config


def network_folder(root: Path, model_id: str, identity: Any, settings: dict) -> Path:
    """``root/<model id>-<digest>``: the digest of what the network depends on (the problem, or its measurement
    layout, and the options that change the network), so a match is reused and any change trains anew."""
    digest = hashlib.sha256(json.dumps([identity, settings], sort_keys=True).encode()).hexdigest()[:16]
    return root / f"{model_id}-{digest}"


def resolve_device(device: str) -> str:
    """``auto``: a GPU where torch sees one, else the CPU."""
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return device


def trained_or_loaded(folder: Path | None, weights: str, build: Callable[[dict], nn.Module], what: str,
                      retrain_hint: str, device: str, retrain: bool,
                      train: Callable[[], tuple[nn.Module, dict]]) -> tuple[nn.Module, dict, bool]:
    """The network saved in ``folder`` (unless ``retrain``), else ``train()``'s, saved there; and whether it was
    reused. Without a folder (no store) it is trained and kept in memory only."""
    loaded = None if retrain or folder is None else load_network(folder, weights, build, what, retrain_hint, device)
    if loaded is not None:
        return loaded[0], loaded[1], True
    model, config = train()
    if folder is not None:
        save_network(model, config, folder, weights)
    return model, config, False
