"""Walk routes: validating a drawn, recorded or uploaded line, and the metric work on it.

A route is the path a buddy walked with a ward officer. It arrives as a GeoJSON LineString
(a geometry or a Feature, drawn on the map, converted from GPX or uploaded) or as a Shapely
line, in WGS84 longitude/latitude, and leaves :func:`clean_route` as a 2-D WGS84 LineString
ready to store. Anything measured in metres -- length, trimming, segments, darkness along the
way -- is done on the British National Grid (EPSG:27700), where a metre is a metre to within
0.04 % across Great Britain.

A route's ends show where its buddy lives and works, one of the two secrets of the scheme
(see DESIGN.md). :func:`trim_route_ends` removes a randomised stretch from each end for the
people who may only see a trimmed route: officers of other wards, and exports.

Everything here is pure: no database, no HTTP. Public functions check their inputs and raise
:class:`InvalidRoute` with a message that says what is wrong and how to fix it; private
helpers do the work on lines already checked.
"""

from __future__ import annotations

import hashlib
import math
import numbers
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np
import shapely
from numpy.typing import NDArray
from pyproj import Geod
from shapely.geometry import LineString, MultiPolygon, Polygon

from geo.coordinates import InvalidCoordinates, check_lon_lat
from geo.darkness import DARK_BELOW_DEGREES, solar_elevation
from geo.grid import to_grid, to_wgs84

__all__ = [
    "DRAW_TOLERANCE_M",
    "MAX_CONCERN_STRETCH_M",
    "MAX_LENGTH_M",
    "MAX_VERTICES",
    "MIN_KEPT_M",
    "MIN_LENGTH_M",
    "MULTILINE_JOIN_TOLERANCE_M",
    "InvalidRoute",
    "check_point_count",
    "check_route",
    "clean_route",
    "concern_stretch",
    "darkness_along",
    "drawn_route",
    "route_length_m",
    "segments",
    "trim_route_ends",
]

MIN_LENGTH_M = 500
"""Shortest route accepted, metres: anything shorter is a slip of the mouse, not a walk."""

MAX_LENGTH_M = 25_000
"""Longest route accepted, metres: longer than any walk-and-talk (and usually a GPX left on)."""

MAX_VERTICES = 20_000
"""Most points a route may have. A 25 km walk (:data:`MAX_LENGTH_M`) recorded every few metres
has a few thousand; a phone logging every second for five hours, 18,000. Past this a route is
a file that was never simplified, and its size is work for the service (a million points
took 9.7 s to store and made a 48 MB map page), not information about the walk."""

DRAW_TOLERANCE_M = 1.5
"""How far, metres, a route drawn on a page may stray from the stored one (:func:`drawn_route`).

Less than a pavement's width, and under a pixel at the closest zoom a street map is read at,
so the line looks the same, while a recording's every-metre jitter is not sent to the page.
"""

MAX_CONCERN_STRETCH_M = 300.0
"""Longest stretch a single walk concern may cover, metres: an unlit path, an underpass. A
longer worry is a route of its own, or several concerns."""

MIN_KEPT_M = 100.0
"""A trimmed route must keep more than this many metres, else :func:`trim_route_ends` gives None.

A stub of a few metres shows nothing useful to the reader but still points at the stretch
that was removed.
"""

MULTILINE_JOIN_TOLERANCE_M = 1.0
"""Largest gap, metres (geodesic), between one part's last point and the next part's first.

GPX exports and drawing tools split one walk into parts that share their joining point, give
or take rounding of the coordinates; a metre allows for that rounding while a real gap (a
lost GPS signal, two different walks) is refused rather than silently bridged.
"""

# EPSG:27700's area of use (pyproj CRS.area_of_use): outside it the grid's metres are wrong,
# and far outside it the projection gives infinities.
_BNG_LON_RANGE = (-9.01, 2.01)
_BNG_LAT_RANGE = (49.75, 61.01)
# Cutting a route into more pieces than this is a mistake in every_m, not a request.
_MAX_SEGMENTS = 100_000
# A final piece shorter than this (floating-point dust when the length is a multiple of
# every_m) is merged into the one before it rather than returned as a zero-length line.
_DUST_M = 1e-3

