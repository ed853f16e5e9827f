"""The HTML report renders from the store alone, with optional sections present or absent."""

from __future__ import annotations

import base64
import re
import sqlite3

import matplotlib.colors
import matplotlib.pyplot as plt
import numpy as np
import pytest
from click.testing import CliRunner

from biobench.commands import main
from biobench.errors import StoreError
from biobench.initializers.generative.diagnostics import CONDITION_BANDS
from biobench.outcome import StartResult
from biobench.problem import build_problem
from biobench.report import build_report
from biobench.report.figures import FLOOR_LABEL
from biobench.report.html import _STYLE, report_figures
from biobench.running.records import RunRecord, StartIdentity
from biobench.running.runner import run_starts
from biobench.running.store import Store


@pytest.fixture(autouse=True)
def close_figures():
    """Figures inspected here, not rendered, are closed after each test (the objects stay readable)."""
    yield
    plt.close("all")


def copy_store(source, target):
    """A consistent copy (the store runs in WAL mode, so the file alone may lag behind)."""
    with sqlite3.connect(source) as src, sqlite3.connect(target) as dst:
        src.backup(dst)
    return target


def sections(path):
    text = path.read_text()
    images = re.findall(r'src="data:image/png;base64,([^"]+)"', text)
    for image in images:
        assert base64.b64decode(image)[:8] == b"\x89PNG\r\n\x1a\n"
    return re.findall(r"<h2>([^<]+)</h2>", text), len(images), text


@pytest.fixture(scope="module")
def small_store(two_step_problem, tmp_path_factory):
    """Three methods on two problems (the two-step model with two data seeds): a profile needs two."""
    path = tmp_path_factory.mktemp("report") / "small.sqlite"
    store = Store(path)
    other_data = build_problem(two_step_problem.model, two_step_problem.settings.model_copy(update={"seed": 1}))
    for problem in (two_step_problem, other_data):
        for init, opt in (("random", "local"), ("lhs", "ga"), ("mjs", "local")):
            run_starts(problem, init, opt, n_starts=3, budget=40, seed=0, store=store,
                       opt_options={"pop_size": 4} if opt == "ga" else None)
    return path


def test_report_has_every_core_figure_with_captions(small_store, tmp_path):
    path = build_report(str(small_store), tmp_path / "out")
    titles, n_images, text = sections(path)
    assert titles[:3] == ["Leaderboard per problem", "Across problems", "Best method per problem"]
    for expected in ("Waterfall plot", "Convergence", "Final objective values", "Success rate",
                     "Performance profiles", "Parameter recovery"):
        assert any(t.startswith(expected) for t in titles), expected
    assert "cVAE diagnostics" not in titles  # no run used the cvae
    assert "Surrogates of the simulator" not in titles  # no folder of saved surrogates given
    assert "Failed and killed starts" not in titles  # none failed
    assert n_images == len(titles) - 3
    assert text.count("<figcaption>") == n_images
    assert "http://" not in text and "https://" not in text  # self-contained
    # The table shows the leaderboard's numbers, one row per method, in the row of that method.
    import biobench

    table = re.search(r"<table>(.*?)</table>", text, re.S).group(1)
    rows = {tuple(re.findall(r"<td[^>]*>([^<]*)</td>", row)[:2]): re.findall(r"<td[^>]*>([^<]*)</td>", row)
            for row in re.findall(r"<tr>(.*?)</tr>", table.split("</thead>")[1])}
    board = biobench.leaderboard(str(small_store))
    assert len(rows) == len(board) == 6  # three methods on each of two problems
    for entry in board.itertuples():
        assert rows[entry.problem_id, entry.method][3] == f"{entry.best_fval:.6g}"  # objective values: 6 digits
        assert rows[entry.problem_id, entry.method][8] == f"{entry.converged_per_1000_evals:.4g}"


