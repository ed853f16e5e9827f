"""Reading SBML with libsbml: sniffing, validation, local-parameter promotion, initial assignments.

Everything that can be said about a model without simulating it lives here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import libsbml

from biobench.errors import ModelError, NotSbmlError

_MAX_MESSAGES = 3


def check_sbml_bytes(data: bytes, origin: str) -> None:
    """Refuse content that is not a complete SBML document (HTML, JSON, binary, truncated XML)."""
    if not data.strip():
        raise NotSbmlError(f"{origin}: the body is empty, not SBML.")
    if b"\x00" in data[:4096]:
        raise NotSbmlError(f"{origin}: binary content (e.g. ONNX or an archive), not SBML.")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise NotSbmlError(f"{origin}: content is not UTF-8 text, so it is not SBML.") from None
    head = text.lstrip("\ufeff \t\r\n")[:512].lower()
    if head.startswith("<!doctype html") or head.startswith("<html"):
        raise NotSbmlError(f"{origin}: received an HTML page, not SBML (is the URL or filename right?).")
    if head.startswith("{") or head.startswith("["):
        raise NotSbmlError(f"{origin}: received JSON, not SBML.")
    if "<sbml" not in text[:8192]:
        raise NotSbmlError(f"{origin}: the document has no <sbml> root element, so it is not SBML.")
    if "</sbml>" not in text[-4096:]:
        raise NotSbmlError(f"{origin}: the SBML document is truncated (no closing </sbml>); try again.")
    doc = libsbml.readSBMLFromString(text)
    if doc.getModel() is None or _fatal_messages(doc):
        detail = "; ".join(_fatal_messages(doc)) or "it contains no model"
        raise NotSbmlError(f"{origin}: not a readable SBML document: {detail}.")


# Packages that only describe how a model is drawn: their errors cannot change a simulation
# (BIOMD0000000463 lacks render:required, and roadrunner simulates it).
_DRAWING_PACKAGES = {"layout", "render"}


def _messages(doc: libsbml.SBMLDocument, min_severity: int) -> list[str]:
    out = []
    for i in range(doc.getNumErrors()):
        err = doc.getError(i)
        if err.getSeverity() >= min_severity and err.getPackage() not in _DRAWING_PACKAGES:
            # libsbml's message is the rule's text, a reference, then the specific finding: keep the last.
            lines = [line.strip() for line in err.getMessage().splitlines() if line.strip()]
            out.append(f"line {err.getLine()}: {(lines[-1] if lines else err.getShortMessage()).rstrip('.')}")
    return out


def _fatal_messages(doc: libsbml.SBMLDocument) -> list[str]:
    return _messages(doc, libsbml.LIBSBML_SEV_ERROR)


def read_validated(text: str, origin: str) -> libsbml.SBMLDocument:
    """Parse and validate SBML; raise ``ModelError`` quoting libsbml's first messages."""
    doc = libsbml.readSBMLFromString(text)
    problems = _fatal_messages(doc)
    if not problems and doc.getModel() is not None:
        # Unit and good-practice checks flag most curated models; keep only real errors.
        for check in (
            libsbml.LIBSBML_CAT_UNITS_CONSISTENCY,
            libsbml.LIBSBML_CAT_MODELING_PRACTICE,
            libsbml.LIBSBML_CAT_SBO_CONSISTENCY,
            libsbml.LIBSBML_CAT_OVERDETERMINED_MODEL,
        ):
            doc.setConsistencyChecks(check, False)
        doc.checkConsistency()
        problems = _fatal_messages(doc)
    if doc.getModel() is None and not problems:
        problems = ["the document contains no <model>"]
    if problems:
        shown = "; ".join(problems[:_MAX_MESSAGES])
        more = f" (and {len(problems) - _MAX_MESSAGES} more)" if len(problems) > _MAX_MESSAGES else ""
        raise ModelError(f"{origin} is not valid SBML: {shown}{more}. Fix the file or pick another model.")
    return doc


