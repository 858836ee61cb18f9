"""The pages in a real headless Chromium, served by uvicorn, with no internet and no CDN."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.browser


def test_ward_map_renders_offline_with_tooltips_legend_and_attribution(
    page: Any, live_server: str, tmp_path: Path
) -> None:
    response = page.goto(f"{live_server}/maps/wards")
    assert response.status == 200
    wards = page.locator("path.leaflet-interactive")
    wards.first.wait_for()
    assert wards.count() == 48
    legend = page.locator(".map-legend").inner_text()
    assert "Lambeth" in legend and "Southwark" in legend
    attribution = page.locator(".leaflet-control-attribution").inner_text()
    assert "Office for National Statistics" in attribution
    layers = page.locator(".leaflet-control-layers label").all_inner_texts()
    assert any("Wards (pilot-2024)" in label for label in layers)

    # Hover a ward near the middle of the wards drawn (the map opens clear of its boxes, so
    # not always under the frame's middle): its tooltip names the ward, its code and borough.
    box = page.locator(".folium-map").bounding_box()
    assert box["width"] > 500 and box["height"] > 500
    point = page.evaluate(
        """() => {
            const boxes = [...document.querySelectorAll("path.leaflet-interactive")]
                .map(p => p.getBoundingClientRect());
            const cx = (Math.min(...boxes.map(b => b.left)) +
                        Math.max(...boxes.map(b => b.right))) / 2;
            const cy = (Math.min(...boxes.map(b => b.top)) +
                        Math.max(...boxes.map(b => b.bottom))) / 2;
            for (let r = 0; r < 300; r += 5) {
                for (const [dx, dy] of [[0, 0], [r, 0], [-r, 0], [0, r], [0, -r]]) {
                    const hit = document.elementFromPoint(cx + dx, cy + dy);
                    if (hit && hit.matches("path.leaflet-interactive")) {
                        return [cx + dx, cy + dy];
                    }
                }
            }
            return null;
        }"""
    )
    assert point, "no ward can be hovered"
    page.mouse.move(*point)
    tooltip = page.locator(".leaflet-tooltip")
    tooltip.wait_for()
    text = tooltip.inner_text()
    assert "E05" in text and ("Lambeth" in text or "Southwark" in text)

    page.screenshot(path=str(tmp_path / "wards.png"))
    assert (tmp_path / "wards.png").stat().st_size > 10_000
    assert page.problems == []


def test_api_docs_render_from_the_services_own_assets(page: Any, live_server: str) -> None:
    page.goto(f"{live_server}/docs")
    title = page.locator(".swagger-ui .info .title")
    title.wait_for()
    assert "Walk and Talk Maps" in title.inner_text()
    page.get_by_text("/wards/lookup", exact=True).first.wait_for()
    assert page.problems == []


def test_sign_in_page_in_the_browser(page: Any, live_server: str) -> None:
    page.goto(f"{live_server}/login")
    page.get_by_label("Token").fill("wt_not-a-token")
    page.get_by_role("button", name="Sign in").click()
    assert "unknown, revoked or expired" in page.get_by_role("alert").inner_text()
    # The refused sign-in answers 401, which Chromium logs as a failed resource; nothing else.
    assert sorted(page.problems) == [
        "HTTP 401: " + f"{live_server}/login",
        "console error: Failed to load resource: the server responded with a status of 401 "
        "(Unauthorized)",
    ]


def test_public_report_page_on_a_phone(
    browser: Any, live_server: str, app_settings: Any, issue_token: Any
) -> None:
    from sqlalchemy import create_engine, text

    # A phone standing at Waterloo that lets the page know where it is.
    context = browser.new_context(
        viewport={"width": 390, "height": 844},
        is_mobile=True,
        has_touch=True,
        geolocation={"latitude": 51.5033, "longitude": -0.1136},
        permissions=["geolocation"],
    )
    page = context.new_page()
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    # An officer signed in on this phone: the report must still go anonymously (no cookie, so
    # no session and no CSRF refusal).
    page.goto(f"{live_server}/login")
    page.get_by_label("Token").fill(issue_token("officer", wards=["E05014118"]))
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("button", name="Sign out").wait_for()
    page.goto(f"{live_server}/report")
    assert "not for reporting a crime" in page.locator(".notice").inner_text()
    assert page.get_by_role("link", name="999").get_attribute("href") == "tel:999"
    assert page.get_by_role("link", name="101").get_attribute("href") == "tel:101"
    # Every control is reachable by its label (what a screen reader announces).
    page.get_by_label("Poor or no street lighting").check()
    page.get_by_label("Time of day").select_option("night")
    page.get_by_label("What would help, or what happened there").fill("Needs a light")
    # The page fits the phone: nothing wider than the screen.
    assert page.evaluate("document.documentElement.scrollWidth") <= 390

    # Sending with no place says what is missing, and stores nothing.
    page.get_by_role("button", name="Send my report").click()
    assert "choose the place" in page.locator("#result").inner_text()

    # Tapping the map chooses a place; "use my location" moves it to where the phone is.
    page.locator("#map path").first.wait_for(state="attached")
    box = page.locator("#map").bounding_box()
    page.locator("#map").tap(position={"x": box["width"] / 2, "y": box["height"] / 2})
    assert page.locator("#place-status").inner_text() == "Place chosen on the map."
    page.get_by_role("button", name="Use my location").click()
    page.get_by_text("Place chosen from your location.").wait_for()
    page.get_by_role("button", name="Send my report").click()
    page.get_by_text("Thank you. Your report was received").wait_for()

    engine = create_engine(app_settings.database_url)
    with engine.connect() as conn:
        stored = conn.execute(
            text(
                "SELECT count(*), min(status), min(text), min(ward_code), min(time_band) "
                "FROM reports"
            )
        ).one()
    engine.dispose()
    assert tuple(stored) == (1, "pending", "Needs a light", "E05014118", "night")
    assert problems == []
    context.close()


def test_an_officer_draws_and_saves_a_route(
    browser: Any, live_server: str, app_settings: Any, issue_token: Any
) -> None:
    import httpx2 as httpx
    from sqlalchemy import create_engine, text

    supervisor = {"Authorization": f"Bearer {issue_token('supervisor', command_unit='AS')}"}
    officer_token = issue_token("officer", wards=["E05014118"], name="PC Draw")
    with httpx.Client(base_url=live_server, headers=supervisor) as api:
        officer = api.post(
            "/officers",
            json={
                "name": "PC Draw",
                "shoulder_number": "AS77",
                "ward_codes": ["E05014118"],
                "command_unit": "AS",
            },
        ).json()
        walk = api.post(
            "/walks",
            json={
                "officer_id": officer["id"],
                "buddy_id": api.post(
                    "/buddies", json={"code": "B-DRAW-1", "home_ward": "E05014118"}
                ).json()["id"],
                "kind": "commute",
                "planned_start": "2026-12-03T17:00:00+00:00",
                "planned_end": "2026-12-03T17:45:00+00:00",
            },
        ).json()

    context = browser.new_context(viewport={"width": 1200, "height": 800})
    page = context.new_page()
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.goto(f"{live_server}/walks/{walk['id']}/route/edit")  # sends to sign in first
    page.get_by_label("Token").fill(officer_token)
    page.get_by_role("button", name="Sign in").click()
    page.locator(".leaflet-draw-draw-polyline").wait_for()
    assert page.url.endswith(f"/walks/{walk['id']}/route/edit")

    page.locator(".leaflet-draw-draw-polyline").click()
    box = page.locator(".folium-map").bounding_box()
    # Across the middle of the ward (the map is fitted to it): well over 500 m.
    for fx, fy in ((0.25, 0.45), (0.45, 0.5), (0.6, 0.45), (0.75, 0.55)):
        # As a hand does it: move there, press, release, and pause (quick clicks are a
        # double-click, which Leaflet.draw reads as "finish").
        x, y = box["x"] + box["width"] * fx, box["y"] + box["height"] * fy
        page.mouse.move(x, y, steps=5)
        page.mouse.down()
        page.mouse.up()
        page.wait_for_timeout(400)
    drawn_points = page.locator(".leaflet-editing-icon").count()
    assert drawn_points >= 3
    page.get_by_title("Finish drawing").click()
    page.get_by_text("Line drawn: press Save route.").wait_for()
    page.get_by_role("button", name="Save route").click()
    page.get_by_text("Saved:").wait_for()
    status = page.locator("#route-status").inner_text()
    assert "Waterloo & South Bank" in status and "km" in status

    engine = create_engine(app_settings.database_url)
    with engine.connect() as conn:
        row = conn.execute(
            text(
                "SELECT ST_NPoints(route), length_m, route_trimmed IS NOT NULL FROM walks "
                "WHERE id = :id"
            ),
            {"id": walk["id"]},
        ).one()
    engine.dispose()
    assert row[0] == drawn_points  # the line stored is the line drawn
    assert row[1] > 500
    assert row[2] is True  # and its trimmed copy for other wards' officers

    # The officer then opens the walk's map: the route in 100 m pieces, legend, no errors.
    page.goto(f"{live_server}/maps/walks/{walk['id']}")
    page.locator(".leaflet-control-layers").wait_for()
    assert page.locator("path.leaflet-interactive").count() >= int(row[1] // 100)
    layers = page.locator(".leaflet-control-layers").inner_text()
    assert "This walk's concerns (0)" in layers and "Earlier walk concerns (0)" in layers
    assert problems == []
    context.close()
