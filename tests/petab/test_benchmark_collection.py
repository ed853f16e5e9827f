"""Published estimation problems (Benchmark-Models-PEtab, in ``../shared/benchmark_models_petab``): each
gives its reference objective at the nominal (published best) parameters.

The folder is large and not copied into the project; without it these tests skip and name it.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from biobench.likelihood import Likelihood
from biobench.petab import load_petab_problem
from biobench.settings import IntegratorSettings
from tests.conftest import REPO

COLLECTION = REPO.parent / "shared" / "benchmark_models_petab"
REFS = (pd.read_csv(COLLECTION / "refs.tsv", sep="\t", index_col=0)["fval_nominal_ref"]
        if (COLLECTION / "refs.tsv").is_file() else pd.Series(dtype=float))
needs_collection = pytest.mark.skipif(REFS.empty, reason=f"benchmark problems not found at {COLLECTION}")
# Chen's 500 stiff species exhaust 20000 CVODE steps at the default tolerances (CV_TOO_MUCH_WORK).
CHEN_INTEGRATOR = IntegratorSettings(relative_tolerance=1e-6, absolute_tolerance=1e-6, maximum_num_steps=100_000)


def _load(name: str, integrator: IntegratorSettings | None = None):
    return load_petab_problem(next((COLLECTION / name).glob(f"{name}.yaml")), integrator)


@needs_collection
@pytest.mark.parametrize("name", [n for n in REFS.index if n != "Chen_MSB2009" and math.isfinite(REFS[n])])
def test_likelihood_part_matches_the_reference(name):
    problem = _load(name)
    likelihood = Likelihood(problem)
    fval, prior = likelihood.fval(problem.x_true), likelihood.prior(problem.x_true)
    assert (prior != 0) == bool(problem.objective_priors)
    assert fval - prior == pytest.approx(REFS[name], rel=1e-4)


@needs_collection
@pytest.mark.slow
def test_the_large_model_evaluates_and_matches_the_reference():
    problem = _load("Chen_MSB2009", CHEN_INTEGRATOR)
    assert problem.n_parameters == 155
    assert Likelihood(problem).fval(problem.x_true) == pytest.approx(REFS["Chen_MSB2009"], rel=1e-3)


@needs_collection
def test_noise_formulas_with_observable_parameters_match_petabs_llh():
    """Raia has no usable reference: score our simulation with formulas evaluated one row at a time by
    sympy from the tables and petab's per-measurement likelihood."""
    import petab.v1 as petab
    from petab.v1.calculate import calculate_single_llh
    from petab.v1.math import sympify_petab
    from petab.v1.measurements import split_parameter_replacement_list

    problem = _load("Raia_CancerResearch2011")
    likelihood = Likelihood(problem)
    table = petab.Problem.from_yaml(str(COLLECTION / "Raia_CancerResearch2011" / "Raia_CancerResearch2011.yaml"))
    # the natural values fval sees (10**log10(nominal) may differ in the last bit, and CVODE's steps with it)
    outputs = likelihood.simulator.simulate(likelihood.natural(problem.x_true))
    exp = problem.experiments
    nominal = table.parameter_df["nominalValue"].astype(float).to_dict()
    total = 0.0
    for i, row in table.measurement_df.reset_index(drop=True).iterrows():
        obs = table.observable_df.loc[row.observableId]
        values = dict(nominal)
        for kind in ("observable", "noise"):
            raw = row.get(f"{kind}Parameters")
            for j, entry in enumerate(split_parameter_replacement_list(raw) if isinstance(raw, str) else []):
                values[f"{kind}Parameter{j + 1}_{row.observableId}"] = nominal.get(entry, entry)
        for symbol in exp.model_symbols:
            values[symbol] = outputs[exp.row[i], likelihood.simulator.column(symbol)]

        def value(formula: str) -> float:
            expr = sympify_petab(formula)
            return float(expr.subs({symbol: float(values[str(symbol)]) for symbol in expr.free_symbols}))
        total += calculate_single_llh(row.measurement, value(obs.observableFormula), obs.observableTransformation,
                                      obs.noiseDistribution, value(obs.noiseFormula))
    assert likelihood.fval(problem.x_true) == pytest.approx(-total, rel=1e-10)
    assert any("observableParameter" in f for f in table.observable_df.noiseFormula)