_GEOD = Geod(ellps="WGS84")

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]


class InvalidRoute(ValueError):
    """A route that cannot be stored or measured; the message says what is wrong and the fix."""


# --- public ------------------------------------------------------------------------------


def clean_route(geometry: Mapping[str, Any] | shapely.Geometry) -> LineString:
    """Check a route's geometry and return it as a 2-D WGS84 LineString.

    Accepted: a GeoJSON LineString; a GeoJSON MultiLineString whose parts join end to end in
    their given order (each part starting within :data:`MULTILINE_JOIN_TOLERANCE_M` of where
    the one before ended), joined into one line; a GeoJSON Feature holding either; or the
    same as Shapely geometries. Z and M values are dropped without complaint (GPX and phones
    record heights that the maps do not use). Consecutive repeated points (a phone standing
    still) are dropped; a route may otherwise cross or return to itself (a loop in a park).

    Parameters
    ----------
    geometry : Mapping or shapely geometry
        A GeoJSON geometry or Feature (``dict``), longitude first, or a Shapely
        LineString / MultiLineString, in WGS84 (EPSG:4326).

    Returns
    -------
    shapely.LineString
        The route, 2-D, at least two distinct points, no consecutive repeats.

    Raises
    ------
    InvalidRoute
        If the geometry is not a line (the message names what it is), is empty, has fewer
        than two distinct points, has parts that do not join, or has a vertex that is not a
        number, not finite or out of range (the message names the vertex and the value).

    Examples
    --------
    >>> coordinates = [[-0.11, 51.5, 12.0], [-0.11, 51.5], [-0.1, 51.5]]
    >>> line = clean_route({"type": "LineString", "coordinates": coordinates})
    >>> line.wkt
    'LINESTRING (-0.11 51.5, -0.1 51.5)'
    >>> clean_route({"type": "Point", "coordinates": [-0.11, 51.5]})
    Traceback (most recent call last):
    ...
    geo.routes.InvalidRoute: a route must be a LineString (or a MultiLineString whose parts \
join end to end), not a Point; draw or upload the path that was walked

    """
    parts = _parts_of(geometry)
    for number, part in enumerate(parts):
        _check_vertices(part, part_number=number if len(parts) > 1 else None)
    coords = _join_parts(parts)
    return _line_from(coords)


def route_length_m(line: Mapping[str, Any] | shapely.Geometry) -> float:
    """The route's length in metres, measured on the British National Grid (EPSG:27700).

    Parameters
    ----------
    line : Mapping or shapely geometry
        Anything :func:`clean_route` accepts.

    Returns
    -------
    float
        Length in metres.

    Raises
    ------
    InvalidRoute
        As :func:`clean_route`, or if the route leaves Great Britain (the grid's area).

    Examples
    --------
    >>> round(route_length_m(LineString([(-0.1136, 51.5033), (-0.1136, 51.5060)])))
    300

    """
    return _on_grid(clean_route(line)).length


def concern_stretch(
    line: Mapping[str, Any] | shapely.Geometry,
) -> tuple[LineString, tuple[float, float]]:
    """Check the short stretch a walk concern is about, and find where it is counted.

    A concern is counted as a point, like every report; for a stretch that point is its middle
    by length along the line on the British National Grid.

    Parameters
    ----------
    line : Mapping or shapely geometry
        Anything :func:`clean_route` accepts.

    Returns
    -------
    (shapely.LineString, (float, float))
        The cleaned stretch and its middle as ``(lon, lat)``.

    Raises
    ------
    InvalidRoute
        As :func:`clean_route`, or if the stretch is longer than :data:`MAX_CONCERN_STRETCH_M`.

    Examples
    --------
    >>> line = LineString([(-0.1136, 51.5033), (-0.1136, 51.5043)])
    >>> stretch, (lon, lat) = concern_stretch(line)
    >>> round(lon, 4), round(lat, 4)
    (-0.1136, 51.5038)

    """
    stretch = clean_route(line)
    grid = _on_grid(stretch)
    if grid.length > MAX_CONCERN_STRETCH_M:
        raise InvalidRoute(
            f"a concern's stretch is {grid.length:,.0f} m long, longer than the "
            f"{MAX_CONCERN_STRETCH_M:,.0f} m a single concern may cover; record it as several "
            "concerns, or as points"
        )
    middle = _points_at(grid, np.array([grid.length / 2]))[0]
    return stretch, (float(middle[0]), float(middle[1]))


