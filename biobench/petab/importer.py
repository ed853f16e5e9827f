"""PEtab v1 problem (YAML + SBML + TSV tables) to a biobench ``Problem``.

The petab library reads and lints the tables; what it accepts but biobench cannot
answer exactly is refused here with the feature's name, never approximated.
"""

from __future__ import annotations

import hashlib
import logging
import math
import warnings
from pathlib import Path

import numpy as np

from biobench.errors import ProblemError, first_line
from biobench.models.model import model_from_document
from biobench.models.sbml import promote_local_parameters, read_validated
from biobench.petab.initial_values import add_state_overrides
from biobench.petab.tables import compile_experiments, state_targets
from biobench.priors import PriorSpec, parse_prior
from biobench.problem import Problem, problem_key, to_scale
from biobench.settings import IntegratorSettings, ProblemSettings
from biobench.simulator import settable_parameter_ids


class _Collect(logging.Handler):
    """Keeps the petab linter's error messages, which it logs instead of raising."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        message = first_line(Exception(record.getMessage())).rstrip(".")
        if message != "Not OK":  # the linter's closing verdict, not a finding
            self.messages.append(message)


def _read_config(path: Path) -> dict:
    from petab.v1 import yaml as petab_yaml

    if not path.is_file():
        raise ProblemError(f"{path}: no such PEtab problem file. Pass the problem's YAML file.")
    try:
        config = petab_yaml.load_yaml(str(path))
    except Exception as exc:
        raise ProblemError(f"{path}: not a readable YAML file: {first_line(exc)}") from None
    if not isinstance(config, dict) or "problems" not in config:
        raise ProblemError(f"{path}: not a PEtab problem file (no 'problems' list).")
    version = str(config.get("format_version", ""))
    if not version.startswith("1"):
        raise ProblemError(f"{path}: PEtab format_version {version or '(missing)'}; only PEtab v1 is supported.")
    problems = config["problems"]
    if len(problems) != 1:
        raise ProblemError(f"{path}: {len(problems)} sub-problems; composite PEtab problems are not supported "
                           "(unsupported PEtab feature).")
    sbml_files = problems[0].get("sbml_files") or []
    if len(sbml_files) != 1:
        raise ProblemError(f"{path}: {len(sbml_files)} SBML files; exactly one model is supported.")
    for key in ("mapping_files", "extensions"):
        if problems[0].get(key) or config.get(key):
            raise ProblemError(f"{path}: '{key}' is not supported (unsupported PEtab feature).")
    return config


def lint_messages(petab_problem) -> list[str]:
    """The petab linter's errors (it logs them rather than raising); empty when the problem is valid."""
    from petab.v1 import lint_problem

    handler = _Collect()
    logger = logging.getLogger("petab")
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.ERROR)  # its progress notes ("Visualization table not available") are not findings
    try:
        failed = lint_problem(petab_problem)
    except Exception as exc:  # the linter itself trips over some malformed entries (a prior "1" read as a float)
        return [f"the linter could not check the problem ({type(exc).__name__}: {first_line(exc)}); "
                "look for a malformed entry, e.g. prior parameters that are not 'a;b'"]
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
    return (handler.messages or ["see petablint's output"]) if failed else []


def _lint(petab_problem, path: Path) -> None:
    errors = lint_messages(petab_problem)
    if errors:
        raise ProblemError(f"{path}: the PEtab linter rejects the problem: {'; '.join(errors[:5])}. "
                           f"Run `petablint {path}` for the full report.")


def _check_bounds(petab_problem, path: Path) -> None:
    from petab.v1 import C

    for pid, row in petab_problem.parameter_df.iterrows():
        if int(row[C.ESTIMATE]) == 1 and row[C.PARAMETER_SCALE] in ("log", "log10") and not row[C.LOWER_BOUND] > 0:
            raise ProblemError(f"{path}: parameter {pid!r} is estimated on {row[C.PARAMETER_SCALE]} scale and "
                               f"needs a positive lowerBound (got {row[C.LOWER_BOUND]}).")


