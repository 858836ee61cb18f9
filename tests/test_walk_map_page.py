"""The walk's map page on a real PostGIS: whose concerns it draws, and 3,000 reports as groups.

A walk in Waterloo has three concerns: one on the route, one along a stretch left pending, and
one noted 1.5 km away in another ward, later hidden by a moderator. An earlier walk has a
published concern and a pending one near the same route. The walk's own officers and their
supervisor see all three of this walk's concerns, numbered, apart from the earlier walk's
published one; an officer of another ward, who sees the route trimmed, sees none of them.
"""

from __future__ import annotations

import re
import time
import uuid
from typing import Any

from fastapi.testclient import TestClient
from shapely.geometry import shape
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

from service.queries import exposure
from service.settings import Settings
from tests.test_maps_routes import layer_control
from tests.walks import ROUTE, WATERLOO, walk_with_route

# Kennington, south of the route and in another ward: far beyond the 50 m the map looks within.
FAR = (-0.1100, 51.4880)


def concern(client: TestClient, people: dict, walk_id: str, **place: Any) -> str:
    sent = client.post(
        f"/walks/{walk_id}/concerns",
        headers=people["waterloo"],
        json={"categories": ["poor_lighting"], "note": place.pop("note", None), **place},
    )
    assert sent.status_code == 201, sent.text
    return str(sent.json()["id"])


def set_status(settings: Settings, report_id: str, status: str) -> None:
    engine = create_engine(settings.database_url or "")
    with engine.begin() as connection:
        connection.execute(
            text("UPDATE reports SET status = :s WHERE id = :id"), {"s": status, "id": report_id}
        )
    engine.dispose()


def two_walks(client: TestClient, people: dict, settings: Settings) -> dict[str, Any]:
    earlier = walk_with_route(client, people, start="2026-10-01T17:00:00+00:00")
    published = concern(client, people, earlier["id"], lon=-0.1100, lat=51.5075, note="Old one")
    set_status(
        settings, concern(client, people, earlier["id"], lon=-0.1030, lat=51.5080), "pending"
    )
    walk = walk_with_route(client, people)
    on_route = concern(
        client, people, walk["id"], lon=-0.1050, lat=51.5079, note="Lights out under the arch",
        at="2026-12-01T17:12:00+00:00",
    )
    stretch = concern(
        client, people, walk["id"], note="Nobody about",
        line={"type": "LineString", "coordinates": [[-0.0990, 51.5078], [-0.0975, 51.5077]]},
        at="2026-12-01T17:20:00+00:00",
    )
    set_status(settings, stretch, "pending")
    far = concern(
        client, people, walk["id"], lon=FAR[0], lat=FAR[1], note="Park gate locked",
        at="2026-12-01T17:30:00+00:00",
    )
    set_status(settings, far, "hidden")
    return {"walk": walk, "earlier": earlier, "ids": [on_route, stretch, far], "old": published}


def reports_and_crimes_along(settings: Settings, walk_id: str) -> int:
    """3,000 published reports within 50 m of the walk's route and 300 crimes on it.

    Returns how many crimes lie within 50 m of the route.
    """
    engine = create_engine(settings.database_url or "")
    with engine.begin() as connection:
        # Up to 30 m east and north of points along the route: all within 50 m of it.
        connection.execute(
            text(
                "INSERT INTO reports (geom, ward_code, borough_code, occurred_on, time_band, "
                "categories, source, sun_elevation, is_dark, darkness_basis, status) "
                "SELECT ST_Transform(ST_Translate(ST_LineInterpolatePoint("
                "ST_Transform(w.route, 27700), (g % 997) / 997.0), (g * 7) % 31, (g * 13) % 31),"
                " 4326), 'E05014118', 'E09000022', DATE '2026-09-01' + (g % 60), 'evening', "
                "ARRAY['poor_lighting'], 'imported', -10, true, 'time_band', 'published' "
                "FROM generate_series(1, 3000) g, walks w WHERE w.id = :id"
            ),
            {"id": walk_id},
        )
        # And 300 police.uk crimes on the route, at the anonymised points police.uk gives.
        imported = connection.execute(
            text(
                "INSERT INTO imports (kind, sha256, file_name, rows_stored, rows_skipped, "
                "imported_by) VALUES ('crimes', 'test', 'crimes.csv', 300, 0, 'test') "
                "RETURNING id"
            )
        ).scalar_one()
        connection.execute(
            text(
                "INSERT INTO crimes (crime_id, police_uk_id, month, crime_type, falls_within, "
                "lsoa_code, lsoa_name, street_name, outcome, geom, import_id) "
                "SELECT 'c' || g, 'p' || g, DATE '2026-08-01', 'Robbery', 'Metropolitan', "
                "'E01000001', 'Lambeth 001A', 'On or near the South Bank', '', "
                "ST_LineInterpolatePoint(w.route, (g % 30) / 30.0), :import "
                "FROM generate_series(1, 300) g, walks w WHERE w.id = :id"
            ),
            {"id": walk_id, "import": imported},
        )
        crimes_near = connection.execute(
            text(
                "SELECT count(*) FROM crimes c, walks w WHERE w.id = :id AND ST_DWithin("
                "ST_Transform(c.geom, 27700), ST_Transform(w.route, 27700), 50)"
            ),
            {"id": walk_id},
        ).scalar_one()
    engine.dispose()
    return int(crimes_near)


