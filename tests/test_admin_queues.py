"""The supervisors' queues through the app (TestClient): safeguarding flags and moderation.

Forms are posted as a browser posts them (urlencoded, a bearer token standing in for the
signed-in session). Flags are made through the API (plan a walk, answer the safeguarding
question) and their deadlines moved in the database to make them overdue or far off.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text

from service.settings import Settings
from tests.walks import BOROUGH_BANKSIDE, auth, make_walk

POINT = {"lon": -0.1136, "lat": 51.5033}  # Waterloo, Lambeth


@pytest.fixture
def sql(app_settings: Settings) -> Iterator[Callable[..., Any]]:
    """Run one statement against the app's database and return its first value."""
    engine = create_engine(app_settings.database_url or "")

    def run(statement: str, **params: Any) -> Any:
        with engine.begin() as conn:
            result = conn.execute(text(statement), params)
            return result.scalar() if result.returns_rows else None

    yield run
    engine.dispose()


def disclosed_walk(client: TestClient, people: dict, day: int, hour: int) -> str:
    """A Waterloo walk on which something was disclosed: a flag due in 24 hours."""
    start = f"2026-10-{day:02d}T{hour:02d}:00:00+01:00"
    end = f"2026-10-{day:02d}T{hour:02d}:45:00+01:00"
    walk = make_walk(client, people, start=start, end=end, buddy_ward=BOROUGH_BANKSIDE)
    answered = client.post(
        f"/walks/{walk['id']}/safeguarding", headers=people["waterloo"], json={"disclosed": True}
    )
    assert answered.status_code == 201, answered.text
    return str(walk["id"])


@pytest.fixture
def flags(client: TestClient, people: dict, sql: Callable[..., Any]) -> dict[str, str]:
    """Four open flags: overdue, due soon, waiting (due in a week), ready to review."""
    made = {
        "overdue": disclosed_walk(client, people, 1, 8),
        "due": disclosed_walk(client, people, 2, 9),
        "waiting": disclosed_walk(client, people, 3, 10),
        "review": disclosed_walk(client, people, 4, 11),
    }
    sql("UPDATE safeguarding SET due_at = now() - interval '3 hours' WHERE walk_id = :id",
        id=made["overdue"])
    sql("UPDATE safeguarding SET due_at = now() + interval '7 days' WHERE walk_id = :id",
        id=made["waiting"])
    given = client.post(
        f"/walks/{made['review']}/safeguarding/reference",
        headers=people["waterloo"],
        json={"reference": "CAD-4417-26"},
    )
    assert given.status_code == 200, given.text
    yield made
    sql("UPDATE safeguarding SET reviewed_at = now(), reviewed_by = 'test cleanup' "
        "WHERE walk_id = ANY(:ids) AND reviewed_at IS NULL", ids=list(made.values()))


def _rows(html: str, walk_ids: dict[str, str]) -> list[str]:
    """The states of ``walk_ids`` in the order the queue lists them."""
    where = {name: html.find(f"/admin/safeguarding/{walk}") for name, walk in walk_ids.items()}
    assert all(at > 0 for at in where.values()), where
    return sorted(where, key=where.__getitem__)


def test_queue_orders_overdue_due_waiting_then_review(
    client: TestClient, people: dict, flags: dict[str, str]
) -> None:
    """Overdue before due soon before waiting before ready to review; each links to its walk."""
    page = client.get("/admin/safeguarding", headers=people["supervisor"])
    assert page.status_code == 200
    assert _rows(page.text, flags) == ["overdue", "due", "waiting", "review"]
    for walk in flags.values():
        assert f'href="/work/walks/{walk}"' in page.text
    assert "CAD-4417-26" in page.text
    assert "Email reminders are off" in page.text
    # Nothing of the buddy reaches the queue.
    assert "07700" not in page.text and "B-E05011095" not in page.text


