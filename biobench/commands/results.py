"""The commands that only read the results store: ``runs``, ``leaderboard`` and ``report``."""

from __future__ import annotations

import json

import click

from biobench.analysis.metrics import DEFAULT_DELTA
from biobench.commands.options import results_option
from biobench.commands.terminal import console, err_console, print_frame, print_runs
from biobench.numbers import fmt, is_precise

NO_RUNS = "No runs stored yet. Try: biobench run --model BIOMD0000000012"


def _model_filter(model_id: str | None) -> str | None:
    """``--model`` of the result commands: BioModels IDs in any spelling, other model IDs as they are."""
    from biobench.models.ids import looks_like_model_id, normalize_model_id

    return normalize_model_id(model_id) if model_id is not None and looks_like_model_id(model_id) else model_id


@click.command("runs")
@click.option("--model", "model_id", help="Only runs of this model ID.")
@results_option
@click.option("--format", "fmt_", type=click.Choice(["table", "csv", "json", "parquet"]), default="table",
              show_default=True)
@click.option("--out", type=click.Path(dir_okay=False), help="Write to this file instead of the terminal "
              "(required for parquet).")
@click.option("--params", is_flag=True, help="The fitted parameters instead: the best start of each problem and "
              "method, one row per parameter id, in natural units beside nominal value and bounds.")
def runs_command(model_id: str | None, results: str | None, fmt_: str, out: str | None, params: bool) -> None:
    """List stored runs, one row per start (x0 and x_best included); export for pandas."""
    from biobench.api import export_runs
    from biobench.running.store import Store

    store = Store(results, must_exist=True)
    frame = store.runs_frame(model_id=_model_filter(model_id))
    if params:
        _print_fitted(frame, store, fmt_, out)
    elif fmt_ != "table":
        text = export_runs(frame, fmt_, out)
        if out is None:
            click.echo(text, nl=fmt_ == "json")
        else:
            console.print(f"{len(frame)} runs written to {out}")
    elif frame.empty:
        console.print(NO_RUNS)
    else:
        print_runs(frame)


def _print_fitted(runs, store, fmt_: str, out: str | None) -> None:
    from biobench.analysis.fitted import fitted_parameters
    from biobench.api import write_frame

    fitted = fitted_parameters(runs, store.problems_frame())
    if fmt_ == "table":
        if fitted.empty:
            console.print(NO_RUNS)
        for (problem, method), rows in fitted.groupby(["problem_id", "method"], sort=False):
            print_frame(rows.drop(columns=["problem_id", "method", "run_id", "fval_best"]),
                        f"{problem}: {method}, best start (run {rows['run_id'].iloc[0]}, fval "
                        f"{fmt(rows['fval_best'].iloc[0])})")
        return
    text = write_frame(fitted, fmt_, out)
    if out is None:
        click.echo(text, nl=fmt_ == "json")
    else:
        console.print(f"{fitted['run_id'].nunique()} fits written to {out}")


def _markdown_formats(frame) -> tuple[str, ...]:
    """Objective values to six significant digits (convergence is judged in their last ones), the rest to four."""
    return tuple(".6g" if is_precise(column) else ".4g" for column in frame.columns)


@click.command("leaderboard")
@click.option("--model", "model_id", help="Only this model ID.")
@results_option
@click.option("--delta", type=click.FloatRange(min=0), default=DEFAULT_DELTA, show_default=True,
              help="A start has converged when fval_best <= f_ref + delta.")
@click.option("--format", "fmt_", type=click.Choice(["table", "csv", "json", "markdown"]), default="table",
              show_default=True)
def leaderboard_command(model_id: str | None, results: str | None, delta: float, fmt_: str) -> None:
    """Rank methods per problem and across problems (computed from the store alone)."""
    from biobench.analysis import metrics
    from biobench.running.store import Store

    runs = Store(results, must_exist=True).runs_frame(model_id=_model_filter(model_id))
    if runs.empty:
        console.print(NO_RUNS)
        return
    full = metrics.per_problem(runs, delta)
    board, summary = full[metrics.LEADERBOARD_COLUMNS], metrics.overall(full)
    best = metrics.best_per_problem(full) if full["problem_key"].nunique() > 1 else None
    failed, pending = metrics.failures(runs), metrics.unconfirmed(runs, delta)
    if fmt_ == "csv":
        click.echo(board.to_csv(index=False), nl=False)
    elif fmt_ == "json":
        sections = {"per_problem": board, "overall": summary, "best_per_problem": best, "failures": failed,
                    "unconfirmed": pending}
        click.echo(json.dumps({"delta": delta} | {name: json.loads(frame.to_json(orient="records"))
                                                  for name, frame in sections.items() if frame is not None},
                              indent=2))
    elif fmt_ == "markdown":
        sections = [(f"Per problem (converged: fval_best <= f_ref + {delta})", board), ("Across problems", summary),
                    ("Best method per problem", best), ("Failed and killed starts", failed)]
        for title, frame in sections:
            if frame is not None and not frame.empty:
                click.echo(f"### {title}\n\n{frame.to_markdown(index=False, floatfmt=_markdown_formats(frame))}\n")
    else:
        print_frame(board, f"Leaderboard per problem (converged: fval_best <= f_ref + {delta})")
        print_frame(summary, "Across problems (rank by converged starts per 1000 evaluations; "
                             "AUC of the performance profile, 1 = best everywhere; share of problems solved)")
        if best is not None:
            print_frame(best, "Best method per problem (methods_solving: how many methods converged at least once)")
        if not failed.empty:
            print_frame(failed, "Failed and killed starts, by reason")
    for row in pending.itertuples(index=False):
        err_console.print(f"{row.problem_id}: a start reached {row.best_fval:.6g}, below the published target "
                      f"{row.f_ref:.6g}; it becomes the target once a second engine confirms it at the same point "
                      "(biobench collection check FOLDER --results STORE).", style="yellow")


@click.command()
@results_option
@click.option("--out", type=click.Path(file_okay=False),
              help="Folder for report.html [default: results/report in the home folder ($BIOBENCH_HOME or here)].")
@click.option("--delta", type=click.FloatRange(min=0), default=DEFAULT_DELTA, show_default=True)
@click.option("--surrogates", type=click.Path(file_okay=False),
              help="Folder of 'biobench surrogate' networks to include [default: surrogates, when it exists].")
def report(results: str | None, out: str, delta: float, surrogates: str | None) -> None:
    """Write a self-contained HTML report with leaderboards and figures."""
    from biobench.home import under_home
    from biobench.report import build_report
    from biobench.surrogate.build import default_folder

    if surrogates is None and default_folder().is_dir():
        surrogates = str(default_folder())
    out = out or str(under_home("results/report"))
    console.print(f"report written to {build_report(results, out, delta, surrogates)}")
