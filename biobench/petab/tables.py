"""PEtab tables compiled into ``Experiments``, the arrays every problem's likelihood reads.

Everything the hot path needs is resolved here once, from the condition, measurement,
observable and parameter tables. Precedence follows the PEtab v1 specification:
model < condition table < measurement table < parameter table.
"""

from __future__ import annotations

import math

import libsbml
import numpy as np
import pandas as pd
from petab.v1 import C
from petab.v1.math import sympify_petab
from petab.v1.measurements import split_parameter_replacement_list
from petab.v1.observables import get_formula_placeholders

from biobench.errors import ProblemError
from biobench.experiments import (NO_REINITIALIZATION, TIME_SYMBOL, Assignment, Experiments, ObservableSpec,
                                  Placeholders, Reinitialization, Simulation)
from biobench.petab.initial_values import StateOverride, state_kind


class _Values:
    """Resolves a table entry (a number or a parameter-table ID) to (fixed value, x index or -1)."""

    def __init__(self, parameter_df: pd.DataFrame, estimated: list[str]) -> None:
        self.index = {pid: i for i, pid in enumerate(estimated)}
        self.nominal = {pid: float(row[C.NOMINAL_VALUE]) for pid, row in parameter_df.iterrows()
                        if C.NOMINAL_VALUE in row and pd.notna(row[C.NOMINAL_VALUE])}

    def __call__(self, value, where: str) -> tuple[float, int]:
        if isinstance(value, str):
            text = value.strip()
            try:
                return float(text), -1
            except ValueError:
                pass
            if text in self.index:
                return math.nan, self.index[text]
            if text in self.nominal:
                return self.nominal[text], -1
            raise ProblemError(f"{where}: {text!r} is neither a number nor a parameter of the parameter table; "
                               "add it to the parameter table.")
        return float(value), -1


def _estimated(parameter_df: pd.DataFrame) -> list[str]:
    return [pid for pid, row in parameter_df.iterrows() if int(row[C.ESTIMATE]) == 1]


def _condition_assignment(
    condition_id: str,
    condition_df: pd.DataFrame,
    settable: list[str],
    defaults: np.ndarray,
    parameter_df: pd.DataFrame,
    overrides: dict[str, StateOverride],
    values: _Values,
    sbml_model: libsbml.Model,
) -> Assignment:
    base = defaults.copy()
    position = {pid: i for i, pid in enumerate(settable)}
    from_x: dict[int, int] = {}

    def put(pid: str, value: float, source: int) -> None:
        if source >= 0:
            from_x[position[pid]] = source
        else:
            from_x.pop(position[pid], None)
            base[position[pid]] = value

    for column, raw in condition_df.loc[condition_id].items():
        if column == C.CONDITION_NAME:
            continue
        where = f"condition table, condition {condition_id!r}, column {column!r}"
        blank = isinstance(raw, float) and math.isnan(raw)
        if column in overrides:
            override = overrides[column]
            put(override.flag_parameter, 0.0 if blank else 1.0, -1)
            if not blank:
                put(override.value_parameter, *values(raw, where))
        elif column in position and not blank:
            put(column, *values(raw, where))
        elif column not in position:
            rule = sbml_model.getRule(column)
            reason = ("is defined by an assignment rule" if rule is not None and rule.isAssignment()
                      else "is not a constant parameter, species or compartment of the model")
            raise ProblemError(f"{where}: {column!r} {reason}, so a condition cannot set it "
                               "(unsupported PEtab feature).")
    for pid, prow in parameter_df.iterrows():
        if pid not in position:
            continue
        if int(prow[C.ESTIMATE]) == 1:
            put(pid, math.nan, values.index[pid])
        else:
            put(pid, float(prow[C.NOMINAL_VALUE]), -1)
    target = np.array(sorted(from_x), dtype=int)
    return Assignment(base, target, np.array([from_x[t] for t in target], dtype=int))


