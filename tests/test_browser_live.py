"""The live walk page on a phone in headless Chromium, with a faked GPS walk around Waterloo.

The phone records the track and two concerns, loses its signal for a while, and everything
arrives in PostGIS exactly once when the signal returns; what the service refuses is shown in
plain words and kept.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest
from pyproj import Geod
from sqlalchemy import create_engine, text

from tests.test_api_live import WATERLOO, auth, plan_walk

pytestmark = pytest.mark.browser

GEOD = Geod(ellps="WGS84")
PHONE = {"width": 390, "height": 844}
# A walk from Waterloo station up York Road, round behind County Hall, back along Lower Marsh
# and up Waterloo Road: about 1.2 km, all inside Waterloo & South Bank ward. (lon, lat)
START = (-0.1132, 51.5031)
LEGS = {
    "york road": [(-0.1150, 51.5040), (-0.1166, 51.5049)],  # about 310 m: too short alone
    "county hall": [(-0.1178, 51.5040), (-0.1170, 51.5028)],
    "lower marsh": [(-0.1150, 51.5020), (-0.1125, 51.5024)],
    "waterloo road": [(-0.1110, 51.5036), (-0.1105, 51.5048)],
}


def _fixes(start: tuple[float, float], waypoints: list[tuple[float, float]]) -> list[Any]:
    """Positions every 30 m or so along the waypoints (the start itself excluded)."""
    fixes: list[tuple[float, float]] = []
    for (lon1, lat1), (lon2, lat2) in pairwise([start, *waypoints]):
        _, _, distance = GEOD.inv(lon1, lat1, lon2, lat2)
        steps = max(int(distance // 30), 1)
        between = GEOD.npts(lon1, lat1, lon2, lat2, steps - 1) if steps > 1 else []
        # Rounded as the page rounds them (0.1 m), so the stored line can be compared exactly.
        fixes += [(round(lon, 6), round(lat, 6)) for lon, lat in [*between, (lon2, lat2)]]
    return fixes


class Phone:
    """A phone-sized browser tab whose faked position the test moves."""

    def __init__(self, context: Any, page: Any) -> None:
        self.context, self.page = context, page
        self.track: list[tuple[float, float]] = []  # the fixes the page should keep
        self.here = START

    def ready(self) -> None:
        """Wait until the page's script has run (its buttons start disabled until then)."""
        self.page.wait_for_function("!document.getElementById('concern-here').disabled")

    def fixes_seen(self) -> int:
        return int(self.page.locator("#track-summary").get_attribute("data-fixes"))

    def wait_for_fix(self, before: int) -> None:
        self.page.wait_for_function(
            "n => +document.getElementById('track-summary').dataset.fixes > n", arg=before
        )

    def move_to(self, lon: float, lat: float, accuracy: float = 5, kept: bool = True) -> None:
        before = self.fixes_seen()
        self.context.set_geolocation({"longitude": lon, "latitude": lat, "accuracy": accuracy})
        self.wait_for_fix(before)
        if kept:
            self.track.append((lon, lat))
            self.here = (lon, lat)

    def walk(self, leg: str) -> None:
        for lon, lat in _fixes(self.here, LEGS[leg]):
            self.move_to(lon, lat)

    def press(self, name: str) -> None:
        self.page.get_by_role("button", name=name, exact=True).click()

    def item(self, text: str) -> Any:
        return self.page.locator("#recorded li", has_text=text)

    def stored(self) -> dict[str, Any]:
        raw = self.page.evaluate(
            "id => window.localStorage.getItem('walktalk.live.v1.' + id)",
            self.page.url.split("/")[-2],
        )
        loaded: dict[str, Any] = json.loads(raw)
        return loaded


def _collect_problems(page: Any, origin: str) -> list[str]:
    problems: list[str] = []
    page.on("console", lambda m: problems.append(f"console: {m.text}") if m.type == "error" else 0)
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    page.on(
        "request",
        lambda r: problems.append(f"off-server: {r.url}") if not r.url.startswith(origin) else 0,
    )
    page.on("requestfailed", lambda r: problems.append(f"failed: {r.method} {r.url}"))
    return problems


