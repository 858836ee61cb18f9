"""Backups: the whole database to one file with ``pg_dump -Fc``, and back with ``pg_restore``.

A backup is PostgreSQL's own custom-format archive, so any PostgreSQL of the same or a newer
major version (with PostGIS and pgRouting installed) can read it. The tools come from the
same major version as the server (``/usr/lib/postgresql/<major>/bin``): an older ``pg_dump``
refuses a newer server.

A restore never leaves a database half replaced:

1. the archive is read through once (``pg_restore`` to a script), so a missing, truncated or
   corrupt file is refused before the database is touched;
2. a database holding data (any row outside ``alembic_version``) is replaced only when the
   caller says so (``replace=True``, the CLI's ``--replace``): the refusal lists its tables;
3. the old objects are dropped and the archive's loaded by ``psql`` in ONE transaction, so a
   failure part-way rolls everything back. Extensions (PostGIS, pgRouting) stay installed
   and the archive's ``CREATE EXTENSION IF NOT EXISTS`` finds them, so a role that is not a
   superuser (as a cloud database gives) can restore into a database its owner prepared.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from service.cluster import find_bindir
from service.errors import WalkTalkError


class BackupError(WalkTalkError):
    """A backup or restore cannot be done; the message says why and what to do."""

    status = 400
    title = "Backup refused"
    slug = "backup-refused"


@dataclass(frozen=True)
class BackupOutcome:
    """What ``backup`` wrote."""

    path: Path
    bytes: int
    database: str
    server_version: str
    revision: str | None
    rows: dict[str, int]


@dataclass(frozen=True)
class RestoreOutcome:
    """What ``restore`` replaced, and what the database holds afterwards."""

    database: str
    replaced: dict[str, int]
    rows: dict[str, int]
    revision: str | None


# -- the tools ------------------------------------------------------------------------------------


def _major(version_num: int) -> int:
    return version_num // 10000


def client_bindir(server_version_num: int) -> Path:
    """The folder of ``pg_dump``/``pg_restore``/``psql`` for a server of that version.

    The same major version when it is installed, else the oldest newer one (pg_dump reads
    older servers, never newer ones).
    """
    major = _major(server_version_num)
    installed = {
        int(m.group(1)): path.parent
        for path in Path("/usr/lib/postgresql").glob("*/bin/pg_dump")
        if (m := re.fullmatch(r"(\d+)", path.parent.parent.name))
    }
    if major in installed:
        return installed[major]
    newer = sorted(v for v in installed if v > major)
    if newer:
        return installed[newer[0]]
    fallback = find_bindir()
    if (fallback / "pg_dump").exists() and not installed:
        return fallback
    raise BackupError(
        f"pg_dump for PostgreSQL {major} is not installed: install it with "
        f"`sudo apt-get install postgresql-client-{major}` and run the command again"
    )


def _libpq_environment(url: str) -> tuple[str, dict[str, str]]:
    """The URL without its password, and an environment carrying the password.

    A password in argv is readable by every local user through /proc; PGPASSWORD is not.
    """
    params = conninfo_to_dict(url)
    env = dict(os.environ)
    password = params.pop("password", None)
    if password:
        env["PGPASSWORD"] = str(password)
    return make_conninfo(**{k: str(v) for k, v in params.items() if v is not None}), env


def _run(argv: list[str], what: str, env: dict[str, str]) -> str:
    proc = subprocess.run(argv, capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        said = (proc.stderr or proc.stdout).strip()
        raise BackupError(f"{what} failed: {said}")
    return proc.stdout


# -- what a database holds ------------------------------------------------------------------------

# Tables the service creates and the extensions' own tables are not the operator's data.
_NOT_DATA = {"alembic_version"}

_USER_TABLES = """
SELECT c.relname
  FROM pg_class c
 WHERE c.relnamespace = 'public'::regnamespace
   AND c.relkind IN ('r', 'p')
   AND NOT EXISTS (
       SELECT 1 FROM pg_depend d
        WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')
 ORDER BY c.relname
"""


def table_rows(conn: psycopg.Connection) -> dict[str, int]:
    """Exact row counts of the database's own tables (not the extensions'), by name."""
    names = [str(row[0]) for row in conn.execute(_USER_TABLES).fetchall()]
    counts: dict[str, int] = {}
    for name in names:
        query = sql.SQL("SELECT count(*) FROM public.{}").format(sql.Identifier(name))
        row = conn.execute(query).fetchone()
        counts[name] = int(row[0]) if row else 0
    return counts


def _revision(conn: psycopg.Connection) -> str | None:
    exists = conn.execute("SELECT to_regclass('public.alembic_version') IS NOT NULL").fetchone()
    if not exists or not exists[0]:
        return None
    row = conn.execute("SELECT version_num FROM public.alembic_version").fetchone()
    return str(row[0]) if row else None


def _connect(url: str) -> psycopg.Connection:
    try:
        return psycopg.connect(url, autocommit=True)
    except psycopg.OperationalError as exc:
        raise BackupError(
            f"cannot reach the database: {str(exc).strip()}. Start it with `walktalk db up`, "
            "or check DATABASE_URL"
        ) from None


# -- backup ---------------------------------------------------------------------------------------


def backup(url: str, path: Path) -> BackupOutcome:
    """Write the whole database at ``url`` to ``path`` (custom format); refuse to overwrite.

    The archive is written beside ``path`` under a temporary name and renamed when pg_dump
    has finished, so ``path`` is never a truncated backup.
    """
    if path.exists():
        raise BackupError(
            f"{path} already exists: choose a new file name (a backup never overwrites one)"
        )
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise BackupError(f"no such folder: {folder}: create it or choose another place")
    if not os.access(folder, os.W_OK):
        raise BackupError(f"cannot write in {folder}: choose a folder you may write to")
    with _connect(url) as conn:
        version_num = conn.info.server_version
        database = conn.info.dbname
        revision = _revision(conn)
        rows = table_rows(conn)
    conninfo, env = _libpq_environment(url)
    partial = folder / f".{path.name}.partial"
    try:
        _run(
            [
                str(client_bindir(version_num) / "pg_dump"),
                "--format=custom",
                f"--file={partial}",
                f"--dbname={conninfo}",
            ],
            "pg_dump",
            env,
        )
        partial.replace(path)
    finally:
        partial.unlink(missing_ok=True)
    major, minor = divmod(version_num, 10000)
    return BackupOutcome(
        path=path,
        bytes=path.stat().st_size,
        database=database,
        server_version=f"{major}.{minor}",
        revision=revision,
        rows=rows,
    )


# -- restore --------------------------------------------------------------------------------------

# Drops every object of the public schema that is not an extension's, so the archive's
# CREATE statements meet an empty schema while PostGIS and pgRouting stay installed (dropping
# them needs a superuser, which a cloud database does not give).
_CLEAR_PUBLIC = r"""
DO $clear$
DECLARE
    item record;