def check_route(
    line: Mapping[str, Any] | shapely.Geometry,
    *,
    service_area: Polygon | MultiPolygon | None = None,
) -> LineString:
    """Check that a route can be stored: a clean line of a walkable length, in the area served.

    Parameters
    ----------
    line : Mapping or shapely geometry
        Anything :func:`clean_route` accepts.
    service_area : shapely Polygon or MultiPolygon, optional
        The area the scheme serves, WGS84. A route that touches it at all is accepted (a
        buddy's walk may start just over a boundary); one entirely outside it is refused.

    Returns
    -------
    shapely.LineString
        The cleaned route, as from :func:`clean_route`.

    Raises
    ------
    InvalidRoute
        If the route has more than :data:`MAX_VERTICES` points (counted as sent, before
        anything else is checked); as :func:`clean_route`; or if the route is shorter than
        :data:`MIN_LENGTH_M` or longer than :data:`MAX_LENGTH_M` (the message gives the
        measured length); or if it lies entirely outside ``service_area``.
    TypeError
        If ``service_area`` is not a Polygon or MultiPolygon.

    Examples
    --------
    >>> check_route(LineString([(-0.1136, 51.5033), (-0.1136, 51.5060)]))
    Traceback (most recent call last):
    ...
    geo.routes.InvalidRoute: the route is 300 m long, shorter than the 500 m a walk needs; \
draw or record the whole walk

    """
    if service_area is not None and not isinstance(service_area, Polygon | MultiPolygon):
        raise TypeError(
            f"service_area must be a shapely Polygon or MultiPolygon in WGS84, "
            f"not {type(service_area).__name__}"
        )
    # Counted before any point is read, so an oversized route costs next to nothing.
    check_point_count(_point_count(line))
    route = clean_route(line)
    length = _on_grid(route).length
    if length < MIN_LENGTH_M:
        raise InvalidRoute(
            f"the route is {length:,.0f} m long, shorter than the {MIN_LENGTH_M:,} m a walk "
            "needs; draw or record the whole walk"
        )
    if length > MAX_LENGTH_M:
        raise InvalidRoute(
            f"the route is {length:,.0f} m ({length / 1000:.1f} km) long, longer than the "
            f"{MAX_LENGTH_M / 1000:g} km limit; check that the recording was stopped at the end "
            "of the walk, or split it into separate walks"
        )
    if service_area is not None and not route.intersects(service_area):
        raise InvalidRoute(
            "the route lies entirely outside the service area; check that longitude comes "
            "before latitude, or record the walk with the force that serves that area"
        )
    return route


def check_point_count(points: int) -> None:
    """Refuse a route of more than :data:`MAX_VERTICES` points, saying how to simplify it.

    :func:`check_route` calls it; readers of route files (``geo.gpx``) call it with the
    number of points they found before building the line.

    Raises
    ------
    InvalidRoute
        If ``points`` is more than :data:`MAX_VERTICES`.

    Examples
    --------
    >>> check_point_count(20_000)
    >>> check_point_count(25_000)
    Traceback (most recent call last):
    ...
    geo.routes.InvalidRoute: the route has 25,000 points; at most 20,000 are taken: simplify \
it (e.g. in QGIS or with GPSBabel)

    """
    if points > MAX_VERTICES:
        raise InvalidRoute(
            f"the route has {points:,} points; at most {MAX_VERTICES:,} are taken: simplify it "
            "(e.g. in QGIS or with GPSBabel)"
        )


