"""A problem handed to AMICI as PEtab, compiled once and cached under ``models_cache/amici/``.

Real problems go over as the PEtab files they came from; synthetic ones through the
exporter (``biobench.petab.exporter``), so AMICI sees exactly the tables biobench scores.
The compiled model depends on the SBML model, the observable table, the condition table
and which parameters are estimated, not on the measurements or bounds: the cache key
hashes those (with the AMICI version), so the seeds of one synthetic problem share one
compiled model. Compiling takes 15 s (Boehm) to minutes; it is done once, said while it
runs, timed, and never charged to a start.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import logging
import os
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from biobench.errors import ProblemError, first_line
from biobench.models.cache import default_cache_dir
from biobench.problem import Problem


def amici_version() -> str:
    """The installed AMICI version; a ProblemError that says how to install it when it is missing."""
    try:
        import amici
    except ImportError:
        raise ProblemError("the amici engine needs AMICI: pip install 'biobench[amici]' (it compiles AMICI from "
                           "source: a C++ compiler and swig, about 2-15 minutes), or use --engine roadrunner."
                           ) from None
    return amici.__version__


@dataclass(frozen=True)
class CompiledModel:
    """An AMICI model module ready to instantiate, and the PEtab problem it was compiled for."""

    petab_problem: object  # petab.v1.Problem
    module_dir: Path
    module_name: str
    compile_seconds: float  # 0.0 when the cached build was reused
    cache_key: str

    def create(self):
        """A fresh AMICI model instance (one per process: models are not shared between threads)."""
        from amici import import_model_module

        return import_model_module(self.module_name, str(self.module_dir)).get_model()


def petab_problem_of(problem: Problem):
    """The PEtab problem AMICI reads: the problem's own files, or the synthetic problem exported."""
    import petab.v1 as petab

    if problem.petab_yaml is not None:
        petab_problem = petab.Problem.from_yaml(problem.petab_yaml)
        if petab.lint.measurement_table_has_timepoint_specific_mappings(petab_problem.measurement_df):
            # AMICI compiles one formula per observable: measurement-specific placeholder values become
            # observables of their own (what pyPESTO does too); the likelihood is unchanged
            petab.flatten_timepoint_specific_output_overrides(petab_problem)
        _conditions_win_over_initial_assignments(petab_problem, problem.model.model_id)
        return petab_problem
    from biobench.petab.exporter import petab_tables

    tables = petab_tables(problem)
    return petab.Problem(
        model=petab.models.sbml_model.SbmlModel.from_string(problem.model.sbml),
        condition_df=petab.get_condition_df(tables["conditions"]),
        measurement_df=petab.get_measurement_df(tables["measurements"]),
        parameter_df=petab.get_parameter_df(tables["parameters"]),
        observable_df=petab.get_observable_df(tables["observables"]),
    )


def _conditions_win_over_initial_assignments(petab_problem, model_id: str) -> None:
    """A parameter that conditions set but the model computes by an initial assignment: PEtab's condition value
    wins (the collection's own simulations say so, on Liu_IFACPapersOnLine2025), while AMICI's import keeps the
    assignment in every condition. The assignment is dropped from the model AMICI compiles where every
    condition gives a value; a blank cell (the model's own value, the assignment's) is refused by name."""
    model = petab_problem.model.sbml_model
    for column in petab_problem.condition_df.columns:
        if model.getParameter(column) is None or model.getInitialAssignment(column) is None:
            continue
        if petab_problem.condition_df[column].isna().any():
            raise ProblemError(f"{model_id}: condition table column {column!r} sets a parameter the model computes "
                               "by an initial assignment and leaves it blank in some condition, which AMICI's "
                               "PEtab import cannot express. Use --engine roadrunner.")
        model.removeInitialAssignment(column)


def model_cache_key(petab_problem, version: str) -> str:
    """Hash of what the compiled code depends on: model, observables, conditions, estimated ids, AMICI version."""
    digest = hashlib.sha256(version.encode())
    digest.update(petab_problem.model.to_sbml_str().encode())
    for frame in (petab_problem.observable_df, petab_problem.condition_df):
        digest.update(b"\0" if frame is None else frame.to_csv(sep="\t").encode())
    estimated = petab_problem.parameter_df["estimate"].astype(int)
    digest.update(",".join(f"{pid}={e}" for pid, e in estimated.items()).encode())
    return digest.hexdigest()[:16]


def compile_model(problem: Problem, cache_dir: Path | None = None, say=print) -> CompiledModel:
    """The problem's AMICI model from the cache, or compiled into it (written whole or not at all)."""
    version = amici_version()
    with quiet_logs():
        petab_problem = petab_problem_of(problem)
    key = model_cache_key(petab_problem, version)
    root = Path(cache_dir or default_cache_dir()) / "amici"
    name = f"bb_{key}"
    target = root / name
    if (target / name).is_dir():
        return CompiledModel(petab_problem, target, name, 0.0, key)
    root.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=root, prefix=f".{name}.", suffix=".tmp"))
    say(f"Compiling {problem.model.model_id} with AMICI {version} (once; cached in {target})...")
    started = time.perf_counter()
    try:
        from amici.importers.petab.v1 import import_petab_problem

        with quiet_logs(), _quiet_output():
            import_petab_problem(petab_problem, output_dir=str(staging), model_name=name, compile_=True,
                                 verbose=logging.ERROR)
        shutil.rmtree(target, ignore_errors=True)  # a half-written folder of an older crash
        staging.rename(target)
    except Exception as exc:
        shutil.rmtree(staging, ignore_errors=True)
        raise ProblemError(f"{problem.model.model_id}: AMICI cannot import the problem: "
                           f"{type(exc).__name__}: {first_line(exc).rstrip('.')}. Use --engine roadrunner.") from None
    seconds = time.perf_counter() - started
    say(f"Compiled in {seconds:.0f} s.")
    return CompiledModel(petab_problem, target, name, seconds, key)


def silence_simulation_logs() -> None:
    """Failed simulations are counted, not printed (as with roadrunner): AMICI logs each at ERROR."""
    import amici.sim.sundials  # noqa: F401  (creates the logger)

    for name in list(logging.root.manager.loggerDict):
        if name.startswith("amici.sim"):
            logging.getLogger(name).setLevel(logging.CRITICAL)


@contextlib.contextmanager
def quiet_logs():
    """AMICI and petab log progress at INFO/DEBUG (AMICI sets a level on each module's logger); biobench
    reports what matters itself."""
    import amici  # noqa: F401  (creates AMICI's loggers)

    names = [name for name in logging.root.manager.loggerDict if name.split(".")[0] in ("amici", "petab")]
    loggers = [logging.getLogger(name) for name in ["amici", "petab", *names]]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.ERROR)
    try:
        yield
    finally:
        for lg, level in zip(loggers, levels):
            lg.setLevel(level)


@contextlib.contextmanager
def _quiet_output():
    """The C++ build writes to file descriptors 1 and 2 directly; keep it off the terminal (errors still raise)."""
    with tempfile.TemporaryFile() as sink, contextlib.redirect_stdout(io.StringIO()):
        saved = os.dup(1), os.dup(2)
        os.dup2(sink.fileno(), 1)
        os.dup2(sink.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            os.close(saved[0])
            os.close(saved[1])
