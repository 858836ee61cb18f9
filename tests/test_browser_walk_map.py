"""The walk's map in headless Chromium, as the walk's officer uses it on a laptop and a phone.

She opens it from the walk's page with 3,000 reports and 300 crimes along the route: the route
is not hidden under the title box or the legends, her walk's three concerns are numbered
purple markers, a group of reports zooms in when she selects it, a concern's popup says when
it was noted and what she wrote, on a phone the legend opens and folds again, and the link
back leads to the walk's page. axe-core finds nothing serious; nothing leaves the server.
Screenshots are kept under /tmp/shots/walkmap/ for a person to look at.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from service.settings import Settings
from tests.browser import ON_LAPTOP_AND_PHONE, serious_axe_violations, sign_in, watched_page
from tests.test_walk_map_page import reports_and_crimes_along, two_walks

pytestmark = pytest.mark.browser

SHOTS = Path("/tmp/shots/walkmap")
WATERLOO = "E05014118"

# Points along the route's dark casing (the line under the coloured stretches) that some
# control (title box, legend, layer list, notice, credit) covers: none may be.
_ROUTE_COVERED = """() => {
    const casing = [...document.querySelectorAll(".leaflet-overlay-pane path")]
        .find(p => p.getAttribute("stroke") === "#333333");
    const length = casing.getTotalLength();
    const screen = casing.getScreenCTM();
    const covered = [];
    for (let i = 0; i <= 60; i++) {
        const at = casing.getPointAtLength(length * i / 60).matrixTransform(screen);
        const hit = document.elementFromPoint(at.x, at.y);
        if (!hit || hit.closest(".leaflet-control")) { covered.push([at.x, at.y]); }
    }
    return covered;
}"""

_UNCOVERED = """all => all.map((el, i) => {
    const r = el.getBoundingClientRect();
    const hit = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
    return hit && el.contains(hit) ? i : -1;
}).filter(i => i >= 0)"""

_ZOOM = """() => {
    const name = Object.keys(window).find(k => /^map_[0-9a-f]+$/.test(k));
    return window[name].getZoom();
}"""


def overlap(a: dict[str, float], b: dict[str, float]) -> bool:
    """Whether two boxes on the screen overlap."""
    return (
        a["x"] < b["x"] + b["width"]
        and b["x"] < a["x"] + a["width"]
        and a["y"] < b["y"] + b["height"]
        and b["y"] < a["y"] + a["height"]
    )


@ON_LAPTOP_AND_PHONE
def test_the_officer_reads_her_walks_map_with_thousands_of_reports(
    browser: Any,
    live_server: str,
    client: TestClient,
    people: dict[str, dict[str, str]],
    app_settings: Settings,
    issue_token: Any,
    device: str,
    width: int,
    height: int,
) -> None:
    made = two_walks(client, people, app_settings)
    walk_id = made["walk"]["id"]
    reports_and_crimes_along(app_settings, walk_id)
    token = issue_token("officer", wards=[WATERLOO], name="PC Map Reader")
    SHOTS.mkdir(parents=True, exist_ok=True)
    phone = device == "phone"

    with watched_page(browser, live_server, width=width, height=height) as page:
        sign_in(page, live_server, token, then=f"/work/walks/{walk_id}")
        page.get_by_role("link", name="Open the route map").click()
        page.wait_for_url(f"{live_server}/maps/walks/{walk_id}")
        page.locator(".leaflet-overlay-pane path").first.wait_for()
        page.locator(".walk-cluster-report").first.wait_for()

        heading = page.get_by_role("heading", level=1, name="Walk route and what was reported")
        assert heading.is_visible()
        title_box = page.locator(".map-title details.map-fold")
        legends = page.locator(".map-legend details.map-fold")
        assert legends.count() == 2
        # Open on a laptop; folded to their one-line summaries on a phone.
        opened = legends.evaluate_all("all => all.filter(d => d.open).length")
        assert opened == (0 if phone else 2)
        assert title_box.evaluate("d => d.open") is (not phone)
        assert page.evaluate(_ROUTE_COVERED) == []
        # This walk's three concerns, numbered, on top of everything else.
        numbers = page.locator(".walk-concern-here")
        assert numbers.count() == 3
        page.wait_for_timeout(500)  # the groups fade in
        page.screenshot(path=str(SHOTS / f"walk-map-{device}.png"))
        assert serious_axe_violations(page) == []

        # Her first concern: when she noted it (London time) and what she wrote.
        page.get_by_role("button", name="1 This walk's concern").click()
        popup = page.locator(".leaflet-popup-content")
        popup.wait_for()
        page.wait_for_timeout(500)  # the popup fades in, the map pans to show it whole
        box = popup.bounding_box()
        title = page.locator(".map-title").bounding_box()
        assert box and title and not overlap(box, title), (box, title)
        assert "Concern 1, noted 1 December 2026, 17:12" in popup.inner_text()
        assert "Lights out under the arch" in popup.inner_text()
        page.screenshot(path=str(SHOTS / f"walk-map-popup-{device}.png"))
        page.locator(".leaflet-popup-close-button").click()
        # Leaflet fades a closed popup out for 200 ms before removing it; until then it still
        # takes the clicks, and the groups re-form after the pan that showed the popup.
        page.locator(".leaflet-popup").wait_for(state="detached")
        page.wait_for_timeout(500)

        # A group of reports zooms in when selected.
        before = page.evaluate(_ZOOM)
        groups = page.locator(".walk-cluster-report")
        # One she can see whole: where the route bends, groups of crimes may lie over it.
        clear = groups.evaluate_all(_UNCOVERED)
        assert clear, "every group of reports is under something"
        group = groups.nth(clear[0])
        assert group.get_attribute("role") == "button"
        assert "unsafe-place reports" in group.text_content()
        group.click()
        page.wait_for_function(f"({_ZOOM})() > {before}")
        page.wait_for_timeout(1000)  # the zoom's and the groups' animations
        page.screenshot(path=str(SHOTS / f"walk-map-zoomed-{device}.png"))

        if phone:
            # The marker legend opens from its summary and folds again.
            markers = page.locator(".map-legend details.map-fold").filter(has_text="Markers")
            markers.locator("summary").click()
            assert markers.evaluate("d => d.open") is True
            assert markers.get_by_text("This walk's concerns (3)", exact=False).is_visible()
            assert "2,000 of 3,000" in markers.inner_text()
            page.screenshot(path=str(SHOTS / f"walk-map-legend-{device}.png"))
            markers.locator("summary").click()
            assert markers.evaluate("d => d.open") is False

        # The way back is the walk's page.
        page.locator(".map-back").get_by_role("link", name="The walk").click()
        page.wait_for_url(f"{live_server}/work/walks/{walk_id}")
        assert page.problems == []
