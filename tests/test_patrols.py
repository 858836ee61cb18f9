"""Patrols: planning without a buddy, the record (API and page), evaluation and themes."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.walks import BOROUGH_BANKSIDE, WATERLOO

PATROL_TIMES = {
    "planned_start": "2026-11-10T18:00:00+00:00",
    "planned_end": "2026-11-10T20:00:00+00:00",
}


def _officer(client: TestClient, people: dict, number: str = "AS900") -> str:
    made = client.post(
        "/officers",
        headers=people["supervisor"],
        json={
            "name": "PC Patrol",
            "shoulder_number": number,
            "ward_codes": [WATERLOO],
            "command_unit": "AS",
        },
    )
    assert made.status_code == 201, made.text
    return str(made.json()["id"])


def _patrol(client: TestClient, people: dict, officer: str, **times: str) -> str:
    made = client.post(
        "/walks",
        headers=people["waterloo"],
        json={"officer_id": officer, "kind": "patrol", **(times or PATROL_TIMES)},
    )
    assert made.status_code == 201, made.text
    return str(made.json()["id"])


def _stored(client: TestClient, people: dict, walk_id: str) -> tuple[Any, Any, Any]:
    """What the patrol's record holds, read straight from the database."""
    from sqlalchemy import create_engine, text

    engine = create_engine(str(client.app.state.settings.database_url))  # type: ignore[attr-defined]
    with engine.connect() as connection:
        row = connection.execute(
            text("SELECT conversations, patrol_themes, patrol_feedback FROM walks WHERE id = :id"),
            {"id": walk_id},
        ).one()
    engine.dispose()
    return row.conversations, row.patrol_themes, row.patrol_feedback


# --- planning ------------------------------------------------------------------------------


def test_a_patrol_is_planned_without_a_buddy_and_only_a_patrol_is(
    client: TestClient, people: dict
) -> None:
    officer = _officer(client, people)
    walk_id = _patrol(client, people, officer)
    walk = client.get(f"/walks/{walk_id}", headers=people["waterloo"]).json()["properties"]
    assert walk["kind"] == "patrol" and walk["buddy_id"] is None

    no_buddy = client.post(
        "/walks",
        headers=people["waterloo"],
        json={"officer_id": officer, "kind": "commute", **PATROL_TIMES},
    )
    assert no_buddy.status_code == 422
    assert "a commute walk needs a buddy" in no_buddy.json()["detail"]

    buddy = client.post(
        "/buddies", headers=people["waterloo"], json={"code": "B-PAT-1", "home_ward": WATERLOO}
    ).json()
    with_buddy = client.post(
        "/walks",
        headers=people["waterloo"],
        json={"officer_id": officer, "kind": "patrol", "buddy_id": buddy["id"], **PATROL_TIMES},
    )
    assert with_buddy.status_code == 422
    assert "a patrol is a walk without a buddy" in with_buddy.json()["detail"]
    walks = client.get("/walks", headers=people["waterloo"]).json()["walks"]
    assert [w["id"] for w in walks] == [walk_id]  # neither refused walk was stored


# --- the record through the API -------------------------------------------------------------


def test_the_patrol_record_is_stored_and_replaced(client: TestClient, people: dict) -> None:
    walk_id = _patrol(client, people, _officer(client, people))
    body = {
        "conversations": 12,
        "themes": ["poor_lighting", "followed", "poor_lighting"],
        "feedback": "  By bike along the South Bank.  ",
    }
    stored = client.put(f"/walks/{walk_id}/patrol", headers=people["waterloo"], json=body)
    assert stored.status_code == 200, stored.text
    record = stored.json()
    assert record["recorded"] is True and record["conversations"] == 12
    assert record["patrol_themes"] == ["poor_lighting", "followed"]
    assert record["patrol_feedback"] == "By bike along the South Bank."
    again = client.put(
        f"/walks/{walk_id}/patrol",
        headers=people["supervisor"],
        json={"conversations": 0, "themes": []},
    )
    assert again.status_code == 200, again.text
    assert _stored(client, people, walk_id) == (0, [], None)


@pytest.mark.parametrize(
    ("body", "says"),
    [
        ({"conversations": -1}, "greater than or equal to 0"),
        ({"conversations": 3.5}, "integer"),
        ({"conversations": "twelve"}, "integer"),
        ({"conversations": 4, "feedback": "x" * 3000}, "at most 2000 characters"),
        ({"conversations": 4, "themes": ["aliens"]}, "unknown theme(s) aliens"),
    ],
    ids=["negative", "fraction", "words", "3000-chars", "unknown-theme"],
)
def test_a_wrong_record_is_refused_and_nothing_is_stored(
    client: TestClient, people: dict, body: dict, says: str
) -> None:
    walk_id = _patrol(client, people, _officer(client, people))
    answer = client.put(f"/walks/{walk_id}/patrol", headers=people["waterloo"], json=body)
    assert answer.status_code == 422, answer.text
    assert says in str(answer.json()["detail"])
    assert _stored(client, people, walk_id) == (None, [], None)


