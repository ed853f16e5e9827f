"""Atomic file writes: a reader sees the old file or the new one, never half of one.

The one place biobench writes files that others read (models, cache metadata,
trained networks, MCMC samples, exports, reports).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO


def _read_umask() -> int:
    mask = os.umask(0o022)  # the only way to read it is to set it; restored at once
    os.umask(mask)
    return mask


_UMASK = _read_umask()  # read once, at import: no other thread exists yet to race with


def permissions(directory: bool = False) -> int:
    """The mode a plain ``open`` or ``mkdir`` would give under the user's umask (tempfile's are owner-only)."""
    return (0o777 if directory else 0o666) & ~_UMASK


def atomic_write(path: str | os.PathLike, write: Callable[[BinaryIO], object]) -> None:
    """Let ``write`` fill a temporary file in the same folder, fsync it, then rename it over ``path``.

    ``write`` gets a binary file handle (pandas' ``to_csv``/``to_parquet`` and numpy's
    ``savez`` accept one); if it raises, ``path`` is left as it was. The file gets the user's
    umask permissions, as any other tool's output would, not tempfile's owner-only 0600.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, permissions())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    atomic_write(path, lambda handle: handle.write(data))


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))
