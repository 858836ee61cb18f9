"""OpenStreetMap extracts (``.osm`` XML or ``.osm.pbf``) read into the base map's features.

Read with pyosmium, which reads both formats and assembles multipolygons, rather than by hand:
the base map needs streets and paths (with their ``lit`` tag, the one piece of OSM that says
whether a way is lit), parks and water, and ``highway=street_lamp`` nodes.

Pure: a file in, a GeoDataFrame (EPSG:4326) out; no database.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import osmium
import osmium.filter
import shapely
from osmium.geom import WKBFactory

__all__ = ["FEATURE_COLUMNS", "OsmFileError", "read_osm_features"]

FEATURE_COLUMNS = ("osm_type", "osm_id", "kind", "name", "highway", "lit")
#: ``highway=*`` values drawn as paths (thin, dashed) rather than streets.
PATHS = frozenset({"footway", "path", "steps", "pedestrian", "cycleway", "bridleway", "track"})
#: Tags whose areas are drawn as green space.
PARKS = {
    "leisure": {"park", "garden", "common", "nature_reserve", "playground"},
    "landuse": {"grass", "recreation_ground", "village_green", "cemetery"},
}
# Areas that are not themselves ways of the network: a pedestrian square is drawn as a street.
_WATER = {"natural": {"water"}, "waterway": {"riverbank"}, "landuse": {"reservoir", "basin"}}


_AREA_KEYS = tuple(sorted({*PARKS, *_WATER}))


class OsmFileError(ValueError):
    """An OpenStreetMap file that cannot be read; the message names the file and why."""


def _matches(tags: osmium.osm.TagList, table: dict[str, set[str]]) -> bool:
    return any(tags.get(key) in values for key, values in table.items())


def _kind_of_area(tags: osmium.osm.TagList) -> str | None:
    if _matches(tags, PARKS):
        return "park"
    if _matches(tags, _WATER):
        return "water"
    return None


def _feature(obj: object, factory: WKBFactory) -> tuple[str, str, bytes] | None:
    """(kind, OSM type, WKB) of a base-map feature, or None for anything else."""
    try:
        if isinstance(obj, osmium.osm.Node) and obj.tags.get("highway") == "street_lamp":
            return "lamp", "n", _bytes(factory.create_point(obj))
        if isinstance(obj, osmium.osm.Way) and "highway" in obj.tags:
            if obj.tags.get("area") == "yes":
                return None
            kind = "path" if obj.tags.get("highway") in PATHS else "street"
            return kind, "w", _bytes(factory.create_linestring(obj))
        if isinstance(obj, osmium.osm.Area):
            area_kind = _kind_of_area(obj.tags)
            if area_kind is not None:
                return area_kind, "a", _bytes(factory.create_multipolygon(obj))
    except (osmium.InvalidLocationError, RuntimeError):
        pass  # cut off by the extract's edge, or an area that does not close
    return None


def _bytes(wkb: str | bytes) -> bytes:
    return bytes.fromhex(wkb) if isinstance(wkb, str) else wkb


def read_osm_features(path: Path) -> gpd.GeoDataFrame:
    """Streets, paths, parks, water and street lamps of one OSM file, in EPSG:4326.

    Columns: ``osm_type`` (``n``, ``w``, or ``a`` for an area), ``osm_id``, ``kind``
    (``street``, ``path``, ``park``, ``water``, ``lamp``), ``name``, ``highway``, ``lit``
    and ``geometry``. Ways whose nodes the extract cuts off are skipped (an extract's edge).

    Raises
    ------
    OsmFileError
        When the file is missing or not OpenStreetMap data.

    """
    if not path.is_file():
        raise OsmFileError(f"{path}: no such file")
    if path.stat().st_size == 0:
        raise OsmFileError(f"{path}: the file is empty: export the area from OpenStreetMap again")
    factory = WKBFactory()
    rows: list[dict[str, object]] = []
    geometries: list[bytes] = []
    try:
        # Only tagged objects that can be base-map features reach Python: a Greater London
        # extract has millions of untagged nodes and buildings, which the filters drop in C++.
        # Areas are still assembled from every way (an untagged outer way of a park counts).
        objects = (
            osmium.FileProcessor(str(path))
            .with_locations()
            .with_areas(osmium.filter.KeyFilter(*_AREA_KEYS))
            .with_filter(osmium.filter.KeyFilter("highway", *_AREA_KEYS))
        )
        for obj in objects:
            found = _feature(obj, factory)
            if found is None:
                continue
            kind, osm_type, wkb = found
            tags = obj.tags
            rows.append(
                {
                    "osm_type": osm_type,
                    "osm_id": obj.id,
                    "kind": kind,
                    "name": tags.get("name"),
                    "highway": tags.get("highway"),
                    "lit": tags.get("lit"),
                }
            )
            geometries.append(wkb)
    except RuntimeError as exc:
        raise OsmFileError(f"{path}: not an OpenStreetMap file pyosmium can read ({exc})") from None
    except osmium.InvalidLocationError as exc:
        # Not a RuntimeError: a node whose lat or lon is NaN, text or off the globe.
        raise OsmFileError(
            f"{path}: a node has no usable place ({exc}); lat and lon must be degrees within "
            "±90 and ±180: the file is damaged, export the area from OpenStreetMap again"
        ) from None
    return gpd.GeoDataFrame(
        rows or {c: [] for c in FEATURE_COLUMNS},
        geometry=shapely.from_wkb(geometries) if geometries else [],
        crs=4326,
    )
