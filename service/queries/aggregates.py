"""Counts of published reports per hexagon, per ward and in an uploaded area, all in PostGIS.

Raw points never leave the database here: each function answers counts per unit, a few
thousand rows at most. Disclosure control (``geo.disclosure``) is applied to these counts by
the caller, by role; this module only counts, exactly.

Hexagons are PostGIS's own cells on the British National Grid (see ``geo.hexagons``); a report's
cell is found by arithmetic on its grid coordinates, the same arithmetic as
``geo.hexagons.hex_index``, so a million reports are binned in one pass without building any
polygons. The cells' polygons are made afterwards, only for the cells shown.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import geopandas as gpd
import pandas as pd
from shapely.geometry import MultiPolygon, Polygon
from sqlalchemy import text
from sqlalchemy.orm import Session

from geo.hexagons import CELL_KEY_BASE, check_edge
from service.queries.wards import require_active_ward_set
from service.taxonomy import LABELS

#: A report's position on the British National Grid. (Kept as an expression so the grid
#: columns that store it can replace it in one place.)
GRID_X = "ST_X(ST_Transform(r.geom, 27700))"
GRID_Y = "ST_Y(ST_Transform(r.geom, 27700))"


def band_of_hour(timestamp_sql: str) -> str:
    """SQL for the time band (``geo.reports.TIME_BANDS``) of a London wall-clock timestamp."""
    hour = f"extract(hour FROM {timestamp_sql})"
    return (
        f"CASE WHEN {hour} BETWEEN 5 AND 7 THEN 'early_morning' "
        f"WHEN {hour} BETWEEN 8 AND 16 THEN 'daytime' "
        f"WHEN {hour} BETWEEN 17 AND 21 THEN 'evening' ELSE 'night' END"
    )


# A report's band: the one it was given, or the band of its exact time.
_BAND_OF_ROW = (
    "coalesce(r.time_band, " + band_of_hour("r.occurred_at AT TIME ZONE 'Europe/London'") + ")"
)


@dataclass(frozen=True)
class AggregateFilter:
    """Which published reports an aggregate counts.

    ``boroughs`` is the caller's scope (never empty); months are whole months, given by their
    first day; ``categories`` match a report with any of them; ``sources`` empty means all.
    """

    boroughs: tuple[str, ...]
    month_from: date | None = None
    month_to: date | None = None
    categories: tuple[str, ...] = ()
    dark_only: bool = False
    time_band: str | None = None
    sources: tuple[str, ...] = ()
    #: Names for ``boroughs`` in the same order, for the words on pages and in method notes.
    borough_names: tuple[str, ...] = field(default=(), compare=False)

    def where(self, alias: str = "r") -> tuple[str, dict[str, Any]]:
        """SQL conditions on ``reports AS <alias>`` and their parameters."""
        parts = [f"{alias}.status = 'published'", f"{alias}.borough_code = ANY(:agg_boroughs)"]
        params: dict[str, Any] = {"agg_boroughs": list(self.boroughs)}
        if self.month_from is not None:
            parts.append(f"{alias}.occurred_on >= :agg_from")
            params["agg_from"] = self.month_from
        if self.month_to is not None:
            parts.append(f"{alias}.occurred_on < (:agg_to + interval '1 month')::date")
            params["agg_to"] = self.month_to
        if self.categories:
            parts.append(f"{alias}.categories && CAST(:agg_categories AS text[])")
            params["agg_categories"] = list(self.categories)
        if self.dark_only:
            parts.append(f"{alias}.is_dark")
        if self.time_band is not None:
            parts.append(f"{_BAND_OF_ROW.replace('r.', alias + '.')} = :agg_band")
            params["agg_band"] = self.time_band
        if self.sources:
            parts.append(f"{alias}.source = ANY(:agg_sources)")
            params["agg_sources"] = list(self.sources)
        return " AND ".join(parts), params

    def describe(self) -> list[str]:
        """The filters in words, for the page and the method note."""
        names = self.borough_names or self.boroughs
        words = [
            "boroughs "
            + ", ".join(
                code if name == code else f"{name} ({code})"
                for code, name in zip(self.boroughs, names, strict=True)
            )
        ]
        if self.month_from or self.month_to:
            first = self.month_from.strftime("%B %Y") if self.month_from else "the first report"
            last = self.month_to.strftime("%B %Y") if self.month_to else "now"
            words.append(f"months {first} to {last}")
        if self.categories:
            words.append("categories " + ", ".join(LABELS.get(c, c) for c in self.categories))
        if self.dark_only:
            words.append("after dark only (sun below -6 degrees)")
        if self.time_band:
            words.append(f"time of day {self.time_band.replace('_', ' ')}")
        if self.sources:
            words.append("sources " + ", ".join(s.replace("_", " ") for s in self.sources))
        return words


def _hex_cell_sql(edge: float) -> str:
    """SQL for ``(i, j)`` of a report's hexagon: the nearer of two candidate centres."""
    # Double-precision constants: a bare 750.0 is NUMERIC in PostgreSQL, and NUMERIC
    # arithmetic on every row made this three times slower (bench/hex_aggregation.py).
    step = f"{1.5 * edge!r}::float8"
    h = f"{edge * math.sqrt(3) / 2!r}::float8"
    x, y = GRID_X, GRID_Y
    left = f"floor({x} / {step})::bigint"
    return f"""
        SELECT g.left_i + (g.d_right < g.d_left)::int AS i,
               CASE WHEN g.d_right < g.d_left THEN g.right_j ELSE g.left_j END AS j,
               g.is_dark
          FROM (
            SELECT c.*,
                   (c.x - {step} * c.left_i) ^ 2
                     + (c.y - {h} * (2 * c.left_j + abs(c.left_i % 2))) ^ 2 AS d_left,
                   (c.x - {step} * (c.left_i + 1)) ^ 2
                     + (c.y - {h} * (2 * c.right_j + abs((c.left_i + 1) % 2))) ^ 2 AS d_right
              FROM (
                SELECT b.*,
                       round((b.y / {h} - abs(b.left_i % 2)) / 2)::bigint AS left_j,
                       round((b.y / {h} - abs((b.left_i + 1) % 2)) / 2)::bigint AS right_j
                  FROM (SELECT {x} AS x, {y} AS y, {left} AS left_i, r.is_dark
                          FROM reports r WHERE {{where}}) b
              ) c
          ) g
    """


