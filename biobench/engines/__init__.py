"""Simulation engines: what turns a problem's parameters into its objective.

``roadrunner`` (the default) is embedded, needs no compilation and runs any SBML;
derivatives are finite differences through the counted objective. ``amici`` compiles
the problem (handed over as PEtab) to C++ once and gives exact forward and adjoint
sensitivities and Newton steady states (``biobench.engines.amici_likelihood``). The
engine is part of a start's identity: leaderboards never pool two engines.
"""

from __future__ import annotations

import difflib

import numpy as np

from biobench.errors import ConfigError
from biobench.problem import Problem

ENGINES = ("roadrunner", "amici")
DEFAULT_ENGINE = "roadrunner"


def check_engine(name: str) -> str:
    """``name`` if it is an engine; else a ConfigError that lists them and suggests the closest."""
    if name in ENGINES:
        return name
    close = difflib.get_close_matches(name, ENGINES, n=1)
    hint = f" Did you mean '{close[0]}'?" if close else ""
    raise ConfigError(f"unknown engine '{name}'; choose one of: {', '.join(ENGINES)}.{hint}")


def reference_point(problem: Problem) -> np.ndarray:
    """Where costs are measured: the nominal point, or the centre of the bounds where it has no value."""
    nominal = problem.x_true
    return nominal if np.isfinite(nominal).all() else 0.5 * (problem.lower + problem.upper)


def likelihood_for(problem: Problem, engine: str = DEFAULT_ENGINE, say=print):
    """The problem's compiled objective on ``engine`` (``Likelihood`` or ``AmiciLikelihood``)."""
    check_engine(engine)
    if engine == "roadrunner":
        from biobench.likelihood import Likelihood

        return Likelihood(problem)
    from biobench.engines.amici_build import amici_version
    from biobench.engines.amici_likelihood import AmiciLikelihood
    from biobench.engines.costs import load_or_measure

    amici_version()  # a missing AMICI is said before anything is built
    likelihood = AmiciLikelihood(problem, say=say)
    path = likelihood.compiled.module_dir / f"costs-{problem.key[:16]}.json"
    likelihood.costs = load_or_measure(likelihood, reference_point(problem), path)
    return likelihood
