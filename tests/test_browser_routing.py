"""Routes along streets in Chromium, as an officer uses them, at laptop and phone sizes.

The SE1 streets are loaded with ``walktalk osm load`` into a fresh database served by uvicorn.
The officer opens her walk's page, asks for the full briefing and reads the better-lit way
beside her route; in the route editor she has her drawn line follow the streets.
Screenshots go to /tmp/shots/routing/.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from playwright.sync_api import expect
from sqlalchemy import create_engine, text

from tests.browser import serious_axe_violations, sign_in, watched_page
from tests.test_routing import OSM, SE1_ROUTE
from tests.walks import walk_with_route

pytestmark = pytest.mark.browser

SHOTS = Path("/tmp/shots/routing")
SIZES = [(1280, 800, "laptop"), (390, 844, "phone")]


@pytest.fixture
def app_settings(fresh_db: str, settings_for: Callable[..., Any]) -> Any:
    """The app with its own base map (the SE1 streets loaded in each test), as it is served."""
    return settings_for(fresh_db, tiles="local")


def token_of(headers: dict[str, str]) -> str:
    return headers["Authorization"].removeprefix("Bearer ")


@pytest.mark.parametrize(("width", "height", "size"), SIZES)
def test_the_walks_briefing_shows_a_better_lit_way_beside_the_route(
    browser: Any,
    live_server: str,
    client: TestClient,
    people: dict,
    walktalk: Callable[..., tuple[int, str, str]],
    width: int,
    height: int,
    size: str,
) -> None:
    assert walktalk("osm", "load", *map(str, OSM))[0] == 0
    SHOTS.mkdir(parents=True, exist_ok=True)
    walk = walk_with_route(client, people, start="2026-12-21T17:00:00+00:00", route=SE1_ROUTE)
    with watched_page(browser, live_server, width=width, height=height) as page:
        sign_in(page, live_server, token_of(people["waterloo"]), then=f"/work/walks/{walk['id']}")
        page.get_by_role("button", name="Open the full briefing, with a better-lit way").click()
        page.get_by_role("heading", name="Briefing for a planned walk", level=1).wait_for()

        section = page.get_by_role("region", name="A better-lit way")
        summary = section.locator("#better-lit-summary").inner_text()
        figures = re.fullmatch(
            r"Better-lit way: ([\d.]+ k?m), (\d+)% unlit \(drawn: ([\d.]+ k?m), (\d+)% unlit\)",
            summary,
        )
        assert figures, summary
        assert int(figures[2]) < int(figures[4])

        # The way on the map: dashed blue, in the layer list and with its own legend.
        page.locator(".leaflet-control-layers").wait_for()
        # (On a phone the layer list is folded behind its button: its text is there, unseen.)
        assert "Better-lit way" in (page.locator(".leaflet-control-layers").text_content() or "")
        dashed = page.locator("path.leaflet-interactive[stroke='#1d70b8']")
        expect(dashed).to_have_count(1)
        assert dashed.get_attribute("stroke-dasharray") == "10 8"
        legends = page.locator(".map-legend").all_inner_texts()
        assert any("Better-lit way" in legend for legend in legends), legends
        if size == "phone":
            # The panel comes first on a phone; the map, with the way on it, below.
            page.locator(".folium-map").scroll_into_view_if_needed()
        assert serious_axe_violations(page) == []
        page.screenshot(path=str(SHOTS / f"briefing_better_lit_{size}.png"))
        section.scroll_into_view_if_needed()
        page.screenshot(path=str(SHOTS / f"briefing_better_lit_panel_{size}.png"))
        assert page.problems == []


def along_the_old_route(page: Any, *, slip_px: float) -> list[tuple[float, float]]:
    """The saved (red) route's start, middle and end as drawn, as fractions of the map.

    The ends are ``slip_px`` off the line, as a hand slips.
    """
    box = page.locator(".folium-map").bounding_box()
    points = page.evaluate(
        """() => {
            const path = document.querySelector(".leaflet-overlay-pane path[stroke='#d7301f']");
            const length = path.getTotalLength();
            const screen = path.getScreenCTM();
            return [0.02, 0.5, 0.98].map(f => {
                const p = path.getPointAtLength(f * length).matrixTransform(screen);
                return [p.x, p.y];
            });
        }"""
    )
    slips = (slip_px, 0, slip_px)
    return [
        ((x - box["x"]) / box["width"], (y + slip - box["y"]) / box["height"])
        for (x, y), slip in zip(points, slips, strict=True)
    ]


def click_map(page: Any, points: list[tuple[float, float]]) -> None:
    """Click points on the map as a hand does (see tests/test_browser_briefing.py)."""
    box = page.locator(".folium-map").bounding_box()
    before = page.locator(".leaflet-editing-icon").count()
    for number, (fx, fy) in enumerate(points, start=1):
        page.mouse.move(box["x"] + box["width"] * fx, box["y"] + box["height"] * fy, steps=5)
        page.mouse.down()
        page.mouse.up()
        expect(page.locator(".leaflet-editing-icon")).to_have_count(before + number)
        page.wait_for_timeout(400)


def stored_route(settings: Any, walk_id: str) -> tuple[int, float]:
    """The saved route's points, and the farthest of them from any OSM street or path (m)."""
    engine = create_engine(settings.database_url)
    with engine.connect() as conn:
        points, farthest = conn.execute(
            text(
                "SELECT ST_NPoints(w.route), max((SELECT min(ST_Distance(f.geom::geography, "
                "d.geom::geography)) FROM osm_features f WHERE f.kind IN ('street', 'path') "
                "AND f.geom && ST_Expand(d.geom, 0.001))) FROM walks w, "
                "LATERAL ST_DumpPoints(w.route) d WHERE w.id = :id GROUP BY w.route"
            ),
            {"id": walk_id},
        ).one()
    engine.dispose()
    return int(points), float(farthest)


