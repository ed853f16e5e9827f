"""The neural surrogate: trained on real simulations, judged on held-out ones, saved and reused, honest about failures."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from biobench.commands import main
from biobench.errors import ConfigError, PluginError, ProblemError
from biobench.likelihood import Likelihood
from biobench.surrogate.build import SurrogateOptions, folder_for, simulate_design, train_surrogate
from tests.conftest import DATA

# Bounded by epochs (early stopping ends it after ~1700 in 9 s), not by seconds: a busy machine gives the same network.
SMALL = SurrogateOptions(n_train=200, n_test=30, layers=2, width=32, time_limit=600.0, max_epochs=2000)
TUNED = SurrogateOptions(**{**SMALL.__dict__, "fine_tune": True})


@pytest.fixture(scope="module")
def trained(two_step_problem, tmp_path_factory):
    """One network for the module, fine-tuned: its held-out accuracy before the fine-tune is in its summary."""
    root = tmp_path_factory.mktemp("surrogates")
    return train_surrogate(two_step_problem, TUNED, root), root


def test_the_surrogate_predicts_held_out_simulations(trained, two_step_problem):
    """A broken normalisation, decoding or training loop gives R^2 near 0 or below on the two-step model (0.998 after the fine-tune)."""
    surrogate, _ = trained
    quality = surrogate.config["quality"]
    assert quality["test_points"] == 30
    assert all(v["r2"] > 0.95 for v in quality["observables"].values()), quality["observables"]
    assert quality["objective"]["spearman"] > 0.8
    # the predictions are the simulator's outputs in its own units and shape
    likelihood = Likelihood(two_step_problem)
    x = two_step_problem.x_true
    simulated = likelihood.simulator.simulate(likelihood.natural(x))
    predicted = surrogate.outputs(x[None, :])[0]
    assert predicted.shape == simulated.shape
    assert np.abs(predicted - simulated).max() < 0.2 * np.abs(simulated).max()


def test_refinement_simulates_where_the_first_network_predicts_large_outputs(two_step_problem):
    """A refinement that picked points at random (or the smallest outputs) has refined outputs no larger than the
    first design's; every refinement simulation is counted in the design's cost."""
    refined = SurrogateOptions(**{**SMALL.__dict__, "refine": 0.3, "max_epochs": 300})  # the pick, not the fit
    cost = train_surrogate(two_step_problem, refined, None).config["design_cost"]
    refinement = cost["refinement"]
    assert refinement["simulations"] == refined.n_refine == 60
    assert cost["simulations"] == refined.n_train + refined.n_test
    weight = refinement["median_output_weight"]
    assert weight["refined"] > weight["first"] and weight["refined_percentile"] > 80, weight


def test_fine_tuning_in_the_simulators_units_lowers_that_error_and_keeps_the_fit(trained):
    """A fine-tune that trains on the wrong target (compressed outputs, unscaled ones) or returns a network worse
    than the one it started from raises the held-out error; one that does nothing is caught by the loss check.
    The error before it is the first network's own on the same held-out simulations (measured before the
    fine-tune changes its weights in place: measured after, before and after would be equal)."""
    summary = trained[0].config["training"]["fine_tune"]
    assert summary["epochs"] >= 1 and summary["best_validation_loss"] < summary["start_validation_loss"]
    before, after = summary["held_out_before"], trained[0].config["quality"]["observables"]
    assert before.keys() == after.keys()
    assert sum(v["rmse"] for v in after.values()) < sum(v["rmse"] for v in before.values()), (before, after)
    assert all(v["r2"] > 0.95 for v in after.values())


def test_the_text_report_shows_the_held_out_r2_before_the_fine_tune(trained, capsys):
    """The command's report must say what the fine-tune did on unseen simulations, with the numbers it kept."""
    from biobench.commands.surrogate import print_report
    from biobench.numbers import fmt

    surrogate, _ = trained
    print_report("two_step", surrogate.config, surrogate.folder, False, surrogate.config["options"])
    out = capsys.readouterr().out
    assert "fine-tune in the simulator's units" in out and "held-out R^2 before it" in out
    for name, before in surrogate.config["training"]["fine_tune"]["held_out_before"].items():
        assert f"{name} {fmt(before['r2'])}" in out


def test_refinement_options_are_validated_before_any_simulation():
    with pytest.raises(ConfigError, match="--refine 1.0 must be in"):
        SurrogateOptions(refine=1.0).validated()
    with pytest.raises(ConfigError, match="leave at least 20"):
        SurrogateOptions(n_train=25, refine=0.5).validated()
    assert SurrogateOptions(n_train=25, refine=0.0).validated().n_refine == 0


def test_speed_is_measured_against_roadrunner(trained):
    speed = trained[0].config["quality"]["speed"]
    assert speed["roadrunner_single"] > 0 and speed["surrogate_batched_cpu"] > speed["surrogate_single_cpu"] > 0
    assert speed["speedup_batched_cpu"] == pytest.approx(speed["surrogate_batched_cpu"] / speed["roadrunner_single"])


