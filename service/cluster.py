"""The embedded PostGIS cluster: the service's own PostgreSQL, started from the machine's binaries.

With no ``DATABASE_URL`` the service keeps its data in ``<home>/pgdata`` and talks to it over a
Unix socket only (no TCP port is opened). PostgreSQL refuses to run as root, so when root starts
it the server processes run as the ``postgres`` system user and the home must be somewhere that
user can reach (never under ``/root``).
"""

from __future__ import annotations

import hashlib
import os
import pwd
import re
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import psycopg
from psycopg import sql

from geo.grid import GRID_NAME, grid_file

DB_USER = "walktalk"
DB_NAME = "walktalk"
PORT = 5432
# sockaddr_un.sun_path is 108 bytes including the terminating NUL.
_SOCKET_PATH_LIMIT = 107
# Where the machine's PROJ keeps proj.db (Debian's proj-data, then a source build). PROJ_DATA
# replaces PROJ's built-in search path, so the server's must name this folder before the grid's.
_SYSTEM_PROJ_DIRS = (Path("/usr/share/proj"), Path("/usr/local/share/proj"))


class ClusterError(RuntimeError):
    """The embedded cluster cannot be set up or started; the message says what to do."""


def _version_key(path: Path) -> tuple[int, ...]:
    return tuple(int(p) for p in re.findall(r"\d+", path.parent.parent.name) or ["0"])


def find_bindir() -> Path:
    """Find PostgreSQL's server binaries (``initdb``, ``pg_ctl``), newest version first.

    ``WALKTALK_PG_BINDIR`` overrides the search.
    """
    override = os.environ.get("WALKTALK_PG_BINDIR")
    if override:
        return Path(override)
    candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"), key=_version_key)
    if candidates:
        return candidates[-1].parent
    on_path = shutil.which("pg_ctl")
    if on_path:
        return Path(on_path).parent
    raise ClusterError(
        "PostgreSQL server binaries (initdb, pg_ctl) were not found. Install them with "
        "`sudo apt-get install postgresql postgis` (or `make demo` as root), or set "
        "WALKTALK_PG_BINDIR to their folder."
    )


def server_major_version(bindir: Path) -> str:
    """The major version of the server in ``bindir`` (e.g. ``"15"``)."""
    out = subprocess.run(
        [str(bindir / "pg_ctl"), "--version"], capture_output=True, text=True, check=True
    ).stdout
    match = re.search(r"(\d+)(?:\.\d+)?", out)
    if not match:
        raise ClusterError(f"cannot tell the PostgreSQL version from {out!r}")
    return match.group(1)


def postgis_install_hint(bindir: Path) -> str:
    """The command that installs PostGIS for the server in ``bindir``."""
    return f"sudo apt-get install postgresql-{server_major_version(bindir)}-postgis-3"


@dataclass(frozen=True)
class ClusterStatus:
    """What ``walktalk db status`` reports."""

    initialised: bool
    running: bool
    pid: int | None
    data_dir: Path
    socket_dir: Path


