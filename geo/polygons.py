"""Checking and repairing area geometries (wards, boroughs) with vectorised Shapely 2.

The store keeps every area as a valid 2-D MultiPolygon, so that PostGIS
predicates behave and one column type fits single- and multi-part areas alike.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import shapely
from numpy.typing import NDArray

__all__ = ["missing_or_empty", "not_polygonal", "repair_polygons"]

_POLYGONAL = ("Polygon", "MultiPolygon")
_POLYGON_TYPE_ID = 3
_MULTI_OR_COLLECTION_TYPE_IDS = (4, 5, 6, 7)


def missing_or_empty(geoms: gpd.GeoSeries) -> NDArray[np.bool_]:
    """Flag geometries that are missing (None) or empty.

    Parameters
    ----------
    geoms : GeoSeries
        Any geometries.

    Returns
    -------
    ndarray of bool
        True where the geometry is None or empty, in row order.

    Examples
    --------
    >>> from shapely import Point, Polygon
    >>> missing_or_empty(gpd.GeoSeries([None, Polygon(), Point(0, 0)])).tolist()
    [True, True, False]

    """
    values = np.asarray(geoms.array, dtype=object)
    return np.asarray(shapely.is_missing(values) | shapely.is_empty(values), dtype=bool)


def not_polygonal(geoms: gpd.GeoSeries) -> NDArray[np.bool_]:
    """Flag present geometries that are neither Polygon nor MultiPolygon.

    Missing geometries are not flagged here (see :func:`missing_or_empty`); an
    empty point is flagged, an empty polygon is not. A GeometryCollection is
    flagged even when all its members are polygons, because a boundary file
    that holds collections has usually mixed in lines or points.

    Parameters
    ----------
    geoms : GeoSeries
        Any geometries.

    Returns
    -------
    ndarray of bool
        True where the geometry exists but is not polygonal, in row order.

    Examples
    --------
    >>> from shapely import LineString, Polygon
    >>> line = LineString([(0, 0), (1, 1)])
    >>> not_polygonal(gpd.GeoSeries([None, line, Polygon([(0, 0), (1, 0), (0, 1)])])).tolist()
    [False, True, False]

    """
    values = np.asarray(geoms.array, dtype=object)
    present = ~shapely.is_missing(values)
    polygonal = np.isin(geoms.geom_type.to_numpy(dtype=object), _POLYGONAL)
    return np.asarray(present & ~polygonal, dtype=bool)


def repair_polygons(geoms: gpd.GeoSeries) -> tuple[gpd.GeoSeries, NDArray[np.bool_]]:
    """Make polygons valid, 2-D and MultiPolygon, and say which ones needed repair.

    Invalid polygons (self-intersections, bow-ties, overlapping parts) are
    rebuilt with :func:`shapely.make_valid` using the ``structure`` method,
    which unions overlapping shells instead of turning the overlaps into holes,
    the better reading of a boundary drawn twice over. Only the polygonal parts
    of a repair are kept: the lines and points left by collapsed slivers are
    not area. Z values are dropped from every geometry, repaired or not.

    Parameters
    ----------
    geoms : GeoSeries
        Polygon or MultiPolygon geometries, none missing. Empty ones are
        allowed and come back as empty MultiPolygons.

    Returns
    -------
    repaired_geoms : GeoSeries
        Valid 2-D MultiPolygons, same index and CRS as ``geoms``. A polygon that
        collapses to nothing (e.g. zero area) comes back as an empty
        MultiPolygon: callers that need area should check ``is_empty``.
    was_repaired : ndarray of bool
        True for rows that were invalid and so were rebuilt.

    Raises
    ------
    ValueError
        If any geometry is missing or not polygonal; the message gives the row
        positions. Check first with :func:`missing_or_empty` and
        :func:`not_polygonal`.

    Examples
    --------
    >>> from shapely import Polygon
    >>> bow_tie = Polygon([(0, 0), (2, 2), (2, 0), (0, 2)])
    >>> fixed, was_repaired = repair_polygons(gpd.GeoSeries([bow_tie]))
    >>> fixed.geom_type.tolist(), was_repaired.tolist(), fixed.area.tolist()
    (['MultiPolygon'], [True], [2.0])

    """
    values = np.asarray(geoms.array, dtype=object)
    missing = shapely.is_missing(values)
    wrong_type = not_polygonal(geoms)
    if missing.any() or wrong_type.any():
        bad = np.flatnonzero(missing | wrong_type).tolist()
        raise ValueError(
            f"repair_polygons needs Polygon or MultiPolygon geometries; rows {bad} are "
            "missing or of another type (find them with missing_or_empty / not_polygonal)"
        )

    # Validity is judged in 2-D: GEOS ignores Z for it, and Z is dropped anyway.
    flat = shapely.force_2d(values)
    was_repaired = np.asarray(~shapely.is_valid(flat), dtype=bool)
    if was_repaired.any():
        flat[was_repaired] = shapely.make_valid(
            flat[was_repaired], method="structure", keep_collapsed=False
        )
    result = _as_multipolygons(flat)
    return gpd.GeoSeries(result, index=geoms.index, crs=geoms.crs), was_repaired


def _as_multipolygons(values: NDArray[np.object_]) -> NDArray[np.object_]:
    """Collect the non-empty polygon parts of each row into one MultiPolygon per row."""
    parts, rows = shapely.get_parts(values, return_index=True)
    # get_parts opens one level at a time; a repair can nest a MultiPolygon in a collection.
    while np.isin(shapely.get_type_id(parts), _MULTI_OR_COLLECTION_TYPE_IDS).any():
        parts, inner = shapely.get_parts(parts, return_index=True)
        rows = rows[inner]
    keep = (shapely.get_type_id(parts) == _POLYGON_TYPE_ID) & ~shapely.is_empty(parts)
    out = np.full(len(values), shapely.MultiPolygon(), dtype=object)
    if keep.any():
        shapely.multipolygons(parts[keep], indices=rows[keep], out=out)
    return out
