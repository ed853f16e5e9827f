"""Where a model's inputs switch in time: ``piecewise(0, time < t_on, level)`` and the like.

roadrunner integrates across such a switch without stopping at it; where the dynamics after
it are fast, CVODE shrinks its step towards the switch time and ends in CV_TOO_MUCH_WORK
(Isensee_JCB2018: a cAMP analogue added at t = 10 in one condition; the step collapses at
t = 10 - 2e-15). AMICI finds such switches as roots and restarts there. libsbml and
roadrunner offer no list of them, so this module reads them from the formulas: a relation
between ``time`` and a parameter or number (``time < x``, ``x >= time``, ``time - x < c``),
which covers how PEtab problems write dosing and stimulation. The simulator restarts its
integrator at those times only when a simulation failed without (``biobench.simulator``).
"""

from __future__ import annotations

from dataclasses import dataclass

import libsbml

_RELATIONS = {libsbml.AST_RELATIONAL_LT, libsbml.AST_RELATIONAL_LEQ, libsbml.AST_RELATIONAL_GT,
              libsbml.AST_RELATIONAL_GEQ, libsbml.AST_RELATIONAL_EQ, libsbml.AST_RELATIONAL_NEQ}


@dataclass(frozen=True)
class TimeSwitch:
    """A switch at time ``symbol + offset`` (``symbol`` a model id, its value read per simulation) or at
    ``offset`` alone (``symbol`` None)."""

    symbol: str | None
    offset: float


def time_switches(sbml: str) -> list[TimeSwitch]:
    """The distinct time switches in the rules, reactions and event triggers of the model in ``sbml``."""
    model = libsbml.readSBMLFromString(sbml).getModel()
    if model is None:
        return []
    formulas = [model.getRule(i).getMath() for i in range(model.getNumRules())]
    formulas += [model.getReaction(i).getKineticLaw().getMath() for i in range(model.getNumReactions())
                 if model.getReaction(i).isSetKineticLaw()]
    formulas += [model.getEvent(i).getTrigger().getMath() for i in range(model.getNumEvents())
                 if model.getEvent(i).isSetTrigger()]
    found: dict[TimeSwitch, None] = {}
    for math in formulas:
        if math is not None:
            _collect(math, found)
    return list(found)


def _collect(node: libsbml.ASTNode, found: dict) -> None:
    if node.getType() in _RELATIONS and node.getNumChildren() == 2:
        switch = _solve(node.getChild(0), node.getChild(1))
        if switch is not None:
            found[switch] = None
    for i in range(node.getNumChildren()):
        _collect(node.getChild(i), found)


def _solve(left: libsbml.ASTNode, right: libsbml.ASTNode) -> TimeSwitch | None:
    """The time at which ``left == right`` for the forms above; None for any other relation."""
    for a, b in ((left, right), (right, left)):
        if a.getType() == libsbml.AST_NAME_TIME:  # time OP x
            return _value(b, 0.0)
        if (a.getType() == libsbml.AST_MINUS and a.getNumChildren() == 2
                and a.getChild(0).getType() == libsbml.AST_NAME_TIME and _number(b) is not None):
            return _value(a.getChild(1), _number(b))  # time - x OP c
    return None


def _value(node: libsbml.ASTNode, offset: float) -> TimeSwitch | None:
    number = _number(node)
    if number is not None:
        return TimeSwitch(None, number + offset)
    if node.getType() == libsbml.AST_NAME:
        return TimeSwitch(node.getName(), offset)
    return None


def _number(node: libsbml.ASTNode) -> float | None:
    return float(node.getValue()) if node.isNumber() else None
