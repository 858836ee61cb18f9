"""OpenStreetMap features in PostGIS, and the base map's vector tiles made from them.

Tiles are Mapbox Vector Tiles built by PostGIS (``ST_AsMVT``), as Martin and pg_tileserv do:
layers ``boroughs``, ``wards`` (the active set, with names), ``water``, ``parks``, ``streets``
(with names and the ``lit`` tag) and ``lamps``. Attribution: © OpenStreetMap contributors (ODbL)
and the ward set's own.
"""

from __future__ import annotations

import geopandas as gpd
from sqlalchemy import text
from sqlalchemy.orm import Session

from service.queries.wards import require_active_ward_set

MAX_ZOOM = 20
EXTENT = 4096

_UPSERT = text(
    "INSERT INTO osm_features (osm_type, osm_id, kind, name, highway, lit, source, geom) "
    "VALUES (:osm_type, :osm_id, :kind, :name, :highway, :lit, :source, "
    "ST_GeomFromWKB(:wkb, 4326)) "
    "ON CONFLICT (osm_type, osm_id) DO UPDATE SET kind = EXCLUDED.kind, name = EXCLUDED.name, "
    "highway = EXCLUDED.highway, lit = EXCLUDED.lit, source = EXCLUDED.source, "
    "geom = EXCLUDED.geom"
)


def store_features(session: Session, features: gpd.GeoDataFrame, *, source: str) -> int:
    """Store (or replace) an extract's features in the caller's transaction; how many."""
    if features.empty:
        return 0
    rows = features.drop(columns="geometry").astype(object).where(features.notna(), None)
    params = [
        {**row, "source": source, "wkb": geometry.wkb}
        for row, geometry in zip(rows.to_dict("records"), features.geometry, strict=True)
    ]
    session.execute(_UPSERT, params)
    return len(params)


def _layer(name: str, query: str) -> str:
    return (
        f"(SELECT ST_AsMVT(t, '{name}', {EXTENT}, 'geom') FROM ("
        f"{query}) t WHERE t.geom IS NOT NULL)"
    )


def _geom(column: str) -> str:
    return f"ST_AsMVTGeom(ST_Transform({column}, 3857), e.box, {EXTENT}, 64, true) AS geom"


# Out of town, a whole borough's side streets in one tile would be a grey smear and megabytes:
# below zoom 13 only through roads, below 11 only the main ones.
_MAJOR = "'motorway', 'motorway_link', 'trunk', 'trunk_link', 'primary', 'primary_link'"
_MIDDLE = "'secondary', 'secondary_link', 'tertiary', 'tertiary_link'"

# Small features are left out at low zooms, where they would be specks; names from zoom 14.
_TILE = text(
    "WITH e AS (SELECT ST_TileEnvelope(:z, :x, :y) AS box, "
    "ST_Transform(ST_TileEnvelope(:z, :x, :y, margin => 0.02), 4326) AS box4326) "
    "SELECT "
    + " || ".join(
        [
            _layer(
                "water",
                f"SELECT {_geom('f.geom')} FROM osm_features f, e "
                "WHERE f.kind = 'water' AND f.geom && e.box4326",
            ),
            _layer(
                "parks",
                f"SELECT f.name, {_geom('f.geom')} FROM osm_features f, e "
                "WHERE f.kind = 'park' AND f.geom && e.box4326",
            ),
            _layer(
                "streets",
                f"SELECT f.kind, f.highway, f.lit, CASE WHEN :z >= 14 THEN f.name END AS name, "
                f"{_geom('f.geom')} FROM osm_features f, e "
                "WHERE f.kind IN ('street', 'path') AND f.geom && e.box4326 "
                "AND (:z >= 14 OR f.kind = 'street') "
                f"AND (:z >= 13 OR f.highway IN ({_MAJOR}) "
                f"OR (:z >= 11 AND f.highway IN ({_MIDDLE})))",
            ),
            _layer(
                "lamps",
                f"SELECT {_geom('f.geom')} FROM osm_features f, e "
                "WHERE f.kind = 'lamp' AND :z >= 16 AND f.geom && e.box4326",
            ),
            _layer(
                "wards",
                f"SELECT w.code, w.name, {_geom('ST_Boundary(w.geom)')} FROM wards w, e "
                "WHERE w.ward_set_id = :set_id AND w.geom && e.box4326",
            ),
            _layer(
                "boroughs",
                f"SELECT b.code, b.name, {_geom('ST_Boundary(b.geom)')} FROM boroughs b, e "
                "WHERE b.geom && e.box4326",
            ),
        ]
    )
    + " AS tile"
)


def vector_tile(session: Session, z: int, x: int, y: int) -> bytes:
    """One Mapbox Vector Tile of the base map (empty bytes where there is nothing)."""
    active = require_active_ward_set(session)
    tile = session.execute(_TILE, {"z": z, "x": x, "y": y, "set_id": active.id}).scalar_one()
    return bytes(tile or b"")
