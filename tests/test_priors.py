"""PEtab v1 priors as the parameter table writes them."""

from __future__ import annotations

import shutil

import pandas as pd
import pytest

from biobench.errors import ProblemError
from biobench.petab import load_petab_problem
from biobench.priors import PriorSpec, parse_prior
from tests.conftest import PETAB_TWO_STEP


def test_empty_prior_parameters_are_the_default_given():
    assert parse_prior("uniform", float("nan"), "here", (0.5, 2.0)) == PriorSpec("uniform", (0.5, 2.0))
    with pytest.raises(ProblemError, match="not two numbers"):
        parse_prior("uniform", float("nan"), "here")


def test_a_table_without_prior_parameters_takes_the_bounds_on_the_prior_scale(tmp_path):
    """PEtab v1: prior parameters default to lowerBound;upperBound, on the parameter scale for parameterScale*
    types (petab's linter allows leaving them empty for parameterScaleUniform only)."""
    folder = tmp_path / "problem"
    shutil.copytree(PETAB_TWO_STEP.parent, folder)
    table = pd.read_csv(folder / "parameters.tsv", sep="\t")
    table["initializationPriorType"] = ["parameterScaleUniform", "uniform", "", "", "", ""]
    table["initializationPriorParameters"] = ["", "0.002;20", "", "", "", ""]
    table.to_csv(folder / "parameters.tsv", sep="\t", index=False)
    problem = load_petab_problem(folder / PETAB_TWO_STEP.name)
    first, second = problem.initialization_priors[:2]
    assert first == PriorSpec("parameterScaleUniform", pytest.approx((-2.30103, 1.69897), abs=1e-5))
    assert second == PriorSpec("uniform", (0.002, 20.0))
    assert problem.initialization_priors[2] is None
