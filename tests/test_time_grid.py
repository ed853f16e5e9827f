"""Automatic horizons: settling models show their transient, oscillators get enough points per period."""

from __future__ import annotations

import numpy as np
import pytest
from click.testing import CliRunner

from biobench.commands import main
from biobench.models.model import load_model
from biobench.problem import build_problem
from biobench.settings import ProblemSettings, TimeSettings
from biobench.time_grid import MAX_AUTO_END, POINTS_PER_PERIOD

MATH = 'xmlns="http://www.w3.org/1998/Math/MathML"'


def sbml(model_id: str, species: dict[str, float], parameters: dict[str, float], rules: dict[str, str]) -> str:
    """A model of rate rules (infix formulas), one per species."""
    import libsbml

    listed = "".join(f'<species id="{s}" compartment="c" initialConcentration="{v}" hasOnlySubstanceUnits="false" '
                     f'boundaryCondition="false" constant="false"/>' for s, v in species.items())
    params = "".join(f'<parameter id="{p}" value="{v}" constant="true"/>' for p, v in parameters.items())
    rate_rules = "".join(
        f'<rateRule variable="{s}">{libsbml.writeMathMLToString(libsbml.parseL3Formula(f)).split("?>", 1)[-1]}'
        f"</rateRule>" for s, f in rules.items())
    return ('<?xml version="1.0" encoding="UTF-8"?><sbml xmlns="http://www.sbml.org/sbml/level3/version1/core" '
            f'level="3" version="1"><model id="{model_id}"><listOfCompartments><compartment id="c" size="1" '
            f'constant="true"/></listOfCompartments><listOfSpecies>{listed}</listOfSpecies><listOfParameters>'
            f'{params}</listOfParameters><listOfRules>{rate_rules}</listOfRules></model></sbml>')


@pytest.fixture(scope="module")
def brusselator(tmp_path_factory):
    """A limit cycle with period about 7 time units (A = 1, B = 3): far shorter than the 1000-unit window."""
    path = tmp_path_factory.mktemp("osc") / "brusselator.xml"
    path.write_text(sbml("brusselator", {"X": 1.0, "Y": 1.0}, {"A": 1.0, "B": 3.0},
                         {"X": "A + X^2*Y - (B + 1)*X", "Y": "B*X - X^2*Y"}))
    return load_model(path)


def test_an_oscillator_is_sampled_per_period(brusselator):
    problem = build_problem(brusselator)
    period = problem.oscillation_period
    assert period is not None and 5 < period < 10
    times = problem.timepoints
    spacing = np.diff(times)
    assert np.allclose(spacing, spacing[0]) and period / spacing[0] >= POINTS_PER_PERIOD
    assert 8 * period <= times[-1] <= MAX_AUTO_END  # several periods, not a 1000-unit window of aliases
    # The data really show the oscillation: X has peaks well inside the grid, not one sample per cycle.
    x = problem.data[:, problem.observables.index("X")]
    assert ((x[1:-1] > x[:-2]) & (x[1:-1] > x[2:])).sum() >= 5


def test_explicit_time_settings_are_kept_as_given(brusselator):
    problem = build_problem(brusselator, ProblemSettings(time=TimeSettings(end=30, n=11)))
    assert problem.oscillation_period is None and len(problem.timepoints) == 11 and problem.timepoints[-1] == 30


def test_a_slow_drift_keeps_the_full_window(tmp_path):
    path = tmp_path / "drift.xml"
    path.write_text(sbml("drift", {"S": 0.0}, {"k": 0.01}, {"S": "k"}))
    problem = build_problem(load_model(path))
    assert problem.oscillation_period is None
    assert problem.timepoints[-1] == MAX_AUTO_END and len(problem.timepoints) == 51


def test_the_problem_summary_names_the_oscillation(brusselator):
    result = CliRunner().invoke(main, ["problem", "--model", str(brusselator.path)])
    assert result.exit_code == 0, result.output
    assert "oscillates with period" in result.output and "per period" in result.output


def test_a_model_where_nothing_moves_gets_the_full_window(tmp_path):
    path = tmp_path / "still.xml"
    path.write_text(sbml("still", {"S": 0.0}, {"k": 0.5}, {"S": "k * S"}))  # stays at 0 for ever
    problem = build_problem(load_model(path))
    assert problem.timepoints[-1] == MAX_AUTO_END and len(problem.timepoints) == 51


def test_a_model_that_blows_up_gets_the_longest_window_it_survives(tmp_path):
    """dS/dt = 0.02 S^2 from S = 1 blows up at t = 50: four corpus models failed this way over [0, 1000]
    and were refused; now the window shrinks (1000, 100, 10, 1) to one the nominal model survives."""
    path = tmp_path / "blowup.xml"
    path.write_text(sbml("blowup", {"S": 1.0}, {"k": 0.02}, {"S": "k * S^2"}))
    problem = build_problem(load_model(path))
    times = problem.timepoints
    assert times[-1] == 10.0 and len(times) == 51
    assert np.isfinite(problem.experiments.measured).all()