def hexagon_counts(session: Session, selection: AggregateFilter, *, edge_m: int) -> pd.DataFrame:
    """Reports per hexagon (only cells holding any): columns ``i, j, reports, dark``.

    Each report carries its cell at every offered edge (``hex_<edge>``, written with it), so
    this is one GROUP BY on an integer; a row written some other way without them is placed
    by the same arithmetic here.
    """
    edge = check_edge(edge_m)
    where, params = selection.where()
    computed = _hex_cell_sql(edge).format(where=f"{where} AND r.hex_{edge} IS NULL")
    # PostGIS's cost estimates make PostgreSQL JIT-compile this query for seconds (3.5 s of
    # a 3.6 s answer on 5,000 reports); as for route exposure, it is off for the transaction.
    session.execute(text("SET LOCAL jit = off"))
    frame = pd.DataFrame(
        session.execute(
            text(
                f"SELECT cell / {CELL_KEY_BASE} AS i, cell % {CELL_KEY_BASE} AS j, "
                "sum(reports) AS reports, sum(dark) AS dark FROM ("
                f"  SELECT r.hex_{edge} AS cell, count(*) AS reports, "
                "   count(*) FILTER (WHERE r.is_dark) AS dark "
                f"  FROM reports r WHERE {where} AND r.hex_{edge} IS NOT NULL "
                f"  GROUP BY r.hex_{edge} "
                "  UNION ALL "
                f"  SELECT i * {CELL_KEY_BASE} + j, count(*), count(*) FILTER (WHERE is_dark) "
                f"  FROM ({computed}) cells GROUP BY i, j"
                ") counted GROUP BY cell ORDER BY cell"
            ),
            params,
        ).all(),
        columns=["i", "j", "reports", "dark"],
    )
    return frame.astype({"i": "int64", "j": "int64", "reports": "int64", "dark": "int64"})


