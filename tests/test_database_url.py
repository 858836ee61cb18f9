"""An operator's DATABASE_URL whose role may not create PostGIS gets told what to run."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Iterator

import psycopg
import pytest
from psycopg import sql
from sqlalchemy import make_url

from service.cluster import ClusterError, ensure_postgis


@pytest.fixture
def limited_url(server_url: str) -> Iterator[str]:
    role, dbname = f"wt_limited_{uuid.uuid4().hex[:6]}", f"wt_owned_{uuid.uuid4().hex[:6]}"
    password = secrets.token_urlsafe(16)
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(
            sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(
                sql.Identifier(role), sql.Literal(password)
            )
        )
        conn.execute(
            sql.SQL("CREATE DATABASE {} OWNER {}").format(
                sql.Identifier(dbname), sql.Identifier(role)
            )
        )
    url = make_url(server_url).set(username=role, password=password, database=dbname)
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with psycopg.connect(server_url, autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(dbname))
            )
            conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(role)))


def test_a_role_that_may_not_create_postgis_is_told_what_to_ask_for(limited_url: str) -> None:
    with pytest.raises(ClusterError) as refused:
        ensure_postgis(limited_url)
    message = str(refused.value)
    assert "may not enable it" in message
    assert "CREATE EXTENSION postgis;" in message


def test_an_existing_postgis_is_reported_not_recreated(empty_db: str) -> None:
    first = ensure_postgis(empty_db)
    assert first.split(".")[0] == "3"
    assert ensure_postgis(empty_db) == first