def test_optional_sections_appear_when_their_data_exist(small_store, two_step_problem, tmp_path):
    copy = copy_store(small_store, tmp_path / "with_cvae.sqlite")
    store = Store(copy)
    x = two_step_problem.x_true.tolist()
    start = StartIdentity(problem_key=two_step_problem.key, initializer="cvae", optimizer="local", seed=0,
                          start_index=0, n_starts=1, budget=40)
    store.add_run(RunRecord(start=start, model_id="two_step", pilot_evals=20,
                            init_extras={"cvae": {"train_loss": [3.0, 2.0, 1.5], "val_loss": [3.1, 2.2, 1.9]}},
                            result=StartResult(x0=x, fval0=10.0, x_best=x, fval_best=5.0, n_evals=40, n_failures=0,
                                               seconds=0.1, status="stopped", trace=[(1, 5.0, 0.1)])))
    titles, _, text = sections(build_report(str(copy), tmp_path / "out"))
    assert f"cVAE diagnostics, {two_step_problem.problem_id}" in titles
    # A model trained before the other diagnostics existed: its panels say so instead of failing.
    figure = {f.title: f.figure for f in report_figures(store)}[f"cVAE diagnostics, {two_step_problem.problem_id}"]
    notes = [t.get_text() for ax in figure.axes for t in ax.texts]
    assert sum("not recorded" in n for n in notes) == 5


def test_every_cvae_diagnostic_is_drawn_from_a_real_run(two_step_problem, tmp_path):
    store = Store(tmp_path / "cvae.sqlite")
    options = {"pilot": 40, "trials": 3, "max_epochs": 20, "patience": 5, "diagnostic_samples": 4}
    run_starts(two_step_problem, "cvae", "local", n_starts=2, budget=20, seed=0, store=store, init_options=options)
    cvae = store.runs_frame()["extras"].iloc[0]["cvae"]
    item = next(f for f in report_figures(store) if f.title.startswith("cVAE diagnostics"))
    axes = item.figure.axes
    assert not any("not recorded" in t.get_text() for ax in axes for t in ax.texts)  # all six panels drawn
    losses, finite, by_band, distances, latent, search = axes[:6]
    assert len(losses.get_lines()) == 2  # training and validation
    assert [round(p.get_height(), 6) for p in finite.patches] == \
        [round(100 * cvae["finite_fraction"][band], 6) for band in CONDITION_BANDS]  # low to high condition
    assert sum(len(c.get_offsets()) for c in by_band.collections) == \
        sum(r["fval"] is not None for r in cvae["fval_by_condition"])  # every generated vector's fval is a dot
    assert [round(p.get_height(), 6) for p in distances.patches] == [
        round(cvae["distances"][k], 6) for k in ("to_training_median", "to_best_quartile_median",
                                                 "within_best_quartile_median")]
    assert len(latent.collections[0].get_offsets()) == cvae["n_validation"]  # one dot per validation vector
    assert len(search.get_lines()) == 3  # one line per optuna trial
    assert f"RMSE {cvae['recon_rmse']:.3g}, Pearson {cvae['recon_pearson']:.3g}" in item.caption


def test_every_generative_initializer_that_ran_is_drawn_and_set_side_by_side(two_step_problem, tmp_path):
    store = Store(tmp_path / "family.sqlite")
    small = {"pilot": 40, "trials": 2, "diagnostic_samples": 4}
    options = {"cvae-transformer": small | {"max_epochs": 20, "patience": 5},
               "ccgan": small | {"max_iterations": 150, "eval_every": 50}}
    for name, init_options in options.items():
        run_starts(two_step_problem, name, "local", n_starts=2, budget=20, seed=0, store=store,
                   init_options=init_options)
    extras = store.runs_frame().set_index("initializer")["extras"]
    drawn = {f.title: f for f in report_figures(store)}
    problem = two_step_problem.model.model_id  # the only problem of its model here: shown without its digest
    assert {f"Transformer cVAE diagnostics, {problem}", f"CcGAN diagnostics, {problem}",
            f"Generative initializers side by side, {problem}"} <= set(drawn)
    gan = drawn[f"CcGAN diagnostics, {problem}"].figure.axes
    assert not any("not recorded" in t.get_text() for ax in gan for t in ax.texts)
    assert len(gan[0].get_lines()) == 2  # generator and discriminator losses
    assert len(gan[4].get_lines()[0].get_xdata()) == len(extras.loc["ccgan"].iloc[0]["ccgan"]["val_loss"])
    finite, fvals, energy, seconds = drawn[f"Generative initializers side by side, {problem}"].figure.axes
    assert len(finite.patches) == 2 * len(CONDITION_BANDS)  # one bar per member and band
    assert [round(p.get_height(), 6) for p in energy.patches] == [
        round(extras.loc[name].iloc[0][name]["validation_energy"], 6) for name in options]


