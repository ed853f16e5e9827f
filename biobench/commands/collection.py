"""``biobench collection check DIR``: the command line of ``biobench.analysis.collection``."""

from __future__ import annotations

import difflib
from pathlib import Path

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
@click.option("--point", "points", multiple=True, metavar="PROBLEM=PARAMETERS.tsv",
              help="A better point found elsewhere (another tool, another benchmark): a PEtab parameter table whose "
                   "nominalValue column holds it, checked on every engine like the best stored start; repeatable.")
@results_option
@click.option("--format", "fmt_", type=click.Choice(["table", "markdown", "csv"]), default="table", show_default=True)
def check_command(folder: str, engines: str, only: tuple[str, ...], points: tuple[str, ...], results: str | None,
                  fmt_: str) -> None:
    """Objective at the published parameters on every engine against the collection's reference, and (with
    --results) the best stored value of each problem, confirmed on every engine where it beats the published one.
    A confirmed value is written to the store: from then on it is the problem's target in leaderboards."""
    from biobench.analysis.collection import check_collection, check_table
    from biobench.commands.terminal import err_console, print_frame
    from biobench.engines import check_engine
    from biobench.running.store import Store

    names = [check_engine(name.strip()) for name in engines.split(",") if name.strip()]
    candidates = _points(folder, points)
    store = Store(results, must_exist=True) if results else None
    runs = store.runs_frame() if store is not None else None
    checks = check_collection(folder, names, runs, list(only) or None, say=err_console.print, points=candidates)
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


def _points(folder: str, points: tuple[str, ...]) -> dict[str, Path]:
    """``PROBLEM=FILE`` options, checked before any problem is simulated: a sub-folder's problem and a table with
    the columns a point needs."""
    from biobench.analysis.collection import point_values
    from biobench.errors import BiobenchError
    from biobench.running.bench_config import petab_problems

    problems = {Path(yaml).parent.name for yaml in petab_problems(folder)} if points else set()
    found = {}
    for text in points:
        name, _, file = text.partition("=")
        if not name or not file:
            raise click.BadParameter(f"'{text}': give PROBLEM=PARAMETERS.tsv, e.g. Schwen_PONE2014=best.tsv.",
                                     param_hint="--point")
        if name not in problems:
            close = ([p for p in sorted(problems) if p.lower().startswith(name.lower())]  # a short name
                     or difflib.get_close_matches(name, sorted(problems), n=1))
            raise click.BadParameter(f"'{name}' is not a problem of {folder}" +
                                     (f"; did you mean '{close[0]}'?" if close else "."), param_hint="--point")
        try:
            point_values(file)
        except BiobenchError as exc:
            raise click.BadParameter(str(exc), param_hint="--point") from None
        found[name] = Path(file)
    return found