def _priors(estimated, kind: str) -> tuple[PriorSpec | None, ...]:
    """Per estimated parameter, its ``objective`` or ``initialization`` prior (None where the table gives none)."""
    type_column, parameter_column = f"{kind}PriorType", f"{kind}PriorParameters"
    if type_column not in estimated:
        return ()
    specs = tuple(parse_prior(row[type_column], row.get(parameter_column), f"parameter table, {pid!r}, {type_column}",
                              _default_prior_parameters(row, row[type_column]))
                  for pid, row in estimated.iterrows())
    return specs if any(s is not None for s in specs) else ()


def _default_prior_parameters(row, kind) -> tuple[float, float]:
    """PEtab v1's default prior parameters: the bounds, on the parameter scale for parameterScale* priors."""
    from petab.v1 import C

    bounds = float(row[C.LOWER_BOUND]), float(row[C.UPPER_BOUND])
    if str(kind).strip().startswith("parameterScale"):
        return tuple(float(to_scale(b, str(row[C.PARAMETER_SCALE]))) for b in bounds)
    return bounds


def _digest(path: Path, config: dict) -> str:
    """Hash of the YAML and every file it names, so a changed table makes a new problem key."""
    digest = hashlib.sha256(path.read_bytes())
    problem = config["problems"][0]
    files = [config.get("parameter_file")] + [f for key in ("sbml_files", "condition_files", "measurement_files",
                                                            "observable_files") for f in problem.get(key) or []]
    for name in files:
        for one in ([name] if isinstance(name, str) else name or []):
            digest.update((path.parent / one).read_bytes())
    return digest.hexdigest()


def load_petab_problem(path: str | Path, integrator: IntegratorSettings | None = None) -> Problem:
    """Read, lint and compile a PEtab v1 problem; unsupported features raise ``ProblemError``."""
    import petab.v1 as petab

    path = Path(path)
    config = _read_config(path)
    try:
        with warnings.catch_warnings():  # petab 0.8 still uses pandas arguments pandas deprecates
            warnings.filterwarnings("ignore", module=r"petab\.")
            petab_problem = petab.Problem.from_yaml(str(path))
    except Exception as exc:
        raise ProblemError(f"{path}: petab cannot read the problem: {first_line(exc)}") from None
    _lint(petab_problem, path)
    _check_bounds(petab_problem, path)

    sbml_path = path.parent / config["problems"][0]["sbml_files"][0]
    doc = read_validated(sbml_path.read_text(encoding="utf-8"), str(sbml_path))
    promote_local_parameters(doc, str(sbml_path))
    overrides = add_state_overrides(doc.getModel(), state_targets(petab_problem.condition_df, doc.getModel()))
    # a collection names a problem by its folder where the file has a generic name (problem.yaml)
    stem = path.stem.lstrip("_")
    model_id = path.parent.name if stem in ("", "problem") else stem
    model = model_from_document(doc, sbml_path, _digest(path, config), model_id=model_id,
                                source=f"PEtab problem {path}")

    settable, defaults = settable_parameter_ids(model.simulator())
    experiments = compile_experiments(petab_problem, doc.getModel(), settable, defaults, overrides)

    from petab.v1 import C

    estimated = petab_problem.parameter_df[petab_problem.parameter_df[C.ESTIMATE].astype(int) == 1]
    if estimated.empty:
        raise ProblemError(f"{path}: no parameter has estimate = 1; there is nothing to estimate.")
    scales = tuple(str(s) for s in estimated[C.PARAMETER_SCALE])
    bounds = estimated[[C.LOWER_BOUND, C.UPPER_BOUND]].astype(float).to_numpy()
    nominal = (estimated[C.NOMINAL_VALUE].astype(float).to_numpy() if C.NOMINAL_VALUE in estimated
               else np.full(len(estimated), math.nan))
    settings = ProblemSettings(integrator=integrator or IntegratorSettings())
    return Problem(
        model=model,
        settings=settings,
        parameter_ids=tuple(str(p) for p in estimated.index),
        scales=scales,
        lower=np.array([to_scale(lo, s) for lo, s in zip(bounds[:, 0], scales)], dtype=float),
        upper=np.array([to_scale(up, s) for up, s in zip(bounds[:, 1], scales)], dtype=float),
        nominal=nominal,
        experiments=experiments,
        key=problem_key(model, settings),
        synthetic=False,
        objective_priors=_priors(estimated, "objective"),
        initialization_priors=_priors(estimated, "initialization"),
        petab_yaml=str(path.resolve()),
    )

