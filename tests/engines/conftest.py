"""One AMICI model cache for the whole test session: each model compiles once per run."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def amici_cache(tmp_path_factory):
    return tmp_path_factory.mktemp("amici_cache")


@pytest.fixture
def shared_cache(amici_cache, monkeypatch):
    """This test's model cache is the session's, so each model compiles once per run."""
    monkeypatch.setenv("BIOBENCH_CACHE_DIR", str(amici_cache))
    return amici_cache