def test_amortized_runs_show_estimate_fit_and_truth_with_their_times(two_step_problem, tmp_path):
    store = Store(tmp_path / "amortized.sqlite")
    run_starts(two_step_problem, "amortized", "local", n_starts=3, budget=30, seed=0, store=store,
               init_options={"datasets": 60, "max_epochs": 20})
    runs = store.runs_frame()
    drawn = {f.title: f for f in report_figures(store)}
    item = drawn[f"Amortized inference, {two_step_problem.model.model_id}"]
    parameters, times = item.figure.axes
    estimate, fitted, truth = (c.get_offsets() for c in parameters.collections)
    report = runs["extras"].iloc[0]["amortized"]
    np.testing.assert_allclose(estimate[:, 1], report["estimate"])
    np.testing.assert_allclose(fitted[:, 1], runs.loc[runs["fval_best"].idxmin(), "x_best"])
    np.testing.assert_allclose(truth[:, 1], two_step_problem.x_true)
    assert times.patches[0].get_height() == pytest.approx(report["inference_seconds"])
    assert f"{report['estimate_fval']:.4g}" in item.caption


def test_parameter_recovery_is_left_out_without_true_parameters(small_store, tmp_path):
    copy = copy_store(small_store, tmp_path / "no_truth.sqlite")
    with sqlite3.connect(copy) as conn:
        conn.execute("update problems set x_true = null")
    titles, _, _ = sections(build_report(str(copy), tmp_path / "out"))
    assert "Parameter recovery" not in titles and "Waterfall plot" in " ".join(titles)


def test_petab_problems_have_no_parameter_recovery(petab_problem, tmp_path):
    """Their nominal values are a reference point, not a truth the fit should recover."""
    store = Store(tmp_path / "petab.sqlite")
    run_starts(petab_problem, "random", "local", n_starts=2, budget=30, seed=0, store=store)
    titles, _, _ = sections(build_report(str(tmp_path / "petab.sqlite"), tmp_path / "out"))
    assert "Waterfall plot" in " ".join(titles) and not any(t.startswith("Parameter recovery") for t in titles)


def test_empty_store_is_a_clear_error(tmp_path):
    with pytest.raises(StoreError, match="no results store at"):
        build_report(str(tmp_path / "missing.sqlite"), tmp_path / "out")
    Store(str(tmp_path / "empty.sqlite"))  # created, but nothing run into it
    with pytest.raises(StoreError, match="holds no runs"):
        build_report(str(tmp_path / "empty.sqlite"), tmp_path / "out")


def test_report_and_leaderboard_commands(small_store, tmp_path):
    result = CliRunner().invoke(main, ["report", "--results", str(small_store), "--out", str(tmp_path / "r")])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "r" / "report.html").exists()
    board = CliRunner().invoke(main, ["leaderboard", "--results", str(small_store), "--format", "markdown"])
    assert board.exit_code == 0 and "| random + local" in board.output and "### Across problems" in board.output
    as_json = CliRunner().invoke(main, ["leaderboard", "--results", str(small_store), "--format", "json"])
    assert '"per_problem"' in as_json.output and '"overall"' in as_json.output


