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
    """Values of one formula at the measurements ``rows``; ``column`` maps model symbols to output columns.

    ``placeholders`` maps each placeholder name the formula may read (``noiseParameter1_obs``, and in
    noise formulas also ``observableParameter1_obs``) to its table and column in that table.
    """

    def __init__(self, text: str, placeholders: dict[str, tuple[Placeholders, int]], rows: np.ndarray,
                 experiments: Experiments, column) -> None:
        self.rows = rows
        self._output_rows = experiments.row[rows]  # rows of the stacked simulation outputs
        self._times = experiments.times[rows]
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
        self._tables: list[Placeholders] = []  # the placeholder tables read, each resolved once per call
        self._args: list[tuple[str, object]] = []
        for name in names:
            if name in placeholders:
                table, position = placeholders[name]
                if not any(table is known for known in self._tables):
                    self._tables.append(table)
                slot = next(i for i, known in enumerate(self._tables) if known is table)
                self._args.append(("placeholder", (slot, position)))
            elif name == TIME_SYMBOL:
                self._args.append(("time", None))
            elif name in experiments.model_symbols:
                self._args.append(("model", column(name)))
            else:
                self._args.append(("parameter", experiments.parameter_symbols[name]))
        self._estimated_tables = [bool(np.isin(rows, table.rows).any()) for table in self._tables]
        self.depends_on_x = any(kind == "model" or (kind == "parameter" and ref[1] >= 0)
                                or (kind == "placeholder" and self._estimated_tables[ref[0]])
                                for kind, ref in self._args)
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

    def __call__(self, outputs: np.ndarray | None, x_natural: np.ndarray | None) -> np.ndarray | float:
        """Values at every row, or one number for all of them (callers assign into ``[rows]``, which
        broadcasts it); ``outputs`` and ``x_natural`` may be None when nothing depends on them. With a
        leading axis of points on both (outputs (points, rows, columns), x_natural (points, parameters)),
        one row of values per point: a surrogate's candidates scored at once."""
        if self._constant is not None:
            return self._constant
        args = []
        resolved: list[np.ndarray | None] = [None] * len(self._tables)
        many = x_natural is not None and x_natural.ndim == 2
        for kind, ref in self._args:
            if kind == "model":
                args.append(outputs[..., self._output_rows, ref])
            elif kind == "time":
                args.append(self._times)
            elif kind == "parameter":
                value, index = ref
                args.append(value if index < 0 else x_natural[:, index, None] if many else x_natural[index])
            else:
                slot, position = ref
                if resolved[slot] is None:
                    table = self._tables[slot]
                    resolved[slot] = table.resolve(x_natural) if self._estimated_tables[slot] else table.values
                args.append(resolved[slot][..., self.rows, position])
        if self._function is None:
            return args[0]
        with np.errstate(all="ignore"):
            return self._function(*args)

