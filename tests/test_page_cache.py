"""Map pages kept once drawn, and forgotten when they should be.

Shared by the public, each signed-in person's her own, forgotten on a write through the
service, never kept past their time, their memory, or a write made while one was drawn. The
cache itself runs on a clock the test moves; then the service on a real PostGIS with 3,000
reports, where a page answered from the cache carries an ``Age`` header.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import date, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

from service.app import create_app
from service.page_cache import Page, PageCache
from service.queries import demo
from service.settings import Settings

LAMBETH = "E09000022"


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def drawn(text: str, calls: list[str]) -> Callable[[], Page]:
    """A page's drawing that notes each time it runs."""

    def draw() -> Page:
        calls.append(text)
        return Page(text.encode())

    return draw


def body(answer: tuple[Page, float | None]) -> tuple[bytes, float | None]:
    """A page's text and its age."""
    return answer[0].body, answer[1]


def test_a_page_is_kept_for_its_time_then_drawn_again() -> None:
    clock, calls = Clock(), []
    cache = PageCache(seconds=300, max_bytes=1000, clock=clock)
    assert body(cache.page("hot", drawn("one", calls))) == (b"one", None)
    clock.now += 299
    assert body(cache.page("hot", drawn("two", calls))) == (b"one", 299)
    clock.now += 1
    assert body(cache.page("hot", drawn("three", calls))) == (b"three", None)
    assert calls == ["one", "three"]


def test_the_least_recently_used_go_first_and_a_page_too_big_is_never_kept() -> None:
    clock, calls = Clock(), []
    cache = PageCache(seconds=300, max_bytes=10, clock=clock)
    cache.page("a", drawn("aaaa", calls))
    cache.page("b", drawn("bbbb", calls))
    cache.page("a", drawn("a again", calls))  # a used last: b goes first
    cache.page("c", drawn("cccc", calls))
    assert body(cache.page("a", drawn("a again", calls)))[0] == b"aaaa"
    assert body(cache.page("b", drawn("b again", calls)))[0] == b"b again"
    cache.page("big", drawn("x" * 11, calls))
    cache.page("big", drawn("y" * 11, calls))
    assert calls == ["aaaa", "bbbb", "cccc", "b again", "x" * 11, "y" * 11]


def test_a_write_forgets_every_page_and_a_page_drawn_across_a_write_is_not_kept() -> None:
    clock, calls = Clock(), []
    cache = PageCache(seconds=300, max_bytes=1000, clock=clock)
    cache.page("a", drawn("old", calls))
    cache.changed()
    assert body(cache.page("a", drawn("new", calls))) == (b"new", None)

    def draw_while_written() -> Page:
        cache.changed()  # a write commits while the page is drawn from the rows before it
        return Page(b"before the write")

    cache.page("b", draw_while_written)
    assert body(cache.page("b", drawn("after the write", calls))) == (b"after the write", None)
    assert body(cache.page("b", drawn("not drawn", calls)))[0] == b"after the write"


def test_with_a_replica_a_page_drawn_just_after_a_write_is_not_kept() -> None:
    clock, calls = Clock(), []
    cache = PageCache(seconds=300, max_bytes=1000, settle_seconds=10, clock=clock)
    cache.changed()
    clock.now += 9  # the replica may not have replayed the write yet
    cache.page("a", drawn("maybe stale", calls))
    clock.now += 1
    cache.page("a", drawn("settled", calls))
    cache.page("a", drawn("not drawn", calls))
    assert calls == ["maybe stale", "settled"]


def test_two_asking_at_once_wait_for_one_drawing() -> None:
    cache = PageCache(seconds=300, max_bytes=1000)
    started, release = threading.Event(), threading.Event()
    calls: list[str] = []

    def slow() -> Page:
        calls.append("drawn")
        started.set()
        release.wait(10)
        return Page(b"page")

    answers: list[tuple[Page, float | None]] = []
    first = threading.Thread(target=lambda: answers.append(cache.page("a", slow)))
    first.start()
    started.wait(10)
    second = threading.Thread(target=lambda: answers.append(cache.page("a", slow)))
    second.start()
    release.set()
    first.join(10)
    second.join(10)
    assert calls == ["drawn"]
    assert [page.body for page, _ in answers] == [b"page", b"page"]


def test_a_drawing_that_fails_keeps_nothing_and_the_next_asks_again() -> None:
    cache = PageCache(seconds=300, max_bytes=1000)

    def broken() -> Page:
        raise ValueError("unknown category dragons")

    with pytest.raises(ValueError, match="dragons"):
        cache.page("a", broken)
    assert body(cache.page("a", lambda: Page(b"drawn"))) == (b"drawn", None)