@pytest.mark.parametrize(("width", "height", "size"), SIZES)
def test_the_officer_has_her_drawn_line_follow_the_streets_then_saves_it(
    browser: Any,
    live_server: str,
    app_settings: Any,
    client: TestClient,
    people: dict,
    walktalk: Callable[..., tuple[int, str, str]],
    width: int,
    height: int,
    size: str,
) -> None:
    assert walktalk("osm", "load", *map(str, OSM))[0] == 0
    SHOTS.mkdir(parents=True, exist_ok=True)
    walk = walk_with_route(client, people, start="2026-12-22T17:00:00+00:00", route=SE1_ROUTE)
    with watched_page(browser, live_server, width=width, height=height) as page:
        sign_in(page, live_server, token_of(people["waterloo"]), then=f"/work/walks/{walk['id']}")
        page.get_by_role("link", name="Change the route").click()
        page.locator(".leaflet-draw-draw-polyline").wait_for()
        snap = page.get_by_role("button", name="Follow the streets")
        expect(snap).to_be_visible()

        # She draws a new line roughly along the old one, a hand's slips and all.
        page.locator(".leaflet-draw-draw-polyline").click()
        # Near the old route's start, middle and end, wherever the map opened on it.
        click_map(page, along_the_old_route(page, slip_px=6))
        page.get_by_title("Finish drawing").click()
        status = page.locator("#route-status")
        expect(status).to_have_text("Line drawn: press Save route.")

        snap.click()
        expect(status).to_contain_text("The line now follows the streets: ")
        assert "press Save route" in status.inner_text()
        assert page.locator("path.leaflet-interactive[stroke='#d7301f']").count() == 1
        assert serious_axe_violations(page) == []
        page.screenshot(path=str(SHOTS / f"route_follow_streets_{size}.png"))

        page.get_by_role("button", name="Save route").click()
        expect(status).to_contain_text("Saved: ")
        points, farthest = stored_route(app_settings, walk["id"])
        assert points > 3  # along the streets' bends, not the three clicks
        assert farthest < 1.0  # every point on a street or path
        page.screenshot(path=str(SHOTS / f"route_follow_streets_saved_{size}.png"))
        assert page.problems == []
