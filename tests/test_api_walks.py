"""Walks: the 30-minute rule, pairing warnings, route input and refusals, route privacy."""

from __future__ import annotations

import geopandas as gpd
import pytest
from fastapi.testclient import TestClient
from shapely.geometry import shape
from sqlalchemy import create_engine, text

from boundaries.bundled import PILOT_WARDS
from service.settings import Settings
from tests.walks import (
    BOROUGH_BANKSIDE,
    DULWICH,
    GEOD,
    ROUTE,
    WATERLOO,
)
from tests.walks import make_walk as _walk
from tests.walks import walk_with_route as _walk_with_route

ST_GEORGES = "E05011114"


def test_walks_last_at_least_thirty_minutes(client: TestClient, people: dict) -> None:
    officer = client.post(
        "/officers",
        headers=people["supervisor"],
        json={
            "name": "PC Short",
            "shoulder_number": "AS1",
            "ward_codes": [WATERLOO],
            "command_unit": "AS",
        },
    ).json()
    short = client.post(
        "/walks",
        headers=people["waterloo"],
        json={
            "officer_id": officer["id"],
            "kind": "park",
            "planned_start": "2026-12-01T17:00:00+00:00",
            "planned_end": "2026-12-01T17:20:00+00:00",
        },
    )
    assert short.status_code == 422
    assert "at least 30 minutes" in short.json()["detail"] and "20" in short.json()["detail"]


def test_pairing_outside_the_ward_is_a_warning(client: TestClient, people: dict) -> None:
    near = _walk(
        client,
        people,
        start="2026-12-01T17:00:00+00:00",
        end="2026-12-01T17:45:00+00:00",
        buddy_ward=WATERLOO,
    )
    far = _walk(
        client,
        people,
        start="2026-12-02T17:00:00+00:00",
        end="2026-12-02T17:45:00+00:00",
        buddy_ward=DULWICH,
    )
    assert near["warnings"] == []
    assert "neither lives nor works in or next to" in far["warnings"][0]


def test_contact_details_are_kept_apart(
    client: TestClient, people: dict, app_settings: Settings
) -> None:
    _walk(
        client,
        people,
        start="2026-12-01T17:00:00+00:00",
        end="2026-12-01T17:45:00+00:00",
        buddy_ward=WATERLOO,
    )
    listed = client.get("/buddies", headers=people["waterloo"]).json()["buddies"]
    assert [b["code"] for b in listed] == [f"B-{WATERLOO}-2026-12-01"]
    assert "contact" not in listed[0]
    assert client.get("/buddies", headers=people["bankside"]).json()["buddies"] == []
    contact_url = f"/buddies/{listed[0]['id']}/contact"
    assert client.get(contact_url, headers=people["waterloo"]).status_code == 403
    assert client.get(contact_url, headers=people["supervisor"]).json()["contact"] == (
        "07700 900123"
    )
    audit_log = client.get("/audit", headers=people["supervisor"]).json()["entries"]
    assert any(e["action"] == "read buddy contact" for e in audit_log)
    engine = create_engine(app_settings.database_url or "")
    with engine.connect() as conn:
        assert conn.execute(text("SELECT contact FROM buddy_contacts")).scalar_one() == (
            "07700 900123"
        )
        buddy = conn.execute(text("SELECT buddies::text FROM buddies")).scalar_one()
    engine.dispose()
    assert "07700" not in buddy


