"""A managed database, as cloud PostGIS gives: TCP with a password, a role that is no superuser.

The superuser (the "provider") makes a login role that owns one database and enables PostGIS
and pgRouting in it; everything after that is done as that role over 127.0.0.1: the
migrations (through `walktalk db migrate`), the wards, and the API's writes and reads. When an
extension is missing the migration says what to ask the provider for, and changes nothing.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

from service.app import create_app
from service.cli import main
from service.cluster import ClusterError
from service.db import migrate
from service.settings import Settings
from tests.conftest import make_token, off_the_event_loop
from tests.local_clusters import LocalCluster
from tests.walks import BOROUGH_BANKSIDE, WATERLOO, make_walk

ROLE = "walktalk_app"
REPORT = {
    "lon": -0.1136,
    "lat": 51.5033,
    "categories": ["poor_lighting"],
    "date": "2026-11-20",
    "time_band": "evening",
    "text": "No lights under the bridge.",
}


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[LocalCluster, str]]:
    """A cluster listening on 127.0.0.1 (password auth over TCP) and the app role's password."""
    cluster = LocalCluster.new("wt-managed-")
    password = secrets.token_urlsafe(16)
    try:
        cluster.initdb()
        cluster.start(listen="127.0.0.1")
        # Utility statements take no parameters; the password is URL-safe base64.
        cluster.sql(
            f"CREATE ROLE {ROLE} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE "
            f"PASSWORD '{password}'",
            dbname="postgres",
        )
        yield cluster, password
    finally:
        cluster.stop()


def provided_database(cluster: LocalCluster, name: str, extensions: tuple[str, ...]) -> None:
    """What a provider hands over: a database the role owns, with ``extensions`` enabled."""
    cluster.sql(f"CREATE DATABASE {name} OWNER {ROLE}", dbname="postgres")
    for extension in extensions:
        cluster.sql(f"CREATE EXTENSION {extension}", dbname=name)


def tcp_url(cluster: LocalCluster, password: str, name: str) -> str:
    """The URL the service is given: host, port, role and password, no socket."""
    return f"postgresql://{ROLE}:{password}@127.0.0.1:{cluster.port}/{name}"


def test_migrations_and_the_api_run_as_a_role_that_is_not_a_superuser_over_tcp(
    server: tuple[LocalCluster, str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    cluster, password = server
    provided_database(cluster, "managed", ("postgis", "pgrouting"))
    url = tcp_url(cluster, password, "managed")
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("WALKTALK_HOME", str(tmp_path / "home"))
    assert main(["db", "migrate"]) == 0, capsys.readouterr().err
    assert "database migrated" in capsys.readouterr().out
    assert main(["wards", "bundled", "--pilot-only"]) == 0, capsys.readouterr().err

    values: dict[str, Any] = {
        "DATABASE_URL": url,
        "home": tmp_path / "home",
        "secret_key": SecretStr(secrets.token_urlsafe(48)),
        "tiles": "none",
    }
    settings = Settings(**values)
    app = create_app(settings)
    with TestClient(app) as client:
        def whoami() -> tuple[Any, ...]:
            with app.state.engine.connect() as conn:
                return tuple(
                    conn.execute(
                        text(
                            "SELECT current_user, rolsuper, inet_server_addr()::text "
                            "FROM pg_roles WHERE rolname = current_user"
                        )
                    ).one()
                )

        assert off_the_event_loop(whoami) == (ROLE, False, "127.0.0.1/32")

        def bearer(role: str, **scope: Any) -> dict[str, str]:
            return {"Authorization": f"Bearer {make_token(settings, role, **scope)}"}

        people = {
            "supervisor": bearer("supervisor", command_unit="AS"),
            "waterloo": bearer("officer", wards=[WATERLOO]),
        }
        posted = client.post("/reports", json=REPORT)
        assert posted.status_code == 201, posted.text
        published = client.post(
            f"/moderation/{posted.json()['id']}",
            headers=people["supervisor"],
            json={"action": "publish", "reason": "genuine place"},
        )
        assert published.status_code == 200, published.text
        hot = client.get("/hotspots", headers=people["supervisor"])
        assert hot.status_code == 200, hot.text
        assert sum(f["properties"]["count"] for f in hot.json()["features"]) == 1
        assert client.get("/hotspots").status_code == 200  # the public's protected counts
        walk = make_walk(
            client,
            people,
            start="2026-12-01T17:00:00+00:00",
            end="2026-12-01T17:45:00+00:00",
            buddy_ward=BOROUGH_BANKSIDE,
        )
        shown = client.get(f"/walks/{walk['id']}", headers=people["waterloo"])
        assert shown.status_code == 200, shown.text
        health = client.get("/healthz")
        assert health.status_code == 200, health.text


def test_a_missing_extension_says_what_to_ask_the_provider_and_changes_nothing(
    server: tuple[LocalCluster, str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    cluster, password = server
    provided_database(cluster, "no_routing", ("postgis",))
    url = tcp_url(cluster, password, "no_routing")
    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
    with pytest.raises(ClusterError) as refused:
        migrate(engine)
    said = str(refused.value)
    assert "pgrouting" in said and "CREATE EXTENSION IF NOT EXISTS pgrouting;" in said
    assert "nothing was changed" in said
    with Session(engine) as session:
        tables = session.execute(
            text("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")
        ).scalar_one()
    engine.dispose()
    assert tables == 1  # PostGIS's spatial_ref_sys only: the migrations left nothing behind

    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("WALKTALK_HOME", str(tmp_path / "home"))
    assert main(["db", "migrate"]) != 0
    assert "CREATE EXTENSION IF NOT EXISTS pgrouting;" in capsys.readouterr().err

    # Once the provider enables it, the same command succeeds.
    cluster.sql("CREATE EXTENSION pgrouting", dbname="no_routing")
    assert main(["db", "migrate"]) == 0, capsys.readouterr().err
    with psycopg.connect(url, autocommit=True) as conn:
        assert conn.execute("SELECT count(*) FROM wards").fetchone() == (0,)


def test_without_postgis_the_role_is_told_what_to_ask_for(
    server: tuple[LocalCluster, str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    cluster, password = server
    provided_database(cluster, "bare", ())
    monkeypatch.setenv("DATABASE_URL", tcp_url(cluster, password, "bare"))
    monkeypatch.setenv("WALKTALK_HOME", str(tmp_path / "home"))
    assert main(["db", "migrate"]) != 0
    said = capsys.readouterr().err
    assert "CREATE EXTENSION postgis" in said and "may not enable it" in said

