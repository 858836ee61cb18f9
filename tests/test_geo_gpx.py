"""GPX files as walk routes: tracks (with pauses), planned routes, and files that are neither."""

from __future__ import annotations

import pytest

from geo.gpx import route_from_gpx
from geo.routes import InvalidRoute

COORDS = [(-0.1136, 51.5033), (-0.1150, 51.5055), (-0.1100, 51.5075), (-0.1030, 51.5080)]


def _gpx(body: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<gpx version="1.1" creator="test" xmlns="http://www.topografix.com/GPX/1/1">'
        f"{body}</gpx>"
    ).encode()


def _points(tag: str, coords: list[tuple[float, float]]) -> str:
    return "".join(f'<{tag} lat="{lat}" lon="{lon}"></{tag}>' for lon, lat in coords)


def test_a_track_paused_and_resumed_is_one_line() -> None:
    body = (
        "<trk><name>commute</name>"
        f"<trkseg>{_points('trkpt', COORDS[:2])}</trkseg>"
        f"<trkseg>{_points('trkpt', COORDS[2:])}</trkseg></trk>"
    )
    line = route_from_gpx(_gpx(body))
    assert list(line.coords) == COORDS


def test_a_planned_route_is_used_when_there_is_no_track() -> None:
    line = route_from_gpx(_gpx(f"<rte>{_points('rtept', COORDS)}</rte>"))
    assert list(line.coords) == COORDS


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (_gpx(_points("wpt", COORDS)), "no track or route"),
        (b"<html><body>not gpx</body></html>", "not readable GPX"),
        (b"lon,lat\n-0.1,51.5\n", "not readable GPX"),
    ],
    ids=["waypoints-only", "html", "csv"],
)
def test_files_that_are_not_routes_are_refused(data: bytes, message: str) -> None:
    with pytest.raises(InvalidRoute, match=message):
        route_from_gpx(data)