@pytest.mark.parametrize(
    ("start", "end", "dark"),
    [
        ("2026-12-21T17:30:00+00:00", "2026-12-21T18:10:00+00:00", 1.0),
        ("2026-06-21T12:00:00+01:00", "2026-06-21T12:40:00+01:00", 0.0),
    ],
    ids=["winter-evening", "summer-noon"],
)
def test_route_is_stored_with_wards_length_and_darkness(
    client: TestClient, people: dict, start: str, end: str, dark: float
) -> None:
    walk = _walk(client, people, start=start, end=end, buddy_ward=WATERLOO)
    stored = client.put(f"/walks/{walk['id']}/route", headers=people["waterloo"], json=ROUTE)
    assert stored.status_code == 200, stored.text
    body = stored.json()
    assert {WATERLOO, BOROUGH_BANKSIDE} <= set(body["route_wards"])
    named = dict(zip(body["route_wards"], body["route_ward_names"], strict=True))
    assert named[WATERLOO] == "Waterloo & South Bank"
    assert named[BOROUGH_BANKSIDE] == "Borough & Bankside"
    expected = GEOD.line_length(*zip(*ROUTE["coordinates"], strict=True))
    assert body["length_m"] == pytest.approx(expected, rel=0.01)
    assert body["dark_share"] == dark
    assert body["dark_at_start"] is (dark == 1.0)


@pytest.mark.parametrize(
    ("geometry", "message"),
    [
        ({"type": "Point", "coordinates": [-0.1136, 51.5033]}, "Point"),
        (
            {"type": "LineString", "coordinates": [[-0.1136, 51.5033], [-0.1130, 51.5035]]},
            "shorter than",
        ),
        (
            {
                "type": "LineString",
                "coordinates": [[-0.1700, 51.5070], [-0.1600, 51.5075], [-0.1550, 51.5080]],
            },
            "entirely outside the service area",
        ),
    ],
    ids=["point", "too-short", "hyde-park"],
)
def test_bad_routes_are_refused(
    client: TestClient, people: dict, geometry: dict, message: str
) -> None:
    walk = _walk(
        client,
        people,
        start="2026-12-01T17:00:00+00:00",
        end="2026-12-01T17:45:00+00:00",
        buddy_ward=WATERLOO,
    )
    refused = client.put(f"/walks/{walk['id']}/route", headers=people["waterloo"], json=geometry)
    assert refused.status_code == 422
    assert message in refused.json()["detail"]


def test_route_privacy_by_role(client: TestClient, people: dict) -> None:
    walk = _walk_with_route(client, people)
    url = f"/walks/{walk['id']}"

    full = client.get(url, headers=people["waterloo"]).json()
    assert full["properties"]["route_view"] == "full"
    assert full["geometry"]["coordinates"][0] == ROUTE["coordinates"][0]
    assert full["properties"]["buddy_id"] is not None
    assert client.get(url, headers=people["supervisor"]).json()["geometry"] == full["geometry"]

    trimmed = client.get(url, headers=people["bankside"]).json()
    again = client.get(url, headers=people["bankside"]).json()
    assert trimmed["properties"]["route_view"] == "trimmed"
    assert trimmed["geometry"] == again["geometry"]  # stable, not re-drawn per request
    assert trimmed["properties"]["buddy_id"] is None
    coords = trimmed["geometry"]["coordinates"]
    for end in (ROUTE["coordinates"][0], ROUTE["coordinates"][-1]):
        assert end not in coords
    whole = GEOD.line_length(*zip(*ROUTE["coordinates"], strict=True))
    kept = GEOD.line_length(*zip(*coords, strict=True))
    assert 600 - 5 <= whole - kept <= 900 + 5  # 300-450 m cut from each end

    for outsider in ("partner", "public"):
        assert client.get(url, headers=people[outsider]).status_code == 403
    # Only the walk's own officers (and supervisors) may change its route.
    assert client.put(f"{url}/route", headers=people["bankside"], json=ROUTE).status_code == 403


def test_a_trimmed_view_names_only_the_wards_its_trimmed_route_crosses(
    client: TestClient, people: dict
) -> None:
    # From St George's (its first 282 m, less than the least cut of 300 m) into Waterloo.
    route = {
        "type": "LineString",
        "coordinates": [
            [-0.1050, 51.4990],
            [-0.1080, 51.5010],
            [-0.1136, 51.5033],
            [-0.1150, 51.5055],
            [-0.1120, 51.5070],
            [-0.1160, 51.5080],
        ],
    }
    walk = _walk_with_route(client, people, route=route)
    url = f"/walks/{walk['id']}"

    full = client.get(url, headers=people["waterloo"]).json()["properties"]
    assert full["route_wards"] == [ST_GEORGES, WATERLOO]
    trimmed = client.get(url, headers=people["bankside"]).json()
    assert trimmed["properties"]["route_view"] == "trimmed"
    # The ward where the route began is not named beside the route that hides its start.
    assert trimmed["properties"]["route_wards"] == [WATERLOO]
    wards = gpd.read_file(PILOT_WARDS.path)
    line = shape(trimmed["geometry"])
    assert sorted(wards[wards.intersects(line)]["WD24CD"]) == [WATERLOO]


