"""User-supplied start points (``--starts-file FILE.csv``), placed before the initializer's.

One column per estimated parameter. A header ``k1`` means natural values; a header
``log10(k1)`` (or ``log(k1)``, matching the parameter's scale) means scaled values.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import numpy as np
import pandas as pd

from biobench.errors import ConfigError
from biobench.problem import Problem, to_scale

_SCALED = re.compile(r"^(log10|log|lin)\((.+)\)$")


def read_starts_file(path: str | Path, problem: Problem) -> np.ndarray:
    """Start points from a CSV file, in scaled space, checked against the problem's bounds."""
    path = Path(path)
    try:
        raw = pd.read_csv(path, comment="#", skipinitialspace=True, header=None, dtype=str)
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such starts file.") from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: not a readable CSV file ({exc}).") from None

    # The header is read as a row: pandas would silently rename a duplicated column.
    if len(raw) < 2:
        raise ConfigError(f"{path}: no start points below the header.")
    header = [str(c).strip() for c in raw.iloc[0]]
    table = raw.iloc[1:].set_axis(header, axis=1).reset_index(drop=True)
    columns: dict[str, tuple[str, bool]] = {}  # parameter -> (column, values are scaled)
    for column in header:
        match = _SCALED.match(column)
        pid, scaled = (match.group(2), True) if match else (column, False)
        if pid not in problem.parameter_ids:
            raise ConfigError(f"{path}: column {column!r} is not an estimated parameter "
                              f"(expected: {', '.join(problem.parameter_ids)}).")
        if match and match.group(1) != problem.scales[problem.parameter_ids.index(pid)]:
            raise ConfigError(f"{path}: column {column!r}: {pid} is estimated on "
                              f"{problem.scales[problem.parameter_ids.index(pid)]} scale.")
        if pid in columns:
            raise ConfigError(f"{path}: parameter {pid} has two columns.")
        columns[pid] = (column, scaled)
    missing = [pid for pid in problem.parameter_ids if pid not in columns]
    if missing:
        raise ConfigError(f"{path}: no column for {', '.join(missing)}; every estimated parameter needs one.")

    x = np.empty((len(table), problem.n_parameters))
    for j, pid in enumerate(problem.parameter_ids):
        column, scaled = columns[pid]
        values = pd.to_numeric(table[column], errors="coerce").to_numpy(dtype=float)
        bad = np.flatnonzero(~np.isfinite(values) | ((values <= 0) & (not scaled) & (problem.scales[j] != "lin")))
        if bad.size:
            raise ConfigError(f"{path}: row {bad[0] + 1}, column {column!r}: {table[column].iloc[bad[0]]!r} is not "
                              "a usable number (log-scaled parameters need positive natural values).")
        x[:, j] = values if scaled else to_scale(values, problem.scales[j])
    outside = np.argwhere((x < problem.lower - 1e-12) | (x > problem.upper + 1e-12))
    if outside.size:
        row, j = outside[0]
        raise ConfigError(f"{path}: row {row + 1}: {problem.parameter_ids[j]} lies outside its bounds "
                          f"[{problem.to_natural(problem.lower)[j]:.4g}, {problem.to_natural(problem.upper)[j]:.4g}].")
    return np.clip(x, problem.lower, problem.upper)


def guesses_digest(guesses: np.ndarray | None) -> str | None:
    """Identifies a set of guesses in task keys, so other guesses are other tasks."""
    if guesses is None or len(guesses) == 0:
        return None
    return hashlib.sha256(np.ascontiguousarray(guesses, dtype=float).tobytes()).hexdigest()[:16]
