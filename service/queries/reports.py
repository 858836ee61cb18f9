"""Unsafe-place reports in PostGIS: store (COPY + ward in PostGIS), moderate, query.

Storing goes through one path for a single public report and a million-row import alike:
darkness is worked out in numpy, the rows are copied into a temporary staging table, the ward
of every row is found in PostGIS, rows outside every ward are named, and the rest are inserted
in the caller's transaction.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
from sqlalchemy import text
from sqlalchemy.orm import Session

from geo.darkness import DARK_BELOW_DEGREES, band_darkness, band_midpoint_utc, solar_elevation
from geo.reports import RowProblem
from service.queries.bulk import Progress, copy_frame, ewkt_points, pg_text_array
from service.queries.wards import WardAssignedTable, compute_ward_hits, require_active_ward_set

_STAGING = "report_staging"
_HITS = "report_hits"
_STAGED_COLUMNS = (
    "line",
    "geom",
    "occurred_on",
    "time_band",
    "occurred_at",
    "categories",
    "text",
    "sun_elevation",
    "is_dark",
    "darkness_basis",
)


@dataclass(frozen=True)
class StoreResult:
    """What storing a batch of parsed report rows did."""

    ids: tuple[uuid.UUID, ...]
    outside: tuple[RowProblem, ...]
    stored: int


def with_darkness(rows: pd.DataFrame) -> pd.DataFrame:
    """Add ``sun_elevation``, ``is_dark`` and ``darkness_basis`` to parsed report rows.

    Exact times use the sun at that instant; a date and time band use whether most of the band
    was dark on that date (the elevation stored is the band's midpoint's).
    """
    out = rows.copy()
    lon, lat = out["lon"].to_numpy(float), out["lat"].to_numpy(float)
    exact = out["occurred_at"].notna().to_numpy()
    elevation = np.full(len(out), np.nan)
    dark = np.zeros(len(out), dtype=bool)
    if exact.any():
        when = pd.to_datetime(out.loc[exact, "occurred_at"], utc=True)
        elevation[exact] = solar_elevation(lon[exact], lat[exact], when)
        dark[exact] = elevation[exact] < DARK_BELOW_DEGREES
    banded = ~exact
    if banded.any():
        dates = out.loc[banded, "occurred_on"].to_numpy()
        bands = out.loc[banded, "time_band"].to_numpy()
        _share, mostly_dark = band_darkness(lon[banded], lat[banded], dates, bands)
        dark[banded] = mostly_dark
        elevation[banded] = solar_elevation(
            lon[banded], lat[banded], band_midpoint_utc(dates, bands)
        )
    out["sun_elevation"] = elevation
    out["is_dark"] = dark
    out["darkness_basis"] = np.where(exact, "exact_time", "time_band")
    return out


def _staging_frame(rows: pd.DataFrame) -> pd.DataFrame:
    occurred_at = pd.to_datetime(rows["occurred_at"], utc=True)
    return pd.DataFrame(
        {
            "line": rows["line"].astype(int),
            "geom": ewkt_points(rows["lon"], rows["lat"]),
            "occurred_on": [d.isoformat() for d in rows["occurred_on"]],
            "time_band": rows["time_band"],
            "occurred_at": [None if pd.isna(t) else t.isoformat() for t in occurred_at],
            "categories": pg_text_array(rows["categories"]),
            "text": rows["text"],
            "sun_elevation": rows["sun_elevation"],
            "is_dark": rows["is_dark"],
            "darkness_basis": rows["darkness_basis"],
        }
    )


def store_reports(
    session: Session,
    rows: pd.DataFrame,
    *,
    source: str,
    status: str,
    import_id: int | None = None,
    skip_outside: bool = False,
    progress: Progress | None = None,
    return_ids: bool = True,
) -> StoreResult:
    """Store parsed report rows (``geo.reports`` frame) in the caller's transaction.

    Rows outside every ward of the active set are returned as problems; unless
    ``skip_outside``, nothing is inserted when there are any (the caller refuses the batch).
    ``progress`` is told how many rows have been sent (the CLI's progress bar). Imports pass
    ``return_ids=False``: a million ids are not worth sending back.
    """
    active = require_active_ward_set(session)
    enriched = with_darkness(rows)
    session.execute(
        text(
            f"CREATE TEMP TABLE {_STAGING} (line integer PRIMARY KEY, "
            "geom geometry(Point, 4326) NOT NULL, occurred_on date NOT NULL, time_band text, "
            "occurred_at timestamptz, categories text[] NOT NULL, text text, "
            "sun_elevation float8 NOT NULL, is_dark boolean NOT NULL, "
            "darkness_basis text NOT NULL) ON COMMIT DROP"
        )
    )
    copy_frame(session, _STAGING, _staging_frame(enriched), progress=progress)
    session.execute(text(f"CREATE INDEX ON {_STAGING} USING gist (geom)"))
    session.execute(text(f"ANALYZE {_STAGING}"))
    compute_ward_hits(
        session,
        WardAssignedTable(_STAGING, key_column="line"),
        set_id=active.id,
        into=_HITS,
    )
    outside_lines = (
        session.execute(
            text(
                f"SELECT s.line FROM {_STAGING} s "
                f"WHERE NOT EXISTS (SELECT FROM {_HITS} h WHERE h.key = s.line) ORDER BY s.line"
            )
        )
        .scalars()
        .all()
    )
    outside = tuple(
        RowProblem(
            line,
            "the point is outside the area this service covers (the wards of "
            f"{active.name!r}, see GET /wards)",
        )
        for line in outside_lines
    )
    ids: list[uuid.UUID] = []
    stored = 0
    if not outside or skip_outside:
        inserted = session.execute(
            text(
                "INSERT INTO reports (geom, ward_code, borough_code, occurred_on, time_band, "
                "  occurred_at, categories, text, source, sun_elevation, is_dark, "
                "  darkness_basis, status, import_id) "
                "SELECT s.geom, h.code, h.borough_code, s.occurred_on, s.time_band, "
                "  s.occurred_at, s.categories, s.text, :source, s.sun_elevation, s.is_dark, "
                "  s.darkness_basis, :status, :import_id "
                f"FROM {_STAGING} s JOIN {_HITS} h ON h.key = s.line ORDER BY s.geom "
                + ("RETURNING id" if return_ids else "")
            ),
            {"source": source, "status": status, "import_id": import_id},
        )
        if return_ids:
            ids = list(inserted.scalars())
            stored = len(ids)
        else:
            stored = inserted.rowcount  # type: ignore[attr-defined]
    session.execute(text(f"DROP TABLE {_HITS}, {_STAGING}"))
    return StoreResult(ids=tuple(ids), outside=outside, stored=stored)


# -- moderation ------------------------------------------------------------------------------


def moderate(
    session: Session,
    report_id: uuid.UUID,
    *,
    status: str,
    reason: str,
    redact_text: bool,
    moderator: str,
    boroughs: tuple[str, ...],
) -> dict[str, Any] | None:
    """Publish or hide a report within ``boroughs``; return its new state, or None if not found."""
    row = session.execute(
        text(
            "UPDATE reports SET status = :status, moderation_reason = :reason, "
            "  moderated_by = :moderator, "
            "  text = CASE WHEN :redact THEN NULL ELSE text END, "
            "  text_redacted = text_redacted OR (:redact AND text IS NOT NULL) "
            "WHERE id = :id AND borough_code = ANY(:boroughs) "
            "RETURNING id, status, moderation_reason, text_redacted"
        ),
        {
            "status": status,
            "reason": reason,
            "moderator": moderator,
            "redact": redact_text,
            "id": report_id,
            "boroughs": list(boroughs),
        },
    ).first()
    return dict(row._mapping) if row else None


# -- queries ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReportFilter:
    """What ``GET /reports`` and the exports select; every field narrows the selection."""

    ward_codes: tuple[str, ...] | None = None  # the caller's scope (officers)
    borough_codes: tuple[str, ...] | None = None  # the caller's scope (supervisors)
    bbox: tuple[float, float, float, float] | None = None
    ward: str | None = None
    borough: str | None = None
    categories: tuple[str, ...] = ()
    date_from: date | None = None
    date_to: date | None = None
    dark: bool | None = None
    source: str | None = None
    status: str | None = None
    report_id: uuid.UUID | None = None

    def where(self) -> tuple[str, dict[str, Any]]:
        """SQL conditions and their parameters."""
        parts: list[str] = ["TRUE"]
        params: dict[str, Any] = {}
        if self.ward_codes is not None:
            parts.append("ward_code = ANY(:scope_wards)")
            params["scope_wards"] = list(self.ward_codes)
        if self.borough_codes is not None:
            parts.append("borough_code = ANY(:scope_boroughs)")
            params["scope_boroughs"] = list(self.borough_codes)
        if self.bbox is not None:
            parts.append("geom && ST_MakeEnvelope(:x0, :y0, :x1, :y1, 4326)")
            params.update(zip(("x0", "y0", "x1", "y1"), self.bbox, strict=True))
        for name, column in (
            ("ward", "ward_code"),
            ("borough", "borough_code"),
            ("source", "source"),
            ("status", "status"),
        ):
            value = getattr(self, name)
            if value is not None:
                parts.append(f"{column} = :{name}")
                params[name] = value
        if self.categories:
            parts.append("categories && CAST(:categories AS text[])")
            params["categories"] = list(self.categories)
        if self.date_from is not None:
            parts.append("occurred_on >= :date_from")
            params["date_from"] = self.date_from
        if self.date_to is not None:
            parts.append("occurred_on <= :date_to")
            params["date_to"] = self.date_to
        if self.dark is not None:
            parts.append("is_dark = :dark")
            params["dark"] = self.dark
        if self.report_id is not None:
            parts.append("id = :report_id")
            params["report_id"] = self.report_id
        return " AND ".join(parts), params


_FEATURE_SQL = (
    "json_build_object('type', 'Feature', 'id', id, "
    "'geometry', ST_AsGeoJSON(geom, 6)::json, "
    "'properties', json_build_object('id', id, 'ward_code', ward_code, "
    "  'borough_code', borough_code, 'occurred_on', occurred_on, 'time_band', time_band, "
    "  'occurred_at', occurred_at, 'categories', categories, 'text', text, "
    "  'text_redacted', text_redacted, 'source', source, 'status', status, "
    "  'is_dark', is_dark, 'sun_elevation', round(sun_elevation::numeric, 2), "
    "  'darkness_basis', darkness_basis))"
)


def report_features(
    session: Session, selection: ReportFilter, *, limit: int, after: uuid.UUID | None = None
) -> tuple[list[str], uuid.UUID | None]:
    """One page of reports as GeoJSON Feature strings, and the id to continue after."""
    where, params = selection.where()
    if after is not None:
        where += " AND id > :after"
        params["after"] = after
    rows = session.execute(
        text(
            f"SELECT id, {_FEATURE_SQL}::text AS feature FROM reports WHERE {where} "
            "ORDER BY id LIMIT :limit"
        ),
        {**params, "limit": limit + 1},
    ).all()
    more = len(rows) > limit
    page = rows[:limit]
    return [r.feature for r in page], (page[-1].id if more else None)


def count_reports(session: Session, selection: ReportFilter) -> int:
    """How many reports the selection matches."""
    where, params = selection.where()
    return int(
        session.execute(text(f"SELECT count(*) FROM reports WHERE {where}"), params).scalar_one()
    )


# -- exports ---------------------------------------------------------------------------------

EXPORT_COLUMNS = (
    "id",
    "lon",
    "lat",
    "ward_code",
    "borough_code",
    "occurred_on",
    "time_band",
    "occurred_at",
    "categories",
    "text",
    "text_redacted",
    "source",
    "status",
    "is_dark",
    "sun_elevation",
    "darkness_basis",
)
_EXPORT_SELECT = (
    "SELECT id, round(ST_X(geom)::numeric, 6) AS lon, round(ST_Y(geom)::numeric, 6) AS lat, "
    "ward_code, borough_code, occurred_on, time_band, occurred_at, "
    "array_to_string(categories, ';') AS categories, text, text_redacted, source, status, "
    "is_dark, round(sun_elevation::numeric, 2) AS sun_elevation, darkness_basis"
)


def export_csv(session: Session, selection: ReportFilter) -> Iterator[bytes]:
    """The selected reports as CSV (header first), streamed from PostgreSQL's COPY."""
    where, params = selection.where()
    # COPY takes no bind parameters, so the selection is made into a temporary table first.
    session.execute(
        text(
            f"CREATE TEMP TABLE report_export ON COMMIT DROP AS {_EXPORT_SELECT} FROM reports "
            f"WHERE {where} ORDER BY occurred_on, id"
        ),
        params,
    )
    raw = session.connection().connection.driver_connection
    assert raw is not None
    with (
        raw.cursor() as cursor,
        cursor.copy("COPY report_export TO STDOUT WITH (FORMAT csv, HEADER true)") as copy,
    ):
        for chunk in copy:
            yield bytes(chunk)
    session.execute(text("DROP TABLE report_export"))


def export_frame(session: Session, selection: ReportFilter) -> gpd.GeoDataFrame:
    """The selected reports as a GeoDataFrame (EPSG:4326) for GeoPackage and GeoJSON files."""
    where, params = selection.where()
    query = text(
        f"{_EXPORT_SELECT}, geom FROM reports WHERE {where} ORDER BY occurred_on, id"
    ).bindparams(**params)
    frame = gpd.read_postgis(query, session.connection(), geom_col="geom", crs=4326)
    frame["id"] = frame["id"].astype(str)
    # ISO 8601 text: the one form GeoJSON, GeoPackage and spreadsheets all read the same way.
    frame["occurred_on"] = frame["occurred_on"].astype(str)
    frame["occurred_at"] = [None if pd.isna(v) else v.isoformat() for v in frame["occurred_at"]]
    return frame
