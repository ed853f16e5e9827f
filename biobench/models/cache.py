"""The on-disk model cache: ``<root>/<ID>/<ID>.xml`` plus ``meta.json``.

The SBML file is written first and ``meta.json`` last, both atomically, so an entry
is complete exactly when its metadata exists and the file's sha256 matches it.
Anything else is treated as absent and fetched again.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from biobench.home import under_home
from biobench.atomic import atomic_write_bytes, atomic_write_text
from biobench.models.ids import normalize_model_id

CACHE_DIR_ENV = "BIOBENCH_CACHE_DIR"
DEFAULT_CACHE_DIR = "models_cache"


def default_cache_dir() -> Path:
    return Path(os.environ.get(CACHE_DIR_ENV) or under_home(DEFAULT_CACHE_DIR))


@dataclass(frozen=True)
class CacheEntry:
    model_id: str
    path: Path
    meta: dict

    @property
    def offline(self) -> bool:
        return bool(self.meta.get("offline"))


class ModelCache:
    """A folder of verified model files, one sub-folder per BioModels ID."""

    def __init__(self, root: Path | str | None = None) -> None:
        self.root = Path(root) if root is not None else default_cache_dir()

    def _folder(self, model_id: str) -> Path:
        return self.root / normalize_model_id(model_id)

    def get(self, model_id: str) -> CacheEntry | None:
        """The entry if it is complete and its file matches its recorded sha256, else None."""
        folder = self._folder(model_id)
        try:
            meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
            path = folder / meta["file"]
            data = path.read_bytes()
        except (OSError, ValueError, KeyError, TypeError):
            return None
        if path.parent != folder or hashlib.sha256(data).hexdigest() != meta.get("sha256"):
            return None
        return CacheEntry(normalize_model_id(model_id), path, meta)

    def put(self, model_id: str, content: bytes, *, name: str, source: str, offline: bool, **extra: object) -> CacheEntry:
        model_id = normalize_model_id(model_id)
        folder = self._folder(model_id)
        path = folder / f"{model_id}.xml"
        (folder / "meta.json").unlink(missing_ok=True)  # the entry is incomplete until meta is back
        atomic_write_bytes(path, content)
        meta = {
            "model_id": model_id,
            "name": name,
            "file": path.name,
            "source": source,
            "offline": offline,
            "sha256": hashlib.sha256(content).hexdigest(),
            "size": len(content),
            "retrieved_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            **extra,
        }
        atomic_write_text(folder / "meta.json", json.dumps(meta, indent=2) + "\n")
        return CacheEntry(model_id, path, meta)

    def entries(self) -> list[CacheEntry]:
        """All complete, verified entries, sorted by ID."""
        if not self.root.is_dir():
            return []
        found = []
        for folder in sorted(self.root.iterdir()):
            try:
                entry = self.get(folder.name)
            except Exception:  # folders that are not BioModels IDs are not ours
                continue
            if entry is not None:
                found.append(entry)
        return found


def cached_models(cache: ModelCache) -> list[dict]:
    """One row per cached model: ID, name, source, species and estimable parameters (None: unreadable file)."""
    from biobench.errors import ModelError
    from biobench.models.model import load_model  # compiles with roadrunner: only when listing

    rows = []
    for entry in cache.entries():
        try:
            model = load_model(entry.path, model_id=entry.model_id)
            species, estimable = len(model.species), len(model.estimable_parameters)
        except ModelError:
            species = estimable = None
        rows.append({"id": entry.model_id, "name": entry.meta.get("name", ""), "source": entry.meta.get("source", ""),
                     "species": species, "estimable_parameters": estimable})
    return rows
