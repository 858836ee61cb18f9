"""The officer's day: next steps, "My work", the plan form and the walk's page."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text

from service.routers.work import london_instant, london_time
from service.settings import Settings
from service.walk_steps import WalkState, next_steps, stage
from tests.walks import BOROUGH_BANKSIDE, DULWICH, ROUTE, WATERLOO, auth, walk_with_route

NOW = datetime(2026, 12, 8, 12, 0, tzinfo=UTC)


def state(**changes: object) -> WalkState:
    """A buddy walk planned for tomorrow, with nothing done yet, changed by ``changes``."""
    values: dict[str, object] = {
        "id": uuid.UUID(int=1),
        "kind": "commute",
        "has_buddy": True,
        "has_route": False,
        "planned_start": NOW + timedelta(days=1),
        "planned_end": NOW + timedelta(days=1, hours=1),
        "actual_start": None,
        "closed_at": None,
        "safeguarding_answered": False,
        "safeguarding_reference_due": False,
        "officer_survey_done": False,
        "patrol_recorded": False,
        "buddy_link_sent": False,
        "buddy_survey_done": False,
    }
    values.update(changes)
    return WalkState(**values)  # type: ignore[arg-type]


def keys(walk: WalkState) -> list[str]:
    return [s.key for s in next_steps(walk, NOW)]


def test_next_steps_follow_the_walk_from_plan_to_surveys() -> None:
    """Each state's outstanding steps, in the order they are done."""
    walk_id = uuid.UUID(int=1)
    planned = state()
    assert next_steps(planned, NOW)[0].path == f"/walks/{walk_id}/route/edit"
    assert keys(planned) == ["route"] and stage(planned, NOW) == "upcoming"
    routed = state(has_route=True)
    assert keys(routed) == [] and stage(routed, NOW) == "upcoming"
    started = state(has_route=True, actual_start=NOW - timedelta(minutes=5))
    assert stage(started, NOW) == "in_progress"
    past = state(has_route=True, planned_end=NOW - timedelta(minutes=1),
                 planned_start=NOW - timedelta(hours=1))
    assert keys(past) == ["close"] and stage(past, NOW) == "needs"
    assert next_steps(past, NOW)[0].path == f"/work/walks/{walk_id}/close"
    past_no_route = state(planned_end=NOW - timedelta(minutes=1))
    assert keys(past_no_route) == ["route", "close"]
    closed = state(has_route=True, closed_at=NOW, planned_end=NOW - timedelta(hours=1))
    assert keys(closed) == ["safeguarding", "officer_survey", "buddy_survey"]
    assert [s.path for s in next_steps(closed, NOW)] == [
        f"/work/walks/{walk_id}/safeguarding",
        f"/work/walks/{walk_id}/officer-survey",
        f"/walks/{walk_id}/buddy-survey-link",
    ]
    sent = state(has_route=True, closed_at=NOW, safeguarding_answered=True,
                 officer_survey_done=True, buddy_link_sent=True)
    assert keys(sent) == ["buddy_survey_wait"]
    done = state(has_route=True, closed_at=NOW, safeguarding_answered=True,
                 officer_survey_done=True, buddy_link_sent=True, buddy_survey_done=True)
    assert keys(done) == [] and stage(done, NOW) == "done"
    # Something was disclosed and its report's reference is not given yet: that is still to do.
    awaiting = state(has_route=True, closed_at=NOW, safeguarding_answered=True,
                     safeguarding_reference_due=True, officer_survey_done=True,
                     buddy_link_sent=True, buddy_survey_done=True)
    assert keys(awaiting) == ["safeguarding_reference"] and stage(awaiting, NOW) == "needs"
    assert next_steps(awaiting, NOW)[0].path == f"/work/walks/{walk_id}/safeguarding"


def test_a_patrol_needs_no_route_buddy_survey_or_officer_survey_but_its_record() -> None:
    """A patrol: no "Draw the route" ask, and after closing its record instead of surveys."""
    patrol = state(kind="patrol", has_buddy=False)
    assert keys(patrol) == []
    closed = state(kind="patrol", has_buddy=False, closed_at=NOW)
    assert keys(closed) == ["safeguarding", "patrol"]
    recorded = state(kind="patrol", has_buddy=False, closed_at=NOW, safeguarding_answered=True,
                     patrol_recorded=True)
    assert keys(recorded) == []


