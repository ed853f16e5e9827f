"""Conformance checks for initializer and optimizer plugins, shipped with biobench so that a method added through
an entry point is held to the rules the built-in ones are (as ``optuna.testing`` does for samplers)::

    from biobench.testing import Problems, check_initializer, check_optimizer

    problems = Problems.small_set()             # four small real problems, built from SBML written here
    check_initializer("my-init", {"option": 1}, problems)
    check_optimizer("my-opt", {}, problems)

Each ``check_*`` runs every check of its list and raises ``AssertionError`` naming the one that failed;
biobench's own tests run the lists over every registered plugin, one check per test. The rules are the
fair-comparison ones: start points inside the bounds and reproducible under a seed, every simulation an
initializer's design or an optimizer causes charged, the budget never exceeded, failures survived.
"""

from __future__ import annotations

import dataclasses
import tempfile
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from biobench.initializers import initializers
from biobench.likelihood import Likelihood
from biobench.objective import Objective
from biobench.optimizers import optimizers
from biobench.outcome import Status
from biobench.problem import Problem
from biobench.simulator import Simulator


def decay_model_sbml(n_species: int) -> str:
    """An SBML model of n independent first-order decays, one rate parameter each."""
    species = "".join(
        f'<species id="S{i}" compartment="c" initialConcentration="{1 + i % 5}" hasOnlySubstanceUnits="false" '
        f'boundaryCondition="false" constant="false"/>' for i in range(n_species))
    parameters = "".join(f'<parameter id="k{i}" value="{0.1 * (1 + i % 7)}" constant="true"/>' for i in range(n_species))
    reactions = "".join(
        f'<reaction id="R{i}" reversible="false" fast="false"><listOfReactants><speciesReference species="S{i}" '
        f'stoichiometry="1" constant="true"/></listOfReactants><kineticLaw><math '
        f'xmlns="http://www.w3.org/1998/Math/MathML"><apply><times/><ci>k{i}</ci><ci>S{i}</ci></apply></math>'
        f'</kineticLaw></reaction>' for i in range(n_species))
    return (
        '<?xml version="1.0" encoding="UTF-8"?><sbml xmlns="http://www.sbml.org/sbml/level3/version1/core" '
        f'level="3" version="1"><model id="decays{n_species}"><listOfCompartments><compartment id="c" size="1" '
        f'constant="true"/></listOfCompartments><listOfSpecies>{species}</listOfSpecies>'
        f'<listOfParameters>{parameters}</listOfParameters><listOfReactions>{reactions}</listOfReactions>'
        '</model></sbml>'
    )


def chain_model_sbml() -> str:
    """A -> B -> C by mass action (k1 = 0.5, k2 = 0.2): two parameters whose upper bounds make the model stiff
    enough that a small integrator step limit fails (the failure check needs that)."""
    reactions = "".join(
        f'<reaction id="R{i}" reversible="false" fast="false"><listOfReactants><speciesReference species="{a}" '
        f'stoichiometry="1" constant="true"/></listOfReactants><listOfProducts><speciesReference species="{b}" '
        f'stoichiometry="1" constant="true"/></listOfProducts><kineticLaw><math '
        f'xmlns="http://www.w3.org/1998/Math/MathML"><apply><times/><ci>k{i}</ci><ci>{a}</ci></apply></math>'
        f'</kineticLaw></reaction>' for i, (a, b) in ((1, ("A", "B")), (2, ("B", "C"))))
    species = "".join(f'<species id="{name}" compartment="c" initialConcentration="{value}" '
                      'hasOnlySubstanceUnits="false" boundaryCondition="false" constant="false"/>'
                      for name, value in (("A", 10), ("B", 0), ("C", 0)))
    return (
        '<?xml version="1.0" encoding="UTF-8"?><sbml xmlns="http://www.sbml.org/sbml/level3/version1/core" '
        'level="3" version="1"><model id="chain"><listOfCompartments><compartment id="c" size="1" '
        f'constant="true"/></listOfCompartments><listOfSpecies>{species}</listOfSpecies><listOfParameters>'
        '<parameter id="k1" value="0.5" constant="true"/><parameter id="k2" value="0.2" constant="true"/>'
        f'</listOfParameters><listOfReactions>{reactions}</listOfReactions></model></sbml>'
    )


