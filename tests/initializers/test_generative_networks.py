"""What each generative network must get right on data whose answer is known: generation follows the
condition, the transformer tells its parameter tokens apart, the CCGAN's vicinities are the paper's."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from biobench.initializers import initializers
from biobench.initializers.generative.ccgan import SOFT_THRESHOLD, Vicinity
from biobench.initializers.generative.training_data import TrainingSet

OPTIONS = {"cvae": {"max_epochs": 200, "patience": 20}, "cvae-transformer": {"max_epochs": 200, "patience": 20},
           "ccgan": {"max_iterations": 3000, "patience": 30}}


def known_answer(n: int = 400, seed: int = 0) -> TrainingSet:
    """Parameter 0 equals the condition (plus a little noise); parameter 1 is uniform whatever it is."""
    rng = np.random.default_rng(seed)
    c = rng.uniform(0, 1, n)
    unit = np.column_stack([np.clip(c + rng.normal(0, 0.03, n), 0, 1), rng.uniform(0, 1, n)])
    order = rng.permutation(n)
    return TrainingSet(unit, c, {}, train=order[80:], validation=order[:80], n_pilot=n, n_from_store=0, n_stored=0,
                       n_infinite=0)


def trained(name: str, data: TrainingSet, **options):
    member = initializers.get(name)(**(OPTIONS[name] | options))
    torch.manual_seed(0)
    config = member.search_space(_FixedTrial(member.first_guess(2)), 2)
    return member.fit(config, data, 0, "cpu", float("inf"), lambda epoch: None)


class _FixedTrial:
    """An optuna trial that answers every suggestion from a fixed dict (the member's first guess)."""

    def __init__(self, params: dict) -> None:
        self.params = params

    def __getattr__(self, suggest):
        return lambda key, *args, **kwargs: self.params[key]


@pytest.mark.parametrize("name", list(OPTIONS))
def test_generation_follows_the_condition(name):
    model, curves, value = trained(name, known_answer())
    assert np.isfinite(value) and len(curves["val_loss"]) >= 1
    generator = torch.Generator().manual_seed(1)
    low, high = model.generate(np.full(300, 0.2), generator), model.generate(np.full(300, 0.8), generator)
    # A network that ignored the condition would put both medians near 0.5 (0.3 off). Over eight training seeds
    # (a stand-in for another CPU's arithmetic) the CCGAN's medians ended at most 0.086 off and the free
    # parameter's spread at least 0.112 (uniform: 0.29); the bounds keep a margin on both sides.
    assert abs(np.median(low[:, 0]) - 0.2) < 0.15 and abs(np.median(high[:, 0]) - 0.8) < 0.15
    assert np.std(high[:, 1]) > 0.05  # the free parameter is not collapsed onto one value


def test_the_transformer_tells_its_parameter_tokens_apart():
    """Without the learned parameter embedding its encoder sees a set of values, not which is which:
    (0.2, 0.8) and (0.8, 0.2) would encode alike and reconstruction could not be good. 60 epochs reach an
    error of 0.012 (0.008 after 136), far below the bound."""
    rng = np.random.default_rng(2)
    unit, c = rng.uniform(0, 1, (400, 2)), np.zeros(400)
    data = TrainingSet(unit, c, {}, train=np.arange(80, 400), validation=np.arange(80), n_pilot=400, n_from_store=0,
                       n_stored=0, n_infinite=0)
    model, _, _ = trained("cvae-transformer", data, beta=0.01, max_epochs=60)
    swapped = np.ascontiguousarray(unit[:80, ::-1])
    error = np.sqrt(np.mean((model.reconstruct(swapped, c[:80]) - swapped) ** 2))
    assert error < 0.1


def test_hard_vicinity_draws_real_and_fake_labels_within_kappa():
    labels = np.random.default_rng(0).uniform(0, 1, 300)
    vicinity = Vicinity(labels, "hard", 2.0, np.random.default_rng(1))
    assert vicinity.sigma == pytest.approx(1.06 * labels.std() * 300 ** -0.2)  # Silverman's rule
    assert vicinity.kappa == pytest.approx(2.0 * np.diff(np.sort(labels)).max())
    target, real, fake, w_real, w_fake = vicinity.draw(500)
    assert np.all(np.abs(labels[real] - target) <= vicinity.kappa + 1e-12)
    assert np.all(np.abs(fake - target) <= vicinity.kappa + 1e-12) and fake.min() >= 0 and fake.max() <= 1
    assert np.all(w_real == 1) and np.all(w_fake == 1)
    assert len(np.unique(real)) > 200  # real vectors are drawn across the data, not the same few
    again = Vicinity(labels, "hard", 2.0, np.random.default_rng(1)).draw(500)
    np.testing.assert_array_equal(again[1], real)  # seeded


def test_soft_vicinity_weights_pairs_by_distance():
    labels = np.random.default_rng(0).uniform(0, 1, 300)
    vicinity = Vicinity(labels, "soft", 1.0, np.random.default_rng(1))
    target, real, fake, w_real, w_fake = vicinity.draw(500)
    np.testing.assert_allclose(w_real, np.exp(-vicinity.nu * (labels[real] - target) ** 2))
    np.testing.assert_allclose(w_fake, np.exp(-vicinity.nu * (fake - target) ** 2))
    assert w_real.min() >= SOFT_THRESHOLD * (1 - 1e-9) and w_real.max() <= 1
    assert w_real.std() > 0.05  # the weights vary: soft, not hard with ones


def test_a_target_far_from_every_label_falls_back_to_its_own_label():
    labels = np.array([0.0, 0.01, 0.02, 1.0])  # one lonely label: its vicinity may hold nothing after noise
    target, real, _, _, _ = Vicinity(labels, "hard", 0.1, np.random.default_rng(0)).draw(200)
    assert np.all(np.abs(labels[real] - target) <= 0.1 * 0.98 + 1e-12)