def hexagon_cells(session: Session, boroughs: tuple[str, ...], *, edge_m: int) -> gpd.GeoDataFrame:
    """Every hexagon that touches the boroughs' active wards (empty ones too), EPSG:4326.

    Columns ``i, j, area_km2`` and the polygon; hot-spot statistics need the empty cells.
    """
    edge = check_edge(edge_m)
    active = require_active_ward_set(session)
    query = text(
        "WITH area AS (SELECT ST_Transform(ST_Union(geom), 27700) AS g FROM wards "
        "WHERE ward_set_id = :set_id AND borough_code = ANY(:boroughs)) "
        "SELECT h.i, h.j, ST_Area(h.geom) / 1e6 AS area_km2, "
        "ST_Transform(h.geom, 4326) AS geometry "
        "FROM area, ST_HexagonGrid(:edge, area.g) h WHERE ST_Intersects(h.geom, area.g) "
        "ORDER BY h.i, h.j"
    ).bindparams(set_id=active.id, boroughs=list(boroughs), edge=float(edge))
    return gpd.read_postgis(query, session.connection(), geom_col="geometry", crs=4326)


def ward_counts(session: Session, selection: AggregateFilter) -> pd.DataFrame:
    """Reports per active ward of the boroughs (zero rows included).

    Columns ``ward_code, name, borough_code, area_km2, reports, dark``.
    """
    active = require_active_ward_set(session)
    where, params = selection.where()
    rows = session.execute(
        text(
            "SELECT w.code AS ward_code, w.name, w.borough_code, "
            "ST_Area(ST_Transform(w.geom, 27700)) / 1e6 AS area_km2, "
            "coalesce(c.reports, 0) AS reports, coalesce(c.dark, 0) AS dark "
            "FROM wards w LEFT JOIN (SELECT r.ward_code, count(*) AS reports, "
            f"count(*) FILTER (WHERE r.is_dark) AS dark FROM reports r WHERE {where} "
            "GROUP BY r.ward_code) c ON c.ward_code = w.code "
            "WHERE w.ward_set_id = :set_id AND w.borough_code = ANY(:agg_boroughs) "
            "ORDER BY w.code"
        ),
        {**params, "set_id": active.id},
    ).all()
    return pd.DataFrame(
        rows, columns=["ward_code", "name", "borough_code", "area_km2", "reports", "dark"]
    )


def ward_categories(session: Session, selection: AggregateFilter) -> pd.DataFrame:
    """Reports per ward and category (a report with two categories counts in both).

    Columns ``ward_code, category, reports``; only pairs with reports.
    """
    where, params = selection.where()
    rows = session.execute(
        text(
            "SELECT r.ward_code, c.category, count(*) AS reports FROM reports r, "
            f"unnest(r.categories) AS c(category) WHERE {where} "
            "GROUP BY r.ward_code, c.category ORDER BY r.ward_code, reports DESC, c.category"
        ),
        params,
    ).all()
    return pd.DataFrame(rows, columns=["ward_code", "category", "reports"])


def ward_time_bands(session: Session, selection: AggregateFilter) -> pd.DataFrame:
    """Reports per ward and time of day (the band given, or that of the exact time).

    Columns ``ward_code, time_band, reports``; only pairs with reports.
    """
    where, params = selection.where()
    rows = session.execute(
        text(
            f"SELECT r.ward_code, {_BAND_OF_ROW} AS time_band, count(*) AS reports "
            f"FROM reports r WHERE {where} GROUP BY 1, 2 ORDER BY 1, 2"
        ),
        params,
    ).all()
    return pd.DataFrame(rows, columns=["ward_code", "time_band", "reports"])


def area_counts(
    session: Session, selection: AggregateFilter, area: Polygon | MultiPolygon
) -> dict[str, Any]:
    """Reports inside an uploaded area (WGS84), with the area's size in km²."""
    where, params = selection.where()
    row = session.execute(
        text(
            "WITH a AS (SELECT ST_GeomFromText(:area, 4326) AS g) "
            "SELECT (SELECT ST_Area(ST_Transform(g, 27700)) / 1e6 FROM a) AS area_km2, "
            "count(r.*) AS reports, count(r.*) FILTER (WHERE r.is_dark) AS dark "
            f"FROM a LEFT JOIN reports r ON ST_Intersects(a.g, r.geom) AND {where}"
        ),
        {**params, "area": area.wkt},
    ).one()
    return {"area_km2": float(row.area_km2), "reports": int(row.reports), "dark": int(row.dark)}


