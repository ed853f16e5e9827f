"""The AMICI engine against roadrunner, the published reference and the fair-charge rules.

Two models are compiled once per test session into one cache (about 20 s each): Boehm (a real
problem with a published objective and parameter-dependent noise) and a synthetic problem,
handed over through the PEtab exporter.
"""

from __future__ import annotations

import math
import io

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from biobench.commands import main
from biobench.engines import check_engine, likelihood_for
from biobench.errors import ConfigError, ProblemError
from biobench.likelihood import Likelihood
from biobench.objective import Objective
from biobench.optimizers import optimizers
from biobench.petab import load_petab_problem
from biobench.running.records import StartIdentity
from tests.conftest import DATA

pytest.importorskip("amici", reason="the amici engine needs AMICI (pip install -e '.[test]' builds it)")

BOEHM = DATA / "benchmark_models_petab" / "Boehm_JProteomeRes2014" / "Boehm_JProteomeRes2014.yaml"
BOEHM_REFERENCE = 138.22199970618027  # refs.tsv: the collection's simulatedData scored by petab


@pytest.fixture(scope="session")
def boehm():
    return load_petab_problem(BOEHM)


@pytest.fixture(scope="session")
def boehm_amici(boehm, amici_cache):
    import os

    saved = os.environ.get("BIOBENCH_CACHE_DIR")
    os.environ["BIOBENCH_CACHE_DIR"] = str(amici_cache)
    try:  # forward fixed: which way is cheapest depends on the CPU, what the tests check must not
        return likelihood_for(boehm, "amici:forward", say=lambda _: None)
    finally:
        if saved is None:
            del os.environ["BIOBENCH_CACHE_DIR"]
        else:
            os.environ["BIOBENCH_CACHE_DIR"] = saved


@pytest.fixture(scope="session")
def synthetic_amici(two_step_problem, amici_cache):
    from biobench.engines.amici_build import compile_model
    from biobench.engines.amici_likelihood import AmiciLikelihood

    return AmiciLikelihood(two_step_problem, compile_model(two_step_problem, amici_cache, say=lambda _: None))


def _true_gradient(likelihood, x, rtol):
    """Central differences at rtol 1e-12: at the problem's 1e-8 they difference the integrator's error (about
    1e-3 of Boehm's gradient), while forward sensitivities at 1e-8 already agree with these to 1e-7."""
    likelihood.solver.set_relative_tolerance(1e-12)
    try:
        return _central_gradient(likelihood.fval, x)
    finally:
        likelihood.solver.set_relative_tolerance(rtol)


def _central_gradient(fval, x, step=1e-5):
    g = np.zeros(len(x))
    for i in range(len(x)):
        up, down = x.copy(), x.copy()
        up[i] += step
        down[i] -= step
        g[i] = (fval(up) - fval(down)) / (2 * step)
    return g


def test_boehm_at_nominal_agrees_with_roadrunner_and_the_reference(boehm, boehm_amici):
    amici_value = boehm_amici.fval(boehm.x_true)
    roadrunner_value = Likelihood(boehm).fval(boehm.x_true)
    assert amici_value == pytest.approx(BOEHM_REFERENCE, rel=1e-6)
    assert amici_value == pytest.approx(roadrunner_value, rel=1e-6)


def test_a_synthetic_problem_agrees_with_roadrunner_away_from_nominal(two_step_problem, synthetic_amici):
    """The exporter's tables are what AMICI compiles: both engines score one likelihood."""
    rng = np.random.default_rng(1)
    roadrunner = Likelihood(two_step_problem)
    for _ in range(3):
        x = two_step_problem.lower + rng.uniform(0.3, 0.7, two_step_problem.n_parameters) * (
            two_step_problem.upper - two_step_problem.lower)
        assert synthetic_amici.fval(x) == pytest.approx(roadrunner.fval(x), rel=1e-6)


def test_a_problem_amici_refuses_is_one_line_naming_the_feature(petab_problem, amici_cache):
    """Measurement-specific placeholders beside a pre-equilibration AMICI cannot flatten: refused, by name."""
    from biobench.engines.amici_build import compile_model
    from biobench.errors import ProblemError

    with pytest.raises(ProblemError, match="timepoint specific mappings.*--engine roadrunner") as caught:
        compile_model(petab_problem, amici_cache, say=lambda _: None)
    assert "\n" not in str(caught.value)
    assert not any(p.name.endswith(".tmp") for p in (amici_cache / "amici").iterdir())  # nothing half-written