def test_no_time_keeps_nothing() -> None:
    calls: list[str] = []
    cache = PageCache(seconds=0, max_bytes=1000)
    cache.page("a", drawn("one", calls))
    cache.page("a", drawn("two", calls))
    assert calls == ["one", "two"]


@pytest.fixture
def reports(app_settings: Settings) -> None:
    """3,000 published synthetic reports, committed for the app's own engine."""
    engine = create_engine(app_settings.database_url or "")
    with Session(engine) as session, session.begin():
        demo.seed_reports(session, 3000, seed=21)
    engine.dispose()


def bearer(token: str) -> dict[str, str]:
    """The headers that present a bearer token."""
    return {"Authorization": f"Bearer {token}"}


@pytest.mark.parametrize(
    "path", ["/maps/hotspots", "/maps/heatmap", "/maps/wards/summary", "/hotspots"]
)
def test_the_public_share_a_page_and_a_signed_in_person_gets_her_own(
    client: TestClient, reports: None, issue_token: Callable[..., str], path: str
) -> None:
    first = client.get(path)
    assert first.status_code == 200, first.text
    assert "age" not in first.headers
    again = client.get(path)
    assert int(again.headers["age"]) >= 0
    assert again.text == first.text
    assert again.headers["content-type"] == first.headers["content-type"]
    # Another address is another page.
    other = client.get(path, params={"borough": LAMBETH})
    assert other.status_code == 200 and "age" not in other.headers
    # Exact counts for a supervisor: never the public's page, nor hers theirs.
    supervisor = bearer(issue_token("supervisor", command_unit="AS"))
    exact = client.get(path, headers=supervisor)
    assert exact.status_code == 200 and "age" not in exact.headers
    assert exact.text != first.text
    partner = bearer(issue_token("partner", boroughs=[LAMBETH]))
    assert "age" not in client.get(path, headers=partner).headers
    assert client.get(path).text == first.text


def test_a_report_published_through_the_service_is_on_the_next_map(
    client: TestClient, reports: None, issue_token: Callable[..., str]
) -> None:
    supervisor = bearer(issue_token("supervisor", command_unit="AS"))
    before = client.get("/maps/hotspots", headers=supervisor)
    assert "age" in client.get("/maps/hotspots", headers=supervisor).headers
    # A write refused keeps the pages ...
    refused = client.post("/reports", json={"lon": "east", "lat": 51.5})
    assert refused.status_code == 422
    assert "age" in client.get("/maps/hotspots", headers=supervisor).headers
    # ... a write done forgets them: a report sent, then published by the supervisor.
    sent = client.post(
        "/reports",
        json={
            "lon": -0.1136,
            "lat": 51.5033,
            "categories": ["poor_lighting"],
            "date": (date.today() - timedelta(days=1)).isoformat(),
            "time_band": "evening",
        },
    )
    assert sent.status_code == 201, sent.text
    published = client.post(
        f"/moderation/{sent.json()['id']}",
        headers=supervisor,
        json={"action": "publish", "reason": "genuine place"},
    )
    assert published.status_code == 200, published.text
    after = client.get("/maps/hotspots", headers=supervisor)
    assert "age" not in after.headers
    assert after.text != before.text  # one more report counted


def test_a_service_set_to_keep_nothing_draws_every_page(
    app_settings: Settings, reports: None
) -> None:
    settings = app_settings.model_copy(update={"page_cache_seconds": 0})
    with TestClient(create_app(settings)) as client:
        client.get("/maps/heatmap")
        assert "age" not in client.get("/maps/heatmap").headers


def test_a_supervisors_every_read_of_exact_counts_is_audited_from_the_cache_too(
    client: TestClient, reports: None, issue_token: Callable[..., str], app_settings: Settings
) -> None:
    supervisor = bearer(issue_token("supervisor", command_unit="AS"))
    engine = create_engine(app_settings.database_url or "")

    def lines() -> list[tuple[str, str]]:
        with engine.connect() as conn:
            return [
                (row.action, row.target)
                for row in conn.execute(
                    text("SELECT action, target FROM audit_log WHERE role = 'supervisor' "
                         "ORDER BY id")
                )
            ]  # fmt: skip

    drawn_page = client.get("/maps/hotspots", headers=supervisor)
    assert "age" not in drawn_page.headers
    after_drawing = lines()
    assert after_drawing and all("exact" in action for action, _ in after_drawing)
    kept = client.get("/maps/hotspots", headers=supervisor)
    assert "age" in kept.headers
    assert lines() == after_drawing * 2
    # The public's pages write none.
    client.get("/maps/hotspots")
    client.get("/maps/hotspots")
    assert lines() == after_drawing * 2
    engine.dispose()