def test_runs_export_to_parquet_and_csv(small_store, tmp_path):
    import pandas as pd

    out = tmp_path / "runs.parquet"
    result = CliRunner().invoke(main, ["runs", "--results", str(small_store), "--format", "parquet", "--out", str(out)])
    assert result.exit_code == 0, result.output
    frame = pd.read_parquet(out)
    assert len(frame) == 18 and {"x0_scaled", "x_best_scaled", "fval_best"} <= set(frame.columns)  # 2 x 3 x 3
    refused = CliRunner().invoke(main, ["runs", "--results", str(small_store), "--format", "parquet"])
    assert refused.exit_code != 0 and "--out" in refused.output


def legend_entries(figure) -> dict[str, tuple]:
    """label -> (rgb colour, marker) of every legend entry in a figure (axes and figure legends)."""
    legends = [ax.get_legend() for ax in figure.axes if ax.get_legend()] + list(figure.legends)
    return {text.get_text(): (matplotlib.colors.to_rgb(handle.get_color()), handle.get_marker())
            for legend in legends for handle, text in zip(legend.legend_handles, legend.get_texts())}


@pytest.fixture(scope="module")
def figures_of_small_store(small_store):
    return {item.title.split(",")[0]: item.figure for item in report_figures(Store(small_store))}


def test_a_method_has_one_colour_in_every_figure(figures_of_small_store):
    methods = ["lhs + ga", "mjs + local", "random + local"]
    seen = {}
    for title in ("Waterfall plot", "Convergence", "Performance profiles", "Parameter recovery"):
        entries = legend_entries(figures_of_small_store[title])
        for method in methods:
            seen.setdefault(method, set()).add(entries[method][0])
    assert all(len(colours) == 1 for colours in seen.values()), seen  # the same colour in every figure
    assert len({next(iter(c)) for c in seen.values()}) == len(methods)  # and a different one per method
    # Final values: each method's box is filled with that colour.
    ax = figures_of_small_store["Final objective values"].axes[0]
    boxes = [matplotlib.colors.to_rgb(patch.get_facecolor()) for patch in ax.patches]
    labels = [tick.get_text() for tick in ax.get_xticklabels()]
    assert boxes == [next(iter(seen[label])) for label in labels]


def test_parameter_recovery_tells_methods_apart_by_marker_too(figures_of_small_store):
    entries = legend_entries(figures_of_small_store["Parameter recovery"])
    markers = [str(entries[m][1]) for m in ("lhs + ga", "mjs + local", "random + local")]
    assert len(set(markers)) == 3  # coinciding estimates of two methods stay distinguishable


def test_waterfall_ranks_are_integers_and_the_floor_is_explained(figures_of_small_store):
    ax = figures_of_small_store["Waterfall plot"].axes[0]
    low, high = ax.get_xlim()
    ticks = [t for t in ax.get_xticks() if low <= t <= high]
    assert ticks and all(float(t).is_integer() for t in ticks)
    # The best start sits at f_ref, drawn at the floor: the legend says what that line is.
    assert FLOOR_LABEL in legend_entries(figures_of_small_store["Waterfall plot"])
    assert FLOOR_LABEL in legend_entries(figures_of_small_store["Convergence"])
    drawn = np.concatenate([line.get_ydata() for line in ax.get_lines() if line.get_label().endswith("local")
                            or line.get_label().endswith("ga")])
    assert np.nanmin(drawn) == pytest.approx(1e-3)  # the floor line is where that start really is