@pytest.fixture
def phone(browser: Any, live_server: str) -> Iterator[Phone]:
    context = browser.new_context(
        viewport=PHONE,
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
        geolocation={"longitude": START[0], "latitude": START[1], "accuracy": 5},
        permissions=["geolocation"],
    )
    yield Phone(context, context.new_page())
    context.close()


def _database(app_settings: Any, sql: str, **params: Any) -> list[Any]:
    engine = create_engine(app_settings.database_url)
    with engine.connect() as conn:
        rows = conn.execute(text(sql), params).all()
    engine.dispose()
    return list(rows)


def _concerns(app_settings: Any, walk_id: str) -> list[Any]:
    return _database(
        app_settings,
        "SELECT ST_X(geom) AS lon, ST_Y(geom) AS lat, categories, text, occurred_at, ward_code "
        "FROM reports WHERE source = 'walk_concern' AND walk_id = :walk ORDER BY occurred_at",
        walk=walk_id,
    )


def _metres(a: tuple[float, float], b: tuple[float, float]) -> float:
    return float(GEOD.inv(a[0], a[1], b[0], b[1])[2])


def test_a_walk_recorded_on_a_phone_through_a_lost_signal(
    phone: Phone, live_server: str, app_settings: Any, issue_token: Any, tmp_path: Path
) -> None:
    import httpx2 as httpx

    officer_token = issue_token("officer", wards=[WATERLOO], name="PC Live")
    now = datetime.now(UTC)
    with httpx.Client(base_url=live_server) as api:
        walk_id = plan_walk(
            api,
            auth(issue_token("supervisor", command_unit="AS")),
            auth(officer_token),
            # Planned to have started an hour ago: a concern stored at the walk's planned
            # time instead of when the phone noted it would show.
            planned_start=(now - timedelta(hours=1)).isoformat(),
            planned_end=(now + timedelta(minutes=30)).isoformat(),
        )
    page = phone.page
    problems = _collect_problems(page, live_server)
    sent: list[str] = []
    page.on(
        "request",
        lambda r: sent.append(f"{r.method} {r.url.split('/')[-1]}") if "/walks/" in r.url else 0,
    )

    # The officer opens the page, is asked to sign in, and comes back to it.
    page.goto(f"{live_server}/walks/{walk_id}/live")
    page.get_by_label("Token").fill(officer_token)
    page.get_by_role("button", name="Sign in").click()
    phone.ready()
    assert page.url == f"{live_server}/walks/{walk_id}/live"
    assert "Press Start" in page.get_by_role("status").inner_text()
    assert page.locator("#location-notice").is_hidden()
    assert page.get_by_role("button", name="Finish").is_disabled()
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    # The keyboard (or a switch) reaches Start first, then "Concern here".
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Start"
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Concern here"
    # "Concern here" is big and at the bottom of the screen, where a thumb reaches.
    concern = page.get_by_role("button", name="Concern here")
    box = concern.bounding_box()
    assert box["height"] >= 60 and box["width"] >= 0.8 * PHONE["width"]
    assert box["y"] > 0.8 * PHONE["height"] and box["y"] + box["height"] <= PHONE["height"]
    small = page.evaluate(
        "[...document.querySelectorAll('button')].filter(b => b.offsetParent !== null)"
        ".filter(b => b.getBoundingClientRect().height < 44).map(b => b.textContent)"
    )
    assert small == []  # every visible touch target is at least 44 px tall

    # Start: the phone's first fix is the start of the track.
    before = phone.fixes_seen()
    phone.press("Start")
    phone.wait_for_fix(before)
    phone.track.append(START)
    assert "Recording the track" in page.get_by_role("status").inner_text()
    phone.move_to(-0.11335, 51.50318)  # about 12 m on
    # A rough fix (cell tower, ±150 m, 300 m away) and a 2 m wobble are left out.
    phone.move_to(-0.1170, 51.5045, accuracy=150, kept=False)
    assert "±150 m" in page.get_by_role("status").inner_text()
    phone.move_to(-0.11337, 51.50319, kept=False)
    phone.walk("york road")
    assert f"Track: {len(phone.track)} points" in page.locator("#track-summary").inner_text()

    # A concern, with a reason and a note.
    concern.tap()
    assert page.evaluate("document.activeElement.id") == "concern-heading"
    first_place = phone.here
    lighting = page.get_by_role("button", name="Poor or no street lighting")
    lighting.tap()
    assert lighting.get_attribute("aria-pressed") == "true"
    page.get_by_label("Short note (optional)").fill("Lights out by the railway arches")
    page.screenshot(path=str(tmp_path / "live-concern.png"))
    phone.press("Save concern")
    phone.item("Poor or no street lighting").get_by_text("sent", exact=True).wait_for()

    # Finishing after 310 m: the service's refusal is shown in plain words, and nothing is lost.
    phone.press("Finish")
    refused = phone.item("Route,")
    refused.get_by_text("shorter than the 500 m").wait_for()
    assert "not accepted" in refused.inner_text()
    assert "shorter than the 500 m" in page.get_by_role("status").inner_text()
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    assert _database(app_settings, "SELECT route FROM walks WHERE id = :id", id=walk_id) == [
        (None,)
    ]
    assert len(phone.stored()["points"]) == len(phone.track)

    # Resume and walk on.
    before = phone.fixes_seen()
    phone.press("Resume")
    phone.wait_for_fix(before)  # the same place again: not a new point
    phone.walk("county hall")

    # The signal goes. A concern noted now is kept on the phone, marked, and not in PostGIS.
    phone.context.set_offline(True)
    page.get_by_text("No signal: recording goes on").wait_for()
    noted_from = datetime.now(UTC)
    concern.tap()
    second_place = phone.here
    phone.press("Save concern")
    waiting = phone.item("Other")
    assert "not sent yet" in waiting.inner_text()
    assert "Offline: 1 item not sent yet" in page.locator("#connection").inner_text()
    waiting.scroll_into_view_if_needed()
    page.screenshot(path=str(tmp_path / "live-offline.png"))
    assert len(_concerns(app_settings, walk_id)) == 1
    kept = [c for c in phone.stored()["concerns"] if c["status"] == "pending"]
    assert [(c["lon"], c["lat"], c["categories"]) for c in kept] == [(*second_place, ["other"])]
    phone.walk("lower marsh")  # recording goes on without signal
    page.wait_for_timeout(500)

    # The signal returns: the concern is sent once, and the refused route is not sent again.
    back_online = datetime.now(UTC)
    phone.context.set_offline(False)
    waiting.get_by_text("sent", exact=True).wait_for()
    assert "Online: everything recorded has been sent" in page.locator("#connection").inner_text()
    assert len(_concerns(app_settings, walk_id)) == 2
    assert sent.count("PUT route") == 1 and sent.count("POST concerns") == 2

    # A reload in the middle of the walk loses nothing and carries on recording.
    page.reload()
    page.get_by_text("carried on after the page reloaded").wait_for()
    assert f"Track: {len(phone.track)} points" in page.locator("#track-summary").inner_text()
    phone.wait_for_fix(0)
    phone.walk("waterloo road")
    page.screenshot(path=str(tmp_path / "live-recording.png"))

    # Finish: the whole track is stored as the walk's route.
    phone.press("Finish")
    page.get_by_text("Route saved:").first.wait_for()
    assert "Waterloo & South Bank" in page.get_by_role("status").inner_text()
    assert phone.item("Route,").get_by_text("sent", exact=True).is_visible()
    page.screenshot(path=str(tmp_path / "live-finished.png"))
    assert (tmp_path / "live-finished.png").stat().st_size > 10_000

    ((points, length_m, trimmed),) = _database(
        app_settings,
        "SELECT ST_NPoints(route), length_m, route_trimmed IS NOT NULL FROM walks WHERE id = :id",
        id=walk_id,
    )
    assert points == len(phone.track)
    walked = GEOD.line_length(*zip(*phone.track, strict=True))
    assert walked > 1000
    assert length_m == pytest.approx(walked, rel=0.01)
    assert trimmed is True

    first, second = _concerns(app_settings, walk_id)
    assert first.categories == ["poor_lighting"]
    assert first.text == "Lights out by the railway arches"
    assert second.categories == ["other"] and second.text is None
    assert _metres((first.lon, first.lat), first_place) < 1
    assert _metres((second.lon, second.lat), second_place) < 1
    assert {first.ward_code, second.ward_code} == {WATERLOO}
    # Stored at the time the phone noted it, not when it arrived or the walk's planned time.
    assert noted_from - timedelta(seconds=1) <= second.occurred_at <= back_online

    # What the service accepted is no longer kept on the phone, and nothing is sent again.
    stored = phone.stored()
    assert stored["points"] == []
    assert all("lon" not in c and "lat" not in c for c in stored["concerns"])
    page.reload()
    page.get_by_text("This walk is finished and its route saved.").wait_for()
    assert phone.page.locator("#recorded li .state-sent").count() == 3
    page.wait_for_timeout(500)
    assert sent.count("PUT route") == 2 and sent.count("POST concerns") == 2

    # The one refusal (422, route too short) is the only problem Chromium saw.
    assert problems == [
        "console: Failed to load resource: the server responded with a status of 422 "
        "(Unprocessable Entity)"
    ]


