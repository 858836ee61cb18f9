"""Anonymous reports through the API: submit, anonymity, refusals, rate limit, moderation, query."""

from __future__ import annotations

import logging
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, inspect, text

from service.settings import Settings
from service.taxonomy import CATEGORIES

WATERLOO = {"lon": -0.1136, "lat": 51.5033}
GOOD = {
    **WATERLOO,
    "categories": ["poor_lighting", "isolated"],
    "date": "2026-11-20",
    "time_band": "evening",
    "text": "  The path under the bridge has no lights.\x07 ",
}


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_categories_are_the_taxonomy(client: TestClient) -> None:
    listed = client.get("/reports/categories").json()
    assert [c["slug"] for c in listed] == [c.slug for c in CATEGORIES]
    assert listed[0] == {"slug": "poor_lighting", "label": "Poor or no street lighting"}
    assert len(listed) == 12


def test_a_report_is_stored_pending_with_ward_and_darkness(
    client: TestClient, app_settings: Settings
) -> None:
    response = client.post("/reports", json=GOOD)
    assert response.status_code == 201, response.text
    assert set(response.json()) == {"id", "status"}
    assert response.json()["status"] == "pending"
    engine = create_engine(app_settings.database_url or "")
    with engine.connect() as conn:
        row = conn.execute(
            text(
                "SELECT ward_code, borough_code, categories, text, source, status, is_dark, "
                "darkness_basis, time_band, occurred_on::text, ST_X(geom), ST_Y(geom), "
                "received_hour = date_trunc('hour', received_hour) AS hourly FROM reports"
            )
        ).one()
    engine.dispose()
    assert row.ward_code == "E05014118" and row.borough_code == "E09000022"
    assert row.categories == ["poor_lighting", "isolated"]
    assert row.text == "The path under the bridge has no lights."  # trimmed, control char gone
    assert (row.source, row.status) == ("public", "pending")
    # An evening in late November in London is mostly after dark (sunset ~16:00).
    assert (row.is_dark, row.darkness_basis, row.time_band) == (True, "time_band", "evening")
    assert row.occurred_on == "2026-11-20"
    assert (round(row[10], 4), round(row[11], 4)) == (-0.1136, 51.5033)
    assert row.hourly


def test_a_geojson_feature_with_an_exact_time(client: TestClient, app_settings: Settings) -> None:
    feature = {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [-0.0909, 51.5055]},
        "properties": {"categories": "followed", "occurred_at": "2026-06-21T12:00:00+01:00"},
    }
    assert client.post("/reports", json=feature).status_code == 201
    engine = create_engine(app_settings.database_url or "")
    with engine.connect() as conn:
        row = conn.execute(
            text("SELECT ward_code, is_dark, darkness_basis, sun_elevation FROM reports")
        ).one()
    engine.dispose()
    assert row.ward_code == "E05011095"
    assert (row.is_dark, row.darkness_basis) == (False, "exact_time")
    assert 55 < row.sun_elevation < 63


def test_nothing_identifying_is_stored_or_logged(
    client: TestClient, app_settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG):
        assert (
            client.post(
                "/reports", json=GOOD, headers={"User-Agent": "Phone/1.0 unique-agent-7731"}
            ).status_code
            == 201
        )
    logged = "\n".join(r.getMessage() for r in caplog.records)
    for secret in ("-0.1136", "51.5033", "bridge has no lights", "unique-agent-7731"):
        assert secret not in logged
    engine = create_engine(app_settings.database_url or "")
    columns = {c["name"] for c in inspect(engine).get_columns("reports")}
    with engine.connect() as conn:
        dump = conn.execute(text("SELECT reports::text FROM reports")).scalar_one()
    engine.dispose()
    assert not columns & {
        "ip",
        "client",
        "address",
        "user_agent",
        "token_id",
        "created_at",
        "submitted_at",
    }
    assert "received_hour" in columns
    assert "unique-agent-7731" not in dump and "testclient" not in dump