BEGIN
    FOR item IN
        SELECT c.oid::regclass AS name,
               CASE c.relkind WHEN 'v' THEN 'VIEW' WHEN 'm' THEN 'MATERIALIZED VIEW'
                              WHEN 'S' THEN 'SEQUENCE' WHEN 'f' THEN 'FOREIGN TABLE'
                              ELSE 'TABLE' END AS kind
          FROM pg_class c
         WHERE c.relnamespace = 'public'::regnamespace
           AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')
           -- 'e': an extension's; 'i': part of another object (an identity column's sequence)
           AND NOT EXISTS (SELECT 1 FROM pg_depend d
                            WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid
                              AND d.deptype IN ('e', 'i'))
         ORDER BY c.relkind = 'S'  -- tables first: a serial's sequence goes with its table
    LOOP
        -- CASCADE may already have dropped it with an earlier object: look again first.
        IF to_regclass(item.name::text) IS NOT NULL THEN
            EXECUTE format('DROP %s IF EXISTS %s CASCADE', item.kind, item.name);
        END IF;
    END LOOP;
    FOR item IN
        SELECT p.oid::regprocedure AS name, p.prokind
          FROM pg_proc p
         WHERE p.pronamespace = 'public'::regnamespace
           AND NOT EXISTS (SELECT 1 FROM pg_depend d
                            WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid
                              AND d.deptype = 'e')
    LOOP
        EXECUTE format('DROP %s IF EXISTS %s CASCADE',
                       CASE item.prokind WHEN 'p' THEN 'PROCEDURE'
                                         WHEN 'a' THEN 'AGGREGATE' ELSE 'FUNCTION' END,
                       item.name);
    END LOOP;
    FOR item IN
        SELECT t.oid::regtype AS name
          FROM pg_type t
         WHERE t.typnamespace = 'public'::regnamespace
           AND (t.typtype IN ('e', 'd', 'r')
                OR (t.typtype = 'c'
                    AND (SELECT relkind FROM pg_class WHERE oid = t.typrelid) = 'c'))
           AND NOT EXISTS (SELECT 1 FROM pg_depend d
                            WHERE d.classid = 'pg_type'::regclass AND d.objid = t.oid
                              AND d.deptype = 'e')
    LOOP
        EXECUTE format('DROP TYPE IF EXISTS %s CASCADE', item.name);
    END LOOP;
