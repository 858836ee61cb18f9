"""Routes are bounded in points, and the pages draw them simplified (issue 9, item 8).

A 1,000,000-point route used to be stored in 9.7 s, holding up other users, and its walk map
then weighed 47.9 MB. A 25 km walk recorded every few metres has a few thousand points: more
than :data:`geo.routes.MAX_VERTICES` is refused, whichever way the route comes (GeoJSON, GPX,
the planning page's form, a planned route's exposure), and nothing is stored. What is
accepted is stored exactly, and drawn on the pages simplified to about a metre and a half.
"""

from __future__ import annotations

import json
import time
from typing import Any

import numpy as np
import pytest
import shapely
from fastapi.testclient import TestClient
from shapely.geometry import LineString

from geo.grid import to_grid, to_wgs84
from geo.routes import DRAW_TOLERANCE_M, MAX_VERTICES, InvalidRoute, check_route, drawn_route
from tests.walks import ROUTE, make_walk, walk_with_route

TOO_MANY = (
    "the route has 25,000 points; at most 20,000 are taken: simplify it "
    "(e.g. in QGIS or with GPSBabel)"
)
BRIEFING = "/maps/routes/briefing"


def recorded_walk(points: int, *, step_m: float = 1.0, seed: int = 9) -> list[list[float]]:
    """A phone's recording of walking the South Bank route back and forth, a fix a step.

    Each fix is off the path by GPS jitter of about 20 cm, so no two steps are in line: a
    simplifier has real work to do, as with a real recording.
    """
    there = shapely.transform(
        LineString(ROUTE["coordinates"]), lambda xy: np.column_stack(to_grid().transform(*xy.T))
    )
    steps = np.arange(points) * step_m  # metres walked
    lap = steps % (2 * there.length)
    along = np.where(lap <= there.length, lap, 2 * there.length - lap)
    xy = shapely.get_coordinates(shapely.line_interpolate_point(there, along))
    xy += np.random.default_rng(seed).normal(0.0, 0.2, size=xy.shape)
    lon, lat = to_wgs84().transform(xy[:, 0], xy[:, 1])
    return np.round(np.column_stack([lon, lat]), 7).tolist()


def as_gpx(coordinates: list[list[float]]) -> bytes:
    """The same recording as a GPX 1.1 track."""
    points = "".join(f'<trkpt lat="{lat}" lon="{lon}"/>' for lon, lat in coordinates)
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<gpx version="1.1" creator="test" xmlns="http://www.topografix.com/GPX/1/1">'
        f"<trk><trkseg>{points}</trkseg></trk></gpx>"
    ).encode()


@pytest.fixture(scope="module")
def too_many() -> dict[str, Any]:
    # About 21 km: within the length limit, so only its points are refused.
    return {"type": "LineString", "coordinates": recorded_walk(25_000, step_m=0.8)}


@pytest.fixture(scope="module")
def many() -> dict[str, Any]:
    return {"type": "LineString", "coordinates": recorded_walk(19_000)}


# --- geo.routes ----------------------------------------------------------------------------


def test_the_limit_is_twenty_thousand_points() -> None:
    assert MAX_VERTICES == 20_000
    assert 1.0 <= DRAW_TOLERANCE_M <= 2.0


def test_check_route_refuses_too_many_points_before_reading_them(
    too_many: dict[str, Any],
) -> None:
    with pytest.raises(InvalidRoute) as refused:
        check_route(too_many)
    assert str(refused.value) == TOO_MANY
    # Counted before any vertex is read: a bad vertex further on is not what is reported.
    broken = {**too_many, "coordinates": [*too_many["coordinates"][:-1], ["x", "y"]]}
    with pytest.raises(InvalidRoute, match="has 25,000 points"):
        check_route(broken)
    parts = {"type": "MultiLineString", "coordinates": [too_many["coordinates"]] * 1}
    with pytest.raises(InvalidRoute, match="has 25,000 points"):
        check_route({"type": "Feature", "geometry": parts, "properties": {}})
    with pytest.raises(InvalidRoute, match="has 25,000 points"):
        check_route(LineString(too_many["coordinates"]))


def test_the_drawn_route_keeps_its_ends_and_stays_within_the_tolerance(
    many: dict[str, Any],
) -> None:
    exact = check_route(many)
    drawn = drawn_route(exact)
    assert len(drawn.coords) < len(exact.coords) / 20
    assert drawn.coords[0] == exact.coords[0] and drawn.coords[-1] == exact.coords[-1]
    on_grid = [
        shapely.transform(line, lambda xy: np.column_stack(to_grid().transform(*xy.T)))
        for line in (exact, drawn)
    ]
    # Every recorded point lies within the tolerance of the line drawn (Douglas-Peucker).
    gaps = shapely.distance(shapely.points(shapely.get_coordinates(on_grid[0])), on_grid[1])
    assert gaps.max() <= DRAW_TOLERANCE_M + 0.01


