"""OpenStreetMap features in PostGIS, and the base map's vector tiles made from them.

Tiles are Mapbox Vector Tiles built by PostGIS (``ST_AsMVT``), as Martin and pg_tileserv do:
layers ``boroughs``, ``wards`` (the active set, with names), ``water``, ``parks``, ``streets``
(with names and the ``lit`` tag) and ``lamps``. Attribution: © OpenStreetMap contributors (ODbL)
and the ward set's own.
"""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import shapely
from sqlalchemy import text
from sqlalchemy.orm import Session

from geo.osm import FEATURE_COLUMNS
from service.queries.bulk import Progress, copy_frame
from service.queries.gaps import LIT_VALUES
from service.queries.routing import rebuild_street_network
from service.queries.wards import require_active_ward_set

MAX_ZOOM = 20
EXTENT = 4096

# Loaded into a temporary table by COPY, then merged: a Greater London extract is some 300,000
# ways, which one INSERT per row would take minutes to send. A feature loaded before (the same
# OSM type and id, e.g. from an overlapping extract) is replaced, not doubled.
_STAGE = text(
    "CREATE TEMPORARY TABLE osm_load (LIKE osm_features INCLUDING DEFAULTS) ON COMMIT DROP"
)
_MERGE = text(
    "INSERT INTO osm_features (osm_type, osm_id, kind, name, highway, lit, source, geom) "
    "SELECT DISTINCT ON (osm_type, osm_id) osm_type, osm_id, kind, name, highway, lit, "
    "source, geom FROM osm_load ORDER BY osm_type, osm_id "
    "ON CONFLICT (osm_type, osm_id) DO UPDATE SET kind = EXCLUDED.kind, name = EXCLUDED.name, "
    "highway = EXCLUDED.highway, lit = EXCLUDED.lit, source = EXCLUDED.source, "
    "geom = EXCLUDED.geom"
)


def streets_loaded(session: Session) -> bool:
    """Whether any OpenStreetMap feature is loaded, i.e. the base map has streets to draw."""
    return bool(session.scalar(text("SELECT EXISTS (SELECT FROM osm_features)")))


def store_features(
    session: Session,
    features: gpd.GeoDataFrame,
    *,
    source: str,
    progress: Progress | None = None,
) -> int:
    """Store (or replace) an extract's features in the caller's transaction; how many, once each.

    The rows are COPYed (``service.queries.bulk.copy_frame``) into a temporary table and
    merged from there in one statement; ``progress`` is called as the COPY goes.
    """
    if features.empty:
        return 0
    frame = pd.DataFrame(
        {column: features[column] for column in FEATURE_COLUMNS}
        | {
            "source": source,
            # Hex EWKB with its SRID: PostGIS reads it as geometry text, with no parsing of WKT.
            "geom": shapely.to_wkb(
                shapely.set_srid(features.geometry.values, 4326), hex=True, include_srid=True
            ),
        }
    )
    session.execute(_STAGE)
    copy_frame(session, "osm_load", frame, progress=progress)
    merged = session.execute(_MERGE).rowcount  # type: ignore[attr-defined]
    session.execute(text("DROP TABLE osm_load"))
    # Routes follow the streets just loaded: the network is rebuilt with them, never stale.
    rebuild_street_network(session)
    return int(merged)


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


#: How a way's ``lit`` tag reads on a planner's map: lit, unlit, or not said.
LIT_WORDS = ("lit", "unlit", "untagged")
#: ``lit`` values that say a way is dark (the OSM wiki's "no" and "disused").
UNLIT_VALUES: tuple[str, ...] = ("no", "disused")


def ways_in_box(
    session: Session, box: tuple[float, float, float, float], *, limit: int
) -> tuple[int, gpd.GeoDataFrame]:
    """Streets and paths crossing ``box`` (west, south, east, north) and whether each is lit.

    Returns how many there are and up to ``limit`` of them (longest first, so a cut-off map
    loses the smallest pieces): ``name``, ``highway``, ``lit`` (the tag as written), ``state``
    (one of :data:`LIT_WORDS`: a ``lit`` value of ``service.queries.gaps.LIT_VALUES`` is lit,
    "no" or "disused" unlit, anything else or none untagged) and the line (EPSG:4326).
    """
    params = {
        "w": box[0], "s": box[1], "e": box[2], "n": box[3], "limit": limit,
        "lit": list(LIT_VALUES), "unlit": list(UNLIT_VALUES),
    }  # fmt: skip
    where = (
        "f.kind IN ('street', 'path') AND f.geom && ST_MakeEnvelope(:w, :s, :e, :n, 4326)"
    )
    matched = session.execute(
        text(f"SELECT count(*) FROM osm_features f WHERE {where}"), params
    ).scalar_one()
    frame = gpd.read_postgis(
        text(
            "SELECT f.name, f.highway, f.lit, CASE WHEN f.lit = ANY(:lit) THEN 'lit' "
            "WHEN f.lit = ANY(:unlit) THEN 'unlit' ELSE 'untagged' END AS state, "
            f"f.geom AS geometry FROM osm_features f WHERE {where} "
            "ORDER BY ST_Length(f.geom) DESC, f.osm_id LIMIT :limit"
        ),
        session.connection(),
        geom_col="geometry",
        params=params,
    )
    return int(matched), frame
