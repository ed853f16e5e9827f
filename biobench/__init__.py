"""biobench: benchmark parameter estimation on mechanistic SBML models."""

from __future__ import annotations

__version__ = "0.1.0"


def __getattr__(name: str):
    """The pandas API (load_results, load_traces, leaderboard, overall), imported on first use."""
    if name in ("load_results", "load_traces", "leaderboard", "overall"):
        from biobench import api

        return getattr(api, name)
    raise AttributeError(f"module 'biobench' has no attribute {name!r}")