def test_the_walks_own_concerns_whatever_their_status_and_place_and_earlier_published_ones(
    client: TestClient, people: dict, app_settings: Settings
) -> None:
    made = two_walks(client, people, app_settings)
    engine = create_engine(app_settings.database_url or "")
    with Session(engine) as session, session.begin():
        own = exposure.walk_concerns(session, uuid.UUID(made["walk"]["id"]))
        points = exposure.map_points(
            session, shape(ROUTE).wkt, within=50, besides_walk=uuid.UUID(made["walk"]["id"])
        )
        everything = exposure.map_points(session, shape(ROUTE).wkt, within=50)
    engine.dispose()
    assert list(own["number"]) == [1, 2, 3]
    assert list(own["status"]) == ["published", "pending", "hidden"]
    assert list(own["note"]) == ["Lights out under the arch", "Nobody about", "Park gate locked"]
    assert own["line"].isna().tolist() == [True, False, True]
    assert own["line"][1].startswith("LINESTRING")
    assert (round(own.geometry[2].x, 4), round(own.geometry[2].y, 4)) == FAR
    with Session(engine) as session:
        far_ward = session.execute(
            text("SELECT ward_code FROM reports WHERE id = :id"), {"id": made["ids"][2]}
        ).scalar_one()
    engine.dispose()
    assert far_ward not in (None, WATERLOO)  # noted in another ward than the walk's
    # Near the route: the earlier walk's published concern; its pending one is not shown.
    assert list(points.concerns["note"]) == ["Old one"]
    assert points.found["concerns"] == 1
    # Without a walk to set apart, this walk's published concern near the route is there too.
    assert sorted(everything.concerns["note"]) == ["Lights out under the arch", "Old one"]


def test_her_walks_map_numbers_its_concerns_and_leads_back_to_the_walk(
    client: TestClient, people: dict, app_settings: Settings
) -> None:
    made = two_walks(client, people, app_settings)
    walk_id = made["walk"]["id"]
    for who in ("waterloo", "supervisor"):
        page = client.get(f"/maps/walks/{walk_id}", headers=people[who])
        assert page.status_code == 200, page.text
        html = page.text
        overlays = layer_control(html)["overlays"]
        assert "This walk's concerns (3)" in overlays
        assert "Earlier walk concerns (1)" in overlays
        assert html.count('"className": "walk-concern-here"') == 3
        for note in ("Lights out under the arch", "Nobody about", "Park gate locked"):
            assert note in html
        assert "Awaiting moderation" in html and "Hidden by a moderator" in html
        # The earlier walk's concern, quieter, with the day it was noted.
        assert "Walk concern: Poor or no street lighting — “Old one” (noted 1 October 2026)" in (
            html
        )
        assert f'\\u003ca href=\\"/work/walks/{walk_id}\\"\\u003e\\u0026larr; The walk' in html


def test_an_officer_of_another_ward_sees_none_of_the_walks_own_concerns(
    client: TestClient, people: dict, app_settings: Settings
) -> None:
    made = two_walks(client, people, app_settings)
    page = client.get(f"/maps/walks/{made['walk']['id']}", headers=people["bankside"])
    assert page.status_code == 200, page.text
    assert "Route trimmed" in page.text
    assert not [n for n in layer_control(page.text)["overlays"] if n.startswith("This walk")]
    assert '"className": "walk-concern-here"' not in page.text
    for note in ("Lights out under the arch", "Nobody about", "Park gate locked"):
        assert note not in page.text


def test_three_thousand_reports_along_the_route_are_one_group_layer_not_three_thousand_dots(
    client: TestClient, people: dict, app_settings: Settings
) -> None:
    walk = walk_with_route(client, people)
    crimes_near = reports_and_crimes_along(app_settings, walk["id"])
    assert crimes_near >= 300
    began = time.perf_counter()
    page = client.get(f"/maps/walks/{walk['id']}", headers=people["waterloo"])
    took = time.perf_counter() - began
    assert page.status_code == 200, page.text
    html = page.text
    overlays = layer_control(html)["overlays"]
    assert "Unsafe-place reports (2,000 of 3,000)" in overlays
    assert "Markers show the 2,000 most recent of the 3,000 reports within 50 m" in html
    # One group layer each for reports and crimes; the only circle marker is the script's.
    assert html.count("L.markerClusterGroup(") == 2
    assert html.count("L.circleMarker(") == 1
    rows = re.search(r"var data = (\[.*?\]);\n", html, re.S)
    assert rows and rows.group(1).count("], [") + 1 == 2000
    assert [n for n in overlays if n.startswith("Police.uk crimes")] == [
        f"Police.uk crimes ({min(crimes_near, 2000):,})"
        if crimes_near <= 2000
        else f"Police.uk crimes (2,000 of {crimes_near:,})"
    ]
    # The page stays light enough for a phone, and quick.
    assert len(html.encode()) < 700_000, len(html.encode())
    assert took < 10, took
