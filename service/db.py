"""The database: which server, its engine, sessions for routes, and migrations.

The engine belongs to the app's lifespan (see ``service.app``); routes get a ``Session``
through ``SessionDep``. Migrations are Alembic's, run from code so no ``alembic.ini`` is needed.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Annotated

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from fastapi import Depends, Request
from sqlalchemy import Connection, Engine, create_engine
from sqlalchemy.orm import Session

from service.cluster import Cluster
from service.errors import ServiceUnavailable
from service.settings import Settings

MIGRATIONS = Path(__file__).parent / "migrations"
MIGRATE_COMMAND = "walktalk db migrate"


def libpq_url(settings: Settings) -> str:
    """The libpq URL (``postgresql://…``) of the configured server, for psql and psycopg."""
    if settings.database_url:
        url = settings.database_url
        for prefix in ("postgresql+psycopg://", "postgres://"):
            if url.startswith(prefix):
                url = "postgresql://" + url[len(prefix) :]
        return url
    return Cluster(settings.home).url()


def sqlalchemy_url(settings: Settings) -> str:
    """The same URL with SQLAlchemy's psycopg 3 driver named."""
    return "postgresql+psycopg://" + libpq_url(settings)[len("postgresql://") :]


def make_engine(settings: Settings) -> Engine:
    """An engine for the configured server (pre-pinged: the embedded cluster may restart)."""
    return create_engine(sqlalchemy_url(settings), pool_pre_ping=True)


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
    """Bring the database to the newest migration; return (before, after)."""
    with engine.begin() as connection:
        before = current_revision(connection)
        command.upgrade(_alembic_config(connection), "head")
        return before, head_revision()


def require_migrated(engine: Engine) -> None:
    """Refuse to serve a database that is unreachable or not at the newest migration."""
    try:
        with engine.connect() as connection:
            current = current_revision(connection)
    except Exception as exc:  # any driver failure means the same thing to the person starting
        raise ServiceUnavailable(
            f"cannot reach the database ({type(exc).__name__}: {exc}); start it with "
            "`walktalk db up` or check DATABASE_URL"
        ) from exc
    head = head_revision()
    if current != head:
        raise ServiceUnavailable(
            f"the database is at migration {current or 'none'} but this code needs {head}: "
            f"run `{MIGRATE_COMMAND}`"
        )


def get_session(request: Request) -> Iterator[Session]:
    """A session on the app's engine for one request; writes are committed by the route."""
    with Session(request.app.state.engine) as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session)]
