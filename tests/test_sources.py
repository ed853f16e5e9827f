"""From what the user typed to a problem: SBML files become synthetic problems, PEtab YAML is read as it is."""

from __future__ import annotations

from biobench.settings import IntegratorSettings, ProblemSettings
from biobench.sources import is_petab_spec, load_problem
from tests.conftest import DATA, PETAB_TWO_STEP


def test_a_petab_problem_is_named_by_its_yaml_file():
    assert is_petab_spec("dir/problem.yaml") and is_petab_spec("P.YML")
    assert not is_petab_spec("model.xml") and not is_petab_spec("BIOMD0000000012")


def test_an_sbml_file_becomes_a_synthetic_problem_with_the_settings_given():
    problem = load_problem(DATA / "two_step.xml", ProblemSettings(seed=3))
    assert problem.synthetic and problem.has_truth and problem.settings.seed == 3


def test_a_petab_problem_keeps_its_own_data_and_names_the_settings_that_do_not_apply():
    told = []
    settings = ProblemSettings(seed=3, integrator=IntegratorSettings(relative_tolerance=1e-7))
    problem = load_problem(PETAB_TWO_STEP, settings, notify=told.append)
    assert not problem.synthetic and problem.settings.integrator.relative_tolerance == 1e-7  # the integrator applies
    assert len(told) == 1 and "the problem settings seed do not apply" in told[0]
    quiet = []
    load_problem(PETAB_TWO_STEP, ProblemSettings(integrator=IntegratorSettings(relative_tolerance=1e-7)),
                 notify=quiet.append)
    assert quiet == []