def drawn_route(
    line: Mapping[str, Any] | shapely.Geometry, *, tolerance_m: float = DRAW_TOLERANCE_M
) -> LineString:
    """The route as a page draws it: only the points needed to stay within ``tolerance_m``.

    Douglas-Peucker on the British National Grid, so the tolerance is in metres everywhere
    (in degrees, a longitude is 0.62 of a latitude in London). The points kept are the
    route's own, unmoved, its ends always among them. What is stored, measured, trimmed and
    exported is the route itself; this is for drawing only.

    Parameters
    ----------
    line : Mapping or shapely geometry
        Anything :func:`clean_route` accepts.
    tolerance_m : float, default :data:`DRAW_TOLERANCE_M`
        Largest distance, metres, of a dropped point from the line drawn.

    Returns
    -------
    shapely.LineString
        A WGS84 line through some of the route's points, in order.

    Raises
    ------
    InvalidRoute
        As :func:`route_length_m`.
    ValueError
        If ``tolerance_m`` is not a finite number of metres, 0 or more.

    Examples
    --------
    >>> wiggly = LineString([(-0.1136, 51.5033), (-0.113601, 51.5040), (-0.1136, 51.5060)])
    >>> drawn_route(wiggly).wkt  # the middle point is 7 cm off the straight line
    'LINESTRING (-0.1136 51.5033, -0.1136 51.506)'

    """
    if not (isinstance(tolerance_m, numbers.Real) and math.isfinite(tolerance_m)) or (
        tolerance_m < 0
    ):
        raise ValueError(
            f"tolerance_m must be a finite number of metres, 0 or more: {tolerance_m!r}"
        )
    measured = _on_grid(clean_route(line))
    # Each point carries its number as a Z value through the simplifier, which measures in
    # x and y only, so the kept points are picked from the route's own WGS84 coordinates.
    numbered = LineString(np.column_stack([measured.grid, np.arange(len(measured.grid))]))
    kept = shapely.get_coordinates(
        shapely.simplify(numbered, tolerance_m, preserve_topology=False), include_z=True
    )[:, 2].astype(np.intp)
    return LineString(measured.wgs84[kept])


def trim_route_ends(
    line: Mapping[str, Any] | shapely.Geometry,
    *,
    seed: int | str,
    min_m: float = 300.0,
    max_m: float = 450.0,
) -> LineString | None:
    """Remove a randomised stretch from each end of a route, so its ends cannot be seen.

    This is what officers of other wards, and exports, get instead of the route (DESIGN.md:
    a buddy's route ends are a secret). The two cut lengths are drawn independently and
    uniformly from ``[min_m, max_m)`` and measured **along the line** on the British National
    Grid; they come from a random generator seeded by ``seed``, so the same route trimmed
    twice gives the same result (no averaging of repeated downloads back towards the ends)
    while different routes are cut differently. An int and its decimal string seed alike.

    The trimmed line holds no point within ``min_m`` of either end *along the line*. A
    winding route can come back closer than that as the crow flies, and a loop that passes
    its own start in the middle still shows that place (though not as an end).

    Parameters
    ----------
    line : Mapping or shapely geometry
        Anything :func:`clean_route` accepts.
    seed : int or str
        Seeds the cut lengths. Anyone who knows the seed can recompute them, which narrows
        where the ends lie: when readers can see the walk id, pass a secret-keyed value such
        as ``hmac.new(key, walk_id, "sha256").hexdigest()`` rather than the bare id.
    min_m, max_m : float, default 300 and 450
        Bounds of each cut, metres; ``0 < min_m <= max_m``.

    Returns
    -------
    shapely.LineString or None
        The middle of the route, WGS84; None when the route is too short to keep more than
        :data:`MIN_KEPT_M` metres once both cuts are made (e.g. any route up to
        ``2 * min_m + MIN_KEPT_M``, 700 m with the defaults), because a stub would point at
        the removed ends while showing nothing.

    Raises
    ------
    InvalidRoute
        As :func:`route_length_m`.
    ValueError
        If ``min_m``/``max_m`` are not finite with ``0 < min_m <= max_m``.
    TypeError
        If ``seed`` is not an int or str.

    Examples
    --------
    >>> route = LineString([(-0.1136, 51.5033), (-0.1136, 51.5160)])  # about 1.4 km
    >>> trimmed = trim_route_ends(route, seed="walk-42")
    >>> trimmed == trim_route_ends(route, seed="walk-42")
    True
    >>> 500 < route_length_m(route) - route_length_m(trimmed) < 900
    True

    """
    if isinstance(seed, bool) or not isinstance(seed, int | str):
        raise TypeError(f"seed must be an int or str (e.g. the walk id), not {type(seed).__name__}")
    if not (math.isfinite(min_m) and math.isfinite(max_m) and 0 < min_m <= max_m):
        raise ValueError(
            f"cut lengths must satisfy 0 < min_m <= max_m (finite metres); got "
            f"min_m={min_m!r}, max_m={max_m!r}"
        )
    route = clean_route(line)
    cut_start, cut_end = _cut_lengths(seed, min_m, max_m)
    return _trim(_on_grid(route), cut_start, cut_end)