def test_banner_on_every_supervisor_page_not_for_officers(
    client: TestClient, people: dict, flags: dict[str, str], sql: Callable[..., Any]
) -> None:
    """The due/overdue count is on a supervisor's pages; an officer's page has no banner."""
    overdue = sql(
        "SELECT count(*) FROM safeguarding WHERE disclosed AND reference IS NULL "
        "AND reviewed_at IS NULL AND due_at < now() AND borough_code = ANY(:b)",
        b=["E09000022", "E09000028"],
    )
    due = sql(
        "SELECT count(*) FROM safeguarding WHERE disclosed AND reference IS NULL "
        "AND reviewed_at IS NULL AND due_at >= now() AND due_at < now() + interval '24 hours' "
        "AND borough_code = ANY(:b)",
        b=["E09000022", "E09000028"],
    )
    assert overdue >= 1 and due >= 1
    total = overdue + due
    for path in ("/", "/admin/officers", "/admin/moderation"):
        page = client.get(path, headers=people["supervisor"])
        assert page.status_code == 200, path
        assert f"{total} safeguarding flags need a reference, {overdue} overdue" in page.text, path
        assert 'href="/admin/safeguarding">review them' in page.text
    officer = client.get("/", headers=people["waterloo"])
    assert officer.status_code == 200
    assert "safeguarding flag" not in officer.text


def test_another_borough_sees_none(
    client: TestClient, issue_token: Callable[..., str], flags: dict[str, str]
) -> None:
    """A supervisor of Hackney sees no Lambeth flag and may not open or review one."""
    other = auth(issue_token("supervisor", boroughs=["E09000012"]))
    page = client.get("/admin/safeguarding", headers=other)
    assert page.status_code == 200
    for walk in flags.values():
        assert walk not in page.text
    assert "safeguarding flags need" not in page.text
    assert client.get(f"/admin/safeguarding/{flags['review']}", headers=other).status_code == 403
    refused = client.post(
        f"/admin/safeguarding/{flags['review']}", headers=other, data={"checked": "yes"}
    )
    assert refused.status_code == 403


def test_review_form(
    client: TestClient, people: dict, flags: dict[str, str], sql: Callable[..., Any]
) -> None:
    """Unticked or without a reference: 422 with the message, nothing stored; then it closes."""
    url = f"/admin/safeguarding/{flags['review']}"
    shown = client.get(url, headers=people["supervisor"])
    assert shown.status_code == 200 and "CAD-4417-26" in shown.text
    unticked = client.post(url, headers=people["supervisor"], data={})
    assert unticked.status_code == 422
    assert "Tick the box to confirm" in unticked.text and 'href="#checked"' in unticked.text
    no_reference = client.post(
        f"/admin/safeguarding/{flags['due']}", headers=people["supervisor"], data={"checked": "yes"}
    )
    assert no_reference.status_code == 422
    assert "no report reference yet" in no_reference.text
    reviewed = "SELECT reviewed_by FROM safeguarding WHERE walk_id = :id"
    assert sql(reviewed, id=flags["review"]) is None
    assert sql(reviewed, id=flags["due"]) is None
    officer = client.post(url, headers=people["waterloo"], data={"checked": "yes"})
    assert officer.status_code == 403
    done = client.post(
        url, headers=people["supervisor"], data={"checked": "yes"}, follow_redirects=False
    )
    assert done.status_code == 303
    assert done.headers["location"] == "/admin/safeguarding?done=reviewed"
    assert sql(reviewed, id=flags["review"]) is not None
    queue = client.get(done.headers["location"], headers=people["supervisor"])
    assert "The flag was reviewed and closed" in queue.text
    assert "Reviewed recently" in queue.text
    again = client.post(url, headers=people["supervisor"], data={"checked": "yes"})
    assert again.status_code == 422 and "reviewed already" in again.text


def test_signed_out_is_sent_to_sign_in(client: TestClient) -> None:
    """A signed-out person opening a queue is sent to the login page, then back."""
    for path in ("/admin/safeguarding", "/admin/moderation"):
        answer = client.get(path, follow_redirects=False)
        assert answer.status_code == 303
        assert answer.headers["location"] == f"/login?next={path}"


