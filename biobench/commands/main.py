"""The ``biobench`` command line: each command parses what the user typed and hands it on.

The work lives in the library (sources, runner, bench, metrics, api, report); how
results are printed lives in ``terminal``.
"""

from __future__ import annotations

import json
import math
import shlex
import sys
import warnings

import click

from biobench.commands.collection import collection_group
from biobench.commands.features import features_command, recommend_command
from biobench.commands.options import (config_option, engine_option, init_option, init_options_option, model_option,
                                       parse_options, problem_from, results_option, starts_file_option)
from biobench.commands.results import leaderboard_command, report, runs_command
from biobench.commands.surrogate import surrogate_command
from biobench.commands.terminal import (console, err_console, notify, print_frame, print_problem, print_rows,
                                        show_warning, stage_reporter, starts_progress, stored_on_interrupt)
from biobench.errors import BiobenchError, ConfigError
from biobench.numbers import fmt, plural
from biobench.threads import THREADS_VARIABLE, limit_threads


class _Group(click.Group):
    """Turns ``BiobenchError`` into one clear line instead of a traceback."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except BiobenchError as exc:
            raise click.ClickException(str(exc)) from None


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="biobench")
@click.option("--threads", type=click.IntRange(min=1), default=1, show_default=True, envvar=THREADS_VARIABLE,
              help="Compute threads (BLAS, OpenMP, torch) per process; also the BIOBENCH_THREADS variable. More "
                   "than one rarely helps biobench's small matrices and slows a shared machine.")
def main(threads: int) -> None:
    """Benchmark parameter-estimation methods on SBML models from BioModels."""
    limit_threads(threads)
    # Libraries' notices about their own future APIs are for developers, not users of this command.
    warnings.filterwarnings("ignore", category=FutureWarning)
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    warnings.showwarning = show_warning


def _methods(settings, initializer: str, init_option: tuple[str, ...], optimizer: str | None = None,
             opt_option: tuple[str, ...] = ()):
    """The initializer and optimizer specs with their options (config, then command line): made here, so a typo
    in a name or an option is reported before a model is fetched or compiled. The optimizer is None when
    none is asked for."""
    from biobench.method_spec import MethodSpec

    init = MethodSpec.initializer(initializer, settings.options.get(initializer, {})
                                  | parse_options(init_option, "--init-option"))
    if optimizer is None:
        return init, None
    return init, MethodSpec.optimizer(optimizer, settings.options.get(optimizer, {})
                                      | parse_options(opt_option, "--opt-option"))


def _plan(init_spec, opt_spec, starts: int, budget: int, problem) -> str:
    """What a run will really spend: evaluations per start (a GP method may stop early), any pilot, and what
    the method reuses from before the run (a saved surrogate), each charged to the run."""
    init, opt = init_spec.build(), opt_spec.build()
    used = opt.evaluations_used(budget)
    plan = f"{plural(starts, 'start')} x {plural(used, 'evaluation')}"
    if used < budget:
        plan += f" ({opt.name} stops at max_evals {used}; budget {budget})"
    pilot = init.pilot_evaluations()
    if pilot:
        plan += f", plus {init.name}'s pilot of {pilot} evaluations (charged to this run)"
    shared = opt.shared_cost(problem)
    if shared is not None:
        plan += f", plus {shared.description}: {plural(int(shared.evals), 'simulation')} (charged to this run)"
    return plan


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
@click.option("--format", "fmt_", type=click.Choice(["table", "json"]), default="table", show_default=True)
def models(fmt_: str) -> None:
    """List cached models: ID, name, source, species and estimable parameters."""
    import pandas as pd

    from biobench.models.cache import ModelCache, cached_models

    cache = ModelCache()
    rows = cached_models(cache)
    if fmt_ == "json":
        click.echo(json.dumps(rows, indent=2))
    elif not rows:
        console.print(f"No models cached in {cache.root}. Try: biobench fetch BIOMD0000000012")
    else:
        print_frame(pd.DataFrame(rows), f"Models cached in {cache.root} (- : the file cannot be read)")


@main.command()
@model_option
@config_option
@click.option("--format", "fmt_", type=click.Choice(["table", "json"]), default="table", show_default=True)
@engine_option
def problem(model_spec: str, config: str | None, fmt_: str, engine: str) -> None:
    """Describe the estimation problem built from a model."""
    from biobench.engines import check_engine, likelihood_for

    engine = check_engine(engine or "roadrunner")
    prob = problem_from(model_spec, config)
    auto = None
    if engine == "auto":  # which engine each kind of method would run on
        from biobench.engines.choice import resolve_engine

        auto = {needs or "values": resolve_engine(prob, engine, needs, say=err_console.print)
                for needs in (None, "jacobian", "gradient")}
    shown = engine if auto is None else "amici"  # auto: AMICI's measured costs, where it runs the problem
    try:
        likelihood = likelihood_for(prob, shown, say=err_console.print)
    except BiobenchError:
        if auto is None:
            raise
        shown, likelihood = "roadrunner", likelihood_for(prob, "roadrunner")
    # With priors the objective is the negative log-posterior; fval_nominal - prior_nominal is the likelihood.
    info = prob.describe() | {"engine": shown, "fval_nominal": likelihood.fval(prob.x_true),
                              "prior_nominal": likelihood.prior(prob.x_true)}
    if auto is not None:
        info["auto_engine"] = auto
    if not math.isfinite(info["fval_nominal"]):
        info["nominal_failure"] = likelihood.simulator.last_error
    costs = likelihood.costs
    if costs is not None:
        info["sensitivity_costs"] = {"cpu_ms": {way: ms for way, ms, _ in costs.table()},
                                     "simulation_equivalents": {way: ratio for way, _, ratio in costs.table()},
                                     "gradient": likelihood.gradient_method, "jacobian": likelihood.jacobian_method}
    if fmt_ == "json":
        click.echo(json.dumps(info, indent=2))
        return
    print_problem(prob, info)


@main.command()
@click.option("--model", "model_spec", required=True, help="BioModels ID (BIOMD0000000012, BIOMD12) or SBML file path.")
@click.option("--out", required=True, type=click.Path(file_okay=False), help="New directory for the PEtab problem.")
@config_option
def export(model_spec: str, out: str, config: str | None) -> None:
    """Write the synthetic problem of a model as a PEtab v1 directory (linted by petab)."""
    from biobench.petab.exporter import export_problem

    prob = problem_from(model_spec, config)
    yaml_path = export_problem(prob, out)
    console.print(f"{prob.problem_id}: {prob.n_parameters} parameters, {prob.n_data} measurements written to "
                  f"{yaml_path.parent}/ (petab's linter accepts it).")
    console.print(f"Run it as a PEtab problem: biobench run --model {yaml_path}")


@main.command()
@model_option
@init_option
@click.option("--opt", "optimizer", default="local", show_default=True, help="Optimizer (see 'biobench plugins').")
@click.option("--starts", type=click.IntRange(min=1), help="Number of starts [default: 10, or the config's].")
@click.option("--budget", type=click.IntRange(min=1), help="Objective evaluations per start [default: 1000, or the config's].")
@click.option("--seed", type=click.IntRange(min=0), help="Seed of start points and optimizers [default: 0, or the config's].")
@results_option
@config_option
@starts_file_option
@init_options_option
@click.option("--opt-option", "opt_option", multiple=True, metavar="KEY=VALUE", help="Optimizer option; repeatable.")
@engine_option
@click.option("--time-limit", type=click.FloatRange(min=0, min_open=True), metavar="SECONDS",
              help="Per start: a start still running then ends after its current evaluation, as if its budget "
                   "were used [default: none, or the config's time_limit].")
def run(model_spec, initializer, optimizer, starts, budget, seed, results, config, starts_file, init_option,
        opt_option, engine, time_limit) -> None:
    """Run a multistart of one initializer and one optimizer on a model, storing every start."""
    from biobench.analysis import metrics
    from biobench.engines import check_engine
    from biobench.engines.choice import resolve_engine
    from biobench.initializers.guesses import read_starts_file
    from biobench.running.runner import run_starts
    from biobench.running.store import Store
    from biobench.settings import load_run_settings

    if engine:
        check_engine(engine)  # a typo is named before the config file is even read
    settings = load_run_settings(config)
    engine = check_engine(engine or settings.engine)
    init, opt = _methods(settings, initializer, init_option, optimizer, opt_option)
    store = Store(results)  # a bad --results is reported before the slow work too
    prob = problem_from(model_spec, settings=settings)
    guesses = read_starts_file(starts_file, prob) if starts_file else None
    starts = starts or max(settings.starts, 0 if guesses is None else len(guesses))
    budget = budget or settings.budget
    seed = settings.seed if seed is None else seed
    time_limit = time_limit or settings.time_limit
    engine = resolve_engine(prob, engine, opt.build().needs(), say=err_console.print)  # auto: the engine that will run
    plan = _plan(init, opt, starts, budget, prob) + (f", at most {time_limit:g} s each" if time_limit else "")
    on_engine = "" if engine == "roadrunner" else f" on {engine}"
    console.print(f"{prob.model.name} ({prob.problem_id}): {prob.n_parameters} parameters, {prob.n_data} data points; "
                  f"{initializer} + {optimizer}{on_engine}, {plan}, seed {seed}")
    best = [float("inf")]
    with starts_progress(best=True) as progress, stored_on_interrupt(progress, store.url):
        task = progress.add_task("preparing starts", total=starts, best="-")
        within = progress.add_task("evaluations", total=budget, best="-", visible=False)

        def done(record) -> None:
            best[0] = min(best[0], record.fval_best)
            progress.update(task, advance=1, best=fmt(best[0]))
            progress.update(within, visible=False)

        def evaluations(start_index: int, n_evals: float) -> None:
            progress.update(within, description=f"start {start_index + 1}", completed=min(n_evals, budget),
                            visible=True)

        summary = run_starts(prob, init, opt, n_starts=starts, budget=budget, seed=seed, store=store, guesses=guesses,
                             progress=stage_reporter(progress), engine=engine, time_limit=time_limit,
                             on_ready=lambda: progress.update(task, description="starts"), on_done=done,
                             on_evals=evaluations)
        progress.update(task, completed=starts)
    if summary.skipped:
        console.print(f"{summary.skipped} of {starts} starts were already in the store ({store.url}) and were skipped.")
    runs = store.runs_frame(model_id=prob.model.model_id)
    table = metrics.run_summary(runs, prob.key, initializer, optimizer, seed, budget, summary.f_true,
                                synthetic=prob.synthetic, engine=engine)
    shown = runs.loc[runs["problem_key"] == prob.key, "problem_id"]  # the model's name where no other problem has it
    title = shown.iloc[0] if len(shown) else prob.problem_id
    print_frame(table, f"{title}: {initializer} + {optimizer}{on_engine}, seed {seed}")
    console.print(f"results: {store.url}")


@main.command()
@model_option
@init_option
@click.option("-n", "--starts", "n_starts", type=click.IntRange(min=1), default=10, show_default=True)
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True)
@config_option
@starts_file_option
@init_options_option
@results_option
@click.option("--format", "fmt_", type=click.Choice(["table", "csv", "json"]), default="table", show_default=True)
def starts(model_spec, initializer, n_starts, seed, config, starts_file, init_option, results, fmt_) -> None:
    """Print the start points an initializer gives (scaled space), exactly as 'run' would use them."""
    import pandas as pd

    from biobench.initializers.guesses import read_starts_file
    from biobench.running.runner import start_points
    from biobench.running.store import Store
    from biobench.settings import load_run_settings

    settings = load_run_settings(config)
    init, _ = _methods(settings, initializer, init_option)
    store = Store(results)
    prob = problem_from(model_spec, settings=settings)
    guesses = read_starts_file(starts_file, prob) if starts_file else None
    points = start_points(prob, init.build(), n_starts, seed, guesses, store).points  # a cvae reads the store
    frame = pd.DataFrame(points, columns=[f"{s}({p})" if s != "lin" else p
                                          for p, s in zip(prob.parameter_ids, prob.scales)])
    if fmt_ == "csv":
        click.echo(frame.to_csv(index=False), nl=False)
    elif fmt_ == "json":
        click.echo(frame.to_json(orient="records", indent=2))
    else:
        print_rows(f"{n_starts} {initializer} starts for {prob.problem_id} (seed {seed}, scaled)",
                   ["start", *frame.columns], [[str(i), *(f"{v:.4g}" for v in row)]
                                                for i, row in enumerate(frame.itertuples(index=False))],
                   right=("start", *frame.columns))


@main.command()
@click.argument("config", type=click.Path(dir_okay=False))
@click.option("--executor", type=click.Choice(["serial", "processes", "dask"]), default="serial", show_default=True)
@click.option("--workers", type=click.IntRange(min=1), help="Worker processes [default: all cores].")
@click.option("--scheduler", metavar="tcp://HOST:PORT", help="An existing Dask scheduler (with --executor dask).")
@click.option("--results", help="Results store: a path or SQLAlchemy URL [default: the config's, else "
                                "$BIOBENCH_RESULTS or results/biobench.sqlite].")
def bench(config: str, executor: str, workers: int | None, scheduler: str | None, results: str | None) -> None:
    """Run a whole benchmark (models x initializers x optimizers x seeds); rerun to resume."""
    from biobench.analysis import metrics
    from biobench.running import bench as bench_module
    from biobench.running.bench_config import load_bench_config
    from biobench.running.store import Store

    if scheduler is not None and executor != "dask":
        raise ConfigError("--scheduler goes with --executor dask.")
    settings = load_bench_config(config)
    if settings.simulation_time_limit is not None and executor != "processes":
        raise ConfigError(f"{config}: simulation_time_limit needs --executor processes (a simulation running in "
                          "this process or a Dask worker cannot be stopped).")
    store = Store(results or settings.results)
    console.print(f"planning {config}: {len(settings.model_specs())} models, store {store.url}")
    plan = bench_module.plan(settings, store, notify=notify, progress=stage_reporter())
    if plan.refused:
        console.print(f"{len(plan.refused)} of {len(settings.model_specs())} models refused (reasons above, in the "
                      "store and in the report)")
    console.print(f"{len(plan.tasks) + plan.skipped} starts: {plan.skipped} already stored, {len(plan.tasks)} to run "
                  f"({executor}{f', {workers} workers' if workers else ''})")
    with starts_progress(with_eta=True) as progress, stored_on_interrupt(progress, store.url):
        task = progress.add_task("starts", total=len(plan.tasks))
        bench_module.run_plan(plan, store, executor, workers, scheduler, on_done=lambda record: progress.advance(task))
    runs = store.runs_frame()
    runs = runs[runs["problem_key"].isin(plan.problems)]
    if not runs.empty:
        print_frame(metrics.overall(metrics.per_problem(runs, settings.delta)),
                    f"Across problems (delta {settings.delta})")
    # The commands that read this bench's store, not the default one.
    location = results or settings.results
    where = f" --results {shlex.quote(str(location))}" if location else ""
    click.echo(f"More: biobench leaderboard{where} --delta {settings.delta}\n"
               f"      biobench report{where} --delta {settings.delta}")  # plain: copyable, never wrapped


@main.command()
def plugins() -> None:
    """List registered initializers and optimizers, with their options (defaults and limits)."""
    from biobench.initializers import initializers
    from biobench.optimizers import optimizers
    from biobench.plugins import describe_options

    for title, registry in (("initializers", initializers), ("optimizers", optimizers)):
        print_rows(title, ["name", "description", "options (defaults)"],
                   [[name, registry.get(name).description, describe_options(registry.get(name).Options)]
                    for name in registry.names()])


main.add_command(runs_command)
main.add_command(features_command)
main.add_command(recommend_command)
main.add_command(leaderboard_command)
main.add_command(report)
main.add_command(surrogate_command)
main.add_command(collection_group)

if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