def segments(
    line: Mapping[str, Any] | shapely.Geometry, *, every_m: float = 100.0
) -> list[LineString]:
    """Cut a route into consecutive pieces of ``every_m`` metres along the line.

    Parameters
    ----------
    line : Mapping or shapely geometry
        Anything :func:`clean_route` accepts.
    every_m : float, default 100
        Piece length in metres (British National Grid).

    Returns
    -------
    list of shapely.LineString
        The pieces in walking order, WGS84, each ``every_m`` long except the last, which is
        shorter unless the length is a multiple of ``every_m`` (to within a millimetre). Each
        piece starts where the one before ended.

    Raises
    ------
    InvalidRoute
        As :func:`route_length_m`.
    ValueError
        If ``every_m`` is not a positive finite number, or would cut the route into more than
        100,000 pieces.

    Examples
    --------
    >>> pieces = segments(LineString([(-0.1136, 51.5033), (-0.1136, 51.5073)]))  # 445 m
    >>> [round(route_length_m(piece)) for piece in pieces]
    [100, 100, 100, 100, 45]

    """
    route = clean_route(line)
    measured = _on_grid(route)
    return _pieces(measured, _breakpoints(measured.length, every_m))


def darkness_along(
    line: Mapping[str, Any] | shapely.Geometry,
    start: datetime,
    end: datetime,
    *,
    every_m: float = 100.0,
) -> tuple[float, BoolArray]:
    """How much of a walk was in the dark, assuming a steady pace from ``start`` to ``end``.

    The route is cut as by :func:`segments`; each piece is dark when the sun, at the piece's
    midpoint and the time the walkers passed it, is below :data:`geo.darkness.DARK_BELOW_DEGREES`
    (the end of civil twilight, geometric elevation).

    Parameters
    ----------
    line : Mapping or shapely geometry
        Anything :func:`clean_route` accepts.
    start, end : datetime
        Time-zone-aware start and end of the walk (pandas Timestamps too); ``end > start``.
    every_m : float, default 100
        Piece length in metres.

    Returns
    -------
    share : float
        Share of the route's length walked in the dark, 0 to 1.
    dark : ndarray of bool
        One flag per piece, in walking order.

    Raises
    ------
    InvalidRoute
        As :func:`route_length_m`.
    ValueError
        If a time is naive or not a datetime, ``end`` is not after ``start``, or ``every_m``
        is as refused by :func:`segments`.

    Examples
    --------
    >>> from datetime import UTC, datetime
    >>> route = LineString([(-0.1136, 51.5033), (-0.1136, 51.5073)])  # 445 m, 5 pieces
    >>> darkness_along(route, datetime(2026, 12, 21, 18, tzinfo=UTC),
    ...                datetime(2026, 12, 21, 18, 6, tzinfo=UTC))
    (1.0, array([ True,  True,  True,  True,  True]))

    """
    start_ns = _utc_ns(start, "start")
    end_ns = _utc_ns(end, "end")
    if end_ns <= start_ns:
        raise ValueError(f"the walk must end after it starts; got start {start} and end {end}")
    measured = _on_grid(clean_route(line))
    length = measured.length
    breaks = _breakpoints(length, every_m)
    middles = (breaks[:-1] + breaks[1:]) / 2.0
    lon, lat = _points_at(measured, middles).T
    # Steady pace: the time at a place is proportional to the distance walked to reach it.
    elapsed_ns = np.rint((end_ns - start_ns) * (middles / length)).astype(np.int64)
    when = np.datetime64(start_ns, "ns") + elapsed_ns.astype("m8[ns]")
    dark: BoolArray = solar_elevation(lon, lat, when) < DARK_BELOW_DEGREES
    share = float(np.diff(breaks)[dark].sum() / length)
    return share, dark


