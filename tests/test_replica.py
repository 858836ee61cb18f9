"""Read scale-out with a real streaming replica: maps read from it, writes go to the primary.

A primary of its own (not the shared test cluster: replay is paused here) is migrated and
copied with ``pg_basebackup -R`` by a replication role; the copy runs as a hot standby on its
own port and socket, and the app gets it as ``DATABASE_READ_URL``. While the standby's replay
is paused, a report published on the primary is not yet on the map; once replay resumes, it is.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

from service.app import create_app
from service.cluster import ensure_postgis, find_bindir
from service.db import migrate
from service.errors import ServiceUnavailable
from service.queries import wards as ward_queries
from service.settings import Settings
from tests.conftest import make_token, off_the_event_loop
from tests.local_clusters import LocalCluster, run, wait_until

REPORT = {
    "lon": -0.1136,
    "lat": 51.5033,
    "categories": ["poor_lighting"],
    "date": "2026-11-20",
    "time_band": "evening",
    "text": "No lights under the bridge.",
}
Pair = tuple[LocalCluster, LocalCluster]
# Read routes that must work on a standby (which refuses every write), as a supervisor whose
# exact reads are audited: the audit line must go to the primary.
READ_ROUTES = (
    "/hotspots",
    "/hotspots/emerging",
    "/wards/summary",
    "/boroughs/summary",
    "/themes",
    "/lighting/ranking",
    "/lighting/gaps",
    "/maps/hotspots",
    "/maps/heatmap",
    "/maps/wards",
    "/maps/wards/summary",
    "/maps/lighting",
    "/ogc/collections",
    "/ogc/collections/hexagons/items",
    "/tiles/14/8186/5448.mvt",
)


@pytest.fixture(scope="module")
def pair() -> Iterator[Pair]:
    """A migrated primary with the pilot wards, and its streaming replica; both stopped after."""
    primary, replica = LocalCluster.new("wt-primary-"), LocalCluster.new("wt-replica-")
    try:
        primary.initdb()
        primary.start("wal_level=replica", "max_wal_senders=4")
        primary.sql("CREATE DATABASE walktalk", dbname="postgres")
        # The role a replica connects as: replication only, no superuser.
        primary.sql("CREATE ROLE replicator WITH REPLICATION LOGIN", dbname="postgres")
        ensure_postgis(primary.url())
        engine = create_engine(primary.url(driver=True))
        migrate(engine)
        with Session(engine) as session, session.begin():
            ward_queries.load_pilot(session)
        engine.dispose()
        replica.prepare()
        run(
            [
                str(find_bindir() / "pg_basebackup"),
                "-h",
                str(primary.socket_dir),
                "-p",
                str(primary.port),
                "-U",
                "replicator",
                "-D",
                str(replica.data_dir),
                "-R",  # standby.signal and primary_conninfo: start as a streaming standby
                "-X",
                "stream",
                "-c",
                "fast",
            ]
        )
        replica.start("hot_standby=on")
        yield primary, replica
    finally:
        replica.stop()
        primary.stop()


def replayed(primary: LocalCluster, replica: LocalCluster) -> None:
    """Wait until the replica has replayed everything the primary has written so far."""
    target = primary.sql("SELECT pg_current_wal_lsn()::text")
    wait_until(
        lambda: replica.sql("SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", target),
        f"the replica replays the primary's WAL up to {target}",
    )


def on_the_map(client: TestClient, headers: dict[str, str]) -> int:
    """Reports counted by /hotspots (exact, for a supervisor)."""
    answer = client.get("/hotspots", headers=headers, params={"edge": 500})
    assert answer.status_code == 200, answer.text
    return sum(f["properties"]["count"] or 0 for f in answer.json()["features"])


def publish_report(client: TestClient, supervisor: dict[str, str]) -> str:
    """A public report, then published by the supervisor: two writes through the API."""
    posted = client.post("/reports", json=REPORT)
    assert posted.status_code == 201, posted.text
    report_id = str(posted.json()["id"])
    published = client.post(
        f"/moderation/{report_id}",
        headers=supervisor,
        json={"action": "publish", "reason": "genuine place"},
    )
    assert published.status_code == 200, published.text
    return report_id


def bearer(token: str) -> dict[str, str]:
    """The headers that present a bearer token."""
    return {"Authorization": f"Bearer {token}"}


def settings_for_pair(pair: Pair, home: Path) -> Settings:
    """The app's settings: DATABASE_URL the primary, DATABASE_READ_URL the replica."""
    primary, replica = pair
    values: dict[str, Any] = {
        "DATABASE_URL": primary.url(driver=True),
        "DATABASE_READ_URL": replica.url(),
        "home": home,
        "secret_key": SecretStr(secrets.token_urlsafe(48)),
        "tiles": "none",
    }
    return Settings(**values)


