"""From what the user typed (a BioModels ID or a path) to a validated ``Model``."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import libsbml

from biobench.errors import BioModelsUnreachableError, InvalidModelIdError
from biobench.models.biomodels import BioModelsClient
from biobench.models.cache import CacheEntry, ModelCache
from biobench.models.ids import looks_like_model_id, normalize_model_id
from biobench.models.model import Model, load_model
from biobench.models.offline import offline_copies, offline_copy

log = logging.getLogger(__name__)

SBML_SUFFIXES = (".xml", ".sbml")


@dataclass(frozen=True)
class Fetched:
    """A cache entry and how it got there: ``cache``, ``download`` or ``offline``."""

    entry: CacheEntry
    how: str

    def describe(self) -> str:
        meta = self.entry.meta
        if self.how == "cache":
            origin = "offline copy" if self.entry.offline else "BioModels"
            return f"{self.entry.model_id}: cached ({origin}) at {self.entry.path}"
        if self.how == "offline":
            return (
                f"{self.entry.model_id}: BioModels could not be reached; used the {meta['source']} "
                f"(cached at {self.entry.path})"
            )
        return f"{self.entry.model_id}: downloaded from {meta['source']} to {self.entry.path}"


def fetch_model(
    model_id: str,
    *,
    cache: ModelCache | None = None,
    client: BioModelsClient | None = None,
    refresh: bool = False,
) -> Fetched:
    """Return a verified cached copy, downloading it (or using an offline copy) when needed."""
    model_id = normalize_model_id(model_id)
    cache = cache or ModelCache()
    if not refresh:
        entry = cache.get(model_id)
        if entry is not None:
            return Fetched(entry, "cache")
    client = client or BioModelsClient()
    try:
        download = client.download(model_id)
    except BioModelsUnreachableError as exc:
        packaged = offline_copy(model_id)
        if packaged is None:
            copies = ", ".join(sorted(offline_copies())) or "none (sbmlutils is not installed)"
            raise BioModelsUnreachableError(
                f"{model_id} has no offline copy, and {exc} Offline copies exist for: {copies}."
            ) from None
        content = packaged.path.read_bytes()
        entry = cache.put(
            model_id,
            content,
            name=_sbml_model_name(content, model_id),
            source=f"offline copy from {packaged.package}",
            offline=True,
            offline_path=str(packaged.path),
        )
        return Fetched(entry, "offline")
    entry = cache.put(
        model_id,
        download.content,
        name=download.name,
        source=download.url,
        offline=False,
        original_filename=download.filename,
    )
    return Fetched(entry, "download")


def _sbml_model_name(content: bytes, fallback: str) -> str:
    model = libsbml.readSBMLFromString(content.decode("utf-8")).getModel()
    return (model.getName() or model.getId()) if model is not None else fallback


def is_path_spec(text: str) -> bool:
    """Whether what the user typed names a file (an SBML suffix, a path separator, an existing file), not an ID."""
    return Path(text).suffix.lower() in SBML_SUFFIXES or Path(text).exists() or "/" in text or "\\" in text


def resolve_model(spec: str | Path, *, cache: ModelCache | None = None, client: BioModelsClient | None = None,
                  notify=None) -> Model:
    """Load a model from a BioModels ID (fetched and cached) or from a local SBML path."""
    text = str(spec)
    if is_path_spec(text):
        return load_model(Path(text))
    if not looks_like_model_id(text):
        raise InvalidModelIdError(
            f"{text!r} is neither a BioModels ID (BIOMD0000000012, BIOMD12, MODEL...) nor an SBML file path."
        )
    fetched = fetch_model(text, cache=cache, client=client)
    if notify is not None and fetched.how != "cache":
        notify(fetched.describe())
    return load_model(fetched.entry.path, model_id=fetched.entry.model_id, source=fetched.entry.meta["source"])
