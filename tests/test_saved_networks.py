"""Trained networks on disk: one folder rule for every kind, train-or-load, and damaged files refused."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from biobench.errors import PluginError
from biobench.saved_networks import network_folder, trained_or_loaded


def test_the_folder_name_is_pinned_so_networks_saved_before_are_found():
    """The digest of (what the network depends on, its options): changing the rule orphans every saved network."""
    assert network_folder(Path("root"), "BIOMD0000000012", "abc", {"pilot": 256, "trials": 4}) == \
        Path("root/BIOMD0000000012-49b30f9f55db39ab")
    assert network_folder(Path("root"), "m", "abc", {"pilot": 255}) != network_folder(Path("root"), "m", "abc",
                                                                                         {"pilot": 256})


def test_a_network_is_trained_once_then_loaded_and_a_damaged_one_is_refused(tmp_path):
    trained = []

    def train():
        torch.manual_seed(len(trained))
        trained.append(1)
        return torch.nn.Linear(2, 1), {"width": 1}

    def build(config):
        return torch.nn.Linear(2, config["width"])

    first, _, reused = trained_or_loaded(tmp_path, "w.pt", build, "test: the net", "--retrain", "cpu", False, train)
    again, config, reused_again = trained_or_loaded(tmp_path, "w.pt", build, "test: the net", "--retrain", "cpu",
                                                    False, train)
    assert (reused, reused_again, len(trained), config) == (False, True, 1, {"width": 1})
    assert torch.equal(first.weight, again.weight)
    _, _, forced = trained_or_loaded(tmp_path, "w.pt", build, "test: the net", "--retrain", "cpu", True, train)
    assert not forced and len(trained) == 2
    (tmp_path / "w.pt").write_bytes(b"not a state dict")
    with pytest.raises(PluginError, match="test: the net in .* cannot be loaded safely.*--retrain"):
        trained_or_loaded(tmp_path, "w.pt", build, "test: the net", "--retrain", "cpu", False, train)
