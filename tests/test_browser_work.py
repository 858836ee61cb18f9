"""The officer's day in Chromium: "My work", plan a walk (a tap on the map), the walk's page."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx2 as httpx
from sqlalchemy import create_engine, text

from tests.browser import ON_LAPTOP_AND_PHONE, serious_axe_violations, sign_in, watched_page
from tests.walks import ROUTE

SHOTS = Path("/tmp/shots/work")
WATERLOO = "E05014118"


def _team(server: str, supervisor: str, number: str, database_url: str, token_name: str) -> None:
    """A Waterloo officer (her token linked to her record) and a Waterloo buddy, via the API."""
    with httpx.Client(base_url=server, headers={"Authorization": f"Bearer {supervisor}"}) as api:
        officer = api.post(
            "/officers",
            json={"name": "PC Ada Walker", "shoulder_number": number,
                  "ward_codes": [WATERLOO], "command_unit": "AS"},
        )
        assert officer.status_code == 201, officer.text
        buddy = api.post("/buddies", json={"code": f"WT-ROSE-{number}", "home_ward": WATERLOO})
        assert buddy.status_code == 201, buddy.text
    engine = create_engine(database_url)
    with engine.begin() as connection:
        connection.execute(
            text("UPDATE api_tokens SET officer_id = :o WHERE name = :n"),
            {"o": officer.json()["id"], "n": token_name},
        )
    engine.dispose()


def _walks(database_url: str) -> list[tuple[Any, ...]]:
    engine = create_engine(database_url)
    with engine.connect() as connection:
        rows = connection.execute(
            text("SELECT kind, planned_end - planned_start, meeting_point IS NOT NULL, "
                 "consent_keep_route FROM walks")
        ).all()
    engine.dispose()
    return [tuple(r) for r in rows]


@ON_LAPTOP_AND_PHONE
def test_an_officer_plans_a_walk_from_her_work(
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
    name = f"PC Ada Walker {device}"
    officer = issue_token("officer", wards=[WATERLOO], name=name)
    number = f"AS8{width}"
    _team(live_server, supervisor, number, app_settings.database_url, name)
    day = date.today() + timedelta(days=30)
    with watched_page(browser, live_server, width=width, height=height) as page:
        sign_in(page, live_server, officer)
        assert page.get_by_role("heading", level=1).inner_text() == "My work"
        assert "Requests to take part: 0 new" in page.locator("#requests").inner_text()
        assert serious_axe_violations(page) == []
        page.screenshot(path=str(SHOTS / f"my-work-empty-{device}.png"), full_page=True)

        page.get_by_role("main").get_by_role("link", name="Plan a walk").first.click()
        page.wait_for_url(f"{live_server}/work/walks/new")
        assert page.get_by_role("heading", level=1).inner_text() == "Plan a walk"
        page.locator("#map .leaflet-tile-container, #map canvas, #map svg").first.wait_for(
            state="attached"
        )
        assert serious_axe_violations(page) == []
        page.screenshot(path=str(SHOTS / f"plan-{device}.png"), full_page=True)

        # A slip first: 20 minutes. The page says what to fix and keeps what she chose.
        page.get_by_label("Kind of walk").select_option(label="Commute")
        page.get_by_label("Buddy").select_option(label=f"WT-ROSE-{number}")
        page.get_by_label("Date").fill(day.isoformat())
        page.get_by_label("Start time").fill("07:30")
        page.get_by_label("Length in minutes").fill("20")
        page.locator("#map").click(position={"x": width // 4, "y": 120})
        assert page.locator("#map-status").inner_text() == "Meeting point chosen."
        page.get_by_label("She agrees we keep the route after the walk").check()
        page.get_by_role("button", name="Plan the walk").click()
        summary = page.get_by_role("alert")
        assert "A walk and talk lasts at least 30 minutes" in summary.inner_text()
        assert _walks(app_settings.database_url) == []
        assert page.get_by_label("Buddy").input_value() != ""
        assert page.locator("#lon").input_value() != ""  # the tapped point is kept
        assert serious_axe_violations(page) == []
        page.screenshot(path=str(SHOTS / f"plan-errors-{device}.png"), full_page=True)

        summary.get_by_role("link", name="A walk and talk lasts at least 30 minutes").click()
        assert page.evaluate("document.activeElement.id") == "minutes"
        page.get_by_label("Length in minutes").fill("60")
        page.get_by_role("button", name="Plan the walk").click()
        page.wait_for_url(f"{live_server}/work/walks/*?planned=1")
        assert "The walk is planned" in page.get_by_role("status").inner_text()
        steps = page.locator("#next-steps")
        assert steps.get_by_role("link").first.inner_text() == "Draw the route"
        assert f"WT-ROSE-{number}" in page.locator("#walk-summary").inner_text()
        assert _walks(app_settings.database_url) == [
            ("commute", timedelta(hours=1), True, True)
        ]
        assert serious_axe_violations(page) == []
        page.screenshot(path=str(SHOTS / f"walk-{device}.png"), full_page=True)

        # Once the route is drawn (here through the API), the page briefs her for the time.
        walk_id = page.url.split("/work/walks/")[1].split("?")[0]
        bearer = {"Authorization": f"Bearer {officer}"}
        with httpx.Client(base_url=live_server, headers=bearer) as api:
            assert api.put(f"/walks/{walk_id}/route", json=ROUTE).status_code == 200
        page.reload()
        briefing = page.locator("#briefing").inner_text()
        assert "Dark at the start" in briefing and "Earlier reports within 50 m" in briefing
        assert page.locator("#next-steps").inner_text().startswith("Nothing to do before the walk")
        assert serious_axe_violations(page) == []
        page.screenshot(path=str(SHOTS / f"walk-briefing-{device}.png"), full_page=True)
        # The route map, from the walk's page.
        page.get_by_role("link", name="Open the route map").click()
        page.wait_for_url(f"{live_server}/maps/walks/{walk_id}")
        page.locator(".leaflet-overlay-pane path").first.wait_for()
        page.screenshot(path=str(SHOTS / f"route-map-{device}.png"))
        page.go_back()

        # Back on her work, the walk is upcoming with its next step.
        page.get_by_role("link", name="My work").first.click()
        upcoming = page.locator("#upcoming")
        assert upcoming.get_by_role("link", name=f"{day:%-d %b}", exact=False).count() == 1
        assert upcoming.get_by_role("link", name="Draw the route").count() == 0
        page.screenshot(path=str(SHOTS / f"my-work-{device}.png"), full_page=True)
        # The form answered 422 with her slip (Chromium logs that); nothing else went wrong.
        assert page.problems == [
            f"HTTP 422: {live_server}/work/walks/new",
            "console error: Failed to load resource: the server responded with a status of 422 "
            "(Unprocessable Entity)",
        ]
