"""Simulation engines: what turns a problem's parameters into its objective.

``roadrunner`` (the default) is embedded, needs no compilation and runs any SBML;
derivatives are finite differences through the counted objective. ``amici`` compiles
the problem (handed over as PEtab) to C++ once and gives exact forward and adjoint
sensitivities and Newton steady states (``biobench.engines.amici_likelihood``); each
method gets its gradient (or residual Jacobian) the way measured cheapest on the problem,
and ``amici:forward``, ``amici:adjoint`` or ``amici:differences`` fix that way. ``auto``
runs a method on whichever engine is measured cheaper for what it asks (``biobench.engines.choice``).
The engine is part of a start's identity: leaderboards never pool two engines.
"""

from __future__ import annotations

import difflib
from collections import OrderedDict

from biobench.errors import ConfigError
from biobench.problem import Problem

ENGINES = ("roadrunner", "amici")
DEFAULT_ENGINE = "roadrunner"
ENGINE_NAMES = ENGINES + ("amici:forward", "amici:adjoint", "amici:differences", "auto")


def check_engine(name: str) -> str:
    """``name`` if it names an engine; else a ConfigError that lists them and suggests the closest."""
    if name in ENGINE_NAMES:
        return name
    close = difflib.get_close_matches(name, ENGINE_NAMES, n=1)
    hint = f" Did you mean '{close[0]}'?" if close else ""
    raise ConfigError(f"unknown engine '{name}'; choose one of: {', '.join(ENGINE_NAMES)}.{hint}")


# (problem key, engine) -> its compiled likelihood, for the last few problems this process met
_compiled: OrderedDict[tuple[str, str], object] = OrderedDict()
KEEP_COMPILED = 4  # a bench meets a corpus one problem at a time; a run meets one


def likelihood_for(problem: Problem, engine: str = DEFAULT_ENGINE, say=print):
    """The problem's compiled objective on ``engine`` (``Likelihood`` or ``AmiciLikelihood``); ``auto`` must have
    been resolved (``biobench.engines.choice.resolve_engine``). Built once per process and problem (a problem's
    key covers its settings, integrator included): a run's value at the truth, its initializer's pilot and its
    starts share one compiled simulator, each start through an ``Objective`` of its own."""
    key = (problem.key, engine)
    if key in _compiled:
        _compiled.move_to_end(key)
        return _compiled[key]
    built = _compile(problem, engine, say)
    _compiled[key] = built
    while len(_compiled) > KEEP_COMPILED:
        _compiled.popitem(last=False)
    return built


def _compile(problem: Problem, engine: str, say):
    check_engine(engine)
    if engine == "auto":
        raise ValueError("resolve 'auto' to an engine first (biobench.engines.choice.resolve_engine)")
    if engine == "roadrunner":
        from biobench.likelihood import Likelihood

        return Likelihood(problem)
    from biobench.engines.amici_build import amici_version

    amici_version()  # a missing AMICI is said before anything is built
    from biobench.engines.amici_likelihood import AmiciLikelihood

    _, _, fixed = engine.partition(":")
    return AmiciLikelihood(problem, say=say, gradient=fixed or None)
