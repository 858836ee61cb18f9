"""Resident population in PostGIS, apportioned to wards, uploaded areas and hexagons.

LSOA estimates live in ``lsoa_population`` (EPSG:4326 like every table). Apportioning is
``geo.population.apportion`` (tobler's area-weighted interpolation) on the British National
Grid, over only the LSOAs that touch the units asked about.

Wards: stored per ward (``ward_population``), computed for every ward set when the population
is loaded and for a ward set loaded afterwards (``walktalk wards load``/``bundled``). Ward sets
are never edited in place, so the stored figures stay right until the population is re-loaded,
which recomputes them; every ward summary then reads a few hundred numbers instead of running
an overlay (about a second for London's 657 wards). Should a set lack them (loaded some other
way), they are computed on the fly for that answer. Uploaded areas and hexagons are apportioned
per answer: they change with every request, and the overlay over the LSOAs they touch is
quick enough (here: Lambeth and Southwark's 600 cells of 250 m, 0.2 s; all London's 10,146,
3.6 s, which a per-borough cache of cell figures filled at load time would remove).
"""

from __future__ import annotations

import math

import geopandas as gpd
import numpy as np
import pandas as pd
from numpy.typing import ArrayLike
from shapely.geometry import MultiPolygon, box
from sqlalchemy import text
from sqlalchemy.orm import Session

from geo.hexagons import hex_polygons
from geo.population import apportion
from service.queries.bulk import Progress

#: LSOAs sent per INSERT (for the progress bar).
CHUNK = 500

_INSERT = text(
    "INSERT INTO lsoa_population (code, name, district_code, district_name, persons, females, "
    "source, geom) VALUES (:code, :name, :district_code, :district_name, :persons, :females, "
    ":source, ST_Multi(ST_GeomFromWKB(:wkb, 4326)))"
)


def store_lsoas(
    session: Session, lsoas: gpd.GeoDataFrame, *, source: str, progress: Progress | None = None
) -> int:
    """Replace the stored LSOAs with ``lsoas`` (EPSG:4326) in the caller's transaction.

    The wards' apportioned figures are cleared with them; call :func:`store_ward_population`
    for each ward set afterwards.
    """
    session.execute(text("DELETE FROM ward_population"))
    session.execute(text("DELETE FROM lsoa_population"))
    records = lsoas.drop(columns="geometry").to_dict("records")
    params = [
        {**row, "source": source, "wkb": geometry.wkb}
        for row, geometry in zip(records, lsoas.geometry, strict=True)
    ]
    for start in range(0, len(params), CHUNK):
        session.execute(_INSERT, params[start : start + CHUNK])
        if progress is not None:
            progress(min(start + CHUNK, len(params)), len(params))
    return len(params)


def population_loaded(session: Session) -> bool:
    """Whether any LSOA estimates are stored."""
    return bool(session.execute(text("SELECT EXISTS (SELECT FROM lsoa_population)")).scalar())


def lsoas_touching(
    session: Session, area_wkt: str, *, boroughs: tuple[str, ...] | None = None
) -> gpd.GeoDataFrame:
    """LSOAs (EPSG:27700) that intersect a WGS84 area, optionally only those of ``boroughs``."""
    borough_filter = "AND l.district_code = ANY(%(boroughs)s)" if boroughs is not None else ""
    return gpd.read_postgis(
        "SELECT l.code, l.persons, l.females, ST_Transform(l.geom, 27700) AS geometry "
        "FROM lsoa_population l WHERE ST_Intersects(l.geom, ST_GeomFromText(%(area)s, 4326)) "
        f"{borough_filter} ORDER BY l.code",
        session.connection(),
        geom_col="geometry",
        params={"area": area_wkt, "boroughs": list(boroughs or ())},
        crs=27700,
    )


def _ward_shapes(session: Session, set_id: int) -> gpd.GeoDataFrame:
    return gpd.read_postgis(
        "SELECT id AS ward_id, code AS ward_code, ST_Transform(geom, 27700) AS geometry "
        "FROM wards WHERE ward_set_id = %(set_id)s ORDER BY code",
        session.connection(),
        geom_col="geometry",
        params={"set_id": set_id},
        crs=27700,
    )


