"""The public report form and what POST /reports tells the public (issue 9, item 13).

The form's date may not be after today in London, and neither may the API's; what the API
says back is shown on the page as it is, so it is in plain words, without field names, codes
or endpoints. The note's box shows what is left as one types and says when a paste was cut.
The page is checked with axe-core in the real headless Chromium.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from playwright.sync_api import expect
from sqlalchemy import create_engine, text

from service.settings import Settings
from tests.browser import watched_page

AXE = Path(__file__).parents[1] / "maps" / "vendor" / "node_modules" / "axe-core" / "axe.min.js"
WATERLOO_BRIDGE = {"lon": -0.1136, "lat": 51.5033}
REPORT = {**WATERLOO_BRIDGE, "categories": ["poor_lighting"], "time_band": "evening"}
# Words of the system that the public should never be shown.
SYSTEM_WORDS = ("time_band", "occurred_at", "GET /", "pilot", "poor_lighting", "YYYY", "';'")


def london_today() -> str:
    return datetime.now(ZoneInfo("Europe/London")).date().isoformat()


@pytest.fixture
def app_settings(fresh_db: str, settings_for: Callable[..., Settings]) -> Settings:
    # More reports a minute than the tests send from one address.
    return settings_for(fresh_db, report_rate_limit=1_000)


def stored_reports(settings: Settings) -> int:
    engine = create_engine(settings.database_url or "")
    with engine.connect() as connection:
        count = int(connection.execute(text("SELECT count(*) FROM reports")).scalar_one())
    engine.dispose()
    return count


# --- the API -------------------------------------------------------------------------------


def test_a_date_after_today_in_london_is_refused_in_plain_words(
    client: TestClient, app_settings: Settings
) -> None:
    today = datetime.now(ZoneInfo("Europe/London")).date()
    tomorrow = (today + timedelta(days=1)).isoformat()
    answer = client.post("/reports", json={**REPORT, "date": tomorrow})
    assert answer.status_code == 422, answer.text
    detail = answer.json()["detail"]
    assert detail.startswith("The date you gave, ")
    assert detail.endswith(
        "is after today (" + f"{today.day} {today:%B %Y}" + " in London): "
        "choose today or an earlier day."
    )
    assert stored_reports(app_settings) == 0
    accepted = client.post("/reports", json={**REPORT, "date": london_today()})
    assert accepted.status_code == 201, accepted.text
    assert stored_reports(app_settings) == 1


@pytest.mark.parametrize(
    ("change", "says"),
    [
        ({"categories": []}, "Choose at least one thing that made you feel unsafe."),
        ({"categories": ["dark"]}, "One of the reasons is not one we know: choose from the list"),
        ({"time_band": "dusk"}, "Choose the time of day from the list."),
        ({"time_band": None}, "Choose the time of day from the list."),
        ({"date": "05/01/2026"}, "We could not read the date: choose a day on the form."),
        ({"date": "1999-12-31"}, "The date is before 1 January 2000: choose a later day."),
        ({"lat": 151.5}, "We could not read the place: choose it on the map again."),
        ({"lon": None}, "We could not read the place: choose it on the map again."),
        ({"text": "x" * 1_001}, "Your note is too long: keep it to 1,000 characters."),
        ({"lon": -2.2, "lat": 53.4}, "this place is outside the area the scheme covers"),
    ],
)
def test_what_the_public_are_told_is_in_plain_words(
    client: TestClient, app_settings: Settings, change: dict[str, Any], says: str
) -> None:
    body = {**REPORT, "date": london_today(), **change}
    body = {k: v for k, v in body.items() if v is not None}
    answer = client.post("/reports", json=body)
    assert answer.status_code == 422, answer.text
    detail = answer.json()["detail"]
    assert says in detail
    assert not [word for word in SYSTEM_WORDS if word in detail], detail
    assert stored_reports(app_settings) == 0


def test_the_forms_latest_date_is_today_in_london(client: TestClient) -> None:
    page = client.get("/report")
    assert f'max="{london_today()}" value="{london_today()}"' in page.text


# --- the page ------------------------------------------------------------------------------


@pytest.fixture
def page(browser: Any, live_server: str) -> Iterator[Any]:
    with watched_page(browser, live_server, width=1280, height=800) as opened:
        opened.context.grant_permissions(["clipboard-read", "clipboard-write"])
        yield opened


def open_form(page: Any, live_server: str) -> None:
    page.goto(f"{live_server}/report")
    page.locator("#map path").first.wait_for()  # the wards have loaded


@pytest.mark.browser
def test_the_note_says_what_is_left_as_one_types(page: Any, live_server: str) -> None:
    open_form(page, live_server)
    count = page.locator("#text-count")
    assert count.inner_text() == "1,000 characters left"
    note = page.get_by_label("What would help, or what happened there")
    assert "text-count" in (note.get_attribute("aria-describedby") or "").split()
    note.press_sequentially("The path by the arches has no lights" + "." * 44)  # 80 characters
    assert count.inner_text() == "920 characters left"
    # Spoken once typing pauses, politely, not at every keystroke.
    spoken = page.locator("#text-count-spoken")
    assert spoken.get_attribute("aria-live") == "polite"
    expect(spoken).to_have_text("920 characters left")
    assert page.problems == []


@pytest.mark.browser
def test_a_paste_that_is_cut_is_said_so(page: Any, live_server: str) -> None:
    open_form(page, live_server)
    note = page.get_by_label("What would help, or what happened there")
    note.fill("A" * 80)
    page.evaluate("text => navigator.clipboard.writeText(text)", "b" * 5_000)
    note.focus()
    page.keyboard.press("End")
    page.keyboard.press("Control+V")
    expect(page.locator("#text-count")).to_have_text("0 characters left")
    assert len(note.input_value()) == 1_000
    cut = page.locator("#text-cut")
    expect(cut).to_be_visible()
    assert cut.inner_text() == (
        "Only the first 920 of the 5,000 characters you pasted fit: a note holds 1,000 "
        "characters, so the rest was left out. Check the end of your note before you send it."
    )
    assert cut.get_attribute("role") == "status"
    # A paste that fits says nothing.
    note.fill("")
    page.evaluate("text => navigator.clipboard.writeText(text)", "c" * 300)
    page.keyboard.press("Control+V")
    expect(page.locator("#text-count")).to_have_text("700 characters left")
    expect(cut).to_be_hidden()
    assert page.problems == []


@pytest.mark.browser
def test_a_date_after_today_is_refused_on_the_page_in_plain_words(
    page: Any, live_server: str
) -> None:
    open_form(page, live_server)
    box = page.locator("#map").bounding_box()
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.get_by_label("Poor or no street lighting").check()
    tomorrow = datetime.now(ZoneInfo("Europe/London")).date() + timedelta(days=1)
    # The date box stops at today; typed past it, the API still refuses.
    assert page.get_by_label("Date").get_attribute("max") == london_today()
    page.get_by_label("Date").fill(tomorrow.isoformat())
    page.get_by_role("button", name="Send my report").click()
    result = page.locator("#result")
    expect(result).to_contain_text("is after today")
    assert result.inner_text().startswith("Your report was not sent: The date you gave, ")
    # The refusal itself is the only thing that went wrong (and the console's note of it).
    assert [p for p in page.problems if "422" not in p] == []
    assert f"HTTP 422: {live_server}/reports" in page.problems


@pytest.mark.browser
@pytest.mark.parametrize(("width", "height"), [(1280, 800), (390, 844)])
def test_axe_finds_nothing_wrong_with_the_form(
    browser: Any, live_server: str, width: int, height: int
) -> None:
    if not AXE.is_file():
        pytest.fail(
            f"axe-core is not installed at {AXE}: run `npm ci --prefix maps/vendor` (make does)",
            pytrace=False,
        )
    with watched_page(browser, live_server, width=width, height=height) as page:
        open_form(page, live_server)
        page.get_by_label("What would help, or what happened there").fill("x" * 10)
        page.add_script_tag(path=str(AXE))
        found = page.evaluate("() => axe.run(document).then(r => r.violations)")
        assert [(v["id"], [n["target"] for n in v["nodes"]]) for v in found] == []
        # Nothing wider than the screen on a phone.
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        assert page.problems == []