def quadratic_model_sbml(n_parameters: int) -> str:
    """A model whose observables are its parameters: on lin scale the objective is an exact quadratic."""
    parameters = "".join(f'<parameter id="p{i}" value="{1 + i}" constant="true"/>' for i in range(n_parameters))
    return (
        '<?xml version="1.0" encoding="UTF-8"?><sbml xmlns="http://www.sbml.org/sbml/level3/version1/core" '
        'level="3" version="1"><model id="quadratic"><listOfCompartments><compartment id="c" size="1" '
        'constant="true"/></listOfCompartments><listOfSpecies><species id="S" compartment="c" '
        'initialConcentration="1" hasOnlySubstanceUnits="false" boundaryCondition="false" constant="false"/>'
        f'</listOfSpecies><listOfParameters>{parameters}</listOfParameters></model></sbml>'
    )


@dataclass(frozen=True)
class Problems:
    """The problems the checks run on: ``small`` (two rates of a reaction chain, which fail under a small step limit),
    ``wide`` (50 parameters), ``quadratic`` (lin scale, an exact quadratic objective) and ``oscillator``."""

    small: Problem
    wide: Problem
    quadratic: Problem
    oscillator: Problem

    @classmethod
    def small_set(cls, folder: Path | None = None) -> Problems:
        """Built from SBML written into ``folder`` (a temporary one by default) and BioModels' repressilator
        (the copy installed packages ship, so no network)."""
        from biobench.models import load_model
        from biobench.models.offline import offline_copy
        from biobench.problem import build_problem
        from biobench.settings import ProblemSettings, TimeSettings

        folder = Path(folder or tempfile.mkdtemp(prefix="biobench-testing-"))
        written = {}
        for name, text in (("chain", chain_model_sbml()), ("decays50", decay_model_sbml(50)),
                           ("quadratic", quadratic_model_sbml(3))):
            written[name] = folder / f"{name}.xml"
            written[name].write_text(text)
        lin = ProblemSettings(scale="lin", bounds_factor=4, observables=["p0", "p1", "p2"],
                              time=TimeSettings(points=[0.0, 1.0]))
        return cls(small=build_problem(load_model(written["chain"]), ProblemSettings(time=TimeSettings(end=20, n=21))),
                   wide=build_problem(load_model(written["decays50"]), ProblemSettings(time=TimeSettings(end=10, n=5))),
                   quadratic=build_problem(load_model(written["quadratic"]), lin),
                   oscillator=build_problem(load_model(offline_copy("BIOMD0000000012").path,
                                                       model_id="BIOMD0000000012")))


Check = Callable[[str, dict, Problems], None]


def _plugin(registry, plugin):
    """A registered name, or the class itself (a plugin checked before it is registered)."""
    return registry.get(plugin) if isinstance(plugin, str) else plugin


# -- initializers --------------------------------------------------------------------------------------------

def _sample(name: str, options: dict, problem: Problem, n: int, seed: int) -> np.ndarray:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # sobol's power-of-two advice
        return _plugin(initializers, name)(**options).sample(problem, n, np.random.default_rng(seed))


def _inside(x: np.ndarray, problem: Problem) -> bool:
    return bool(np.all(x >= problem.lower) and np.all(x <= problem.upper))


def _fills_the_box(x: np.ndarray, problem: Problem) -> bool:
    """Every quarter of every axis is visited."""
    unit = (x - problem.lower) / (problem.upper - problem.lower)
    return all(set(np.floor(unit[:, j] * 4).astype(int)) == {0, 1, 2, 3} for j in range(problem.n_parameters))


def shape_and_bounds(name: str, options: dict, problems: Problems) -> None:
    x = _sample(name, options, problems.small, 16, 0)
    assert x.shape == (16, problems.small.n_parameters) and _inside(x, problems.small)


def same_seed_same_points(name: str, options: dict, problems: Problems) -> None:
    np.testing.assert_array_equal(_sample(name, options, problems.small, 9, 4), _sample(name, options, problems.small, 9, 4))


def different_seeds_differ(name: str, options: dict, problems: Problems) -> None:
    assert not np.array_equal(_sample(name, options, problems.small, 9, 4), _sample(name, options, problems.small, 9, 5))


