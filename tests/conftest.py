"""Shared fixtures: an isolated cache, the fake BioModels server, small problems."""

from __future__ import annotations

from pathlib import Path

import pytest

from biobench.models import load_model
from biobench.models.offline import offline_copy
from biobench.problem import build_problem
from biobench.settings import ProblemSettings, TimeSettings
from tests.fake_biomodels import FakeBioModels

DATA = Path(__file__).parent / "data"
REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def isolated_dirs(tmp_path, monkeypatch):
    """Every test gets its own model cache and results store; none touches the real network."""
    monkeypatch.setenv("BIOBENCH_CACHE_DIR", str(tmp_path / "models_cache"))
    monkeypatch.setenv("BIOBENCH_RESULTS", str(tmp_path / "results" / "store.sqlite"))
    monkeypatch.setenv("BIOBENCH_BIOMODELS_URL", "http://127.0.0.1:9/unreachable")  # discard port: refused
    return tmp_path


@pytest.fixture
def fake_biomodels(monkeypatch):
    with FakeBioModels() as server:
        monkeypatch.setenv("BIOBENCH_BIOMODELS_URL", server.url)
        yield server


@pytest.fixture(scope="session")
def two_step_model():
    return load_model(DATA / "two_step.xml")


@pytest.fixture(scope="session")
def two_step_problem(two_step_model):
    return build_problem(two_step_model, ProblemSettings(time=TimeSettings(end=20, n=21)))


@pytest.fixture(scope="session")
def repressilator_problem():
    return build_problem(load_model(offline_copy("BIOMD0000000012").path, model_id="BIOMD0000000012"))