def test_exact_gradients_agree_with_differences_and_each_other(boehm, boehm_amici):
    x = boehm.x_true + np.linspace(-0.3, 0.3, boehm.n_parameters)  # away from the optimum: a large gradient
    forward = boehm_amici.derivatives(x, "forward")
    adjoint = boehm_amici.derivatives(x, "adjoint")
    differences = _true_gradient(boehm_amici, x, boehm.settings.integrator.relative_tolerance)
    scale = np.abs(differences).max()
    assert np.abs(forward.gradient - differences).max() < 1e-5 * scale
    assert np.abs(adjoint.gradient - forward.gradient).max() < 1e-5 * scale
    # the residuals' Jacobian is the gradient's: 0.5 |r|^2 is the objective up to a constant
    np.testing.assert_allclose(forward.jacobian.T @ forward.residuals, forward.gradient, rtol=1e-8, atol=1e-10)
    assert adjoint.jacobian is None


def test_the_jacobian_of_a_synthetic_problem(two_step_problem, synthetic_amici):
    x = 0.5 * (two_step_problem.lower + two_step_problem.upper)
    d = synthetic_amici.derivatives(x, "forward")
    differences = _true_gradient(synthetic_amici, x, two_step_problem.settings.integrator.relative_tolerance)
    assert np.abs(d.gradient - differences).max() < 1e-5 * np.abs(differences).max()


def test_a_sensitivity_solve_is_charged_its_measured_cost(boehm, boehm_amici):
    costs = boehm_amici.costs
    assert costs.ratio("forward") > 1.0  # a sensitivity solve is dearer than a simulation
    objective = Objective(boehm_amici, budget=100)
    objective.fval(boehm.x_true)
    objective.derivatives(boehm.x_true + 0.1, "forward")
    objective.derivatives(boehm.x_true + 0.1, "forward")  # the same point again: remembered, not charged
    objective.fval(boehm.x_true + 0.1)  # its value came with the solve
    assert objective.n_evals == pytest.approx(1.0 + costs.ratio("forward"))
    with pytest.raises(Exception, match="budget"):
        small = Objective(boehm_amici, budget=2)
        small.derivatives(boehm.x_true, "forward")


class _Counting:
    """Boehm's AMICI likelihood with its solves counted (the real one underneath)."""

    def __init__(self, inner) -> None:
        self.inner, self.simulations, self.solves = inner, 0, {"forward": 0, "adjoint": 0}

    def __getattr__(self, name):
        return getattr(self.inner, name)

    def evaluate(self, x):
        self.simulations += 1
        return self.inner.evaluate(x)

    def derivatives(self, x, method="forward"):
        self.solves[method] += 1
        return self.inner.derivatives(x, method)


# the surrogate: a short one (epochs bound its trainings) whose true local search runs on sensitivities
_OPTIONS = {"ess": {"local_budget": 150},
            "surrogate": {"pilot": 20, "batch": 5, "samples": 200, "epochs": 30, "refit_epochs": 5, "rounds": 2}}


@pytest.mark.parametrize("name", ["fides", "local", "lbfgsb", "ess", "surrogate"])
def test_every_solve_a_method_causes_is_charged_to_its_start(name, boehm, boehm_amici):
    counting = _Counting(boehm_amici)
    objective = Objective(counting, budget=400)
    options = _OPTIONS.get(name, {})
    method = optimizers.get(name)(**options)
    rng = np.random.default_rng(0)
    x0 = np.clip(boehm.x_true + 0.2 + 0.3 * rng.standard_normal((method.n_start_points(), boehm.n_parameters)),
                 boehm.lower, boehm.upper)
    result = method.minimize(objective, x0 if len(x0) > 1 else x0[0], rng)
    costs = boehm_amici.costs
    charged = counting.simulations + sum(n * costs.ratio(method) for method, n in counting.solves.items())
    assert sum(counting.solves.values()) > 0, "the method should use the engine's sensitivities"
    assert result.n_evals == pytest.approx(charged)
    assert result.n_evals <= 400 + 1e-9


def test_a_surrogates_outputs_on_amici_score_as_the_engine_does(boehm, boehm_amici):
    """The observables and log sigmas kept of a simulation give its fval back (Boehm's sigmas are estimated, so
    the log-sigma term changes from point to point), after other points were simulated."""
    rng = np.random.default_rng(1)
    points = np.clip(boehm.x_true + 0.4 * rng.standard_normal((4, boehm.n_parameters)), boehm.lower, boehm.upper)
    outputs, fvals = [], []
    for x in points:
        fvals.append(boehm_amici.evaluate(x)[1])
        outputs.append(boehm_amici.simulator.last_outputs.copy())
    boehm_amici.evaluate(boehm.x_true)
    assert len(outputs[0]) == 2 * len(boehm.experiments.measured)  # an observable and a sigma per measurement
    assert boehm_amici.fvals_of_outputs(np.array(outputs), points) == pytest.approx(fvals, rel=1e-9)
    assert len(set(np.round(fvals, 6))) == 4