def test_the_read_engine_is_the_standby_and_the_engine_the_primary(
    pair: Pair, tmp_path: Path
) -> None:
    settings = settings_for_pair(pair, tmp_path / "home")
    assert settings.read_database_url == pair[1].url()
    app = create_app(settings)
    with TestClient(app):
        state = app.state

        def ask(engine: Any) -> tuple[bool, int]:
            with engine.connect() as conn:
                recovering = conn.execute(text("SELECT pg_is_in_recovery()")).scalar_one()
                port = conn.execute(text("SELECT current_setting('port')")).scalar_one()
            return recovering, int(port)

        assert off_the_event_loop(lambda: ask(state.read_engine)) == (True, pair[1].port)
        assert off_the_event_loop(lambda: ask(state.engine)) == (False, pair[0].port)


def test_maps_read_the_replica_writes_go_to_the_primary_and_a_lagging_replica_shows_less(
    pair: Pair, tmp_path: Path
) -> None:
    primary, replica = pair
    settings = settings_for_pair(pair, tmp_path / "home")
    supervisor = bearer(make_token(settings, "supervisor", command_unit="AS"))
    audited = "SELECT count(*) FROM audit_log WHERE role = 'supervisor'"
    with TestClient(create_app(settings)) as client:
        publish_report(client, supervisor)
        replayed(primary, replica)
        assert on_the_map(client, supervisor) == 1

        replica.sql("SELECT pg_wal_replay_pause()")
        wait_until(
            lambda: replica.sql("SELECT pg_get_wal_replay_pause_state()") == "paused",
            "replay is paused",
        )
        try:
            second = publish_report(client, supervisor)
            # The write is on the primary ...
            status = "SELECT status FROM reports WHERE id = %s"
            assert primary.sql(status, second) == "published"
            assert primary.sql("SELECT count(*) FROM reports WHERE status = 'published'") == 2
            # ... the replica lags behind it and has not got the report ...
            assert replica.sql(
                "SELECT pg_last_wal_replay_lsn() < %s::pg_lsn",
                primary.sql("SELECT pg_current_wal_lsn()::text"),
            )
            assert replica.sql(status, second) is None
            # ... so the map, read from the replica, still counts one.
            assert on_the_map(client, supervisor) == 1
            # Every read route answers from the standby, which refuses writes: the audit
            # line of each exact read is written to the primary.
            before = primary.sql(audited)
            for path in READ_ROUTES:
                answer = client.get(path, headers=supervisor)
                assert answer.status_code == 200, f"{path}: {answer.text[:300]}"
            assert primary.sql(audited) > before
            assert replica.sql(audited) < primary.sql(audited)
        finally:
            replica.sql("SELECT pg_wal_replay_resume()")
        replayed(primary, replica)
        assert on_the_map(client, supervisor) == 2
        # That read's own audit line too: its session commits as the request ends, which may
        # be just after the answer reached the client.
        wait_until(
            lambda: replica.sql(audited) == primary.sql(audited),
            "the replica replays the last read's audit line",
        )


def test_without_a_read_url_the_maps_read_the_primary(pair: Pair, tmp_path: Path) -> None:
    primary, _ = pair
    settings = settings_for_pair(pair, tmp_path / "home").model_copy(
        update={"read_database_url": None}
    )
    supervisor = bearer(make_token(settings, "supervisor", command_unit="AS"))
    app = create_app(settings)
    with TestClient(app) as client:
        assert app.state.read_engine is None
        published = primary.sql("SELECT count(*) FROM reports WHERE status = 'published'")
        assert on_the_map(client, supervisor) == published


def test_an_unreachable_replica_stops_the_start_naming_the_setting(
    pair: Pair, tmp_path: Path
) -> None:
    settings = settings_for_pair(pair, tmp_path / "home").model_copy(
        update={"read_database_url": pair[1].url().replace(f"port={pair[1].port}", "port=1")}
    )
    expected = r"(?s)cannot reach the read replica.*check DATABASE_READ_URL"
    with pytest.raises(ServiceUnavailable, match=expected), TestClient(create_app(settings)):
        pass
