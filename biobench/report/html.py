"""Assemble the report: leaderboard tables and figures, embedded as PNG in one HTML file.

The file has no external references, so it can be mailed or archived as it is.
"""

from __future__ import annotations

import base64
import html
import json
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd

from biobench import __version__
from biobench.analysis import metrics
from biobench.atomic import atomic_write_text
from biobench.errors import PluginError, StoreError
from biobench.numbers import is_precise, plural
from biobench.plotting import Figure, method_palette, png_bytes
from biobench.report import figures, saved_surrogates
from biobench.running.store import Store

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 1100px; color: #222; }
h1 { margin-bottom: 0.2rem; } .meta { color: #666; margin-top: 0; }
.table-wrap { overflow-x: auto; margin: 0.5rem 0 1.5rem; }
table { border-collapse: collapse; font-size: 0.85rem; }
th, td { border-bottom: 1px solid #ddd; padding: 0.25rem 0.5rem; text-align: right; }
th { vertical-align: bottom; } td { white-space: nowrap; }
td.text { white-space: normal; overflow-wrap: anywhere; text-align: left; max-width: 16rem; }
figure { margin: 1rem 0 2rem; } figure img { max-width: 100%; }
figcaption { color: #444; font-size: 0.9rem; max-width: 60rem; }
"""


def _figure_html(item: Figure) -> str:
    return figure_markup(item.title, png_bytes(item.figure), item.caption)


def figure_markup(title: str, png: bytes, caption: str) -> str:
    """A PNG embedded with its title and caption: the report's one figure layout."""
    encoded = base64.b64encode(png).decode("ascii")
    return (f'<figure><img alt="{html.escape(title)}" src="data:image/png;base64,{encoded}">'
            f"<figcaption><b>{html.escape(title)}.</b> {html.escape(caption)}</figcaption></figure>")


def _table_html(frame: pd.DataFrame) -> str:
    """A table that fits the page: headers wrap at their words, text cells (problem, method labels) wrap too.

    Numbers stay on one line; a page narrower than the table still scrolls it sideways.
    """
    text_columns = [c for c in frame.columns if frame[c].dtype == object]
    shown = frame.rename(columns=lambda c: c.replace("_", " ") if c != "f_ref" else c)
    rows = []
    for record in shown.itertuples(index=False):
        cells = []
        for column, value in zip(frame.columns, record):
            if column in text_columns:
                cells.append(f"<td class='text'>{html.escape(str(value))}</td>")
            else:
                cells.append(f"<td>{'-' if pd.isna(value) else html.escape(_number(value, is_precise(column)))}</td>")
        rows.append(f"<tr>{''.join(cells)}</tr>")
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in shown.columns)
    return (f"<div class='table-wrap'><table><thead><tr>{head}</tr></thead>"
            f"<tbody>{''.join(rows)}</tbody></table></div>")


def _number(value, precise: bool = False) -> str:
    """Objective values to six significant digits (convergence is judged in their last ones), the rest to four."""
    return f"{value:{'.6g' if precise else '.4g'}}" if isinstance(value, float) else str(value)


def report_figures(store: Store, delta: float = metrics.DEFAULT_DELTA) -> list[Figure]:
    """Every figure the store's runs support, in report order, one colour per method throughout."""
    stored = store.runs_frame()
    runs = metrics.with_convergence(stored, delta)
    board = metrics.per_problem(stored, delta)
    palette = method_palette(runs["method"])
    items: list[Figure] = []
    items += figures.waterfall(runs, delta, palette)
    items += figures.convergence(runs, store.traces_frame(), delta, palette)
    items.append(figures.final_values(runs, delta, palette))
    items.append(figures.success_heatmap(board))
    profile = figures.performance_profiles(board, palette)
    items += [profile] if profile is not None else []
    problems = store.problems_frame()
    recovery = figures.parameter_recovery(runs, problems, palette)
    return items + ([recovery] if recovery is not None else []) + method_figures(runs, problems)


def confirmed_values(problems: pd.DataFrame) -> pd.DataFrame:
    """Per problem with a confirmed better value: the published value, the confirmed one, each engine's value at
    that point and the start that found it."""
    rows = []
    for row in problems[problems["f_confirmed"].notna()].itertuples(index=False):
        evidence = json.loads(row.confirmed_by or "{}")
        rows.append({"problem_id": row.problem_id, "fval published": row.f_true, "fval confirmed": row.f_confirmed,
                     **{f"fval on {engine}": value for engine, value in sorted(evidence.get("values", {}).items())},
                     "looser tolerances": ", ".join(f"{engine} (rtol {t['relative_tolerance']:g})" for engine, t
                                                    in sorted(evidence.get("looser_tolerances", {}).items())),
                     "start": evidence.get("task_key") or evidence.get("source", "")})
    return pd.DataFrame(rows)


def method_figures(runs: pd.DataFrame, problems: pd.DataFrame) -> list[Figure]:
    """Every method that ran draws its own diagnostics (``Plugin.report_figures``); a family asked once."""
    from biobench.initializers import initializers
    from biobench.optimizers import optimizers

    items, asked = [], set()
    for registry, column in ((initializers, "initializer"), (optimizers, "optimizer")):
        for name in sorted(set(runs[column])):
            try:
                draw = registry.get(name).report_figures
            except PluginError:  # a plugin no longer installed: its runs stay in the tables, without its figures
                continue
            if draw.__func__ not in asked:
                asked.add(draw.__func__)
                items += draw(runs, problems)
    return items


def build_report(results: str | None = None, out: str | Path = "results/report",
                 delta: float = metrics.DEFAULT_DELTA, surrogates: str | Path | None = None) -> Path:
    """Write ``<out>/report.html`` and return its path; ``surrogates`` is a folder of ``biobench surrogate``'s
    networks to include (those of the problems in the store)."""
    found = saved_surrogates.saved_surrogates(surrogates)  # a folder the user named but that is missing: now
    store = Store(results, must_exist=True)
    stored = store.runs_frame()
    if stored.empty:
        raise StoreError(f"the store {store.url} holds no runs; run 'biobench run' first.")
    found = [(config, png) for config, png in found if config.get("problem_key") in set(stored["problem_key"])]
    board = metrics.per_problem(stored, delta)
    sections: list[tuple[str, str]] = [
        ("Leaderboard per problem", _table_html(board[metrics.LEADERBOARD_COLUMNS])),
        ("Across problems", "<p>Mean rank by converged starts per 1000 evaluations (ties share a rank) and the "
                            "area under the performance profile (1 = cheapest on every problem)."
         + (" With one problem there is nothing to compare across: the performance profile needs two problems or "
            "more, and is left out.</p>" if board["problem_id"].nunique() < 2 else "</p>")
         + _table_html(metrics.overall(board))),
    ]
    if board["problem_key"].nunique() > 1:
        sections.append(("Best method per problem", "<p>The method ranked first on each problem, its rates, and how "
                                                    "many of the methods converged there at least once.</p>"
                         + _table_html(metrics.best_per_problem(board))))
    pending = metrics.unconfirmed(stored, delta)
    if not pending.empty:
        sections.append(("Better than published, not yet confirmed", "<p>Starts reached values below these published "
                         "problems' targets; a value becomes the target once a second engine gives it at the same "
                         "point (<code>biobench collection check FOLDER --results STORE</code>).</p>"
                         + _table_html(pending)))
    confirmed = confirmed_values(store.problems_frame())
    if not confirmed.empty:
        sections.append(("Better than published, confirmed", "<p>Values below the objective at the published "
                         "parameters that a second engine gave at the same point: each is its problem's target "
                         "now.</p>" + _table_html(confirmed)))
    failed = metrics.failures(stored)
    if not failed.empty:
        sections.append(("Failed and killed starts", _table_html(failed)))
    sections += [(item.title, _figure_html(item)) for item in report_figures(store, delta)]
    if found:
        intro = ("<p>Networks saved by <code>biobench surrogate</code>, judged on held-out simulations (R^2 per "
                 "observable in the simulator's units; speed-up: batched network evaluations per second over "
                 "roadrunner simulations on the machine that trained it).</p>")
        sections.append(("Surrogates of the simulator", intro + _table_html(saved_surrogates.surrogate_table(found))
                         + "".join(figure_markup(*saved_surrogates.figure(config, png)) for config, png in found
                                   if png)))
    refused = store.refusals_frame()
    if not refused.empty:
        sections.append(("Refused models", f"<p>{len(refused)} models named by a bench could not become estimation "
                                           "problems; each with its reason.</p>"
                         + _table_html(refused[["model_spec", "reason"]])))

    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    body = "\n".join(f"<h2>{html.escape(title)}</h2>\n{content}" for title, content in sections)
    page = (f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>biobench report</title>"
            f"<style>{_STYLE}</style></head><body><h1>biobench report</h1>"
            f"<p class='meta'>{plural(len(stored), 'start')} on {plural(stored['problem_key'].nunique(), 'problem')}, "
            f"{plural(board['method'].nunique(), 'method')}; converged means fval_best &le; f_ref + {delta}. "
            f"Store: {html.escape(store.url)}. biobench {__version__}, {stamp}.</p>{body}</body></html>")
    path = Path(out) / "report.html"
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, page)
    return path
