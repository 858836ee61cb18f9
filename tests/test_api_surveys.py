"""Surveys: the buddy's baseline, the officer's survey, the buddy's one-time link and page."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text

from service.settings import Settings
from tests.walks import walk_with_route


def _sql(settings: Settings, statement: str, **params: object) -> list:
    engine = create_engine(settings.database_url or "")
    with engine.begin() as conn:
        result = conn.execute(text(statement), params)
        rows = result.all() if result.returns_rows else []
    engine.dispose()
    return rows


def test_the_baseline_is_recorded_by_the_walks_officer_and_can_be_corrected(
    client: TestClient, people: dict
) -> None:
    walk = walk_with_route(client, people)
    url = f"/walks/{walk['id']}/surveys/baseline"
    first = client.post(url, headers=people["waterloo"], json={"safety": 2})
    assert first.status_code == 200, first.text
    corrected = client.post(url, headers=people["waterloo"], json={"safety": 3})
    assert corrected.json()["safety"] == 3
    surveys = client.get(f"/walks/{walk['id']}/surveys", headers=people["supervisor"]).json()
    assert surveys["baseline"]["safety"] == 3

    out_of_range = client.post(url, headers=people["waterloo"], json={"safety": 6})
    assert out_of_range.status_code == 422
    assert "safety" in out_of_range.json()["detail"]
    assert client.post(url, headers=people["bankside"], json={"safety": 1}).status_code == 403
    assert client.post(url, headers=people["partner"], json={"safety": 1}).status_code == 403
    assert client.post(url, json={"safety": 1}).status_code == 403


def test_the_officers_survey_is_taken_once_with_known_themes_and_actions(
    client: TestClient, people: dict
) -> None:
    walk = walk_with_route(client, people)
    url = f"/walks/{walk['id']}/surveys/officer"
    answers = {
        "walk_useful": 4,
        "themes": ["poor_lighting", "underpass_alley_park_path", "poor_lighting"],
        "actions": ["lighting", "vegetation"],
        "follow_up_walk": True,
        "notes": "  The path behind the arches is unlit after 4pm.\x07 ",
    }
    made = client.post(url, headers=people["waterloo"], json=answers)
    assert made.status_code == 201, made.text
    survey = made.json()
    assert survey["themes"] == ["poor_lighting", "underpass_alley_park_path"]
    assert survey["actions"] == ["lighting", "vegetation"]
    assert survey["notes"] == "The path behind the arches is unlit after 4pm."
    assert survey["submitted_by"] == "test officer"

    again = client.post(url, headers=people["waterloo"], json=answers)
    assert again.status_code == 409 and "already submitted" in again.json()["detail"]

    other = walk_with_route(client, people, start="2026-12-02T17:00:00+00:00")
    bad = client.post(
        f"/walks/{other['id']}/surveys/officer",
        headers=people["waterloo"],
        json={**answers, "themes": ["ghosts"], "actions": ["arrest everyone"]},
    )
    assert bad.status_code == 422
    assert "'ghosts'" in bad.json()["detail"] and "poor_lighting" in bad.json()["detail"]
    stored = client.get(f"/walks/{other['id']}/surveys", headers=people["waterloo"]).json()
    assert stored["officer"] is None

    options = client.get("/surveys/options", headers=people["waterloo"]).json()
    assert {"slug": "lighting", "label": "Ask for better street lighting"} in options["actions"]
    assert len(options["themes"]) == 12


def _link(client: TestClient, people: dict, walk_id: str) -> dict:
    made = client.post(f"/walks/{walk_id}/buddy-survey-link", headers=people["waterloo"])
    assert made.status_code == 201, made.text
    return made.json()


BUDDY_ANSWERS = {
    "felt_safer": "4",
    "police_confidence": "5",
    "would_recommend": "true",
    "themes": ["poor_lighting", "followed"],
    "comments": "It helped to say it out loud.",
}


def test_the_buddys_link_works_once_and_stores_only_its_hash(
    client: TestClient, people: dict, app_settings: Settings
) -> None:
    walk = walk_with_route(client, people)
    link = _link(client, people, walk["id"])
    secret = link["url"].rsplit("/survey/", 1)[1]
    assert secret.startswith("sv_") and len(secret) >= 40
    assert link["qr_svg"].startswith("<svg") and "<path" in link["qr_svg"]
    expires = datetime.fromisoformat(link["expires_at"])
    assert timedelta(days=6, hours=23) < expires - datetime.now(UTC) <= timedelta(days=7)
    # Only the keyed hash is kept: the secret is nowhere in the database.
    (row,) = _sql(app_settings, "SELECT secret_hash, used_at FROM survey_links")
    assert secret.encode() not in bytes(row.secret_hash) and row.used_at is None

    page = client.get(f"/survey/{secret}")  # no token, no cookie: the buddy's own phone
    assert page.status_code == 200
    assert page.headers["referrer-policy"] == "no-referrer"
    assert page.headers["cache-control"] == "no-store"
    assert "how safe do you feel on this route?" in page.text
    assert page.text.count('name="felt_safer"') == 5
    assert "Poor or no street lighting" in page.text

    sent = client.post(f"/survey/{secret}", data=BUDDY_ANSWERS)
    assert sent.status_code == 201 and "Your answers are in" in sent.text
    again = client.get(f"/survey/{secret}")
    assert again.status_code == 410 and "has been used already" in again.text
    resent = client.post(f"/survey/{secret}", data={**BUDDY_ANSWERS, "felt_safer": "1"})
    assert resent.status_code == 410

    surveys = client.get(f"/walks/{walk['id']}/surveys", headers=people["waterloo"]).json()
    assert surveys["buddy"]["felt_safer"] == 4
    assert surveys["buddy"]["police_confidence"] == 5
    assert surveys["buddy"]["would_recommend"] is True
    assert surveys["buddy"]["themes"] == ["followed", "poor_lighting"]
    assert surveys["buddy_link"] == {
        "links_made": 1,
        "used": True,
        "expires_at": surveys["buddy_link"]["expires_at"],
    }
    # Answered: no new link, and the baseline is fixed beside the answer.
    refused = client.post(f"/walks/{walk['id']}/buddy-survey-link", headers=people["waterloo"])
    assert refused.status_code == 409
    fixed = client.post(
        f"/walks/{walk['id']}/surveys/baseline", headers=people["waterloo"], json={"safety": 1}
    )
    assert fixed.status_code == 409


def test_an_expired_a_replaced_and_an_unknown_link_are_refused(
    client: TestClient, people: dict, app_settings: Settings
) -> None:
    walk = walk_with_route(client, people)
    first = _link(client, people, walk["id"])["url"].rsplit("/", 1)[1]
    second = _link(client, people, walk["id"])["url"].rsplit("/", 1)[1]
    replaced = client.get(f"/survey/{first}")
    assert replaced.status_code == 410 and "expired" in replaced.text
    assert client.get(f"/survey/{second}").status_code == 200

    _sql(app_settings, "UPDATE survey_links SET expires_at = now() - interval '1 minute'")
    expired = client.post(f"/survey/{second}", json={**BUDDY_ANSWERS, "themes": []})
    assert expired.status_code == 410
    assert (
        expired.json()["detail"] == "this survey link has expired: ask your officer for a new one"
    )

    unknown = client.get("/survey/sv_not-a-real-secret")
    assert unknown.status_code == 404 and "whole link" in unknown.text
    assert _sql(app_settings, "SELECT count(*) FROM buddy_surveys")[0][0] == 0


def test_an_incomplete_answer_says_what_is_missing_and_leaves_the_link_working(
    client: TestClient, people: dict, app_settings: Settings
) -> None:
    walk = walk_with_route(client, people)
    secret = _link(client, people, walk["id"])["url"].rsplit("/", 1)[1]
    partial = client.post(f"/survey/{secret}", data={"felt_safer": "3", "themes": "followed"})
    assert partial.status_code == 422
    assert "please answer your confidence in the local police" in partial.text
    assert "please answer whether you would recommend a walk" in partial.text
    unknown_theme = client.post(f"/survey/{secret}", data={**BUDDY_ANSWERS, "themes": "ghosts"})
    assert unknown_theme.status_code == 422 and "unknown theme" in unknown_theme.text
    assert _sql(app_settings, "SELECT count(*) FROM buddy_surveys")[0][0] == 0
    assert client.post(f"/survey/{secret}", data=BUDDY_ANSWERS).status_code == 201


def test_only_the_walks_staff_make_links_and_read_surveys(client: TestClient, people: dict) -> None:
    walk = walk_with_route(client, people)
    for who in ("bankside", "partner", "public"):
        made = client.post(f"/walks/{walk['id']}/buddy-survey-link", headers=people[who])
        assert made.status_code == 403, who
        read = client.get(f"/walks/{walk['id']}/surveys", headers=people[who])
        assert read.status_code == 403, who
    page = client.get(f"/walks/{walk['id']}/buddy-survey-link", follow_redirects=False)
    assert page.status_code == 303
    assert page.headers["location"] == f"/login?next=/walks/{walk['id']}/buddy-survey-link"


def test_survey_secrets_are_masked_in_the_access_log(
    client: TestClient, people: dict, caplog: pytest.LogCaptureFixture
) -> None:
    walk = walk_with_route(client, people)
    secret = _link(client, people, walk["id"])["url"].rsplit("/", 1)[1]
    access = logging.getLogger("uvicorn.access")
    with caplog.at_level(logging.INFO, logger="uvicorn.access"):
        # The line uvicorn writes for a request: client, method, path, version, status.
        access.info(
            '%s - "%s %s HTTP/%s" %d', "127.0.0.1:5000", "GET", f"/survey/{secret}", "1.1", 200
        )
    (line,) = [r.getMessage() for r in caplog.records if r.name == "uvicorn.access"]
    assert secret not in line
    assert re.search(r'"GET /survey/… HTTP/1.1" 200', line)


def test_erasing_the_buddy_removes_her_comments_but_keeps_her_scores(
    client: TestClient, people: dict, app_settings: Settings, walktalk: Callable[..., tuple]
) -> None:
    walk = walk_with_route(client, people)
    secret = _link(client, people, walk["id"])["url"].rsplit("/", 1)[1]
    assert client.post(f"/survey/{secret}", data=BUDDY_ANSWERS).status_code == 201
    (code,) = _sql(app_settings, "SELECT b.code FROM buddies b JOIN walks w ON w.buddy_id = b.id")
    exit_code, _, err = walktalk("buddies", "erase", code[0])
    assert exit_code == 0, err
    (row,) = _sql(app_settings, "SELECT felt_safer, themes, comments FROM buddy_surveys")
    assert (row.felt_safer, row.themes, row.comments) == (4, ["followed", "poor_lighting"], None)