def test_a_page_opened_over_plain_http_says_location_needs_https(
    browser: Any, live_server: str, app_settings: Any, issue_token: Any
) -> None:
    import httpx2 as httpx

    token = issue_token("officer", wards=[WATERLOO])
    with httpx.Client(base_url=live_server) as api:
        walk_id = plan_walk(api, auth(issue_token("supervisor", command_unit="AS")), auth(token))
    # The same service under a name that is neither HTTPS nor localhost, as a phone on the
    # local network sees http://192.168.x.y:8000: the browser withholds its location there.
    context = browser.new_context(
        viewport=PHONE,
        is_mobile=True,
        has_touch=True,
        permissions=["geolocation"],
        extra_http_headers={"Authorization": f"Bearer {token}"},
    )
    page = context.new_page()
    problems = _collect_problems(page, "http://walk.test")
    page.route(
        "http://walk.test/**",
        lambda route: route.fulfill(
            response=route.fetch(url=route.request.url.replace("http://walk.test", live_server))
        ),
    )
    page.goto(f"http://walk.test/walks/{walk_id}/live")
    notice = page.get_by_role("alert")
    notice.wait_for()
    assert not page.evaluate("window.isSecureContext")
    assert "Location is only available over HTTPS or on localhost" in notice.inner_text()
    assert "http://walk.test" in notice.inner_text()
    assert page.get_by_role("button", name="Start").is_disabled()
    assert problems == []
    context.close()


