"""Export a synthetic problem as PEtab: petab's linter accepts it and importing it gives the same fval."""

from __future__ import annotations

import numpy as np
import pytest

from biobench.errors import ProblemError
from biobench.likelihood import Likelihood
from biobench.objective import Objective
from biobench.petab import load_petab_problem
from biobench.petab.exporter import export_problem
from biobench.petab.importer import lint_messages
from tests.conftest import DATA, PETAB_TWO_STEP
from tests.test_cli import invoke


@pytest.mark.parametrize("name", ["two_step_problem", "repressilator_problem"])
def test_export_lints_and_round_trips_to_the_same_fval(request, tmp_path, name):
    import petab.v1 as petab

    problem = request.getfixturevalue(name)
    yaml_path = export_problem(problem, tmp_path / "out")
    assert lint_messages(petab.Problem.from_yaml(str(yaml_path))) == []
    imported = load_petab_problem(yaml_path)
    assert imported.parameter_ids == problem.parameter_ids and imported.n_data == problem.n_data
    np.testing.assert_allclose(imported.lower, problem.lower, rtol=1e-12)
    rng = np.random.default_rng(0)
    original, again = Objective(Likelihood(problem)), Objective(Likelihood(imported))
    for x in [problem.x_true, *rng.uniform(problem.lower, problem.upper, (3, problem.n_parameters))]:
        assert again.fval(x) == pytest.approx(original.fval(x), rel=1e-9, abs=1e-9)
    assert [p.name for p in tmp_path.iterdir()] == ["out"]  # no staging folder left behind


def test_export_never_overwrites(tmp_path, two_step_problem):
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "notes.txt").write_text("mine")
    with pytest.raises(ProblemError, match="already exists"):
        export_problem(two_step_problem, tmp_path / "taken")
    assert (tmp_path / "taken" / "notes.txt").read_text() == "mine"


def test_export_command_then_run_the_exported_problem(tmp_path):
    out = tmp_path / "exported"
    result = invoke("export", "--model", str(DATA / "two_step.xml"), "--out", str(out))
    assert result.exit_code == 0, result.output
    assert "linter accepts" in result.output
    yaml_path = next(out.glob("*.yaml"))
    run = invoke("run", "--model", str(yaml_path), "--starts", "2", "--budget", "60",
                 "--results", str(tmp_path / "r.sqlite"))
    assert run.exit_code == 0, run.output


def test_exporting_a_petab_problem_is_refused(tmp_path):
    result = invoke("export", "--model", str(PETAB_TWO_STEP), "--out", str(tmp_path / "x"))
    assert result.exit_code != 0 and "names a PEtab problem" in result.output and not (tmp_path / "x").exists()
