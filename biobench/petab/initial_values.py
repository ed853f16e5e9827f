"""Condition-specific initial values of states (species, compartments, rate-rule parameters), and of parameters
that an initial assignment computes.

PEtab lets a condition set a state's initial value, or leave it at the model's own
(``NaN``), which may be an initial assignment such as ``A = a0``. Roadrunner
re-evaluates initial assignments on every reset, so a value written to the state
directly would be overwritten. Instead each overridden state gets two new
parameters and the initial assignment

    X = piecewise(petab_init_X, petab_set_X > 0.5, <the model's own initial value of X>)

so one compiled model serves every condition: a condition writes ``petab_set_X = 1``
and the value, or ``petab_set_X = 0`` to keep the model's value.
"""

from __future__ import annotations

from dataclasses import dataclass

import libsbml

from biobench.errors import ProblemError

INIT_PREFIX = "petab_init_"
FLAG_PREFIX = "petab_set_"


@dataclass(frozen=True)
class StateOverride:
    """A state a condition may set: its two switch parameters and how to write it after pre-equilibration."""

    target: str
    kind: str  # "species", "compartment" or "parameter"
    selector: str  # roadrunner selector of the value PEtab means (a species' concentration unless amount-only)

    @property
    def value_parameter(self) -> str:
        return INIT_PREFIX + self.target

    @property
    def flag_parameter(self) -> str:
        return FLAG_PREFIX + self.target


def state_kind(model: libsbml.Model, entity_id: str) -> str | None:
    """``species``, ``compartment`` or ``parameter`` (a rate-rule target, or a parameter an initial assignment
    computes: roadrunner cannot write it, and a condition's value must win over the assignment) when a condition
    sets ``entity_id`` through an initial value, else None."""
    species = model.getSpecies(entity_id)
    if species is not None:
        return "species"
    if model.getCompartment(entity_id) is not None:
        return "compartment"
    parameter = model.getParameter(entity_id)
    rule = model.getRule(entity_id)
    if parameter is not None and rule is not None and rule.isRate():
        return "parameter"
    if parameter is not None and rule is None and model.getInitialAssignment(entity_id) is not None:
        return "parameter"
    return None


def _original_initial_math(model: libsbml.Model, entity_id: str, kind: str) -> libsbml.ASTNode:
    assignment = model.getInitialAssignment(entity_id)
    if assignment is not None and assignment.isSetMath():
        return assignment.getMath().deepCopy()
    if kind == "species":
        species = model.getSpecies(entity_id)
        compartment = species.getCompartment()
        if species.getHasOnlySubstanceUnits():
            if species.isSetInitialAmount():
                return libsbml.parseL3Formula(repr(species.getInitialAmount()))
            return libsbml.parseL3Formula(f"{species.getInitialConcentration()!r} * {compartment}")
        if species.isSetInitialConcentration():
            return libsbml.parseL3Formula(repr(species.getInitialConcentration()))
        return libsbml.parseL3Formula(f"{species.getInitialAmount()!r} / {compartment}")
    element = model.getCompartment(entity_id) if kind == "compartment" else model.getParameter(entity_id)
    size = element.getSize() if kind == "compartment" else element.getValue()
    return libsbml.parseL3Formula(repr(size))


def add_state_overrides(model: libsbml.Model, targets: list[str]) -> dict[str, StateOverride]:
    """Edit ``model`` in place so that conditions can set the initial values of ``targets``."""
    overrides = {}
    for target in targets:
        kind = state_kind(model, target)
        if kind is None:
            raise ProblemError(f"condition table: {target!r} is not a species, compartment or rate-rule "
                               "parameter of the model, so it cannot be given an initial value.")
        if model.getRule(target) is not None and model.getRule(target).isAssignment():
            raise ProblemError(f"condition table: {target!r} is defined by an assignment rule and cannot be set "
                               "per condition (unsupported PEtab feature).")
        selector = target
        if kind == "species" and not model.getSpecies(target).getHasOnlySubstanceUnits():
            selector = f"[{target}]"
        override = StateOverride(target, kind, selector)
        original = _original_initial_math(model, target, kind)
        for pid in (override.value_parameter, override.flag_parameter):
            if model.getElementBySId(pid) is not None:
                raise ProblemError(f"the model already has an element {pid!r}, a name biobench reserves for "
                                   "PEtab condition overrides; rename it.")
            parameter = model.createParameter()
            parameter.setId(pid)
            parameter.setConstant(True)
            parameter.setValue(0.0)
        math = libsbml.parseL3Formula(f"piecewise({override.value_parameter}, {override.flag_parameter} > 0.5, x)")
        math.replaceChild(2, original)
        assignment = model.getInitialAssignment(target) or model.createInitialAssignment()
        assignment.setSymbol(target)
        assignment.setMath(math)
        overrides[target] = override
    return overrides
