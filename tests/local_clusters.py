"""Extra PostgreSQL clusters for the scale-out tests: a primary, its streaming replica, a TCP one.

The shared test cluster (conftest) is left alone: these tests stop and pause servers. Each
cluster here has its own folder, port and socket, runs as the ``postgres`` user when the
tests run as root (PostgreSQL refuses root), and is stopped by its test module's fixture.
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import psycopg

from service.cluster import DB_USER, find_bindir

# Durability is pointless for a throw-away cluster (as in conftest).
FAST = ("fsync=off", "synchronous_commit=off", "full_page_writes=off")


def free_port() -> int:
    """A TCP port nothing listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def as_server_user(argv: list[str]) -> list[str]:
    """``argv`` run as ``postgres`` when we are root, else as ourselves."""
    return ["runuser", "-u", "postgres", "--", *argv] if os.geteuid() == 0 else argv


def run(argv: list[str]) -> str:
    """Run a PostgreSQL tool; fail with its output."""
    proc = subprocess.run(as_server_user(argv), capture_output=True, text=True)
    assert proc.returncode == 0, f"{' '.join(argv)} failed:\n{proc.stdout}{proc.stderr}"
    return proc.stdout


@dataclass
class LocalCluster:
    """One cluster under ``home`` (a short folder in /tmp) on ``port``."""

    home: Path
    port: int

    @classmethod
    def new(cls, prefix: str) -> LocalCluster:
        """An empty home, reachable by the server's user, and a free port."""
        home = Path(tempfile.mkdtemp(prefix=prefix))
        home.chmod(0o755)
        return cls(home, free_port())

    @property
    def data_dir(self) -> Path:
        """The data folder."""
        return self.home / "pgdata"

    @property
    def socket_dir(self) -> Path:
        """The Unix socket folder."""
        return self.home / "run"

    def prepare(self) -> None:
        """Make the data and socket folders, owned by the server's user."""
        for folder in (self.data_dir, self.socket_dir):
            folder.mkdir(exist_ok=True)
            folder.chmod(0o700)
            if os.geteuid() == 0:
                server = pwd.getpwnam("postgres")
                os.chown(folder, server.pw_uid, server.pw_gid)

    def initdb(self) -> None:
        """A new cluster whose superuser is ``walktalk`` (trust on the socket only)."""
        self.prepare()
        run(
            [
                str(find_bindir() / "initdb"),
                "-D",
                str(self.data_dir),
                "-U",
                DB_USER,
                "--auth-local=trust",
                "--auth-host=scram-sha-256",
                "-E",
                "UTF8",
                "--locale=C",
            ]
        )

    def start(self, *options: str, listen: str = "") -> None:
        """Start the server (``listen``: TCP addresses; empty: the socket only)."""
        settings = [
            f"listen_addresses='{listen}'",
            f"port={self.port}",
            f"unix_socket_directories='{self.socket_dir}'",
            *FAST,
            *options,
        ]
        log = self.home / "postgres.log"
        log.touch()
        if os.geteuid() == 0:
            server = pwd.getpwnam("postgres")
            os.chown(log, server.pw_uid, server.pw_gid)
        run(
            [
                str(find_bindir() / "pg_ctl"),
                "-D",
                str(self.data_dir),
                "-l",
                str(log),
                "-w",
                "-t",
                "60",
                "-o",
                " ".join(f"-c {s}" for s in settings),
                "start",
            ]
        )

    def stop(self) -> None:
        """Stop the server if it runs, and remove its folder."""
        if (self.data_dir / "postmaster.pid").exists():
            subprocess.run(
                as_server_user(
                    [str(find_bindir() / "pg_ctl"), "-D", str(self.data_dir), "-m", "fast", "stop"]
                ),
                capture_output=True,
            )
        shutil.rmtree(self.home, ignore_errors=True)

    def url(self, dbname: str = "walktalk", *, driver: bool = False) -> str:
        """A socket URL for the superuser (``driver``: SQLAlchemy's psycopg form)."""
        scheme = "postgresql+psycopg" if driver else "postgresql"
        host = quote(str(self.socket_dir), safe="/")
        return f"{scheme}://{DB_USER}@/{dbname}?host={host}&port={self.port}"

    def sql(self, statement: str, *params: Any, dbname: str = "walktalk") -> Any:
        """Run one statement as the superuser; its first value (or None)."""
        with psycopg.connect(self.url(dbname), autocommit=True) as conn:
            cursor = conn.execute(statement, params or None)
            row = cursor.fetchone() if cursor.description else None
            return row[0] if row else None


def wait_until(check: Any, what: str, timeout: float = 30.0) -> None:
    """Poll ``check()`` until it is true; fail naming ``what``."""
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting until {what}"
        time.sleep(0.1)
