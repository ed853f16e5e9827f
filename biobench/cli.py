"""The ``biobench`` command line."""

from __future__ import annotations

import json
import math
import sys
import warnings
from pathlib import Path

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from biobench.errors import BiobenchError, ConfigError

MODEL_HELP = "BioModels ID (BIOMD0000000012, BIOMD12), SBML file path, or PEtab problem YAML."

# Piped output (logs, CI) gets wide lines instead of rich's 80-column default.
# Markup is off: model names, paths and error messages may contain [brackets].
console = Console(highlight=False, markup=False, width=None if sys.stdout.isatty() else 160)
err_console = Console(stderr=True, highlight=False, markup=False, width=None if sys.stderr.isatty() else 160)


class _Group(click.Group):
    """Turns ``BiobenchError`` into one clear line instead of a traceback."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except BiobenchError as exc:
            raise click.ClickException(str(exc)) from None


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="biobench")
def main() -> None:
    """Benchmark parameter-estimation methods on SBML models from BioModels."""
    # Libraries' notices about their own future APIs are for developers, not users of this command.
    warnings.filterwarnings("ignore", category=FutureWarning)
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    warnings.showwarning = _show_warning


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """Warnings meant for the user read as one line, not as a source location."""
    err_console.print(f"warning: {message}", style="yellow")


def _fmt(value: float) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return f"{value:.6g}"


def _cell(value) -> str:
    """A table cell: whole numbers without a decimal point (counts that pandas made floats), NaN as -."""
    if isinstance(value, float) and math.isfinite(value) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return _fmt(value) if isinstance(value, float) else str(value)


def _notify(message: str) -> None:
    err_console.print(message, style="yellow")


@main.command()
@click.argument("model_ids", nargs=-1, required=True)
@click.option("--refresh", is_flag=True, help="Download again even when a verified copy is cached.")
def fetch(model_ids: tuple[str, ...], refresh: bool) -> None:
    """Download BioModels entries into the model cache (BIOMD0000000012, or short: BIOMD12)."""
    from biobench.models import fetch_model

    for model_id in model_ids:
        fetched = fetch_model(model_id, refresh=refresh)
        (err_console.print if fetched.how == "offline" else console.print)(fetched.describe())


@main.command()
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
def models(fmt: str) -> None:
    """List cached models: ID, name, source, species and estimable parameters."""
    from biobench.errors import ModelError
    from biobench.models.cache import ModelCache
    from biobench.models.model import load_model

    rows = []
    cache = ModelCache()
    for entry in cache.entries():
        try:
            model = load_model(entry.path, model_id=entry.model_id)
            species, estimable = len(model.species), len(model.estimable_parameters)
        except ModelError:
            species = estimable = None
        rows.append({"id": entry.model_id, "name": entry.meta.get("name", ""), "source": entry.meta.get("source", ""),
                     "species": species, "estimable_parameters": estimable})
    if fmt == "json":
        click.echo(json.dumps(rows, indent=2))
        return
    if not rows:
        console.print(f"No models cached in {cache.root}. Try: biobench fetch BIOMD0000000012")
        return
    import pandas as pd

    _print_frame(pd.DataFrame(rows), f"Models cached in {cache.root} (- : the file cannot be read)")


def _problem_from(model_spec: str, config: str | None):
    from biobench.settings import load_run_settings
    from biobench.sources import load_problem

    settings = load_run_settings(config)
    return load_problem(model_spec, settings.problem, notify=_notify), settings


@main.command()
@click.option("--model", "model_spec", required=True, help=MODEL_HELP)
@click.option("--config", type=click.Path(dir_okay=False), help="YAML file with problem settings.")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
def problem(model_spec: str, config: str | None, fmt: str) -> None:
    """Describe the estimation problem built from a model."""
    from biobench.runner import true_fval

    prob, _ = _problem_from(model_spec, config)
    f_nominal = true_fval(prob)
    info = prob.describe() | {"fval_nominal": f_nominal}
    if fmt == "json":
        click.echo(json.dumps(info, indent=2))
        return
    console.print(f"{prob.model.name} ({prob.model.model_id}, {prob.model.source})", style="bold")
    table = Table(title=f"{prob.n_parameters} estimated parameters")
    for column in ("parameter", "scale", "lower", "upper", "nominal"):
        table.add_column(column, justify="left" if column in ("parameter", "scale") else "right")
    for p in info["parameters"]:
        table.add_row(p["id"], p["scale"], _fmt(p["lower"]), _fmt(p["upper"]), _fmt(p["nominal"]))
    console.print(table)
    if prob.experiments is not None:
        _print_petab_tables(info["petab"])
    else:
        console.print(f"observables ({len(prob.observables)}): {', '.join(prob.observables)}")
        noise = prob.settings.noise
        console.print(f"data points: {prob.n_data}   noise: sigma = {noise.relative} * |y| + "
                      f"{noise.absolute if noise.absolute is not None else '1% of max |y|'}   "
                      f"seed: {prob.settings.seed}")
    console.print(f"time points: {len(prob.timepoints)} from {_fmt(prob.timepoints[0])} to {_fmt(prob.timepoints[-1])}")
    console.print(f"objective (negative log-likelihood) at the nominal parameters: {_fmt(f_nominal)}")


@main.command()
@click.option("--model", "model_spec", required=True, help="BioModels ID (BIOMD0000000012, BIOMD12) or SBML file path.")
@click.option("--out", required=True, type=click.Path(file_okay=False), help="New directory for the PEtab problem.")
@click.option("--config", type=click.Path(dir_okay=False), help="YAML file with problem settings.")
def export(model_spec: str, out: str, config: str | None) -> None:
    """Write the synthetic problem of a model as a PEtab v1 directory (linted by petab)."""
    from biobench.petab.exporter import export_problem

    prob, _ = _problem_from(model_spec, config)
    yaml_path = export_problem(prob, out)
    console.print(f"{prob.problem_id}: {prob.n_parameters} parameters, {prob.n_data} measurements written to "
                  f"{yaml_path.parent}/ (petab's linter accepts it).")
    console.print(f"Run it as a PEtab problem: biobench run --model {yaml_path}")


def _print_petab_tables(petab: dict) -> None:
    observables = Table(title=f"{len(petab['observables'])} observables")
    for column in ("id", "formula", "noise (sigma)", "transformation", "distribution"):
        observables.add_column(column)
    for o in petab["observables"]:
        observables.add_row(o["id"], o["formula"], o["noise"], o["transformation"], o["distribution"])
    console.print(observables)
    simulations = Table(title=f"{len(petab['simulations'])} simulations, {petab['n_measurements']} measurements")
    for column in ("pre-equilibration", "condition", "output times"):
        simulations.add_column(column)
    for sim in petab["simulations"]:
        simulations.add_row(sim["preequilibration"] or "-", sim["condition"], str(sim["n_times"]))
    console.print(simulations)


def _parse_options(pairs: tuple[str, ...], flag: str) -> dict[str, str]:
    options = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise ConfigError(f"{flag} {pair!r}: expected KEY=VALUE, e.g. {flag} name=value.")
        options[key.strip()] = value.strip()
    return options


@main.command()
@click.option("--model", "model_spec", required=True, help=MODEL_HELP)
@click.option("--init", "initializer", default="random", show_default=True, help="Initializer (see 'biobench plugins').")
@click.option("--opt", "optimizer", default="local", show_default=True, help="Optimizer (see 'biobench plugins').")
@click.option("--starts", type=click.IntRange(min=1), help="Number of starts [default: 10, or the config's].")
@click.option("--budget", type=click.IntRange(min=1), help="Objective evaluations per start [default: 1000, or the config's].")
@click.option("--seed", type=click.IntRange(min=0), help="Seed of start points and optimizers [default: 0, or the config's].")
@click.option("--results", help="Results store: a path, or an SQLAlchemy URL [default: $BIOBENCH_RESULTS or results/biobench.sqlite].")
@click.option("--config", type=click.Path(dir_okay=False), help="YAML file with problem settings and run defaults.")
@click.option("--starts-file", type=click.Path(dir_okay=False),
              help="CSV of your own start points (columns: parameter ids, natural values; or log10(id), scaled); "
                   "they come first, the initializer fills the rest.")
@click.option("--init-option", "init_option", multiple=True, metavar="KEY=VALUE", help="Initializer option; repeatable.")
@click.option("--opt-option", "opt_option", multiple=True, metavar="KEY=VALUE", help="Optimizer option; repeatable.")
def run(model_spec, initializer, optimizer, starts, budget, seed, results, config, starts_file, init_option,
        opt_option) -> None:
    """Run a multistart of one initializer and one optimizer on a model, storing every start."""
    from biobench.initializers.guesses import read_starts_file
    from biobench.runner import run_starts
    from biobench.store import Store

    prob, settings = _problem_from(model_spec, config)
    guesses = read_starts_file(starts_file, prob) if starts_file else None
    starts = starts or max(settings.starts, 0 if guesses is None else len(guesses))
    budget = budget or settings.budget
    seed = settings.seed if seed is None else seed
    store = Store(results)
    console.print(f"{prob.model.name} ({prob.problem_id}): {prob.n_parameters} parameters, {prob.n_data} data points; "
                  f"{initializer} + {optimizer}, {starts} starts x {budget} evaluations, seed {seed}")
    best = [math.inf]
    with Progress(TextColumn("[progress.description]{task.description}"), BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn(), TextColumn("best fval {task.fields[best]}"), console=console,
                  transient=False) as progress:
        task = progress.add_task("preparing starts", total=starts, best="-")

        def done(record) -> None:
            best[0] = min(best[0], record.fval_best)
            progress.update(task, advance=1, best=_fmt(best[0]))

        try:
            summary = run_starts(prob, initializer, optimizer, n_starts=starts, budget=budget, seed=seed, store=store,
                                 init_options=settings.options.get(initializer, {})
                                 | _parse_options(init_option, "--init-option"),
                                 opt_options=settings.options.get(optimizer, {})
                                 | _parse_options(opt_option, "--opt-option"),
                                 guesses=guesses, on_ready=lambda: progress.update(task, description="starts"),
                                 on_done=done)
        except KeyboardInterrupt:
            progress.stop()
            err_console.print(f"Interrupted. Finished starts are stored in {store.url}; "
                              "rerun the same command to run the rest.")
            raise SystemExit(130) from None
        progress.update(task, completed=starts)
    if summary.skipped:
        console.print(f"{summary.skipped} of {starts} starts were already in the store ({store.url}) and were skipped.")
    _print_run_summary(store, prob, initializer, optimizer, seed, budget, summary)


def _print_run_summary(store, prob, initializer: str, optimizer: str, seed: int, budget: int, summary) -> None:
    from biobench import metrics

    runs = store.runs_frame(model_id=prob.model.model_id)
    runs = metrics.with_convergence(runs[runs["problem_key"] == prob.key])  # f_ref over every run of the problem
    mine = runs[(runs["initializer"] == initializer) & (runs["optimizer"] == optimizer) & (runs["seed"] == seed)
                & (runs["budget"] == budget)]
    table = Table(title=f"{prob.problem_id}: {initializer} + {optimizer}, seed {seed}")
    table.add_column("metric")
    table.add_column("value", justify="right")
    table.add_row("starts", str(len(mine)))
    table.add_row("best fval", _fmt(float(mine["fval_best"].min())) if len(mine) else "-")
    table.add_row("median fval", _fmt(float(mine["fval_best"].median())) if len(mine) else "-")
    table.add_row("fval at the true parameters", _fmt(summary.f_true))
    f_ref = float(runs["f_ref"].iloc[0]) if len(runs) else summary.f_true
    table.add_row(f"converged starts (fval <= f_ref + {metrics.DEFAULT_DELTA}, f_ref = {_fmt(f_ref)})",
                  f"{int(mine['converged'].sum())} / {len(mine)}")
    pilot = float(mine["pilot_evals"].sum())
    if pilot:
        table.add_row(f"pilot evaluations of {initializer} (charged to it)", f"{pilot:.0f}")
        table.add_row(f"pilot seconds of {initializer} (charged to it)", f"{mine['pilot_seconds'].sum():.1f}")
    table.add_row("evaluations (total, pilot included)", f"{mine['total_evals'].sum():.0f}")
    table.add_row("failed simulations", str(int(mine["n_failures"].sum())))
    table.add_row("seconds (total, pilot included)", f"{mine['total_seconds'].sum():.1f}")
    console.print(table)
    console.print(f"results: {store.url}")


@main.command()
@click.option("--model", "model_spec", required=True, help=MODEL_HELP)
@click.option("--init", "initializer", default="random", show_default=True, help="Initializer (see 'biobench plugins').")
@click.option("-n", "--starts", "n_starts", type=click.IntRange(min=1), default=10, show_default=True)
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True)
@click.option("--config", type=click.Path(dir_okay=False), help="YAML file with problem settings.")
@click.option("--starts-file", type=click.Path(dir_okay=False), help="CSV of your own start points, placed first.")
@click.option("--init-option", "init_option", multiple=True, metavar="KEY=VALUE", help="Initializer option; repeatable.")
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "json"]), default="table", show_default=True)
def starts(model_spec, initializer, n_starts, seed, config, starts_file, init_option, fmt) -> None:
    """Print the start points an initializer gives (scaled space), exactly as 'run' would use them."""
    import pandas as pd

    from biobench.initializers import initializers
    from biobench.initializers.guesses import read_starts_file
    from biobench.runner import start_points

    prob, settings = _problem_from(model_spec, config)
    init = initializers.get(initializer)(**settings.options.get(initializer, {})
                                         | _parse_options(init_option, "--init-option"))
    guesses = read_starts_file(starts_file, prob) if starts_file else None
    points = start_points(prob, init, n_starts, seed, guesses)
    frame = pd.DataFrame(points, columns=[f"{s}({p})" if s != "lin" else p
                                          for p, s in zip(prob.parameter_ids, prob.scales)])
    if fmt == "csv":
        click.echo(frame.to_csv(index=False), nl=False)
    elif fmt == "json":
        click.echo(frame.to_json(orient="records", indent=2))
    else:
        table = Table(title=f"{n_starts} {initializer} starts for {prob.problem_id} (seed {seed}, scaled)")
        table.add_column("start", justify="right")
        for column in frame.columns:
            table.add_column(column, justify="right")
        for i, row in enumerate(frame.itertuples(index=False)):
            table.add_row(str(i), *(f"{v:.4g}" for v in row))
        console.print(table)


@main.command("runs")
@click.option("--model", "model_id", help="Only runs of this model ID.")
@click.option("--results", help="Results store: a path, or an SQLAlchemy URL.")
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "json", "parquet"]), default="table",
              show_default=True)
@click.option("--out", type=click.Path(dir_okay=False), help="Write to this file instead of the terminal "
              "(required for parquet).")
def runs_command(model_id: str | None, results: str | None, fmt: str, out: str | None) -> None:
    """List stored runs, one row per start (x0 and x_best included); export for pandas."""
    from biobench.models.ids import looks_like_model_id, normalize_model_id
    from biobench.store import Store

    if model_id is not None and looks_like_model_id(model_id):
        model_id = normalize_model_id(model_id)
    frame = Store(results).runs_frame(model_id=model_id)
    columns = ["run_id", "problem_id", "model_id", "initializer", "optimizer", "seed", "start_index", "fval0",
               "fval_best", "n_evals", "n_failures", "seconds", "status", "parameter_ids", "x0", "x_best", "message",
               "opt_options", "extras", "created_at"]
    frame = frame[columns]
    if fmt in ("csv", "parquet"):
        flat = frame.copy()
        for column in ("parameter_ids", "x0", "x_best", "opt_options", "extras"):
            flat[column] = flat[column].map(json.dumps)  # one cell each, readable back with json.loads
        if fmt == "parquet":
            if out is None:
                raise ConfigError("--format parquet writes a binary file: pass --out runs.parquet.")
            _write_atomically(out, lambda tmp: flat.to_parquet(tmp, index=False))
        elif out is not None:
            _write_atomically(out, lambda tmp: flat.to_csv(tmp, index=False))
        else:
            click.echo(flat.to_csv(index=False), nl=False)
        if out is not None:
            console.print(f"{len(flat)} runs written to {out}")
        return
    if fmt == "json":
        text = frame.to_json(orient="records", indent=2)
        if out is not None:
            _write_atomically(out, lambda tmp: Path(tmp).write_text(text))
        else:
            click.echo(text)
        return
    if frame.empty:
        console.print("No runs stored yet. Try: biobench run --model BIOMD0000000012")
        return
    table = Table()
    for column in ("run", "model", "init", "opt", "seed", "start", "fval0", "fval_best",
                   "evals", "seconds", "status", "x_best (scaled)"):
        table.add_column(column, justify="right" if column in ("run", "seed", "start", "evals", "seconds") else "left")
    for row in frame.itertuples():
        table.add_row(str(row.run_id), row.model_id, row.initializer, row.optimizer, str(row.seed),
                      str(row.start_index), _fmt(row.fval0), _fmt(row.fval_best), str(row.n_evals),
                      f"{row.seconds:.2f}", row.status, "[" + ", ".join(f"{v:.3g}" for v in row.x_best) + "]")
    console.print(table)


def _write_atomically(path: str, write) -> None:
    """Write through a temporary file in the same folder, so a failed export leaves no half file."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.tmp")
    try:
        write(tmp)
        tmp.replace(target)
    finally:
        tmp.unlink(missing_ok=True)


