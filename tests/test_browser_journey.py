"""The whole scheme in Chromium, as its people do it, from a woman's request to a reviewed flag.

A supervisor registers a ward officer and gives her a sign-in token; a woman asks to take part
and reports a place on her phone; the officer accepts her, plans a walk, uploads the route,
notes a concern on her phone on the walk, closes it, answers the safeguarding question, fills
her survey and shows the buddy her survey link; the buddy answers on her own phone; the
supervisor follows the flag through the safeguarding queue and moderates the woman's report.

Each person opens one page by address (the home page, the sign-in page, the survey link the
buddy scans); everything after is a click, and every page they land on is a page, not JSON.
Screenshots: /tmp/shots/journey/.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import create_engine, text

from tests.browser import serious_axe_violations, sign_in, watched_page

pytestmark = pytest.mark.browser

SHOTS = Path("/tmp/shots/journey")
DATA = Path(__file__).parent / "data"
WATERLOO = "E05014118"
LAPTOP, PHONE = (1280, 800), (390, 844)
OFFICER = "PC Jo Marsh"
CONTACT = "jo.buddy@example.org"
REFERENCE = "CAD 5521/05DEC"
LOWER_MARSH = {"longitude": -0.1136, "latitude": 51.5015, "accuracy": 5}


def _sql(database_url: str, sql: str, **params: Any) -> list[Any]:
    engine = create_engine(database_url)
    with engine.begin() as connection:
        result = connection.execute(text(sql), params)
        rows = list(result.all()) if result.returns_rows else []
    engine.dispose()
    return rows


@contextmanager
def person(browser: Any, server: str, size: tuple[int, int], **options: Any) -> Iterator[Any]:
    """A browser of one person's own; fails if any page she lands on is not an HTML page."""
    with watched_page(browser, server, width=size[0], height=size[1], **options) as page:
        not_pages: list[str] = []

        def check(response: Any) -> None:
            request = response.request
            # A redirect (303 after a form) has no body to show; where it leads is checked.
            shown = not 300 <= response.status < 400
            if request.is_navigation_request() and request.frame == page.main_frame and shown:
                kind = response.headers.get("content-type", "")
                if not kind.startswith("text/html"):
                    not_pages.append(f"{response.url}: {kind}")

        page.on("response", check)
        yield page
        assert not_pages == []


