"""Downloading from BioModels: the happy path and every way the service is known to fail."""

from __future__ import annotations

import hashlib
import json

import pytest

from biobench.errors import (
    BioModelsUnreachableError,
    FetchError,
    InvalidModelIdError,
    ModelNotFoundError,
    NotSbmlError,
)
from biobench.models import fetch_model, normalize_model_id
from biobench.models.biomodels import BioModelsClient
from biobench.models.cache import ModelCache
from tests.fake_biomodels import MAIN_FILE, REPRESSILATOR


def test_download_follows_redirect_and_url_encodes_the_filename(fake_biomodels):
    fetched = fetch_model("BIOMD0000000012")
    assert fetched.how == "download"
    assert fetched.entry.path.read_bytes() == REPRESSILATOR
    meta = fetched.entry.meta
    assert meta["sha256"] == hashlib.sha256(REPRESSILATOR).hexdigest()
    assert meta["size"] == len(REPRESSILATOR)
    assert meta["name"] == "Test entry BIOMD0000000012"
    assert meta["offline"] is False and meta["original_filename"] == MAIN_FILE
    assert "/biomodels/model/download/BIOMD0000000012?filename=BIOMD0000000012%20url.xml" in meta["source"]
    assert fake_biomodels.requests[0].startswith("/old/BIOMD0000000012?format=json")  # then redirected
    assert any(r.startswith("/biomodels/BIOMD0000000012") for r in fake_biomodels.requests)


def test_short_id_is_normalised(fake_biomodels):
    assert fetch_model("BIOMD12").entry.model_id == "BIOMD0000000012"
    assert normalize_model_id("biomd12") == "BIOMD0000000012"
    assert normalize_model_id("MODEL1234567890") == "MODEL1234567890"


def test_second_fetch_uses_the_cache(fake_biomodels):
    fetch_model("BIOMD0000000012")
    n = len(fake_biomodels.requests)
    assert fetch_model("BIOMD0000000012").how == "cache"
    assert len(fake_biomodels.requests) == n


def test_404_says_there_is_no_such_entry(fake_biomodels):
    with pytest.raises(ModelNotFoundError, match="no such BioModels entry"):
        fetch_model("BIOMD0000000404")


def test_500_then_success_is_retried(fake_biomodels):
    assert fetch_model("BIOMD0000000500").how == "download"
    assert fake_biomodels.hits["meta:BIOMD0000000500"] == 2


def test_429_is_retried_honouring_retry_after(fake_biomodels):
    assert fetch_model("BIOMD0000000429").how == "download"
    assert fake_biomodels.hits["meta:BIOMD0000000429"] == 2


def test_persistent_500_is_reported_as_unreachable(fake_biomodels):
    client = BioModelsClient(retries=2, backoff=0)
    with pytest.raises(BioModelsUnreachableError, match="HTTP 500"):
        fetch_model("BIOMD0000000503", client=client)
    assert fake_biomodels.hits["meta:BIOMD0000000503"] == 3


@pytest.mark.parametrize(
    "model_id, message",
    [
        ("BIOMD0000000200", "HTML page"),
        ("BIOMD0000000201", "truncated"),
        ("BIOMD0000000202", "JSON"),
        ("BIOMD0000000203", "binary content"),
        ("BIOMD0000000204", "cut off"),
    ],
)
def test_content_that_is_not_sbml_is_refused_and_not_cached(fake_biomodels, model_id, message):
    with pytest.raises(FetchError, match=message):
        fetch_model(model_id)
    assert ModelCache().get(model_id) is None
    assert not (ModelCache().root / model_id / "meta.json").exists()


@pytest.mark.parametrize("bad", ["BIOMD", "12", "BIOMD00000000012", "../../etc/passwd", "BIOMD12/../../x", "BIOMD0", ""])
def test_invalid_ids_are_rejected_before_any_request_or_path(fake_biomodels, bad, isolated_dirs):
    with pytest.raises(InvalidModelIdError, match="not a BioModels identifier"):
        fetch_model(bad)
    assert fake_biomodels.requests == []
    assert not (isolated_dirs / "models_cache").exists()


def test_not_sbml_error_is_a_fetch_error():
    assert issubclass(NotSbmlError, FetchError)


def test_metadata_without_main_file_is_a_clear_error(fake_biomodels):
    client = BioModelsClient()
    with pytest.raises(FetchError, match="no main file"):
        client.main_filename("BIOMD0000000012", json.loads('{"files": {"main": []}}'))
