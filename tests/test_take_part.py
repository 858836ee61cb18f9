"""The take-part form and the officer's request pages, through the app (TestClient).

A woman asks to walk her route with an officer; the request goes to the officers of her ward,
who accept it (she becomes a buddy by code) or decline it with a reason. Her contact is kept
apart and never reaches anyone else, nor a log line.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

from service.pseudonyms import NotAPseudonym, check_buddy_code, new_code
from service.queries import participation
from service.queries.retention import apply_retention
from service.settings import Settings
from tests.walks import BOROUGH_BANKSIDE, WATERLOO, make_walk

CONTACT = "take-part-woman@example.org"
# Waterloo station's forecourt, inside Waterloo & South Bank.
IN_WATERLOO = {"lon": "-0.1136", "lat": "51.5033"}
GOOD: dict[str, Any] = {
    "ward": WATERLOO,
    "availability": ["evening", "weekend"],
    "contact": CONTACT,
    "consent": "yes",
}


@pytest.fixture
def count(app_settings: Settings) -> Iterator[Any]:
    """Rows in the request and contact tables (committed by the app)."""
    engine = create_engine(app_settings.database_url or "")

    def rows() -> tuple[int, int]:
        with engine.connect() as conn:
            return (
                conn.execute(text("SELECT count(*) FROM participation_requests")).scalar_one(),
                conn.execute(text("SELECT count(*) FROM participation_contacts")).scalar_one(),
            )

    yield rows
    engine.dispose()


@pytest.fixture
def sql(app_settings: Settings) -> Iterator[Any]:
    """Run one query on the app's database and return its rows."""
    engine = create_engine(app_settings.database_url or "")

    def run(query: str, **params: Any) -> list[Any]:
        with engine.begin() as conn:
            return list(conn.execute(text(query), params).all())

    yield run
    engine.dispose()


def ask(client: TestClient, **changes: Any) -> Any:
    """Send the take-part form (GOOD with ``changes``; a value of None leaves the field out)."""
    form = {**GOOD, **changes}
    return client.post(
        "/take-part",
        data={k: v for k, v in form.items() if v is not None},
        follow_redirects=False,
    )


def request_id(sql: Any, reference: str) -> str:
    """The id of the request with this reference."""
    return str(
        sql("SELECT id FROM participation_requests WHERE reference = :r", r=reference)[0].id
    )


def test_the_form_lists_the_active_wards_by_borough(client: TestClient) -> None:
    page = client.get("/take-part")
    assert page.status_code == 200
    assert '<optgroup label="Lambeth">' in page.text
    assert f'<option value="{WATERLOO}">Waterloo &amp; South Bank</option>' in page.text
    assert '<label for="contact">Phone number or email address</label>' in page.text
    # The retention setting, in her consent.
    assert re.search(r"deleted after\s+24\s+months", page.text)


def test_a_request_by_ward_stores_her_contact_apart_and_shows_her_reference(
    client: TestClient, sql: Any
) -> None:
    answer = ask(client)
    assert answer.status_code == 303
    location = answer.headers["location"]
    assert re.fullmatch(r"/take-part/done/WT-[A-HJ-NP-Z2-9]{6}", location), location
    reference = location.rsplit("/", 1)[1]
    (row,) = sql(
        "SELECT r.ward_code, r.borough_code, r.availability, r.status, c.contact, c.consent_at "
        "FROM participation_requests r JOIN participation_contacts c ON c.request_id = r.id "
        "WHERE r.reference = :r",
        r=reference,
    )
    assert (row.ward_code, row.borough_code) == (WATERLOO, "E09000022")
    assert row.availability == ["evening", "weekend"] and row.status == "new"
    assert row.contact == CONTACT and row.consent_at is not None
    done = client.get(location)
    assert done.status_code == 200
    assert reference in done.text and "Waterloo &amp; South Bank" in done.text
    assert "within 10 working days" in done.text and "101" in done.text
    assert CONTACT not in done.text


