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