def test_only_the_patrols_ward_officers_and_supervisors_may_record_it(
    client: TestClient, people: dict
) -> None:
    walk_id = _patrol(client, people, _officer(client, people))
    body = {"conversations": 3}
    for who, status in (("bankside", 403), ("partner", 403), ("public", 403)):
        answer = client.put(f"/walks/{walk_id}/patrol", headers=people[who], json=body)
        assert answer.status_code == status, (who, answer.text)
    assert _stored(client, people, walk_id) == (None, [], None)
    bankside_page = client.get(f"/work/walks/{walk_id}/patrol", headers=people["bankside"])
    assert bankside_page.status_code == 403
    assert f"only officers of ward {WATERLOO}" in bankside_page.text


def test_a_walk_with_a_buddy_has_no_patrol_record(client: TestClient, people: dict) -> None:
    from tests.walks import make_walk

    walk = make_walk(
        client,
        people,
        start="2026-11-11T17:00:00+00:00",
        end="2026-11-11T17:45:00+00:00",
        buddy_ward=WATERLOO,
    )
    answer = client.put(
        f"/walks/{walk['id']}/patrol", headers=people["waterloo"], json={"conversations": 2}
    )
    assert answer.status_code == 409
    assert "not a patrol" in answer.json()["detail"]
    page = client.get(f"/work/walks/{walk['id']}/patrol", headers=people["waterloo"])
    assert page.status_code == 409 and "not a patrol" in page.text


# --- the record through the page ------------------------------------------------------------