def test_the_walk_map_draws_the_most_recent_reports_and_says_how_many_it_left_out(
    client: TestClient, people: dict, app_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sqlalchemy.orm import Session

    from service.queries import exposure

    walk = _walk_with_route(client, people)
    # Six reports on the route's own corners, one a day in October.
    rows = "\n".join(
        f"{lon},{lat},poor_lighting,2026-10-0{day},evening,"
        for day, (lon, lat) in enumerate(ROUTE["coordinates"][:6], start=1)
    )
    csv = f"lon,lat,categories,date,time_band,text\n{rows}\n".encode()
    stored = client.post(
        "/imports", headers=people["supervisor"], files={"file": ("along.csv", csv, "text/csv")}
    )
    assert stored.status_code == 201, stored.text
    # Reports are drawn in groups, up to CLUSTERED_MAX of them.
    monkeypatch.setattr(exposure, "CLUSTERED_MAX", 4)

    engine = create_engine(app_settings.database_url or "")
    with Session(engine) as session, session.begin():
        _, reports, _, _ = exposure.nearby_points(session, shape(ROUTE).wkt, within=50)
        newest = session.execute(
            text(
                "SELECT ST_X(geom), ST_Y(geom) FROM reports WHERE source = 'imported' "
                "ORDER BY occurred_on DESC LIMIT 4"
            )
        ).all()
    engine.dispose()
    assert len(reports) == 4
    assert sorted((round(p.x, 6), round(p.y, 6)) for p in reports.geometry) == sorted(
        (round(x, 6), round(y, 6)) for x, y in newest
    )

    page = client.get(f"/maps/walks/{walk['id']}", headers=people["waterloo"]).text
    assert "Unsafe-place reports (4 of 6)" in page
    assert "Markers show the 4 most recent of the 6 reports within 50 m" in page


def test_concerns_and_exposure_agree_with_geopandas(
    client: TestClient, people: dict, app_settings: Settings
) -> None:
    import json
    from pathlib import Path

    import geopandas as gpd
    from shapely.geometry import LineString
    from sqlalchemy.orm import Session

    from service.queries.imports import import_crimes

    api_json = (
        Path(__file__).parents[1]
        / "data"
        / "police_uk"
        / "api_trafalgar_square_1mile_2025-12"
        / "crimes_london.json"
    )
    engine = create_engine(app_settings.database_url or "")
    with Session(engine) as session, session.begin():
        import_crimes(session, api_json, imported_by="tests")
    engine.dispose()

    walk = _walk_with_route(client, people)
    # The walk took place last week, after dark (no API records actual times yet).
    engine = create_engine(app_settings.database_url or "")
    with engine.begin() as conn:
        conn.execute(
            text(
                "UPDATE walks SET actual_start = '2026-11-20T17:30:00Z', "
                "actual_end = '2026-11-20T18:15:00Z'"
            )
        )
    engine.dispose()
    concern = client.post(
        f"/walks/{walk['id']}/concerns",
        headers=people["waterloo"],
        json={
            "lon": -0.1100,
            "lat": 51.5074,
            "categories": ["poor_lighting"],
            "note": "Unlit stretch under the bridge",
            "suggestion": "Light the underpass",
        },
    )
    assert concern.status_code == 201, concern.text
    # A public report, pending: it must not count until published.
    pending = client.post(
        "/reports",
        json={
            "lon": -0.1030,
            "lat": 51.5079,
            "categories": ["isolated"],
            "date": "2026-11-20",
            "time_band": "night",
        },
    ).json()["id"]
    exposure = client.get(
        f"/walks/{walk['id']}/exposure", headers=people["waterloo"], params={"within": 50}
    ).json()
    assert exposure["totals"]["concerns"] == 1
    assert exposure["totals"]["reports"] == 0
    client.post(
        f"/moderation/{pending}",
        headers=people["supervisor"],
        json={"action": "publish", "reason": "seen"},
    )
    exposure = client.get(
        f"/walks/{walk['id']}/exposure", headers=people["waterloo"], params={"within": 50}
    ).json()
    assert exposure["totals"]["reports"] == 1
    assert exposure["share_in_darkness"] == 1.0  # a concern at 17:30 in November + a night

    # The crimes, counted by GeoPandas on the same rows and the same line in metres.
    records = json.loads(api_json.read_text())
    points = gpd.GeoSeries(
        gpd.points_from_xy(
            [float(r["location"]["longitude"]) for r in records],
            [float(r["location"]["latitude"]) for r in records],
        ),
        crs=4326,
    ).to_crs(27700)
    line = gpd.GeoSeries([LineString(ROUTE["coordinates"])], crs=4326).to_crs(27700)[0]
    distance = points.distance(line)
    assert not ((distance > 49.5) & (distance < 50.5)).any(), "a crime sits on the boundary"
    near = points[distance <= 50]
    along = near.apply(line.project)
    expected = along.floordiv(100).astype(int).value_counts().to_dict()
    got = {s["segment"]: s["crimes"] for s in exposure["segments"] if s["crimes"]}
    assert exposure["totals"]["crimes"] == len(near) > 0
    assert got == expected
    assert exposure["worst_segments"][0]["total"] == max(s["total"] for s in exposure["segments"])
    assert exposure["length_m"] == pytest.approx(line.length, abs=0.05)  # rounded to 0.1 m

    planned = client.post(
        "/routes/exposure",
        headers=people["bankside"],
        params={"within": 50},
        json={"type": "Feature", "geometry": ROUTE, "properties": {}},
    )
    assert planned.status_code == 200
    assert planned.json()["totals"] == exposure["totals"]
    assert client.post("/routes/exposure", headers=people["partner"], json=ROUTE).status_code == 403


def test_a_gpx_track_as_the_route(client: TestClient, people: dict) -> None:
    walk = _walk(
        client,
        people,
        start="2026-12-01T17:00:00+00:00",
        end="2026-12-01T17:45:00+00:00",
        buddy_ward=WATERLOO,
    )
    points = "".join(f'<trkpt lat="{lat}" lon="{lon}"/>' for lon, lat in ROUTE["coordinates"])
    gpx = (
        '<?xml version="1.0"?><gpx version="1.1" creator="phone" '
        'xmlns="http://www.topografix.com/GPX/1/1">'
        f"<trk><trkseg>{points}</trkseg></trk></gpx>"
    )
    stored = client.put(
        f"/walks/{walk['id']}/route",
        headers={**people["waterloo"], "Content-Type": "application/gpx+xml"},
        content=gpx,
    )
    assert stored.status_code == 200, stored.text
    expected = GEOD.line_length(*zip(*ROUTE["coordinates"], strict=True))
    assert stored.json()["length_m"] == pytest.approx(expected, rel=0.01)
    waypoints = (
        gpx.replace("<trk><trkseg>", "").replace("</trkseg></trk>", "").replace("trkpt", "wpt")
    )
    refused = client.put(
        f"/walks/{walk['id']}/route",
        headers={**people["waterloo"], "Content-Type": "application/gpx+xml"},
        content=waypoints,
    )
    assert refused.status_code == 422 and "no track or route" in refused.json()["detail"]


def test_safeguarding_before_closing_with_a_deadline_and_a_reviewer(
    client: TestClient, people: dict, app_settings: Settings
) -> None:
    walk = _walk(
        client,
        people,
        start="2026-12-01T17:00:00+00:00",
        end="2026-12-01T17:45:00+00:00",
        buddy_ward=WATERLOO,
    )
    url = f"/walks/{walk['id']}"
    times = {"actual_start": "2026-11-20T17:00:00Z", "actual_end": "2026-11-20T17:20:00Z"}
    early = client.post(f"{url}/close", headers=people["waterloo"], json=times)
    assert (
        early.status_code == 409
        and "was a crime or intelligence disclosed" in (early.json()["detail"])
    )

    assert (
        client.post(
            f"{url}/safeguarding", headers=people["bankside"], json={"disclosed": True}
        ).status_code
        == 403
    )
    answered = client.post(
        f"{url}/safeguarding", headers=people["waterloo"], json={"disclosed": True}
    )
    assert answered.status_code == 201
    assert answered.json()["due_at"] is not None and answered.json()["overdue"] is False
    assert (
        client.post(
            f"{url}/safeguarding", headers=people["waterloo"], json={"disclosed": False}
        ).status_code
        == 409
    )

    # Past the deadline with no reference: the supervisor sees it as overdue, and cannot close.
    engine = create_engine(app_settings.database_url or "")
    with engine.begin() as conn:
        conn.execute(text("UPDATE safeguarding SET due_at = now() - interval '1 hour'"))
        columns = {
            r[0]
            for r in conn.execute(
                text(
                    "SELECT column_name FROM information_schema.columns "
                    "WHERE table_name = 'safeguarding'"
                )
            )
        }
    engine.dispose()
    assert not columns & {"details", "allegation", "text", "note"}
    flags = client.get("/safeguarding", headers=people["supervisor"]).json()["flags"]
    assert [(f["walk_id"], f["overdue"]) for f in flags] == [(walk["id"], True)]
    assert client.get("/safeguarding", headers=people["waterloo"]).status_code == 403
    assert (
        client.post(f"/safeguarding/{walk['id']}/review", headers=people["supervisor"]).status_code
        == 409
    )

    client.post(
        f"{url}/safeguarding/reference",
        headers=people["waterloo"],
        json={"reference": "CAD 1234/20NOV"},
    )
    reviewed = client.post(f"/safeguarding/{walk['id']}/review", headers=people["supervisor"])
    assert reviewed.status_code == 200 and reviewed.json()["reviewed_by"] == "test supervisor"
    assert client.get("/safeguarding", headers=people["supervisor"]).json()["flags"] == []

    # A walk cannot be closed with times still to come, nor with times that name no offset.
    future = {"actual_start": "2099-01-01T17:00:00Z", "actual_end": "2099-01-01T18:00:00Z"}
    refused = client.post(f"{url}/close", headers=people["waterloo"], json=future)
    assert refused.status_code == 422 and "in the future" in refused.text
    bare = {"actual_start": "2026-11-20T17:00:00", "actual_end": "2026-11-20T17:20:00"}
    assert client.post(f"{url}/close", headers=people["waterloo"], json=bare).status_code == 422
    closed = client.post(f"{url}/close", headers=people["waterloo"], json=times)
    assert closed.status_code == 200
    assert closed.json() == {
        "id": walk["id"],
        "closed": True,
        "minutes": 20,
        "shorter_than_scheme": True,
    }
    assert client.post(f"{url}/close", headers=people["waterloo"], json=times).status_code == 409


def test_erasure_and_retention_keep_only_anonymous_walk_facts(
    client: TestClient,
    people: dict,
    app_settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from service.cli import main

    walk = _walk_with_route(client, people)
    other = _walk(
        client,
        people,
        start="2026-12-04T17:00:00+00:00",
        end="2026-12-04T17:45:00+00:00",
        buddy_ward=BOROUGH_BANKSIDE,
    )
    client.put(f"/walks/{other['id']}/route", headers=people["waterloo"], json=ROUTE)
    monkeypatch.setenv("DATABASE_URL", app_settings.database_url or "")
    monkeypatch.setenv("WALKTALK_HOME", str(app_settings.home))

    assert main(["buddies", "erase", f"B-{WATERLOO}-2026-12-01"]) == 0
    assert "1 contact records and the routes of 1 walks removed" in capsys.readouterr().out
    assert main(["buddies", "erase", f"B-{WATERLOO}-2026-12-01"]) == 1
    engine = create_engine(app_settings.database_url or "")
    with engine.connect() as conn:
        erased = conn.execute(
            text(
                "SELECT w.route IS NULL, w.route_trimmed IS NULL, w.buddy_id IS NULL, w.length_m, "
                "w.dark_share, w.ward_code FROM walks w WHERE w.id = :id"
            ),
            {"id": walk["id"]},
        ).one()
        kept = conn.execute(
            text("SELECT route IS NULL FROM walks WHERE id = :id"), {"id": other["id"]}
        ).scalar_one()
        buddies = conn.execute(
            text(
                "SELECT count(*) FILTER (WHERE code LIKE 'erased:%' AND home_ward IS NULL), "
                "(SELECT count(*) FROM buddy_contacts) FROM buddies"
            )
        ).one()
    assert erased[:3] == (True, True, True)
    assert erased[3] > 2000 and erased[5] == WATERLOO  # anonymous facts stay
    assert kept is False
    assert tuple(buddies) == (1, 1)

    # Retention: the other walk and contact made "25 months ago" lose what is personal.
    with engine.begin() as conn:
        conn.execute(
            text(
                "UPDATE walks SET planned_end = now() - interval '25 months', "
                "planned_start = now() - interval '25 months 1 hour'"
            )
        )
        conn.execute(text("UPDATE buddy_contacts SET created_at = now() - interval '25 months'"))
    assert main(["retention", "apply"]) == 0
    assert "removed 1 contact records and 1 full routes" in capsys.readouterr().out
    with engine.connect() as conn:
        left = conn.execute(
            text("SELECT route IS NULL, route_trimmed IS NOT NULL FROM walks WHERE id = :id"),
            {"id": other["id"]},
        ).one()
    engine.dispose()
    assert tuple(left) == (True, True)


def test_the_running_service_applies_retention(
    client: TestClient, people: dict, app_settings: Settings
) -> None:
    import time

    from service.app import create_app

    _walk_with_route(client, people)
    engine = create_engine(app_settings.database_url or "")
    with engine.begin() as conn:
        conn.execute(
            text(
                "UPDATE walks SET planned_end = now() - interval '25 months', "
                "planned_start = now() - interval '25 months 1 hour'"
            )
        )
        conn.execute(text("UPDATE buddy_contacts SET created_at = now() - interval '25 months'"))

    def left() -> tuple[int, bool]:
        with engine.connect() as conn:
            contacts = conn.execute(text("SELECT count(*) FROM buddy_contacts")).scalar_one()
            route = conn.execute(text("SELECT route IS NOT NULL FROM walks")).scalar_one()
        return contacts, route

    assert left() == (1, True)
    with TestClient(create_app(app_settings)):  # a (re)started service applies it at once
        deadline = time.monotonic() + 15
        while left() != (0, False) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert left() == (0, False)
    engine.dispose()


def test_a_concern_along_a_stretch_is_counted_at_its_middle_and_keeps_the_stretch(
    client: TestClient, people: dict, app_settings: Settings
) -> None:
    walk = _walk_with_route(client, people)
    # About 140 m of the South Bank, eastwards along the route's third leg.
    stretch = {"type": "LineString", "coordinates": [[-0.1080, 51.5076], [-0.1060, 51.5077]]}
    made = client.post(
        f"/walks/{walk['id']}/concerns",
        headers=people["waterloo"],
        json={
            "line": stretch,
            "categories": ["poor_lighting", "isolated"],
            "note": "No lights under the trees",
            "at": "2026-12-01T17:20:00+00:00",
        },
    )
    assert made.status_code == 201, made.text
    engine = create_engine(app_settings.database_url or "")
    with engine.connect() as conn:
        row = conn.execute(
            text(
                "SELECT ST_X(geom) AS lon, ST_Y(geom) AS lat, ST_AsText(concern_line) AS line, "
                "occurred_at, is_dark, source, status, walk_id FROM reports WHERE id = :id"
            ),
            {"id": made.json()["id"]},
        ).one()
    engine.dispose()
    # The middle by length: the stretch is nearly straight, so halfway between its ends.
    middle_lon, middle_lat = GEOD.npts(-0.1080, 51.5076, -0.1060, 51.5077, 1)[0]
    _, _, off_m = GEOD.inv(row.lon, row.lat, middle_lon, middle_lat)
    assert off_m < 0.5
    assert row.line == "LINESTRING(-0.108 51.5076,-0.106 51.5077)"
    assert row.occurred_at.isoformat() == "2026-12-01T17:20:00+00:00"
    assert row.is_dark is True  # 17:20 GMT on 1 December: the sun is 9 degrees down
    assert (row.source, row.status, str(row.walk_id)) == ("walk_concern", "published", walk["id"])
    exposure = client.get(f"/walks/{walk['id']}/exposure", headers=people["waterloo"]).json()
    assert exposure["totals"]["concerns"] == 1


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"categories": ["other"]}, "either a point (lon and lat) or a short stretch"),
        (
            {
                "lon": -0.11,
                "lat": 51.5074,
                "line": {"type": "LineString", "coordinates": [[-0.11, 51.5], [-0.1, 51.5]]},
                "categories": ["other"],
            },
            "not both",
        ),
        (
            {
                "line": {
                    "type": "LineString",
                    "coordinates": [[-0.115, 51.5055], [-0.11, 51.5075]],
                },
                "categories": ["other"],
            },
            "longer than the 300 m",
        ),
        (
            {"line": {"type": "Point", "coordinates": [-0.11, 51.5]}, "categories": ["other"]},
            "not a Point",
        ),
        (
            {"lon": -0.11, "lat": 51.5074, "categories": ["other"], "at": "2026-12-01T17:20:00"},
            "needs a UTC offset",
        ),
        (
            {"lon": -0.11, "lat": 51.5074, "categories": ["other"], "at": "2099-01-01T00:00Z"},
            "in the future",
        ),
        ({"lon": -0.11, "lat": 51.5074, "categories": ["sinister"]}, "unknown category"),
    ],
)
def test_bad_concerns_are_refused_and_store_nothing(
    client: TestClient, people: dict, app_settings: Settings, body: dict, message: str
) -> None:
    walk = _walk_with_route(client, people)
    refused = client.post(f"/walks/{walk['id']}/concerns", headers=people["waterloo"], json=body)
    assert refused.status_code == 422, refused.text
    assert message in refused.json()["detail"]
    engine = create_engine(app_settings.database_url or "")
    with engine.connect() as conn:
        stored = conn.execute(text("SELECT count(*) FROM reports")).scalar_one()
    engine.dispose()
    assert stored == 0