def _apportion_wards(session: Session, set_id: int) -> pd.DataFrame:
    """``ward_id, ward_code, persons, females`` of a ward set, by area (empty: no LSOAs)."""
    wards = _ward_shapes(session, set_id)
    extent = session.execute(
        text("SELECT ST_AsText(ST_Extent(geom)::geometry) FROM wards WHERE ward_set_id = :s"),
        {"s": set_id},
    ).scalar()
    if wards.empty or extent is None:
        return pd.DataFrame(columns=["ward_id", "ward_code", "persons", "females"])
    lsoas = lsoas_touching(session, extent)
    if lsoas.empty:
        return pd.DataFrame(columns=["ward_id", "ward_code", "persons", "females"])
    shares = apportion(lsoas, wards)
    return pd.concat([wards[["ward_id", "ward_code"]], shares], axis=1)


def store_ward_population(session: Session, set_id: int) -> int:
    """Apportion the stored LSOAs to a ward set's wards and keep the figures; how many wards.

    Nothing is stored (0) when no population is loaded.
    """
    session.execute(text("DELETE FROM ward_population WHERE ward_set_id = :s"), {"s": set_id})
    figures = _apportion_wards(session, set_id)
    if figures.empty:
        return 0
    session.execute(
        text(
            "INSERT INTO ward_population (ward_id, ward_set_id, persons, females) "
            "VALUES (:ward_id, :set_id, :persons, :females)"
        ),
        [
            {
                "ward_id": int(row.ward_id),
                "set_id": set_id,
                "persons": float(row.persons),
                "females": float(row.females),
            }
            for row in figures.itertuples()
        ],
    )
    return len(figures)


def store_all_ward_populations(session: Session) -> dict[str, int]:
    """:func:`store_ward_population` for every ward set: wards apportioned per set name."""
    sets = session.execute(text("SELECT id, name FROM ward_sets ORDER BY id")).all()
    return {name: store_ward_population(session, set_id) for set_id, name in sets}


def ward_population(session: Session, set_id: int) -> pd.DataFrame:
    """``ward_code, persons, females`` for every ward of a set (NaN: no population loaded)."""
    stored = pd.DataFrame(
        session.execute(
            text(
                "SELECT w.code AS ward_code, p.persons, p.females FROM wards w "
                "JOIN ward_population p ON p.ward_id = w.id WHERE w.ward_set_id = :s"
            ),
            {"s": set_id},
        ).all(),
        columns=["ward_code", "persons", "females"],
    )
    if stored.empty and population_loaded(session):
        # A set loaded without its figures (not through the CLI): work them out for this answer.
        stored = _apportion_wards(session, set_id)[["ward_code", "persons", "females"]]
    return stored.astype({"persons": "float64", "females": "float64"})


def area_population(
    session: Session, area: MultiPolygon, boroughs: tuple[str, ...]
) -> tuple[float, float]:
    """Residents and women of an uploaded area (WGS84) living in ``boroughs``, by area.

    Only the LSOAs of the boroughs count, as only their reports do. NaN, NaN when no
    population is loaded.
    """
    if not population_loaded(session):
        return math.nan, math.nan
    lsoas = lsoas_touching(session, area.wkt, boroughs=boroughs)
    target = gpd.GeoDataFrame(geometry=[area], crs=4326).to_crs(27700)
    shares = apportion(lsoas, target)
    return float(shares["persons"].iloc[0]), float(shares["females"].iloc[0])


def hexagon_population(
    session: Session, i: ArrayLike, j: ArrayLike, *, edge_m: int, boroughs: tuple[str, ...]
) -> pd.DataFrame:
    """Residents and women of the hexagons ``(i, j)`` living in ``boroughs``, by area.

    One row per cell in the order given (``persons, females``; NaN when no population is
    loaded). Only the LSOAs of the boroughs count, as only their reports do.
    """
    ii, jj = np.asarray(i, dtype=np.int64), np.asarray(j, dtype=np.int64)
    if not population_loaded(session) or ii.size == 0:
        return pd.DataFrame({"persons": np.full(ii.size, np.nan), "females": np.nan})
    cells = gpd.GeoDataFrame(geometry=hex_polygons(ii, jj, edge_m), crs=27700)
    # The cells' bounding box, widened by 50 m so that reprojection cannot shave an edge.
    grown = box(*cells.total_bounds).buffer(50)
    extent = gpd.GeoSeries([grown], crs=27700).to_crs(4326).iloc[0]
    lsoas = lsoas_touching(session, extent.wkt, boroughs=boroughs)
    return apportion(lsoas, cells).reset_index(drop=True)

