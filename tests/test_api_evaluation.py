"""The evaluation: every figure equals pandas on the raw tables; supervisors only; no buddy named.

The database holds demo walks (``seed_walks``: officers, buddies, walks over the last six
months, concerns, surveys, two disclosures) and a few walks made through the API: one cut
short with a disclosure still awaiting its reference, one more with the same buddy, one
planned for next year, and an officer who has not walked.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

import pandas as pd
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

from service.queries.demo_walks import seed_walks
from service.settings import Settings
from tests.walks import BOROUGH_BANKSIDE, WATERLOO, auth, make_walk, walk_with_route

LAMBETH, SOUTHWARK = "E09000022", "E09000028"
COMMENT = "The lamp by the arches is out again"
NOTES = "She avoids the arches after six"


def _surveys(client: TestClient, people: dict, walk_id: str, answers: dict[str, Any]) -> None:
    """The baseline, the officer's survey and the buddy's own (through her one-time link)."""
    officer = people["waterloo"]
    baseline = client.post(
        f"/walks/{walk_id}/surveys/baseline", headers=officer, json={"safety": answers["before"]}
    )
    assert baseline.status_code == 200, baseline.text
    survey = client.post(
        f"/walks/{walk_id}/surveys/officer",
        headers=officer,
        json={
            "walk_useful": answers["useful"],
            "themes": ["poor_lighting"],
            "actions": answers["actions"],
            "follow_up_walk": answers["follow_up"],
            "notes": NOTES,
        },
    )
    assert survey.status_code == 201, survey.text
    link = client.post(f"/walks/{walk_id}/buddy-survey-link", headers=officer).json()
    secret = link["url"].rsplit("/survey/", 1)[1]
    answered = client.post(
        f"/survey/{secret}",
        json={
            "felt_safer": answers["after"],
            "police_confidence": answers["confidence"],
            "would_recommend": answers["recommend"],
            "themes": ["poor_lighting"],
            "comments": COMMENT,
        },
    )
    assert answered.status_code == 201, answered.text


def _close(client: TestClient, people: dict, walk_id: str, start: str, end: str) -> None:
    closed = client.post(
        f"/walks/{walk_id}/close",
        headers=people["waterloo"],
        json={"actual_start": start, "actual_end": end},
    )
    assert closed.status_code == 200, closed.text


@pytest.fixture
def walks(
    client: TestClient, app_settings: Settings, people: dict[str, dict[str, str]]
) -> dict[str, Any]:
    """Demo walks and the API's walks in one fresh database; what the API made."""
    engine = create_engine(app_settings.database_url or "")
    with Session(engine) as session, session.begin():
        seeded = seed_walks(
            session, key=app_settings.resolved_secret_key(), count=24, seed=12, streets=None
        )
    engine.dispose()

    # A walk in October cut short at 20 minutes, with a disclosure awaiting its reference.
    short = walk_with_route(client, people, start="2026-10-06T17:00:00+00:00")
    _surveys(
        client,
        people,
        short["id"],
        {
            "before": 2,
            "after": 4,
            "useful": 4,
            "actions": ["lighting", "cctv"],
            "follow_up": True,
            "confidence": 3,
            "recommend": True,
        },
    )
    answered = client.post(
        f"/walks/{short['id']}/safeguarding", headers=people["waterloo"], json={"disclosed": True}
    )
    assert answered.status_code == 201, answered.text
    _close(client, people, short["id"], "2026-10-06T17:05:00+00:00", "2026-10-06T17:25:00+00:00")

    # The same officer and buddy again in November: she is reached once, not twice.
    first = client.get(f"/walks/{short['id']}", headers=people["waterloo"]).json()["properties"]
    again = client.post(
        "/walks",
        headers=people["waterloo"],
        json={
            "officer_id": first["officer_id"],
            "buddy_id": first["buddy_id"],
            "kind": "park",
            "planned_start": "2026-11-03T07:00:00+00:00",
            "planned_end": "2026-11-03T07:45:00+00:00",
        },
    )
    assert again.status_code == 201, again.text
    again_id = again.json()["id"]
    _surveys(
        client,
        people,
        again_id,
        {
            "before": 3,
            "after": 2,
            "useful": 2,
            "actions": [],
            "follow_up": False,
            "confidence": 4,
            "recommend": False,
        },
    )
    client.post(
        f"/walks/{again_id}/safeguarding", headers=people["waterloo"], json={"disclosed": False}
    )
    _close(client, people, again_id, "2026-11-03T07:00:00+00:00", "2026-11-03T07:50:00+00:00")

    # Planned for next year, and an officer of Borough & Bankside who has not walked at all.
    planned = make_walk(
        client,
        people,
        start="2027-01-12T17:30:00+00:00",
        end="2027-01-12T18:15:00+00:00",
        buddy_ward=WATERLOO,
    )
    idle = client.post(
        "/officers",
        headers=people["supervisor"],
        json={
            "name": "PC Idle",
            "shoulder_number": "AS9999",
            "ward_codes": [BOROUGH_BANKSIDE],
            "command_unit": "AS",
        },
    )
    assert idle.status_code == 201, idle.text
    return {
        "seeded": seeded,
        "short": short["id"],
        "again": again_id,
        "planned": planned["id"],
        "idle": idle.json()["id"],
    }


