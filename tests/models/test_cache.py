"""The model cache: verified entries only, recovery from corruption, offline copies."""

from __future__ import annotations

import json

import pytest

from biobench.errors import BioModelsUnreachableError
from biobench.models import fetch_model, resolve_model
from biobench.models.cache import ModelCache
from tests.fake_biomodels import REPRESSILATOR


def test_corrupted_cached_file_is_fetched_again_not_used(fake_biomodels):
    entry = fetch_model("BIOMD0000000012").entry
    entry.path.write_bytes(REPRESSILATOR.replace(b"Repressilator", b"Broken-ator"))
    assert ModelCache().get("BIOMD0000000012") is None
    fetched = fetch_model("BIOMD0000000012")
    assert fetched.how == "download"
    assert fetched.entry.path.read_bytes() == REPRESSILATOR


def test_entry_without_metadata_is_incomplete_and_refetched(fake_biomodels):
    entry = fetch_model("BIOMD0000000012").entry
    (entry.path.parent / "meta.json").unlink()
    assert fetch_model("BIOMD0000000012").how == "download"


def test_garbage_metadata_is_ignored(fake_biomodels):
    entry = fetch_model("BIOMD0000000012").entry
    (entry.path.parent / "meta.json").write_text("{not json")
    assert fetch_model("BIOMD0000000012").how == "download"
    assert json.loads((entry.path.parent / "meta.json").read_text())["sha256"]


def test_no_temporary_files_are_left_behind(fake_biomodels):
    folder = fetch_model("BIOMD0000000012").entry.path.parent
    assert sorted(p.name for p in folder.iterdir()) == ["BIOMD0000000012.xml", "meta.json"]


def test_offline_copy_serves_when_biomodels_is_unreachable():
    fetched = fetch_model("BIOMD12")  # BIOBENCH_BIOMODELS_URL points at a closed port
    assert fetched.how == "offline"
    assert fetched.entry.meta["offline"] is True
    assert fetched.entry.meta["source"].startswith("offline copy from sbmlutils")
    assert fetched.entry.meta["name"] == "Elowitz2000 - Repressilator"
    assert "offline copy" in fetched.describe()
    assert fetch_model("BIOMD12").how == "cache"


def test_offline_fallback_is_announced_when_resolving():
    messages = []
    model = resolve_model("BIOMD0000000012", notify=messages.append)
    assert model.model_id == "BIOMD0000000012"
    assert len(messages) == 1 and "offline copy" in messages[0]


def test_unreachable_without_offline_copy_says_so():
    with pytest.raises(BioModelsUnreachableError) as info:
        fetch_model("BIOMD0000000999")
    message = str(info.value)
    assert message.startswith("BIOMD0000000999 has no offline copy") and "could not be reached" in message
    assert "BIOMD0000000012" in message  # which IDs work offline


def test_refresh_replaces_an_offline_copy_when_online(fake_biomodels, monkeypatch):
    monkeypatch.setenv("BIOBENCH_BIOMODELS_URL", "http://127.0.0.1:9/unreachable")
    assert fetch_model("BIOMD12").how == "offline"
    monkeypatch.setenv("BIOBENCH_BIOMODELS_URL", fake_biomodels.url)
    fetched = fetch_model("BIOMD12", refresh=True)
    assert fetched.how == "download" and fetched.entry.meta["offline"] is False