def test_a_tap_on_the_map_finds_her_ward_and_the_point_is_not_kept(
    client: TestClient, sql: Any
) -> None:
    lookup = client.get("/wards/lookup", params=IN_WATERLOO)
    assert lookup.json()["code"] == WATERLOO
    answer = ask(client, ward="", **IN_WATERLOO)
    assert answer.status_code == 303, answer.text
    (row,) = sql("SELECT * FROM participation_requests")
    assert row.ward_code == WATERLOO
    # The request has no place but its ward: no column could hold the point.
    assert not any(isinstance(v, str) and "51.5033" in v for v in row._mapping.values())


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"ward": None}, "ward", "Choose your ward from the list, or tap the map"),
        ({"ward": ""}, "ward", "Choose your ward from the list, or tap the map"),
        ({"ward": "E05999999"}, "ward", "Choose your ward from the list"),
        ({"ward": "", "lon": "0.9", "lat": "51.2"}, "ward", "outside the wards this scheme"),
        ({"ward": "", "lon": "west", "lat": "51.5"}, "ward", "outside the wards this scheme"),
        ({"availability": None}, "availability-early_morning", "at least one time"),
        ({"availability": ["midnight"]}, "availability-early_morning", "early morning, evening"),
        ({"contact": "   "}, "contact", "Enter a phone number or email address so"),
        ({"contact": "x" * 201}, "contact", "at most 200 characters"),
        ({"consent": None}, "consent", "Tick the box to let us keep your contact details"),
    ],
)
def test_a_wrong_value_answers_the_form_again_and_stores_nothing(
    client: TestClient, count: Any, changes: dict[str, Any], field: str, message: str
) -> None:
    answer = ask(client, **changes)
    assert answer.status_code == 422
    assert answer.headers["content-type"].startswith("text/html")
    assert f'<a href="#{field}">' in answer.text and message in answer.text
    assert f'id="{field}"' in answer.text  # the summary's link lands on the field
    assert count() == (0, 0)


def test_the_form_keeps_what_she_typed_when_something_is_missing(client: TestClient) -> None:
    answer = ask(client, consent=None)
    assert answer.status_code == 422
    assert f'value="{CONTACT}"' in answer.text
    assert 'value="evening" checked' in answer.text
    assert f'<option value="{WATERLOO}" selected>' in answer.text


def test_a_body_over_the_limit_is_refused_and_nothing_stored(
    client: TestClient, count: Any
) -> None:
    answer = ask(client, contact="x" * 2_100_000)
    assert answer.status_code == 413
    assert "bytes" in answer.text
    assert count() == (0, 0)
    # Sent by a browser, the refusal is a page that says what to do.
    page = client.post(
        "/take-part",
        data={"ward": WATERLOO, "contact": "x" * 2_100_000, "consent": "yes"},
        headers={"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"},
    )
    assert page.status_code == 413 and page.headers["content-type"].startswith("text/html")
    assert "shorten what you typed, go back and send it again" in page.text
    assert count() == (0, 0)


def test_a_connection_may_send_ten_requests_a_minute(client: TestClient, count: Any) -> None:
    for _ in range(10):
        assert ask(client).status_code == 303
    eleventh = ask(client)
    assert eleventh.status_code == 429
    assert "try again in a minute" in eleventh.text
    assert count() == (10, 10)


def test_the_request_goes_to_its_wards_officers_and_supervisors_only(
    client: TestClient, people: dict[str, dict[str, str]], sql: Any
) -> None:
    reference = ask(client).headers["location"].rsplit("/", 1)[1]
    rid = request_id(sql, reference)
    mine = client.get("/work/requests", headers=people["waterloo"])
    assert mine.status_code == 200 and reference in mine.text
    assert "Evening, Weekend" in mine.text and "today" in mine.text
    assert CONTACT not in mine.text  # the list never shows how to reach her
    other = client.get("/work/requests", headers=people["bankside"])
    assert other.status_code == 200 and reference not in other.text
    detail = client.get(f"/work/requests/{rid}", headers=people["waterloo"])
    assert detail.status_code == 200 and CONTACT in detail.text
    assert client.get(f"/work/requests/{rid}", headers=people["supervisor"]).text.count(CONTACT)
    refused = client.get(f"/work/requests/{rid}", headers=people["bankside"])
    assert refused.status_code == 403 and CONTACT not in refused.text
    assert f"officers of ward {WATERLOO}" in refused.text
    partner = client.get(f"/work/requests/{rid}", headers=people["partner"])
    assert partner.status_code == 403 and CONTACT not in partner.text
    signed_out = client.get(f"/work/requests/{rid}", follow_redirects=False)
    assert signed_out.status_code == 303
    assert signed_out.headers["location"] == f"/login?next=/work/requests/{rid}"
    # Reading her contact is audited.
    audited = sql("SELECT action, target FROM audit_log WHERE action = 'read take-part contact'")
    assert {a.target for a in audited} == {rid}