@main.command("leaderboard")
@click.option("--model", "model_id", help="Only this model ID.")
@click.option("--results", help="Results store: a path, or an SQLAlchemy URL.")
@click.option("--delta", type=click.FloatRange(min=0), default=0.1, show_default=True,
              help="A start has converged when fval_best <= f_ref + delta.")
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "json", "markdown"]), default="table",
              show_default=True)
def leaderboard_command(model_id: str | None, results: str | None, delta: float, fmt: str) -> None:
    """Rank methods per problem and across problems (computed from the store alone)."""
    from biobench import metrics
    from biobench.models.ids import looks_like_model_id, normalize_model_id
    from biobench.store import Store

    if model_id is not None and looks_like_model_id(model_id):
        model_id = normalize_model_id(model_id)
    runs = Store(results).runs_frame(model_id=model_id)
    if runs.empty:
        console.print("No runs stored yet. Try: biobench run --model BIOMD0000000012")
        return
    full = metrics.per_problem(runs, delta)
    board, summary = full[metrics.LEADERBOARD_COLUMNS], metrics.overall(full)
    if fmt == "csv":
        click.echo(board.to_csv(index=False), nl=False)
    elif fmt == "json":
        click.echo(json.dumps({"delta": delta, "per_problem": json.loads(board.to_json(orient="records")),
                               "overall": json.loads(summary.to_json(orient="records"))}, indent=2))
    elif fmt == "markdown":
        click.echo(f"### Per problem (converged: fval_best <= f_ref + {delta})\n")
        click.echo(board.to_markdown(index=False, floatfmt=".4g"))
        click.echo("\n### Across problems\n")
        click.echo(summary.to_markdown(index=False, floatfmt=".4g"))
    else:
        _print_frame(board, f"Leaderboard per problem (converged: fval_best <= f_ref + {delta})")
        _print_frame(summary, "Across problems (rank by converged starts per 1000 evaluations; "
                              "AUC of the performance profile, 1 = best everywhere)")


