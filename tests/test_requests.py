"""Requests to partners through the JSON API: who sees and changes what, transitions, imports."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text

from service.queries.requests import allowed_next
from tests.walks import ROUTE, WATERLOO, auth, walk_with_route

LAMBETH, SOUTHWARK = "E09000022", "E09000028"
# Lower Marsh (Waterloo, Lambeth); Borough Market (Southwark).
LOWER_MARSH = (-0.1136, 51.4995)
BOROUGH_MARKET = (-0.0909, 51.5055)


def _raise(client: TestClient, headers: dict, **overrides: object) -> dict:
    body = {
        "kind": "lighting",
        "title": "Lamp out on Lower Marsh",
        "lon": LOWER_MARSH[0],
        "lat": LOWER_MARSH[1],
        "partner_borough": "Lambeth",
        "partner_team": "Street lighting",
        **overrides,
    }
    answer = client.post("/requests", headers=headers, json=body)
    assert answer.status_code == 201, answer.text
    return answer.json()


@pytest.fixture
def planners(issue_token: Callable[..., str]) -> dict[str, dict[str, str]]:
    """A Lambeth planner, a Southwark planner and a Southwark partner."""
    return {
        "lambeth_planner": auth(issue_token("planner", boroughs=[LAMBETH])),
        "southwark_planner": auth(issue_token("planner", boroughs=[SOUTHWARK])),
        "southwark_partner": auth(issue_token("partner", boroughs=[SOUTHWARK])),
    }


def test_allowed_next_moves_forward_or_to_declined() -> None:
    """Any later step, or declined while open; installed and declined are final."""
    assert allowed_next("proposed") == (
        "sent", "accepted", "in_bid", "funded", "installed", "declined"
    )  # fmt: skip
    assert allowed_next("funded") == ("installed", "declined")
    assert allowed_next("declined") == ()


def test_each_role_sees_and_changes_what_it_may(
    client: TestClient, people: dict, planners: dict
) -> None:
    """Officers and supervisors by place, planners by borough, partners by the council asked."""
    ours = _raise(client, people["waterloo"])
    assert ours["reference"].startswith("RQ-") and len(ours["reference"]) == 9
    assert ours["ward_code"] == WATERLOO and ours["borough_code"] == LAMBETH
    assert ours["partner_borough"] == LAMBETH and ours["status"] == "proposed"
    assert [e["status"] for e in ours["events"]] == ["proposed"]
    # A Southwark request by a planner there, addressed to Southwark.
    theirs = _raise(
        client,
        planners["southwark_planner"],
        lon=BOROUGH_MARKET[0],
        lat=BOROUGH_MARKET[1],
        title="CCTV by Borough Market",
        kind="cctv",
        partner_borough=SOUTHWARK,
    )

    def seen(who: dict) -> set[str]:
        answer = client.get("/requests", headers=who)
        assert answer.status_code == 200, answer.text
        return {f["properties"]["reference"] for f in answer.json()["features"]}

    assert seen(people["waterloo"]) == {ours["reference"]}
    assert seen(people["bankside"]) == {theirs["reference"]}
    assert seen(people["supervisor"]) == {ours["reference"], theirs["reference"]}
    assert seen(planners["lambeth_planner"]) == {ours["reference"]}
    assert seen(people["partner"]) == {ours["reference"]}
    assert seen(planners["southwark_partner"]) == {theirs["reference"]}
    assert client.get("/requests", headers=people["public"]).status_code in (401, 403)
    # One request: outside the scope is refused.
    assert client.get(f"/requests/{theirs['id']}", headers=people["partner"]).status_code == 403
    assert client.get(f"/requests/{ours['id']}", headers=people["bankside"]).status_code == 403

    # Only the addressed council moves it on.
    sent = {"status": "sent"}
    for who in (people["waterloo"], people["supervisor"], planners["lambeth_planner"],
                planners["southwark_partner"]):
        refused = client.post(f"/requests/{ours['id']}/status", headers=who, json=sent)
        assert refused.status_code == 403, refused.text
    moved = client.post(f"/requests/{ours['id']}/status", headers=people["partner"], json=sent)
    assert moved.status_code == 200, moved.text
    assert moved.json()["status"] == "sent"
    # The partner learns which role raised it, not which officer.
    assert [e["changed_by"] for e in moved.json()["events"]][:1] == ["officer"]
    assert "test officer" not in moved.text
    # ... and the officer who raised it sees what became of it.
    assert client.get(f"/requests/{ours['id']}", headers=people["waterloo"]).json()["status"] == (
        "sent"
    )
    # Raising: partners and the public may not; an officer only in her wards.
    body = {"kind": "other", "title": "x", "lon": LOWER_MARSH[0], "lat": LOWER_MARSH[1],
            "partner_borough": LAMBETH, "partner_team": "Parks"}
    assert client.post("/requests", headers=people["partner"], json=body).status_code == 403
    assert client.post("/requests", headers=people["bankside"], json=body).status_code == 403
    assert client.post("/requests", headers=planners["southwark_planner"],
                       json=body).status_code == 403


def test_backing_is_counted_exactly_for_staff_and_protected_for_partners(
    client: TestClient, people: dict, app_settings: object
) -> None:
    """A concern's request stands on it; partners see 'fewer than 10', never the reports."""
    walk = walk_with_route(client, people)
    concern = client.post(
        f"/walks/{walk['id']}/concerns",
        headers=people["waterloo"],
        json={"lon": -0.1100, "lat": 51.5074, "categories": ["poor_lighting"], "note": "Unlit"},
    )
    assert concern.status_code == 201, concern.text
    engine = create_engine(app_settings.database_url)  # type: ignore[attr-defined]
    with engine.connect() as conn:
        concern_id = conn.execute(
            text("SELECT id FROM reports WHERE walk_id = :w"), {"w": walk["id"]}
        ).scalar_one()
    engine.dispose()
    raised = _raise(client, people["waterloo"], concern_id=str(concern_id), lon=None, lat=None)
    assert raised["walk_id"] == walk["id"]
    assert (raised["lon"], raised["lat"]) == pytest.approx((-0.1100, 51.5074))
    assert raised["backing"] == 1
    partner_view = client.get(f"/requests/{raised['id']}", headers=people["partner"]).json()
    assert partner_view["backing"] is None
    assert partner_view["backing_shown"] == "fewer than 10 reports"
    # Another ward's officer may not raise one from this walk's concern.
    other = client.post(
        "/requests",
        headers=people["bankside"],
        json={"kind": "lighting", "title": "x", "concern_id": str(concern_id),
              "partner_borough": LAMBETH, "partner_team": "Street lighting"},
    )
    assert other.status_code == 403