def test_london_times_in_summer_and_winter_and_at_the_clock_changes() -> None:
    """07:30 London is 07:30 UTC in December and 06:30 UTC in June; skipped/repeated times fail."""
    winter = datetime(2026, 12, 8, 7, 30, tzinfo=UTC)
    assert london_instant(date(2026, 12, 8), time(7, 30)) == winter
    assert london_instant(date(2027, 6, 1), time(7, 30)) == datetime(2027, 6, 1, 6, 30, tzinfo=UTC)
    with pytest.raises(ValueError, match="does not exist"):
        london_instant(date(2027, 3, 28), time(1, 30))
    with pytest.raises(ValueError, match="happens twice"):
        london_instant(date(2026, 10, 25), time(1, 30))
    assert london_time(winter, NOW) == "Tue 8 Dec, 07:30"
    summer = datetime(2027, 6, 1, 6, 30, tzinfo=UTC)
    assert london_time(summer, NOW) == "Tue 1 Jun 2027, 07:30"
    assert london_time(summer, summer) == "Tue 1 Jun, 07:30"


def link_token(settings: Settings, name: str, officer_id: str) -> None:
    """Put an officer record on a token (as a supervisor's linking does)."""
    engine = create_engine(settings.database_url or "")
    with engine.begin() as connection:
        connection.execute(
            text("UPDATE api_tokens SET officer_id = :o WHERE name = :n"),
            {"o": officer_id, "n": name},
        )
    engine.dispose()


@pytest.fixture
def team(
    client: TestClient,
    people: dict,
    issue_token: Callable[..., str],
    app_settings: Settings,
) -> dict:
    """A Waterloo officer whose token is linked to her record, a Waterloo and a Dulwich buddy."""
    officer = client.post(
        "/officers",
        headers=people["supervisor"],
        json={"name": "PC Ada Walker", "shoulder_number": "AS4411", "ward_codes": [WATERLOO],
              "command_unit": "AS"},
    )
    assert officer.status_code == 201, officer.text
    token = issue_token("officer", wards=[WATERLOO], name="linked waterloo")
    link_token(app_settings, "linked waterloo", officer.json()["id"])
    buddies = {}
    for code, ward in (("WT-ROSE", WATERLOO), ("BB-IRIS", BOROUGH_BANKSIDE)):
        made = client.post("/buddies", headers=people["supervisor"],
                           json={"code": code, "home_ward": ward})
        assert made.status_code == 201, made.text
        buddies[code] = made.json()["id"]
    return {"officer": officer.json()["id"], "headers": auth(token), "buddies": buddies}


def walk_count(settings: Settings) -> int:
    engine = create_engine(settings.database_url or "")
    with engine.connect() as connection:
        count = int(connection.execute(text("SELECT count(*) FROM walks")).scalar_one())
    engine.dispose()
    return count


def good_form(team: dict, **changes: str) -> dict[str, str]:
    form = {
        "kind": "commute",
        "buddy": team["buddies"]["WT-ROSE"],
        "ward": WATERLOO,
        "date": "2027-06-01",
        "time": "07:30",
        "minutes": "60",
        "lon": "-0.1136",
        "lat": "51.5033",
        "consent_keep_route": "yes",
    }
    form.update(changes)
    return form


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"minutes": "20"}, "minutes", "at least 30 minutes"),
        ({"minutes": "an hour"}, "minutes", "whole minutes"),
        ({"buddy": str(uuid.uuid4())}, "buddy", "only your wards&#39; buddies"),
        ({"buddy": "BB-IRIS"}, "buddy", "only your wards&#39; buddies"),
        ({"date": "2027-03-28", "time": "01:30"}, "time", "does not exist"),
        ({"date": "2020-01-01"}, "date", "has passed"),
        ({"date": "soon"}, "date", "Enter the date"),
        ({"time": "25:00"}, "time", "Enter the start time"),
        ({"kind": "stroll"}, "kind", "Choose the kind"),
        ({"ward": BOROUGH_BANKSIDE}, "ward", "Choose one of your wards"),
        ({"lon": "east", "lat": "51.5"}, "map", "Tap the map again"),
        ({"buddy": ""}, "buddy", "Choose the buddy"),
    ],
)
def test_plan_form_refuses_bad_values_and_stores_nothing(
    client: TestClient, team: dict, app_settings: Settings,
    changes: dict[str, str], field: str, message: str,
) -> None:
    """Each bad value: the form again (422), the message linked to its field, no walk stored."""
    form = good_form(team, **changes)
    if changes.get("buddy") == "BB-IRIS":  # the Bankside buddy: not in her wards' list
        form["buddy"] = team["buddies"]["BB-IRIS"]
    answer = client.post("/work/walks/new", headers=team["headers"], data=form,
                         follow_redirects=False)
    assert answer.status_code == 422, answer.text
    assert f'href="#{field}"' in answer.text
    assert message in answer.text
    assert walk_count(app_settings) == 0