# --- internals ---------------------------------------------------------------------------


def _parts_of(geometry: object) -> list[FloatArray]:
    """The line parts of a geometry as (n, 2) float arrays, or InvalidRoute for non-lines."""
    if isinstance(geometry, shapely.Geometry):
        return _shapely_parts(geometry)
    if isinstance(geometry, Mapping):
        return _geojson_parts(geometry)
    raise InvalidRoute(
        f"a route must be a GeoJSON geometry or Feature (an object) or a Shapely line, not "
        f"{type(geometry).__name__}"
    )


def _point_count(geometry: object) -> int:
    """How many points a route holds, as sent; 0 for what is not a line (refused later)."""
    if isinstance(geometry, shapely.Geometry):
        return int(shapely.get_num_coordinates(geometry))
    if not isinstance(geometry, Mapping):
        return 0
    if geometry.get("type") == "Feature":
        return _point_count(geometry.get("geometry"))
    coordinates = geometry.get("coordinates")
    if not isinstance(coordinates, Sequence) or isinstance(coordinates, str):
        return 0
    if geometry.get("type") == "MultiLineString":
        return sum(
            len(part)
            for part in coordinates
            if isinstance(part, Sequence) and not isinstance(part, str)
        )
    return len(coordinates)


def _not_a_line(kind: object) -> InvalidRoute:
    return InvalidRoute(
        "a route must be a LineString (or a MultiLineString whose parts join end to end), "
        f"not {_a_or_an(str(kind))}; draw or upload the path that was walked"
    )


def _a_or_an(kind: str) -> str:
    return f"an {kind}" if kind[:1].lower() in "aeiou" else f"a {kind}"


def _shapely_parts(geometry: shapely.Geometry) -> list[FloatArray]:
    kind = geometry.geom_type
    if kind == "LineString":
        lines = [geometry]
    elif kind == "MultiLineString":
        lines = list(geometry.geoms)
    else:
        raise _not_a_line(kind)
    # get_coordinates keeps x and y only: Z and M go here.
    return [np.asarray(shapely.get_coordinates(part), dtype=float) for part in lines]


def _geojson_parts(obj: Mapping[str, Any]) -> list[FloatArray]:
    kind = obj.get("type")
    if kind == "Feature":
        inner = obj.get("geometry")
        if not isinstance(inner, Mapping):
            raise InvalidRoute(
                "the Feature has no geometry; put the route's LineString in its 'geometry'"
            )
        return _geojson_parts(inner)
    if kind == "FeatureCollection":
        raise InvalidRoute(
            "a route must be one line, not a FeatureCollection; send one Feature or geometry "
            "per walk"
        )
    if kind not in ("LineString", "MultiLineString"):
        raise _not_a_line(kind if isinstance(kind, str) else f"object with type {kind!r}")
    coordinates = obj.get("coordinates")
    if not isinstance(coordinates, Sequence) or isinstance(coordinates, str):
        raise InvalidRoute(
            f"the {kind}'s 'coordinates' must be an array of [longitude, latitude] positions, "
            f"not {type(coordinates).__name__}"
        )
    if kind == "LineString":
        return [_positions(coordinates, part_number=None)]
    if not coordinates:
        return [np.empty((0, 2))]
    return [_positions(part, part_number=i) for i, part in enumerate(coordinates)]