def _reinitialization(condition_id: str, condition_df: pd.DataFrame, overrides: dict[str, StateOverride],
                      values: _Values) -> Reinitialization:
    selectors, base, source = [], [], []
    for target, override in overrides.items():
        raw = condition_df.loc[condition_id, target]
        if isinstance(raw, float) and math.isnan(raw):
            continue  # NaN after pre-equilibration: keep the steady-state value
        if override.kind == "compartment":
            raise ProblemError(f"condition {condition_id!r} sets the size of compartment {target!r} after "
                               "pre-equilibration (unsupported PEtab feature).")
        value, index = values(raw, f"condition table, condition {condition_id!r}, column {target!r}")
        selectors.append(override.selector)
        base.append(value)
        source.append(index)
    return Reinitialization(tuple(selectors), np.array(base, dtype=float), np.array(source, dtype=int))


def _placeholders(measurement_df: pd.DataFrame, column: str, names: list[tuple[str, ...]],
                  values: _Values) -> Placeholders:
    width = max((len(n) for n in names), default=0)
    table = np.full((len(measurement_df), width), np.nan)
    rows, columns, source = [], [], []
    raw_column = measurement_df[column] if column in measurement_df else pd.Series([np.nan] * len(measurement_df))
    for i, (raw, expected) in enumerate(zip(raw_column, names)):
        entries = split_parameter_replacement_list(raw) if not (isinstance(raw, float) and math.isnan(raw)) else []
        if len(entries) != len(expected):
            raise ProblemError(f"measurement table, row {i + 1}: {column} has {len(entries)} values but the formula "
                               f"has {len(expected)} placeholders ({', '.join(expected) or 'none'}).")
        for j, entry in enumerate(entries):
            value, index = values(entry, f"measurement table, row {i + 1}, {column}")
            if index >= 0:
                rows.append(i)
                columns.append(j)
                source.append(index)
            else:
                table[i, j] = value
    return Placeholders(table, np.array(rows, dtype=int), np.array(columns, dtype=int), np.array(source, dtype=int))


def _text(row: pd.Series, column: str, default: str) -> str:
    value = row.get(column, default)
    return default if value is None or (isinstance(value, float) and math.isnan(value)) or value == "" else str(value)


def _symbol_names(formula: str, where: str) -> set[str]:
    try:
        return {str(s) for s in sympify_petab(formula).free_symbols}
    except ValueError as exc:
        raise ProblemError(f"{where}: cannot parse {formula!r}: {exc}") from None