def test_refused_transitions_say_what_is_allowed(client: TestClient, people: dict) -> None:
    """Backwards or after the end is refused naming the next steps; declines need a reason."""
    raised = _raise(client, people["waterloo"])
    url = f"/requests/{raised['id']}/status"
    partner = people["partner"]
    assert client.post(url, headers=partner, json={"status": "accepted"}).status_code == 200
    back = client.post(url, headers=partner, json={"status": "sent"})
    assert back.status_code == 409
    assert "may move to in_bid, funded, installed, declined" in back.json()["detail"]
    no_date = client.post(url, headers=partner, json={"status": "installed"})
    assert no_date.status_code == 422 and "date it was installed" in no_date.json()["detail"]
    no_reason = client.post(url, headers=partner, json={"status": "declined"})
    assert no_reason.status_code == 422 and "reason" in no_reason.json()["detail"]
    done = client.post(
        url, headers=partner,
        json={"status": "installed", "installed_on": "2026-11-20", "outcome": "Two new lamps"},
    )  # fmt: skip
    assert done.status_code == 200, done.text
    assert done.json()["installed_on"] == "2026-11-20" and done.json()["outcome"] == (
        "Two new lamps"
    )
    assert [e["status"] for e in done.json()["events"]] == ["proposed", "accepted", "installed"]
    final = client.post(url, headers=partner, json={"status": "declined", "decline_reason": "x"})
    assert final.status_code == 409 and "final" in final.json()["detail"]