def _positions(positions: object, *, part_number: int | None) -> FloatArray:
    """GeoJSON positions as an (n, 2) array, checking each is an array of numbers."""
    where = "" if part_number is None else f" of part {part_number}"
    if not isinstance(positions, Sequence) or isinstance(positions, str):
        raise InvalidRoute(
            f"part {part_number} must be an array of [longitude, latitude] positions, "
            f"not {type(positions).__name__}"
        )
    out = np.empty((len(positions), 2), dtype=float)
    for i, position in enumerate(positions):
        at = f"vertex {i}{where} (counting from 0)"
        if not isinstance(position, Sequence) or isinstance(position, str) or len(position) < 2:
            raise InvalidRoute(f"{at} is {position!r}; each position must be [longitude, latitude]")
        for axis, value in zip(("longitude", "latitude"), position[:2], strict=True):
            if isinstance(value, bool) or not isinstance(value, numbers.Real):
                raise InvalidRoute(f"{at}: {axis} {value!r} is not a number; give degrees")
        # Anything after longitude and latitude is height or a measure: not used, dropped.
        out[i] = (float(position[0]), float(position[1]))
    return out


def _check_vertices(coords: FloatArray, *, part_number: int | None) -> None:
    """Refuse the first vertex that is not a finite WGS84 position, naming it and its value."""
    lon, lat = coords[:, 0], coords[:, 1]
    with np.errstate(invalid="ignore"):
        ok = (np.abs(lon) <= 180.0) & (np.abs(lat) <= 90.0)  # False for NaN too
    if ok.all():
        return
    i = int(np.flatnonzero(~ok)[0])
    where = "" if part_number is None else f" of part {part_number}"
    try:
        check_lon_lat(lon[i], lat[i])
    except InvalidCoordinates as exc:
        raise InvalidRoute(
            f"vertex {i}{where} (counting from 0): {exc}; fix or remove that vertex "
            "(positions are [longitude, latitude])"
        ) from None
    raise AssertionError("unreachable: the mask and check_lon_lat disagree")  # pragma: no cover


def _join_parts(parts: list[FloatArray]) -> FloatArray:
    """One coordinate array from parts that join end to end, in their given order."""
    for number, part in enumerate(parts):
        if len(parts) > 1 and len(part) < 2:
            raise InvalidRoute(
                f"part {number} of the MultiLineString has {len(part)} position(s); each part "
                "needs at least two"
            )
    for number in range(1, len(parts)):
        (lon1, lat1), (lon2, lat2) = parts[number - 1][-1], parts[number][0]
        gap = float(_GEOD.inv(lon1, lat1, lon2, lat2)[2])
        if gap > MULTILINE_JOIN_TOLERANCE_M:
            raise InvalidRoute(
                f"part {number} of the MultiLineString starts {gap:,.0f} m from where part "
                f"{number - 1} ends; a route's parts must join end to end (within "
                f"{MULTILINE_JOIN_TOLERANCE_M:g} m) -- send each separate walk on its own, or "
                "join the parts in walking order"
            )
    return np.concatenate(parts) if parts else np.empty((0, 2))


def _line_from(coords: FloatArray) -> LineString:
    if len(coords) == 0:
        raise InvalidRoute(
            "the route is empty (no coordinates); draw or upload a line of at least two points"
        )
    # A phone standing still logs the same point again and again: keep the first of each run.
    keep = np.ones(len(coords), dtype=bool)
    keep[1:] = np.any(coords[1:] != coords[:-1], axis=1)
    coords = coords[keep]
    if len(coords) < 2:
        raise InvalidRoute(
            "the route has fewer than two distinct points; a route needs at least a start and "
            "a different end"
        )
    return LineString(coords)


@dataclass(frozen=True)
class _GridRoute:
    """A clean route with its vertices on the British National Grid and distances along it."""

    wgs84: FloatArray  # (n, 2) longitude, latitude: the route's own vertices
    grid: FloatArray  # (n, 2) easting, northing
    along: FloatArray  # (n,) metres from the start to each vertex; along[0] == 0

    @property
    def length(self) -> float:
        return float(self.along[-1])