def test_a_saved_surrogate_is_reused_for_the_same_problem_and_options(trained, two_step_problem):
    surrogate, root = trained
    again = train_surrogate(two_step_problem, TUNED, root)
    assert again.reused and again.folder == surrogate.folder
    x = np.random.default_rng(0).uniform(two_step_problem.lower, two_step_problem.upper, (5, 2))
    np.testing.assert_allclose(again.outputs(x), surrogate.outputs(x), rtol=1e-6)
    other = SurrogateOptions(**{**TUNED.__dict__, "seed": 1})
    assert folder_for(two_step_problem, other, root) != surrogate.folder  # other options: another surrogate


def test_a_damaged_saved_surrogate_is_refused_with_the_fix(trained, two_step_problem, tmp_path):
    import shutil

    folder = tmp_path / trained[0].folder.name
    shutil.copytree(trained[0].folder, folder)
    (folder / "surrogate.pt").write_bytes(b"not a state dict")
    with pytest.raises(PluginError, match="cannot be loaded safely.*--retrain"):
        train_surrogate(two_step_problem, TUNED, tmp_path)


def test_failed_design_simulations_are_counted_with_reasons_not_dropped(two_step_problem):
    likelihood = Likelihood(two_step_problem)
    likelihood.simulator.rr.getIntegrator().setValue("maximum_num_steps", 5)
    likelihood.simulator.retry_non_stiff = False  # Adams would finish them
    x = np.tile(two_step_problem.x_true, (4, 1))
    outputs, failed, cost = simulate_design(likelihood, x)
    assert failed.all() and np.isnan(outputs).all()
    assert cost["failed"] == 4 and sum(cost["failure_reasons"].values()) == 4


def test_the_likelihood_scores_outputs_exactly_as_it_scores_simulations(petab_problem, two_step_problem):
    """The surrogate objective is the problem's own likelihood: on simulated outputs it must equal fval, also
    scored many at once (placeholders, log10 and Laplace observables; Boehm's formulas and estimated sigmas),
    in more than one batch (300 points), and inf where a prediction has no likelihood."""
    from biobench.petab import load_petab_problem

    boehm = load_petab_problem(DATA / "benchmark_models_petab" / "Boehm_JProteomeRes2014" /
                               "Boehm_JProteomeRes2014.yaml")
    for problem in (two_step_problem, petab_problem, boehm):
        likelihood = Likelihood(problem)
        points = problem.x_true + np.random.default_rng(0).normal(0, 0.1, (3, problem.n_parameters))
        outputs, fvals = [], []
        for x in points:
            fvals.append(likelihood.fval(x))
            outputs.append(likelihood.simulator.last_outputs.copy())
        many = np.arange(300) % 3
        np.testing.assert_allclose(likelihood.fvals_of_outputs(np.array(outputs)[many], points[many]),
                                   np.array(fvals)[many], rtol=1e-12)
        np.testing.assert_allclose([likelihood.score(o, x)[1] for o, x in zip(outputs, points)], fvals, rtol=1e-12)
        broken = np.array(outputs)
        broken[1] = np.nan  # a network's prediction that no likelihood scores
        assert np.isinf(likelihood.fvals_of_outputs(broken, points)[1])