@pytest.mark.parametrize(
    ("day", "clock", "utc"),
    [("2027-06-01", "07:30", "2027-06-01 06:30:00+00"),
     ("2026-12-08", "07:30", "2026-12-08 07:30:00+00")],
)
def test_planning_stores_utc_and_the_walk_page_says_draw_the_route(
    client: TestClient, team: dict, app_settings: Settings, day: str, clock: str, utc: str
) -> None:
    """Success: 303 to the walk's page, times stored in UTC (BST and GMT), route next."""
    if date.fromisoformat(day) < datetime.now(UTC).date():
        day = str(date.today().year + 1) + day[4:]
        utc = day[:4] + utc[4:]
    answer = client.post("/work/walks/new", headers=team["headers"],
                         data=good_form(team, date=day, time=clock), follow_redirects=False)
    assert answer.status_code == 303, answer.text
    location = answer.headers["location"]
    assert location.startswith("/work/walks/") and location.endswith("?planned=1")
    walk_id = location.split("/")[3].split("?")[0]
    engine = create_engine(app_settings.database_url or "")
    with engine.connect() as connection:
        connection.execute(text("SET TIME ZONE 'UTC'"))
        row = connection.execute(
            text("SELECT planned_start::text AS s, planned_end - planned_start AS d, officer_id, "
                 "ST_X(meeting_point) AS lon, consent_keep_route, consent_contact "
                 "FROM walks WHERE id = :id"), {"id": walk_id}
        ).one()
    engine.dispose()
    assert row.s == utc and row.d == timedelta(hours=1)
    assert str(row.officer_id) == team["officer"]
    assert row.lon == pytest.approx(-0.1136)
    assert row.consent_keep_route is True and row.consent_contact is False
    walk = client.get(location, headers=team["headers"])
    assert walk.status_code == 200
    assert "The walk is planned" in walk.text and "Draw the route" in walk.text
    assert f'href="/walks/{walk_id}/route/edit"' in walk.text
    assert "WT-ROSE" in walk.text
    home = client.get("/", headers=team["headers"])
    assert "<h1>My work</h1>" in home.text and "Upcoming walks" in home.text
    assert f'href="/work/walks/{walk_id}"' in home.text