def shot(page: Any, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def test_a_walk_from_her_request_to_the_reviewed_flag(
    browser: Any, live_server: str, app_settings: Any, issue_token: Any
) -> None:
    database = str(app_settings.database_url)
    first_supervisor = issue_token("supervisor", command_unit="AS", name="Sgt Ines Hale")

    with person(browser, live_server, LAPTOP) as sergeant:
        # The supervisor registers the officer and issues her token.
        sign_in(sergeant, live_server, first_supervisor, then="/")
        sergeant.get_by_role("navigation", name="Main").get_by_role("link", name="Officers").click()
        sergeant.get_by_label("Name", exact=True).fill(OFFICER)
        sergeant.get_by_label("Shoulder number").fill("501AS")
        sergeant.locator("summary", has_text="Lambeth").click()
        sergeant.get_by_label("Waterloo & South Bank").check()
        sergeant.get_by_role("button", name="Register officer").click()
        sergeant.get_by_role("link", name="Issue a sign-in token for her").click()
        sergeant.get_by_role("button", name="Issue token").click()
        token = sergeant.get_by_label(f"{OFFICER}'s token").input_value()
        assert len(token) > 20
        shot(sergeant, "01-token-issued")

        # A woman asks to take part, and reports a place, on her phone.
        with person(browser, live_server, PHONE, is_mobile=True, has_touch=True) as woman:
            woman.goto(f"{live_server}/")
            woman.get_by_role("link", name="Take part in a walk").first.click()
            # The map has drawn the wards (leaving sooner would cut its request short).
            woman.locator(f"path.ward-{WATERLOO}").wait_for(state="attached")
            woman.get_by_label("Your ward").select_option(WATERLOO)
            woman.get_by_label("Evening (after 5pm)").check()
            woman.get_by_label("Phone number or email address").fill(CONTACT)
            woman.get_by_label(re.compile("Keep my contact details")).check()
            woman.get_by_role("button", name="Send my request").click()
            woman.wait_for_url(re.compile(r".*/take-part/done/WT-[A-Z2-9]{6}$"))
            reference = woman.locator("#reference").inner_text()
            shot(woman, "02-take-part-done")
            woman.get_by_role("link", name="Home").first.click()
            woman.get_by_role("link", name="Tell us where you felt unsafe").click()
            woman.get_by_label("Poor or no street lighting").check()
            woman.get_by_label("Time of day").select_option("night")
            woman.get_by_label("What would help, or what happened there").fill(
                "The path by the arches is dark"
            )
            woman.locator("#map path").first.wait_for(state="attached")
            woman.wait_for_load_state("networkidle")
            box = woman.locator("#map").bounding_box()
            woman.locator("#map").tap(position={"x": box["width"] / 2, "y": box["height"] / 2})
            woman.get_by_role("button", name="Send my report").click()
            woman.get_by_text("Thank you. Your report was received").wait_for()
            assert woman.problems == []

        with person(browser, live_server, LAPTOP) as officer:
            # The officer, at the station: her request, her new buddy, a walk planned.
            sign_in(officer, live_server, token, then="/")
            assert officer.get_by_role("heading", level=1).inner_text() == "My work"
            assert "1 new" in officer.locator("#requests").inner_text()
            officer.get_by_role("link", name="See the requests").click()
            officer.get_by_role("link", name=reference).click()
            assert officer.locator("#contact").inner_text() == CONTACT
            officer.get_by_role("button", name="Accept and make her a buddy").click()
            code = officer.locator("#new-code").inner_text()
            officer.get_by_role("link", name="Plan a walk with her").click()
            officer.wait_for_load_state("networkidle")  # the map has its wards to tap
            tomorrow = datetime.now(ZoneInfo("Europe/London")).date() + timedelta(days=1)
            officer.get_by_label("Kind of walk").select_option(label="Commute")
            assert officer.get_by_label("Buddy").locator("option:checked").inner_text() == code
            officer.get_by_label("Date").fill(tomorrow.isoformat())
            officer.get_by_label("Start time").fill("07:30")
            officer.get_by_label("Length in minutes").fill("60")
            officer.locator("#map").click(position={"x": LAPTOP[0] // 4, "y": 120})
            officer.get_by_label("She agrees we keep the route after the walk").check()
            officer.get_by_role("button", name="Plan the walk").click()
            officer.wait_for_url(re.compile(r".*/work/walks/[0-9a-f-]{36}\?planned=1$"))
            walk_page = officer.url.split("?")[0]
            walk_id = walk_page.rsplit("/", 1)[1]
            shot(officer, "03-walk-planned")

            # Her route: a GPX file from her phone's app, uploaded on the route page.
            officer.locator("#next-steps").get_by_role("link", name="Draw the route").click()
            officer.get_by_text("Upload a route file").click()
            officer.get_by_label("Or upload a GPX or GeoJSON file").set_input_files(
                str(DATA / "waterloo_lower_marsh.gpx")
            )
            officer.get_by_role("button", name="Upload route").click()
            officer.get_by_role("status").filter(has_text="Route saved").wait_for()
            officer.wait_for_load_state("networkidle")  # the map drawn before she leaves it
            shot(officer, "04-route-saved")
            officer.get_by_role("link", name="Back to the walk").click()
            officer.wait_for_url(walk_page)
            assert "Earlier reports within 50 m" in officer.locator("#briefing").inner_text()

            # The day comes: the walk's planned hour is now just past.
            _sql(
                database,
                "UPDATE walks SET planned_start = now() - interval '75 minutes', "
                "planned_end = now() - interval '5 minutes' WHERE id = :id",
                id=walk_id,
            )

            # On the walk, her phone: the walk from her work, its phone page, a concern.
            with person(
                browser,
                live_server,
                PHONE,
                is_mobile=True,
                has_touch=True,
                geolocation=LOWER_MARSH,
                permissions=["geolocation"],
            ) as phone:
                sign_in(phone, live_server, token, then="/")
                phone.locator(f'#needs a[href="/work/walks/{walk_id}"]').click()
                phone.get_by_role("link", name="Phone page on the walk").click()
                phone.wait_for_function("!document.getElementById('concern-here').disabled")
                phone.get_by_role("button", name="Concern here").tap()
                phone.get_by_role("button", name="Poor or no street lighting").tap()
                phone.get_by_label("Short note (optional)").fill("No light under the bridge")
                phone.get_by_role("button", name="Save concern", exact=True).click()
                phone.locator("#recorded li", has_text="Poor or no street lighting").get_by_text(
                    "sent", exact=True
                ).wait_for()
                shot(phone, "05-live-concern")
                assert phone.problems == []

            # Back at the station: close the walk, saying something was disclosed.
            officer.get_by_role("navigation", name="Main").get_by_role(
                "link", name="My work"
            ).click()
            officer.locator("#needs").get_by_role("link", name="Close the walk").click()
            officer.get_by_label("Yes", exact=True).check()
            shot(officer, "06-close")
            officer.get_by_role("button", name="Close the walk").click()
            officer.wait_for_url(f"{walk_page}?done=close")
            steps = officer.locator("#next-steps").get_by_role("link").all_inner_texts()
            assert steps == [
                "Add the safeguarding reference",
                "Fill in your survey",
                "Send the buddy's survey",
            ]
            concerns = officer.locator("#concerns").inner_text()
            assert "Poor or no street lighting" in concerns
            assert "No light under the bridge" in concerns
            shot(officer, "07-walk-closed")

            officer.get_by_role("link", name="Fill in your survey").click()
            officer.get_by_label("4", exact=True).check()
            officer.get_by_label("Poor or no street lighting").check()
            officer.get_by_label("Ask for better street lighting").check()
            officer.get_by_label("Yes", exact=True).check()
            officer.get_by_role("button", name="Send your survey").click()
            officer.wait_for_url(f"{walk_page}?done=officer_survey")

            officer.get_by_role("link", name="Send the buddy's survey").click()
            officer.get_by_role("button", name="Make her survey link").click()
            officer.locator("#survey-qr svg").wait_for()
            survey_url = officer.locator("#survey-url").get_attribute("href")
            shot(officer, "08-survey-link")

            # The buddy scans the code with her own phone and answers.
            with person(browser, live_server, PHONE, is_mobile=True, has_touch=True) as buddy:
                buddy.goto(survey_url)
                buddy.get_by_role(
                    "group", name="After the walk, how safe do you feel"
                ).get_by_label("4").check()
                buddy.get_by_role(
                    "group", name="confidence do you have in your local police"
                ).get_by_label("5").check()
                buddy.get_by_label("Yes").check()
                buddy.get_by_label("Poor or no street lighting").check()
                buddy.get_by_role("button", name="Send my answers").click()
                buddy.get_by_text("Thank you. Your answers are in").wait_for()
                shot(buddy, "09-buddy-survey-done")
                assert buddy.problems == []

            # The supervisor sees the flag waiting for its reference, on any of her pages.
            sergeant.get_by_role("navigation", name="Main").get_by_role(
                "link", name="My work"
            ).click()
            banner = sergeant.get_by_role("region", name="Safeguarding flags")
            assert "1 safeguarding flag needs a reference" in banner.inner_text()
            banner.get_by_role("link", name="review them").click()
            assert sergeant.locator(f'a[href="/admin/safeguarding/{walk_id}"]').count() == 1
            shot(sergeant, "10-safeguarding-queue")

            # The officer gives the reference: the last thing her walk asks of her.
            officer.get_by_role("navigation", name="Main").get_by_role(
                "link", name="My work"
            ).click()
            officer.locator("#needs").get_by_role(
                "link", name="Add the safeguarding reference"
            ).click()
            officer.get_by_label("Reference of the report passed on").fill(REFERENCE)
            officer.get_by_role("button", name="Add the reference").click()
            officer.wait_for_url(f"{walk_page}?done=reference")
            assert officer.locator("#next-steps").inner_text() == (
                "Nothing left to do: the walk is closed and its surveys are in."
            )
            assert "Buddy's survey\nAnswered" in officer.locator("#surveys").inner_text()
            shot(officer, "11-walk-done")
            assert serious_axe_violations(officer) == []
            assert officer.problems == []

        # The supervisor reviews the flag, then moderates the woman's report.
        sergeant.get_by_role("navigation", name="Main").get_by_role(
            "link", name="Safeguarding"
        ).click()
        sergeant.locator(f'a[href="/admin/safeguarding/{walk_id}"]').click()
        assert REFERENCE in sergeant.locator("main").inner_text()
        sergeant.get_by_label(f"I have checked the report with reference {REFERENCE}").check()
        sergeant.get_by_role("button", name="Close the flag as reviewed").click()
        sergeant.wait_for_url(f"{live_server}/admin/safeguarding?done=reviewed")
        sergeant.get_by_role("navigation", name="Main").get_by_role(
            "link", name="Moderation"
        ).click()
        sergeant.locator("tbody tr", has_text="The path by the arches is dark").get_by_role(
            "link"
        ).first.click()
        sergeant.get_by_label("Publish it as written").check()
        sergeant.get_by_role("button", name="Save and go to the next report").click()
        sergeant.wait_for_url(re.compile(r".*done=published$"))
        shot(sergeant, "12-moderated")
        assert sergeant.problems == []

    # What the database holds at the end, and what it does not.
    walk = _sql(
        database,
        "SELECT w.closed_at IS NOT NULL, s.disclosed, s.reference, s.reviewed_by, "
        "(SELECT count(*) FROM officer_surveys o WHERE o.walk_id = w.id), "
        "(SELECT count(*) FROM buddy_surveys b WHERE b.walk_id = w.id), "
        "(SELECT count(*) FROM reports r WHERE r.walk_id = w.id) "
        "FROM walks w JOIN safeguarding s ON s.walk_id = w.id WHERE w.id = :id",
        id=walk_id,
    )
    assert [tuple(r) for r in walk] == [(True, True, REFERENCE, "Sgt Ines Hale", 1, 1, 1)]
    published = _sql(
        database,
        "SELECT status FROM reports WHERE text = 'The path by the arches is dark'",
    )
    assert [r[0] for r in published] == ["published"]
    # Her contact moved to the buddy's protected store; the request keeps none.
    assert _sql(database, "SELECT count(*) FROM participation_contacts")[0][0] == 0