# --- the same figures, independently, in pandas ----------------------------------------------


def _read(url: str) -> dict[str, pd.DataFrame]:
    engine = create_engine(url)
    with engine.connect() as conn:

        def read(sql: str) -> pd.DataFrame:
            return pd.read_sql_query(text(sql), conn)

        tables = {
            "walks": read(
                "SELECT id, officer_id, buddy_id, ward_code, borough_code, planned_start, "
                "actual_start, actual_end, closed_at, dark_share, dark_at_start, "
                "baseline_safety, synthetic FROM walks"
            ),
            "buddy_surveys": read("SELECT * FROM buddy_surveys"),
            "officer_surveys": read("SELECT * FROM officer_surveys"),
            "safeguarding": read("SELECT * FROM safeguarding"),
            "officers": read("SELECT id, name, borough_codes FROM officers"),
            "wards": read(
                "SELECT w.code, w.borough_code FROM wards w "
                "JOIN ward_sets s ON s.id = w.ward_set_id AND s.is_active"
            ),
            "buddies": read("SELECT id, code FROM buddies"),
        }
    engine.dispose()
    return tables


def expected_figures(
    t: dict[str, pd.DataFrame],
    *,
    boroughs: tuple[str, ...],
    first: date | None = None,
    last: date | None = None,
) -> dict[str, Any]:
    now = pd.Timestamp(datetime.now(UTC))
    walks = t["walks"].copy()
    start = walks["actual_start"].fillna(walks["planned_start"])
    walks["month"] = (
        pd.to_datetime(start, utc=True)
        .dt.tz_convert("Europe/London")
        .dt.tz_localize(None)
        .dt.to_period("M")
    )
    walks = walks[walks["borough_code"].isin(boroughs)]
    if first:
        walks = walks[walks["month"] >= pd.Period(first, "M")]
    if last:
        walks = walks[walks["month"] <= pd.Period(last, "M")]
    walked = walks[walks["closed_at"].notna()]
    minutes = (walked["actual_end"] - walked["actual_start"]).dt.total_seconds() / 60
    buddy = walked.merge(t["buddy_surveys"], left_on="id", right_on="walk_id")
    paired = buddy[buddy["baseline_safety"].notna()]
    officer = walked.merge(t["officer_surveys"], left_on="id", right_on="walk_id")
    actions = officer["actions"].explode().dropna().value_counts()
    guard = t["safeguarding"]
    open_flags = guard[
        guard["disclosed"] & guard["reviewed_at"].isna() & guard["borough_code"].isin(boroughs)
    ]
    overdue = open_flags["reference"].isna() & (open_flags["due_at"] < now)
    officers = t["officers"][
        t["officers"]["borough_codes"].map(lambda b: bool(set(b) & set(boroughs)))
    ]
    wards = t["wards"][t["wards"]["borough_code"].isin(boroughs)]
    not_closed = walks[walks["closed_at"].isna()]
    dark_known = walked["dark_at_start"].dropna()
    return {
        "walked": len(walked),
        "buddies_reached": walked["buddy_id"].dropna().nunique(),
        "officers_walking": walked["officer_id"].nunique(),
        "wards_with_walks": walked["ward_code"].nunique(),
        "synthetic_walks": int(walked["synthetic"].sum()),
        "not_closed": len(not_closed),
        "upcoming": int((not_closed["planned_start"] > now).sum()),
        "per_ward_month": {
            (w, str(m)): int(n)
            for (w, m), n in walked.groupby(["ward_code", "month"]).size().items()
        },
        "wards_without": set(wards["code"]) - set(walked["ward_code"]),
        "officers_without": set(officers["id"].astype(str)) - set(walked["officer_id"].astype(str)),
        "mean_dark_share": walked["dark_share"].mean(),
        "walks_with_route": int(walked["dark_share"].notna().sum()),
        "dark_at_start": int(dark_known.sum()),
        "walks_dark_known": len(dark_known),
        "cut_short": set(walked.loc[minutes < 30, "id"].astype(str)),
        "buddy_surveys": len(buddy),
        "paired": len(paired),
        "mean_before": paired["baseline_safety"].mean(),
        "mean_after": paired["felt_safer"].mean(),
        "felt_safer": int((paired["felt_safer"] > paired["baseline_safety"]).sum()),
        "felt_less_safe": int((paired["felt_safer"] < paired["baseline_safety"]).sum()),
        "mean_police_confidence": buddy["police_confidence"].mean(),
        "would_recommend": int(buddy["would_recommend"].sum()),
        "officer_surveys": len(officer),
        "mean_usefulness": officer["walk_useful"].mean(),
        "follow_up_walks": int(officer["follow_up_walk"].sum()),
        "actions": {a: int(n) for a, n in actions.items()},
        "disclosures": int(
            walked.merge(guard, left_on="id", right_on="walk_id")["disclosed"].sum()
        ),
        "open_flags": set(open_flags["walk_id"].astype(str)),
        "overdue": set(open_flags.loc[overdue, "walk_id"].astype(str)),
    }


