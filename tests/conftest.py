"""Shared fixtures: a real PostGIS for every database test, and a real headless Chromium.

The server is the project's own embedded cluster, started in a throw-away folder for this run
(never the demo's), or the server in WALKTALK_TEST_DATABASE_URL. Nothing here skips: a missing
PostGIS or browser fails the run with the command that installs it.

Isolation: ``db`` wraps each test in a transaction that is rolled back; ``fresh_db`` clones a
new database from a migrated template for tests where another process or the app's own
engine must see committed rows.
"""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import psycopg
import pytest
import uvicorn
from fastapi.testclient import TestClient
from psycopg import sql
from pydantic import SecretStr
from sqlalchemy import create_engine, make_url
from sqlalchemy.orm import Session

from service.app import create_app
from service.auth import Role
from service.cli import uvicorn_options
from service.cluster import Cluster, ClusterError, ensure_postgis, find_bindir, server_major_version
from service.db import migrate
from service.printing import CHROMIUM, CHROMIUM_FLAGS
from service.queries import tokens as token_queries
from service.queries import wards as ward_queries
from service.settings import Settings
from tests.browser import watched_page

# Durability is pointless for a throw-away test cluster and costs seconds per clone.
# max_connections: the service keeps up to 40 connections under load, and many apps share
# the test server.
TEST_SERVER_OPTIONS = (
    "fsync=off", "synchronous_commit=off", "full_page_writes=off", "max_connections=300"
)


T = TypeVar("T")


def off_the_event_loop(work: Callable[[], T]) -> T:
    """``work()`` run in a worker thread, and its result.

    Once a browser test has run, Playwright's sync API leaves an event loop running in the
    main thread for the rest of the session, and the service's engines refuse database work
    on a running loop (``service.db``): a test's own queries through them go to a thread, as
    the service's routes do.
    """
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(work).result()


def with_database(url: str, dbname: str, *, driver: bool = False) -> str:
    """The same server URL pointing at another database."""
    parsed = make_url(url).set(database=dbname)
    if driver:
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def _require_postgis_installed() -> None:
    try:
        bindir = find_bindir()
    except ClusterError as exc:
        pytest.fail(str(exc), pytrace=False)
    version = server_major_version(bindir)
    if not Path(f"/usr/share/postgresql/{version}/extension/postgis.control").exists():
        pytest.fail(
            f"PostGIS is not installed for PostgreSQL {version}: run "
            f"`sudo apt-get install postgresql-{version}-postgis-3` (make test does it as root)",
            pytrace=False,
        )


@pytest.fixture(scope="session")
def server_url() -> Iterator[str]:
    """An admin URL (database ``postgres``) of the server the tests use."""
    external = os.environ.get("WALKTALK_TEST_DATABASE_URL")
    if external:
        yield with_database(external, "postgres")
        return
    _require_postgis_installed()
    home = Path(tempfile.mkdtemp(prefix="walktalk-test-"))
    home.chmod(0o755)  # the postgres user must reach it when the tests run as root
    cluster = Cluster(home, server_options=TEST_SERVER_OPTIONS)
    try:
        cluster.up()
    except ClusterError as exc:
        pytest.fail(f"could not start the test PostgreSQL cluster: {exc}", pytrace=False)
    try:
        yield cluster.url("postgres")
    finally:
        cluster.down()
        shutil.rmtree(home, ignore_errors=True)


def _create_database(server_url: str, name: str, template: str | None = None) -> str:
    with psycopg.connect(server_url, autocommit=True) as conn:
        statement = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
        if template:
            statement = sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                sql.Identifier(name), sql.Identifier(template)
            )
        conn.execute(statement)
    return with_database(server_url, name)


def _drop_database(server_url: str, name: str) -> None:
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


@pytest.fixture(scope="session")
def template_db(server_url: str) -> Iterator[str]:
    """A migrated database with boroughs and the active pilot wards, only ever cloned."""
    name = f"walktalk_tpl_{uuid.uuid4().hex[:8]}"
    url = _create_database(server_url, name)
    ensure_postgis(url)
    engine = create_engine(with_database(url, name, driver=True))
    migrate(engine)
    with Session(engine) as session, session.begin():
        ward_queries.load_pilot(session)
    engine.dispose()
    try:
        yield name
    finally:
        _drop_database(server_url, name)


@contextmanager
def _temporary_database(server_url: str, prefix: str, template: str | None = None) -> Iterator[str]:
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    url = _create_database(server_url, name, template=template)
    try:
        yield with_database(url, name, driver=True)
    finally:
        _drop_database(server_url, name)


@pytest.fixture
def fresh_db(server_url: str, template_db: str) -> Iterator[str]:
    """A new database cloned from the template; its SQLAlchemy URL."""
    with _temporary_database(server_url, "walktalk_t", template_db) as url:
        yield url


@pytest.fixture
def empty_db(server_url: str) -> Iterator[str]:
    """A new, empty database (no PostGIS, no tables), as an operator's DATABASE_URL may be."""
    with _temporary_database(server_url, "walktalk_empty") as url:
        yield url


