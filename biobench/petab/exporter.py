"""A synthetic biobench problem written as a PEtab v1 directory other tools can read.

Every number is written at full precision, so importing the directory gives the
same objective at the same parameters. Observables are written with what the
synthetic simulator reads: roadrunner reports a species' amount, so a
concentration-valued species ``X`` in compartment ``c`` becomes ``X * c`` (just
``X`` where ``c`` is a constant compartment of size 1).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import libsbml
import numpy as np
import pandas as pd

from biobench.atomic import permissions
from biobench.errors import ProblemError
from biobench.petab.importer import lint_messages
from biobench.problem import Problem, from_scale

MODEL_FILE = "model.xml"


def _observable_formula(model: libsbml.Model, entity: str) -> str:
    species = model.getSpecies(entity)
    if species is None or species.getHasOnlySubstanceUnits():
        return entity
    compartment = model.getCompartment(species.getCompartment())
    unit_size = (compartment.getConstant() and compartment.isSetSize() and compartment.getSize() == 1.0
                 and model.getInitialAssignment(compartment.getId()) is None)
    return entity if unit_size else f"{entity} * {compartment.getId()}"


def petab_tables(problem: Problem) -> dict[str, pd.DataFrame]:
    """The condition, observable, measurement and parameter tables of a synthetic problem."""
    from petab.v1 import C

    sbml_model = libsbml.readSBMLFromString(problem.model.sbml).getModel()
    observable_ids = [f"obs_{name}" for name in problem.observables]
    observables = pd.DataFrame({
        C.OBSERVABLE_ID: observable_ids,
        C.OBSERVABLE_FORMULA: [_observable_formula(sbml_model, name) for name in problem.observables],
        C.NOISE_FORMULA: [f"noiseParameter1_{oid}" for oid in observable_ids],
        C.OBSERVABLE_TRANSFORMATION: C.LIN,
        C.NOISE_DISTRIBUTION: C.NORMAL,
    })
    exp = problem.experiments
    measurements = pd.DataFrame({
        C.OBSERVABLE_ID: [observable_ids[j] for j in exp.observable_index],
        C.SIMULATION_CONDITION_ID: "c0",
        C.TIME: exp.times,
        C.MEASUREMENT: exp.measured,
        C.NOISE_PARAMETERS: exp.numeric_sigma(),
    })
    natural_lower = [from_scale(v, s) for v, s in zip(problem.lower, problem.scales)]
    natural_upper = [from_scale(v, s) for v, s in zip(problem.upper, problem.scales)]
    parameters = pd.DataFrame({
        C.PARAMETER_ID: list(problem.parameter_ids),
        C.PARAMETER_SCALE: list(problem.scales),
        C.LOWER_BOUND: np.asarray(natural_lower, dtype=float),
        C.UPPER_BOUND: np.asarray(natural_upper, dtype=float),
        C.NOMINAL_VALUE: problem.nominal,
        C.ESTIMATE: 1,
    })
    conditions = pd.DataFrame({C.CONDITION_ID: ["c0"], C.CONDITION_NAME: ["synthetic data, nominal model"]})
    return {"conditions": conditions, "observables": observables, "measurements": measurements,
            "parameters": parameters}


def export_problem(problem: Problem, out: str | Path) -> Path:
    """Write ``problem`` as a PEtab directory ``out`` (created whole or not at all); return its YAML path."""
    import petab.v1 as petab
    from petab.v1.yaml import create_problem_yaml

    if not problem.synthetic:
        raise ProblemError(f"--model names a PEtab problem ({problem.model.source}); export writes synthetic "
                           "problems of BioModels IDs or SBML files. Copy the PEtab directory instead.")
    out = Path(out)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise ProblemError(f"{out} already exists and is not an empty directory; pass a new --out directory.")
    out.parent.mkdir(parents=True, exist_ok=True)
    tables = petab_tables(problem)
    staging = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.", suffix=".tmp"))
    try:
        os.chmod(staging, permissions(directory=True))  # mkdtemp's folder is owner-only; the export is not
        (staging / MODEL_FILE).write_text(problem.model.sbml, encoding="utf-8")
        for name, frame in tables.items():
            frame.to_csv(staging / f"{name}.tsv", sep="\t", index=False)
        yaml_name = f"{problem.model.model_id}.yaml"
        create_problem_yaml(sbml_files=staging / MODEL_FILE, condition_files=staging / "conditions.tsv",
                            measurement_files=staging / "measurements.tsv", parameter_file=staging / "parameters.tsv",
                            observable_files=staging / "observables.tsv", yaml_file=staging / yaml_name)
        errors = lint_messages(petab.Problem.from_yaml(str(staging / yaml_name)))
        if errors:  # a bug of ours, not of the user's input: say so plainly
            raise ProblemError(f"the exported PEtab problem fails petab's linter: {'; '.join(errors)}")
        if out.exists():
            out.rmdir()
        staging.rename(out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return out / yaml_name
