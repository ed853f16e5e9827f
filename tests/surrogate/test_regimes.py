"""The surrogate of a switch (--arch regimes): each state's networks, blended by a calibrated classifier, saved and
reused; the state a user names is checked before any simulation."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from biobench.commands import main
from biobench.errors import ConfigError, ProblemError
from biobench.initializers.random import RandomInitializer
from biobench.likelihood import Likelihood
from biobench.models import load_model
from biobench.models.offline import offline_copy
from biobench.problem import build_problem
from biobench.surrogate import network
from biobench.surrogate.build import SurrogateOptions, simulate_design, train_surrogate
from biobench.surrogate.regimes import final_state, gate_features

# Bounded by epochs, not seconds: a busy machine trains the same networks.
REGIMES = SurrogateOptions(n_train=200, n_test=40, layers=2, width=32, time_limit=600.0, max_epochs=300,
                           arch="regimes", state=("species_1", "species_2"), members=2)


def in_bounds(problem, n: int, seed: int) -> np.ndarray:
    return RandomInitializer().sample(problem, n, np.random.default_rng(seed))


@pytest.fixture(scope="module")
def toggle_switch():
    return build_problem(load_model(offline_copy("BIOMD0000000507").path, model_id="BIOMD0000000507"))


@pytest.fixture(scope="module")
def trained(toggle_switch, tmp_path_factory):
    root = tmp_path_factory.mktemp("surrogates")
    return train_surrogate(toggle_switch, REGIMES, root), root


def test_the_state_is_the_first_output_ending_above_the_second():
    outputs = np.array([[[0.0, 0.0], [5.0, 1.0]], [[0.0, 0.0], [1.0, 5.0]]])  # (points, rows, columns)
    np.testing.assert_array_equal(final_state(outputs.reshape(2, -1), (2, 2), (0, 1)), [1, 0])
    np.testing.assert_array_equal(final_state(outputs.reshape(2, -1), (2, 2), (1, 0)), [0, 1])


def test_the_gate_sees_every_pairwise_difference_of_the_parameters():
    x = np.array([[1.0, 2.0, 4.0]])
    np.testing.assert_array_equal(gate_features(x), [[1.0, 2.0, 4.0, -1.0, -3.0, -2.0]])


def test_each_state_has_its_own_networks_and_the_gate_blends_them(trained, toggle_switch):
    """An inverted gate (state 1's probability given to state 0's networks) or one state's networks trained on the
    other's simulations predicts the held-out switch far worse than the blend as built; members trained with the
    same seed would be copies."""
    surrogate, _ = trained
    model, config = surrogate.model, surrogate.config
    regimes = config["training"]["regimes"]
    assert len(model.experts) == 4 and regimes["members"] == 2
    assert sum(regimes["simulations_per_state"]) == config["training"]["train_points"] > 150
    assert min(regimes["simulations_per_state"]) >= 20
    first, second = (dict(m.named_parameters())["body.0.weight"] for m in model.experts[:2])
    assert not torch.equal(first, second)
    x = in_bounds(toggle_switch, 60, seed=1)
    simulated, failed, _ = simulate_design(Likelihood(toggle_switch), x)
    x, simulated = x[~failed], simulated[~failed]
    p = model.gate(x)[:, None]
    assert ((p >= 0) & (p <= 1)).all()
    means = [np.mean([m.predict(x) for m in model.experts[k * 2:(k + 1) * 2]], axis=0) for k in (0, 1)]
    np.testing.assert_allclose(model.predict(x), p * means[1] + (1 - p) * means[0], rtol=1e-10)
    built = np.sum((model.predict(x) - simulated) ** 2)
    inverted = np.sum(((1 - p) * means[1] + p * means[0] - simulated) ** 2)
    assert built < 0.5 * inverted, (built, inverted)


def test_a_saved_regimes_surrogate_is_reused_with_the_same_predictions(trained, toggle_switch):
    """The gate is refitted from the training set saved in the state_dict; a gate not restored, or fitted on
    other data, predicts otherwise."""
    surrogate, root = trained
    again = train_surrogate(toggle_switch, REGIMES, root)
    assert again.reused and again.folder == surrogate.folder
    x = in_bounds(toggle_switch, 20, seed=2)
    np.testing.assert_allclose(again.outputs(x), surrogate.outputs(x), rtol=1e-6)


def test_trimming_validation_leaves_out_the_worst_points_not_the_best(trained, toggle_switch):
    """The fine-tune's starting validation loss of one network, with and without a trim: leaving out the worst
    half must lower it (leaving out the best half would raise it)."""
    member = trained[0].model.experts[0]
    x = in_bounds(toggle_switch, 40, seed=0)
    noise = np.random.default_rng(1).lognormal(0.0, 0.5, (40, member.spec.n_outputs))
    y = member.predict(x) * noise  # errors that differ by point
    losses = []
    for trim in (0.0, 0.5):
        spec = network.TrainingSpec(max_epochs=1, seed=0, validation_trim=trim)
        _, summary = network.fit(member.spec, spec, x, y, toggle_switch.lower, toggle_switch.upper,
                                 model=copy.deepcopy(member), in_units=True)
        losses.append(summary["start_validation_loss"])
    assert losses[1] < losses[0], losses


def test_a_state_that_never_switches_is_a_clear_error(toggle_switch):
    """species_3 (IPTG) is 0 in every simulation: it never ends above species_1."""
    options = SurrogateOptions(**{**REGIMES.__dict__, "state": ("species_3", "species_1"), "n_train": 40,
                                  "n_test": 5})
    with pytest.raises(ProblemError, match="0 of .* end with species_3 above species_1.*at least 20"):
        train_surrogate(toggle_switch, options, None)


def test_the_state_is_validated_before_any_simulation(toggle_switch, tmp_path, monkeypatch):
    with pytest.raises(ConfigError, match="needs --state A B"):
        SurrogateOptions(arch="regimes").validated()
    with pytest.raises(ConfigError, match="add --arch regimes"):
        SurrogateOptions(state=("species_1", "species_2")).validated()
    with pytest.raises(ConfigError, match="--members are options of --arch regimes"):
        SurrogateOptions(members=3).validated()
    with pytest.raises(ConfigError, match="at least one network"):
        SurrogateOptions(**{**REGIMES.__dict__, "members": 0}).validated()
    unknown = SurrogateOptions(**{**REGIMES.__dict__, "state": ("U", "species_2")})
    with pytest.raises(ConfigError, match="simulated outputs species_1, species_2, species_3; unknown: U"):
        train_surrogate(toggle_switch, unknown, tmp_path)
    assert not any(tmp_path.iterdir())  # nothing simulated, nothing saved
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, ["surrogate", "--model", "BIOMD0000000507", "--arch", "regimes"])
    assert result.exit_code != 0 and "needs --state A B" in result.output and "Traceback" not in result.output


def test_the_text_report_and_the_html_report_table_say_what_was_trained(trained, capsys):
    from biobench.report.saved_surrogates import surrogate_table
    from biobench.commands.surrogate import print_report

    surrogate, _ = trained
    config = surrogate.config
    print_report("toggle", config, surrogate.folder, False, config["options"])
    out = capsys.readouterr().out
    counts = config["training"]["regimes"]["simulations_per_state"]
    assert "2 networks per state" in out and f"species_1 ends above species_2 in {counts[1]} of" in out
    assert surrogate_table([(config, None)])["network"].iloc[0] == "2 x 32, 2 states x 2"


def test_the_lbfgs_polish_lowers_the_error_in_the_simulators_units(toggle_switch):
    """A polish that does not run, or returns a network worse than it started from, fails here."""
    from biobench.surrogate.build import fit_network

    x = in_bounds(toggle_switch, 200, seed=3)
    outputs, failed, _ = simulate_design(Likelihood(toggle_switch), x)
    options = SurrogateOptions(layers=2, width=32, max_epochs=30)  # a short fit on compressed outputs: room to polish
    _, summary = fit_network(toggle_switch, options, x[~failed], outputs[~failed], polish=True)
    polish = summary["polish"]
    assert 1 <= polish["epochs"] <= 50 and polish["best_validation_loss"] < polish["start_validation_loss"], polish