def test_the_meeting_point_is_kept_for_the_walks_own_officers_only(
    client: TestClient, people: dict
) -> None:
    officer = client.post(
        "/officers",
        headers=people["supervisor"],
        json={
            "name": "PC Meet",
            "shoulder_number": "AS501",
            "ward_codes": [WATERLOO],
            "command_unit": "AS",
        },
    ).json()
    buddy = client.post(
        "/buddies", headers=people["waterloo"], json={"code": "B-MEET-1", "home_ward": WATERLOO}
    ).json()
    plan = {
        "officer_id": officer["id"],
        "buddy_id": buddy["id"],
        "kind": "transport_hub",
        "planned_start": "2026-12-04T07:00:00+00:00",
        "planned_end": "2026-12-04T07:40:00+00:00",
        "meeting_point": {"lon": -0.1133, "lat": 51.5031},
    }
    made = client.post("/walks", headers=people["waterloo"], json=plan)
    assert made.status_code == 201, made.text
    walk_id = made.json()["id"]
    own = client.get(f"/walks/{walk_id}", headers=people["waterloo"]).json()["properties"]
    assert own["meeting_point"] == {"type": "Point", "coordinates": [-0.1133, 51.5031]}
    other = client.get(f"/walks/{walk_id}", headers=people["bankside"]).json()["properties"]
    assert other["route_view"] == "trimmed" and other["meeting_point"] is None

    bad = client.post(
        "/walks",
        headers=people["waterloo"],
        json={**plan, "meeting_point": {"lon": 51.5031, "lat": -0.1133 * 1000}},
    )
    assert bad.status_code == 422 and "meeting_point: latitude" in bad.json()["detail"]