@pytest.fixture(scope="session")
def work_db(server_url: str, template_db: str) -> Iterator[str]:
    """One clone shared by the rolled-back tests of this run."""
    with _temporary_database(server_url, "walktalk_work", template_db) as url:
        yield url


@pytest.fixture
def db(work_db: str) -> Iterator[Session]:
    """A session whose every change, commits included, is rolled back after the test."""
    engine = create_engine(work_db)
    connection = engine.connect()
    outer = connection.begin()
    session = Session(bind=connection, join_transaction_mode="create_savepoint")
    try:
        yield session
    finally:
        session.close()
        outer.rollback()
        connection.close()
        engine.dispose()


@pytest.fixture
def settings_for(tmp_path: Path) -> Callable[[str], Settings]:
    """Settings pointing at a given database, offline tiles, a random key."""

    def make(url: str, **overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "database_url": url,
            "home": tmp_path / "home",
            "secret_key": SecretStr(secrets.token_urlsafe(48)),
            "tiles": "none",
        }
        values.update(overrides)
        return Settings(**values)

    return make


@pytest.fixture
def app_settings(fresh_db: str, settings_for: Callable[..., Settings]) -> Settings:
    """Settings of an app on a fresh clone."""
    return settings_for(fresh_db)


@pytest.fixture
def client(app_settings: Settings) -> Iterator[TestClient]:
    """A TestClient that has entered the app's lifespan (engine up, migrations checked)."""
    with TestClient(create_app(app_settings)) as test_client:
        yield test_client


def make_token(
    settings: Settings, role: str, *, expires: str = "1d", name: str | None = None, **scope: Any
) -> str:
    """Create a token in ``settings``' database, as `walktalk tokens create` does; the secret."""
    engine = create_engine(settings.database_url or "")
    with Session(engine) as session, session.begin():
        resolved = token_queries.resolve_scope(session, Role(role), **scope)
        _, raw = token_queries.create_token(
            session,
            key=settings.resolved_secret_key(),
            role=Role(role),
            name=name or f"test {role}",
            scope=resolved,
            expires_at=token_queries.parse_expiry(expires),
            created_by="tests",
        )
    engine.dispose()
    return raw


@pytest.fixture
def issue_token(app_settings: Settings) -> Callable[..., str]:
    """Create a token in the app's database: ``issue_token("partner", boroughs=[...])``."""

    def issue(role: str, **options: Any) -> str:
        return make_token(app_settings, role, **options)

    return issue


@pytest.fixture
def people(client: TestClient, issue_token: Callable[..., str]) -> dict[str, dict[str, str]]:
    """Request headers by who is asking (see tests/walks.py)."""

    def auth(token: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}"}

    return {
        "supervisor": auth(issue_token("supervisor", command_unit="AS")),
        "waterloo": auth(issue_token("officer", wards=["E05014118"])),
        "bankside": auth(issue_token("officer", wards=["E05011095"])),
        "partner": auth(issue_token("partner", boroughs=["E09000022"])),
        "public": {},
    }


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def serving(app: Any, **options: Any) -> Iterator[str]:
    """``app`` under uvicorn on a free loopback port, as ``walktalk serve`` runs it; its URL."""
    port = _free_port()
    options.setdefault("log_level", "warning")
    server = uvicorn.Server(uvicorn.Config(app, **uvicorn_options("127.0.0.1", port, **options)))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            pytest.fail("the test server did not start (see the log above)")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=15)


@pytest.fixture
def live_server(app_settings: Settings) -> Iterator[str]:
    """The app served by uvicorn on a free loopback port, for the browser."""
    with serving(create_app(app_settings)) as url:
        yield url


@pytest.fixture
def walktalk(
    fresh_db: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> Callable[..., tuple[int, str, str]]:
    """Run ``walktalk ARGS…`` in-process on a fresh clone; returns (exit code, stdout, stderr)."""
    from service.cli import main

    monkeypatch.setenv("DATABASE_URL", fresh_db)
    monkeypatch.setenv("WALKTALK_HOME", str(tmp_path / "home"))
    monkeypatch.chdir(tmp_path)

    def run(*argv: str) -> tuple[int, str, str]:
        code = main(list(argv))
        out, err = capsys.readouterr()
        return code, out, err

    return run


@pytest.fixture
def page(browser: Any, live_server: str) -> Iterator[Any]:
    """A watched page on the live server (see :func:`watched_page`)."""
    with watched_page(browser, live_server) as opened:
        yield opened


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """Debian's chromium, headless, driven by Playwright (which never downloads a browser)."""
    if not CHROMIUM.exists():
        pytest.fail(
            "Chromium is not installed: run `sudo apt-get install chromium` "
            "(make test does it as root)",
            pytrace=False,
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=list(CHROMIUM_FLAGS), headless=True
        )
        try:
            yield launched
        finally:
            launched.close()