GOOD_CSV = (
    "lon,lat,kind,title,partner_borough,partner_team,status,bid_reference\n"
    "-0.1136,51.4995,lighting,Lower Marsh lamp out,Lambeth,Street lighting,,\n"
    "-0.1118,51.4988,cctv,Camera at Lambeth North,E09000022,Community safety,sent,SSF-5\n"
    "-0.1160,51.5012,vegetation,Trees over Leake Street path,lambeth,Parks,in_bid,SSF-5\n"
)


def test_a_good_csv_imports_whole_and_a_bad_row_stores_nothing(
    client: TestClient, people: dict, planners: dict
) -> None:
    """Three SE1 rows in; a file with one bad row is refused naming its line, nothing stored."""
    planner = planners["lambeth_planner"]
    files = {"file": ("requests.csv", GOOD_CSV.encode(), "text/csv")}
    answer = client.post("/requests/import", headers=planner, files=files)
    assert answer.status_code == 201, answer.text
    assert answer.json()["stored"] == 3
    listed = client.get("/requests?bid_reference=SSF-5", headers=planner).json()["features"]
    assert sorted(f["properties"]["status"] for f in listed) == ["in_bid", "sent"]
    again = client.post("/requests/import", headers=planner, files=files)
    assert again.json()["already_imported"] is True and again.json()["stored"] == 0

    bad = GOOD_CSV.replace("lamp out", "lamp gone").replace(",cctv,", ",cameras,")
    refused = client.post(
        "/requests/import", headers=planner, files={"file": ("bad.csv", bad.encode(), "text/csv")}
    )
    assert refused.status_code == 422
    problem = refused.json()
    assert problem["problems"] == [
        {"line": 3, "reason": "kind 'cameras' is not one of lighting, cctv, vegetation, other"}
    ]
    assert "nothing stored" in problem["detail"] and "Line 3" in problem["detail"]
    assert len(client.get("/requests", headers=planner).json()["features"]) == 3
    # Officers and partners do not import.
    for who in (people["waterloo"], people["partner"]):
        assert client.post("/requests/import", headers=who, files=files).status_code == 403


def test_geojson_import_takes_a_stretch(client: TestClient, planners: dict) -> None:
    """A LineString under 500 m is a stretch: its point is its middle, its line kept."""
    document = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "geometry": {"type": "LineString",
                             "coordinates": [[-0.1150, 51.4990], [-0.1125, 51.5000]]},
                "properties": {"kind": "lighting", "title": "Lower Marsh, dark stretch",
                               "partner_borough": "Lambeth", "partner_team": "Street lighting"},
            }
        ],
    }
    planner = planners["lambeth_planner"]
    files = {"file": ("r.geojson", json.dumps(document).encode(), "application/geo+json")}
    answer = client.post("/requests/import", headers=planner, files=files)
    assert answer.status_code == 201, answer.text
    feature = client.get("/requests", headers=planner).json()["features"][0]
    assert feature["geometry"]["type"] == "LineString"
    assert feature["properties"]["lon"] == pytest.approx(-0.11375, abs=2e-4)
    too_long = json.loads(json.dumps(document))
    too_long["features"][0]["geometry"]["coordinates"][1] = [-0.1000, 51.5050]
    refused = client.post(
        "/requests/import",
        headers=planner,
        files={"file": ("long.geojson", json.dumps(too_long).encode(), "application/json")},
    )
    assert refused.status_code == 422
    assert refused.json()["problems"][0]["line"] == 1
    assert "at most 500 m" in refused.json()["problems"][0]["reason"]


