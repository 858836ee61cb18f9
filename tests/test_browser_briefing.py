"""The route briefing in a real headless Chromium: sign in, draw a route, ask, read.

Served by uvicorn from a fresh database with no base map, so any request that leaves the
server is a fault. The sunset shown is held to the published time (HM Nautical Almanac
Office / timeanddate.com, London, 21 December 2026: sunset 15:53 GMT).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser import watched_page

pytestmark = pytest.mark.browser

PAGE = "/maps/routes/briefing"
WATERLOO = "E05014118"
D = "\N{EN DASH}"


@pytest.fixture
def page(browser: Any, live_server: str) -> Iterator[Any]:
    with watched_page(browser, live_server, width=1280, height=860) as opened:
        yield opened


def click_map(page: Any, points: list[tuple[float, float]]) -> None:
    """Click points on the map as a hand does: move, press, release, pause.

    Quick clicks would be a double-click, which Leaflet.draw reads as "finish". Each click
    must add its point: one that lands on a moving map, or on the point before it, adds
    none, and is caught here rather than as a puzzling message later.
    """
    box = page.locator(".folium-map").bounding_box()
    points_before = page.locator(".leaflet-editing-icon").count()
    for number, (fx, fy) in enumerate(points, start=1):
        page.mouse.move(box["x"] + box["width"] * fx, box["y"] + box["height"] * fy, steps=5)
        page.mouse.down()
        page.mouse.up()
        expect(page.locator(".leaflet-editing-icon")).to_have_count(points_before + number)
        page.wait_for_timeout(400)


def zoom_in(page: Any) -> None:
    """Press the map's Zoom in button and wait until the zoom has ended (the scale bar moves)."""
    scale = page.locator(".leaflet-control-scale-line").first
    before = scale.inner_text()  # halving the metres always changes the round number shown
    page.get_by_role("button", name="Zoom in").click()
    expect(scale).not_to_have_text(before)


def sign_in_at_the_planning_page(page: Any, live_server: str, token: str) -> None:
    page.goto(f"{live_server}{PAGE}")  # sends to sign in first
    page.get_by_label("Token").fill(token)
    page.get_by_role("button", name="Sign in").click()
    page.locator(".leaflet-draw-draw-polyline").wait_for()
    assert page.url == f"{live_server}{PAGE}"


def test_an_officer_draws_a_route_and_reads_a_winter_evening_briefing(
    page: Any, live_server: str, issue_token: Callable[..., str], tmp_path: Path
) -> None:
    sign_in_at_the_planning_page(
        page, live_server, issue_token("officer", wards=[WATERLOO], name="PC Briefing")
    )
    assert page.get_by_label("Duration (minutes)").input_value() == "45"

    # Pressing the button before drawing says what to do, and goes nowhere.
    page.get_by_role("button", name="Show briefing").click()
    assert page.locator("#briefing-status").inner_text() == (
        "Draw the route first (the line tool, top left)."
    )
    assert page.url == f"{live_server}{PAGE}"

    page.locator(".leaflet-draw-draw-polyline").click()
    # Across the middle of Waterloo & South Bank (the map opens on it), left of the form.
    click_map(page, [(0.12, 0.55), (0.3, 0.62), (0.45, 0.5), (0.6, 0.6)])
    assert page.locator(".leaflet-editing-icon").count() >= 3
    page.get_by_title("Finish drawing").click()
    page.get_by_text("Line drawn: check the start time, then press Show briefing.").wait_for()

    page.get_by_label("Planned start (London time)").fill("2026-12-21T17:00")
    with page.expect_navigation():
        page.get_by_role("button", name="Show briefing").click()

    heading = page.get_by_role("heading", name="Briefing for a planned walk", level=1)
    heading.wait_for()
    briefing = page.locator("aside.briefing")
    text = briefing.inner_text()
    assert f"Monday 21 December 2026, 17:00{D}17:45 GMT (45 minutes)" in text
    sunset = page.locator("dt", has_text="Sunset").locator("xpath=following-sibling::dd[1]")
    hours, minutes = (int(x) for x in sunset.inner_text().split(":"))
    assert abs(hours * 60 + minutes - (15 * 60 + 53)) <= 2
    assert "Dark at the start: Yes." in text
    assert "Walked in the dark: 100% of the route" in text
    assert (
        "Waterloo & South Bank" in briefing.get_by_role("region", name="Wards crossed").inner_text()
    )

    # The map beside the panel: the route in 100 m stretches, layers and legends.
    page.locator(".leaflet-control-layers").wait_for()
    assert "Walk concerns (0)" in page.locator(".leaflet-control-layers").inner_text()
    legends = page.locator(".map-legend").all_inner_texts()
    assert any("Reports, concerns and crimes per 100 m" in legend for legend in legends)
    panel_box, map_box = briefing.bounding_box(), page.locator(".folium-map").bounding_box()
    assert panel_box["x"] == 0 and panel_box["width"] > 300
    assert map_box["x"] >= panel_box["x"] + panel_box["width"] - 1 and map_box["width"] > 700
    stretches = page.locator("path.leaflet-interactive").count()
    assert stretches >= 6  # at least 500 m in 100 m stretches, plus the ward outlines

    page.screenshot(path=str(tmp_path / "briefing.png"))
    assert (tmp_path / "briefing.png").stat().st_size > 20_000
    assert page.problems == []


