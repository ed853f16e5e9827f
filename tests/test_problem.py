"""Problems: settings, reproducibility, and config validation."""

from __future__ import annotations

import numpy as np
import pytest

from biobench.errors import ConfigError, ProblemError
from biobench.models import load_model
from biobench.problem import build_problem
from biobench.settings import NoiseSettings, ProblemSettings, TimeSettings, load_run_settings
from biobench.time_grid import nice_ceiling


def test_same_settings_and_seed_give_bit_identical_data(two_step_model):
    settings = ProblemSettings(time=TimeSettings(end=20, n=11), seed=7)
    a, b = build_problem(two_step_model, settings), build_problem(two_step_model, settings)
    assert a.key == b.key
    assert a.data.tobytes() == b.data.tobytes()
    assert a.sigma.tobytes() == b.sigma.tobytes()


def test_another_seed_gives_other_noise_and_another_key(two_step_model):
    a = build_problem(two_step_model, ProblemSettings(seed=1))
    b = build_problem(two_step_model, ProblemSettings(seed=2))
    assert a.key != b.key
    assert not np.array_equal(a.data, b.data)
    np.testing.assert_array_equal(a.sigma, b.sigma)


def test_defaults_log10_scale_and_bounds_two_decades(two_step_problem):
    p = two_step_problem
    assert p.parameter_ids == ("k1", "R2_k2")
    assert p.scales == ("log10", "log10")
    np.testing.assert_allclose(p.lower, np.log10([0.5, 0.2]) - 2)
    np.testing.assert_allclose(p.upper, np.log10([0.5, 0.2]) + 2)
    np.testing.assert_allclose(p.to_natural(p.x_true), [0.5, 0.2])
    assert p.observables == ("A", "B", "C")
    assert p.data.shape == (21, 3) and p.n_data == 63


def test_noise_follows_relative_plus_absolute_sigma(two_step_model):
    settings = ProblemSettings(time=TimeSettings(points=[0, 1, 5]), noise=NoiseSettings(relative=0.2, absolute=0.05))
    p = build_problem(two_step_model, settings)
    from biobench.simulator import Simulator

    y = Simulator(two_step_model, p.experiments).simulate(p.nominal)
    np.testing.assert_allclose(p.sigma, 0.2 * np.abs(y) + 0.05)


def test_auto_horizon_covers_the_transient(two_step_model):
    p = build_problem(two_step_model)  # k2 = 0.2: settles within a few tens of time units
    assert 10 <= p.timepoints[-1] <= 200
    assert p.timepoints[0] == 0 and len(p.timepoints) == 51


def test_nice_ceiling():
    assert [nice_ceiling(v) for v in (0.7, 1.0, 1.1, 3, 7, 999)] == [1.0, 1.0, 2.0, 5.0, 10.0, 1000.0]


def test_explicit_parameters_and_bounds(two_step_model):
    p = build_problem(two_step_model, ProblemSettings(parameters=["R2_k2"], bounds={"R2_k2": (0.01, 1.0)}))
    assert p.parameter_ids == ("R2_k2",)
    np.testing.assert_allclose([p.lower[0], p.upper[0]], [-2, 0])


@pytest.mark.parametrize(
    "settings, message",
    [
        (ProblemSettings(parameters=["nope"]), "'nope' is not a global parameter"),
        (ProblemSettings(parameters=["doubled"]), "cannot be estimated: it is not constant"),
        (ProblemSettings(exclude=["k1", "R2_k2"]), "no estimable parameters"),
        (ProblemSettings(bounds={"k1": (1.0, 2.0)}), "outside its bounds"),
        (ProblemSettings(observables=["Q"]), "cannot observe"),
    ],
)
def test_bad_problem_settings_are_named(two_step_model, settings, message):
    with pytest.raises(ProblemError, match=message):
        build_problem(two_step_model, settings)


def test_config_file_with_typo_names_the_bad_key(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("starts: 3\nproblem:\n  noise:\n    relatve: 0.2\n")
    with pytest.raises(ConfigError, match=r"unknown key 'problem.noise.relatve'"):
        load_run_settings(path)


def test_config_file_with_bad_value_names_the_key(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("problem:\n  time:\n    n: 1\n")
    with pytest.raises(ConfigError, match=r"'problem.time.n'"):
        load_run_settings(path)


def test_config_file_is_read(tmp_path):
    path = tmp_path / "ok.yaml"
    path.write_text("starts: 3\nbudget: 50\nproblem:\n  scale: log\n  time: {end: 10, n: 5}\n")
    settings = load_run_settings(path)
    assert (settings.starts, settings.budget, settings.problem.scale, settings.problem.time.end) == (3, 50, "log", 10)


def test_invalid_yaml_is_a_config_error(tmp_path):
    path = tmp_path / "broken.yaml"
    path.write_text("problem: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_run_settings(path)


def test_shipped_example_config_builds_a_problem():
    from biobench.models import resolve_model
    from tests.conftest import REPO

    settings = load_run_settings(REPO / "configs" / "repressilator.yaml")
    problem = build_problem(resolve_model("BIOMD0000000012"), settings.problem)
    assert problem.observables == ("PX", "PY", "PZ")
    km = problem.parameter_ids.index("KM")
    np.testing.assert_allclose([problem.to_natural(problem.lower)[km], problem.to_natural(problem.upper)[km]], [1.0, 1000.0])


def test_simulations_start_at_zero_when_the_first_time_point_is_later(two_step_model):
    """As in PEtab: data at t = 1 are the state after one time unit, not the initial state moved to t = 1."""
    from biobench.likelihood import Likelihood

    later = build_problem(two_step_model, ProblemSettings(time=TimeSettings(points=[1, 5])))
    from_zero = build_problem(two_step_model, ProblemSettings(time=TimeSettings(points=[0, 1, 5])))
    predicted_later, _ = Likelihood(later).predict(later.nominal)
    predicted_from_zero, _ = Likelihood(from_zero).predict(from_zero.nominal)
    np.testing.assert_allclose(predicted_later, predicted_from_zero[3:], rtol=1e-10)  # rows t = 1 and t = 5
    assert not np.allclose(predicted_later[:3], predicted_from_zero[:3])  # t = 1 is not the initial state


def test_a_model_of_rate_rules_alone_observes_their_variables(tmp_path):
    """Ten BioModels of the corpus have no floating species, only rate rules: they are problems too."""
    sbml = (
        '<?xml version="1.0" encoding="UTF-8"?><sbml xmlns="http://www.sbml.org/sbml/level3/version1/core" '
        'level="3" version="1"><model id="rules"><listOfCompartments><compartment id="c" size="1" constant="true"/>'
        '</listOfCompartments><listOfParameters><parameter id="x" value="5" constant="false"/>'
        '<parameter id="k" value="0.3" constant="true"/></listOfParameters><listOfRules><rateRule variable="x">'
        '<math xmlns="http://www.w3.org/1998/Math/MathML"><apply><times/><apply><minus/><ci>k</ci></apply>'
        '<ci>x</ci></apply></math></rateRule></listOfRules></model></sbml>')
    path = tmp_path / "rules.xml"
    path.write_text(sbml)
    problem = build_problem(load_model(path))
    assert problem.parameter_ids == ("k",) and [o.observable_id for o in problem.experiments.observables] == ["x"]
    times = problem.timepoints
    data = problem.experiments.grid(problem.experiments.measured)[:, 0]
    truth = 5 * np.exp(-0.3 * times)
    assert np.abs(data - truth).max() < 0.5  # the decay the rule integrates, within 5 sigma (sigma <= 0.1)
