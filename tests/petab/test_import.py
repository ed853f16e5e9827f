"""PEtab import: the likelihood against petab's own, condition semantics, and clear refusals."""

from __future__ import annotations

import math
import shutil

import numpy as np
import pandas as pd
import pytest
import yaml

from biobench.errors import ProblemError
from biobench.likelihood import Likelihood
from biobench.objective import Objective
from biobench.petab import load_petab_problem
from tests.conftest import PETAB_TWO_STEP


@pytest.mark.parametrize("shift", [0.0, 0.3])
def test_fval_is_the_sum_of_petabs_per_measurement_likelihoods(petab_problem, shift):
    """petab's calculate_single_llh scores each measurement; our vectorized objective must agree."""
    from petab.v1.calculate import calculate_single_llh

    objective = Objective(Likelihood(petab_problem))
    x = petab_problem.x_true + shift
    y, sigma = objective.likelihood.predict(petab_problem.to_natural(x))
    observables = pd.read_csv(PETAB_TWO_STEP.parent / "observables.tsv", sep="\t", index_col=0)
    rows = pd.read_csv(PETAB_TWO_STEP.parent / "measurements.tsv", sep="\t")
    expected = -sum(
        calculate_single_llh(m, s, observables.loc[o, "observableTransformation"],
                             observables.loc[o, "noiseDistribution"], sd)
        for m, s, o, sd in zip(rows.measurement, y, rows.observableId, sigma)
    )
    assert objective.fval(x) == pytest.approx(expected, rel=1e-12)


def least_squares_gaps(problem, spread: float, seed: int) -> tuple[np.ndarray, int]:
    """``0.5 * |residuals|^2 - fval`` at four points near the nominal one, and the residual count."""
    objective = Objective(Likelihood(problem))
    rng = np.random.default_rng(seed)
    gaps = []
    for _ in range(4):
        x = problem.x_true + rng.normal(0, spread, problem.n_parameters)
        res = objective.residuals(x)
        gaps.append(0.5 * float(res @ res) - objective.fval(x))
    assert len(res) == objective.likelihood.n_residuals
    return np.array(gaps), len(res)


def test_least_squares_form_differs_from_fval_by_a_constant(petab_problem):
    """Estimated sigma and Laplace noise included, 0.5 * |residuals|^2 - fval does not depend on x."""
    gaps, n_residuals = least_squares_gaps(petab_problem, 0.2, 0)
    assert n_residuals == 2 * petab_problem.n_data  # sigma residuals appended
    assert np.ptp(gaps) < 1e-8 * abs(gaps[0])


def test_conditions_overrides_and_preequilibration(petab_problem):
    """A(t) = A0 exp(-k1 t): condition-specific A0 and k1; after pre-equilibration C holds all mass."""
    objective = Objective(Likelihood(petab_problem))
    natural = petab_problem.nominal
    y, sigma = objective.likelihood.predict(natural)
    rows = pd.read_csv(PETAB_TWO_STEP.parent / "measurements.tsv", sep="\t")
    k1_base, k1_high = natural[0], natural[2]

    def at(obs, cond, t, preeq=None):
        mask = (rows.observableId == obs) & (rows.simulationConditionId == cond) & (rows.time == t)
        mask &= rows.preequilibrationConditionId.isna() if preeq is None else rows.preequilibrationConditionId == preeq
        return np.flatnonzero(mask)[0]

    assert y[at("obs_A", "c_low", 2)] == pytest.approx(5 * math.exp(-k1_base * 2), rel=1e-6)
    assert y[at("obs_A", "c_high", 0.5)] == pytest.approx(20 * math.exp(-k1_high * 0.5), rel=1e-6)
    assert sigma[at("obs_A", "c_high", 0.5)] == pytest.approx(0.2 + 0.1 * y[at("obs_A", "c_high", 0.5)])
    # pre-equilibrated: A re-initialized to 5 (c_low), C keeps the steady state 10, plus doubled = 2 k1
    assert y[at("obs_A", "c_low", 0, "c_pre")] == pytest.approx(5.0)
    assert y[at("obs_C", "c_low", 0, "c_pre")] == pytest.approx(10 + 2 * k1_base, rel=1e-6)
    # placeholders: the estimated scale, and the numeric override of one timepoint
    b_row = at("obs_B", "c_low", 10)
    assert sigma[b_row] == 0.5
    assert sigma[at("obs_B", "c_low", 1)] == pytest.approx(natural[4])


def test_petab_problem_key_follows_the_files(tmp_path, petab_problem):
    copy = tmp_path / "p"
    shutil.copytree(PETAB_TWO_STEP.parent, copy)
    same = load_petab_problem(copy / PETAB_TWO_STEP.name)
    assert same.key == petab_problem.key
    table = copy / "measurements.tsv"
    table.write_text(table.read_text().replace("3.737", "3.8"))
    assert load_petab_problem(copy / PETAB_TWO_STEP.name).key != petab_problem.key


def _edited(tmp_path, edit_table=None, edit_yaml=None):
    folder = tmp_path / "edited"
    shutil.copytree(PETAB_TWO_STEP.parent, folder)
    if edit_table is not None:
        name, edit = edit_table
        frame = edit(pd.read_csv(folder / name, sep="\t", dtype=str, keep_default_na=False))
        frame.to_csv(folder / name, sep="\t", index=False)
    if edit_yaml is not None:
        config = yaml.safe_load((folder / PETAB_TWO_STEP.name).read_text())
        edit_yaml(config)
        (folder / PETAB_TWO_STEP.name).write_text(yaml.safe_dump(config))
    return folder / PETAB_TWO_STEP.name


def _set(column, value, row=0, **more):
    def edit(frame):
        for name, entry in {column: value, **more}.items():
            if name not in frame:
                frame[name] = ""
            frame.loc[row, name] = entry
        return frame
    return edit


REFUSED = {
    "negative time": (("measurements.tsv", _set("time", "-1")), None, "negative times"),
    "assignment-rule target": (("conditions.tsv", _set("doubled", "3")), None, "assignment rule"),
    "compartment after pre-equilibration": (("conditions.tsv", _set("cell", "2")), None, "compartment 'cell'"),
    "two models": (None, lambda c: c["problems"][0]["sbml_files"].append("model.xml"), "2 SBML files"),
    "PEtab v2": (None, lambda c: c.update(format_version="2.0.0"), "only PEtab v1"),
    "composite problem": (None, lambda c: c["problems"].append(c["problems"][0]), "composite"),
    "rule target as parameter": (("parameters.tsv", lambda f: pd.concat([f, pd.DataFrame([{
        "parameterId": "doubled", "parameterName": "", "parameterScale": "log10", "lowerBound": "0.1",
        "upperBound": "10", "nominalValue": "1", "estimate": "1"}])])), None, "linter rejects.*doubled"),
    "lint error": (("parameters.tsv", lambda f: f[f.parameterId != "sigma_B"]), None, "linter rejects.*sigma_B"),
}


@pytest.mark.parametrize("feature", list(REFUSED))
def test_unsupported_or_invalid_problems_are_refused_by_name(tmp_path, feature):
    table_edit, yaml_edit, message = REFUSED[feature]
    path = _edited(tmp_path, table_edit, yaml_edit)
    with pytest.raises(ProblemError, match=message):
        load_petab_problem(path)


def test_missing_problem_file_is_named(tmp_path):
    with pytest.raises(ProblemError, match="no such PEtab problem file"):
        load_petab_problem(tmp_path / "nothing.yaml")