def test_location_refused_by_the_browser_is_explained(
    browser: Any, live_server: str, app_settings: Any, issue_token: Any
) -> None:
    import httpx2 as httpx

    token = issue_token("officer", wards=[WATERLOO])
    with httpx.Client(base_url=live_server) as api:
        walk_id = plan_walk(api, auth(issue_token("supervisor", command_unit="AS")), auth(token))
    # No geolocation permission: headless Chromium answers the page's request with a refusal.
    context = browser.new_context(
        viewport=PHONE, extra_http_headers={"Authorization": f"Bearer {token}"}
    )
    page = context.new_page()
    problems = _collect_problems(page, live_server)
    page.goto(f"{live_server}/walks/{walk_id}/live")
    page.get_by_role("button", name="Start").click()
    notice = page.get_by_role("alert")
    notice.wait_for()
    assert "did not allow the page to use the phone's location" in notice.inner_text()
    assert "only available over HTTPS or on localhost" in notice.inner_text()
    assert page.get_by_role("status").inner_text() == "Not recording: no location."
    assert page.get_by_role("button", name="Start").is_enabled()  # once allowed, try again
    assert problems == []
    context.close()


def test_a_concern_refused_because_the_sign_in_ended_is_sent_after_signing_in_again(
    phone: Phone, live_server: str, app_settings: Any, issue_token: Any, tmp_path: Path
) -> None:
    import httpx2 as httpx

    token = issue_token("officer", wards=[WATERLOO])
    with httpx.Client(base_url=live_server) as api:
        walk_id = plan_walk(api, auth(issue_token("supervisor", command_unit="AS")), auth(token))
    page = phone.page
    problems = _collect_problems(page, live_server)
    page.goto(f"{live_server}/walks/{walk_id}/live")
    page.get_by_label("Token").fill(token)
    page.get_by_role("button", name="Sign in").click()
    phone.ready()
    before = phone.fixes_seen()
    phone.press("Start")
    phone.wait_for_fix(before)

    # The session runs out in the middle of the walk (sessions last WALKTALK_SESSION_HOURS).
    engine = create_engine(app_settings.database_url)
    with engine.begin() as conn:
        conn.execute(text("UPDATE browser_sessions SET expires_at = now() - interval '1 minute'"))
    engine.dispose()
    noted_from = datetime.now(UTC)
    page.get_by_role("button", name="Concern here").tap()
    phone.press("Save concern")
    refused = phone.item("Other")
    refused.get_by_text("your sign-in has ended").wait_for()
    assert "not accepted" in refused.inner_text()
    assert _concerns(app_settings, walk_id) == []
    assert [c["status"] for c in phone.stored()["concerns"]] == ["refused"]

    # A long refusal wraps: the page still fits the phone.
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    refused.scroll_into_view_if_needed()
    assert refused.get_by_role("link", name="Sign in again").bounding_box()["height"] >= 44
    page.screenshot(path=str(tmp_path / "live-signed-out.png"))
    # Signing in again from the link comes back to the page, which sends what was kept.
    refused.get_by_role("link", name="Sign in again").click()
    page.get_by_label("Token").fill(token)
    page.get_by_role("button", name="Sign in").click()
    phone.item("Other").get_by_text("sent", exact=True).wait_for()
    (stored,) = _concerns(app_settings, walk_id)
    assert _metres((stored.lon, stored.lat), START) < 1
    assert noted_from - timedelta(seconds=1) <= stored.occurred_at <= datetime.now(UTC)
    assert problems == [
        "console: Failed to load resource: the server responded with a status of 403 (Forbidden)"
    ]


