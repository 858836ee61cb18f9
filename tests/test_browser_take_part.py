"""Taking part, in headless Chromium, as people do, on a phone and on a laptop.

A woman asks to take part; the Waterloo officer signs in, finds it and makes her a buddy.

Only the first page of each person is opened by address; everything after is clicked.
Screenshots go to /tmp/shots/take_part/ for a person to look at.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from shapely.geometry import shape

from tests.browser import serious_axe_violations, sign_in, watched_page
from tests.walks import WATERLOO

pytestmark = pytest.mark.browser

SHOTS = Path("/tmp/shots/take_part")
CONTACT = "07700 900456"
SIZES = {"phone": (390, 844), "laptop": (1280, 800)}


def tap_in_ward(page: Any, ward: dict[str, Any]) -> None:
    """Tap the map at a point inside ``ward`` (a GeoJSON Feature from the wards API).

    The ward's outline on the map covers its bounding box in screen pixels; within a ward
    Web Mercator is as good as linear, so the point's place follows by proportion.
    """
    geometry = shape(ward["geometry"])
    inside = geometry.representative_point()
    min_lon, min_lat, max_lon, max_lat = geometry.bounds
    outline = page.locator(f"path.ward-{ward['properties']['code']}")
    outline.wait_for(state="attached")
    page.locator("#map").scroll_into_view_if_needed()
    box = outline.bounding_box()
    x = box["x"] + (inside.x - min_lon) / (max_lon - min_lon) * box["width"]
    y = box["y"] + (max_lat - inside.y) / (max_lat - min_lat) * box["height"]
    page.mouse.click(x, y)


@pytest.mark.parametrize("size", ["phone", "laptop"])
def test_a_woman_asks_and_the_wards_officer_makes_her_a_buddy(
    browser: Any, live_server: str, client: TestClient, issue_token: Any, size: str
) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    width, height = SIZES[size]
    waterloo = client.get(f"/wards/{WATERLOO}").json()

    with watched_page(browser, live_server, width=width, height=height) as page:
        page.goto(f"{live_server}/")
        page.get_by_role("link", name="Take part in a walk").first.click()
        page.wait_for_url(f"{live_server}/take-part")
        assert page.get_by_role("heading", level=1).inner_text() == "Take part in a walk"
        assert serious_axe_violations(page) == []

        # Sent empty: the error summary links each problem to its field.
        page.get_by_role("button", name="Send my request").click()
        summary = page.get_by_role("alert")
        assert "Choose your ward from the list, or tap the map" in summary.inner_text()
        assert "Tick the box" in summary.inner_text()
        page.screenshot(path=str(SHOTS / f"{size}-1-errors.png"), full_page=True)
        assert serious_axe_violations(page) == []
        summary.get_by_role("link", name=re.compile("Enter a phone number")).click()
        assert page.evaluate("document.activeElement.id") == "contact"
        # The 422 answer is the only thing Chromium noted.
        assert all("422" in p for p in page.problems), page.problems
        page.problems.clear()

        tap_in_ward(page, waterloo)
        assert page.get_by_label("Your ward").input_value() == WATERLOO
        assert "Waterloo & South Bank" in page.locator("#place-status").inner_text()
        page.get_by_label("Evening (after 5pm)").check()
        page.get_by_label("Weekend (Saturday or Sunday)").check()
        page.get_by_label("Phone number or email address").fill(CONTACT)
        page.get_by_label(re.compile("Keep my contact details")).check()
        page.screenshot(path=str(SHOTS / f"{size}-2-form.png"), full_page=True)
        page.get_by_role("button", name="Send my request").click()

        page.wait_for_url(re.compile(r".*/take-part/done/WT-[A-Z2-9]{6}$"))
        reference = page.locator("#reference").inner_text()
        assert reference in page.url
        body = page.locator("main").inner_text()
        assert "An officer of Waterloo & South Bank ward will contact you" in body
        assert "within 10 working days" in body and f"quote {reference}" in body
        assert CONTACT not in page.content()
        page.screenshot(path=str(SHOTS / f"{size}-3-done.png"), full_page=True)
        assert serious_axe_violations(page) == []
        assert page.problems == []

    token = issue_token("officer", wards=[WATERLOO], name="PC Walker")
    with watched_page(browser, live_server, width=width, height=height) as page:
        sign_in(page, live_server, token)
        page.get_by_role("link", name="Requests", exact=True).click()
        page.wait_for_url(f"{live_server}/work/requests")
        row = page.get_by_role("row").filter(has_text=reference)
        assert "Waterloo & South Bank" in row.inner_text()
        assert "Evening, Weekend" in row.inner_text() and "New" in row.inner_text()
        assert CONTACT not in page.content()
        page.screenshot(path=str(SHOTS / f"{size}-4-requests.png"), full_page=True)
        assert serious_axe_violations(page) == []

        page.get_by_role("link", name=reference).click()
        assert page.get_by_role("heading", level=1).inner_text() == f"Request {reference}"
        assert page.locator("#contact").inner_text() == CONTACT
        page.screenshot(path=str(SHOTS / f"{size}-5-request.png"), full_page=True)
        assert serious_axe_violations(page) == []

        page.get_by_role("button", name="Accept and make her a buddy").click()
        page.wait_for_url(re.compile(r".*/work/buddies\?new=B-[A-Z2-9]{5}$"))
        code = page.locator("#new-code").inner_text()
        assert code in page.url
        assert page.get_by_role("row").filter(has_text=code).count() == 1
        plan = page.get_by_role("link", name="Plan a walk with her")
        assert re.search(r"/work/walks/new\?buddy=[0-9a-f-]{36}$", plan.get_attribute("href"))
        assert CONTACT not in page.content()
        page.screenshot(path=str(SHOTS / f"{size}-6-buddies.png"), full_page=True)
        assert serious_axe_violations(page) == []

        # Back on the request: its outcome, and no buttons left.
        page.get_by_role("link", name="Requests", exact=True).click()
        page.get_by_role("link", name=reference).click()
        assert "Accepted" in page.locator(".summary-list").inner_text()
        assert page.get_by_role("button", name="Accept and make her a buddy").count() == 0
        assert page.problems == []
