"""The documentation builds with mkdocs --strict: a broken link or a page missing from the navigation fails."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_the_documentation_builds_strictly(tmp_path):
    pytest.importorskip("material", reason="the docs need mkdocs-material (pip install -e '.[docs]')")
    built = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "-f", str(ROOT / "mkdocs.yml"),
                            "-d", str(tmp_path / "site")], capture_output=True, text=True, cwd=ROOT,
                           env=os.environ | {"NO_MKDOCS_2_WARNING": "1"})
    assert built.returncode == 0, built.stderr[-3000:]
    pages = {path.stem for path in (ROOT / "docs").glob("*.md")}
    assert {path.parent.name for path in (tmp_path / "site").glob("*/index.html")} == pages - {"index"}
