"""Genuine BioModels files that installed packages ship, used when BioModels is unreachable.

sbmlutils ships BIOMD0000000001-0004, 0012 and 0507 as package data. The files are
found by name, so a newer sbmlutils that moves them keeps working.
"""

from __future__ import annotations

import re
from functools import lru_cache
from dataclasses import dataclass
from importlib import metadata, resources
from pathlib import Path

from biobench.models.ids import normalize_model_id

_FILE = re.compile(r"^(BIOMD\d{10})(?:_[A-Za-z0-9]+)?\.xml$")
OFFLINE_PACKAGES = ("sbmlutils",)


@dataclass(frozen=True)
class OfflineCopy:
    path: Path
    package: str  # e.g. "sbmlutils 0.15.0"


@lru_cache(maxsize=1)
def offline_copies() -> dict[str, OfflineCopy]:
    """Map BioModels ID -> a packaged SBML file; the shortest path wins when several exist."""
    found: dict[str, OfflineCopy] = {}
    for package in OFFLINE_PACKAGES:
        try:
            root = Path(str(resources.files(package)))
            label = f"{package} {metadata.version(package)}"
        except (ModuleNotFoundError, metadata.PackageNotFoundError, TypeError):
            continue
        for path in sorted(root.rglob("BIOMD*.xml"), key=lambda p: (len(p.parts), str(p))):
            match = _FILE.match(path.name)
            if match and match.group(1) not in found:
                found[match.group(1)] = OfflineCopy(path, label)
    return found


def offline_copy(model_id: str) -> OfflineCopy | None:
    return offline_copies().get(normalize_model_id(model_id))
