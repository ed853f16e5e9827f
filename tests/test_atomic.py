"""Files biobench writes: whole or not at all, with the permissions the user's umask gives."""

from __future__ import annotations

import os
import stat
import subprocess
import sys

import pytest

from biobench.atomic import atomic_write, atomic_write_text
from tests.conftest import DATA, REPO

WRITE_UNDER_UMASK = """
import sys
from biobench.atomic import atomic_write_text
from biobench.models import load_model
from biobench.petab.exporter import export_problem
from biobench.problem import build_problem
from biobench.settings import ProblemSettings, TimeSettings
atomic_write_text(sys.argv[1] + "/note.txt", "x")
problem = build_problem(load_model(sys.argv[2]), ProblemSettings(time=TimeSettings(end=5, n=6)))
export_problem(problem, sys.argv[1] + "/exported")
"""


@pytest.mark.parametrize("umask", [0o022, 0o027], ids=["umask-022", "umask-027"])
def test_written_files_and_folders_follow_the_umask(tmp_path, umask):
    """tempfile makes 0600 files and 0700 folders; what biobench leaves behind must not be owner-only."""
    subprocess.run([sys.executable, "-c", WRITE_UNDER_UMASK, str(tmp_path), str(DATA / "two_step.xml")],
                   check=True, cwd=REPO, preexec_fn=lambda: os.umask(umask))
    assert stat.S_IMODE((tmp_path / "note.txt").stat().st_mode) == 0o666 & ~umask
    assert stat.S_IMODE((tmp_path / "exported").stat().st_mode) == 0o777 & ~umask
    for table in (tmp_path / "exported").iterdir():
        assert stat.S_IMODE(table.stat().st_mode) == 0o666 & ~umask


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path):
    target = tmp_path / "table.csv"
    atomic_write_text(target, "old")

    def fail(handle):
        handle.write(b"half")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        atomic_write(target, fail)
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["table.csv"]