@pytest.mark.parametrize(
    ("change", "message"),
    [
        # The public are told in plain words, not the fields' names (issue 9, item 13).
        ({"lon": "NaN"}, "We could not read the place: choose it on the map again."),
        ({"lat": 91}, "We could not read the place: choose it on the map again."),
        ({"lon": float("inf")}, "We could not read the place: choose it on the map again."),
        ({"lon": -0.1276, "lat": 51.5007}, "this place is outside the area the scheme covers"),
        ({"categories": ["dark_alley"]}, "One of the reasons is not one we know"),
        ({"categories": []}, "Choose at least one thing that made you feel unsafe."),
        ({"text": "x" * 1001}, "Your note is too long: keep it to 1,000 characters."),
        ({"time_band": "midnight"}, "Choose the time of day from the list."),
    ],
)
def test_bad_submissions_are_422_and_say_why(
    client: TestClient, change: dict, message: str
) -> None:
    body = {**GOOD, **change}
    response = client.post(
        "/reports",
        content=__import__("json").dumps(body, allow_nan=True),
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert message in response.json()["detail"]


def test_malformed_and_oversized_bodies(client: TestClient) -> None:
    assert (
        client.post(
            "/reports", content=b"{not json", headers={"Content-Type": "application/json"}
        ).status_code
        == 422
    )
    big = {**GOOD, "padding": "x" * 20_000}
    response = client.post("/reports", json=big)
    assert response.status_code == 413
    assert "16384 bytes" in response.json()["detail"]


def test_rate_limit_answers_429_after_ten_a_minute(client: TestClient) -> None:
    codes = [client.post("/reports", json=GOOD).status_code for _ in range(11)]
    assert codes == [201] * 10 + [429]
    refused = client.post("/reports", json=GOOD)
    assert int(refused.headers["Retry-After"]) > 0
    assert "at most 10 a minute" in refused.json()["detail"]


def test_moderation_and_who_sees_what(client: TestClient, issue_token: Callable[..., str]) -> None:
    report_id = client.post("/reports", json=GOOD).json()["id"]
    supervisor = _auth(issue_token("supervisor", command_unit="AS"))
    officer = _auth(issue_token("officer", wards=["E05014118"]))
    other_officer = _auth(issue_token("officer", wards=["E05011095"]))
    partner = _auth(issue_token("partner", boroughs=["E09000022"]))

    pending = client.get("/moderation", headers=supervisor).json()
    assert [f["id"] for f in pending["features"]] == [report_id]
    assert client.get("/moderation", headers=officer).status_code == 403

    refused = client.post(
        f"/moderation/{report_id}", headers=supervisor, json={"action": "publish"}
    )
    assert refused.status_code == 422  # a reason is required
    decided = client.post(
        f"/moderation/{report_id}",
        headers=supervisor,
        json={"action": "publish", "reason": "genuine place", "redact_text": True},
    )
    assert decided.status_code == 200
    assert decided.json()["status"] == "published" and decided.json()["text_redacted"] is True

    published = client.get("/reports", headers=supervisor, params={"status": "published"})
    feature = published.json()["features"][0]
    assert feature["id"] == report_id and feature["properties"]["text"] is None
    assert len(client.get("/reports", headers=officer).json()["features"]) == 1
    assert client.get("/reports", headers=other_officer).json()["features"] == []
    for outsider in (partner, {}):
        assert client.get("/reports", headers=outsider).status_code == 403


def test_filters_and_paging(client: TestClient, issue_token: Callable[..., str]) -> None:
    supervisor = _auth(issue_token("supervisor", command_unit="AS"))
    for band in ("early_morning", "daytime", "evening", "night", "evening"):
        assert client.post("/reports", json={**GOOD, "time_band": band}).status_code == 201
    first = client.get("/reports", headers=supervisor, params={"limit": 2}).json()
    assert (first["numberMatched"], first["numberReturned"]) == (5, 2)
    seen = [f["id"] for f in first["features"]]
    next_link = next(link["href"] for link in first["links"] if link["rel"] == "next")
    while next_link:
        page = client.get(next_link, headers=supervisor).json()
        seen += [f["id"] for f in page["features"]]
        next_link = next((link["href"] for link in page["links"] if link["rel"] == "next"), None)
    assert len(seen) == len(set(seen)) == 5
    daytime = client.get("/reports", headers=supervisor, params={"dark": "false"}).json()
    assert {f["properties"]["time_band"] for f in daytime["features"]} == {"daytime"}
    boxed = client.get("/reports", headers=supervisor, params={"bbox": "-0.2,51.4,-0.15,51.45"})
    assert boxed.json()["features"] == []
    bad = client.get("/reports", headers=supervisor, params={"category": "nope"})
    assert bad.status_code == 422 and "nope" in bad.json()["detail"]
    assert client.get("/reports", headers=supervisor, params={"limit": 1001}).status_code == 422
