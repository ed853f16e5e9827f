"""How numbers read, everywhere biobench shows them (terminal tables, markdown, the HTML report): objective
values and estimates to six significant digits, counts as whole numbers, everything else to three."""

from __future__ import annotations

import math

import numpy as np


def fmt(value: float) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return f"{value:.6g}"


# Columns whose values a modeller compares in the last digits (objective values, estimates): six significant
# digits; every other number (rates, seconds, shares) three, which is what its measurement carries.
_PRECISE = ("fval", "f_ref", "f ref", "estimate", "nominal", "lower", "upper", "reference")


def is_precise(name: str) -> bool:
    """Whether a column (or a quantity) named ``name`` holds values read to six digits."""
    return any(word in name for word in _PRECISE)


def cell(value, precise: bool = True) -> str:
    """A table cell: whole numbers without a decimal point (counts that pandas made floats) and with thousands
    separators, NaN as -, other numbers to six significant digits (``precise``) or three."""
    whole = isinstance(value, (int, np.integer)) and not isinstance(value, bool)
    if isinstance(value, float) and math.isfinite(value) and value.is_integer() and abs(value) < 1e15:
        value, whole = int(value), True
    if whole:
        return f"{int(value):,}" if abs(value) >= 10_000 else str(int(value))
    if isinstance(value, float) and math.isfinite(value) and not precise:
        return f"{value:.3g}" if abs(value) < 1e4 else f"{value:,.0f}"
    return fmt(value) if isinstance(value, float) else str(value)


def plural(count: int, word: str) -> str:
    """``1 start``, ``2 starts``: the count with its noun (English regular plurals only)."""
    return f"{count} {word}" if count == 1 else f"{count} {word}s"
