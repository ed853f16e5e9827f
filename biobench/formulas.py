"""Observable and noise formulas of one observable, evaluated for all its measurements at once.

A formula that is one symbol (a species, a placeholder, a parameter) or a number is
read directly: synthetic problems and most PEtab observables never load sympy. Any
other formula is parsed by petab and vectorized with sympy's ``lambdify``.
"""

from __future__ import annotations

import numpy as np

from biobench.experiments import TIME_SYMBOL, Experiments, Placeholders, is_identifier


def _parse(text: str):
    from petab.v1.math import sympify_petab  # petab and sympy load only for formulas that need them

    return sympify_petab(text)


class Formula:
    """Values of one formula at the measurements ``rows``; ``column`` maps model symbols to output columns."""

    def __init__(self, text: str, placeholders: tuple[str, ...], table: Placeholders, rows: np.ndarray,
                 experiments: Experiments, column) -> None:
        self.rows = rows
        self._output_rows = experiments.row[rows]  # rows of the stacked simulation outputs
        self._times = experiments.times[rows]
        self._table = table
        self._constant: float | None = None
        expr, symbols = None, []
        name = text.strip()
        known = (name in placeholders or name == TIME_SYMBOL or name in experiments.model_symbols
                 or name in experiments.parameter_symbols)
        try:
            self._constant = float(name)
            names = []
        except ValueError:
            if is_identifier(name) and known:
                names = [name]
            else:
                expr = _parse(text)
                symbols = sorted(expr.free_symbols, key=str)
                names = [str(symbol) for symbol in symbols]
        self._args: list[tuple[str, object]] = []
        for name in names:
            if name in placeholders:
                self._args.append(("placeholder", placeholders.index(name)))
            elif name == TIME_SYMBOL:
                self._args.append(("time", None))
            elif name in experiments.model_symbols:
                self._args.append(("model", column(name)))
            else:
                self._args.append(("parameter", experiments.parameter_symbols[name]))
        estimated_placeholders = bool(np.isin(rows, table.rows).any())
        self.depends_on_x = any(kind == "model" or (kind == "parameter" and ref[1] >= 0)
                                or (kind == "placeholder" and estimated_placeholders) for kind, ref in self._args)
        self._function = None
        if expr is not None:
            import sympy as sp

            self._function = sp.lambdify(symbols, expr, modules="numpy")

    @property
    def model_column(self) -> int | None:
        """The output column when the formula is one model symbol (predictions are then a plain gather)."""
        if self._function is None and len(self._args) == 1 and self._args[0][0] == "model":
            return int(self._args[0][1])
        return None

    def __call__(self, outputs: np.ndarray | None, x_natural: np.ndarray | None) -> np.ndarray:
        """Values at every row; ``outputs`` and ``x_natural`` may be None when nothing depends on them."""
        if self._constant is not None:
            return np.full(self.rows.shape, self._constant)
        args = []
        placeholders = None
        for kind, ref in self._args:
            if kind == "model":
                args.append(outputs[self._output_rows, ref])
            elif kind == "time":
                args.append(self._times)
            elif kind == "parameter":
                value, index = ref
                args.append(x_natural[index] if index >= 0 else value)
            else:
                if placeholders is None:
                    placeholders = self._table.resolve(x_natural) if self.depends_on_x else self._table.values
                args.append(placeholders[self.rows, ref])
        with np.errstate(all="ignore"):
            value = args[0] if self._function is None else self._function(*args)
            return np.broadcast_to(np.asarray(value, dtype=float), self.rows.shape)