def assert_figures(body: dict[str, Any], x: dict[str, Any]) -> None:
    """Every figure of the answer against the independent computation."""
    w = body["walks"]
    for key in (
        "walked",
        "buddies_reached",
        "officers_walking",
        "wards_with_walks",
        "synthetic_walks",
        "not_closed",
        "upcoming",
    ):
        assert w[key] == x[key], key
    assert {(r["ward_code"], r["month"]): r["walks"] for r in body["walks_per_ward_month"]} == x[
        "per_ward_month"
    ]
    assert {r["ward_code"] for r in body["wards_without_walks"]} == x["wards_without"]
    assert {str(r["id"]) for r in body["officers_without_walks"]} == x["officers_without"]
    dark = body["darkness"]
    assert dark["mean_dark_share"] == pytest.approx(x["mean_dark_share"])
    assert dark["walks_with_route"] == x["walks_with_route"]
    assert dark["dark_at_start"] == x["dark_at_start"]
    assert dark["dark_at_start_share"] == pytest.approx(x["dark_at_start"] / x["walks_dark_known"])
    short = body["cut_short"]
    assert {str(r["walk_id"]) for r in short["list"]} == x["cut_short"]
    assert short["walks"] == len(x["cut_short"])
    assert short["share"] == pytest.approx(len(x["cut_short"]) / x["walked"])
    b = body["buddy_answers"]
    assert (b["surveys"], b["paired"]) == (x["buddy_surveys"], x["paired"])
    assert b["mean_before"] == pytest.approx(x["mean_before"])
    assert b["mean_after"] == pytest.approx(x["mean_after"])
    assert b["felt_safer"] == x["felt_safer"] and b["felt_less_safe"] == x["felt_less_safe"]
    assert b["felt_safer_share"] == pytest.approx(x["felt_safer"] / x["paired"])
    assert b["mean_police_confidence"] == pytest.approx(x["mean_police_confidence"])
    assert b["would_recommend_share"] == pytest.approx(x["would_recommend"] / x["buddy_surveys"])
    o = body["officer_surveys"]
    assert o["surveys"] == x["officer_surveys"]
    assert o["mean_usefulness"] == pytest.approx(x["mean_usefulness"])
    assert o["follow_up_walks"] == x["follow_up_walks"]
    assert o["follow_up_share"] == pytest.approx(x["follow_up_walks"] / x["officer_surveys"])
    assert {a["action"]: a["surveys"] for a in o["actions"] if a["surveys"]} == x["actions"]
    g = body["safeguarding"]
    assert g["disclosures_in_period"] == x["disclosures"]
    assert {str(f["walk_id"]) for f in g["open_flags"]} == x["open_flags"]
    assert {str(f["walk_id"]) for f in g["open_flags"] if f["overdue"]} == x["overdue"]
    assert (g["open"], g["overdue"]) == (len(x["open_flags"]), len(x["overdue"]))


