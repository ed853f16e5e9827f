"""The official PEtab test suite (v1, SBML): log-likelihood, chi2 and simulations of every case.

The cases are copied into ``tests/data/petab_test_suite`` (BSD-3, with the suite's
license), so they run on every clone. All 20 v1.0.0 SBML cases are supported.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import yaml

from biobench.likelihood import Likelihood
from biobench.objective import Objective
from biobench.petab import load_petab_problem
from tests.conftest import REPO

SUITE = REPO / "tests" / "data" / "petab_test_suite"
CASES = sorted(p.name for p in SUITE.iterdir() if p.is_dir())


def test_every_case_is_here():
    assert len(CASES) == 20


@pytest.mark.parametrize("case", CASES)
def test_case_matches_the_expected_llh_chi2_and_simulations(case):
    folder = SUITE / case
    solution = yaml.safe_load((folder / f"_{case}_solution.yaml").read_text())
    problem = load_petab_problem(folder / f"_{case}.yaml")
    objective = Objective(Likelihood(problem))

    llh = -objective.fval(problem.x_true)
    assert llh == pytest.approx(solution["llh"], abs=solution["tol_llh"])
    assert objective.likelihood.chi2(problem.nominal) == pytest.approx(solution["chi2"], abs=solution["tol_chi2"])
    expected = pd.concat(pd.read_csv(folder / f, sep="\t") for f in solution["simulation_files"])
    simulated, _ = objective.likelihood.predict(problem.nominal)
    np.testing.assert_allclose(simulated, expected["simulation"].to_numpy(), rtol=0,
                               atol=solution["tol_simulations"])

