"""The patrol record page in Chromium, as an officer uses it on a laptop and on her phone."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx2 as httpx
from sqlalchemy import create_engine, text

from tests.browser import ON_LAPTOP_AND_PHONE, serious_axe_violations, sign_in, watched_page

SHOTS = Path("/tmp/shots/patrols")
WATERLOO = "E05014118"


def _patrol(server: str, supervisor: str, number: str) -> str:
    """A patrol in Waterloo planned through the API by a supervisor."""
    with httpx.Client(base_url=server, headers={"Authorization": f"Bearer {supervisor}"}) as api:
        officer = api.post(
            "/officers",
            json={
                "name": "PC Ally",
                "shoulder_number": number,
                "ward_codes": [WATERLOO],
                "command_unit": "AS",
            },
        )
        assert officer.status_code == 201, officer.text
        walk = api.post(
            "/walks",
            json={
                "officer_id": officer.json()["id"],
                "kind": "patrol",
                "planned_start": "2026-11-20T18:00:00+00:00",
                "planned_end": "2026-11-20T20:00:00+00:00",
            },
        )
        assert walk.status_code == 201, walk.text
        return str(walk.json()["id"])


def _record(database_url: str, walk_id: str) -> tuple[Any, ...]:
    engine = create_engine(database_url)
    with engine.connect() as connection:
        row = connection.execute(
            text("SELECT conversations, patrol_themes, patrol_feedback FROM walks WHERE id = :id"),
            {"id": walk_id},
        ).one()
    engine.dispose()
    return tuple(row)


@ON_LAPTOP_AND_PHONE
def test_an_officer_records_her_patrol(
    browser: Any,
    live_server: str,
    app_settings: Any,
    issue_token: Any,
    device: str,
    width: int,
    height: int,
) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    supervisor = issue_token("supervisor", command_unit="AS")
    walk_id = _patrol(live_server, supervisor, f"AS7{width}")
    officer = issue_token("officer", wards=[WATERLOO], name="PC Ally")
    path = f"/work/walks/{walk_id}/patrol"
    with watched_page(browser, live_server, width=width, height=height) as page:
        # From the patrol's own page, as she gets there from her work.
        sign_in(page, live_server, officer, then=f"/work/walks/{walk_id}")
        page.get_by_role("link", name="Patrol record").click()
        page.wait_for_url(f"{live_server}{path}")
        assert page.get_by_role("heading", level=1).inner_text() == "Record the patrol"
        assert "Not yet" in page.locator("#patrol-summary").inner_text()
        assert serious_axe_violations(page) == []
        page.screenshot(path=str(SHOTS / f"record-{device}.png"), full_page=True)

        # A slip: words for the number, and too much feedback. The page says what to fix.
        page.get_by_label("Number of conversations").fill("about ten")
        page.get_by_label("Poor or no street lighting").check()
        page.get_by_label("Your feedback (optional)").fill("z" * 2001)
        page.get_by_role("button", name="Save the patrol record").click()
        summary = page.get_by_role("alert")
        assert "whole number, 0 or more" in summary.inner_text()
        assert "2,000 characters or fewer; it is 2,001" in summary.inner_text()
        assert page.get_by_label("Poor or no street lighting").is_checked()  # kept for her
        assert _record(app_settings.database_url, walk_id) == (None, [], None)
        assert serious_axe_violations(page) == []
        page.screenshot(path=str(SHOTS / f"record-errors-{device}.png"), full_page=True)

        # The error summary takes her to the field to correct.
        summary.get_by_role("link", name="Enter the number of conversations").click()
        assert page.evaluate("document.activeElement.id") == "conversations"
        page.get_by_label("Number of conversations").fill("11")
        page.get_by_label("Being followed").check()
        page.get_by_label("Your feedback (optional)").fill("By bike round Waterloo station.")
        with page.expect_response(
            lambda r: r.url.endswith(path) and r.request.method == "POST"
        ) as posted:
            page.get_by_role("button", name="Save the patrol record").click()
        assert posted.value.status == 303
        assert posted.value.headers["location"] == f"/work/walks/{walk_id}?done=patrol"
        # A function, not a string: in a URL glob "?" is a wildcard.
        # She lands on the walk's page, which says the record was saved.
        page.get_by_role("status").wait_for()
        # (A redirect keeps the fragment the error summary's link left: "#conversations".)
        assert page.url.split("#")[0] == f"{live_server}/work/walks/{walk_id}?done=patrol"
        assert page.get_by_role("status").inner_text() == "Saved."
        recorded = page.locator("dt", has_text="Patrol record").locator(
            "xpath=following-sibling::dd[1]"
        )
        assert recorded.inner_text().startswith("Recorded")
        assert _record(app_settings.database_url, walk_id) == (
            11,
            ["poor_lighting", "followed"],
            "By bike round Waterloo station.",
        )
        page.screenshot(path=str(SHOTS / f"after-record-{device}.png"), full_page=True)
        # The form answered 422 with her slips (Chromium logs that); nothing else went wrong.
        assert page.problems == [
            f"HTTP 422: {live_server}{path}",
            "console error: Failed to load resource: the server responded with a status of 422 "
            "(Unprocessable Entity)",
        ]