def test_every_figure_equals_pandas_on_the_tables(
    client: TestClient, walks: dict[str, Any], people: dict, app_settings: Settings
) -> None:
    response = client.get("/evaluation.json", headers=people["supervisor"])
    assert response.status_code == 200, response.text
    body = response.json()
    x = expected_figures(_read(app_settings.database_url or ""), boroughs=(LAMBETH, SOUTHWARK))
    assert_figures(body, x)

    assert body["borough_names"] == ["Lambeth", "Southwark"]
    # The figures are about something: the demo and the API walks are all in.
    seeded = walks["seeded"]
    assert body["walks"]["walked"] == 24 + 2
    assert body["walks"]["synthetic_walks"] == 24
    assert body["walks"]["not_closed"] == 4 + 1  # the demo's upcoming walks and next year's
    assert body["walks"]["upcoming"] == 5
    assert 0 < body["walks"]["buddies_reached"] <= seeded.buddies + 1
    assert body["buddy_answers"]["paired"] == seeded.buddy_surveys + 2
    assert walks["short"] in {r["walk_id"] for r in body["cut_short"]["list"]}
    minutes = {r["walk_id"]: r["minutes"] for r in body["cut_short"]["list"]}
    assert minutes[walks["short"]] == 20
    assert walks["idle"] in {r["id"] for r in body["officers_without_walks"]}
    flags = {f["walk_id"]: f for f in body["safeguarding"]["open_flags"]}
    assert len(flags) == 3  # the demo's two and the API's one
    assert flags[walks["short"]]["state"] == "awaiting the report reference"
    assert flags[walks["short"]]["ward_name"] == "Waterloo & South Bank"
    assert sorted(f["state"] for f in flags.values()) == [
        "awaiting the report reference",
        "overdue: no report reference by the deadline",
        "reference given, awaiting review",
    ]
    assert body["safeguarding"]["overdue"] == 1
    lighting = {a["action"]: a for a in body["officer_surveys"]["actions"]}["lighting"]
    assert lighting["label"] == "Ask for better street lighting" and lighting["surveys"] >= 1


def test_a_month_range_and_one_borough(
    client: TestClient, walks: dict[str, Any], people: dict, app_settings: Settings
) -> None:
    params = {"month_from": "2026-10", "month_to": "2026-11", "borough": LAMBETH}
    response = client.get("/evaluation.json", params=params, headers=people["supervisor"])
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["period"] == {
        "month_from": "2026-10",
        "month_to": "2026-11",
        "described": "October 2026 to November 2026",
    }
    x = expected_figures(
        _read(app_settings.database_url or ""),
        boroughs=(LAMBETH,),
        first=date(2026, 10, 1),
        last=date(2026, 11, 1),
    )
    assert_figures(body, x)
    assert {r["month"] for r in body["walks_per_ward_month"]} <= {"2026-10", "2026-11"}
    assert body["walks"]["walked"] >= 2  # the API's two Waterloo walks at least
    assert body["walks"]["upcoming"] == 0  # next year's walk is outside the period
    assert all(r["borough_code"] == LAMBETH for r in body["wards_without_walks"])


def test_bad_periods_and_boroughs_are_refused(client: TestClient, people: dict) -> None:
    supervisor = people["supervisor"]
    bad = client.get("/evaluation.json", params={"month_from": "2026-13"}, headers=supervisor)
    assert bad.status_code == 422 and "YYYY-MM" in bad.json()["detail"]
    backwards = client.get(
        "/evaluation.json",
        params={"month_from": "2026-10", "month_to": "2026-03"},
        headers=supervisor,
    )
    assert backwards.status_code == 422 and "after month_to" in backwards.json()["detail"]
    outside = client.get("/evaluation.json", params={"borough": "E09000033"}, headers=supervisor)
    assert outside.status_code == 403 and "outside your scope" in outside.json()["detail"]


