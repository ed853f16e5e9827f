"""biobench: benchmark parameter estimation on mechanistic SBML models."""

from __future__ import annotations

__version__ = "0.1.0"
