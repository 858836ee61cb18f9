"""The live walk page after a reload with no signal, in headless Chromium on a phone.

A service worker (``/walks/live-sw.js``) keeps the page, its scripts and the map tiles seen;
the page keeps its queue in ``localStorage``. The officer opens the page with signal, loses it,
reloads, records a concern, and the concern reaches PostGIS with the time she pressed the
button once the signal returns. Writes and other pages are never answered from the copy kept.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text

from service.settings import Settings
from tests.browser import serious_axe_violations, sign_in
from tests.test_api_live import WATERLOO, auth, plan_walk
from tests.test_browser_live import LEGS, _fixes

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}
START = (-0.1132, 51.5031)  # Waterloo station
SHOTS = Path("/tmp/shots/offline")
READY = "Ready to work without signal"
# How a request fails with no signal: straight from the page, or from the worker, which found
# no copy and no network (ERR_FAILED).
OFFLINE_CAUSES = ("net::ERR_INTERNET_DISCONNECTED", "net::ERR_FAILED")


@pytest.fixture
def app_settings(fresh_db: str, settings_for: Callable[..., Settings]) -> Settings:
    # The service's own vector tiles, so the page has base-map tiles for the worker to keep.
    return settings_for(fresh_db, tiles="local")


class Watched:
    """A phone-sized tab that notes everything that went wrong.

    What failed while the test had cut the signal is kept apart (``offline_failures``): some
    requests failing offline is the point; the tests still list exactly which.
    """

    def __init__(self, context: Any, origin: str) -> None:
        self.context, self.page = context, context.new_page()
        self.offline = False
        self.problems: list[str] = []
        self.offline_failures: list[str] = []
        page = self.page
        page.on("console", self._console)
        page.on("pageerror", lambda e: self.problems.append(f"page error: {e}"))
        page.on(
            "request",
            lambda r: None if r.url.startswith(origin) else self.problems.append(r.url),
        )
        page.on("requestfailed", self._failed)

    def _console(self, message: Any) -> None:
        if message.type != "error":
            return
        failed_load = message.text.startswith(
            tuple(f"Failed to load resource: {cause}" for cause in OFFLINE_CAUSES)
        )
        if self.offline and failed_load:
            self.offline_failures.append(f"console: {message.location.get('url')}")
        else:
            self.problems.append(f"console: {message.text}")

    def _failed(self, request: Any) -> None:
        where = f"{request.method} {request.url}: {request.failure}"
        if self.offline and request.failure in OFFLINE_CAUSES:
            self.offline_failures.append(where)
        else:
            self.problems.append(where)

    def signal(self, on: bool) -> None:
        """Cut the signal or bring it back, as the phone moves through a black spot."""
        self.context.set_offline(not on)
        self.offline = not on

    def wait_until_kept(self) -> None:
        """Wait until the worker has kept the page and everything it loaded."""
        self.page.wait_for_function(
            "document.documentElement.dataset.offlineReady === 'yes'", timeout=20_000
        )
        assert READY in self.page.locator("#offline-ready").inner_text()

    def kept(self) -> dict[str, list[str]]:
        """The paths in each of the worker's caches, by cache name."""
        found: dict[str, list[str]] = self.page.evaluate(
            """async () => {
                const out = {};
                for (const name of await caches.keys()) {
                    const cache = await caches.open(name);
                    out[name] = (await cache.keys()).map(r => new URL(r.url).pathname);
                }
                return out;
            }"""
        )
        return found


@pytest.fixture
def phone(browser: Any, live_server: str) -> Iterator[Watched]:
    context = browser.new_context(
        viewport=PHONE,
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
        geolocation={"longitude": START[0], "latitude": START[1], "accuracy": 5},
        permissions=["geolocation"],
    )
    yield Watched(context, live_server)
    context.close()


def _database(settings: Settings, sql: str, **params: Any) -> list[Any]:
    engine = create_engine(settings.database_url or "")
    with engine.begin() as conn:
        answer = conn.execute(text(sql), params)
        rows = list(answer.all()) if answer.returns_rows else []
    engine.dispose()
    return rows


