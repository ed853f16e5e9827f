"""Assemble the report: leaderboard tables and figures, embedded as PNG in one HTML file.

The file has no external references, so it can be mailed or archived as it is.
"""

from __future__ import annotations

import base64
import html
import io
from datetime import datetime, timezone
from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd

from biobench import __version__, metrics
from biobench.atomic import atomic_write_text
from biobench.errors import StoreError
from biobench.report import figures
from biobench.store import Store

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 1100px; color: #222; }
h1 { margin-bottom: 0.2rem; } .meta { color: #666; margin-top: 0; }
.table-wrap { overflow-x: auto; margin: 0.5rem 0 1.5rem; }
table { border-collapse: collapse; font-size: 0.85rem; }
th, td { border-bottom: 1px solid #ddd; padding: 0.25rem 0.6rem; text-align: right; white-space: nowrap; }
th:first-child, td:first-child, th:nth-child(2), td:nth-child(2) { text-align: left; }
figure { margin: 1rem 0 2rem; } figure img { max-width: 100%; }
figcaption { color: #444; font-size: 0.9rem; max-width: 60rem; }
"""


def _png(fig: plt.Figure) -> str:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def _figure_html(item: figures.Figure) -> str:
    return (f'<figure><img alt="{html.escape(item.title)}" src="data:image/png;base64,{_png(item.figure)}">'
            f"<figcaption><b>{html.escape(item.title)}.</b> {html.escape(item.caption)}</figcaption></figure>")


def _table_html(frame: pd.DataFrame) -> str:
    table = frame.to_html(index=False, float_format=lambda v: f"{v:.4g}", border=0, na_rep="-")
    return f"<div class='table-wrap'>{table}</div>"


def build_report(results: str | None = None, out: str | Path = "results/report",
                 delta: float = metrics.DEFAULT_DELTA) -> Path:
    """Write ``<out>/report.html`` and return its path."""
    store = Store(results)
    stored = store.runs_frame()
    if stored.empty:
        raise StoreError(f"the store {store.url} holds no runs; run 'biobench run' first.")
    runs = metrics.with_convergence(stored, delta)
    board = metrics.per_problem(stored, delta)
    summary = metrics.overall(board)
    traces = store.traces_frame()

    sections: list[tuple[str, str]] = [
        ("Leaderboard per problem", _table_html(board[metrics.LEADERBOARD_COLUMNS])),
        ("Across problems", "<p>Mean rank by converged starts per 1000 evaluations (ties share a rank) and the "
                            "area under the performance profile (1 = cheapest on every problem).</p>"
         + _table_html(summary)),
    ]
    items: list[figures.Figure] = []
    items += figures.waterfall(runs, delta)
    items += figures.convergence(runs, traces, delta)
    items.append(figures.final_values(runs, delta))
    items.append(figures.success_heatmap(board))
    items.append(figures.performance_profiles(board))
    optional = [figures.parameter_recovery(runs, store.problems_frame()), figures.cvae_diagnostics(runs)]
    items += [item for item in optional if item is not None]
    sections += [(item.title, _figure_html(item)) for item in items]

    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    body = "\n".join(f"<h2>{html.escape(title)}</h2>\n{content}" for title, content in sections)
    page = (f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>biobench report</title>"
            f"<style>{_STYLE}</style></head><body><h1>biobench report</h1>"
            f"<p class='meta'>{len(runs)} starts on {runs['problem_key'].nunique()} problems, "
            f"{runs['method'].nunique()} methods; converged means fval_best &le; f_ref + {delta}. "
            f"Store: {html.escape(store.url)}. biobench {__version__}, {stamp}.</p>{body}</body></html>")
    path = Path(out) / "report.html"
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, page)
    return path
