"""The supervisors' queues in headless Chromium, as a supervisor uses them, phone and laptop.

She signs in, sees the safeguarding banner, clicks through to the queue and reviews a flag;
then moderates two reports (publish without the text, reject with a reason). Only the first
page is opened by address; everything after is clicked. Screenshots: /tmp/shots/admin_queues/.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text

from service.settings import Settings
from tests.browser import serious_axe_violations, sign_in, watched_page
from tests.test_admin_queues import disclosed_walk, pending_report

pytestmark = pytest.mark.browser

SHOTS = Path("/tmp/shots/admin_queues")
SIZES = {"phone": (390, 844), "laptop": (1280, 800)}


@pytest.mark.parametrize("size", ["phone", "laptop"])
def test_supervisor_reviews_a_flag_and_moderates_two_reports(
    browser: Any,
    live_server: str,
    client: TestClient,
    people: dict,
    issue_token: Any,
    app_settings: Settings,
    size: str,
) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    width, height = SIZES[size]
    due = disclosed_walk(client, people, 12, 18)
    ready = disclosed_walk(client, people, 13, 18)
    engine = create_engine(app_settings.database_url or "")
    with engine.begin() as conn:
        conn.execute(
            text("UPDATE safeguarding SET due_at = now() - interval '1 hour' WHERE walk_id = :id"),
            {"id": due},
        )
    engine.dispose()
    given = client.post(
        f"/walks/{ready}/safeguarding/reference",
        headers=people["waterloo"],
        json={"reference": "CAD-7781-26"},
    )
    assert given.status_code == 200
    named = pending_report(client, "A man called Dave Smith waits by the steps")
    rude = pending_report(client, "rubbish rubbish rubbish")
    token = issue_token("supervisor", command_unit="AS", name="Sgt Amy Cole")

    with watched_page(browser, live_server, width=width, height=height) as page:
        sign_in(page, live_server, token, then="/")
        banner = page.get_by_role("region", name="Safeguarding flags")
        assert re.search(r"\d+ safeguarding flags? needs? a reference, 1 overdue",
                         banner.inner_text())
        page.screenshot(path=str(SHOTS / f"{size}-1-banner.png"), full_page=True)
        banner.get_by_role("link", name="review them").click()
        page.wait_for_url(f"{live_server}/admin/safeguarding")
        assert page.get_by_role("heading", level=1).inner_text() == "Safeguarding flags"
        assert "Email reminders are off" in page.content()
        rows = page.locator("tbody tr")
        assert "Overdue" in rows.first.inner_text()
        assert serious_axe_violations(page) == []
        page.screenshot(path=str(SHOTS / f"{size}-2-queue.png"), full_page=True)

        page.locator(f'a[href="/admin/safeguarding/{ready}"]').click()
        page.wait_for_url(f"{live_server}/admin/safeguarding/{ready}")
        assert "CAD-7781-26" in page.content()
        page.get_by_role("button", name="Close the flag as reviewed").click()
        assert page.get_by_role("alert").is_visible()  # unticked: the error summary
        assert "Tick the box to confirm" in page.content()
        assert serious_axe_violations(page) == []
        page.screenshot(path=str(SHOTS / f"{size}-3-review-error.png"), full_page=True)
        page.get_by_label("I have checked the report with reference CAD-7781-26").check()
        page.get_by_role("button", name="Close the flag as reviewed").click()
        page.wait_for_url(f"{live_server}/admin/safeguarding?done=reviewed")
        assert "The flag was reviewed and closed" in page.content()
        assert page.locator(f'a[href="/admin/safeguarding/{ready}"]').count() == 0

        page.get_by_role("navigation", name="Main").get_by_role("link", name="Moderation").click()
        page.wait_for_url(f"{live_server}/admin/moderation")
        assert page.get_by_role("heading", level=1).inner_text() == "Reports to moderate"
        assert serious_axe_violations(page) == []
        page.screenshot(path=str(SHOTS / f"{size}-4-moderation.png"), full_page=True)

        page.locator(f'tbody a[href="/admin/moderation/{named}"]').click()
        page.wait_for_url(f"{live_server}/admin/moderation/{named}")
        assert "Dave Smith" in page.content()
        page.locator("#map .leaflet-interactive").first.wait_for(state="attached")
        assert serious_axe_violations(page) == []
        page.screenshot(path=str(SHOTS / f"{size}-5-report.png"), full_page=True)
        page.get_by_label("Publish the place and category, without the text").check()
        page.get_by_role("button", name="Save and go to the next report").click()
        page.wait_for_url(re.compile(r".*done=published$"))
        assert "The last report was published" in page.content()

        page.get_by_role("link", name="Reports to moderate").first.click()
        page.locator(f'tbody a[href="/admin/moderation/{rude}"]').click()
        page.wait_for_url(f"{live_server}/admin/moderation/{rude}")
        page.get_by_label("Reject it (it will not be shown)").check()
        page.get_by_role("button", name="Save and go to the next report").click()
        assert "Enter why the report is rejected" in page.content()
        assert serious_axe_violations(page) == []
        page.screenshot(path=str(SHOTS / f"{size}-6-reject-error.png"), full_page=True)
        page.get_by_label("Reason").fill("Not about a place")
        page.get_by_role("button", name="Save and go to the next report").click()
        page.wait_for_url(re.compile(r".*done=hidden$"))
        page.screenshot(path=str(SHOTS / f"{size}-7-after.png"), full_page=True)
        # The two forms answered with errors on purpose (422); nothing else went wrong.
        assert [p for p in page.problems if "422" not in p] == []
        assert f"HTTP 422: {live_server}/admin/safeguarding/{ready}" in page.problems
        assert f"HTTP 422: {live_server}/admin/moderation/{rude}" in page.problems

    engine = create_engine(app_settings.database_url or "")
    with engine.begin() as conn:
        found = dict(
            conn.execute(
                text("SELECT id::text, status FROM reports WHERE id = ANY(:ids)"),
                {"ids": [named, rude]},
            ).all()
        )
        text_left = conn.execute(
            text("SELECT text FROM reports WHERE id = :id"), {"id": named}
        ).scalar()
    engine.dispose()
    assert found == {named: "published", rude: "hidden"}
    assert text_left is None
