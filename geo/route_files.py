"""Routes from uploaded files: GPX (a phone app's track or a planner's route) or GeoJSON.

The route page's upload form sends a file; this module turns its bytes into one line, or says
what is wrong with the file in words an officer can act on. The line then goes through the
same checks and storage as a drawn route (``service.queries.walks.store_route``).
"""

from __future__ import annotations

import json
from typing import Any

from shapely.geometry import LineString

from geo.gpx import route_from_gpx
from geo.routes import InvalidRoute, clean_route

# A phone's GPX of a two-hour walk is well under 2 MB; 10 MB leaves room for noisy recorders.
MAX_UPLOAD_BYTES = 10 * 1024 * 1024
# Great Britain and its waters, WGS84: a route outside it is misplaced or has lat/lon swapped.
_BRITAIN_LON = (-9.0, 2.1)
_BRITAIN_LAT = (49.8, 61.0)


def route_from_file(filename: str, data: bytes) -> LineString:
    """The route in an uploaded GPX or GeoJSON file, as one WGS84 line.

    GPX: the tracks' segments joined in file order, else the routes' points (waypoints alone
    are not a route). GeoJSON: a LineString, a MultiLineString whose parts join end to end, a
    Feature holding either, or a FeatureCollection holding exactly one such Feature.

    Raises
    ------
    InvalidRoute
        The file is empty, too big, neither GPX nor GeoJSON, holds no line or a one-point
        line, or lies outside Great Britain (with a hint when latitude and longitude look
        swapped). The message says how to fix it.

    """
    if not data.strip():
        raise InvalidRoute("the file is empty: choose the GPX or GeoJSON file of the route")
    if len(data) > MAX_UPLOAD_BYTES:
        raise InvalidRoute(
            f"the file is larger than the {MAX_UPLOAD_BYTES // 1024 // 1024} MB a route file "
            "may be: export only this walk's track"
        )
    head = data.lstrip()[:1]
    name = filename.lower()
    if head == b"<" or name.endswith(".gpx"):
        line = route_from_gpx(data)
    elif head in (b"{", b"[") or name.endswith((".geojson", ".json")):
        line = _route_from_geojson(data)
    else:
        raise InvalidRoute(
            "the file is neither GPX nor GeoJSON: export the route from the app as GPX "
            "(a .gpx file) or GeoJSON (a .geojson file)"
        )
    line = clean_route(line)
    _check_in_britain(line)
    return line


def _route_from_geojson(data: bytes) -> LineString:
    """The one line of a GeoJSON file."""
    try:
        obj: Any = json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError):
        raise InvalidRoute(
            "the file is not readable GeoJSON (it is not valid JSON): export it again"
        ) from None
    if not isinstance(obj, dict):
        raise InvalidRoute("the GeoJSON file must hold one object: a LineString or a Feature")
    if obj.get("type") == "FeatureCollection":
        features = obj.get("features")
        lines = [
            f
            for f in (features if isinstance(features, list) else [])
            if isinstance(f, dict)
            and isinstance(f.get("geometry"), dict)
            and f["geometry"].get("type") in ("LineString", "MultiLineString")
        ]
        if len(lines) != 1:
            raise InvalidRoute(
                f"the GeoJSON FeatureCollection holds {len(lines)} lines; a route file must "
                "hold exactly one line (points alone are not a route)"
            )
        obj = lines[0]
    return clean_route(obj)


def _check_in_britain(line: LineString) -> None:
    """Refuse a line with a point outside Great Britain, spotting swapped lat/lon."""
    for lon, lat in line.coords:
        if _BRITAIN_LON[0] <= lon <= _BRITAIN_LON[1] and _BRITAIN_LAT[0] <= lat <= _BRITAIN_LAT[1]:
            continue
        if _BRITAIN_LON[0] <= lat <= _BRITAIN_LON[1] and _BRITAIN_LAT[0] <= lon <= _BRITAIN_LAT[1]:
            raise InvalidRoute(
                f"the file's points are in the wrong order: ({lon:g}, {lat:g}) is read as "
                "longitude, latitude and falls outside Britain, but swapped it is in Britain. "
                "GeoJSON positions are [longitude, latitude]; export the file again"
            )
        raise InvalidRoute(
            f"the route has a point at longitude {lon:g}, latitude {lat:g}, outside Great "
            "Britain: check the file is this walk's route"
        )