def test_only_supervisors_may_read_it(
    client: TestClient, people: dict, issue_token: Callable[..., str]
) -> None:
    planner = auth(issue_token("planner", boroughs=[LAMBETH]))
    for path in ("/evaluation", "/evaluation.json", "/evaluation.csv"):
        for headers in (people["partner"], planner, people["waterloo"]):
            refused = client.get(path, headers=headers)
            assert refused.status_code == 403, (path, refused.text)
            assert "supervisor" in refused.json()["detail"]
        assert client.get(path, headers=people["supervisor"]).status_code == 200
    for path in ("/evaluation.json", "/evaluation.csv"):
        assert client.get(path).status_code == 403
    page = client.get("/evaluation?month_from=2026-10&month_to=2026-11", follow_redirects=False)
    assert page.status_code == 303
    assert (
        page.headers["location"]
        == "/login?next=/evaluation%3Fmonth_from%3D2026-10%26month_to%3D2026-11"
    )
    login = client.get(page.headers["location"])
    assert 'value="/evaluation?month_from=2026-10&amp;month_to=2026-11"' in login.text


def test_no_buddy_is_named_and_nothing_written_is_shown(
    client: TestClient, walks: dict[str, Any], people: dict, app_settings: Settings
) -> None:
    tables = _read(app_settings.database_url or "")
    answers = [
        client.get(path, headers=people["supervisor"]).text
        for path in ("/evaluation", "/evaluation.json", "/evaluation.csv")
    ]
    for answer in answers:
        assert COMMENT not in answer and NOTES not in answer
        assert "07700 900123" not in answer  # the API buddy's contact
        for buddy in tables["buddies"].itertuples():
            assert buddy.code not in answer and str(buddy.id) not in answer
    entries = client.get("/audit", headers=people["supervisor"]).json()["entries"]
    assert sum(e["action"] == "read evaluation" for e in entries) == 3


def test_the_csv_has_one_figure_a_row(
    client: TestClient, walks: dict[str, Any], people: dict
) -> None:
    response = client.get("/evaluation.csv", headers=people["supervisor"])
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert 'filename="evaluation-' in response.headers["content-disposition"]
    frame = pd.read_csv(io.StringIO(response.text), dtype=str, keep_default_na=False)
    assert list(frame.columns) == [
        "section",
        "measure",
        "ward_code",
        "ward_name",
        "month",
        "walk_id",
        "officer",
        "due_at",
        "value",
        "n",
        "notes",
    ]
    body = client.get("/evaluation.json", headers=people["supervisor"]).json()
    figure = frame.set_index(["section", "measure"])
    assert int(figure.loc[("walks", "walked"), "value"]) == body["walks"]["walked"]
    per = frame[frame["section"] == "walks_per_ward_month"]
    assert per["value"].astype(int).sum() == body["walks"]["walked"]
    before = figure.loc[("buddy_answers", "mean_before")]
    assert float(before["value"]) == pytest.approx(body["buddy_answers"]["mean_before"])
    assert int(before["n"]) == body["buddy_answers"]["paired"]
    flags = frame[frame["measure"] == "open_flag"]
    assert set(flags["walk_id"]) == {str(f["walk_id"]) for f in body["safeguarding"]["open_flags"]}
    assert "Includes 24 synthetic demo walks." in frame.at[0, "notes"]
    assert (frame["notes"].iloc[1:] == "").all()


def test_the_page_is_tables_a_screen_reader_can_navigate(
    client: TestClient, walks: dict[str, Any], people: dict
) -> None:
    response = client.get("/evaluation", headers=people["supervisor"])
    assert response.status_code == 200
    html = response.text
    assert "Includes 24 synthetic demo walks" in html
    for caption in (
        "The walks at a glance",
        "Walks per ward and month",
        "Darkness and length",
        "Walks cut short",
        "The buddies' answers: before the walk and after it",
        "The officers' surveys",
        "Actions named in the officers' surveys",
        "Open safeguarding flags: 3 open, 1 overdue",
    ):
        assert f"<caption>{caption}" in html, caption
    assert html.count("<table") == html.count("<caption>")
    assert (
        '<th scope="col">Ward</th>' in html
        and '<th scope="row">Waterloo &amp; South Bank</th>' in html
    )
    assert 'class="overdue">overdue: no report reference by the deadline' in html
    assert "PC Idle" in html