def test_a_synthetic_walks_map_says_it_is_demo_data(
    client: TestClient, people: dict, app_settings: Settings
) -> None:
    walk = _walk_with_route(client, people)
    real = client.get(f"/maps/walks/{walk['id']}", headers=people["waterloo"])
    assert real.status_code == 200
    assert "Demo data" not in real.text and "OpenStreetMap contributors (ODbL)" not in real.text
    engine = create_engine(app_settings.database_url or "")
    with engine.begin() as conn:
        conn.execute(text("UPDATE walks SET synthetic = true WHERE id = :id"), {"id": walk["id"]})
    engine.dispose()
    demo = client.get(f"/maps/walks/{walk['id']}", headers=people["waterloo"])
    assert "Demo data: a synthetic walk, not a real buddy" in demo.text
    assert "OpenStreetMap contributors (ODbL)." in demo.text
    shown = client.get(f"/walks/{walk['id']}", headers=people["waterloo"]).json()
    assert shown["properties"]["synthetic"] is True


def test_closing_a_walk_works_out_its_darkness_from_the_real_times(
    client: TestClient, people: dict
) -> None:
    # Planned for a December midday; in the end walked after dark.
    walk = _walk_with_route(client, people, start="2026-11-24T12:00:00+00:00")
    url = f"/walks/{walk['id']}"
    planned = client.get(url, headers=people["waterloo"]).json()["properties"]
    assert (planned["dark_share"], planned["dark_at_start"]) == (0.0, False)
    client.post(f"{url}/safeguarding", headers=people["waterloo"], json={"disclosed": False})
    times = {"actual_start": "2026-11-24T17:30:00Z", "actual_end": "2026-11-24T18:15:00Z"}
    assert client.post(f"{url}/close", headers=people["waterloo"], json=times).status_code == 200
    walked = client.get(url, headers=people["waterloo"]).json()["properties"]
    assert (walked["dark_share"], walked["dark_at_start"]) == (1.0, True)