def test_her_contact_is_in_no_log_line(
    client: TestClient, people: dict[str, dict[str, str]], sql: Any, caplog: Any
) -> None:
    caplog.set_level(logging.DEBUG)
    reference = ask(client).headers["location"].rsplit("/", 1)[1]
    rid = request_id(sql, reference)
    ask(client, consent=None)
    client.get(f"/work/requests/{rid}", headers=people["waterloo"])
    client.post(f"/work/requests/{rid}", headers=people["waterloo"], data={"decision": "accept"})
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert logged  # the app did log (SQL, access lines), just not her contact
    assert CONTACT not in logged


def test_accepting_makes_her_a_buddy_and_moves_her_contact(
    client: TestClient, people: dict[str, dict[str, str]], sql: Any
) -> None:
    reference = ask(client).headers["location"].rsplit("/", 1)[1]
    rid = request_id(sql, reference)
    answer = client.post(
        f"/work/requests/{rid}",
        headers=people["waterloo"],
        data={"decision": "accept"},
        follow_redirects=False,
    )
    assert answer.status_code == 303
    match = re.fullmatch(r"/work/buddies\?new=(B-[A-HJ-NP-Z2-9]{5})", answer.headers["location"])
    assert match, answer.headers["location"]
    code = match.group(1)
    (row,) = sql(
        "SELECT r.status, r.decided_by, r.decided_at, b.code, b.home_ward, c.contact "
        "FROM participation_requests r JOIN buddies b ON b.id = r.buddy_id "
        "JOIN buddy_contacts c ON c.buddy_id = b.id WHERE r.id = :id",
        id=rid,
    )
    assert (row.status, row.code, row.home_ward) == ("accepted", code, WATERLOO)
    assert row.contact == CONTACT
    assert row.decided_at is not None and row.decided_by
    assert sql("SELECT * FROM participation_contacts") == []
    buddies = client.get(answer.headers["location"], headers=people["waterloo"])
    assert buddies.status_code == 200
    assert f'<strong id="new-code">{code}</strong>' in buddies.text
    buddy_id = sql("SELECT buddy_id FROM participation_requests WHERE id = :id", id=rid)[0][0]
    assert f'href="/work/walks/new?buddy={buddy_id}">Plan a walk with her' in buddies.text
    assert "Waterloo &amp; South Bank" in buddies.text and CONTACT not in buddies.text
    # Decided: the outcome, no buttons, and a second decision is refused.
    again = client.get(f"/work/requests/{rid}", headers=people["waterloo"])
    assert "Accepted" in again.text and code in again.text
    assert 'value="accept"' not in again.text and CONTACT not in again.text
    twice = client.post(
        f"/work/requests/{rid}", headers=people["waterloo"], data={"decision": "decline",
                                                                    "reason": "outside"}
    )
    assert twice.status_code == 409 and "already accepted" in twice.text


def test_declining_needs_a_reason(
    client: TestClient, people: dict[str, dict[str, str]], sql: Any
) -> None:
    reference = ask(client).headers["location"].rsplit("/", 1)[1]
    rid = request_id(sql, reference)
    url = f"/work/requests/{rid}"
    for data, field, message in (
        ({"decision": "decline"}, "reason", "Choose why you are declining"),
        ({"decision": "decline", "reason": "bored"}, "reason", "Choose why you are declining"),
        ({"decision": "decline", "reason": "other", "other": " "}, "other", "Say why"),
    ):
        answer = client.post(url, headers=people["waterloo"], data=data)
        assert answer.status_code == 422, data
        assert f'<a href="#{field}">{message}' in answer.text
        assert sql("SELECT status FROM participation_requests")[0].status == "new"
    neither = client.post(url, headers=people["waterloo"], data={"decision": "maybe"})
    assert neither.status_code == 422 and "Accept or the Decline" in neither.text
    declined = client.post(
        url,
        headers=people["waterloo"],
        data={"decision": "decline", "reason": "other", "other": "moved away"},
        follow_redirects=False,
    )
    assert declined.status_code == 303
    (row,) = sql("SELECT status, decline_reason FROM participation_requests")
    assert (row.status, row.decline_reason) == ("declined", "Other: moved away")
    assert sql("SELECT * FROM participation_contacts") == []
    shown = client.get(declined.headers["location"], headers=people["waterloo"])
    assert "You declined this request" in shown.text and "Other: moved away" in shown.text


