"""After the walk in Chromium, on a laptop and a phone: close, safeguarding, survey, QR link."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest

from tests.browser import ON_LAPTOP_AND_PHONE, serious_axe_violations, sign_in, watched_page

SHOTS = Path("/tmp/shots/after_walk")
WATERLOO, BANKSIDE = "E05014118", "E05011095"


def _finished_walk(server: str, supervisor: str, officer: str, day: str, number: str) -> str:
    """A walk in Waterloo planned for a summer evening now past, through the API."""
    with httpx.Client(base_url=server, headers={"Authorization": f"Bearer {supervisor}"}) as api:
        made = api.post(
            "/officers",
            json={"name": "PC After", "shoulder_number": number, "ward_codes": [WATERLOO],
                  "command_unit": "AS"},
        )
        assert made.status_code == 201, made.text
        buddy = api.post("/buddies", json={"code": f"B-AFTER-{number}", "home_ward": BANKSIDE})
        assert buddy.status_code == 201, buddy.text
        walk = api.post(
            "/walks",
            json={
                "officer_id": made.json()["id"],
                "buddy_id": buddy.json()["id"],
                "kind": "commute",
                "planned_start": f"{day}T17:00:00+00:00",
                "planned_end": f"{day}T18:00:00+00:00",
                "consent_keep_route": True,
            },
        )
        assert walk.status_code == 201, walk.text
        return str(walk.json()["id"])


@pytest.mark.parametrize(
    ("device", "width", "height", "day"),
    [("laptop", 1280, 800, "2026-08-04"), ("phone", 390, 844, "2026-08-05")],
)
def test_an_officer_finishes_her_walk(
    browser: Any,
    live_server: str,
    issue_token: Any,
    device: str,
    width: int,
    height: int,
    day: str,
) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    supervisor = issue_token("supervisor", command_unit="AS")
    officer = issue_token("officer", wards=[WATERLOO], name="PC After")
    walk_id = _finished_walk(live_server, supervisor, officer, day, f"AS8{width}")
    walk_page = f"{live_server}/work/walks/{walk_id}"
    with watched_page(browser, live_server, width=width, height=height) as page:
        sign_in(page, live_server, officer, then=f"/work/walks/{walk_id}")
        page.get_by_role("link", name="Close the walk").click()
        page.wait_for_url(f"{walk_page}/close")
        assert page.get_by_role("heading", level=1).inner_text() == "Close the walk"
        # Planned 17:00 UTC in August is 18:00 in London (summer time).
        assert page.get_by_label("Start time").input_value() == "18:00"
        assert page.get_by_label("End time").input_value() == "19:00"
        assert serious_axe_violations(page) == []
        page.screenshot(path=str(SHOTS / f"close-{device}.png"), full_page=True)

        # She forgets the safeguarding question: the page says so and keeps her times.
        page.get_by_label("End time").fill("19:10")
        page.get_by_role("button", name="Close the walk").click()
        summary = page.get_by_role("alert")
        assert "Answer yes or no" in summary.inner_text()
        assert page.get_by_label("End time").input_value() == "19:10"
        assert serious_axe_violations(page) == []
        page.screenshot(path=str(SHOTS / f"close-error-{device}.png"), full_page=True)

        page.get_by_label("Yes", exact=True).check()
        page.get_by_label("Reference of the report passed on (if yes)").fill("CAD 4455/04AUG")
        page.get_by_role("button", name="Close the walk").click()
        page.wait_for_url(lambda url: url == f"{walk_page}?done=close")
        assert "Saved." in page.get_by_role("status").inner_text()

        page.get_by_role("link", name="Fill in your survey").click()
        page.wait_for_url(f"{walk_page}/officer-survey")
        assert serious_axe_violations(page) == []
        page.get_by_label("4", exact=True).check()
        page.get_by_label("Poor or no street lighting").check()
        page.get_by_label("Ask for better street lighting").check()
        page.get_by_label("Yes", exact=True).check()
        page.get_by_label("Notes (optional)").fill("The underpass by the station.")
        page.screenshot(path=str(SHOTS / f"survey-{device}.png"), full_page=True)
        page.get_by_role("button", name="Send your survey").click()
        page.wait_for_url(lambda url: url == f"{walk_page}?done=officer_survey")

        page.get_by_role("link", name="Send the buddy's survey").click()
        page.wait_for_url(f"{live_server}/walks/{walk_id}/buddy-survey-link")
        page.get_by_role("button", name="Make her survey link").click()
        page.locator("#survey-qr svg").wait_for()
        first_url = page.locator("#survey-url").get_attribute("href")
        first_qr = page.locator("#survey-qr").inner_html()
        assert serious_axe_violations(page) == []
        page.screenshot(path=str(SHOTS / f"link-{device}.png"), full_page=True)

        # Back to the walk, and to the link again: the same link and the same code.
        page.get_by_role("link", name="The walk").click()
        page.wait_for_url(walk_page)
        page.get_by_role("link", name="Buddy's survey: not answered yet").click()
        page.locator("#survey-qr svg").wait_for()
        assert page.locator("#survey-url").get_attribute("href") == first_url
        assert page.locator("#survey-qr").inner_html() == first_qr

        # Making a new one asks first, and says the old code stops working.
        page.get_by_role("button", name="Make a new link").click()
        assert "stop working" in page.locator("#confirm-new").inner_text()
        assert serious_axe_violations(page) == []
        page.screenshot(path=str(SHOTS / f"link-confirm-{device}.png"), full_page=True)
        page.get_by_role("link", name="Keep the current link").click()
        page.locator("#survey-qr svg").wait_for()
        assert page.locator("#survey-url").get_attribute("href") == first_url
        # The close form answered 422 once (Chromium logs that); nothing else went wrong.
        assert page.problems == [
            f"HTTP 422: {walk_page}/close",
            "console error: Failed to load resource: the server responded with a status of 422 "
            "(Unprocessable Entity)",
        ]


@ON_LAPTOP_AND_PHONE
def test_a_reference_given_later_on_the_safeguarding_page(
    browser: Any, live_server: str, issue_token: Any, device: str, width: int, height: int
) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    supervisor = issue_token("supervisor", command_unit="AS")
    officer = issue_token("officer", wards=[WATERLOO], name="PC After")
    walk_id = _finished_walk(live_server, supervisor, officer, "2026-08-06", f"AS9{width}")
    path = f"/work/walks/{walk_id}/safeguarding"
    with watched_page(browser, live_server, width=width, height=height) as page:
        sign_in(page, live_server, officer, then=path)
        assert serious_axe_violations(page) == []
        page.get_by_label("Yes", exact=True).check()
        page.get_by_role("button", name="Save the answer").click()
        page.wait_for_url(lambda url: url == f"{live_server}{path}?done=safeguarding")
        assert "Add the report's reference" in page.get_by_role("status").inner_text()
        assert "Due by" in page.locator("#safeguarding-answer").inner_text()
        page.get_by_label("Reference of the report passed on").fill("CRIS 5012345/26")
        page.screenshot(path=str(SHOTS / f"safeguarding-{device}.png"), full_page=True)
        assert serious_axe_violations(page) == []
        page.get_by_role("button", name="Add the reference").click()
        page.wait_for_url(lambda url: url == f"{live_server}/work/walks/{walk_id}?done=reference")
        assert page.problems == []
