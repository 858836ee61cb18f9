"""A request's life in Chromium, from a walk concern to "Installed" on the walk's page.

Raised by an officer, seen by a planner, moved on by the council (laptop and phone, axe-core,
screenshots under /tmp/shots/requests).
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx2 as httpx

from tests.browser import ON_LAPTOP_AND_PHONE, serious_axe_violations, sign_in, watched_page
from tests.test_requests import GOOD_CSV
from tests.walks import auth, walk_with_route

SHOTS = Path("/tmp/shots/requests")
LAMBETH = "E09000022"


def _walk_with_a_concern(server: str, supervisor: str, officer: str, device: str) -> str:
    """A Waterloo walk with its route and one poor-lighting concern, via the API; its id."""
    people = {"supervisor": auth(supervisor), "waterloo": auth(officer)}
    start = "2026-11-02T17:00:00+00:00" if device == "laptop" else "2026-11-03T17:00:00+00:00"
    with httpx.Client(base_url=server) as api:
        walk = walk_with_route(api, people, start=start)  # type: ignore[arg-type]
        concern = api.post(
            f"/walks/{walk['id']}/concerns",
            headers=people["waterloo"],
            json={"lon": -0.1100, "lat": 51.5074, "categories": ["poor_lighting"],
                  "note": "Lamp out under the arches"},
        )  # fmt: skip
        assert concern.status_code == 201, concern.text
    return str(walk["id"])


def _check(page: Any, name: str, device: str) -> None:
    assert serious_axe_violations(page) == []
    page.screenshot(path=str(SHOTS / f"{name}-{device}.png"), full_page=True)


@ON_LAPTOP_AND_PHONE
def test_a_request_from_a_walk_concern_to_installed(
    browser: Any,
    live_server: str,
    issue_token: Any,
    device: str,
    width: int,
    height: int,
) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    supervisor = issue_token("supervisor", command_unit="AS")
    officer = issue_token("officer", wards=["E05014118"], name=f"PC Ada Walker {device}")
    planner = issue_token("planner", boroughs=[LAMBETH], name=f"Lambeth planner {device}")
    partner = issue_token("partner", boroughs=[LAMBETH], name=f"Lambeth lighting {device}")
    walk_id = _walk_with_a_concern(live_server, supervisor, officer, device)
    installed = date.today() - timedelta(days=3)

    # The officer: one click on the concern, check the prefilled form, confirm.
    with watched_page(browser, live_server, width=width, height=height) as page:
        sign_in(page, live_server, officer, then=f"/work/walks/{walk_id}")
        page.get_by_role("link", name="Ask for a fix here: concern 1").click()
        page.wait_for_url(f"{live_server}/lighting/requests/new?concern=*")
        assert page.get_by_role("heading", level=1).inner_text() == "Raise a request to a partner"
        assert page.get_by_label("Kind of fix").input_value() == "lighting"
        assert page.get_by_label("Council", exact=True).input_value() == LAMBETH
        assert page.get_by_label("Council team").input_value() == "Street lighting"
        assert "Lamp out under the arches" in page.locator("#from-concern").inner_text()
        page.locator("#map .leaflet-marker-icon").wait_for()
        _check(page, "raise-from-concern", device)
        page.get_by_role("button", name="Raise the request").click()
        page.wait_for_url(f"{live_server}/lighting/requests/*?done=raised")
        assert "Request raised" in page.get_by_role("status").first.inner_text()
        assert "1 report and walk concerns" in page.locator("#backing").inner_text()
        reference = page.get_by_role("heading", level=1).inner_text().split()[-1]
        assert "Change the status" not in page.content()
        _check(page, "raised-officer", device)
        assert page.problems == []

    # The planner finds it in her list and opens it: a count, never the reports.
    with watched_page(browser, live_server, width=width, height=height) as page:
        sign_in(page, live_server, planner, then="/lighting/requests")
        page.get_by_label("Status").select_option(label="Proposed")
        page.get_by_role("button", name="Show requests").click()
        page.get_by_role("link", name=reference).click()
        assert "fewer than 10 reports" in page.locator("#backing").inner_text()
        assert "Lamp out under the arches" not in page.content()
        _check(page, "planner-sees", device)
        # She raises one herself on the map: a slip first (no place), then a tap.
        page.get_by_role("link", name="Requests to partners").click()
        page.get_by_role("link", name="Raise a request").click()
        page.get_by_label("Kind of fix").select_option(label="CCTV")
        page.get_by_label("What is asked for").fill("Camera at the Leake Street tunnel")
        page.get_by_label("Council team").fill("Community safety (CCTV)")
        page.get_by_role("button", name="Raise the request").click()
        assert "Tap the map where the fix is needed" in page.get_by_role("alert").inner_text()
        assert page.get_by_label("What is asked for").input_value() == (
            "Camera at the Leake Street tunnel"
        )
        _check(page, "planner-raise-error", device)
        # The map opens on her borough's wards: its middle is inside Lambeth.
        page.locator("#map .leaflet-overlay-pane path").first.wait_for()
        page.locator("#map").click()
        assert page.locator("#map-status").inner_text() == "Place chosen."
        page.get_by_role("button", name="Raise the request").click()
        page.wait_for_url(f"{live_server}/lighting/requests/*?done=raised")
        assert page.get_by_role("heading", level=1).inner_text().startswith("Request RQ-")
        # And imports a file: one bad row stores nothing and is named; then the good file.
        page.get_by_role("link", name="Requests to partners").click()
        page.get_by_label("File of requests").set_input_files(
            files=[{"name": "bad.csv", "mimeType": "text/csv",
                    "buffer": GOOD_CSV.replace(",cctv,", ",cameras,").encode()}]
        )  # fmt: skip
        page.get_by_role("button", name="Import the file").click()
        assert "Line 3: kind 'cameras' is not one of" in page.locator("#file-problems").inner_text()
        _check(page, "planner-import-error", device)
        page.get_by_label("File of requests").set_input_files(
            files=[{"name": "good.csv", "mimeType": "text/csv", "buffer": GOOD_CSV.encode()}]
        )
        page.get_by_role("button", name="Import the file").click()
        page.wait_for_url(f"{live_server}/lighting/requests?done=imported&n=3")
        assert "3 requests stored" in page.get_by_role("status").first.inner_text()
        assert page.locator("#requests tbody tr").count() == 5
        _check(page, "planner-list", device)
        # Each slip answered 422 (Chromium logs that too); nothing else went wrong.
        assert sorted(page.problems) == sorted([
            f"HTTP 422: {live_server}/lighting/requests/new",
            "console error: Failed to load resource: the server responded with a status of 422 "
            "(Unprocessable Entity)",
            f"HTTP 422: {live_server}/lighting/requests/import",
            "console error: Failed to load resource: the server responded with a status of 422 "
            "(Unprocessable Entity)",
        ])  # fmt: skip

    # The Lambeth partner moves it on: sent, accepted, installed with its date.
    with watched_page(browser, live_server, width=width, height=height) as page:
        sign_in(page, live_server, partner, then="/lighting/requests")
        _check(page, "partner-list", device)
        page.get_by_role("link", name=reference).click()
        for label in ("Sent", "Accepted"):
            page.get_by_label("New status").select_option(label=label)
            page.get_by_role("button", name="Change the status").click()
            page.wait_for_url("**?done=status")
            assert page.locator("#status").inner_text().startswith(label)
        # Installed without a date: the form says what to fix.
        page.get_by_label("New status").select_option(label="Installed")
        page.get_by_role("button", name="Change the status").click()
        assert "Give the date it was installed" in page.get_by_role("alert").inner_text()
        _check(page, "partner-error", device)
        page.get_by_label("Install date").fill(installed.isoformat())
        page.get_by_label("Outcome (optional)").fill("Two LED lamps fitted under the arches")
        page.get_by_role("button", name="Change the status").click()
        page.wait_for_url("**?done=status")
        assert page.locator("#status").inner_text() == f"Installed on {installed:%-d %B %Y}"
        history = page.locator("#history").inner_text()
        assert "Sent" in history and "Accepted" in history and "Two LED lamps" in history
        _check(page, "partner-installed", device)
        assert page.problems == [
            f"HTTP 422: {page.url.split('?')[0]}/status",
            "console error: Failed to load resource: the server responded with a status of 422 "
            "(Unprocessable Entity)",
        ]

    # Back on the walk's page, the officer sees what became of it.
    with watched_page(browser, live_server, width=width, height=height) as page:
        sign_in(page, live_server, officer, then=f"/work/walks/{walk_id}")
        raised = page.locator("#raised").inner_text()
        assert reference in raised and f"Installed on {installed:%-d %B %Y}" in raised
        page.locator("#raised").scroll_into_view_if_needed()
        _check(page, "walk-installed", device)
        # Her wards' requests, from the header.
        page.get_by_role("link", name="Council requests").click()
        row = page.locator("#requests tbody tr", has_text=reference)
        assert "Installed" in row.inner_text()
        _check(page, "officer-list", device)
        assert page.problems == []