def test_fides_with_exact_jacobian_ends_at_boehms_optimum_without_a_polish(boehm, boehm_amici):
    objective = Objective(boehm_amici, budget=3000)
    result = optimizers.get("fides")().minimize(objective, boehm.x_true + 0.03, np.random.default_rng(0))
    assert result.fval_best == pytest.approx(BOEHM_REFERENCE, abs=1e-3)
    assert "sensitivities" in result.message and "polish" not in result.message


def test_the_engine_is_part_of_a_start_and_the_default_keeps_old_keys():
    base = StartIdentity("p", "random", "fides", 0, 10, 100, 0)
    assert base.key == StartIdentity("p", "random", "fides", 0, 10, 100, 0, engine="roadrunner").key
    assert base.key != StartIdentity("p", "random", "fides", 0, 10, 100, 0, engine="amici").key


def test_an_unknown_engine_is_named_with_a_suggestion_before_any_work():
    with pytest.raises(ConfigError, match="Did you mean 'amici'"):
        check_engine("amicii")
    result = CliRunner().invoke(main, ["run", "--model", str(BOEHM), "--engine", "amcii"])
    assert result.exit_code != 0 and "Did you mean 'amici'" in result.output


def test_run_on_amici_stores_the_engine_and_the_cpu_seconds(shared_cache, boehm_amici, tmp_path):
    from biobench.running.store import Store

    results = tmp_path / "r.sqlite"
    args = ["run", "--model", str(BOEHM), "--opt", "fides", "--starts", "2", "--budget", "300",
            "--results", str(results)]
    assert CliRunner().invoke(main, [*args, "--engine", "amici"]).exit_code == 0
    assert CliRunner().invoke(main, args).exit_code == 0
    runs = Store(str(results)).runs_frame()
    assert sorted(runs["engine"]) == ["amici", "amici", "roadrunner", "roadrunner"]
    assert (runs["cpu_seconds"] > 0).all()
    board = CliRunner().invoke(main, ["leaderboard", "--results", str(results), "--format", "csv"])
    assert "random + fides [amici]" in board.output and "random + fides," in board.output
    frame = pd.read_csv(io.StringIO(board.output))
    assert len(frame) == 2 and frame["converged_per_cpu_minute"].notna().all()


def test_a_compiled_model_is_reused(boehm, amici_cache):
    from biobench.engines.amici_build import compile_model

    boehm_amici_again = compile_model(boehm, amici_cache, say=lambda _: None)
    assert boehm_amici_again.compile_seconds == 0.0


def test_the_gradient_is_the_cheaper_trusted_solve_and_a_charge_is_at_least_one_simulation():
    from biobench.engines.costs import SensitivityCosts

    assert SensitivityCosts(9, 1.0, 7.0, 3.0).gradient == "adjoint"
    assert SensitivityCosts(9, 1.0, 3.0, 7.0).gradient == "forward"
    assert SensitivityCosts(9, 1.0, 7.0, None).gradient == "forward"  # no adjoint across discontinuities
    assert SensitivityCosts(9, 2.0, 1.0, None).ratio("forward") == 1.0
    assert SensitivityCosts(9, 2.0, 7.0, None).ratio("forward") == 3.5
    no_forward = SensitivityCosts(9, 1.0, None, 8.0)  # Chen: forward sensitivities are not finite
    assert no_forward.gradient == "adjoint" and not no_forward.jacobian
    neither = SensitivityCosts(294, 1.0, None, None)  # Lang: both solves fail, AMICI's simulation works
    assert neither.gradient == neither.choose("jacobian") == "differences" and neither.ratio("differences") == 294


def test_each_kind_of_method_gets_the_cheapest_way_unless_one_is_fixed():
    from biobench.engines.costs import SensitivityCosts

    small = SensitivityCosts(9, 1.0, 12.0, 30.0)  # differences (9 simulations) beat both solves
    assert small.choose("jacobian") == small.choose("gradient") == "differences"
    large = SensitivityCosts(80, 1.0, 60.0, 20.0)
    assert large.choose("jacobian") == "forward" and large.choose("gradient") == "adjoint"
    assert large.choose("gradient", "forward") == "forward" and large.choose("jacobian", "differences") == "differences"
    assert large.choose("jacobian", "adjoint") == "forward"  # the adjoint gives no Jacobian: the cheapest that does
    with pytest.raises(ProblemError, match="forward sensitivities fail"):
        SensitivityCosts(80, 1.0, None, 20.0).choose("jacobian", "forward")


