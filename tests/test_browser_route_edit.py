"""The route page in Chromium as an officer uses it: upload a file, see it, edit it again."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from tests.browser import serious_axe_violations, sign_in, watched_page

pytestmark = pytest.mark.browser

DATA = Path(__file__).parent / "data"
OSM = sorted((Path(__file__).parents[1] / "data" / "osm").glob("*.osm"))
SHOTS = Path("/tmp/shots/route_live")


@pytest.fixture
def app_settings(fresh_db: str, settings_for: Callable[..., Any]) -> Any:
    """The app with its own base map (the SE1 streets loaded below), as it is served."""
    return settings_for(fresh_db, tiles="local")


def _walk(server: str, issue_token: Any, day: str) -> str:
    import httpx2 as httpx

    supervisor = {"Authorization": f"Bearer {issue_token('supervisor', command_unit='AS')}"}
    with httpx.Client(base_url=server, headers=supervisor) as api:
        officer = api.post(
            "/officers",
            json={
                "name": "PC Upload",
                "shoulder_number": f"AS8{day}",
                "ward_codes": ["E05014118"],
                "command_unit": "AS",
            },
        ).json()
        buddy = api.post("/buddies", json={"code": f"B-UP-{day}", "home_ward": "E05014118"})
        walk = api.post(
            "/walks",
            json={
                "officer_id": officer["id"],
                "buddy_id": buddy.json()["id"],
                "kind": "commute",
                "planned_start": f"2026-12-{day}T17:00:00+00:00",
                "planned_end": f"2026-12-{day}T17:45:00+00:00",
            },
        ).json()
    return str(walk["id"])


def _points(settings: Any, walk_id: str) -> int | None:
    engine = create_engine(settings.database_url)
    with engine.connect() as conn:
        n = conn.execute(
            text("SELECT ST_NPoints(route) FROM walks WHERE id = :id"), {"id": walk_id}
        ).scalar_one()
    engine.dispose()
    return n


@pytest.mark.parametrize(("width", "height", "size"), [(1280, 800, "laptop"), (390, 844, "phone")])
def test_an_officer_uploads_a_route_file_sees_it_and_edits_it_again(
    browser: Any,
    live_server: str,
    app_settings: Any,
    issue_token: Any,
    walktalk: Callable[..., tuple[int, str, str]],
    width: int,
    height: int,
    size: str,
) -> None:
    assert walktalk("osm", "load", *map(str, OSM))[0] == 0  # the base map's streets
    SHOTS.mkdir(parents=True, exist_ok=True)
    walk_id = _walk(live_server, issue_token, "14" if size == "laptop" else "15")
    token = issue_token("officer", wards=["E05014118"], name="PC Upload")
    with watched_page(browser, live_server, width=width, height=height) as page:
        sign_in(page, live_server, token, then=f"/walks/{walk_id}/route/edit")
        page.locator(".leaflet-draw-draw-polyline").wait_for()
        page.get_by_text("Upload a route file").click()
        field = page.get_by_label("Or upload a GPX or GeoJSON file")

        # A file that is not a route: the page again, saying why, and nothing stored.
        field.set_input_files(str(DATA / "waypoints_only.gpx"))
        page.get_by_role("button", name="Upload route").click()
        alert = page.get_by_role("alert")
        assert "waypoints alone are not a route" in alert.inner_text()
        assert _points(app_settings, walk_id) is None
        assert serious_axe_violations(page) == []
        page.screenshot(path=str(SHOTS / f"route_upload_error_{size}.png"))

        # A phone app's GPX track: stored, shown, and the way back to the walk offered.
        page.get_by_label("Or upload a GPX or GeoJSON file").set_input_files(
            str(DATA / "waterloo_lower_marsh.gpx")
        )
        page.get_by_role("button", name="Upload route").click()
        status = page.get_by_role("status").filter(has_text="Route saved")
        assert "km" in status.inner_text()
        assert _points(app_settings, walk_id) == 9
        assert page.get_by_role("link", name="Back to the walk").get_attribute("href") == (
            f"/work/walks/{walk_id}"
        )
        route_path = page.locator("path.leaflet-interactive[stroke='#d7301f']")
        assert route_path.count() == 1
        page.screenshot(path=str(SHOTS / f"route_upload_saved_{size}.png"))

        # Opened again, the saved line is the one Leaflet.draw edits.
        page.reload()
        page.locator(".leaflet-draw-edit-edit").click()
        assert page.locator(".leaflet-editing-icon").count() >= 5
        page.screenshot(path=str(SHOTS / f"route_edit_mode_{size}.png"))
        # The refused file's answer is a 422 (as it should be), which Chromium logs; nothing else.
        assert page.problems == [
            f"HTTP 422: {live_server}/walks/{walk_id}/route/edit",
            "console error: Failed to load resource: the server responded with a status "
            "of 422 (Unprocessable Entity)",
        ]


def test_a_route_over_the_river_shows_the_part_outside_the_area(
    browser: Any,
    live_server: str,
    app_settings: Any,
    issue_token: Any,
    walktalk: Callable[..., tuple[int, str, str]],
) -> None:
    assert walktalk("osm", "load", *map(str, OSM))[0] == 0
    SHOTS.mkdir(parents=True, exist_ok=True)
    walk_id = _walk(live_server, issue_token, "16")
    token = issue_token("officer", wards=["E05014118"], name="PC Upload")
    with watched_page(browser, live_server, width=1280, height=800) as page:
        sign_in(page, live_server, token, then=f"/walks/{walk_id}/route/edit")
        page.get_by_text("Upload a route file").click()
        page.get_by_label("Or upload a GPX or GeoJSON file").set_input_files(
            str(DATA / "over_the_river.geojson")
        )
        page.get_by_role("button", name="Upload route").click()
        notice = page.get_by_role("status").filter(has_text="Route saved").inner_text()
        assert "leaves the scheme's area for its last" in notice
        assert page.get_by_text("Outside the area:").is_visible()
        assert page.locator("path[stroke-dasharray='8 8']").count() == 1
        assert serious_axe_violations(page) == []
        page.screenshot(path=str(SHOTS / "route_outside_area_laptop.png"))
        assert page.problems == []