def test_answers_that_are_not_the_services_leave_a_concern_unsent_until_it_is_stored(
    phone: Phone, live_server: str, app_settings: Any, issue_token: Any
) -> None:
    import httpx2 as httpx

    token = issue_token("officer", wards=[WATERLOO])
    with httpx.Client(base_url=live_server) as api:
        walk_id = plan_walk(api, auth(issue_token("supervisor", command_unit="AS")), auth(token))
    page = phone.page
    problems = _collect_problems(page, live_server)
    page.goto(f"{live_server}/walks/{walk_id}/live")
    page.get_by_label("Token").fill(token)
    page.get_by_role("button", name="Sign in").click()
    phone.ready()
    before = phone.fixes_seen()
    phone.press("Start")
    phone.wait_for_fix(before)

    # First a wifi portal's page (200, HTML), then the service failing (503), then the service.
    answers = [
        {"status": 200, "content_type": "text/html", "body": "<p>Accept the wifi terms</p>"},
        {"status": 503, "content_type": "application/problem+json", "body": "{}"},
    ]

    def answer(route: Any) -> None:
        if answers:
            route.fulfill(**answers.pop(0))
        else:
            route.continue_()

    page.route(f"{live_server}/walks/{walk_id}/concerns", answer)
    item = phone.item("Other")
    for _ in range(2):
        with page.expect_response(f"{live_server}/walks/{walk_id}/concerns"):
            if not item.count():
                page.get_by_role("button", name="Concern here").tap()
                phone.press("Save concern")
            else:  # the signal comes and goes: the "online" event sends what waits
                phone.context.set_offline(True)
                phone.context.set_offline(False)
        item.get_by_text("not sent yet").wait_for()
        assert _concerns(app_settings, walk_id) == []
    phone.context.set_offline(True)
    phone.context.set_offline(False)
    item.get_by_text("sent", exact=True).wait_for()
    assert len(_concerns(app_settings, walk_id)) == 1
    assert answers == []
    assert problems == [
        "console: Failed to load resource: the server responded with a status of 503 "
        "(Service Unavailable)"
    ]