def _print_frame(frame, title: str) -> None:
    import pandas as pd

    table = Table(title=title)
    for column in frame.columns:
        numeric = pd.api.types.is_numeric_dtype(frame[column])
        table.add_column(column.replace("_", " "), justify="right" if numeric else "left", no_wrap=not numeric)
    for row in frame.itertuples(index=False):
        table.add_row(*map(_cell, row))
    console.print(table)


@main.command()
@click.argument("config", type=click.Path(dir_okay=False))
@click.option("--executor", type=click.Choice(["serial", "processes", "dask"]), default="serial", show_default=True)
@click.option("--workers", type=click.IntRange(min=1), help="Worker processes [default: all cores].")
@click.option("--scheduler", metavar="tcp://HOST:PORT", help="An existing Dask scheduler (with --executor dask).")
@click.option("--results", help="Results store: a path or SQLAlchemy URL [default: the config's, else "
                                "$BIOBENCH_RESULTS or results/biobench.sqlite].")
def bench(config: str, executor: str, workers: int | None, scheduler: str | None, results: str | None) -> None:
    """Run a whole benchmark (models x initializers x optimizers x seeds); rerun to resume."""
    from rich.progress import TimeRemainingColumn

    from biobench import metrics
    from biobench import bench as bench_module
    from biobench.bench_config import load_bench_config
    from biobench.store import Store

    if scheduler is not None and executor != "dask":
        raise ConfigError("--scheduler goes with --executor dask.")
    settings = load_bench_config(config)
    store = Store(results or settings.results)
    console.print(f"planning {config}: {len(settings.model_specs())} models, store {store.url}")
    plan = bench_module.plan(settings, store, notify=_notify)
    total = len(plan.tasks) + plan.skipped
    console.print(f"{total} starts: {plan.skipped} already stored, {len(plan.tasks)} to run "
                  f"({executor}{f', {workers} workers' if workers else ''})")
    with Progress(TextColumn("starts"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  TextColumn("ETA"), TimeRemainingColumn(), console=console) as progress:
        task = progress.add_task("starts", total=len(plan.tasks))
        try:
            bench_module.run_plan(plan, store, executor, workers, scheduler,
                                  on_done=lambda record: progress.advance(task))
        except KeyboardInterrupt:
            progress.stop()
            err_console.print(f"Interrupted. Finished starts are stored in {store.url}; rerun the same command "
                              "to run the rest.")
            raise SystemExit(130) from None
    runs = store.runs_frame()
    runs = runs[runs["problem_key"].isin(plan.problems)]
    if not runs.empty:
        _print_frame(metrics.overall(metrics.per_problem(runs, settings.delta)),
                     f"Across problems (delta {settings.delta}); 'biobench leaderboard' and 'biobench report' say more")


@main.command()
@click.option("--results", help="Results store: a path, or an SQLAlchemy URL.")
@click.option("--out", default="results/report", show_default=True, type=click.Path(file_okay=False),
              help="Folder for report.html.")
@click.option("--delta", type=click.FloatRange(min=0), default=0.1, show_default=True)
def report(results: str | None, out: str, delta: float) -> None:
    """Write a self-contained HTML report with leaderboards and figures."""
    from biobench.report import build_report

    path = build_report(results, out, delta)
    console.print(f"report written to {path}")


@main.command()
def plugins() -> None:
    """List registered initializers and optimizers, with their options."""
    from biobench.initializers import initializers
    from biobench.optimizers import optimizers

    for title, registry in (("initializers", initializers), ("optimizers", optimizers)):
        table = Table(title=title)
        for column in ("name", "description", "options (defaults)"):
            table.add_column(column)
        for name in registry.names():
            cls = registry.get(name)
            defaults = getattr(cls, "defaults", {})
            table.add_row(name, cls.description, ", ".join(f"{k}={v!r}" for k, v in defaults.items()) or "-")
        console.print(table)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
