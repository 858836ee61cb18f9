"""The service under load, with odd input, and with its database gone (issue 9, items 1, 2, 9).

Each test here failed before its fix: the event loop froze when the pool ran dry, NUL bytes,
lone surrogates and deep JSON answered plain-text 500s, a stopped database answered 500, the
access log kept addresses, and a new X-Forwarded-For per request walked past the rate limit.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

import httpx2 as httpx
import psycopg
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, make_url, text

from service.app import create_app
from service.settings import Settings
from tests.conftest import serving

REPORT = {
    "lon": -0.1136,
    "lat": 51.5033,
    "categories": ["poor_lighting"],
    "date": "2026-11-20",
    "time_band": "evening",
    "text": "No lights under the bridge.",
}
PROBLEM = "application/problem+json"


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _with(settings: Settings, **changes: Any) -> Settings:
    """The same settings (database, secret key: tokens stay valid) with a few changed."""
    return Settings(**{**settings.model_dump(), **changes})


def _count_reports(url: str) -> int:
    engine = create_engine(url)
    with engine.connect() as conn:
        count = int(conn.execute(text("SELECT count(*) FROM reports")).scalar_one())
    engine.dispose()
    return count


def _served(settings: Settings, *, access_log: bool = False) -> Any:
    """The app under uvicorn on loopback, configured as `walktalk serve` configures it."""
    return serving(
        create_app(settings),
        log_level="info" if access_log else "warning",
        access_log=access_log,
    )


# -- 1. load: the event loop never waits for the database ----------------------------------------


def test_thirty_clients_reading_and_posting_never_stall_the_service(
    fresh_db: str, app_settings: Settings, issue_token: Callable[..., str]
) -> None:
    # A pool far smaller than the clients makes every request queue for a connection: before
    # the fix the sign-in look-up queued on the event loop itself and froze the server.
    settings = _with(
        app_settings,
        db_pool_size=2,
        db_max_overflow=0,
        db_pool_timeout=20,
        report_rate_limit=10_000,
    )
    supervisor = _auth(issue_token("supervisor", command_unit="AS"))
    statuses: Counter[int] = Counter()
    created: list[str] = []
    health_waits: list[float] = []
    lock = threading.Lock()
    stop = time.monotonic() + 15

    with _served(settings) as base:

        def reader() -> None:
            with httpx.Client(base_url=base, timeout=30) as http:
                while time.monotonic() < stop:
                    answer = http.get("/reports?limit=50", headers=supervisor)
                    with lock:
                        statuses[answer.status_code] += 1

        def poster() -> None:
            with httpx.Client(base_url=base, timeout=30) as http:
                while time.monotonic() < stop:
                    answer = http.post("/reports", json=REPORT)
                    with lock:
                        statuses[answer.status_code] += 1
                        if answer.status_code == 201:
                            created.append(answer.json()["id"])

        def health() -> None:
            with httpx.Client(base_url=base, timeout=30) as http:
                while time.monotonic() < stop:
                    began = time.monotonic()
                    answer = http.get("/healthz")
                    health_waits.append(time.monotonic() - began)
                    assert answer.status_code == 200, answer.text
                    time.sleep(0.25)

        threads = [threading.Thread(target=reader) for _ in range(15)]
        threads += [threading.Thread(target=poster) for _ in range(15)]
        threads.append(threading.Thread(target=health))
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert not any(thread.is_alive() for thread in threads), "a client hung"

    assert set(statuses) == {200, 201}, statuses
    assert statuses[200] > 30 and statuses[201] > 30, statuses
    # /healthz answered all along; a frozen loop made it wait the pool's whole timeout.
    assert len(health_waits) >= 10, health_waits
    assert max(health_waits) < 5, max(health_waits)
    stored = create_engine(fresh_db)
    with stored.connect() as conn:
        ids = {str(i) for i in conn.execute(text("SELECT id FROM reports")).scalars()}
    stored.dispose()
    assert set(created) <= ids and len(created) == len(set(created))


def test_a_full_pool_answers_503_with_retry_after(
    app_settings: Settings, issue_token: Callable[..., str]
) -> None:
    settings = _with(app_settings, db_pool_size=1, db_max_overflow=0, db_pool_timeout=0.5)
    supervisor = _auth(issue_token("supervisor", command_unit="AS"))
    with TestClient(create_app(settings)) as client:
        engine = client.app.state.engine  # type: ignore[attr-defined]
        held, release = threading.Event(), threading.Event()

        def hold_the_only_connection() -> None:
            # In a thread of its own: the test's thread may run an event loop (Playwright's).
            with engine.connect():
                held.set()
                release.wait(20)

        holder = threading.Thread(target=hold_the_only_connection)
        holder.start()
        assert held.wait(10)
        try:
            busy = client.get("/reports", headers=supervisor)
        finally:
            release.set()
            holder.join(10)
        assert busy.status_code == 503
        assert busy.headers["content-type"] == PROBLEM
        assert busy.headers["retry-after"] == "5"
        assert "every database connection is in use" in busy.json()["detail"]
        assert client.get("/reports", headers=supervisor).status_code == 200


def test_database_work_on_the_event_loop_is_refused(
    fresh_db: str, settings_for: Callable[..., Settings]
) -> None:
    # The guard that keeps a future async route from freezing the server again.
    app = create_app(settings_for(fresh_db))

    @app.get("/loop-test")
    async def on_the_loop() -> dict[str, int]:
        with app.state.engine.connect() as conn:
            return {"one": conn.execute(text("SELECT 1")).scalar_one()}

    with TestClient(app) as client:
        answer = client.get("/loop-test")
    assert answer.status_code == 500
    assert answer.headers["content-type"] == PROBLEM


# -- 2. odd input is a 422 that says what to fix ----------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("get", "/wards/E0501%00", None),
        ("get", "/reports?borough=a%00b", None),
        ("get", "/hotspots?borough=a%00b", None),
        ("post", "/officers", {"name": "PC\u0000Smith", "shoulder_number": "1", "wards": []}),
        ("post", "/tokens", {"name": "qgis\u0000", "role": "partner", "boroughs": ["E09000022"]}),
        ("post", "/moderation/00000000-0000-4000-8000-000000000000", {"reason": "x\u0000"}),
        ("post", "/buddies", {"code": "B1", "home_ward": "E0501\u0000"}),
        ("post", "/reports", {**REPORT, "text": "under\u0000the bridge"}),
    ],
)
def test_a_nul_character_anywhere_is_refused_with_422(
    client: TestClient, people: dict[str, dict[str, str]], method: str, path: str, body: Any
) -> None:
    answer = client.request(method, path, json=body, headers=people["supervisor"])
    assert answer.status_code == 422, answer.text
    assert answer.headers["content-type"] == PROBLEM
    assert "NUL" in answer.json()["detail"]


def test_a_lone_surrogate_in_report_text_is_refused(client: TestClient) -> None:
    body = json.dumps(REPORT).replace("No lights", "No \\ud800 lights")
    answer = client.post("/reports", content=body, headers={"content-type": "application/json"})
    assert answer.status_code == 422, answer.text
    assert "surrogate" in answer.json()["detail"]
    assert _count_reports(str(client.app.state.settings.database_url)) == 0  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("post", "/reports"),
        ("post", "/areas/summary"),
        ("post", "/routes/exposure"),
        ("post", "/maps/routes/briefing"),
        ("put", "/walks/00000000-0000-4000-8000-000000000000/route"),
    ],
)
@pytest.mark.parametrize("deep", ["[" * 8000 + "]" * 8000, '{"a":' * 8000 + "1" + "}" * 8000])
def test_deeply_nested_json_is_refused_with_422(
    client: TestClient, people: dict[str, dict[str, str]], method: str, path: str, deep: str
) -> None:
    answer = client.request(
        method,
        path,
        content=deep,
        headers={**people["supervisor"], "content-type": "application/json"},
    )
    assert answer.status_code == 422, answer.text
    assert answer.headers["content-type"] == PROBLEM
    assert "nested more than 64 levels" in answer.json()["detail"]


def test_bodies_past_the_limit_are_refused_before_parsing(
    app_settings: Settings, issue_token: Callable[..., str]
) -> None:
    settings = _with(app_settings, json_body_limit=100_000)
    supervisor = _auth(issue_token("supervisor", command_unit="AS"))
    line = {"type": "LineString", "coordinates": [[-0.11, 51.5 + i * 1e-6] for i in range(9000)]}
    with TestClient(create_app(settings)) as client:
        answer = client.post("/routes/exposure", json=line, headers=supervisor)
    assert answer.status_code == 413, answer.text
    assert "larger than 100,000 bytes" in answer.json()["detail"]


def test_an_unexpected_error_is_problem_json_and_logs_no_values(
    fresh_db: str, settings_for: Callable[..., Settings], caplog: pytest.LogCaptureFixture
) -> None:
    app = create_app(settings_for(fresh_db))
    contact = "07700 " + "900123"  # joined here so the traceback's source lines do not hold it

    @app.get("/crash-test")
    def crash() -> None:
        with app.state.engine.connect() as conn:
            # The error quotes the value: a buddy's phone number must not reach the log.
            conn.execute(text("SELECT CAST(:v AS integer)"), {"v": contact})

    with caplog.at_level(logging.ERROR, logger="walktalk"), TestClient(app) as client:
        answer = client.get("/crash-test")
    assert answer.status_code == 500
    assert answer.headers["content-type"] == PROBLEM
    incident = answer.json()["incident"]
    assert incident in answer.json()["detail"]
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert incident in logged and "SELECT CAST" in logged
    assert "900123" not in logged


# -- the database goes away and comes back ----------------------------------------------------


def _allow_connections(server_url: str, dbname: str, allowed: bool) -> None:
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(f'ALTER DATABASE "{dbname}" WITH ALLOW_CONNECTIONS {str(allowed).lower()}')
        if not allowed:
            conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s",
                (dbname,),
            )


def test_a_stopped_database_answers_503_problem_json_and_recovers(
    client: TestClient, people: dict[str, dict[str, str]], server_url: str, fresh_db: str
) -> None:
    dbname = str(make_url(fresh_db).database)
    assert client.get("/healthz").status_code == 200
    _allow_connections(server_url, dbname, allowed=False)
    try:
        for path, headers in [
            ("/healthz", {}),
            ("/wards/lookup?lon=-0.1136&lat=51.5033", {}),
            ("/reports", people["supervisor"]),
            ("/hotspots", {}),
        ]:
            answer = client.get(path, headers=headers)
            assert answer.status_code == 503, (path, answer.text)
            assert answer.headers["content-type"] == PROBLEM, path
            assert "retry-after" in answer.headers, path
        refused = client.post("/reports", json=REPORT)
        assert refused.status_code == 503 and refused.headers["content-type"] == PROBLEM
    finally:
        _allow_connections(server_url, dbname, allowed=True)
    assert client.get("/healthz").status_code == 200
    assert client.post("/reports", json=REPORT).status_code == 201


# -- 9. no address of a reporter anywhere -------------------------------------------------------


class _Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


def test_the_access_log_keeps_no_address_and_no_forwarded_for(
    fresh_db: str, settings_for: Callable[..., Settings]
) -> None:
    lines = _Lines()
    access = logging.getLogger("uvicorn.access")
    with _served(settings_for(fresh_db), access_log=True) as base:
        # Added once uvicorn has configured its loggers, which replaces their handlers.
        access.addHandler(lines)
        try:
            answer = httpx.post(
                f"{base}/reports", json=REPORT, headers={"X-Forwarded-For": "203.0.113.77"}
            )
            assert answer.status_code == 201, answer.text
            httpx.get(f"{base}/wards/lookup?lon=-0.1136&lat=51.5033")
        finally:
            access.removeHandler(lines)
    posted = [line for line in lines.lines if "POST /reports" in line]
    assert len(posted) == 1, lines.lines
    assert posted[0].startswith('- - "POST /reports HTTP/1.1" 201'), posted
    everything = "\n".join(lines.lines)
    assert "127.0.0.1" not in everything and "203.0.113.77" not in everything
    assert "51.5033" not in everything  # a looked-up place is not kept either


def test_a_new_forwarded_for_per_request_does_not_pass_the_rate_limit(
    fresh_db: str, settings_for: Callable[..., Settings]
) -> None:
    with _served(settings_for(fresh_db, report_rate_limit=2)) as base:
        codes = [
            httpx.post(
                f"{base}/reports", json=REPORT, headers={"X-Forwarded-For": f"198.51.100.{i}"}
            ).status_code
            for i in range(3)
        ]
    assert codes == [201, 201, 429]


def test_forwarded_for_is_believed_from_a_trusted_proxy_only(
    fresh_db: str, settings_for: Callable[..., Settings]
) -> None:
    settings = settings_for(fresh_db, report_rate_limit=2, trusted_proxies=["127.0.0.1"])
    with _served(settings) as base:
        codes = [
            httpx.post(
                f"{base}/reports", json=REPORT, headers={"X-Forwarded-For": f"198.51.100.{i}"}
            ).status_code
            for i in (1, 2, 3, 3, 3)
        ]
    # Behind the proxy each visitor has her own count: 1, 2 and 3 twice pass, 3's third does not.
    assert codes == [201, 201, 201, 201, 429]
