"""Reading SBML: validation errors, custom files, parameter classification."""

from __future__ import annotations

import pytest

from biobench.errors import InvalidModelIdError, ModelError, NotSbmlError
from biobench.models import load_model, resolve_model
from biobench.models.sbml import check_sbml_bytes
from tests.conftest import DATA


def test_broken_file_gives_one_clear_error_naming_file_and_libsbml_message():
    with pytest.raises(ModelError) as info:
        load_model(DATA / "broken.xml")
    message = str(info.value)
    assert "broken.xml" in message and "not valid SBML" in message
    assert "references species 'Nowhere', which is undefined" in message


def test_errors_of_drawing_packages_do_not_refuse_a_model(tmp_path):
    """BIOMD0000000463 declares the render package without render:required: an error about how the model is
    drawn, not about what it simulates (roadrunner simulates it). Real errors still refuse (test above)."""
    text = (DATA / "two_step.xml").read_text().replace(
        'level="3" version="1">',
        'level="3" version="1" xmlns:render="http://www.sbml.org/sbml/level3/version1/render/version1">', 1)
    path = tmp_path / "drawn.xml"
    path.write_text(text)
    assert load_model(path).species == ("A", "B", "C")


def test_non_xml_file_is_refused(tmp_path):
    path = tmp_path / "notes.xml"
    path.write_text("these are my notes, not a model")
    with pytest.raises(ModelError, match="notes.xml is not valid SBML"):
        load_model(path)


def test_missing_file_is_reported(tmp_path):
    with pytest.raises(ModelError, match="no such file"):
        resolve_model(str(tmp_path / "absent.xml"))


def test_unsimulatable_model_is_reported_not_crashed_on(tmp_path):
    text = (DATA / "two_step.xml").read_text().replace(
        "<listOfRules>", "<listOfRules><algebraicRule><math xmlns=\"http://www.w3.org/1998/Math/MathML\">"
        "<apply><minus/><ci>A</ci><ci>B</ci></apply></math></algebraicRule>"
    )
    path = tmp_path / "algebraic.xml"
    path.write_text(text)
    with pytest.raises(ModelError, match="(libroadrunner cannot simulate|not valid SBML)"):
        load_model(path)


def test_custom_sbml_file_loads_with_local_parameters_promoted(two_step_model):
    assert two_step_model.model_id == "two_step"
    assert two_step_model.species == ("A", "B", "C")
    by_id = {p.id: p for p in two_step_model.parameters}
    assert by_id["R2_k2"].estimable and by_id["R2_k2"].value == 0.2  # promoted from reaction R2
    assert by_id["k1"].estimable
    assert by_id["zero"].excluded_because.startswith("zero")
    assert by_id["doubled"].excluded_because == "not constant"
    assert [p.id for p in two_step_model.estimable_parameters] == ["k1", "R2_k2"]


def test_custom_path_resolves_like_an_id():
    assert resolve_model(str(DATA / "two_step.xml")).model_id == "two_step"


def test_rule_targets_are_not_estimable():
    model = resolve_model("BIOMD0000000012")
    by_id = {p.id: p for p in model.parameters}
    assert not by_id["alpha"].estimable
    assert {p.id for p in model.estimable_parameters} == {"eff", "n", "KM", "tau_mRNA", "tau_prot", "ps_a", "ps_0"}


def test_resolve_rejects_what_is_neither_id_nor_path():
    with pytest.raises(InvalidModelIdError, match="neither a BioModels ID"):
        resolve_model("repressilator")


@pytest.mark.parametrize("body", [b"", b"<html><body>x</body></html>", b"[1, 2]", b"\x00\x01\x02", b"<sbml>"])
def test_sniffer_refuses_non_sbml(body):
    with pytest.raises(NotSbmlError):
        check_sbml_bytes(body, "test")


def _initial_assignment_model(tmp_path):
    """A -> B at rate kA * A, where kA = 2 * k is an initial assignment (a COPASI export's habit),
    and kS = A reads a species (its value is fixed at t = 0, so it must stay an initial assignment)."""
    text = (DATA / "two_step.xml").read_text().replace(
        '<parameter id="zero" value="0" constant="true"/>',
        '<parameter id="zero" value="0" constant="true"/><parameter id="kA" value="99" constant="true"/>'
        '<parameter id="kS" value="99" constant="true"/>',
    ).replace(
        "<listOfRules>",
        '<listOfInitialAssignments><initialAssignment symbol="kA"><math xmlns="http://www.w3.org/1998/Math/MathML">'
        "<apply><times/><cn> 2 </cn><ci> k1 </ci></apply></math></initialAssignment>"
        '<initialAssignment symbol="kS"><math xmlns="http://www.w3.org/1998/Math/MathML"><ci> A </ci></math>'
        "</initialAssignment></listOfInitialAssignments><listOfRules>",
    ).replace("<ci>cell</ci><ci>k1</ci>", "<ci>cell</ci><ci>kA</ci>")
    path = tmp_path / "initial_assignment.xml"
    path.write_text(text)
    return path


def test_parameters_set_by_initial_assignments_follow_the_parameters_they_read(tmp_path):
    """Writing k1 before each run must reach kA = 2 k1 (Laske's k_syn_P bug: kA kept its load-time value)."""
    import libsbml
    import numpy as np

    from biobench.likelihood import Likelihood
    from biobench.models.sbml import initial_assignments_to_rules
    from biobench.problem import build_problem
    from biobench.settings import ProblemSettings, TimeSettings

    path = _initial_assignment_model(tmp_path)
    doc = libsbml.readSBMLFromString(path.read_text())
    assert initial_assignments_to_rules(doc) == ["kA"]  # kS reads a species: left alone
    assert doc.getModel().getInitialAssignment("kS") is not None

    model = load_model(path)
    assert {p.id for p in model.estimable_parameters} == {"k1", "R2_k2"}  # kA and kS are not estimated
    problem = build_problem(model, ProblemSettings(time=TimeSettings(points=[0.0, 1.0])))
    likelihood = Likelihood(problem)
    k1 = problem.parameter_ids.index("k1")
    column = problem.observables.index("A")
    for value in (0.5, 1.3):
        natural = problem.nominal.copy()
        natural[k1] = value
        y, _ = likelihood.predict(natural)
        a_at_1 = problem.experiments.grid(y)[1, column]
        assert a_at_1 == pytest.approx(10 * np.exp(-2 * value), rel=1e-6)