def test_the_command_validates_before_simulating_and_reports(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    bad = runner.invoke(main, ["surrogate", "--model", "BIOMD12", "--train", "5"])
    assert bad.exit_code != 0 and "at least 20" in bad.output and "Traceback" not in bad.output
    bad = runner.invoke(main, ["surrogate", "--model", "BIOMD12", "--arch", "transformer"])
    assert bad.exit_code != 0 and "'transformer' is not one of 'mlp', 'regimes'" in bad.output
    result = runner.invoke(main, ["surrogate", "--model", "BIOMD12", "--train", "40", "--test", "10", "--layers", "1",
                                  "--width", "16", "--time-limit", "5", "--format", "json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output[result.output.index("{"):])
    assert report["design_cost"]["simulations"] == 50 and set(report["quality"]["observables"]) >= {"X", "Y", "Z"}
    assert (tmp_path / "surrogates").is_dir() and report["figure"].endswith("accuracy.png")
    assert (tmp_path / report["figure"]).is_file() or Path(report["figure"]).is_file()


def test_the_accuracy_figure_draws_held_out_trajectories_and_objective_pairs(trained, two_step_problem, tmp_path):
    from biobench.surrogate.figures import accuracy_figure, save_accuracy_figure

    surrogate, _ = trained
    likelihood = Likelihood(two_step_problem)
    fig = accuracy_figure(surrogate, likelihood, "two_step")
    *trajectories, objective = fig.axes
    columns = len(likelihood.simulator.selections)
    assert len(trajectories) == 3 and all(len(ax.get_lines()) == 2 * columns for ax in trajectories)
    simulated = np.asarray(surrogate.config["test_outputs"][0]).reshape(surrogate.output_shape)
    np.testing.assert_allclose(trajectories[0].get_lines()[0].get_ydata(), simulated[:, 0])  # solid: simulated
    np.testing.assert_allclose(trajectories[0].get_lines()[1].get_ydata(),  # dashed: the network's
                               surrogate.outputs(np.array(surrogate.config["test_points"][:1]))[0][:, 0], rtol=1e-5)
    assert len(objective.collections[0].get_offsets()) == surrogate.config["quality"]["test_points"]
    path = save_accuracy_figure(surrogate, likelihood, "two_step", tmp_path / "accuracy.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_too_many_failed_simulations_end_with_a_clear_error(repressilator_problem):
    import dataclasses

    from biobench.settings import IntegratorSettings

    # 100 integrator steps cannot cover the repressilator's oscillations: every design simulation fails
    settings = repressilator_problem.settings.model_copy(update={"integrator": IntegratorSettings(maximum_num_steps=100,
                                                                                             retry_non_stiff=False)})
    failing = dataclasses.replace(repressilator_problem, settings=settings, key=repressilator_problem.key + "-failing")
    with pytest.raises(ProblemError, match="too few remain to train a surrogate.*Narrow the parameter bounds"):
        train_surrogate(failing, SurrogateOptions(n_train=20, n_test=2), None)


def test_the_report_plots_every_candidate_the_surrogate_optimizer_predicted_then_simulated(two_step_problem, tmp_path):
    from biobench.analysis import metrics
    from biobench.running.runner import run_starts
    from biobench.running.store import Store
    from biobench.surrogate.search_figures import surrogate_diagnostics

    store = Store(tmp_path / "s.sqlite")
    options = {"pilot": 12, "batch": 4, "samples": 200, "search_iterations": 2, "epochs": 30, "refit_epochs": 5,
               "layers": 1, "width": 16, "rounds": 2}
    summary = run_starts(two_step_problem, "lhs", "surrogate", n_starts=2, budget=40, seed=0, store=store,
                         opt_options=options)
    candidates = [row for record in summary.records for row in record.extras["candidates"]]
    assert candidates and all(len(row) == 3 for row in candidates)
    assert all(record.extras["surrogate_evaluations"] > 0 for record in summary.records)
    (figure,) = surrogate_diagnostics(metrics.with_convergence(store.runs_frame()))
    scatter = figure.figure.axes[0].collections[0]
    plotted = sum(1 for _, predicted, simulated in candidates if predicted is not None and simulated is not None)
    assert len(scatter.get_offsets()) == plotted and f"{len(candidates)} candidates over 2 starts" in figure.caption


def test_training_reports_its_epochs_as_they_pass(two_step_problem):
    stages = []
    options = SurrogateOptions(**{**SMALL.__dict__, "n_train": 60, "n_test": 10, "max_epochs": 25})
    trained = train_surrogate(two_step_problem, options, None, progress=lambda *report: stages.append(report))
    epochs = [(done, most) for stage, done, most in stages if stage.startswith("surrogate: training")]
    assert [done for done, _ in epochs] == list(range(1, trained.config["training"]["epochs"] + 1))
    assert len(epochs) >= 2 and {most for _, most in epochs} == {25}


def test_the_surrogate_optimizer_reuses_a_saved_surrogate_and_charges_its_simulations(trained, two_step_problem,
                                                                                        tmp_path, monkeypatch):
    """``reuse=true`` starts from the problem's saved network (after its first short fit on the 12 pilot points its
    validation loss is about 100 times lower than a new network's: 0.002-0.013 against 0.73-2.0 over four seeds)
    and charges every simulation that network was made from, shared by the starts."""
    import shutil

    from biobench.running.runner import run_starts
    from biobench.running.store import Store

    surrogate, _ = trained
    shutil.copytree(surrogate.folder, tmp_path / "surrogates" / surrogate.folder.name)
    monkeypatch.setenv("BIOBENCH_HOME", str(tmp_path))
    options = {"pilot": 12, "batch": 4, "samples": 200, "search_iterations": 2, "epochs": 30, "refit_epochs": 5,
               "layers": 2, "width": 32, "rounds": 2}
    reused = run_starts(two_step_problem, "lhs", "surrogate", n_starts=2, budget=40, seed=0,
                        store=Store(tmp_path / "reused.sqlite"), opt_options=options | {"reuse": True}).records
    plain = run_starts(two_step_problem, "lhs", "surrogate", n_starts=2, budget=40, seed=0,
                       store=Store(tmp_path / "plain.sqlite"), opt_options=options).records
    simulations = surrogate.config["design_cost"]["simulations"]
    assert all(r.pilot_evals == simulations / 2 for r in reused)
    assert all(r.extras["surrogate_reused"]["folder"].endswith(surrogate.folder.name) for r in reused)
    assert all(r.pilot_evals == 0 and "surrogate_reused" not in r.extras for r in plain)
    first_fit = [r.extras["first_validation_loss"] for r in reused + plain]
    assert max(first_fit[:2]) < 0.1 * min(first_fit[2:])