def test_the_page_sends_the_public_to_sign_in(client: TestClient, people: dict) -> None:
    walk_id = _patrol(client, people, _officer(client, people))
    answer = client.get(f"/work/walks/{walk_id}/patrol", follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"] == f"/login?next=/work/walks/{walk_id}/patrol"


@pytest.mark.parametrize(
    ("form", "field", "says"),
    [
        ({"conversations": "-2"}, "conversations", "whole number, 0 or more"),
        ({"conversations": "2.5"}, "conversations", "whole number, 0 or more"),
        ({"conversations": ""}, "conversations", "Enter how many conversations"),
        ({"conversations": "3", "feedback": "y" * 3000}, "feedback", "it is 3,000"),
        ({"conversations": "3", "themes": "aliens"}, "themes", "Choose themes from the list"),
    ],
    ids=["negative", "fraction", "empty", "3000-chars", "unknown-theme"],
)
def test_the_page_answers_a_wrong_value_with_the_form_and_stores_nothing(
    client: TestClient, people: dict, form: dict, field: str, says: str
) -> None:
    walk_id = _patrol(client, people, _officer(client, people))
    answer = client.post(
        f"/work/walks/{walk_id}/patrol", headers=people["waterloo"], data=form
    )
    assert answer.status_code == 422
    assert "text/html" in answer.headers["content-type"]
    assert f'<a href="#{field}">' in answer.text and says in answer.text
    # What she typed is kept for her to correct.
    assert (form.get("feedback") or form["conversations"]) in answer.text
    assert _stored(client, people, walk_id) == (None, [], None)


def test_the_page_stores_the_record_and_goes_to_the_walk(client: TestClient, people: dict) -> None:
    walk_id = _patrol(client, people, _officer(client, people))
    answer = client.post(
        f"/work/walks/{walk_id}/patrol",
        headers=people["waterloo"],
        data={"conversations": " 7 ", "themes": ["isolated", "loitering"], "feedback": "On foot"},
        follow_redirects=False,
    )
    assert answer.status_code == 303
    assert answer.headers["location"] == f"/work/walks/{walk_id}?done=patrol"
    assert _stored(client, people, walk_id) == (7, ["isolated", "loitering"], "On foot")
    shown = client.get(f"/work/walks/{walk_id}/patrol", headers=people["waterloo"])
    assert shown.status_code == 200
    assert 'value="7"' in shown.text and "Yes: saving again replaces the record" in shown.text
    assert 'value="isolated" checked' in shown.text and "On foot</textarea>" in shown.text


# --- evaluation and themes ------------------------------------------------------------------


def _evaluation(client: TestClient, people: dict) -> dict[str, Any]:
    answer = client.get(
        "/evaluation.json",
        headers=people["supervisor"],
        params={"month_from": "2026-10", "month_to": "2026-11"},
    )
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def test_patrols_are_counted_apart_and_buddy_walk_figures_do_not_change(
    client: TestClient, people: dict
) -> None:
    from tests.walks import walk_with_route

    walk = walk_with_route(client, people, start="2026-11-03T17:00:00+00:00")
    closed = client.post(
        f"/walks/{walk['id']}/safeguarding", headers=people["waterloo"], json={"disclosed": False}
    )
    assert closed.status_code == 201, closed.text
    shut = client.post(
        f"/walks/{walk['id']}/close",
        headers=people["waterloo"],
        json={
            "actual_start": "2026-11-03T17:02:00+00:00",
            "actual_end": "2026-11-03T17:47:00+00:00",
        },
    )
    assert shut.status_code == 200, shut.text
    before = _evaluation(client, people)
    assert before["walks"]["walked"] == 1
    assert before["patrols"]["held"] == 0 and before["patrols"]["themes"] == []

    # The same officer patrols: a new one would (rightly) be listed as without buddy walks.
    officer = client.get(f"/walks/{walk['id']}", headers=people["waterloo"]).json()["properties"][
        "officer_id"
    ]
    records = [(5, ["poor_lighting", "followed"]), (9, ["poor_lighting"]), (None, [])]
    for day, (conversations, themes) in enumerate(records, start=12):
        walk_id = _patrol(
            client,
            people,
            officer,
            planned_start=f"2026-11-{day}T18:00:00+00:00",
            planned_end=f"2026-11-{day}T19:30:00+00:00",
        )
        if conversations is not None:
            put = client.put(
                f"/walks/{walk_id}/patrol",
                headers=people["waterloo"],
                json={"conversations": conversations, "themes": themes},
            )
            assert put.status_code == 200, put.text
    after = _evaluation(client, people)
    # Every buddy-walk figure is the same with the patrols stored.
    assert {k: v for k, v in after.items() if k != "patrols"} == {
        k: v for k, v in before.items() if k != "patrols"
    }
    patrols = after["patrols"]
    assert (patrols["held"], patrols["conversations"], patrols["not_recorded"]) == (2, 14, 1)
    assert patrols["officers_patrolling"] == 1 and patrols["wards_with_patrols"] == 1
    assert [(t["theme"], t["patrols"]) for t in patrols["themes"]] == [
        ("poor_lighting", 2),
        ("followed", 1),
    ]
    csv_text = client.get(
        "/evaluation.csv",
        headers=people["supervisor"],
        params={"month_from": "2026-10", "month_to": "2026-11"},
    ).text
    assert "patrols,held,,,,,,,2," in csv_text and "patrols,conversations,,,,,,,14," in csv_text
    assert "patrols,theme:poor_lighting,,,,,,,2,2" in csv_text
    page = client.get(
        "/evaluation",
        headers=people["supervisor"],
        params={"month_from": "2026-10", "month_to": "2026-11"},
    ).text
    assert '<h2 id="patrols-heading">Patrols</h2>' in page
    assert "Themes heard on patrols" in page and "Poor or no street lighting" in page


def test_patrol_themes_are_a_kind_of_source_protected_like_the_others(
    client: TestClient, people: dict
) -> None:
    officer = _officer(client, people, "AS902")
    for day in (3, 5, 7):
        walk_id = _patrol(
            client,
            people,
            officer,
            planned_start=f"2026-11-0{day}T18:00:00+00:00",
            planned_end=f"2026-11-0{day}T19:00:00+00:00",
        )
        put = client.put(
            f"/walks/{walk_id}/patrol",
            headers=people["waterloo"],
            json={"conversations": 4, "themes": ["isolated"]},
        )
        assert put.status_code == 200, put.text
    params = {
        "month_from": "2026-11",
        "month_to": "2026-11",
        "step": "month",
        "area": "ward",
        "category_level": "category",
        "kind": "patrol_themes",
    }

    def cell(who: str) -> dict[str, Any]:
        body = client.get("/themes", headers=people[who], params=params).json()
        assert {r["kind"] for r in body["counts"]} == {"patrol_themes"}
        (row,) = [
            r for r in body["counts"] if r["ward_code"] == WATERLOO and r["category"] == "isolated"
        ]
        return dict(row)

    assert cell("supervisor")["count"] == 3  # exact, for the supervisor of the borough
    partner = cell("partner")
    assert partner["count"] is None and partner["suppressed"] is True  # 3 < k
    other = client.get("/themes", headers=people["supervisor"], params=params).json()["counts"]
    assert all(r["count"] == 0 for r in other if r["ward_code"] == BOROUGH_BANKSIDE)
    # A source filter picks reports: patrols have none, so they are left out.
    filtered = client.get(
        "/themes", headers=people["supervisor"], params={**params, "source": "public"}
    )
    assert filtered.status_code == 200
    assert all(r["count"] == 0 for r in filtered.json()["counts"])