END
$clear$;
"""


def describe_rows(rows: dict[str, int], limit: int = 6) -> str:
    """``reports 1,200 rows, walks 12 rows, … and 9 more tables`` for the tables with rows."""
    held = sorted(
        ((n, c) for n, c in rows.items() if c and n not in _NOT_DATA),
        key=lambda item: (-item[1], item[0]),
    )
    shown = ", ".join(
        f"{name} {count:,} {'row' if count == 1 else 'rows'}" for name, count in held[:limit]
    )
    more = len(held) - limit
    return shown + (f" and {more} more tables" if more > 0 else "")


def holds_data(rows: dict[str, int]) -> bool:
    """Whether a database holds anything a restore would lose (a row outside the bookkeeping)."""
    return any(count for name, count in rows.items() if name not in _NOT_DATA)


def _drop_empty_copies(script: Path, out: Path) -> None:
    """Copy ``script`` leaving out every COPY that brings no rows.

    pg_dump writes a COPY for PostGIS's ``spatial_ref_sys`` (rows a user added) even when
    there are none, and only a superuser may write to that table: left in, it would refuse a
    restore by a cloud database's ordinary role. A COPY of no rows changes nothing anyway.
    """
    end_of_data = b"\\.\n"
    with script.open("rb") as source, out.open("wb") as target:
        held: bytes | None = None  # a COPY line, until its first data line shows
        in_data = False  # inside a COPY's rows, where a line is a row whatever it says
        for line in source:
            if held is not None:
                if line != end_of_data:
                    target.write(held)
                    target.write(line)
                    in_data = True
                held = None
            elif in_data:
                target.write(line)
                in_data = line != end_of_data
            elif line.startswith(b"COPY ") and line.rstrip().endswith(b"FROM stdin;"):
                held = line
            else:
                target.write(line)
        if held is not None:
            target.write(held)


def restore(url: str, path: Path, *, replace: bool = False) -> RestoreOutcome:
    """Replace the database at ``url`` by the backup in ``path``, whole or not at all.

    Refuses a database that holds data unless ``replace``; refuses a missing or damaged file
    before touching the database.
    """
    if not path.is_file():
        raise BackupError(
            f"no such file: {path}: give the path of a file `walktalk db backup` wrote"
        )
    with _connect(url) as conn:
        version_num = conn.info.server_version
        database = conn.info.dbname
        before = table_rows(conn)
    bindir = client_bindir(version_num)
    if holds_data(before) and not replace:
        raise BackupError(
            f"database {database!r} holds data ({describe_rows(before)}); restoring {path} "
            "would replace all of it. Take a backup of it first (`walktalk db backup FILE`), "
            "then run the restore again with --replace"
        )
    conninfo, env = _libpq_environment(url)
    with tempfile.TemporaryDirectory(prefix="walktalk-restore-") as scratch:
        script = Path(scratch) / "restore.sql"
        # Reading the whole archive into a script checks every block of it (a truncated or
        # corrupt file fails here) before anything in the database changes. No owners or
        # grants: the restoring role owns what it creates, whichever server it is.
        proc = subprocess.run(
            [
                str(bindir / "pg_restore"),
                "--no-owner",
                "--no-privileges",
                "--no-comments",
                f"--file={script}",
                str(path),
            ],
            capture_output=True,
            text=True,
            env=env,
        )
        if proc.returncode != 0:
            said = proc.stderr.strip().replace("pg_restore: error: ", "")
            raise BackupError(
                f"{path} is not a complete walktalk backup ({said}); nothing was restored and "
                f"database {database!r} is unchanged. Use another backup file"
            )
        loaded = Path(scratch) / "load.sql"
        _drop_empty_copies(script, loaded)
        psql = shutil.which("psql", path=str(bindir)) or str(bindir / "psql")
        _run(
            [
                psql,
                "--no-psqlrc",
                "--quiet",
                "--set=ON_ERROR_STOP=1",
                "--single-transaction",
                f"--dbname={conninfo}",
                f"--command={_CLEAR_PUBLIC}",
                f"--file={loaded}",
            ],
            f"restoring {path} (nothing was changed: the restore runs in one transaction)",
            env,
        )
    with _connect(url) as conn:
        after = table_rows(conn)
        revision = _revision(conn)
    return RestoreOutcome(database=database, replaced=before, rows=after, revision=revision)
