"""Routes from GPX files (phones, GPS units, route planners): tracks or planned routes."""

from __future__ import annotations

import re

import gpxpy
import gpxpy.gpx
from shapely.geometry import LineString

from geo.routes import InvalidRoute, check_point_count

# The points route_from_gpx takes: a track's, else a route's (waypoints are not a route).
_TRACK_POINT = re.compile(r"<(?:\w+:)?trkpt[\s>/]")
_ROUTE_POINT = re.compile(r"<(?:\w+:)?rtept[\s>/]")


def route_from_gpx(data: bytes | str) -> LineString:
    """The line of a GPX file: its track points in order, else its route points.

    Every segment of every track is joined in file order (a recording paused and resumed is one
    walk). The result still goes through ``geo.routes.check_route`` for the route rules.

    Raises
    ------
    InvalidRoute
        The file is not GPX, holds neither a track nor a route, or has more points than
        ``geo.routes.MAX_VERTICES`` (counted before the file is parsed, which is the slow part).

    """
    text = data.decode("utf-8-sig", errors="replace") if isinstance(data, bytes) else data
    # gpxpy reads any XML without complaint; a GPX file's root element is <gpx>.
    if not re.search(r"<(\w+:)?gpx[\s>]", text[:4096]):
        raise InvalidRoute("the file is not readable GPX (no <gpx> element): export it as GPX 1.1")
    track_points = len(_TRACK_POINT.findall(text))
    check_point_count(track_points or len(_ROUTE_POINT.findall(text)))
    try:
        parsed = gpxpy.parse(text)
    except gpxpy.gpx.GPXException as exc:
        raise InvalidRoute(
            f"the file is not readable GPX ({exc}): export it again as GPX 1.1"
        ) from None
    points = [
        (p.longitude, p.latitude)
        for track in parsed.tracks
        for segment in track.segments
        for p in segment.points
    ]
    if not points:
        points = [(p.longitude, p.latitude) for route in parsed.routes for p in route.points]
    if len(points) < 2:
        raise InvalidRoute(
            "the GPX file holds no track or route with two or more points (waypoints alone "
            "are not a route)"
        )
    return LineString(points)