@dataclass(frozen=True)
class Cluster:
    """A private PostgreSQL cluster under ``home``.

    ``server_options`` are extra ``-c name=value`` settings; tests pass durability-off ones.
    """

    home: Path
    server_options: tuple[str, ...] = field(default=())

    @property
    def data_dir(self) -> Path:
        """The cluster's data folder."""
        return self.home / "pgdata"

    @property
    def log_file(self) -> Path:
        """Where the server writes its log."""
        return self.home / "postgres.log"

    @property
    def socket_dir(self) -> Path:
        """The socket folder: under home, or a short folder in /tmp when home's path is too long."""
        preferred = self.home / "run"
        if len(f"{preferred}/.s.PGSQL.{PORT}".encode()) <= _SOCKET_PATH_LIMIT:
            return preferred
        digest = hashlib.sha256(str(self.home).encode()).hexdigest()[:16]
        return Path(tempfile.gettempdir()) / f"walktalk-{digest}"

    def url(self, dbname: str = DB_NAME) -> str:
        """A libpq URL (``postgresql://…``) that ``psql`` and psycopg accept."""
        host = quote(str(self.socket_dir), safe="/")
        return f"postgresql://{DB_USER}@/{dbname}?host={host}&port={PORT}"

    # -- running PostgreSQL's own tools -------------------------------------------------------

    def _as_server_user(self, argv: list[str]) -> list[str]:
        if os.geteuid() != 0:
            return argv
        return ["runuser", "-u", "postgres", "--", *argv]

    def _run(self, argv: list[str], what: str, env: dict[str, str] | None = None) -> str:
        proc = subprocess.run(self._as_server_user(argv), capture_output=True, text=True, env=env)
        if proc.returncode != 0:
            log_tail = ""
            if self.log_file.exists():
                log_tail = "\n".join(self.log_file.read_text(errors="replace").splitlines()[-15:])
            raise ClusterError(
                f"{what} failed (exit {proc.returncode}):\n{proc.stdout}{proc.stderr}"
                + (f"\nlast lines of {self.log_file}:\n{log_tail}" if log_tail else "")
            )
        return proc.stdout

    def _prepare_dirs(self) -> None:
        self.home.mkdir(parents=True, exist_ok=True)
        for folder in (self.data_dir, self.socket_dir):
            folder.mkdir(parents=True, exist_ok=True)
            folder.chmod(0o700)
        self.log_file.touch(exist_ok=True)
        if os.geteuid() == 0:
            if _is_under(self.home, Path("/root")):
                raise ClusterError(
                    f"WALKTALK_HOME={self.home} is under /root, which the postgres user cannot "
                    "reach; use the default (/var/lib/walktalk) or another folder"
                )
            server = pwd.getpwnam("postgres")
            self.home.chmod(self.home.stat().st_mode | 0o755)
            for path in (self.data_dir, self.socket_dir, self.log_file):
                os.chown(path, server.pw_uid, server.pw_gid)

    @property
    def proj_dir(self) -> Path:
        """The folder of PROJ grids the server reads: the OSTN15 grid, copied at each start."""
        return self.home / "proj"

    def _server_environment(self) -> dict[str, str]:
        """The server's environment, with PROJ_DATA naming a copy of the OSTN15 grid.

        PostGIS's ST_Transform between EPSG:4326 and 27700 then uses OSTN15, as geo.grid does;
        without the grid the server's PROJ falls back to a Helmert transformation 2-5 m off.
        The copy lives in the cluster's home, which the server's user can always read.
        """
        env = dict(os.environ)
        source = grid_file()
        system = next((d for d in _SYSTEM_PROJ_DIRS if (d / "proj.db").exists()), None)
        if not source.exists() or system is None:
            return env  # /healthz then says the database does not use OSTN15, and why
        self.proj_dir.mkdir(parents=True, exist_ok=True)
        self.proj_dir.chmod(0o755)
        # Copied afresh at every start (the server is not running yet), so a rebuilt grid is
        # what the server reads; staged and renamed, so it never reads half a file.
        staged = self.proj_dir / f".{GRID_NAME}.new"
        shutil.copyfile(source, staged)
        staged.chmod(0o644)
        staged.replace(self.proj_dir / GRID_NAME)
        # PROJ before 9.1 reads PROJ_LIB; 9.1 and later PROJ_DATA.
        search = os.pathsep.join([str(system), str(self.proj_dir)])
        env["PROJ_DATA"] = env["PROJ_LIB"] = search
        return env

    # -- state ----------------------------------------------------------------------------------

    def _recorded_pid(self) -> int | None:
        pid_file = self.data_dir / "postmaster.pid"
        try:
            first = pid_file.read_text().splitlines()[0]
            return int(first)
        except (FileNotFoundError, IndexError, ValueError):
            return None

    def _is_our_postmaster(self, pid: int) -> bool:
        # pg_ctl trusts any live process with the recorded pid; after a crash and a reboot that
        # pid may belong to something else, so check it really serves this data folder.
        try:
            cwd = os.readlink(f"/proc/{pid}/cwd")
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            return False
        return b"postgres" in cmdline and Path(cwd).resolve() == self.data_dir.resolve()

    def status(self) -> ClusterStatus:
        """Whether the cluster exists and runs."""
        pid = self._recorded_pid()
        running = pid is not None and self._is_our_postmaster(pid)
        return ClusterStatus(
            initialised=(self.data_dir / "PG_VERSION").exists(),
            running=running,
            pid=pid if running else None,
            data_dir=self.data_dir,
            socket_dir=self.socket_dir,
        )

    def _clear_stale_lock(self) -> bool:
        pid = self._recorded_pid()
        if pid is None or self._is_our_postmaster(pid):
            return False
        (self.data_dir / "postmaster.pid").unlink(missing_ok=True)
        for leftover in self.socket_dir.glob(f".s.PGSQL.{PORT}*"):
            leftover.unlink(missing_ok=True)
        return True

    # -- commands -------------------------------------------------------------------------------

    def up(self) -> list[str]:
        """Initialise (first time) and start the cluster; harmless when it already runs.

        Returns the lines to show the person who asked.
        """
        said: list[str] = []
        bindir = find_bindir()
        self._prepare_dirs()
        if not (self.data_dir / "PG_VERSION").exists():
            self._run(
                [
                    str(bindir / "initdb"),
                    "-D",
                    str(self.data_dir),
                    "-U",
                    DB_USER,
                    "--auth=trust",  # only the socket exists, and only its owner can open it
                    "-E",
                    "UTF8",
                    "--locale=C",
                ],
                "initdb",
            )
            said.append(f"created a PostgreSQL cluster in {self.data_dir}")
        if self.status().running:
            said.append(f"PostgreSQL already running (pid {self.status().pid})")
        else:
            if self._clear_stale_lock():
                said.append("removed a stale postmaster.pid left by a crash")
            options = [
                "-c listen_addresses=''",
                f"-c port={PORT}",
                f"-c unix_socket_directories='{self.socket_dir}'",
                "-c unix_socket_permissions=0700",
                *(f"-c {opt}" for opt in self.server_options),
            ]
            self._run(
                [
                    str(bindir / "pg_ctl"),
                    "-D",
                    str(self.data_dir),
                    "-l",
                    str(self.log_file),
                    "-w",
                    "-t",
                    "60",
                    "-o",
                    " ".join(options),
                    "start",
                ],
                "pg_ctl start",
                env=self._server_environment(),
            )
            said.append(f"PostgreSQL started (socket in {self.socket_dir})")
        self.ensure_database(DB_NAME)
        return said

    def down(self) -> list[str]:
        """Stop the cluster if it runs."""
        if not self.status().running:
            return ["PostgreSQL is not running"]
        bindir = find_bindir()
        self._run(
            [str(bindir / "pg_ctl"), "-D", str(self.data_dir), "-m", "fast", "-w", "stop"],
            "pg_ctl stop",
        )
        return ["PostgreSQL stopped"]

    def ensure_database(self, dbname: str) -> None:
        """Create ``dbname`` with PostGIS enabled unless it exists."""
        with psycopg.connect(self.url("postgres"), autocommit=True) as conn:
            exists = conn.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", (dbname,)
            ).fetchone()
            if not exists:
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(dbname)))
        ensure_postgis(self.url(dbname))

    def wait_stopped(self, timeout: float = 30.0) -> None:
        """Wait until no process of this cluster remains (after a kill in tests)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not any(self._is_our_postmaster(p) for p in _all_pids()):
                return
            time.sleep(0.1)
        raise ClusterError(f"PostgreSQL in {self.data_dir} did not stop within {timeout}s")


def ensure_postgis(url: str) -> str:
    """Make sure the PostGIS extension exists in the database at ``url``; return its version.

    Creates it when the role may; otherwise raises ``ClusterError`` saying what to run.
    """
    libpq_url = url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(libpq_url, autocommit=True) as conn:
        row = conn.execute(
            "SELECT extversion FROM pg_extension WHERE extname = 'postgis'"
        ).fetchone()
        if row:
            return str(row[0])
        try:
            conn.execute("CREATE EXTENSION postgis")
        except psycopg.errors.InsufficientPrivilege as exc:
            dbname = conn.info.dbname
            raise ClusterError(
                f"PostGIS is not enabled in database {dbname!r} and role {conn.info.user!r} may "
                f"not enable it: ask the database owner to run `CREATE EXTENSION postgis;` in "
                f"{dbname!r} (psql \"{libpq_url}\" -c 'CREATE EXTENSION postgis')"
            ) from exc
        except (psycopg.errors.FeatureNotSupported, psycopg.errors.UndefinedFile) as exc:
            raise ClusterError(
                "PostGIS is not installed on this PostgreSQL server: install it with "
                f"`{_postgis_hint_for(conn)}`, then run the command again"
            ) from exc
        version = conn.execute("SELECT extversion FROM pg_extension WHERE extname='postgis'")
        fetched = version.fetchone()
        return str(fetched[0]) if fetched else "unknown"


def _postgis_hint_for(conn: psycopg.Connection) -> str:
    major = conn.info.server_version // 10000
    return f"sudo apt-get install postgresql-{major}-postgis-3"


def _is_under(path: Path, parent: Path) -> bool:
    try:
        path.resolve().relative_to(parent)
    except ValueError:
        return False
    return True


def _all_pids() -> list[int]:
    return [int(p.name) for p in Path("/proc").iterdir() if p.name.isdigit()]
