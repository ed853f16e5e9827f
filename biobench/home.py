"""Where biobench keeps what it writes: one home folder for results, the model cache and saved surrogates.

``$BIOBENCH_HOME`` names it; without it the current folder is the home (a project folder, as
for git). Under it: ``results/biobench.sqlite`` (and ``results/report``), ``models_cache/``
(BioModels files, compiled AMICI models) and ``surrogates/``. ``$BIOBENCH_RESULTS`` and
``$BIOBENCH_CACHE_DIR`` still move the store or the cache alone.
"""

from __future__ import annotations

import os
from pathlib import Path

HOME_ENV = "BIOBENCH_HOME"


def home() -> Path:
    """The home folder: ``$BIOBENCH_HOME``, else the current folder."""
    return Path(os.environ.get(HOME_ENV) or ".")


def under_home(relative: str) -> Path:
    """``relative`` inside the home folder (as given when the home is the current folder, so messages stay short)."""
    root = home()
    return Path(relative) if root == Path(".") else root / relative