def test_csv_download_carries_the_method_note(client: TestClient, people: dict) -> None:
    """The partner's CSV: its requests, backing protected, the note in the Notes column."""
    _raise(client, people["waterloo"])
    answer = client.get("/requests.csv", headers=people["partner"])
    assert answer.status_code == 200
    lines = answer.text.splitlines()
    assert lines[0].endswith(",backing_shown,Notes")
    assert "Lamp out on Lower Marsh" in lines[1] and "fewer than 10 reports" in lines[1]
    assert "addressed to your council" in lines[1]


def test_bad_values_are_refused_with_what_to_fix(client: TestClient, people: dict) -> None:
    """An unknown council, a place outside the scheme, no place at all: 422, nothing stored."""
    def post(**overrides: object) -> dict:
        body = {"kind": "lighting", "title": "x", "lon": LOWER_MARSH[0], "lat": LOWER_MARSH[1],
                "partner_borough": "Lambeth", "partner_team": "Street lighting", **overrides}
        answer = client.post("/requests", headers=people["supervisor"], json=body)
        assert answer.status_code == 422, answer.text
        return answer.json()

    assert "not a borough of the scheme" in post(partner_borough="Narnia")["detail"]
    assert "outside the wards" in post(lon=-1.5, lat=52.0)["detail"]
    assert "give the place" in post(lon=None, lat=None)["detail"]
    assert client.get("/requests", headers=people["supervisor"]).json()["features"] == []


def _report(client: TestClient, people: dict, lon: float, lat: float, *, publish: bool) -> str:
    """A public report at (lon, lat), published by the supervisor when ``publish``."""
    sent = client.post(
        "/reports",
        json={"lon": lon, "lat": lat, "categories": ["poor_lighting"],
              "date": "2026-11-01", "time_band": "evening"},
    )  # fmt: skip
    assert sent.status_code == 201, sent.text
    if publish:
        done = client.post(f"/moderation/{sent.json()['id']}", headers=people["supervisor"],
                           json={"action": "publish", "reason": "a real place"})  # fmt: skip
        assert done.status_code == 200, done.text
    return str(sent.json()["id"])


def test_backing_is_the_published_reports_within_50_m(
    client: TestClient, people: dict, app_settings: object
) -> None:
    """Published at 30 m: backs it; pending at 30 m, or published at 80 m: does not."""
    # 0.00043 degrees of longitude is about 30 m at this latitude; 0.00115 about 80 m.
    near = _report(client, people, LOWER_MARSH[0] + 0.00043, LOWER_MARSH[1], publish=True)
    _report(client, people, LOWER_MARSH[0] - 0.00043, LOWER_MARSH[1], publish=False)
    _report(client, people, LOWER_MARSH[0] + 0.00115, LOWER_MARSH[1], publish=True)
    raised = _raise(client, people["supervisor"])
    assert raised["backing"] == 1
    engine = create_engine(app_settings.database_url)  # type: ignore[attr-defined]
    with engine.connect() as conn:
        backing = conn.execute(
            text("SELECT report_id::text FROM partner_request_backing WHERE request_id = :r"),
            {"r": raised["id"]},
        ).scalars().all()
    engine.dispose()
    assert backing == [near]


def test_a_csv_on_the_national_grid_is_placed_in_its_ward(
    client: TestClient, planners: dict
) -> None:
    """Easting/northing (Lower Marsh, 531037 179527) are read as EPSG:27700 metres."""
    csv_text = (
        "Easting,Northing,Kind,Title,Partner_Borough,Partner_Team\n"
        "531037,179527,lighting,Lower Marsh lamp,Lambeth,Street lighting\n"
    )
    answer = client.post(
        "/requests/import", headers=planners["lambeth_planner"],
        files={"file": ("grid.csv", csv_text.encode(), "text/csv")},
    )  # fmt: skip
    assert answer.status_code == 201, answer.text
    feature = client.get("/requests", headers=planners["lambeth_planner"]).json()["features"][0]
    assert feature["properties"]["ward_code"] == WATERLOO
    # The grid figures came from a plain Helmert transform; OSTN15 lands within a few metres.
    assert feature["properties"]["lon"] == pytest.approx(LOWER_MARSH[0], abs=1e-4)
    assert feature["properties"]["lat"] == pytest.approx(LOWER_MARSH[1], abs=1e-4)


