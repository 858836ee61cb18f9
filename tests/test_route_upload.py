"""Uploading a route file on the route page: GPX and GeoJSON, and files that are not a route."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text

from geo.route_files import MAX_UPLOAD_BYTES, route_from_file
from geo.routes import InvalidRoute
from tests.walks import WATERLOO, make_walk

DATA = Path(__file__).parent / "data"


def _walk(client: TestClient, people: dict, day: str) -> dict:
    return make_walk(
        client,
        people,
        start=f"2026-12-{day}T17:00:00+00:00",
        end=f"2026-12-{day}T17:45:00+00:00",
        buddy_ward=WATERLOO,
    )


def _stored(settings: Any, walk_id: str) -> tuple[Any, ...]:
    engine = create_engine(settings.database_url)
    with engine.connect() as conn:
        row = conn.execute(
            text("SELECT ST_NPoints(route), length_m, route_wards FROM walks WHERE id = :id"),
            {"id": walk_id},
        ).one()
    engine.dispose()
    return tuple(row)


def _upload(client: TestClient, headers: dict, walk_id: str, name: str, data: bytes) -> Any:
    return client.post(
        f"/walks/{walk_id}/route/edit",
        headers=headers,
        files={"route_file": (name, data, "application/octet-stream")},
        follow_redirects=False,
    )


def test_gpx_from_a_phone_app_joins_its_segments_and_ignores_waypoints() -> None:
    line = route_from_file("walk.gpx", (DATA / "waterloo_lower_marsh.gpx").read_bytes())
    assert len(line.coords) == 9  # both segments' points, in order; the waypoint is not used
    assert line.coords[0] == (-0.1136, 51.5033)
    assert line.coords[-1] == (-0.108, 51.4986)


def test_geojson_feature_collection_with_one_line_and_a_point() -> None:
    line = route_from_file("x.geojson", (DATA / "south_bank_line.geojson").read_bytes())
    assert len(line.coords) == 5


def test_multilinestring_parts_that_join_become_one_line() -> None:
    body = {
        "type": "MultiLineString",
        "coordinates": [
            [[-0.1136, 51.5033], [-0.1150, 51.5055]],
            [[-0.1150, 51.5055], [-0.11, 51.5075]],
        ],
    }
    line = route_from_file("x.json", json.dumps(body).encode())
    assert len(line.coords) == 3


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("a.txt", b"hello, this is a note", "neither GPX nor GeoJSON"),
        ("a.geojson", b"{not json", "not valid JSON"),
        ("a.gpx", b"<html><body>no</body></html>", "no <gpx> element"),
        ("a.gpx", (DATA / "waypoints_only.gpx").read_bytes(), "waypoints alone"),
        ("a.geojson", b'{"type": "Point", "coordinates": [-0.11, 51.5]}', "not a Point"),
        ("a.geojson", b'{"type": "LineString", "coordinates": [[-0.11, 51.5]]}', "two"),
        (
            "a.geojson",
            b'{"type": "LineString", "coordinates": [[51.5033, -0.1136], [51.5055, -0.115]]}',
            "swapped it is in Britain",
        ),
        ("a.gpx", b"", "empty"),
        ("a.gpx", b"<" + b" " * MAX_UPLOAD_BYTES, "larger than the 10 MB"),
    ],
)
def test_a_file_that_is_not_a_route_says_why(name: str, data: bytes, message: str) -> None:
    with pytest.raises(InvalidRoute) as caught:
        route_from_file(name, data)
    assert message in str(caught.value)


def test_upload_stores_the_route_and_answers_with_the_page(
    client: TestClient, people: dict, app_settings: Any
) -> None:
    walk = _walk(client, people, "07")
    gpx = (DATA / "waterloo_lower_marsh.gpx").read_bytes()
    answer = _upload(client, people["waterloo"], walk["id"], "lower-marsh.gpx", gpx)
    assert answer.status_code == 303, answer.text[answer.text.find("route-file-error"):][:500]
    assert answer.headers["location"] == f"/walks/{walk['id']}/route/edit?saved=1"
    points, length, wards = _stored(app_settings, walk["id"])
    assert points == 9 and 600 < length < 1200 and WATERLOO in wards

    page = client.get(answer.headers["location"], headers=people["waterloo"])
    assert page.status_code == 200
    assert "Route saved:" in page.text and "Back to the walk" in page.text
    assert f'href="/work/walks/{walk["id"]}"' in page.text
    # The saved line is loaded into the drawing layer, where Leaflet.draw's edit tool finds it.
    assert "-0.108" in page.text and "leaves the scheme" not in page.text


def test_a_route_over_the_river_says_which_part_is_outside(
    client: TestClient, people: dict, app_settings: Any
) -> None:
    walk = _walk(client, people, "08")
    data = (DATA / "over_the_river.geojson").read_bytes()
    answer = _upload(client, people["waterloo"], walk["id"], "bridge.geojson", data)
    assert answer.status_code == 303
    page = client.get(answer.headers["location"], headers=people["waterloo"])
    notice = page.text[page.text.find('class="notice"'):][:400]
    assert "Route saved: 1.0" in notice
    assert "the route leaves the scheme&#x27;s area for its last " in notice, notice
    assert "m (after 5" in notice  # over the bridge, about half way along
    # The API answer says the same, with the outside part's line for a map.
    put = client.put(f"/walks/{walk['id']}/route", headers=people["waterloo"], content=data)
    assert put.status_code == 200, put.text
    outside = put.json()["outside"]
    assert 150 < outside["length_m"] < 700
    assert outside["geometry"]["type"] == "MultiLineString"
    assert outside["note"].startswith("the route leaves the scheme's area for ")
    inside = client.put(
        f"/walks/{walk['id']}/route",
        headers=people["waterloo"],
        content=(DATA / "south_bank_line.geojson").read_bytes().replace(b"Collection", b""),
    )
    assert inside.status_code == 422  # (not a FeatureCollection through the API)


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("a.txt", b"just words", "neither GPX nor GeoJSON"),
        ("w.gpx", (DATA / "waypoints_only.gpx").read_bytes(), "waypoints alone"),
        (
            "far.geojson",
            b'{"type": "LineString", "coordinates": [[2.3, 48.85], [2.31, 48.86]]}',
            "outside Great Britain",
        ),
        ("big.gpx", b"<gpx>" + b" " * (20 * 1024 * 1024), "larger than the 10 MB"),
    ],
)
def test_a_bad_file_gives_the_page_again_and_stores_nothing(
    client: TestClient, people: dict, app_settings: Any, name: str, data: bytes, message: str
) -> None:
    walk = _walk(client, people, "09")
    answer = _upload(client, people["waterloo"], walk["id"], name, data)
    assert answer.status_code == 422
    assert "text/html" in answer.headers["content-type"]
    assert 'role="alert"' in answer.text and message in answer.text.replace("&#39;", "'")
    assert 'aria-invalid="true"' in answer.text
    assert _stored(app_settings, walk["id"]) == (None, None, [])


def test_no_file_chosen_asks_for_one(client: TestClient, people: dict) -> None:
    walk = _walk(client, people, "10")
    answer = client.post(
        f"/walks/{walk['id']}/route/edit", headers=people["waterloo"], data={"x": "1"}
    )
    assert answer.status_code == 422
    assert "Choose a GPX or GeoJSON file" in answer.text


def test_other_wards_officers_and_partners_cannot_upload(
    client: TestClient, people: dict, app_settings: Any
) -> None:
    walk = _walk(client, people, "11")
    gpx = (DATA / "waterloo_lower_marsh.gpx").read_bytes()
    for who in ("bankside", "partner", "public"):
        answer = _upload(client, people[who], walk["id"], "a.gpx", gpx)
        assert answer.status_code in (401, 403), (who, answer.status_code)
    assert _stored(app_settings, walk["id"]) == (None, None, [])