def _concerns(settings: Settings, walk_id: str) -> list[Any]:
    return _database(
        settings,
        "SELECT ST_X(geom) AS lon, ST_Y(geom) AS lat, categories, occurred_at FROM reports "
        "WHERE source = 'walk_concern' AND walk_id = :walk ORDER BY occurred_at",
        walk=walk_id,
    )


def _walk(live_server: str, issue_token: Any, officer_token: str) -> str:
    import httpx2 as httpx

    now = datetime.now(UTC)
    with httpx.Client(base_url=live_server) as api:
        return plan_walk(
            api,
            auth(issue_token("supervisor", command_unit="AS")),
            auth(officer_token),
            planned_start=(now - timedelta(minutes=30)).isoformat(),
            planned_end=(now + timedelta(minutes=30)).isoformat(),
        )


def _shot(page: Any, name: str, *, showing: str = "h1") -> None:
    """The phone's screen as she sees it, scrolled to ``showing`` (a selector)."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.locator(showing).scroll_into_view_if_needed()
    page.screenshot(path=str(SHOTS / name))


def test_after_a_reload_with_no_signal_the_page_works_and_sends_when_signal_returns(
    phone: Watched, live_server: str, app_settings: Settings, issue_token: Any
) -> None:
    token = issue_token("officer", wards=[WATERLOO], name="PC Offline")
    walk_id = _walk(live_server, issue_token, token)
    live = f"/walks/{walk_id}/live"
    page = phone.page
    sign_in(page, live_server, token, then=live)
    phone.wait_until_kept()
    page.wait_for_function("!document.getElementById('concern-here').disabled")
    _shot(page, "live_online_phone.png")

    # The worker kept this walk's page, the scripts and styles it loaded and the tiles drawn.
    kept = phone.kept()
    assert sorted(kept) == [
        "walktalk-live-1-assets",
        "walktalk-live-1-pages",
        "walktalk-live-1-tiles",
    ]
    assert kept["walktalk-live-1-pages"] == [live]
    assets = kept["walktalk-live-1-assets"]
    for needed in (
        "/static/vendor/leaflet/dist/leaflet.js",
        "/static/vendor/leaflet/dist/leaflet.css",
        "/static/vendor/walktalk/basemap.js",
    ):
        assert needed in assets
    tiles = kept["walktalk-live-1-tiles"]
    assert tiles and all(t.startswith("/tiles/") and t.endswith(".mvt") for t in tiles)

    # No signal, and the page is reloaded: it is still there, with its controls and its map.
    phone.signal(False)
    served: list[Any] = []
    page.on("response", lambda response: served.append(response))
    page.reload()
    page.get_by_role("heading", name="Live walk", level=1).wait_for()
    page.wait_for_function("!document.getElementById('concern-here').disabled")
    assert page.get_by_role("button", name="Start").is_enabled()
    assert page.get_by_role("button", name="Stretch begins here").is_enabled()
    assert page.locator("#map .leaflet-pane").count() > 0
    phone.wait_until_kept()
    # The page, its scripts and the tiles all came from the worker's copies.
    assert served and all(r.from_service_worker for r in served), [r.url for r in served]
    assert any("/tiles/" in r.url for r in served)
    assert "Offline: nothing waiting to be sent." in page.locator("#connection").inner_text()

    # A concern pressed now gets this time and this place, not those of when it is sent.
    pressed_from = datetime.now(UTC)
    page.get_by_role("button", name="Concern here").tap()
    page.get_by_role("button", name="Poor or no street lighting").tap()
    page.get_by_role("button", name="Save concern").tap()
    pressed_to = datetime.now(UTC)
    connection = page.locator("#connection")
    assert "Offline: 1 item not sent yet" in connection.inner_text()
    assert connection.get_attribute("data-waiting") == "1"
    item = page.locator("#recorded li", has_text="Poor or no street lighting")
    assert "not sent yet" in item.inner_text()
    assert serious_axe_violations(page) == []
    _shot(page, "live_offline_one_waiting_phone.png", showing="#recorded")

    # Another reload, still without signal: the concern is still waiting.
    page.reload()
    page.get_by_role("heading", name="Live walk", level=1).wait_for()
    page.locator("#connection[data-waiting='1']").wait_for()
    assert "not sent yet" in item.inner_text()
    page.wait_for_timeout(500)
    assert _concerns(app_settings, walk_id) == []

    # The signal returns: it is sent, once, and nothing waits any more.
    phone.signal(True)
    item.get_by_text("sent", exact=True).wait_for()
    page.locator("#connection[data-waiting='0']").wait_for()
    assert connection.inner_text() == "Online: everything recorded has been sent."
    _shot(page, "live_sent_phone.png", showing="#recorded")
    ((lon, lat, categories, occurred_at),) = _concerns(app_settings, walk_id)
    assert categories == ["poor_lighting"]
    assert (round(lon, 5), round(lat, 5)) == (round(START[0], 5), round(START[1], 5))
    assert pressed_from - timedelta(seconds=1) <= occurred_at <= pressed_to

    # Nothing failed, even offline: every tile the map drew again had been kept.
    assert phone.problems == []
    assert phone.offline_failures == []


def test_writes_and_other_pages_are_never_answered_from_the_copy(
    phone: Watched, live_server: str, app_settings: Settings, issue_token: Any
) -> None:
    token = issue_token("officer", wards=[WATERLOO])
    walk_id = _walk(live_server, issue_token, token)
    live = f"/walks/{walk_id}/live"
    page = phone.page
    sign_in(page, live_server, token, then=live)
    phone.wait_until_kept()

    # A POST to the very address whose page is kept reaches the service (which has no POST
    # there) with signal, and fails without: it is never given the kept page.
    post = """url => fetch(url, {method: "POST", body: "{}", credentials: "same-origin"})
        .then(r => [r.status, r.headers.get("content-type")], e => ["failed", String(e)])"""
    assert page.evaluate(post, live)[0] == 405
    # The route page is under the worker's scope too, and is never kept.
    edit = page.context.new_page()
    answer = edit.goto(f"{live_server}/walks/{walk_id}/route/edit")
    assert answer.status == 200 and not answer.from_service_worker
    assert edit.evaluate("navigator.serviceWorker.controller !== null")  # it passed through
    answer = edit.goto(f"{live_server}/")  # My work, outside the scope
    assert answer.status == 200 and not answer.from_service_worker
    edit.get_by_role("button", name="Sign out").wait_for()
    kept = phone.kept()
    assert kept["walktalk-live-1-pages"] == [live]
    assert not any(
        path == "/" or "/route" in path or "/concerns" in path or path.startswith("/work")
        for paths in kept.values()
        for path in paths
    ), kept

    phone.signal(False)
    status, error = page.evaluate(post, live)
    assert status == "failed" and "Failed to fetch" in error
    for path in (f"/walks/{walk_id}/route/edit", "/"):
        with pytest.raises(Exception, match="ERR_INTERNET_DISCONNECTED"):
            edit.goto(f"{live_server}{path}")
    # The live page itself does come back.
    page.reload()
    page.get_by_role("heading", name="Live walk", level=1).wait_for()
    phone.signal(True)
    edit.close()
    assert phone.problems == [
        "console: Failed to load resource: the server responded with a status of 405 "
        "(Method Not Allowed)"
    ]
    # Offline, the one failure is the POST the test sent: the page itself came back whole.
    assert phone.offline_failures == [
        f"POST {live_server}{live}: net::ERR_INTERNET_DISCONNECTED",
        f"console: {live_server}{live}",
    ]


def test_a_sign_in_that_ended_while_offline_asks_to_sign_in_again_and_keeps_the_queue(
    phone: Watched, live_server: str, app_settings: Settings, issue_token: Any
) -> None:
    token = issue_token("officer", wards=[WATERLOO])
    walk_id = _walk(live_server, issue_token, token)
    live = f"/walks/{walk_id}/live"
    page = phone.page
    sign_in(page, live_server, token, then=live)
    phone.wait_until_kept()

    phone.signal(False)
    page.reload()
    page.get_by_role("heading", name="Live walk", level=1).wait_for()
    for _ in range(2):
        page.get_by_role("button", name="Concern here").tap()
        page.get_by_role("button", name="Save concern").tap()
    page.locator("#connection[data-waiting='2']").wait_for()
    # The session runs out while the phone has no signal.
    _database(app_settings, "UPDATE browser_sessions SET expires_at = now() - interval '1 minute'")

    phone.signal(True)
    again = page.get_by_role("link", name="Sign in again to send 2 waiting items")
    again.wait_for()
    assert "Everything stays on this phone" in page.locator("#connection").inner_text()
    assert again.bounding_box()["height"] >= 44
    assert serious_axe_violations(page) == []
    _shot(page, "live_sign_in_again_phone.png", showing="#connection")
    assert _concerns(app_settings, walk_id) == []

    # The map has drawn its tiles (leaving the page mid-load would cut a tile short).
    page.wait_for_function("() => window.walktalkBasemap && window.walktalkBasemap.drawn")
    again.click()
    page.get_by_label("Token").fill(token)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{live_server}{live}")
    page.locator("#connection[data-waiting='0']").wait_for()
    assert len(_concerns(app_settings, walk_id)) == 2
    # One refusal: the page held the second concern back until the new sign-in.
    assert phone.problems == [
        "console: Failed to load resource: the server responded with a status of 403 (Forbidden)"
    ]


def test_recording_goes_on_after_a_reload_with_no_signal_and_the_route_is_sent_later(
    phone: Watched, live_server: str, app_settings: Settings, issue_token: Any
) -> None:
    token = issue_token("officer", wards=[WATERLOO])
    walk_id = _walk(live_server, issue_token, token)
    page = phone.page
    sign_in(page, live_server, token, then=f"/walks/{walk_id}/live")
    phone.wait_until_kept()
    fixes = page.locator("#track-summary")

    def move_to(lon: float, lat: float) -> None:
        before = int(fixes.get_attribute("data-fixes"))
        phone.context.set_geolocation({"longitude": lon, "latitude": lat, "accuracy": 5})
        page.wait_for_function(
            "n => +document.getElementById('track-summary').dataset.fixes > n", arg=before
        )

    track = [START]
    page.get_by_role("button", name="Start").click()
    page.wait_for_function("+document.getElementById('track-summary').dataset.fixes > 0")
    for lon, lat in _fixes(START, LEGS["york road"]):
        move_to(lon, lat)
        track.append((lon, lat))

    # The signal goes and the page is reloaded mid-walk: it carries on recording.
    phone.signal(False)
    page.reload()
    page.get_by_text("carried on after the page reloaded").wait_for()
    assert f"Track: {len(track)} points" in fixes.inner_text()
    page.wait_for_function("+document.getElementById('track-summary').dataset.fixes > 0")
    for lon, lat in _fixes(track[-1], LEGS["county hall"]):
        move_to(lon, lat)
        track.append((lon, lat))
    page.get_by_role("button", name="Finish").click()
    assert "The route is sent when there is signal" in page.get_by_role("status").inner_text()
    assert "Offline: 1 item not sent yet" in page.locator("#connection").inner_text()
    assert _database(app_settings, "SELECT route FROM walks WHERE id = :id", id=walk_id) == [
        (None,)
    ]

    phone.signal(True)
    page.get_by_text("Route saved:").first.wait_for()
    page.locator("#connection[data-waiting='0']").wait_for()
    ((points,),) = _database(
        app_settings, "SELECT ST_NPoints(route) FROM walks WHERE id = :id", id=walk_id
    )
    assert points == len(track)
    # Finished and everything sent: the copy kept of the page (with the route) is dropped.
    page.wait_for_function("document.documentElement.dataset.offlineReady === 'no'")
    assert phone.kept()["walktalk-live-1-pages"] == []
    assert phone.problems == []
    # Offline, the map followed her into streets it had not shown before: no tiles for them.
    assert phone.offline_failures
    assert all(f"{live_server}/tiles/" in f for f in phone.offline_failures), phone.offline_failures


def test_the_tiles_kept_are_the_last_300_seen(
    phone: Watched, live_server: str, app_settings: Settings, issue_token: Any
) -> None:
    token = issue_token("officer", wards=[WATERLOO])
    walk_id = _walk(live_server, issue_token, token)
    page = phone.page
    sign_in(page, live_server, token, then=f"/walks/{walk_id}/live")
    phone.wait_until_kept()
    # 320 tiles around Waterloo at zoom 16, asked for in order as a map panned far would.
    wanted = [f"/tiles/16/{x}/{y}.mvt" for x in range(32740, 32760) for y in range(21780, 21796)]
    statuses = page.evaluate(
        """async (urls) => {
            const out = [];
            for (let i = 0; i < urls.length; i += 20) {
                // Read to the end, as the map does: a body left unread is cut off.
                const answers = await Promise.all(urls.slice(i, i + 20).map(
                    u => fetch(u).then(a => a.arrayBuffer().then(() => a.status))));
                out.push(...answers);
            }
            return out;
        }""",
        wanted,
    )
    assert set(statuses) == {200}
    deadline = datetime.now(UTC) + timedelta(seconds=10)
    while len(tiles := phone.kept()["walktalk-live-1-tiles"]) > 300:
        assert datetime.now(UTC) < deadline, len(tiles)
        page.wait_for_timeout(200)
    assert len(tiles) == 300
    # The last ones asked for are kept; the first ones (and the page's own) made way.
    assert set(wanted[-200:]) <= set(tiles)
    assert not set(wanted[:10]) & set(tiles)
    assert phone.problems == []


def test_on_a_laptop_the_page_also_comes_back_offline(
    browser: Any, live_server: str, app_settings: Settings, issue_token: Any
) -> None:
    token = issue_token("officer", wards=[WATERLOO])
    walk_id = _walk(live_server, issue_token, token)
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    laptop = Watched(context, live_server)
    try:
        sign_in(laptop.page, live_server, token, then=f"/walks/{walk_id}/live")
        laptop.wait_until_kept()
        laptop.signal(False)
        laptop.page.reload()
        laptop.page.get_by_role("heading", name="Live walk", level=1).wait_for()
        laptop.wait_until_kept()
        assert "Offline: nothing waiting" in laptop.page.locator("#connection").inner_text()
        assert serious_axe_violations(laptop.page) == []
        _shot(laptop.page, "live_offline_laptop.png", showing="#connection")
        assert laptop.problems == [] and laptop.offline_failures == []
        # With signal again, the way back leads to the walk's page.
        laptop.signal(True)
        laptop.page.get_by_role("link", name="The walk's page").click()
        laptop.page.wait_for_url(f"{live_server}/work/walks/{walk_id}")
        assert laptop.problems == []
    finally:
        context.close()


def test_the_worker_script_is_served_for_the_scope_of_the_live_pages(
    client: TestClient, issue_token: Any
) -> None:
    answer = client.get("/walks/live-sw.js")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("application/javascript")
    assert answer.headers["cache-control"] == "no-cache"
    assert "clients.claim()" in answer.text and 'request.method !== "GET"' in answer.text
    # The live page registers it with the scope its path gives.
    token = issue_token("officer", wards=[WATERLOO])
    walk_id = plan_walk(client, auth(issue_token("supervisor", command_unit="AS")), auth(token))
    page = client.get(f"/walks/{walk_id}/live", headers=auth(token)).text
    assert '"serviceWorkerUrl": "/walks/live-sw.js"' in page
    assert '"serviceWorkerScope": "/walks/"' in page
    # A path beside it is still a walk's: the worker's route does not swallow /walks/{id}.
    assert client.get(f"/walks/{walk_id}", headers=auth(token)).status_code == 200


def test_signing_out_forgets_the_kept_walk_pages(
    phone: Watched, live_server: str, app_settings: Settings, issue_token: Any
) -> None:
    """A phone handed on after signing out holds no walk page (it carries a planned route)."""
    token = issue_token("officer", wards=[WATERLOO])
    walk_id = _walk(live_server, issue_token, token)
    page = phone.page
    sign_in(page, live_server, token, then=f"/walks/{walk_id}/live")
    phone.wait_until_kept()
    assert phone.kept()["walktalk-live-1-pages"] == [f"/walks/{walk_id}/live"]
    page.goto(f"{live_server}/")
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_function("document.documentElement.dataset.keptPages === 'gone'")
    assert "You are signed out" in page.get_by_role("status").inner_text()
    kept = phone.kept()
    assert "walktalk-live-1-pages" not in kept and kept  # the tiles and scripts may stay
    phone.signal(False)
    with pytest.raises(Exception, match=r"ERR_INTERNET_DISCONNECTED|ERR_FAILED"):
        page.goto(f"{live_server}/walks/{walk_id}/live")
    phone.signal(True)
    assert phone.problems == []