def test_a_concern_sent_again_with_its_client_ref_is_stored_once(
    client: TestClient, people: dict, app_settings: Settings
) -> None:
    walk = _walk_with_route(client, people)
    concern = {
        "lon": -0.1100,
        "lat": 51.5074,
        "categories": ["isolated"],
        "at": "2026-12-01T17:10:00+00:00",
        "client_ref": "6f1c2a8e-3b4d-4c5e-9f60-718293a4b5c6",
    }
    url = f"/walks/{walk['id']}/concerns"
    first = client.post(url, headers=people["waterloo"], json=concern)
    assert first.status_code == 201, first.text
    again = client.post(url, headers=people["waterloo"], json={**concern, "note": "resent"})
    assert again.status_code == 200 and again.json()["id"] == first.json()["id"]
    other = client.post(url, headers=people["waterloo"], json={**concern, "client_ref": None})
    assert other.status_code == 201 and other.json()["id"] != first.json()["id"]
    engine = create_engine(app_settings.database_url or "")
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT text FROM reports ORDER BY text NULLS FIRST")).all()
    engine.dispose()
    assert [r.text for r in rows] == [None, None]  # the resend changed nothing
    bad = client.post(url, headers=people["waterloo"], json={**concern, "client_ref": "x1"})
    assert bad.status_code == 422 and "client_ref" in bad.json()["detail"]
