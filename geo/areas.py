"""Checking an area a caller uploads (a funding-bid area, a patrol zone) before counting in it.

An uploaded area is a second way, beside wards and hexagons, of asking how many reports lie
somewhere; so it gets the same care as any unit a count is shown for. It must be a real polygon
in London: GeoJSON, longitude first, finite coordinates, not so detailed that checking it is
costly, not so small that it isolates a few streets (and so the few women who report there),
not so large that it is no longer about a place.

Outlines that cross themselves are **repaired, not refused**: a boundary drawn in a GIS or on a
web map often has a small self-intersection where the line was closed, and refusing it sends
the user off to a tool they may not have. The repair is ``geo.polygons.repair_polygons``
(overlapping shells unioned, slivers dropped); the answer says it was repaired and carries the
repaired outline, so the user sees exactly what was counted. Everything else that is wrong is
refused with a message that says how to fix it.

Pure Shapely and pyproj: the parts that need the wards (how much of the area lies in the service
area and in the caller's scope) are measured in PostGIS by the caller and judged here by
:func:`check_coverage`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import shapely
from shapely.geometry import MultiPolygon, Polygon

from geo.polygons import repair_polygons

__all__ = [
    "DEFAULT_LIMITS",
    "AreaLimits",
    "CheckedArea",
    "InvalidArea",
    "check_coverage",
    "parse_area",
]

#: Where positions must lie for an area of this service: the British National Grid's area of
#: use (EPSG:27700), with a little margin. Areas are measured on that grid.
GB_BOUNDS = (-9.2, 49.7, 2.2, 61.1)

# A share of an area smaller than this (km²) inside the scope is only a shared edge.
_EDGE_KM2 = 1e-6


class InvalidArea(ValueError):
    """An uploaded area that cannot be counted in; the message says why and how to fix it."""


@dataclass(frozen=True)
class AreaLimits:
    """How detailed, small and large an uploaded area may be.

    Attributes
    ----------
    max_vertices : int
        Most positions (all rings together) an area may have.
    min_km2 : float
        Smallest area, and smallest part of it inside the caller's scope, in km². A 0.05 km²
        area is a block of a few streets; smaller ones could single out the people reporting.
    max_km2 : float
        Largest area in km² (Lambeth and Southwark together are about 56 km²).
    min_inside_share : float
        Least share of the area that must lie within the service area's wards.

    """

    max_vertices: int = 10_000
    min_km2: float = 0.05
    max_km2: float = 100.0
    min_inside_share: float = 0.5


DEFAULT_LIMITS = AreaLimits()


@dataclass(frozen=True)
class CheckedArea:
    """An uploaded area ready to count in.

    Attributes
    ----------
    geometry : MultiPolygon
        Valid, 2-D, WGS84 (longitude, latitude).
    area_km2 : float
        Its area on the British National Grid.
    repaired : bool
        Whether the outline was invalid and was rebuilt.
    warnings : tuple of str
        What was changed (repair, heights dropped), in words for the caller.

    """

    geometry: MultiPolygon
    area_km2: float
    repaired: bool
    warnings: tuple[str, ...]


def parse_area(obj: Any, limits: AreaLimits = DEFAULT_LIMITS) -> CheckedArea:
    """Check a GeoJSON Polygon, MultiPolygon or Feature of one, and return it as a valid area.

    Parameters
    ----------
    obj : Any
        The parsed JSON body: a geometry object or a Feature whose geometry is one.
    limits : AreaLimits
        Vertex and size limits.

    Returns
    -------
    CheckedArea

    Raises
    ------
    InvalidArea
        Not a polygon (points, lines, collections, FeatureCollections), empty, a position that
        is not two finite numbers in range, an unclosed or too short ring, too many vertices,
        outside Great Britain (including the latitude-first mistake), collapsing to nothing
        when repaired, smaller than ``limits.min_km2`` or larger than ``limits.max_km2``.

    Examples
    --------
    >>> square = {"type": "Polygon", "coordinates": [[
    ...     [-0.115, 51.500], [-0.105, 51.500], [-0.105, 51.505], [-0.115, 51.505],
    ...     [-0.115, 51.500]]]}
    >>> area = parse_area(square)
    >>> round(area.area_km2, 3), area.repaired
    (0.386, False)
    >>> try:
    ...     parse_area({"type": "Point", "coordinates": [-0.11, 51.5]})
    ... except InvalidArea as exc:
    ...     print(exc)
    a Point is not an area: send a GeoJSON Polygon or MultiPolygon (or a Feature of one)

    """
    geometry = _geometry_object(obj)
    polygons, had_z = _polygons(geometry, limits)
    _check_in_great_britain(polygons)
    shape: Polygon | MultiPolygon = polygons[0] if len(polygons) == 1 else MultiPolygon(polygons)
    warnings: list[str] = []
    if had_z:
        warnings.append("heights (a third coordinate) were dropped: areas are 2-D")
    repaired = not shape.is_valid
    reason = shapely.is_valid_reason(shape) if repaired else ""
    fixed, _ = repair_polygons(gpd.GeoSeries([shape], crs=4326))
    multi = fixed.iloc[0]
    if multi.is_empty:
        raise InvalidArea(
            "the area has no inside once its outline is made valid (it crosses itself so that "
            "nothing is enclosed, or it has no width): draw it again as one closed outline"
        )
    if repaired:
        warnings.append(
            f"the outline was not valid ({reason}); it was repaired (crossing or overlapping "
            "parts rebuilt as plain polygons): check the repaired outline in this answer"
        )
    area_km2 = float(fixed.to_crs(27700).area.iloc[0]) / 1e6
    if area_km2 < limits.min_km2:
        raise InvalidArea(
            f"the area is {_km2(area_km2)} km², smaller than the {limits.min_km2:g} km² minimum: "
            "counts for a few streets could single out the people who report there; draw a "
            "larger area"
        )
    if area_km2 > limits.max_km2:
        raise InvalidArea(
            f"the area is {_km2(area_km2)} km², larger than the {limits.max_km2:g} km² maximum: "
            "ask for a borough's wards (GET /wards/summary?borough=...) or split the area"
        )
    return CheckedArea(
        geometry=multi, area_km2=area_km2, repaired=repaired, warnings=tuple(warnings)
    )


def check_coverage(
    area: CheckedArea,
    *,
    service_km2: float,
    scope_km2: float,
    scope: Sequence[str],
    limits: AreaLimits = DEFAULT_LIMITS,
) -> tuple[str, ...]:
    """Judge how much of an area lies in the service area and in the caller's scope.

    Only reports inside the caller's scope are counted, so the part of the area inside it is
    what the count is for: it must not be tiny either, or a large area that touches the scope
    along one street would count that street alone.

    Parameters
    ----------
    area : CheckedArea
        From :func:`parse_area`.
    service_km2 : float
        km² of the area inside the active ward set's wards.
    scope_km2 : float
        km² of the area inside the wards of the caller's boroughs.
    scope : sequence of str
        The caller's borough codes, for the messages.
    limits : AreaLimits
        The minimum area and inside share.

    Returns
    -------
    tuple of str
        Warnings for the answer (part of the area outside the scope).

    Raises
    ------
    InvalidArea
        Mostly outside the service area, entirely outside the scope, or with less than the
        minimum area inside the scope.

    Examples
    --------
    >>> square = {"type": "Polygon", "coordinates": [[
    ...     [-0.115, 51.500], [-0.105, 51.500], [-0.105, 51.505], [-0.115, 51.505],
    ...     [-0.115, 51.500]]]}
    >>> area = parse_area(square)
    >>> check_coverage(area, service_km2=area.area_km2, scope_km2=area.area_km2,
    ...                scope=["E09000022"])
    ()

    """
    boroughs = ", ".join(scope)
    inside = service_km2 / area.area_km2
    if inside < limits.min_inside_share:
        raise InvalidArea(
            f"only {inside:.0%} of the area lies within the service area's wards (at least "
            f"{limits.min_inside_share:.0%} must): this service counts reports in the active "
            "wards only (see GET /wards); draw the area over them"
        )
    if scope_km2 <= _EDGE_KM2:
        raise InvalidArea(
            f"the area lies entirely outside the wards of your scope (boroughs {boroughs}): "
            "draw it over those wards, or ask for the borough it is in (borough=E09…)"
        )
    if scope_km2 < limits.min_km2:
        raise InvalidArea(
            f"only {_km2(scope_km2)} km² of the area lies inside your scope (boroughs "
            f"{boroughs}), under the {limits.min_km2:g} km² minimum: reports are counted only "
            "there, and so small a part could single out the people who report there"
        )
    share = scope_km2 / area.area_km2
    if share < 1 - 1e-3:
        return (
            f"{1 - share:.0%} of the area lies outside your scope (boroughs {boroughs}): only "
            f"reports inside it are counted, and the rate is per km² of the {scope_km2:.2f} km² "
            "inside it",
        )
    return ()


def _km2(value: float) -> str:
    """An area for a message, precise enough to compare with the limits."""
    if value >= 100:
        return f"{value:,.0f}"
    return f"{value:.2f}" if value >= 1 else f"{value:.3f}"


def _geometry_object(obj: Any) -> dict[str, Any]:
    if not isinstance(obj, dict):
        raise InvalidArea(
            "the body must be a GeoJSON object: a Polygon, a MultiPolygon or a Feature of one"
        )
    kind = obj.get("type")
    if kind == "Feature":
        geometry = obj.get("geometry")
        if geometry is None:
            raise InvalidArea("the Feature has no geometry: give it the area's Polygon")
        if not isinstance(geometry, dict):
            raise InvalidArea("the Feature's geometry must be a GeoJSON geometry object")
        obj, kind = geometry, geometry.get("type")
    if kind == "FeatureCollection":
        raise InvalidArea(
            "a FeatureCollection holds many features: send the one area as a Polygon, "
            "MultiPolygon or a single Feature (e.g. the collection's first feature)"
        )
    if kind == "GeometryCollection":
        raise InvalidArea(
            "a GeometryCollection is not an area: send its polygons as one MultiPolygon"
        )
    if kind is None:
        raise InvalidArea(
            "the object has no GeoJSON type: send a Polygon or MultiPolygon (or a Feature of "
            'one), e.g. {"type": "Polygon", "coordinates": [[[lon, lat], ...]]}'
        )
    if kind not in ("Polygon", "MultiPolygon"):
        raise InvalidArea(
            f"a {kind} is not an area: send a GeoJSON Polygon or MultiPolygon (or a Feature of one)"
        )
    return obj


def _polygons(geometry: dict[str, Any], limits: AreaLimits) -> tuple[list[Polygon], bool]:
    """Shapely polygons from GeoJSON coordinates, checked position by position."""
    coordinates = geometry.get("coordinates")
    if not _is_list(coordinates):
        raise InvalidArea(f"the {geometry['type']} has no coordinates list")
    if not coordinates:
        raise InvalidArea(f"the {geometry['type']} is empty: it has no coordinates")
    nested = [coordinates] if geometry["type"] == "Polygon" else coordinates
    counter = _VertexCounter(limits.max_vertices)
    had_z = False
    polygons = []
    for p, rings in enumerate(nested):
        where = f"polygon {p}, " if geometry["type"] == "MultiPolygon" else ""
        if not _is_list(rings) or not rings:
            raise InvalidArea(f"{where or 'the polygon '}has no rings: the area is empty")
        checked = []
        for r, ring in enumerate(rings):
            positions, z = _ring(ring, f"{where}ring {r}", counter)
            had_z = had_z or z
            checked.append(positions)
        polygons.append(Polygon(checked[0], checked[1:]))
    return polygons, had_z


def _is_list(value: Any) -> bool:
    # JSON gives lists; Shapely's ``mapping`` gives tuples. Both are accepted.
    return isinstance(value, list | tuple)


class _VertexCounter:
    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.count = 0

    def add(self, n: int) -> None:
        self.count += n
        if self.count > self.limit:
            raise InvalidArea(
                f"the area has more than {self.limit:,} vertices: simplify it first (e.g. "
                "QGIS Vector > Geometry Tools > Simplify with a 1 m tolerance, or mapshaper)"
            )


def _ring(ring: Any, where: str, counter: _VertexCounter) -> tuple[list[tuple[float, float]], bool]:
    if not _is_list(ring):
        raise InvalidArea(f"{where} must be a list of [longitude, latitude] positions")
    counter.add(len(ring))
    positions = []
    had_z = False
    for i, position in enumerate(ring):
        lon, lat, z = _position(position, f"{where}, position {i}")
        had_z = had_z or z
        positions.append((lon, lat))
    if len(positions) < 4:
        raise InvalidArea(
            f"{where} has {len(positions)} position(s): a ring needs at least 4, the last "
            "repeating the first"
        )
    if positions[0] != positions[-1]:
        raise InvalidArea(
            f"{where} is not closed: its last position must repeat its first "
            f"({list(positions[0])}); a truncated file often looks like this"
        )
    return positions, had_z


def _position(position: Any, where: str) -> tuple[float, float, bool]:
    if not _is_list(position) or not 2 <= len(position) <= 3:
        raise InvalidArea(f"{where} must be [longitude, latitude], not {str(position)[:60]}")
    values = []
    for label, value in zip(("longitude", "latitude", "height"), position, strict=False):
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise InvalidArea(f"{where}: {label} {value!r} is not a number")
        if not math.isfinite(value):
            raise InvalidArea(f"{where}: {label} {value} is not a finite number")
        values.append(float(value))
    lon, lat = values[0], values[1]
    if not -180 <= lon <= 180:
        raise InvalidArea(f"{where}: longitude {lon} is outside [-180, 180]")
    if not -90 <= lat <= 90:
        raise InvalidArea(
            f"{where}: latitude {lat} is outside [-90, 90]"
            + (
                "; positions are [longitude, latitude] in GeoJSON — were they swapped?"
                if -90 <= lon <= 90
                else ""
            )
        )
    return lon, lat, len(values) == 3


def _check_in_great_britain(polygons: list[Polygon]) -> None:
    min_x, min_y, max_x, max_y = MultiPolygon(polygons).bounds
    west, south, east, north = GB_BOUNDS

    def inside(x0: float, y0: float, x1: float, y1: float) -> bool:
        return west <= x0 and x1 <= east and south <= y0 and y1 <= north

    if inside(min_x, min_y, max_x, max_y):
        return
    if inside(min_y, min_x, max_y, max_x):
        raise InvalidArea(
            "the area's positions look like [latitude, longitude]: GeoJSON gives longitude "
            "first, e.g. [-0.1136, 51.5033] for Waterloo; swap each pair"
        )
    raise InvalidArea(
        f"the area (longitudes {min_x:g} to {max_x:g}, latitudes {min_y:g} to {max_y:g}) lies "
        "outside Great Britain: this service counts reports in London wards, in WGS84 "
        "longitude and latitude (EPSG:4326)"
    )
