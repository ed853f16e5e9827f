"""How the command line talks to a person: consoles, tables, progress bars, interrupts.

Kept apart from the commands so they read as what they do, not how they print; how numbers read is
``biobench.numbers`` (shared with the report).
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

from biobench.numbers import cell, fmt, is_precise
from biobench.time_grid import TimeGrid

# Piped output (logs, CI) gets wide lines instead of rich's 80-column default.
# Markup is off: model names, paths and error messages may contain [brackets].
console = Console(highlight=False, markup=False, width=None if sys.stdout.isatty() else 160)
err_console = Console(stderr=True, highlight=False, markup=False, width=None if sys.stderr.isatty() else 160)


def notify(message: str) -> None:
    err_console.print(message, style="yellow")


def show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """Warnings meant for the user read as one line, not as a source location."""
    err_console.print(f"warning: {message}", style="yellow")


def print_frame(frame, title: str) -> None:
    import pandas as pd

    table = Table(title=title)
    for column in frame.columns:
        numeric = pd.api.types.is_numeric_dtype(frame[column])
        header = column.replace("_", " ")
        # wide enough for the header's longest word: a narrow terminal must not turn "converged" into "converg…"
        table.add_column(header, justify="right" if numeric else "left", overflow="fold",
                         min_width=max(map(len, header.split())) if numeric else None)
    precise = [is_precise(str(column)) for column in frame.columns]
    for row in frame.itertuples(index=False):
        # a (quantity, value) table: the quantity's name says how precise its value is
        named = len(row) == 2 and isinstance(row[0], str) and is_precise(row[0])
        table.add_row(*(cell(value, exact or named) for value, exact in zip(row, precise)))
    console.print(table)


def print_rows(title: str, columns: list[str], rows: list[list[str]], right: tuple[str, ...] = ()) -> None:
    """A table of ready-made text cells; ``right`` names the right-aligned columns."""
    table = Table(title=title)
    for column in columns:
        table.add_column(column, justify="right" if column in right else "left")
    for row in rows:
        table.add_row(*row)
    console.print(table)


def print_petab_tables(petab: dict) -> None:
    print_rows(f"{len(petab['observables'])} observables", ["id", "formula", "noise (sigma)", "transformation",
                                                             "distribution"],
               [[o["id"], o["formula"], o["noise"], o["transformation"], o["distribution"]]
                for o in petab["observables"]])
    print_rows(f"{len(petab['simulations'])} simulations, {petab['n_measurements']} measurements",
               ["pre-equilibration", "condition", "output times"],
               [[s["preequilibration"] or "-", s["condition"], str(s["n_times"])] for s in petab["simulations"]])


def print_problem(problem, info: dict) -> None:
    """``biobench problem``: the parameters, then the observables and data (or the PEtab tables)."""
    console.print(f"{problem.model.name} ({problem.model.model_id}, {problem.model.source})", style="bold")
    priors = any("prior" in p for p in info["parameters"])
    print_rows(f"{problem.n_parameters} estimated parameters (natural units)",
               ["parameter", "scale", "lower", "nominal", "upper"] + (["objective prior"] if priors else []),
               [[p["id"], p["scale"], fmt(p["lower"]), fmt(p["nominal"]), fmt(p["upper"])]
                + ([p.get("prior", "-")] if priors else []) for p in info["parameters"]],
               right=("lower", "nominal", "upper"))
    if not problem.synthetic:
        print_petab_tables(info["petab"])
    else:
        noise = problem.settings.noise
        console.print(f"observables ({len(problem.observables)}): {', '.join(problem.observables)}")
        console.print(f"data points: {problem.n_data}   noise: sigma = {noise.relative} * |y| + "
                      f"{noise.absolute if noise.absolute is not None else '1% of max |y|'}   "
                      f"seed: {problem.settings.seed}")
    times = problem.timepoints
    steady = " and steady state (time inf)" if np.isinf(times[-1]) else ""
    finite = times[np.isfinite(times)]
    if finite.size:
        console.print(f"time points: {len(finite)} from {fmt(finite[0])} to {fmt(finite[-1])}{steady}")
        oscillation = TimeGrid(finite, problem.oscillation_period).describe()
        if oscillation:
            console.print(f"automatic horizon: {oscillation}")
    else:
        console.print("time points: steady state (time inf) only")
    if info.get("nominal_failure"):
        console.print(f"objective at the nominal parameters: inf ({info['nominal_failure']}). If the integrator "
                      "gave up, loosen its tolerances or raise maximum_num_steps under 'integrator:' in a --config "
                      "file.")
    elif info["prior_nominal"]:
        console.print(f"objective (negative log-posterior) at the nominal parameters: {fmt(info['fval_nominal'])} "
                      f"= likelihood {fmt(info['fval_nominal'] - info['prior_nominal'])} + prior "
                      f"{fmt(info['prior_nominal'])}")
    else:
        console.print(f"objective (negative log-likelihood) at the nominal parameters: {fmt(info['fval_nominal'])}")
    costs = info.get("sensitivity_costs")
    if costs:
        print_rows(f"{info['engine']}: measured cost of one solve (CPU ms; a start is charged simulation-equivalents)",
                   ["solve", "CPU ms", "simulation-equivalents"],
                   [[way, fmt(ms), fmt(costs["simulation_equivalents"][way])] for way, ms in costs["cpu_ms"].items()],
                   right=("CPU ms", "simulation-equivalents"))
        ways = {"forward": "forward sensitivities", "adjoint": "adjoint sensitivities",
                "differences": "forward differences of simulations"}
        console.print(f"gradient of lbfgsb: {ways[costs['gradient']]}; residual Jacobian of fides and least "
                      f"squares: {ways[costs['jacobian']]}")
    auto = info.get("auto_engine")
    if auto:
        console.print(f"--engine auto runs value-only methods (cmaes, ga, mcmc) on {auto['values']}, fides and least "
                      f"squares on {auto['jacobian']}, lbfgsb on {auto['gradient']}")


def print_runs(frame) -> None:
    """``biobench runs`` as a table: one row per start."""
    print_rows("", ["run", "model", "init", "opt", "seed", "start", "fval0", "fval_best", "evals", "seconds",
                    "status", "x_best (scaled)"],
               [[str(r.run_id), r.model_id, r.initializer, r.optimizer, str(r.seed), str(r.start_index),
                 fmt(r.fval0), fmt(r.fval_best), str(r.n_evals), f"{r.seconds:.2f}", r.status,
                 "[" + ", ".join(f"{v:.3g}" for v in r.x_best) + "]"] for r in frame.itertuples()],
               right=("run", "seed", "start", "evals", "seconds"))


def starts_progress(with_eta: bool = False, best: bool = False) -> Progress:
    """A progress bar over starts: count, elapsed time, and the ETA or the best fval so far."""
    columns = [TextColumn("[progress.description]{task.description}"), BarColumn(), MofNCompleteColumn(),
               TimeElapsedColumn()]
    if with_eta:
        columns += [TextColumn("ETA"), TimeRemainingColumn()]
    if best:
        columns.append(TextColumn("best fval {task.fields[best]}"))
    return Progress(*columns, console=console)


def stage_reporter(progress: Progress | None = None):
    """A progress callback for slow initializers, ``(stage, done, total)``.

    On a terminal with a ``progress`` display each stage is a bar of its own (the previous
    one hidden); otherwise (logs, CI, pipes) it prints plain lines at 0, 25, 50, 75 and
    100% of each stage.
    """
    bars: dict[str, int] = {}
    printed: set[tuple[str, int]] = set()

    def report(stage: str, done: int, total: int) -> None:
        if progress is not None and console.is_terminal:
            if stage not in bars:
                for bar in bars.values():
                    progress.update(bar, visible=False)
                bars[stage] = progress.add_task(stage, total=total, best="-")
            progress.update(bars[stage], completed=done, total=total)
            return
        quarter = 4 * done // max(total, 1)  # a line the first time each quarter is reached
        if (stage, quarter) not in printed:
            printed.add((stage, quarter))
            console.print(f"{stage}: {done}/{total}")

    return report


@contextmanager
def stored_on_interrupt(progress: Progress, store_url: str) -> Iterator[None]:
    """Ctrl-C stops the run with one line: finished starts are stored, and rerunning finishes the rest."""
    try:
        yield
    except KeyboardInterrupt:
        progress.stop()
        err_console.print(f"Interrupted. Finished starts are stored in {store_url}; rerun the same command "
                          "to run the rest.")
        raise SystemExit(130) from None