def crime_hexagon_counts(
    session: Session, selection: AggregateFilter, *, edge_m: int
) -> pd.DataFrame:
    """Police.uk crimes per hexagon (only cells holding any): columns ``i, j, crimes``.

    Crimes are counted in the boroughs and months of ``selection``; its other filters
    (categories, darkness, time of day, source) describe reports and do not apply to crimes.
    The cell of each crime is the same arithmetic as for reports (and ``geo.hexagons``). The
    projected points are materialised first: inlined, the planner would repeat ST_Transform in
    every use of x and y, and the inflated cost makes PostgreSQL spend seconds JIT-compiling.
    """
    edge = check_edge(edge_m)
    parts = ["c.borough_code = ANY(:crime_boroughs)"]
    params: dict[str, Any] = {"crime_boroughs": list(selection.boroughs)}
    if selection.month_from is not None:
        parts.append("c.month >= :crime_from")
        params["crime_from"] = selection.month_from
    if selection.month_to is not None:
        parts.append("c.month <= :crime_to")
        params["crime_to"] = selection.month_to
    step = f"{1.5 * edge!r}::float8"
    hh = f"{edge * math.sqrt(3) / 2!r}::float8"
    rows = session.execute(
        text(
            f"""
            WITH p AS MATERIALIZED (
              SELECT ST_X(g) AS x, ST_Y(g) AS y, floor(ST_X(g) / {step})::bigint AS li
                FROM (SELECT ST_Transform(c.geom, 27700) AS g FROM crimes c
                       WHERE {" AND ".join(parts)}) t
            ), two AS (
              SELECT p.*, round((y / {hh} - abs(li % 2)) / 2)::bigint AS lj,
                     round((y / {hh} - abs((li + 1) % 2)) / 2)::bigint AS rj
                FROM p
            ), nearer AS (
              SELECT CASE WHEN dr < dl THEN li + 1 ELSE li END AS i,
                     CASE WHEN dr < dl THEN rj ELSE lj END AS j
                FROM (SELECT two.*,
                             (x - {step} * li) ^ 2
                               + (y - {hh} * (2 * lj + abs(li % 2))) ^ 2 AS dl,
                             (x - {step} * (li + 1)) ^ 2
                               + (y - {hh} * (2 * rj + abs((li + 1) % 2))) ^ 2 AS dr
                        FROM two) d
            )
            SELECT i, j, count(*) AS crimes FROM nearer GROUP BY i, j ORDER BY i, j
            """
        ),
        params,
    ).all()
    frame = pd.DataFrame(rows, columns=["i", "j", "crimes"])
    return frame.astype({"i": "int64", "j": "int64", "crimes": "int64"})


def counts_synthetic(session: Session, selection: AggregateFilter) -> bool:
    """Whether flagged synthetic demo reports are among those ``selection`` counts."""
    where, params = selection.where()
    return bool(
        session.execute(
            text(f"SELECT EXISTS (SELECT FROM reports r WHERE {where} AND r.source = 'synthetic')"),
            params,
        ).scalar_one()
    )


def months_held(session: Session, boroughs: tuple[str, ...]) -> tuple[date, date] | None:
    """The first and last month of the published reports held in the boroughs (None if none).

    Method notes state the period from these when no month is asked for. It is the boroughs'
    whole span, not that of the reports a narrower filter picks: the earliest month of, say,
    one category after dark in one borough could date a single report.
    """
    row = session.execute(
        text(
            "SELECT date_trunc('month', min(r.occurred_on))::date AS first, "
            "date_trunc('month', max(r.occurred_on))::date AS last FROM reports r "
            "WHERE r.status = 'published' AND r.borough_code = ANY(:boroughs)"
        ),
        {"boroughs": list(boroughs)},
    ).one()
    if row.first is None:
        return None
    return row.first, row.last