def test_the_planned_route_shows_and_a_stretch_is_one_concern_with_a_line(
    phone: Phone, live_server: str, app_settings: Any, issue_token: Any
) -> None:
    import httpx2 as httpx

    from tests.browser import serious_axe_violations

    officer_token = issue_token("officer", wards=[WATERLOO], name="PC Stretch")
    now = datetime.now(UTC)
    planned = {
        "type": "LineString",
        "coordinates": [START, *LEGS["york road"], *LEGS["county hall"]],
    }
    with httpx.Client(base_url=live_server) as api:
        walk_id = plan_walk(
            api,
            auth(issue_token("supervisor", command_unit="AS")),
            auth(officer_token),
            planned_start=(now - timedelta(minutes=10)).isoformat(),
            planned_end=(now + timedelta(minutes=30)).isoformat(),
        )
        stored = api.put(f"/walks/{walk_id}/route", headers=auth(officer_token), json=planned)
        assert stored.status_code == 200, stored.text
    page = phone.page
    problems = _collect_problems(page, live_server)
    page.goto(f"{live_server}/walks/{walk_id}/live")
    page.get_by_label("Token").fill(officer_token)
    page.get_by_role("button", name="Sign in").click()
    phone.ready()
    # The planned route is drawn under the track, dashed grey.
    assert page.locator("path[stroke='#505a5f'][stroke-dasharray='6 8']").count() == 1

    before = phone.fixes_seen()
    phone.press("Start")
    phone.wait_for_fix(before)
    phone.track.append(START)
    phone.press("Stretch begins here")
    assert page.get_by_role("button", name="Stretch ends here").get_attribute(
        "aria-pressed"
    ) == "true"
    # Up the first part of York Road, about 160 m (a stretch may be up to 300 m).
    for lon, lat in _fixes(START, LEGS["york road"][:1]):
        phone.move_to(lon, lat)
    phone.press("Stretch ends here")
    page.get_by_role("button", name="Poor or no street lighting").click()
    phone.press("Save concern")
    page.get_by_text("Online: everything recorded has been sent.").wait_for()
    assert page.get_by_role("button", name="Stretch begins here").is_visible()
    assert serious_axe_violations(page) == []
    shots = Path("/tmp/shots/route_live")
    shots.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(shots / "live_stretch_phone.png"), full_page=True)

    rows = _database(
        app_settings,
        "SELECT GeometryType(concern_line) AS kind, ST_NPoints(concern_line) AS n, "
        "ST_Length(concern_line::geography) AS metres, categories FROM reports "
        "WHERE source = 'walk_concern' AND walk_id = :walk",
        walk=walk_id,
    )
    assert len(rows) == 1
    kind, n, metres, categories = rows[0]
    assert kind == "LINESTRING" and n >= 3
    assert 130 < metres < 190  # Waterloo station to the first bend of York Road
    assert categories == ["poor_lighting"]
    assert problems == []
