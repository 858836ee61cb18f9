"""The planner's lighting map in Chromium, as a Lambeth planner uses it, on a laptop and a phone.

The demo's reports, synthetic requests and street lights (``demo seed``), Lambeth's real
cameras and the SE1 OpenStreetMap clips are loaded; she signs in, follows "Lighting map" in the
header, narrows the map to street lighting, opens a request's popup and follows its link.
axe-core finds nothing serious; nothing is fetched off the server; screenshots are kept under
/tmp/shots/lighting_map for a person to look at.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

from service.queries import demo, demo_requests
from service.settings import Settings
from tests.browser import ON_LAPTOP_AND_PHONE, serious_axe_violations, sign_in, watched_page
from tests.test_api_lighting import BUSY, SOME, _reports
from tests.test_lighting_map import load_assets_and_streets
from tests.walks import auth

pytestmark = pytest.mark.browser

SHOTS = Path("/tmp/shots/lighting_map")
LAMBETH, SOUTHWARK = "E09000022", "E09000028"


#: Requests a Lambeth planner raised: (kind, title, where), a stretch given by its two ends.
RAISED = (
    ("lighting", "Lower Marsh arches", BUSY),
    ("cctv", "Camera on Waterloo Road", SOME),
    ("lighting", "Dark path by the estate", ((-0.1170, 51.4905), (-0.1150, 51.4912))),
    ("vegetation", "Trees over the footway", (-0.1120, 51.4860)),
)


@pytest.fixture
def seeded(app_settings: Settings, live_server: str, issue_token: Any) -> None:
    """Demo reports and synthetic lights, real cameras and SE1 streets, and four requests."""
    database = app_settings.database_url or ""
    engine = create_engine(database)
    with Session(engine) as session, session.begin():
        demo.seed_reports(session, 3000, seed=21)
        demo_requests.seed_planning(session, seed=21)
        # The demo's requests go where its reports are dark, and their darkness follows
        # today's date: on some days one lands in her boroughs, on others none. This map is
        # about the requests she raised; the demo's own requests keep only their lights.
        session.execute(text("DELETE FROM partner_requests WHERE synthetic"))
    engine.dispose()
    _reports(database, BUSY, 24)
    _reports(database, SOME, 12, seed=2)
    load_assets_and_streets(database)
    raiser = auth(issue_token("planner", boroughs=[LAMBETH], name="Lambeth raiser"))
    with httpx.Client(base_url=live_server) as api:
        for kind, title, where in RAISED:
            place = {"line": list(where)} if isinstance(where[0], tuple) else {
                "lon": where[0], "lat": where[1]}
            answer = api.post("/requests", headers=raiser, json={
                "kind": kind, "title": title, **place, "partner_borough": "Lambeth",
                "partner_team": "Street lighting"})
            assert answer.status_code == 201, answer.text


def _clear(page: Any) -> list[bool]:
    """For each request marker, whether it is what a tap at its centre reaches (no panel)."""
    return page.locator(".leaflet-marker-icon.lr-marker").evaluate_all(
        """markers => markers.map(m => {
            const box = m.getBoundingClientRect();
            const hit = document.elementFromPoint(box.left + box.width / 2,
                                                  box.top + box.height / 2);
            return hit !== null && m.contains(hit);
        })"""
    )


def _uncovered_marker(page: Any) -> Any:
    """A request marker no panel covers, as a person would pick one to tap."""
    clear = _clear(page)
    assert any(clear), "every request marker is covered by a panel"
    return page.locator(".leaflet-marker-icon.lr-marker").nth(clear.index(True))


def _shot(page: Any, name: str) -> None:
    """A screenshot once the map has settled.

    Markers glide 0.25 s into place after the opening view's second fit; a picture taken
    mid-way shows them off their lines.
    """
    page.wait_for_timeout(400)
    page.screenshot(path=str(SHOTS / f"{name}.png"))


def _open(page: Any, summary: str) -> None:
    """Unfold a box a phone folded (the filters, the legend)."""
    folded = page.locator("details.map-fold:not([open]) > summary", has_text=summary)
    if folded.count():
        folded.first.click()


@ON_LAPTOP_AND_PHONE
def test_a_planner_finds_filters_and_opens_a_request_on_the_lighting_map(
    browser: Any,
    live_server: str,
    issue_token: Any,
    seeded: None,
    device: str,
    width: int,
    height: int,
) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    planner = issue_token("planner", boroughs=[LAMBETH, SOUTHWARK], name="Pilot planner")
    with watched_page(browser, live_server, width=width, height=height) as page:
        sign_in(page, live_server, planner, then="/")
        page.get_by_role("navigation", name="Main").get_by_role("link", name="Lighting map").click()
        page.wait_for_url(f"{live_server}/maps/lighting")
        page.locator(".lr-marker .lr-pin").first.wait_for()
        # One marker per request her ranking holds: the four she raised and whichever of the
        # demo's synthetic requests fall in her boroughs (where they go follows the demo
        # reports' darkness, which follows today's date).
        ranked = httpx.get(f"{live_server}/lighting/ranking", headers=auth(planner)).json()
        titles = sorted(f["properties"]["title"] for f in ranked["features"])
        assert {title for _, title, _ in RAISED} <= set(titles)
        shown = page.evaluate(
            """() => [...document.querySelectorAll(".leaflet-marker-icon.lr-marker")]
                .map(m => m.getAttribute("title"))"""
        )
        assert sorted(t.split(": ", 1)[1].rsplit(" (", 1)[0] for t in shown) == titles
        every = len(shown)
        layers = page.locator(".leaflet-control-layers label").all_inner_texts()
        names = " | ".join(label.strip() for label in layers)
        for name in ("Ward outlines", "Heatmap of reports", "Inventory coverage",
                     "Streets: lit or not (OSM)", "Gaps nobody has asked about",
                     "Street lights (", "Cameras (", "Requests to partners ("):
            assert name in names, names  # fmt: skip
        # The heat surface is there but off at first; she turns it on and off again.
        heat = page.get_by_label("Heatmap of reports")
        assert not heat.is_checked()
        if device == "phone":  # the layer list is folded behind its button
            page.get_by_role("button", name="Layers").click()
        heat.check()
        page.locator("img.leaflet-image-layer").wait_for()
        heat.uncheck()
        assert page.locator("img.leaflet-image-layer").count() == 0
        if device == "phone":  # a tap on the map folds the list again
            page.locator(".folium-map").click(position={"x": width // 2, "y": height - 200})
        assert page.locator(".lr-cluster").count() > 0  # lights and cameras, grouped
        _shot(page, f"map-{device}")
        # "Top requests" beside the map lists the strongest first: Lower Marsh, 24 reports.
        _open(page, "Top requests")
        strongest = page.locator(".lr-top li").first.inner_text()
        assert "Lower Marsh arches" in strongest and "No. 1 in its borough" in strongest
        if device == "phone":  # and folded away again
            page.locator(".lr-top details.map-fold > summary").click()
        _open(page, "Legend")
        legend = page.locator(".map-legend").inner_text()
        assert "Fisher\u2013Jenks natural breaks" in legend and "Declined" in legend
        _shot(page, f"legend-{device}")
        assert serious_axe_violations(page) == []
        if device == "phone":  # she folds the legend away again, as the filters are under it
            page.locator(".map-legend details.map-fold > summary").click()

        # She narrows the map to street lighting.
        _open(page, "Filters and downloads")
        page.get_by_label("Kind").select_option(label="Street lighting")
        page.get_by_role("button", name="Update map").click()
        page.wait_for_url(f"{live_server}/maps/lighting?kind=lighting")
        page.locator(".lr-marker .lr-pin").first.wait_for()
        lighting = page.locator(".leaflet-marker-icon.lr-marker")
        assert 0 < lighting.count() < every
        _open(page, "Filters and downloads")
        assert page.get_by_label("Kind").input_value() == "lighting"
        assert page.get_by_role("link", name="PDF").get_attribute("href") == (
            "/maps/lighting.pdf?kind=lighting"
        )
        _shot(page, f"filtered-{device}")
        if device == "phone":  # she folds the filters away to see the map
            page.locator(".map-controls details.map-fold > summary").click()
        # She taps a request and reads its popup.
        marker = _uncovered_marker(page)
        title = marker.get_attribute("title")
        marker.click()
        popup = page.locator(".leaflet-popup-content")
        popup.wait_for()
        page.wait_for_function(
            "() => getComputedStyle(document.querySelector('.leaflet-popup')).opacity === '1'"
        )
        said = popup.inner_text()
        reference = title.split(":")[0]
        assert reference in said and "Reports within 50 m" in said and "Status" in said
        _shot(page, f"popup-{device}")
        popup.get_by_role("link", name=f"Open request {reference}").click()
        page.wait_for_url(f"{live_server}/lighting/requests/*")
        assert page.get_by_role("heading", level=1).inner_text() == f"Request {reference}"
        assert page.problems == []


@ON_LAPTOP_AND_PHONE
def test_the_map_opens_with_every_request_clear_of_its_panels(
    browser: Any,
    live_server: str,
    issue_token: Any,
    seeded: None,
    device: str,
    width: int,
    height: int,
) -> None:
    """Requests spread over both boroughs open where she can see them.

    The map used to open fitted under the filters bar only: with requests from Vauxhall to
    Greenland Dock, much wider than tall, on a laptop the western ones lay under "Top requests" and
    "About this map" and the eastern ones under the legend. Each marker's centre must now be
    the marker itself, not a panel.
    """
    for borough, code, title, lon, lat in (
        ("Lambeth", LAMBETH, "Vauxhall arches", -0.1235, 51.4862),
        ("Southwark", SOUTHWARK, "Greenland Dock path", -0.0390, 51.4945),
    ):
        raiser = auth(issue_token("planner", boroughs=[code], name=f"{borough} raiser"))
        answer = httpx.post(f"{live_server}/requests", headers=raiser, json={
            "kind": "lighting", "title": title, "lon": lon, "lat": lat,
            "partner_borough": borough, "partner_team": "Street lighting"})  # fmt: skip
        assert answer.status_code == 201, answer.text
    planner = issue_token("planner", boroughs=[LAMBETH, SOUTHWARK], name="Pilot planner")
    SHOTS.mkdir(parents=True, exist_ok=True)
    with watched_page(browser, live_server, width=width, height=height) as page:
        sign_in(page, live_server, planner, then="/maps/lighting")
        page.locator(".lr-marker .lr-pin").first.wait_for()
        _shot(page, f"opening-{device}")
        markers = page.locator(".leaflet-marker-icon.lr-marker")
        titles = markers.evaluate_all("all => all.map(m => m.getAttribute('title'))")
        assert len(titles) == len(RAISED) + 2
        covered = [title for title, clear in zip(titles, _clear(page), strict=True) if not clear]
        assert covered == [], f"under a panel or off the map: {covered}"
        assert page.problems == []