def _on_grid(route: LineString) -> _GridRoute:
    """The route measured on the British National Grid, refusing vertices outside its area."""
    wgs84 = shapely.get_coordinates(route)
    lon, lat = wgs84[:, 0], wgs84[:, 1]
    outside = (
        (lon < _BNG_LON_RANGE[0])
        | (lon > _BNG_LON_RANGE[1])
        | (lat < _BNG_LAT_RANGE[0])
        | (lat > _BNG_LAT_RANGE[1])
    )
    if outside.any():
        i = int(np.flatnonzero(outside)[0])
        raise InvalidRoute(
            f"vertex {i} (counting from 0) at longitude {lon[i]}, latitude {lat[i]} is outside "
            "Great Britain, where routes are measured on the British National Grid; check "
            "that longitude comes before latitude"
        )
    grid = np.column_stack(to_grid().transform(lon, lat))
    along = np.concatenate([[0.0], np.cumsum(np.hypot(*np.diff(grid, axis=0).T))])
    return _GridRoute(wgs84=wgs84, grid=grid, along=along)


def _points_at(route: _GridRoute, distances: FloatArray) -> FloatArray:
    """WGS84 points at distances along the route (metres, 0 to length), as an (m, 2) array.

    Points are placed on the grid, as shapely's ``line_interpolate_point`` would, and only
    they are transformed back; a distance that falls on a vertex (always the route's own
    ends) gives that vertex exactly, because a WGS84 -> grid -> WGS84 round trip moves a
    point by about a millimetre and a route's ends and vertices should not drift.
    """
    x = np.interp(distances, route.along, route.grid[:, 0])
    y = np.interp(distances, route.along, route.grid[:, 1])
    points = np.column_stack(to_wgs84().transform(x, y))
    vertex = np.minimum(np.searchsorted(route.along, distances), len(route.along) - 1)
    on_vertex = route.along[vertex] == distances
    points[on_vertex] = route.wgs84[vertex[on_vertex]]
    return points


def _pieces(route: _GridRoute, breaks: FloatArray) -> list[LineString]:
    """The WGS84 pieces of the route between consecutive distances in ``breaks``.

    Shapely's ``substring`` done on the grid, keeping the route's own vertices in between
    exactly (see :func:`_points_at`).
    """
    cuts = _points_at(route, breaks)
    first_inside = np.searchsorted(route.along, breaks[:-1], side="right")
    past_inside = np.searchsorted(route.along, breaks[1:], side="left")
    return [
        LineString(np.vstack([cuts[i], route.wgs84[first_inside[i] : past_inside[i]], cuts[i + 1]]))
        for i in range(len(breaks) - 1)
    ]


def _cut_lengths(seed: int | str, min_m: float, max_m: float) -> tuple[float, float]:
    # Python's hash() of a str changes with every process; SHA-256 of the text is stable
    # across processes, machines and releases, so an export made twice trims alike.
    digest = hashlib.sha256(str(seed).encode("utf-8")).digest()
    rng = np.random.default_rng(int.from_bytes(digest, "big"))
    first, last = rng.uniform(min_m, max_m, size=2)
    return float(first), float(last)


def _trim(route: _GridRoute, cut_start: float, cut_end: float) -> LineString | None:
    if route.length - cut_start - cut_end <= MIN_KEPT_M:
        return None
    return _pieces(route, np.array([cut_start, route.length - cut_end]))[0]


def _breakpoints(length: float, every_m: float) -> FloatArray:
    """Distances along the line where pieces start and end: 0, every_m, 2 every_m, ..., length."""
    if not (isinstance(every_m, numbers.Real) and math.isfinite(every_m) and every_m > 0):
        raise ValueError(f"every_m must be a positive number of metres, not {every_m!r}")
    if length / every_m > _MAX_SEGMENTS:
        raise ValueError(
            f"every_m={every_m:g} would cut a {length:,.0f} m route into more than "
            f"{_MAX_SEGMENTS:,} pieces; use a longer step"
        )
    inner = np.arange(every_m, length - _DUST_M, every_m)
    return np.concatenate([[0.0], inner, [length]])


def _utc_ns(when: object, label: str) -> int:
    if not isinstance(when, datetime):
        raise ValueError(f"{label} must be a datetime, not {type(when).__name__}")
    if when.tzinfo is None or when.utcoffset() is None:
        raise ValueError(
            f"{label} {when} has no time zone; give an aware datetime (UTC or Europe/London)"
        )
    utc = when.astimezone(UTC).replace(tzinfo=None)
    return int(np.datetime64(utc, "ns").astype(np.int64))
