"""Migrations: the models match them, and the API refuses an unmigrated database."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from fastapi.testclient import TestClient
from geoalchemy2 import alembic_helpers
from sqlalchemy import create_engine

from service.app import create_app
from service.cluster import ensure_postgis
from service.db import head_revision
from service.models import Base
from service.settings import Settings


def test_models_and_migrations_agree(fresh_db: str) -> None:
    engine = create_engine(fresh_db)
    with engine.connect() as connection:
        context = MigrationContext.configure(
            connection,
            opts={"include_object": alembic_helpers.include_object, "compare_type": True},
        )
        assert context.get_current_revision() == head_revision()
        assert compare_metadata(context, Base.metadata) == []
    engine.dispose()


def test_api_refuses_an_unmigrated_database(
    empty_db: str, settings_for: Callable[..., Settings]
) -> None:
    ensure_postgis(empty_db)
    app = create_app(settings_for(empty_db))
    with pytest.raises(Exception, match="run `walktalk db migrate`"), TestClient(app):
        pass


def test_api_refuses_an_unreachable_database(settings_for: Callable[..., Settings]) -> None:
    url = "postgresql+psycopg://nobody@/nothing?host=/nonexistent-socket-dir&port=5432"
    with (
        pytest.raises(Exception, match="walktalk db up"),
        TestClient(create_app(settings_for(url))),
    ):
        pass