def test_another_wards_officer_cannot_decide(
    client: TestClient, people: dict[str, dict[str, str]], sql: Any
) -> None:
    reference = ask(client).headers["location"].rsplit("/", 1)[1]
    rid = request_id(sql, reference)
    for who in ("bankside", "partner", "public"):
        answer = client.post(
            f"/work/requests/{rid}", headers=people[who], data={"decision": "accept"}
        )
        assert answer.status_code in (401, 403), who
        assert CONTACT not in answer.text
    assert sql("SELECT status FROM participation_requests")[0].status == "new"
    assert sql("SELECT count(*) FROM buddies")[0][0] == 0


def test_the_buddies_page_lists_her_wards_buddies_with_their_walks(
    client: TestClient, people: dict[str, dict[str, str]]
) -> None:
    for code, ward in (("B-17", WATERLOO), ("B-18", BOROUGH_BANKSIDE)):
        made = client.post(
            "/buddies",
            headers=people["supervisor"],
            json={"code": code, "home_ward": ward, "contact": "07700 900999"},
        )
        assert made.status_code == 201, made.text
    page = client.get("/work/buddies", headers=people["waterloo"])
    assert page.status_code == 200
    assert "<strong>B-17</strong>" in page.text and "B-18" not in page.text
    assert "None yet" in page.text and "07700 900999" not in page.text
    assert client.get("/work/buddies", headers=people["partner"]).status_code == 403


@pytest.mark.parametrize(
    ("code", "looks_like"),
    [
        ("07700 900123", "phone number"),
        ("+44 (0)20 7946-0958", "phone number"),
        ("020/7946/0958", "phone number"),
        ("her.name@example.org", "email address"),
        ("b@x", "email address"),
    ],
)
def test_a_buddy_code_is_not_contact_details(code: str, looks_like: str) -> None:
    with pytest.raises(NotAPseudonym, match=f'looks like an? {looks_like}: use .*"B-17"'):
        check_buddy_code(code)


@pytest.mark.parametrize("code", ["B-17", "B-E05014118-2026-12-01", "DEMO-E05014118-3", "123456"])
def test_a_pseudonymous_code_passes(code: str) -> None:
    assert check_buddy_code(f" {code} ") == code


def test_new_codes_avoid_characters_read_out_wrongly() -> None:
    codes = {new_code("WT-") for _ in range(200)}
    assert len(codes) == 200
    assert all(re.fullmatch(r"WT-[A-HJKMNP-Z2-9]{6}", c) for c in codes)


def test_the_api_refuses_contact_details_as_a_buddy_code(
    client: TestClient, people: dict[str, dict[str, str]]
) -> None:
    for code in ("07700 900123", "her@example.org"):
        answer = client.post(
            "/buddies", headers=people["waterloo"], json={"code": code, "home_ward": WATERLOO}
        )
        assert answer.status_code == 422
        assert 'such as \\"B-17\\", not contact details' in answer.text or (
            'such as "B-17", not contact details' in answer.text
        )
    assert client.get("/buddies", headers=people["waterloo"]).json()["buddies"] == []


def test_retention_deletes_a_contact_nobody_acted_on(db: Session) -> None:
    ward = participation.find_ward(db, WATERLOO)
    assert ward is not None
    old = participation.create_request(
        db,
        ward=ward,
        availability=["weekend"],
        contact="old@example.org",
        consent_at=datetime.now(UTC) - timedelta(days=800),
    )
    recent = participation.create_request(
        db, ward=ward, availability=["weekend"], contact=CONTACT, consent_at=datetime.now(UTC)
    )
    erased = apply_retention(db, months=24)
    assert erased.contacts >= 1
    kept = db.execute(
        text(
            "SELECT r.reference FROM participation_contacts c "
            "JOIN participation_requests r ON r.id = c.request_id "
            "WHERE r.reference IN (:a, :b)"
        ),
        {"a": old, "b": recent},
    ).scalars().all()
    assert kept == [recent]


def test_the_buddies_page_counts_her_walks_and_dates_the_last_in_london_time(
    client: TestClient, people: dict[str, dict[str, str]]
) -> None:
    # 23:30 on 30 June in UTC is already 1 July in London (summer time).
    make_walk(
        client,
        people,
        start="2026-06-30T23:30:00+00:00",
        end="2026-07-01T00:15:00+00:00",
        buddy_ward=WATERLOO,
    )
    page = client.get("/work/buddies", headers=people["waterloo"])
    assert page.status_code == 200
    assert re.search(r"Walks: </span>1</td>", page.text), page.text
    assert "Last walk: </span>1 July 2026" in page.text
    assert "07700 900123" not in page.text  # make_walk's buddy contact