# --- the API -------------------------------------------------------------------------------


def _stored_route(client: TestClient, people: dict, walk_id: str) -> Any:
    answer = client.get(f"/walks/{walk_id}", headers=people["waterloo"])
    assert answer.status_code == 200, answer.text
    return answer.json()["geometry"]


def _refused(answer: Any) -> str:
    assert answer.status_code == 422, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    return str(answer.json()["detail"])


def test_a_25000_point_route_is_refused_as_geojson_and_as_gpx_and_nothing_is_stored(
    client: TestClient, people: dict, too_many: dict[str, Any]
) -> None:
    walk = make_walk(
        client,
        people,
        start="2026-12-01T17:00:00+00:00",
        end="2026-12-01T17:45:00+00:00",
        buddy_ward="E05014118",
    )
    url = f"/walks/{walk['id']}/route"
    assert _refused(client.put(url, headers=people["waterloo"], json=too_many)) == TOO_MANY
    feature = {"type": "Feature", "geometry": too_many, "properties": {}}
    assert _refused(client.put(url, headers=people["waterloo"], json=feature)) == TOO_MANY
    gpx = client.put(
        url,
        headers={**people["waterloo"], "Content-Type": "application/gpx+xml"},
        content=as_gpx(too_many["coordinates"]),
    )
    assert _refused(gpx) == TOO_MANY
    assert _stored_route(client, people, walk["id"]) is None


def test_a_walk_keeps_its_route_when_a_25000_point_one_is_refused(
    client: TestClient, people: dict, too_many: dict[str, Any]
) -> None:
    walk = walk_with_route(client, people)
    before = _stored_route(client, people, walk["id"])
    url = f"/walks/{walk['id']}/route"
    assert _refused(client.put(url, headers=people["waterloo"], json=too_many)) == TOO_MANY
    assert _stored_route(client, people, walk["id"]) == before


def test_a_planned_route_of_25000_points_is_refused_by_exposure_and_the_briefing(
    client: TestClient, people: dict, too_many: dict[str, Any]
) -> None:
    officer = people["waterloo"]
    assert _refused(client.post("/routes/exposure", headers=officer, json=too_many)) == TOO_MANY
    feature = {
        "type": "Feature",
        "geometry": too_many,
        "properties": {"planned_start": "2026-12-03T17:00"},
    }
    assert _refused(client.post(BRIEFING, headers=officer, json=feature)) == TOO_MANY
    form = {"route": json.dumps(too_many), "planned_start": "2026-12-03T17:00", "minutes": "45"}
    assert _refused(client.post(BRIEFING, headers=officer, data=form)) == TOO_MANY


def test_a_19000_point_route_is_stored_exactly_and_its_pages_stay_small(
    client: TestClient, people: dict, many: dict[str, Any]
) -> None:
    started = time.perf_counter()
    walk = walk_with_route(client, people, route=many)
    stored_s = time.perf_counter() - started
    stored = _stored_route(client, people, walk["id"])
    assert len(stored["coordinates"]) == 19_000  # stored as sent, not simplified
    # As sent, to the 6 decimals (10 cm) the API gives coordinates in.
    assert stored["coordinates"][123] == pytest.approx(many["coordinates"][123], abs=6e-7)

    started = time.perf_counter()
    page = client.get(f"/maps/walks/{walk['id']}", headers=people["waterloo"])
    page_s = time.perf_counter() - started
    assert page.status_code == 200, page.text
    # Measured: 1,094,590 bytes before the pages drew the route simplified, 194,052 after.
    assert len(page.content) < 400_000, len(page.content)
    # Still the whole route in its 100 m stretches: about 19 km of back and forth.
    assert page.text.count("metres 18") >= 10

    editor = client.get(f"/walks/{walk['id']}/route/edit", headers=people["waterloo"])
    assert editor.status_code == 200, editor.text
    assert len(editor.content) < 150_000, len(editor.content)

    briefing = client.post(
        BRIEFING,
        headers=people["waterloo"],
        json={
            "type": "Feature",
            "geometry": many,
            "properties": {"planned_start": "2026-12-03T17:00"},
        },
    )
    assert briefing.status_code == 200, briefing.text
    assert len(briefing.content) < 450_000, len(briefing.content)
    print(
        f"19,000 points: stored in {stored_s:.2f} s; walk map {len(page.content):,} bytes in "
        f"{page_s:.2f} s; editor {len(editor.content):,} bytes; briefing "
        f"{len(briefing.content):,} bytes"
    )
