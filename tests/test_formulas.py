"""Observable and noise formulas, evaluated for all measurements of an observable at once, against the same
formula computed by hand from the simulated outputs (the PEtab two-step problem: placeholders, a fixed table
parameter, time)."""

from __future__ import annotations

import numpy as np
import pytest

from biobench.formulas import Formula
from biobench.likelihood import Likelihood


@pytest.fixture(scope="module")
def evaluated(petab_problem):
    likelihood = Likelihood(petab_problem)
    x = likelihood.natural(petab_problem.x_true)
    return petab_problem.experiments, likelihood.simulator, likelihood.simulator.simulate(x), x


def rows_of(experiments, observable_id):
    k = [spec.observable_id for spec in experiments.observables].index(observable_id)
    return np.flatnonzero(experiments.observable_index == k)


def test_a_number_is_one_constant_and_depends_on_nothing(evaluated):
    experiments, simulator, outputs, x = evaluated
    formula = Formula(" 0.25 ", {}, rows_of(experiments, "obs_C"), experiments, simulator.column)
    assert formula(None, None) == 0.25 and not formula.depends_on_x and formula.model_column is None


def test_one_model_symbol_is_a_gather_of_its_output_column(evaluated):
    experiments, simulator, outputs, x = evaluated
    rows = rows_of(experiments, "obs_A")
    formula = Formula("A", {}, rows, experiments, simulator.column)
    assert formula.model_column == simulator.column("A") and formula.depends_on_x
    np.testing.assert_array_equal(formula(outputs, x), outputs[experiments.row[rows], simulator.column("A")])


def test_an_expression_of_model_symbols_time_parameters_and_placeholders(evaluated):
    """``scale * B + offset_B * time``: scale_B is an estimated placeholder on some rows and a number (1.5) on one,
    offset_B a fixed table parameter (0.1)."""
    experiments, simulator, outputs, x = evaluated
    rows = rows_of(experiments, "obs_B")
    table = experiments.observable_parameters
    formula = Formula("observableParameter1_obs_B * B + offset_B * time",
                      {"observableParameter1_obs_B": (table, 0)}, rows, experiments, simulator.column)
    scale = table.resolve(x)[rows, 0]
    assert sorted(set(np.round(scale, 12))) == sorted({1.5, round(x[3], 12)})  # scale_B is x[3] where estimated
    expected = scale * outputs[experiments.row[rows], simulator.column("B")] + 0.1 * experiments.times[rows]
    np.testing.assert_allclose(formula(outputs, x), expected, rtol=1e-12)
    assert formula.depends_on_x and formula.model_column is None


def test_a_formula_of_numbers_and_fixed_values_only_does_not_depend_on_the_parameters(evaluated):
    experiments, simulator, outputs, x = evaluated
    rows = rows_of(experiments, "obs_C")
    formula = Formula("2 * offset_B + time", {}, rows, experiments, simulator.column)
    assert not formula.depends_on_x
    np.testing.assert_allclose(formula(None, None), 0.2 + experiments.times[rows])
