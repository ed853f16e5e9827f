"""A condition that sets a parameter the model computes by an initial assignment: the condition's value wins.

Liu_IFACPapersOnLine2025 (copied into tests/data with its license) gives every tumour the virus through
``u_2 = 1e9`` (an initial assignment) and sets ``u_2 = 0`` in its control condition; the collection's own
simulation of the published parameters is the reference for both conditions.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from biobench.likelihood import Likelihood
from biobench.petab import load_petab_problem
from tests.conftest import DATA

LIU = DATA / "benchmark_models_petab" / "Liu_IFACPapersOnLine2025"


def test_a_condition_overrides_a_parameters_initial_assignment():
    problem = load_petab_problem(LIU / "Liu_IFACPapersOnLine2025.yaml")
    likelihood = Likelihood(problem)
    predicted, _ = likelihood.predict(likelihood.natural(problem.x_true))
    keys = ["observableId", "simulationConditionId", "time"]
    measurements = pd.read_csv(LIU / "measurements.tsv", sep="\t").assign(ours=predicted)
    theirs = pd.read_csv(LIU / "simulatedData_Liu_IFACPapersOnLine2025.tsv", sep="\t").drop_duplicates(keys)
    joined = measurements.merge(theirs[keys + ["simulation"]], on=keys, validate="many_to_one")
    assert len(joined) == len(measurements) and set(joined["simulationConditionId"]) == {"ctrl", "vvDD"}
    # an import that kept the assignment would give the control condition the virus too
    np.testing.assert_allclose(joined["ours"], joined["simulation"], rtol=1e-6)