def test_the_walk_page_briefs_once_the_route_exists_and_another_ward_sees_it_trimmed(
    client: TestClient, team: dict, people: dict
) -> None:
    """With a route: the briefing; an officer of another ward sees no buddy, time or steps."""
    answer = client.post("/work/walks/new", headers=team["headers"],
                         data=good_form(team, date=f"{date.today().year + 1}-01-12"),
                         follow_redirects=False)
    walk_id = answer.headers["location"].split("/")[3].split("?")[0]
    stored = client.put(f"/walks/{walk_id}/route", headers=team["headers"], json=ROUTE)
    assert stored.status_code == 200, stored.text
    noted = client.post(
        f"/walks/{walk_id}/concerns",
        headers=team["headers"],
        json={"lon": -0.1100, "lat": 51.5075, "categories": ["poor_lighting"],
              "note": "Dark under the bridge", "at": "2026-12-01T17:20:00+00:00"},
    )
    assert noted.status_code == 201, noted.text
    page = client.get(f"/work/walks/{walk_id}", headers=team["headers"])
    assert "Briefing for the planned time" in page.text and 'id="briefing"' in page.text
    concerns = page.text.split('id="concerns"')[1].split("</table>")[0]
    assert "Poor or no street lighting" in concerns and "Dark under the bridge" in concerns
    assert "Tue 1 Dec" in concerns and "17:20" in concerns
    assert "Draw the route" not in page.text.split("<h2>The walk</h2>")[0]
    other = client.get(f"/work/walks/{walk_id}", headers=people["bankside"])
    assert other.status_code == 200
    assert "WT-ROSE" not in other.text and "another ward" in other.text
    assert "Dark under the bridge" not in other.text
    assert 'id="next-steps"' not in other.text
    outside = client.get(f"/work/walks/{walk_id}", headers=people["partner"])
    assert outside.status_code == 403


def test_my_work_counts_new_requests_and_the_public_keep_their_home(
    client: TestClient, team: dict, app_settings: Settings, people: dict
) -> None:
    """Requests to take part in her wards are counted; the public's home page is unchanged."""
    engine = create_engine(app_settings.database_url or "")
    with engine.begin() as connection:
        for i, ward in enumerate((WATERLOO, WATERLOO, BOROUGH_BANKSIDE)):
            connection.execute(
                text("INSERT INTO participation_requests (reference, ward_code, borough_code, "
                     "availability) VALUES (:r, :w, 'E09000022', '{}')"),
                {"r": f"TP-TEST{i}", "w": ward},
            )
    engine.dispose()
    home = client.get("/", headers=team["headers"])
    assert "Requests to take part: <strong>2 new</strong>" in home.text
    assert 'href="/work/walks/new"' in home.text
    public = client.get("/")
    assert "My work" not in public.text and "walk ids" not in public.text


def test_plan_page_gates_and_an_unlinked_token_chooses_the_officer(
    client: TestClient, team: dict, people: dict
) -> None:
    """Signed out: sent to sign in; a partner: refused; an unlinked officer: chooses who walks."""
    signed_out = client.get("/work/walks/new", follow_redirects=False)
    assert signed_out.status_code == 303
    assert signed_out.headers["location"] == "/login?next=/work/walks/new"
    assert client.get("/work/walks/new", headers=people["partner"]).status_code == 403
    assert client.post("/work/walks/new", headers=people["partner"], data={}).status_code == 403
    unlinked = client.get("/work/walks/new", headers=people["waterloo"])
    assert unlinked.status_code == 200
    assert '<select id="officer"' in unlinked.text and "PC Ada Walker" in unlinked.text
    empty = client.post("/work/walks/new", headers=people["waterloo"], data={})
    assert empty.status_code == 422 and 'href="#officer"' in empty.text
    chosen = client.post(
        "/work/walks/new", headers=people["waterloo"],
        data=good_form(team, officer=team["officer"], date=f"{date.today().year + 1}-02-02"),
        follow_redirects=False,
    )
    assert chosen.status_code == 303, chosen.text


def test_a_supervisor_plans_an_unusual_pairing_and_is_warned(
    client: TestClient, team: dict, people: dict
) -> None:
    """A buddy from far off is allowed, and the walk's page says why the pairing is unusual."""
    far = client.post("/buddies", headers=people["supervisor"],
                      json={"code": "DU-FERN", "home_ward": DULWICH})
    assert far.status_code == 201, far.text
    answer = client.post(
        "/work/walks/new", headers=people["supervisor"],
        data=good_form(team, officer=team["officer"], buddy=far.json()["id"],
                       date=f"{date.today().year + 1}-03-03"),
        follow_redirects=False,
    )
    assert answer.status_code == 303, answer.text
    assert answer.headers["location"].endswith("?planned=1&unusual=1")
    page = client.get(answer.headers["location"], headers=people["supervisor"])
    assert "neither lives nor works in or next to the officer" in page.text


