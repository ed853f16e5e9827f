"""A validated SBML model, ready to be compiled by libroadrunner.

libsbml reads and checks the document once; roadrunner compiles from the checked,
local-parameter-promoted text. Roadrunner keeps its own cache of compiled models
keyed by the SBML text, so asking for a fresh simulator per objective is cheap
(milliseconds after the first compilation in a process).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import libsbml
import roadrunner

from biobench.errors import ModelError, first_line
from biobench.models.sbml import (ParameterInfo, classify_parameters, initial_assignments_to_rules,
                                  promote_local_parameters, read_validated)


@dataclass(frozen=True)
class Model:
    """An SBML model: where it came from, what it contains, and how to simulate it."""

    model_id: str
    name: str
    path: Path
    sha256: str
    sbml: str = field(repr=False)
    species: tuple[str, ...]
    parameters: tuple[ParameterInfo, ...]
    source: str = "local file"

    @property
    def estimable_parameters(self) -> tuple[ParameterInfo, ...]:
        return tuple(p for p in self.parameters if p.estimable)

    def simulator(self) -> roadrunner.RoadRunner:
        """A new roadrunner instance of this model (compiled once per process by roadrunner)."""
        return compile_sbml(self.sbml, str(self.path))


def compile_sbml(sbml: str, origin: str) -> roadrunner.RoadRunner:
    """Compile with roadrunner, turning its failures into a ``ModelError`` that names the model."""
    try:
        return roadrunner.RoadRunner(sbml)
    except Exception as exc:  # roadrunner raises plain RuntimeError for unsupported constructs
        raise ModelError(f"{origin}: libroadrunner cannot simulate this model: {first_line(exc)}") from None


def load_model(path: str | Path, model_id: str | None = None, source: str = "local file") -> Model:
    """Read, validate and compile an SBML file into a ``Model``."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ModelError(f"{path}: no such file. Pass an existing SBML file or a BioModels ID.") from None
    except OSError as exc:
        raise ModelError(f"{path}: cannot be read ({exc.strerror}).") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ModelError(f"{path}: not a UTF-8 text file, so not SBML.") from None
    doc = read_validated(text, str(path))
    promote_local_parameters(doc, str(path))
    return model_from_document(doc, path, hashlib.sha256(raw).hexdigest(), model_id=model_id, source=source)


def model_from_document(doc: libsbml.SBMLDocument, path: Path, sha256: str, model_id: str | None = None,
                        source: str = "local file") -> Model:
    """A ``Model`` from a validated, local-parameter-promoted document (possibly edited, as PEtab import does)."""
    sbml_model = doc.getModel()
    species = tuple(
        s.getId()
        for s in (sbml_model.getSpecies(i) for i in range(sbml_model.getNumSpecies()))
        if not s.getBoundaryCondition() and not s.getConstant()
    )
    parameters = tuple(classify_parameters(sbml_model))  # before the rewrite: "set by an initial assignment"
    initial_assignments_to_rules(doc)
    promoted = libsbml.writeSBMLToString(doc)
    compile_sbml(promoted, str(path))  # report what roadrunner cannot simulate now, not mid-run
    return Model(
        model_id=model_id or sbml_model.getId() or path.stem,
        name=sbml_model.getName() or sbml_model.getId() or path.stem,
        path=path,
        sha256=sha256,
        sbml=promoted,
        species=species,
        parameters=parameters,
        source=source,
    )
