"""The database: which server, its engine, sessions for routes, and migrations.

The engine belongs to the app's lifespan (see ``service.app``); routes get a ``Session``
through ``SessionDep``. Migrations are Alembic's, run from code so no ``alembic.ini`` is needed.

Read scale-out: with ``DATABASE_READ_URL`` set (a streaming replica of the primary), the map
and aggregate routes read through ``ReadSessionDep`` from the replica; whatever they must
write (the audit line of an exact read) goes to the primary through :func:`primary_session`.
Without it ``ReadSessionDep`` is the request's own session on the primary, as before.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import psycopg
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from fastapi import Depends, Request
from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from service.cluster import Cluster, ClusterError
from service.errors import ServiceUnavailable
from service.settings import Settings

MIGRATIONS = Path(__file__).parent / "migrations"
MIGRATE_COMMAND = "walktalk db migrate"


def _as_libpq(url: str) -> str:
    for prefix in ("postgresql+psycopg://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql://" + url[len(prefix) :]
    return url


def libpq_url(settings: Settings) -> str:
    """The libpq URL (``postgresql://…``) of the configured server, for psql and psycopg."""
    if settings.database_url:
        return _as_libpq(settings.database_url)
    return Cluster(settings.home).url()


def _with_driver(libpq: str) -> str:
    return "postgresql+psycopg://" + libpq[len("postgresql://") :]


def sqlalchemy_url(settings: Settings) -> str:
    """The same URL with SQLAlchemy's psycopg 3 driver named."""
    return _with_driver(libpq_url(settings))


class DatabaseOnEventLoop(RuntimeError):
    """Blocking database work was started on the event loop: a defect in the code, not input."""


def _refuse_event_loop(*_: Any) -> None:
    # A checkout that waits for a free connection on the event loop freezes every request,
    # /healthz included, until the pool's timeout: the server looks dead under a few users.
    # Sync routes and dependencies run in worker threads, where no loop is running.
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return
    raise DatabaseOnEventLoop(
        "database work on the event loop: make the route or dependency a plain `def`, or "
        "call the work with `await run_in_threadpool(...)`"
    )


def make_engine(settings: Settings, *, url: str | None = None) -> Engine:
    """The service's engine: pre-pinged (the embedded cluster may restart), bounded, quiet.

    ``url`` defaults to the primary's. The pool holds ``db_pool_size`` + ``db_max_overflow``
    connections; a request that finds none free waits up to ``db_pool_timeout`` seconds and is
    then told to retry (503). Parameters are never written into error messages or logs: they
    carry people's words.
    """
    engine = create_engine(
        _with_driver(_as_libpq(url)) if url else sqlalchemy_url(settings),
        pool_pre_ping=True,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
        pool_timeout=settings.db_pool_timeout,
        hide_parameters=True,
    )
    event.listen(engine, "checkout", _refuse_event_loop)
    return engine


def make_read_engine(settings: Settings) -> Engine | None:
    """The replica's engine when ``DATABASE_READ_URL`` is set; None means: read the primary."""
    if not settings.read_database_url:
        return None
    return make_engine(settings, url=settings.read_database_url)


def _alembic_config(connection: Connection) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    """The newest migration the code knows."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    head = ScriptDirectory.from_config(config).get_current_head()
    assert head is not None, "no migrations found"
    return head


def current_revision(connection: Connection) -> str | None:
    """The migration the database is at, or None for an empty database."""
    return MigrationContext.configure(connection).get_current_revision()


def migrate(engine: Engine) -> tuple[str | None, str]:
    """Bring the database to the newest migration; return (before, after).

    All of it runs in one transaction. A role that may not create an extension a migration
    needs (as on a managed server) gets :class:`ClusterError` saying what to ask for.
    """
    try:
        with engine.begin() as connection:
            before = current_revision(connection)
            command.upgrade(_alembic_config(connection), "head")
            return before, head_revision()
    except DBAPIError as exc:
        refusal = _extension_refusal(exc)
        if refusal is None:
            raise
        raise refusal from exc


_CREATE_EXTENSION = re.compile(r"CREATE\s+EXTENSION\s+(?:IF\s+NOT\s+EXISTS\s+)?(\w+)", re.I)


def _extension_refusal(exc: DBAPIError) -> ClusterError | None:
    """What to ask the server's owner for when a migration's ``CREATE EXTENSION`` failed."""
    match = _CREATE_EXTENSION.search(str(exc.statement or ""))
    if match is None:
        return None
    name, said = match.group(1), str(exc.orig).splitlines()[0] if exc.orig else ""
    if isinstance(exc.orig, psycopg.errors.InsufficientPrivilege):
        return ClusterError(
            f"the migrations need the {name} extension, and this role may not create it "
            f"({said}). Ask the database's owner or provider to run `CREATE EXTENSION "
            f"IF NOT EXISTS {name};` in this database as a superuser (on a cloud service, "
            f"allow {name} in its extensions setting first), then run `{MIGRATE_COMMAND}` "
            "again; nothing was changed"
        )
    if isinstance(exc.orig, psycopg.errors.UndefinedFile | psycopg.errors.FeatureNotSupported):
        return ClusterError(
            f"the migrations need the {name} extension, which is not installed on this "
            f"server ({said}). Ask the provider for a server with {name} (Debian: "
            f"postgresql-N-{'postgis-3' if name == 'postgis' else name}), then run "
            f"`{MIGRATE_COMMAND}` again; nothing was changed"
        )
    return None


def require_migrated(engine: Engine, *, replica: bool = False) -> None:
    """Refuse to serve a database that is unreachable or not at the newest migration.

    With ``replica`` the messages are about ``DATABASE_READ_URL``: a replica is migrated
    through its primary, and may lag behind it.
    """
    try:
        with engine.connect() as connection:
            current = current_revision(connection)
    except Exception as exc:  # any driver failure means the same thing to the person starting
        raise ServiceUnavailable(
            f"cannot reach the {'read replica' if replica else 'database'} "
            f"({type(exc).__name__}: {exc}); "
            + (
                "check DATABASE_READ_URL, or unset it to read from the primary"
                if replica
                else "start it with `walktalk db up` or check DATABASE_URL"
            )
        ) from exc
    head = head_revision()
    if current != head:
        raise ServiceUnavailable(
            f"the read replica is at migration {current or 'none'} but this code needs {head}: "
            "run the migration on the primary and wait for the replica to replay it"
            if replica
            else f"the database is at migration {current or 'none'} but this code needs "
            f"{head}: run `{MIGRATE_COMMAND}`"
        )


def get_session(request: Request) -> Iterator[Session]:
    """A session on the app's engine for one request; writes are committed by the route."""
    with Session(request.app.state.engine) as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session)]

# Where a replica's session keeps the primary's engine, for what a read route must write.
_PRIMARY = "primary_engine"


def get_read_session(request: Request, session: SessionDep) -> Iterator[Session]:
    """A session for a route that only reads: on the replica when there is one.

    Without ``DATABASE_READ_URL`` it is the request's own session (one connection, as before).
    A replica may lag the primary by a moment: a map read just after a write may not show it.
    """
    replica: Engine | None = request.app.state.read_engine
    if replica is None:
        yield session
        return
    with Session(replica, info={_PRIMARY: request.app.state.engine}) as reader:
        yield reader


ReadSessionDep = Annotated[Session, Depends(get_read_session)]


@contextmanager
def primary_session(session: Session) -> Iterator[Session]:
    """A session that may write, committed at the end: ``session`` itself on the primary.

    For a replica's session (``ReadSessionDep``) it is a new session on the primary, since a
    standby refuses writes.
    """
    primary: Engine | None = session.info.get(_PRIMARY)
    if primary is None:
        yield session
        session.commit()
        return
    with Session(primary) as writer, writer.begin():
        yield writer