def a_single_start(name: str, options: dict, problems: Problems) -> None:
    x = _sample(name, options, problems.small, 1, 0)
    assert x.shape == (1, problems.small.n_parameters) and _inside(x, problems.small)


def many_more_starts_than_dimensions(name: str, options: dict, problems: Problems) -> None:
    """1000 distinct points inside the bounds; a space-filling design (``space_filling``) visits the whole box."""
    x = _sample(name, options, problems.small, 1000, 1)
    assert x.shape == (1000, problems.small.n_parameters) and len(np.unique(x, axis=0)) == 1000
    assert _inside(x, problems.small)
    if _plugin(initializers, name).space_filling:
        assert _fills_the_box(x, problems.small)


def bounds_that_exclude_the_unit_cube(name: str, options: dict, problems: Problems) -> None:
    """Points computed in [0, 1] and never mapped onto the bounds pass any box containing [0, 1]; not this one."""
    small = problems.small
    shifted = dataclasses.replace(small, lower=small.lower + 3, upper=small.upper + 3, nominal=small.nominal * 1e3,
                                  key=small.key + "-shifted")
    x = _sample(name, options, shifted, 200, 3)
    assert _inside(x, shifted)
    assert np.mean((x == shifted.lower) | (x == shifted.upper)) < 0.5  # not clipped onto the bounds
    if _plugin(initializers, name).space_filling:
        assert _fills_the_box(x, shifted)


def fifty_dimensions(name: str, options: dict, problems: Problems) -> None:
    x = _sample(name, options, problems.wide, 64, 2)
    assert x.shape == (64, 50) and _inside(x, problems.wide) and np.isfinite(x).all()


@contextmanager
def counted_simulations() -> Iterator[list[int]]:
    """Every simulation any roadrunner simulator of this process runs, counted (observed, not changed)."""
    count = [0]
    simulate = Simulator.simulate

    def counting(self, x_natural):
        count[0] += 1
        return simulate(self, x_natural)

    Simulator.simulate = counting
    try:
        yield count
    finally:
        Simulator.simulate = simulate


class _NoStore:
    """A store of earlier evaluations with none in it, and a folder for what a learning initializer saves."""

    def __init__(self) -> None:
        self.artifacts_dir = Path(tempfile.mkdtemp(prefix="biobench-testing-artifacts-"))

    def evaluated_points(self, problem_key: str) -> tuple[np.ndarray, np.ndarray]:
        return np.empty((0, 0)), np.empty(0)


def a_design_charges_every_simulation(name: str, options: dict, problems: Problems) -> None:
    """What ``generate`` simulates is what it reports as pilot evaluations (charged to the starts); spares drawn
    afterwards (``for_spares``) reuse the trained model instead of simulating and training again."""
    store = _NoStore()
    with warnings.catch_warnings(), counted_simulations() as count:
        warnings.simplefilter("ignore", UserWarning)
        initializer = _plugin(initializers, name)(**options)
        design = initializer.generate(problems.small, 8, np.random.default_rng(0), store)
        simulated = count[0]
        spares = initializer.for_spares().generate(problems.small, 10, np.random.default_rng(1), store)
    assert simulated == design.pilot_evals, f"{simulated} simulations, {design.pilot_evals} charged"
    assert design.points.shape == (8, problems.small.n_parameters) and _inside(design.points, problems.small)
    assert count[0] == simulated and spares.points.shape == (10, problems.small.n_parameters), \
        "drawing spares simulated again"


INITIALIZER_CHECKS: list[Check] = [shape_and_bounds, same_seed_same_points, different_seeds_differ, a_single_start,
                                   many_more_starts_than_dimensions, bounds_that_exclude_the_unit_cube,
                                   fifty_dimensions, a_design_charges_every_simulation]


# -- optimizers ----------------------------------------------------------------------------------------------

def _run(name: str, options: dict, problem: Problem, budget: int, seed: int = 0, objective: Objective | None = None):
    opt = _plugin(optimizers, name)(**options)
    design = initializers.get("lhs")().sample(problem, opt.n_start_points(), np.random.default_rng(seed))
    x0 = design if opt.n_start_points() > 1 else design[0]
    objective = objective or Objective(Likelihood(problem), budget=budget)
    return opt.minimize(objective, x0, np.random.default_rng(seed + 1)), objective