@pytest.mark.parametrize("engine, way", [("amici:adjoint", "adjoint"), ("amici:differences", "differences")])
def test_a_fixed_way_is_what_lbfgsb_uses_and_is_charged(engine, way, boehm, shared_cache, boehm_amici):
    likelihood = likelihood_for(boehm, engine, say=lambda _: None)  # compiled and measured already: reused
    assert likelihood.gradient_method == way and likelihood.costs == boehm_amici.costs
    counting = _Counting(likelihood)
    objective = Objective(counting, budget=300)
    result = optimizers.get("lbfgsb")().minimize(objective, np.clip(boehm.x_true + 0.2, boehm.lower, boehm.upper),
                                                 np.random.default_rng(0))
    assert counting.solves == {"forward": 0, "adjoint": counting.solves["adjoint"]}
    assert (counting.solves["adjoint"] > 0) == (way == "adjoint")
    charged = counting.simulations + counting.solves["adjoint"] * likelihood.costs.ratio("adjoint")
    assert result.n_evals == pytest.approx(charged)


@pytest.mark.parametrize("roadrunner_ms, expected", [(1000.0, "amici"), (1e-3, "roadrunner"), (None, "amici")])
def test_auto_runs_a_method_on_the_engine_measured_cheaper(roadrunner_ms, expected, boehm, shared_cache,
                                                          boehm_amici, tmp_path):
    import json

    from biobench.engines.choice import resolve_engine
    from biobench.running.runner import prepare_starts
    from biobench.running.store import Store

    # the timing a first run saves beside the compiled model, planted: the verdict must not depend on this CPU
    times = boehm_amici.compiled.module_dir / f"engines-{boehm.key[:16]}.json"
    times.write_text(json.dumps({"roadrunner_ms": roadrunner_ms, "amici_ms": 1.0, "forward_ms": 5.0,
                                 "adjoint_ms": None}))
    try:
        said = []
        for needs in (None, "jacobian", "gradient"):
            assert resolve_engine(boehm, "auto", needs, say=said.append) == expected
        assert all("auto for" in line and expected in line for line in said)
        tasks, _, _ = prepare_starts(boehm, "random", "fides", n_starts=2, budget=100, seed=0,
                                     store=Store(str(tmp_path / "r.sqlite")), engine="auto")
        assert {task.start.engine for task in tasks} == {expected}  # the start's identity names the engine that ran
        assert {task.init_extras.get("engine_choice") for task in tasks} == {"auto"}  # and its label the choice
    finally:
        times.unlink()


def test_bench_configs_name_engines_they_know():
    from biobench.running.bench_config import BenchConfig

    config = BenchConfig(models=["BIOMD0000000012"], engines=["auto", "amici:adjoint"])
    assert config.engines == ["auto", "amici:adjoint"]
    with pytest.raises(ConfigError, match="Did you mean 'amici:adjoint'"):
        BenchConfig(models=["BIOMD0000000012"], engines=["amici:adjiont"])


def test_features_time_the_simulation_on_amici_where_roadrunner_cannot_simulate(shared_cache, boehm_amici):
    """At most 100 steps per output interval and no retry with Adams: roadrunner's nominal simulation gives up,
    AMICI's (its own floor of 100,000 steps) runs; the bench scales a problem's starts by this time, so it must
    be the engine's that can."""
    from biobench.analysis.features import problem_features
    from biobench.running.bench import build_problem_and_features
    from biobench.settings import IntegratorSettings, ProblemSettings

    starving = IntegratorSettings(maximum_num_steps=100, retry_non_stiff=False)
    starved = load_petab_problem(BOEHM, starving)
    assert math.isnan(problem_features(starved, probes=0)["seconds_per_simulation"])
    on_amici = problem_features(starved, probes=4, engine="amici")
    assert 0 < on_amici["seconds_per_simulation"] < 10 and on_amici["probe_points"] == 4
    # a bench falls back to AMICI by itself: the problem's starts and the recommender's features are measured
    built, features, _ = build_problem_and_features(
        str(BOEHM), ProblemSettings(integrator=starving), measured=set())
    assert built.key == starved.key
    assert 0 < features["seconds_per_simulation"] < 10 and features["probe_failed_share"] < 1


def test_amici_lets_a_condition_override_a_parameters_initial_assignment(shared_cache):
    """AMICI's PEtab import keeps ``u_2 = 1e9`` in Liu's control condition, which sets ``u_2 = 0`` (918.74 instead
    of 723.36); biobench drops the assignment from the model AMICI compiles, and both engines agree."""
    liu = load_petab_problem(DATA / "benchmark_models_petab" / "Liu_IFACPapersOnLine2025" /
                             "Liu_IFACPapersOnLine2025.yaml")
    on_roadrunner = Likelihood(liu).fval(liu.x_true)
    assert on_roadrunner == pytest.approx(723.3575, abs=1e-3)  # the collection's own simulation scores this
    assert likelihood_for(liu, "amici", say=lambda _: None).fval(liu.x_true) == pytest.approx(on_roadrunner, rel=1e-6)
