"""PEtab features the published problems need: objective and initialization priors, steady-state
measurements, observable parameters in noise formulas. Each is checked against petab's own
definitions or a closed-form solution of the two-step model (A -> B -> C, k1 = 0.5, k2 = 0.2)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from petab.v1 import C
from petab.v1.priors import Prior

from biobench.errors import ProblemError
from biobench.initializers import initializers
from biobench.likelihood import Likelihood
from biobench.petab import load_petab_problem
from biobench.priors import PRIOR_TYPES
from tests.petab.test_import import _edited, _set, least_squares_gaps

# Per type, prior parameters that put the nominal values (k1_base 0.5, k2 0.2 on log10; scale_B 2 on lin)
# inside the support of every type.
PRIOR_PARAMETERS = {"uniform": "0.01;5", "normal": "0.4;0.3", "laplace": "0.6;0.5", "logNormal": "-1;0.8",
                    "logLaplace": "-0.5;1.2", "parameterScaleUniform": "-2;2.5", "parameterScaleNormal": "-0.4;0.5",
                    "parameterScaleLaplace": "-0.2;0.7"}


def _with_priors(tmp_path, kind: str, column: str = "objective"):
    """The two-step problem with a ``kind`` prior on k1_base (log10 scale) and on scale_B (lin scale)."""
    parameters = PRIOR_PARAMETERS[kind]
    edit = _set(f"{column}PriorType", kind, row=0, **{f"{column}PriorParameters": parameters})

    def both(frame):
        frame = edit(frame)
        frame.loc[3, f"{column}PriorType"] = kind
        frame.loc[3, f"{column}PriorParameters"] = parameters
        return frame
    return load_petab_problem(_edited(tmp_path, ("parameters.tsv", both)))


def _petab_neglogprior(kind: str, parameters: str, scale: str, x: float) -> float:
    """petab's prior, read as the PEtab spec and pyPESTO read it: parameterScale* types are densities of the
    scaled value (petab's Prior with a lin transformation), the others of the natural value."""
    a, b = (float(v) for v in parameters.split(";"))
    if kind.startswith("parameterScale"):
        return float(Prior(kind, (a, b), transformation=C.LIN, _bounds_truncate=False).neglogprior(x))
    return float(Prior(kind, (a, b), transformation=scale, _bounds_truncate=False).neglogprior(x, x_scaled=True))


@pytest.mark.parametrize("kind", PRIOR_TYPES)
def test_every_prior_type_matches_petab_and_adds_to_the_likelihood(tmp_path, kind, petab_problem):
    problem = _with_priors(tmp_path, kind)
    with_prior, without = Likelihood(problem), Likelihood(petab_problem)
    rng = np.random.default_rng(3)
    for _ in range(3):
        x = problem.x_true + rng.normal(0, 0.05, problem.n_parameters)
        expected = (_petab_neglogprior(kind, PRIOR_PARAMETERS[kind], "log10", x[0])
                    + _petab_neglogprior(kind, PRIOR_PARAMETERS[kind], "lin", x[3]))
        assert with_prior.prior(x) == pytest.approx(expected, rel=1e-12)
        assert with_prior.fval(x) == pytest.approx(without.fval(x) + expected, rel=1e-12)


@pytest.mark.parametrize("kind", ["logNormal", "parameterScaleLaplace", "parameterScaleUniform"])
def test_least_squares_form_includes_the_prior(tmp_path, kind):
    """Least-squares optimizers fit the posterior: 0.5 |r|^2 - fval is one constant."""
    problem = _with_priors(tmp_path, kind)
    gaps, n_residuals = least_squares_gaps(problem, 0.05, 1)
    assert n_residuals == 2 * problem.n_data + 2 + (2 if kind.startswith("log") else 0)  # + prior terms
    assert np.ptp(gaps) < 1e-8 * max(1.0, abs(gaps[0]))


def test_outside_a_uniform_prior_the_objective_is_infinite(tmp_path):
    problem = _with_priors(tmp_path, "parameterScaleUniform")  # k1_base in [-2, 2.5] on log10
    x = problem.x_true.copy()
    x[0] = 2.6
    assert Likelihood(problem).fval(x) == math.inf


def test_problem_json_reports_the_prior_part(tmp_path, petab_problem):
    from click.testing import CliRunner

    from biobench.commands import main

    path = _edited(tmp_path, ("parameters.tsv", _set("objectivePriorType", "parameterScaleNormal", row=0,
                                                     objectivePriorParameters="-0.4;0.5")))
    out = CliRunner().invoke(main, ["problem", "--model", str(path), "--format", "json"])
    assert out.exit_code == 0, out.output
    import json

    info = json.loads(out.output)
    likelihood_part = Likelihood(petab_problem).fval(petab_problem.x_true)
    assert info["fval_nominal"] - info["prior_nominal"] == pytest.approx(likelihood_part, rel=1e-12)
    assert info["prior_nominal"] == pytest.approx(
        _petab_neglogprior("parameterScaleNormal", "-0.4;0.5", "log10", math.log10(0.5)), rel=1e-12)
    assert info["parameters"][0]["prior"] == "parameterScaleNormal(-0.4, 0.5)"


@pytest.mark.parametrize("entry, message", [("normal", "prior parameters that are not 'a;b'"),
                                            ("cauchy", "objectivePriorType must be one of")])
def test_bad_prior_entries_are_named(tmp_path, entry, message):
    parameters = "1" if entry == "normal" else "0;1"
    path = _edited(tmp_path, ("parameters.tsv", _set("objectivePriorType", entry, row=0,
                                                     objectivePriorParameters=parameters)))
    with pytest.raises(ProblemError, match=message):
        load_petab_problem(path)


def test_petab_initializer_samples_the_initialization_priors(tmp_path):
    """A narrow parameterScaleNormal on k1_base centres its starts; the rest stay uniform in the bounds."""
    path = _edited(tmp_path, ("parameters.tsv", _set("initializationPriorType", "parameterScaleNormal", row=0,
                                                     initializationPriorParameters="-0.5;0.05")))
    problem = load_petab_problem(path)
    initializer = initializers.get("petab")()
    before = np.random.get_state()[1].copy()
    points = initializer.generate(problem, 400, np.random.default_rng(7)).points
    np.testing.assert_array_equal(np.random.get_state()[1], before)  # petab's global draws leave numpy's as it was
    again = initializer.generate(problem, 400, np.random.default_rng(7)).points
    np.testing.assert_array_equal(points, again)
    assert abs(points[:, 0].mean() + 0.5) < 0.02 and points[:, 0].std() == pytest.approx(0.05, rel=0.2)
    k2 = problem.parameter_ids.index("k2")  # no prior: uniform on the scaled bounds
    assert points[:, k2].std() == pytest.approx((problem.upper[k2] - problem.lower[k2]) / math.sqrt(12), rel=0.15)


def test_steady_state_measurements_read_the_settled_state(tmp_path):
    """At time inf all mass (10, from A) is in C; obs_C = C + doubled = 10 + 2 k1. Finite times of the same
    condition are unchanged."""
    def edit(frame):
        frame.loc[3, "time"] = "inf"  # obs_C, c_low, was t = 4
        return frame
    problem = load_petab_problem(_edited(tmp_path, ("measurements.tsv", edit)))
    y, _ = Likelihood(problem).predict(problem.nominal)
    k1 = problem.nominal[0]
    assert y[3] == pytest.approx(5 + 2 * k1, rel=1e-5)  # c_low starts with A = 5
    assert problem.experiments.simulations[0].steady_state
    original = load_petab_problem(_edited(tmp_path / "original"))
    y_finite, _ = Likelihood(original).predict(original.nominal)
    np.testing.assert_allclose(np.delete(y, 3), np.delete(y_finite, 3), rtol=1e-9)


def test_observable_parameters_in_noise_formulas(tmp_path):
    """sigma = noiseParameter1 * observableParameter1: per row, the estimated scale or the numeric 1.5."""
    def edit(frame):
        frame.loc[frame.observableId == "obs_B", "noiseFormula"] = "noiseParameter1_obs_B * observableParameter1_obs_B"
        return frame
    problem = load_petab_problem(_edited(tmp_path, ("observables.tsv", edit)))
    natural = problem.nominal
    _, sigma = Likelihood(problem).predict(natural)
    scale_b, sigma_b = natural[3], natural[4]
    rows = pd.read_csv(tmp_path / "edited" / "measurements.tsv", sep="\t")
    assert sigma[0] == pytest.approx(sigma_b * scale_b)  # both estimated
    assert sigma[2] == pytest.approx(0.5 * 1.5)  # both numeric in that row
    assert float(rows.loc[2, "observableParameters"]) == 1.5