# Counts the zoom animations the page runs (Leaflet marks the map while one is under way).
COUNT_ZOOM_ANIMATIONS = """
window.zoomAnimations = 0;
new MutationObserver(function (changes) {
  changes.forEach(function (change) {
    if (change.target.classList && change.target.classList.contains("leaflet-zoom-anim") &&
        !(change.oldValue || "").includes("leaflet-zoom-anim")) { window.zoomAnimations += 1; }
  });
}).observe(document, { attributes: true, attributeFilter: ["class"], attributeOldValue: true,
                       subtree: true });
"""


def test_the_map_opens_still_so_a_point_clicked_at_once_is_drawn(
    page: Any, live_server: str, issue_token: Callable[..., str]
) -> None:
    # The map used to open on London and zoom to the wards in a quarter of a second; a point
    # clicked meanwhile hit the moving map, not the line tool, and was lost.
    page.add_init_script(COUNT_ZOOM_ANIMATIONS)
    sign_in_at_the_planning_page(page, live_server, issue_token("supervisor", command_unit="AS"))
    page.locator(".leaflet-draw-draw-polyline").click()
    click_map(page, [(0.4, 0.6)])
    assert page.evaluate("window.zoomAnimations") == 0
    zoom_in(page)  # the observer does see a zoom that animates
    assert page.evaluate("window.zoomAnimations") == 1
    assert page.problems == []


def test_a_short_line_is_caught_on_the_page(
    page: Any, live_server: str, issue_token: Callable[..., str]
) -> None:
    sign_in_at_the_planning_page(page, live_server, issue_token("supervisor", command_unit="AS"))
    # The supervisor's map opens on both boroughs, where a pixel is over 20 m: two zooms in
    # make it about 6 m, so points far enough apart to be two clicks (not a click on the
    # point before, or Leaflet.draw's "finish" within 10 px) are still a slip of the mouse.
    zoom_in(page)
    zoom_in(page)
    page.locator(".leaflet-draw-draw-polyline").click()
    click_map(page, [(0.4, 0.6), (0.43, 0.6)])
    page.get_by_title("Finish drawing").click()
    page.get_by_text("Line drawn: check the start time, then press Show briefing.").wait_for()
    page.get_by_role("button", name="Show briefing").click()
    status = page.locator("#briefing-status").inner_text()
    metres = int(status.removeprefix("The line is ").split(" m long")[0])
    assert 100 < metres < 500, status
    assert status.endswith("a route needs at least 500 m. Draw it again, longer."), status
    assert page.url == f"{live_server}{PAGE}"
    assert page.problems == []