def compile_experiments(petab_problem, sbml_model: libsbml.Model, settable: list[str], defaults: np.ndarray,
                        overrides: dict[str, StateOverride]) -> Experiments:
    """Resolve every table of ``petab_problem`` against the (override-edited) SBML model."""
    parameter_df = petab_problem.parameter_df
    condition_df = petab_problem.condition_df
    measurement_df = petab_problem.measurement_df.reset_index(drop=True)
    observable_df = petab_problem.observable_df
    estimated = _estimated(parameter_df)
    values = _Values(parameter_df, estimated)

    specs = []
    for obs_id, row in observable_df.iterrows():
        noise_formula = str(row[C.NOISE_FORMULA])
        specs.append(ObservableSpec(
            observable_id=str(obs_id),
            formula=str(row[C.OBSERVABLE_FORMULA]),
            noise_formula=noise_formula,
            transformation=_text(row, C.OBSERVABLE_TRANSFORMATION, C.LIN),
            distribution=_text(row, C.NOISE_DISTRIBUTION, C.NORMAL),
            observable_placeholders=tuple(get_formula_placeholders(str(row[C.OBSERVABLE_FORMULA]), obs_id,
                                                                   "observable")),
            noise_placeholders=tuple(get_formula_placeholders(noise_formula, obs_id, "noise")),
        ))
    obs_position = {s.observable_id: i for i, s in enumerate(specs)}

    # Symbols of the formulas: placeholders, time, model entities (read from the simulation), table parameters.
    model_symbols: dict[str, str] = {}
    parameter_symbols: dict[str, tuple[float, int]] = {}
    for spec in specs:
        noise_readable = spec.noise_placeholders + spec.observable_placeholders
        for formula, kind, placeholders in ((spec.formula, "observableFormula", spec.observable_placeholders),
                                            (spec.noise_formula, "noiseFormula", noise_readable)):
            where = f"observable table, {spec.observable_id}, {kind}"
            for name in _symbol_names(formula, where) - set(placeholders) - {TIME_SYMBOL}:
                if name in obs_position:
                    raise ProblemError(f"{where}: refers to observable {name!r} (unsupported PEtab feature).")
                if sbml_model.getElementBySId(name) is not None:
                    species = sbml_model.getSpecies(name)
                    amount_only = species is None or species.getHasOnlySubstanceUnits()
                    model_symbols[name] = name if amount_only else f"[{name}]"
                elif name in values.index or name in values.nominal:
                    parameter_symbols[name] = values(name, where)
                else:
                    raise ProblemError(f"{where}: {name!r} is neither a model entity nor a parameter of the "
                                       "parameter table.")

    # Simulations: one per (pre-equilibration, simulation) pair, on the union of its measurement times.
    no_preequilibration = pd.Series("", index=measurement_df.index)
    preeq = measurement_df.get(C.PREEQUILIBRATION_CONDITION_ID, no_preequilibration)
    preeq_ids = ["" if pd.isna(value) else str(value) for value in preeq]  # an empty column reads as float NaN
    sim_ids = [str(v) for v in measurement_df[C.SIMULATION_CONDITION_ID]]
    times = measurement_df[C.TIME].astype(float).to_numpy()
    steady = np.isposinf(times)  # steady-state data: read after the simulation settles
    if np.isnan(times).any():
        raise ProblemError("measurement table: a time is NaN; times are numbers >= 0 or inf (steady state).")
    if (times < 0).any():
        raise ProblemError("measurement table: negative times; simulations start at t = 0.")
    pairs = list(dict.fromkeys(zip(preeq_ids, sim_ids)))
    assignments = {cid: _condition_assignment(cid, condition_df, settable, defaults, parameter_df, overrides, values,
                                              sbml_model)
                   for cid in dict.fromkeys(preeq_ids + sim_ids) if cid}
    simulations, offsets, offset = [], {}, 0
    for preeq_id, sim_id in pairs:
        mask = np.array([(p, s) == (preeq_id, sim_id) for p, s in zip(preeq_ids, sim_ids)])
        grid = np.unique(np.concatenate([[0.0], times[mask & ~steady]]))
        simulations.append(Simulation(
            preequilibration_id=preeq_id,
            condition_id=sim_id,
            preequilibration=assignments[preeq_id] if preeq_id else None,
            condition=assignments[sim_id],
            reinitialization=(_reinitialization(sim_id, condition_df, overrides, values) if preeq_id
                              else NO_REINITIALIZATION),
            times=grid,
            steady_state=bool((mask & steady).any()),
        ))
        offsets[(preeq_id, sim_id)] = offset
        offset += simulations[-1].n_rows

    # The steady-state row follows the time points (searchsorted of inf is their count).
    row = np.array([offsets[pair] + int(np.searchsorted(simulations[pairs.index(pair)].times, t))
                    for pair, t in zip(zip(preeq_ids, sim_ids), times)], dtype=int)
    observable_index = np.array([obs_position[o] for o in measurement_df[C.OBSERVABLE_ID]], dtype=int)
    return Experiments(
        settable=tuple(settable),
        simulations=tuple(simulations),
        observables=tuple(specs),
        model_symbols=model_symbols,
        parameter_symbols=parameter_symbols,
        measured=measurement_df[C.MEASUREMENT].astype(float).to_numpy(),
        times=times,
        observable_index=observable_index,
        row=row,
        observable_parameters=_placeholders(measurement_df, C.OBSERVABLE_PARAMETERS,
                                            [specs[i].observable_placeholders for i in observable_index], values),
        noise_parameters=_placeholders(measurement_df, C.NOISE_PARAMETERS,
                                       [specs[i].noise_placeholders for i in observable_index], values),
    )


def state_targets(condition_df: pd.DataFrame, sbml_model: libsbml.Model) -> list[str]:
    """Condition-table columns that set initial values of states rather than parameters."""
    return [c for c in condition_df.columns if c != C.CONDITION_NAME and state_kind(sbml_model, c) is not None]
