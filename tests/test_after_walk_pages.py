"""After the walk, as pages: close it, the safeguarding answer, her survey, the buddy's link."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text

from tests.walks import BOROUGH_BANKSIDE, make_walk

SUMMER = {"start": "2026-07-14T17:00:00+00:00", "end": "2026-07-14T18:00:00+00:00"}
# London is on summer time (UTC+1): the planned walk is 18:00 to 19:00 on the form.
GOOD_TIMES = {
    "start_date": "2026-07-14",
    "start_time": "18:10",
    "end_date": "2026-07-14",
    "end_time": "19:05",
}


def _walk(client: TestClient, people: dict, start: str, end: str) -> str:
    return str(make_walk(client, people, start=start, end=end, buddy_ward=BOROUGH_BANKSIDE)["id"])


def _row(client: TestClient, sql: str, walk_id: str) -> Any:
    engine = create_engine(str(client.app.state.settings.database_url))  # type: ignore[attr-defined]
    with engine.connect() as connection:
        row = connection.execute(text(sql), {"id": walk_id}).first()
    engine.dispose()
    return row


def _closed(client: TestClient, walk_id: str) -> Any:
    sql = "SELECT closed_at, actual_start, actual_end FROM walks WHERE id = :id"
    return _row(client, sql, walk_id)


def test_the_close_form_is_filled_with_the_planned_times_in_london_time(
    client: TestClient, people: dict
) -> None:
    walk_id = _walk(client, people, SUMMER["start"], SUMMER["end"])
    shown = client.get(f"/work/walks/{walk_id}/close", headers=people["waterloo"])
    assert shown.status_code == 200
    assert 'value="18:00"' in shown.text and 'value="19:00"' in shown.text
    assert 'value="2026-07-14"' in shown.text
    assert "Was a crime or intelligence disclosed on this walk?" in shown.text


def test_bad_closing_times_answer_the_form_again_and_the_walk_stays_open(
    client: TestClient, people: dict
) -> None:
    walk_id = _walk(client, people, "2026-07-15T17:00:00+00:00", "2026-07-15T18:00:00+00:00")
    url = f"/work/walks/{walk_id}/close"
    future = (datetime.now(UTC) + timedelta(days=2)).date().isoformat()
    cases = [
        ({**GOOD_TIMES, "end_date": future}, "The end is in the future"),
        ({**GOOD_TIMES, "end_time": "18:00"}, "The end must be after the start"),
        ({**GOOD_TIMES, "start_date": "14/07/2026"}, "Enter the date the walk started"),
        ({**GOOD_TIMES, "start_time": "quarter past"}, "Enter the start time"),
        ({**GOOD_TIMES, "end_date": "2026-02-30"}, "Enter the date the walk ended"),
        (GOOD_TIMES, "Answer yes or no: was a crime or intelligence disclosed?"),
        (
            {**GOOD_TIMES, "disclosed": "no", "reference": "CAD 1/JUL"},
            "Nothing was disclosed, so leave the reference empty",
        ),
        ({**GOOD_TIMES, "disclosed": "yes", "reference": "x"}, "3 to 60 characters"),
    ]
    for data, message in cases:
        answer = client.post(url, headers=people["waterloo"], data=data)
        assert answer.status_code == 422, (data, answer.text[:300])
        assert message in answer.text, message
        assert 'class="error-summary' in answer.text or "There is a problem" in answer.text
    assert _closed(client, walk_id).closed_at is None
    assert _row(client, "SELECT 1 FROM safeguarding WHERE walk_id = :id", walk_id) is None


def test_times_far_from_the_plan_are_a_warning_to_confirm_then_the_walk_closes(
    client: TestClient, people: dict
) -> None:
    walk_id = _walk(client, people, "2026-07-16T17:00:00+00:00", "2026-07-16T18:00:00+00:00")
    url = f"/work/walks/{walk_id}/close"
    next_day = {
        "start_date": "2026-07-17",
        "start_time": "18:00",
        "end_date": "2026-07-17",
        "end_time": "19:00",
        "disclosed": "no",
    }
    warned = client.post(url, headers=people["waterloo"], data=next_day)
    assert warned.status_code == 200
    assert "Please check these times" in warned.text and "far from the planned" in warned.text
    assert "Yes, these are the times" in warned.text
    assert _closed(client, walk_id).closed_at is None
    closed = client.post(
        url, headers=people["waterloo"], data={**next_day, "confirm": "yes"}, follow_redirects=False
    )
    assert closed.status_code == 303
    assert closed.headers["location"] == f"/work/walks/{walk_id}?done=close"
    row = _closed(client, walk_id)
    assert row.closed_at is not None
    # 18:00 London in July is 17:00 UTC.
    assert row.actual_start == datetime(2026, 7, 17, 17, 0, tzinfo=UTC)
    assert row.actual_end == datetime(2026, 7, 17, 18, 0, tzinfo=UTC)
    again = client.get(url, headers=people["waterloo"])
    assert "This walk was closed on" in again.text and "Close the walk</button>" not in again.text


def test_a_short_walk_is_a_warning_too(client: TestClient, people: dict) -> None:
    walk_id = _walk(client, people, "2026-07-18T17:00:00+00:00", "2026-07-18T18:00:00+00:00")
    data = {**GOOD_TIMES, "start_date": "2026-07-18", "end_date": "2026-07-18",
            "end_time": "18:25", "disclosed": "no"}
    warned = client.post(f"/work/walks/{walk_id}/close", headers=people["waterloo"], data=data)
    assert warned.status_code == 200 and "lasted 15 minutes, under the scheme" in warned.text
    assert _closed(client, walk_id).closed_at is None


def test_only_the_walks_officers_and_supervisors_close_it(client: TestClient, people: dict) -> None:
    walk_id = _walk(client, people, "2026-07-19T17:00:00+00:00", "2026-07-19T18:00:00+00:00")
    data = {**GOOD_TIMES, "start_date": "2026-07-19", "end_date": "2026-07-19", "disclosed": "no"}
    for who in ("bankside", "partner", "public"):
        refused = client.post(f"/work/walks/{walk_id}/close", headers=people[who], data=data)
        assert refused.status_code in (401, 403), who
    signed_out = client.get(f"/work/walks/{walk_id}/close", follow_redirects=False)
    assert signed_out.status_code == 303
    assert signed_out.headers["location"] == f"/login?next=/work/walks/{walk_id}/close"
    assert _closed(client, walk_id).closed_at is None
    done = client.post(
        f"/work/walks/{walk_id}/close", headers=people["supervisor"], data=data,
        follow_redirects=False,
    )
    assert done.status_code == 303


def test_safeguarding_yes_then_the_reference_later(client: TestClient, people: dict) -> None:
    walk_id = _walk(client, people, "2026-07-20T17:00:00+00:00", "2026-07-20T18:00:00+00:00")
    url = f"/work/walks/{walk_id}/safeguarding"
    missing = client.post(url, headers=people["waterloo"], data={"reference": ""})
    assert missing.status_code == 422 and "Answer yes or no" in missing.text
    assert _row(client, "SELECT 1 FROM safeguarding WHERE walk_id = :id", walk_id) is None
    yes = client.post(url, headers=people["waterloo"], data={"disclosed": "yes"},
                      follow_redirects=False)
    assert yes.status_code == 303
    # The reference is still due: she stays on the page where she can add it.
    assert yes.headers["location"] == f"{url}?done=safeguarding"
    page = client.get(f"{url}?done=safeguarding", headers=people["waterloo"])
    assert "Your answer is saved" in page.text
    assert "Due by" in page.text and "Add the reference" in page.text
    # The walk's page and My work ask for it as a next step until it is given.
    walk_page = f"/work/walks/{walk_id}"
    for shown_at in (walk_page, "/"):
        shown_now = client.get(shown_at, headers=people["waterloo"]).text
        assert "Add the safeguarding reference" in shown_now, shown_at
    short = client.post(url, headers=people["waterloo"], data={"reference": "ab"})
    assert short.status_code == 422 and "3 to 60 characters" in short.text
    given = client.post(url, headers=people["waterloo"], data={"reference": "CAD 4321/20JUL"},
                        follow_redirects=False)
    assert given.status_code == 303 and given.headers["location"].endswith("?done=reference")
    row = _row(client, "SELECT disclosed, reference FROM safeguarding WHERE walk_id = :id", walk_id)
    assert row.disclosed is True and row.reference == "CAD 4321/20JUL"
    shown = client.get(url, headers=people["waterloo"])
    assert "CAD 4321/20JUL" in shown.text and "Add the reference" not in shown.text
    assert "Add the safeguarding reference" not in client.get(
        walk_page, headers=people["waterloo"]
    ).text
    # Answered already: the close form no longer asks the question.
    close = client.get(f"/work/walks/{walk_id}/close", headers=people["waterloo"])
    assert "Was a crime or intelligence disclosed" not in close.text


def test_the_officer_survey_form_checks_then_stores_once(client: TestClient, people: dict) -> None:
    walk_id = _walk(client, people, "2026-07-21T17:00:00+00:00", "2026-07-21T18:00:00+00:00")
    url = f"/work/walks/{walk_id}/officer-survey"
    form = client.get(url, headers=people["waterloo"])
    assert form.status_code == 200 and "Poor or no street lighting" in form.text
    bad = client.post(url, headers=people["waterloo"],
                      data={"walk_useful": "9", "themes": ["not-a-theme"], "notes": "x" * 1001})
    assert bad.status_code == 422
    for message in ("from 1 to 5", "themes from the list", "is another walk", "keep them to"):
        assert message in bad.text, message
    assert _row(client, "SELECT 1 FROM officer_surveys WHERE walk_id = :id", walk_id) is None
    assert client.post(url, headers=people["bankside"],
                       data={"walk_useful": "4", "follow_up_walk": "no"}).status_code == 403
    themes = re.findall(r'name="themes" value="([^"]+)"', form.text)
    sent = client.post(
        url,
        headers=people["waterloo"],
        data={"walk_useful": "4", "themes": themes[:2], "follow_up_walk": "yes", "notes": "Good"},
        follow_redirects=False,
    )
    assert sent.status_code == 303 and sent.headers["location"].endswith("?done=officer_survey")
    row = _row(client, "SELECT walk_useful, themes, follow_up_walk FROM officer_surveys "
               "WHERE walk_id = :id", walk_id)
    assert row.walk_useful == 4 and row.themes == sorted(themes[:2]) and row.follow_up_walk
    summary = client.get(url, headers=people["waterloo"])
    assert "You sent your survey on" in summary.text and "Send your survey" not in summary.text


def _link_url(html: str) -> str:
    found = re.search(r'id="survey-url" href="([^"]+)"', html)
    assert found, html[:500]
    return found.group(1)


def test_the_buddy_link_page_shows_the_same_link_until_a_new_one_replaces_it(
    client: TestClient, people: dict
) -> None:
    walk_id = _walk(client, people, "2026-07-22T17:00:00+00:00", "2026-07-22T18:00:00+00:00")
    url = f"/walks/{walk_id}/buddy-survey-link"
    first = client.get(url, headers=people["waterloo"])
    assert "Make her survey link" in first.text and 'id="survey-url"' not in first.text
    made = client.post(url, headers=people["waterloo"], data={"confirm": "yes"},
                       follow_redirects=False)
    assert made.status_code == 303
    one, two = (client.get(url, headers=people["waterloo"]) for _ in range(2))
    old = _link_url(one.text)
    assert old == _link_url(two.text) and "<svg" in one.text and "<svg" in two.text
    assert "Answered</dt><dd>Not yet" in one.text
    # Replacing asks first, and says the old code stops working; nothing changes yet.
    asked = client.post(url, headers=people["waterloo"], data={"csrf_token": ""})
    assert asked.status_code == 200 and "stop working" in asked.text
    assert _link_url(client.get(url, headers=people["waterloo"]).text) == old
    client.post(url, headers=people["waterloo"], data={"confirm": "yes"})
    new = _link_url(client.get(url, headers=people["waterloo"]).text)
    assert new != old
    answers = {"felt_safer": "4", "police_confidence": "4", "would_recommend": "true"}
    old_path, new_path = old.split("testserver")[-1], new.split("testserver")[-1]
    assert client.post(old_path, data=answers).status_code == 410
    assert client.post(new_path, data=answers).status_code == 201
    after = client.get(url, headers=people["waterloo"])
    assert "She answered her survey on" in after.text and "<svg" not in after.text
    assert 'id="survey-url"' not in after.text


def test_an_expired_link_says_so_and_shows_no_code(client: TestClient, people: dict) -> None:
    walk_id = _walk(client, people, "2026-07-23T17:00:00+00:00", "2026-07-23T18:00:00+00:00")
    url = f"/walks/{walk_id}/buddy-survey-link"
    client.post(url, headers=people["waterloo"], data={"confirm": "yes"})
    engine = create_engine(str(client.app.state.settings.database_url))  # type: ignore[attr-defined]
    with engine.begin() as connection:
        connection.execute(
            text("UPDATE survey_links SET expires_at = now() - interval '1 hour' "
                 "WHERE walk_id = :id"), {"id": walk_id})
    engine.dispose()
    shown = client.get(url, headers=people["waterloo"])
    assert "expired on" in shown.text and "<svg" not in shown.text
    assert "Make her survey link" in shown.text
