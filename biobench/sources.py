"""From what the user typed (a BioModels ID, an SBML path, a PEtab YAML) to a ``Problem``."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from biobench.problem import Problem, build_problem
from biobench.settings import ProblemSettings

PETAB_SUFFIXES = (".yaml", ".yml")


def is_petab_spec(spec: str | Path) -> bool:
    """A PEtab problem is named by its YAML file; models by an ID or an SBML path."""
    return Path(str(spec)).suffix.lower() in PETAB_SUFFIXES


def load_problem(spec: str | Path, settings: ProblemSettings | None = None,
                 notify: Callable[[str], None] | None = None) -> Problem:
    """A synthetic problem built from a model, or a PEtab problem read as it is.

    A PEtab problem defines its own parameters, data and noise, so of the problem
    settings only the integrator's apply; the others are named, not silently dropped.
    """
    settings = settings or ProblemSettings()
    if is_petab_spec(spec):
        from biobench.petab import load_petab_problem  # petab and sympy load only for PEtab problems

        unused = sorted(k for k, v in settings if k != "integrator" and v != ProblemSettings.model_fields[k].default)
        if unused and notify is not None:
            notify(f"{spec}: a PEtab problem defines its own parameters, data and noise; "
                   f"the problem settings {', '.join(unused)} do not apply to it.")
        return load_petab_problem(spec, settings.integrator)
    from biobench.models import resolve_model

    return build_problem(resolve_model(spec, notify=notify), settings)