def promote_local_parameters(doc: libsbml.SBMLDocument, origin: str) -> libsbml.SBMLDocument:
    """Turn reaction-local parameters into global ones so they can be estimated."""
    props = libsbml.ConversionProperties()
    props.addOption("promoteLocalParameters", True)
    if doc.convert(props) != libsbml.LIBSBML_OPERATION_SUCCESS:
        raise ModelError(f"{origin}: libsbml could not promote reaction-local parameters to global ones.")
    return doc


def _math_names(math_ast: libsbml.ASTNode) -> tuple[set[str], bool]:
    """Names a formula reads, and whether it reads time, delay or another value that changes during a run."""
    names, dynamic = set(), False
    stack = [math_ast]
    while stack:
        node = stack.pop()
        if node.getType() in (libsbml.AST_NAME_TIME, libsbml.AST_FUNCTION_DELAY, libsbml.AST_FUNCTION_RATE_OF):
            dynamic = True
        elif node.getType() == libsbml.AST_NAME:
            names.add(node.getName())
        stack.extend(node.getChild(i) for i in range(node.getNumChildren()))
    return names, dynamic


def initial_assignments_to_rules(doc: libsbml.SBMLDocument) -> list[str]:
    """Turn each constant parameter's initial assignment that reads only constants into an assignment rule.

    biobench writes every settable global parameter before each simulation, so a parameter
    defined by an initial assignment (``P = 2 * k``, common in COPASI exports) would keep the
    value it had at load time, and neither a condition nor an estimated ``k`` would reach it.
    A constant parameter whose assignment reads only constants equals that expression at all
    times, so an assignment rule is the same model and roadrunner recomputes it from the
    values written. Assignments that read species, time or non-constant values are left as
    they are. Returns the converted parameter ids.
    """
    model = doc.getModel()
    constants = {p.getId() for p in model.getListOfParameters() if p.getConstant()}
    constants |= {c.getId() for c in model.getListOfCompartments() if c.getConstant()}
    functions = {f.getId() for f in model.getListOfFunctionDefinitions()}
    converted: list[str] = []
    pending = [ia for ia in model.getListOfInitialAssignments()
               if model.getParameter(ia.getSymbol()) is not None and model.getParameter(ia.getSymbol()).getConstant()
               and ia.getMath() is not None]
    progress = True
    while progress:  # an assignment may read another converted parameter: repeat until nothing changes
        progress = False
        for ia in list(pending):
            target = ia.getSymbol()
            names, dynamic = _math_names(ia.getMath())
            if dynamic or not names - functions <= (constants - {target}) | set(converted):
                continue
            rule = model.createAssignmentRule()
            rule.setVariable(target)
            rule.setMath(ia.getMath().deepCopy())
            model.getParameter(target).setConstant(False)
            model.removeInitialAssignment(target)
            pending.remove(ia)
            converted.append(target)
            progress = True
    return converted


@dataclass(frozen=True)
class ParameterInfo:
    """A global parameter and, when it cannot be estimated, why not."""

    id: str
    value: float
    excluded_because: str | None = None

    @property
    def estimable(self) -> bool:
        return self.excluded_because is None


def classify_parameters(model: libsbml.Model) -> list[ParameterInfo]:
    """Decide for each global parameter whether it is estimable (and say why not)."""
    targets: dict[str, str] = {}
    for i in range(model.getNumRules()):
        targets.setdefault(model.getRule(i).getVariable(), "target of a rule")
    for i in range(model.getNumInitialAssignments()):
        targets.setdefault(model.getInitialAssignment(i).getSymbol(), "set by an initial assignment")
    for i in range(model.getNumEvents()):
        event = model.getEvent(i)
        for j in range(event.getNumEventAssignments()):
            targets.setdefault(event.getEventAssignment(j).getVariable(), "changed by an event")

    infos = []
    for i in range(model.getNumParameters()):
        p = model.getParameter(i)
        value = p.getValue() if p.isSetValue() else math.nan
        reason = None
        if not p.getConstant():
            reason = "not constant"
        elif p.getId() in targets:
            reason = targets[p.getId()]
        elif not math.isfinite(value):
            reason = "no finite value"
        elif value == 0:
            reason = "zero (no scale to estimate on)"
        elif value < 0:
            reason = "negative (log-scale estimation needs a positive value)"
        infos.append(ParameterInfo(p.getId(), value, reason))
    return infos