def pending_report(client: TestClient, words: str) -> str:
    """A public report at Waterloo, awaiting moderation; its id."""
    sent = client.post(
        "/reports",
        json={**POINT, "categories": ["poor_lighting"], "date": "2026-11-20",
              "time_band": "evening", "text": words},
        headers={"User-Agent": f"queue-test-{uuid.uuid4()}"},
    )
    assert sent.status_code == 201, sent.text
    return str(sent.json()["id"])


def test_moderation_actions(
    client: TestClient, people: dict, sql: Callable[..., Any]
) -> None:
    """Publish without text, reject with a reason (required), publish; each goes to the next."""
    words = f"Dark underpass, man called {uuid.uuid4().hex[:6]} hangs about"
    first = pending_report(client, words)
    second = pending_report(client, "No lights on the stairs")
    third = pending_report(client, "Bushes hide the path")
    sup = people["supervisor"]
    queue = client.get("/admin/moderation", headers=sup)
    assert queue.status_code == 200
    for rid in (first, second, third):
        assert f"/admin/moderation/{rid}" in queue.text
    item = client.get(f"/admin/moderation/{first}", headers=sup)
    assert item.status_code == 200 and words in item.text
    assert "Poor or no street lighting" in item.text
    assert "51.50330" in item.text  # supervisors see the exact point

    status = "SELECT status FROM reports WHERE id = :id"
    no_choice = client.post(f"/admin/moderation/{first}", headers=sup, data={"reason": ""})
    assert no_choice.status_code == 422 and "Choose what to do" in no_choice.text
    assert sql(status, id=first) == "pending"

    done = client.post(
        f"/admin/moderation/{first}", headers=sup,
        data={"action": "publish_without_text"}, follow_redirects=False,
    )
    assert done.status_code == 303
    assert re.fullmatch(r"/admin/moderation(/[0-9a-f-]{36})?\?done=published",
                        done.headers["location"])
    assert sql(status, id=first) == "published"
    assert sql("SELECT text IS NULL AND text_redacted FROM reports WHERE id = :id", id=first)

    bare = client.post(f"/admin/moderation/{second}", headers=sup, data={"action": "reject"})
    assert bare.status_code == 422
    assert "Enter why the report is rejected" in bare.text and 'href="#reason"' in bare.text
    assert sql(status, id=second) == "pending"
    rejected = client.post(
        f"/admin/moderation/{second}", headers=sup,
        data={"action": "reject", "reason": "names a person"}, follow_redirects=False,
    )
    assert rejected.status_code == 303 and "done=hidden" in rejected.headers["location"]
    assert sql(status, id=second) == "hidden"
    assert sql("SELECT moderation_reason FROM reports WHERE id = :id", id=second) == (
        "names a person"
    )

    published = client.post(
        f"/admin/moderation/{third}", headers=sup, data={"action": "publish"},
        follow_redirects=False,
    )
    assert published.status_code == 303
    assert sql(status, id=third) == "published"
    assert sql("SELECT text FROM reports WHERE id = :id", id=third) == "Bushes hide the path"
    again = client.post(f"/admin/moderation/{third}", headers=sup, data={"action": "reject",
                                                                      "reason": "changed mind"})
    assert again.status_code == 422 and "moderated already" in again.text
    assert sql(status, id=third) == "published"


def test_moderation_refuses_others(
    client: TestClient, people: dict, issue_token: Callable[..., str], sql: Callable[..., Any]
) -> None:
    """Officers and another borough's supervisor may not moderate; nothing changes."""
    rid = pending_report(client, "Alley with no lights")
    other = auth(issue_token("supervisor", boroughs=["E09000012"]))
    assert rid not in client.get("/admin/moderation", headers=other).text
    for who in (people["waterloo"], other):
        answer = client.post(
            f"/admin/moderation/{rid}", headers=who, data={"action": "publish"}
        )
        assert answer.status_code == 403
    assert client.get(f"/admin/moderation/{rid}", headers=people["partner"]).status_code == 403
    assert sql("SELECT status FROM reports WHERE id = :id", id=rid) == "pending"
    # Leave the queue as found for the other tests.
    sql("UPDATE reports SET status = 'hidden', moderation_reason = 'test' WHERE id = :id", id=rid)