def never_exceeds_the_budget(name: str, options: dict, problems: Problems) -> None:
    for budget in (1, 9, 40):
        result, objective = _run(name, options, problems.small, budget)
        assert result.n_evals <= budget and objective.n_evals <= budget
        assert result.status != Status.ERROR, result.message


def every_simulation_is_charged(name: str, options: dict, problems: Problems) -> None:
    """Count what roadrunner is asked to do, not what the objective counted: an optimizer that takes finite-
    difference probes (or anything else) from the uncounted likelihood simulates more than it is charged for.
    A repeated point is free (the objective's memo), so simulations <= n_evals."""
    with counted_simulations() as count:
        _, objective = _run(name, options, problems.small, 60)
    assert 0 < count[0] <= objective.n_evals <= 60


def respects_bounds(name: str, options: dict, problems: Problems) -> None:
    small = problems.small
    objective = Objective(Likelihood(small), budget=40)
    result, _ = _run(name, options, small, 40, objective=objective)
    points = np.array([x for x, _ in objective.history])  # every point simulated
    assert len(points) and np.all(points >= small.lower - 1e-12) and np.all(points <= small.upper + 1e-12)
    assert _inside(result.x_best, small)


def deterministic_under_a_seed(name: str, options: dict, problems: Problems) -> None:
    """Only the seed decides: numpy's global state (which libraries fall back to) is moved between runs."""
    np.random.seed(1)
    a, _ = _run(name, options, problems.small, 30, seed=3)
    np.random.seed(2)
    b, _ = _run(name, options, problems.small, 30, seed=3)
    assert a.fval_best == b.fval_best and a.n_evals == b.n_evals
    np.testing.assert_array_equal(a.x_best, b.x_best)


def survives_failed_simulations(name: str, options: dict, problems: Problems) -> None:
    objective = Objective(Likelihood(problems.small), budget=30)
    objective.simulator.rr.getIntegrator().setValue("maximum_num_steps", 60)  # fast rates now fail
    objective.simulator.retry_non_stiff = False  # Adams would finish them (IntegratorSettings.retry_non_stiff)
    result, _ = _run(name, options, problems.small, 30, objective=objective)
    assert objective.n_failures > 0, "the check needs some failed simulations"
    assert result.status != Status.ERROR, result.message
    assert result.n_evals <= 30


def improves_on_a_quadratic(name: str, options: dict, problems: Problems) -> None:
    quadratic = problems.quadratic
    result, _ = _run(name, options, quadratic, 150)
    f_opt = Objective(Likelihood(quadratic)).fval(quadratic.x_true)
    assert result.fval_best < result.fval0
    assert result.fval_best < f_opt + 0.5 * (result.fval0 - f_opt)


def improves_on_an_oscillator(name: str, options: dict, problems: Problems) -> None:
    result, _ = _run(name, options, problems.oscillator, 60)
    assert result.fval_best < result.fval0 and result.n_evals <= 60


OPTIMIZER_CHECKS: list[Check] = [never_exceeds_the_budget, every_simulation_is_charged, respects_bounds,
                                 deterministic_under_a_seed, survives_failed_simulations, improves_on_a_quadratic,
                                 improves_on_an_oscillator]


def _check_all(checks: list[Check], name: str, options: dict | None, problems: Problems) -> None:
    for check in checks:
        try:
            check(name, dict(options or {}), problems)
        except AssertionError as exc:
            shown = name if isinstance(name, str) else name.__name__
            raise AssertionError(f"{shown}: {check.__name__}: {exc}") from exc


def check_initializer(name, options: dict | None = None, problems: Problems | None = None) -> None:
    """Every initializer check on ``name`` (registered, or the class) with ``options``; ``AssertionError`` names
    the first that fails."""
    _check_all(INITIALIZER_CHECKS, name, options, problems or Problems.small_set())


def check_optimizer(name, options: dict | None = None, problems: Problems | None = None) -> None:
    """Every optimizer check on ``name`` (registered, or the class) with ``options``; ``AssertionError`` names the
    first that fails."""
    _check_all(OPTIMIZER_CHECKS, name, options, problems or Problems.small_set())
