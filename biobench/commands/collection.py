"""``biobench collection check DIR``: the command line of ``biobench.analysis.collection``."""

from __future__ import annotations

import click

from biobench.commands.options import results_option


@click.group("collection")
def collection_group() -> None:
    """A folder of published PEtab problems (Benchmark-Models-PEtab's layout) as a whole."""


@collection_group.command("check")
@click.argument("folder", type=click.Path(exists=True, file_okay=False))
@click.option("--engines", default="roadrunner,amici", show_default=True,
              help="Comma-separated engines to evaluate every problem on.")
@click.option("--problem", "only", multiple=True, help="Only this problem (a sub-folder's name); repeatable.")
@results_option
@click.option("--format", "fmt_", type=click.Choice(["table", "markdown", "csv"]), default="table", show_default=True)
def check_command(folder: str, engines: str, only: tuple[str, ...], results: str | None, fmt_: str) -> None:
    """Objective at the published parameters on every engine against the collection's reference, and (with
    --results) the best stored value of each problem, confirmed on every engine where it beats the published one.
    A confirmed value is written to the store: from then on it is the problem's target in leaderboards."""
    from biobench.analysis.collection import check_collection, check_table
    from biobench.commands.terminal import err_console, print_frame
    from biobench.engines import check_engine
    from biobench.running.store import Store

    names = [check_engine(name.strip()) for name in engines.split(",") if name.strip()]
    store = Store(results, must_exist=True) if results else None
    runs = store.runs_frame() if store is not None else None
    checks = check_collection(folder, names, runs, list(only) or None, say=err_console.print)
    for check in checks if store is not None else ():
        if check.is_confirmed():
            store.set_confirmed(check.problem_key, check.best, check.evidence())
            err_console.print(f"{check.problem}: {check.best:.6g} confirmed on {', '.join(check.confirmed)}; "
                              "it is the problem's target in leaderboards from now on")
    table = check_table(checks, names)
    if fmt_ == "markdown":
        click.echo(table.to_markdown(index=False, floatfmt=".6g"))
    elif fmt_ == "csv":
        click.echo(table.to_csv(index=False), nl=False)
    else:
        print_frame(table, f"{folder}: {len(checks)} problems on {', '.join(names)}")
