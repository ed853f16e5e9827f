"""A throw-away PostgreSQL server on 127.0.0.1 for tests (Debian's postgresql package).

initdb and pg_ctl run as the ``postgres`` user when the tests run as root (the server
refuses root). Nothing outside the temporary folder is touched.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import time
from pathlib import Path


def _binary(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return candidates[-1] if candidates else None


def available() -> bool:
    return _binary("initdb") is not None and _binary("pg_ctl") is not None


_START_ATTEMPTS = 4


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PostgresServer:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.data = folder / "data"
        self.port = _free_port()
        self.as_root = os.geteuid() == 0

    def _run(self, *args: str) -> None:
        command = list(args)
        if self.as_root:
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(command, check=True, capture_output=True, timeout=120)

    def start(self) -> str:
        self.folder.mkdir(parents=True, exist_ok=True)
        if self.as_root:
            shutil.chown(self.folder, "postgres", "postgres")
            os.chmod(self.folder, 0o755)
            for parent in self.folder.parents:  # postgres must be able to reach its folder
                if parent == Path("/"):
                    break
                os.chmod(parent, os.stat(parent).st_mode | 0o005)
        self._run(_binary("initdb"), "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8")
        for attempt in range(_START_ATTEMPTS):
            # The port was free when chosen; another test session may take it before the server binds it.
            # The data directory and the socket folder (-k) are this server's own, so only the port can clash.
            options = f"-h 127.0.0.1 -p {self.port} -k {self.folder}"
            try:
                self._run(_binary("pg_ctl"), "-D", str(self.data), "-o", options, "-l", str(self.folder / "log"),
                          "-w", "start")
                break
            except subprocess.CalledProcessError:
                if attempt == _START_ATTEMPTS - 1:
                    raise
                self.port = _free_port()
        url = f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"
        deadline = time.monotonic() + 30
        import sqlalchemy as sa

        while True:
            try:
                with sa.create_engine(url).connect() as conn:
                    conn.execute(sa.text("select 1"))
                return url
            except Exception:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)

    def stop(self) -> None:
        try:
            self._run(_binary("pg_ctl"), "-D", str(self.data), "-m", "immediate", "stop")
        except subprocess.CalledProcessError:
            pass