def test_leaderboard_table_fits_the_page(small_store, tmp_path):
    """Headers wrap at words and labels wrap; what cannot wrap adds up to less than the page width."""
    text = build_report(str(small_store), tmp_path / "out").read_text()
    table = re.search(r"<table>(.*?)</table>", text, re.S).group(1)
    headers = re.findall(r"<th>([^<]*)</th>", table)
    assert "_" not in "".join(h for h in headers if h != "f_ref")  # words a browser can break between
    assert "td.text" in _STYLE and "white-space: normal" in _STYLE.split("td.text", 1)[1].split("}")[0]
    widths = [max(len(word) for word in header.split()) for header in headers]
    for row in re.findall(r"<tr>(.*?)</tr>", table.split("</thead>")[1]):
        for i, (css, cell) in enumerate(re.findall(r"<td( class='text')?>([^<]*)</td>", row)):
            unbreakable = max(len(w) for w in cell.split()) if css else len(cell)
            widths[i] = max(widths[i], unbreakable)
    # 1100 px of page at 0.85 rem is about 150 characters; padding takes about 1.5 characters per column.
    assert sum(widths) + 1.5 * len(widths) <= 150, widths


def test_saved_surrogates_appear_with_their_accuracy_and_figure(small_store, two_step_problem, tmp_path):
    """The report reads what 'biobench surrogate' saved: one table row and one figure per network, numbers as
    measured on its held-out simulations; a folder the user names but that is missing is refused first."""
    from biobench.likelihood import Likelihood
    from biobench.surrogate.build import SurrogateOptions, train_surrogate
    from biobench.surrogate.figures import save_accuracy_figure

    root = tmp_path / "surrogates"
    trained = train_surrogate(two_step_problem, SurrogateOptions(n_train=60, n_test=10, layers=1, width=16,
                                                                 time_limit=600.0, max_epochs=200), root)
    save_accuracy_figure(trained, Likelihood(two_step_problem), "two_step", trained.folder / "accuracy.png")
    titles, n_images, text = sections(build_report(str(small_store), tmp_path / "out", surrogates=root))
    assert titles[-1] == "Surrogates of the simulator"
    assert n_images == len(titles) - 3  # one figure in each section after the three tables, this one's included
    section = text.split("<h2>Surrogates of the simulator</h2>")[1]
    r2 = trained.config["quality"]["observables"]
    worst = min(r2, key=lambda name: r2[name]["r2"])
    row = re.findall(r"<td[^>]*>([^<]*)</td>", section)
    assert row[0] == two_step_problem.problem_id and row[7] == worst and row[6] == f"{r2[worst]['r2']:.4g}"
    low, high = r2[worst]["r2_interval"]
    assert row[8] == f"{low:.3g} .. {high:.3g}" and low <= r2[worst]["r2"] <= high  # how much the R^2 can be trusted
    result = CliRunner().invoke(main, ["report", "--results", str(small_store), "--out", str(tmp_path / "cli"),
                                       "--surrogates", str(tmp_path / "missing")])
    assert result.exit_code != 0 and "no such folder" in result.output and "Traceback" not in result.output


def test_convergence_curves_run_to_each_starts_end(small_store):
    """Traces hold improvements only; the curves must still reach the last evaluation and second of the starts."""
    import biobench

    runs = biobench.load_results(str(small_store))
    items = [item for item in report_figures(Store(small_store)) if item.title.startswith("Convergence")]
    assert len(items) == 2  # one per problem
    for item in items:
        problem = item.title.split(", ", 1)[1]
        mine = runs[runs["problem_id"] == problem]
        evaluations, seconds = item.figure.axes[0], item.figure.axes[1]
        assert max(max(line.get_xdata()) for line in evaluations.lines if len(line.get_xdata()) > 2) \
            >= mine["n_evals"].max() - 0.5
        assert max(max(line.get_xdata()) for line in seconds.lines if len(line.get_xdata()) > 2) \
            >= mine["seconds"].max() * (1 - 1e-9)


def test_one_problem_has_no_performance_profile_and_the_report_says_why(small_store, two_step_problem, tmp_path):
    one = Store(tmp_path / "one.sqlite")
    run_starts(two_step_problem, "random", "local", n_starts=2, budget=30, seed=0, store=one)
    titles, _, text = sections(build_report(one.url, tmp_path / "out"))
    assert not any(title.startswith("Performance profiles") for title in titles)
    assert "the performance profile needs two problems" in text