def test_a_stretch_concern_raises_a_stretch_and_odd_files_say_what_is_wrong(
    client: TestClient, people: dict, planners: dict, app_settings: object
) -> None:
    """A concern along a stretch gives a stretch; empty, headless or binary files: 422."""
    walk = walk_with_route(client, people)
    line = {"type": "LineString", "coordinates": [[-0.1030, 51.5080], [-0.1000, 51.5079]]}
    sent = client.post(f"/walks/{walk['id']}/concerns", headers=people["waterloo"],
                       json={"line": line, "categories": ["isolated"]})  # fmt: skip
    assert sent.status_code == 201, sent.text
    engine = create_engine(app_settings.database_url)  # type: ignore[attr-defined]
    with engine.connect() as conn:
        concern_id = conn.execute(
            text("SELECT id FROM reports WHERE walk_id = :w"), {"w": walk["id"]}
        ).scalar_one()
    engine.dispose()
    raised = _raise(client, people["supervisor"], concern_id=str(concern_id), lon=None, lat=None,
                    partner_borough=SOUTHWARK)  # fmt: skip
    feature = next(
        f for f in client.get("/requests", headers=people["supervisor"]).json()["features"]
        if f["id"] == raised["id"]
    )
    assert feature["geometry"]["type"] == "LineString"
    assert len(feature["geometry"]["coordinates"]) == 2
    planner = planners["lambeth_planner"]
    for name, body, says in (
        ("empty.csv", b"lon,lat,kind,title,partner_borough,partner_team\n", "no requests"),
        ("nothing.csv", b"", "could not be read"),
        ("where.csv", b"kind,title\nlighting,x\n", "no location columns"),
        ("bits.csv", bytes(range(256)), "could not be read"),
        ("x.geojson", b'{"type": "Feature"}', "FeatureCollection"),
    ):
        answer = client.post("/requests/import", headers=planner,
                             files={"file": (name, body, "text/csv")})  # fmt: skip
        assert answer.status_code == 422, (name, answer.text)
        assert says in answer.json()["detail"], (name, answer.json()["detail"])
        assert "--" not in answer.json()["detail"]  # no command-line options named


def test_a_request_from_a_walk_stays_away_from_the_routes_hidden_ends(
    client: TestClient, people: dict, app_settings: object
) -> None:
    """The council sees a request's place: never where the buddy's route starts or ends."""
    walk = walk_with_route(client, people)
    start = ROUTE["coordinates"][0]
    concern = client.post(
        f"/walks/{walk['id']}/concerns",
        headers=people["waterloo"],
        json={"lon": start[0], "lat": start[1], "categories": ["poor_lighting"]},
    )
    assert concern.status_code == 201, concern.text
    engine = create_engine(app_settings.database_url)  # type: ignore[attr-defined]
    with engine.connect() as conn:
        concern_id = str(
            conn.execute(
                text("SELECT id FROM reports WHERE walk_id = :w"), {"w": walk["id"]}
            ).scalar_one()
        )
    body = {"kind": "lighting", "title": "Lamp out", "concern_id": concern_id,
            "partner_borough": LAMBETH, "partner_team": "Street lighting"}
    refused = client.post("/requests", headers=people["waterloo"], json=body)
    assert refused.status_code == 422
    assert "near where the walk starts or ends" in refused.json()["detail"]
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM partner_requests")).scalar_one() == 0
    engine.dispose()
    # Moved to a public place along the route, 660 m from its start (still in Waterloo), it
    # is raised and still stands on the concern.
    middle = ROUTE["coordinates"][2]
    moved = _raise(client, people["waterloo"], concern_id=concern_id, lon=middle[0],
                   lat=middle[1])
    assert moved["walk_id"] == walk["id"] and moved["backing"] >= 1