def test_a_walks_own_files_carry_its_route_and_concerns_for_its_officers_only(
    client: TestClient, people: dict
) -> None:
    """GeoJSON, GeoPackage (two layers, either CRS) and GPX of one walk, from its page."""
    import io

    import geopandas as gpd
    import gpxpy

    walk = walk_with_route(client, people)
    point = {"lon": -0.1100, "lat": 51.5074, "categories": ["poor_lighting"], "note": "Unlit"}
    stretch = {"line": {"type": "LineString", "coordinates": [[-0.1030, 51.5080],
                                                              [-0.1000, 51.5079]]},
               "categories": ["isolated"]}
    for body in (point, stretch):
        sent = client.post(f"/walks/{walk['id']}/concerns", headers=people["waterloo"], json=body)
        assert sent.status_code == 201, sent.text
    base = f"/work/walks/{walk['id']}/export"
    page = client.get(f"/work/walks/{walk['id']}", headers=people["waterloo"]).text
    assert f'href="{base}.gpx"' in page and f'href="{base}.gpkg"' in page

    geojson = client.get(f"{base}.geojson", headers=people["waterloo"])
    assert geojson.status_code == 200
    assert geojson.headers["content-type"] == "application/geo+json"
    features = geojson.json()["features"]
    assert [(f["properties"]["layer"], f["geometry"]["type"]) for f in features[:1]] == [
        ("route", "LineString")
    ]
    concerns_by_kind = {f["geometry"]["type"]: f["properties"] for f in features[1:]}
    assert sorted(concerns_by_kind) == ["LineString", "Point"]
    assert concerns_by_kind["Point"]["what"] == "Poor or no street lighting"
    assert concerns_by_kind["Point"]["layer"] == "concern"
    assert not {"buddy_id", "buddy_code", "meeting_point"} & set(features[0]["properties"])

    gpkg = client.get(f"{base}.gpkg?crs=27700", headers=people["waterloo"])
    assert gpkg.status_code == 200
    route = gpd.read_file(io.BytesIO(gpkg.content), layer="route")
    concerns = gpd.read_file(io.BytesIO(gpkg.content), layer="concerns")
    assert route.crs.to_epsg() == 27700 and len(route) == 1 and len(concerns) == 2
    assert 530_000 < route.geometry.iloc[0].coords[0][0] < 535_000  # metres east, not degrees

    gpx = gpxpy.parse(client.get(f"{base}.gpx", headers=people["waterloo"]).text)
    assert len(gpx.tracks[0].segments[0].points) == len(ROUTE["coordinates"])
    assert [w.name for w in gpx.waypoints] == ["Concern: Poor or no street lighting (Unlit)"]
    assert len(gpx.tracks) == 2 and gpx.tracks[1].name.startswith("Concern: ")

    # Another ward's officer may not take the walk's files; a kind of file not offered says so.
    assert client.get(f"{base}.geojson", headers=people["bankside"]).status_code == 403
    wrong = client.get(f"{base}.kml", headers=people["waterloo"])
    assert wrong.status_code == 422 and ".gpx" in wrong.text
    assert client.get(f"{base}.gpkg?crs=3857", headers=people["waterloo"]).status_code == 422


def test_a_walks_briefing_counts_earlier_concerns_not_its_own(
    client: TestClient, people: dict
) -> None:
    """Another walk's concern on the route is earlier; the walk's own is what it found."""
    earlier = walk_with_route(client, people, start="2026-11-20T17:00:00+00:00")
    walk = walk_with_route(client, people)
    concern = {"lon": -0.1100, "lat": 51.5074, "categories": ["poor_lighting"]}
    for each in (earlier, walk, walk):
        url = f"/walks/{each['id']}/concerns"
        sent = client.post(url, headers=people["waterloo"], json=concern)
        assert sent.status_code == 201, sent.text
    page = client.get(f"/work/walks/{walk['id']}", headers=people["waterloo"]).text
    shown = re.search(r"Earlier walk concerns within 50 m</dt><dd>(\d+)</dd>", page)
    assert shown is not None and shown.group(1) == "1"
    # Its own two are listed as this walk's.
    assert page.count("<td data-label=\"What\">Poor or no street lighting</td>") == 2
