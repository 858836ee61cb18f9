"""Whole-file imports of reports and police.uk crimes: all or nothing, once per file content.

A file is read and validated in Python (vectorised), copied into PostGIS with COPY, given its
wards there, and inserted in the caller's transaction. A file whose content was imported before
adds nothing. With bad rows nothing is stored and every bad row is named, unless the caller
asks to skip them.
"""

from __future__ import annotations

import csv
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy import text
from sqlalchemy.orm import Session

from geo.crimes import CRIME_COLUMNS, CrimeFileError, read_police_uk
from geo.reports import RowProblem, parse_report_csv, parse_report_features
from service.errors import InvalidInput
from service.queries.bulk import Progress, copy_frame, ewkt_points
from service.queries.reports import store_reports
from service.queries.wards import WardAssignedTable, compute_ward_hits, require_active_ward_set
from service.taxonomy import SLUGS


class ImportRefused(InvalidInput):
    """A file with bad rows: nothing was stored; ``problems`` names every bad row."""

    def __init__(self, file_name: str, problems: list[RowProblem]) -> None:
        shown = problems[:1000]
        super().__init__(
            f"{file_name}: {len(problems)} bad rows, nothing stored; fix them, or import with "
            "--skip-invalid to store the good rows and write the bad ones to a CSV",
            problems=[{"line": p.line, "reason": p.reason} for p in shown],
            problems_not_shown=len(problems) - len(shown),
        )
        self.problems = problems


@dataclass(frozen=True)
class ImportOutcome:
    """What importing one file did."""

    file_name: str
    already_imported: bool
    stored: int = 0
    skipped: int = 0
    rejected: list[RowProblem] = field(default_factory=list)


@dataclass(frozen=True)
class ReportFields:
    """Column names of a reports CSV, when they differ from the defaults."""

    lon: str = "lon"
    lat: str = "lat"
    easting: str = "easting"
    northing: str = "northing"


def file_sha256(data: bytes) -> str:
    """The content hash that makes re-imports idempotent."""
    return hashlib.sha256(data).hexdigest()


def _previous_import(session: Session, kind: str, digest: str) -> bool:
    return (
        session.execute(
            text("SELECT 1 FROM imports WHERE kind = :kind AND sha256 = :sha"),
            {"kind": kind, "sha": digest},
        ).first()
        is not None
    )


def _record_import(session: Session, *, kind: str, digest: str, file_name: str, by: str) -> int:
    return int(
        session.execute(
            text(
                "INSERT INTO imports (kind, sha256, file_name, rows_stored, rows_skipped, "
                "imported_by) VALUES (:kind, :sha, :name, 0, 0, :by) RETURNING id"
            ),
            {"kind": kind, "sha": digest, "name": file_name, "by": by},
        ).scalar_one()
    )


def _finish_import(session: Session, import_id: int, stored: int, skipped: int) -> None:
    session.execute(
        text("UPDATE imports SET rows_stored = :s, rows_skipped = :k WHERE id = :id"),
        {"s": stored, "k": skipped, "id": import_id},
    )


def _parse_reports(data: bytes, file_name: str, fields: ReportFields) -> Any:
    suffix = Path(file_name).suffix.lower()
    if suffix in (".geojson", ".json"):
        try:
            collection = json.loads(data)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise InvalidInput(f"{file_name} is not valid JSON: {exc}") from None
        return parse_report_features(collection, categories=SLUGS)
    if suffix == ".csv":
        try:
            return parse_report_csv(
                data,
                categories=SLUGS,
                lon_field=fields.lon,
                lat_field=fields.lat,
                easting_field=fields.easting,
                northing_field=fields.northing,
            )
        # The reading errors first: pandas' ParserError and UnicodeDecodeError are ValueErrors.
        except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as exc:
            raise InvalidInput(f"{file_name} is not a readable UTF-8 CSV: {exc}") from None
        except ValueError as exc:
            raise InvalidInput(f"{file_name}: {exc}") from None
    raise InvalidInput(
        f"{file_name}: reports are imported from .csv or .geojson files, not {suffix or 'this'}"
    )


def import_reports(
    session: Session,
    data: bytes,
    file_name: str,
    *,
    imported_by: str,
    fields: ReportFields | None = None,
    skip_invalid: bool = False,
    progress: Progress | None = None,
) -> ImportOutcome:
    """Import a reports file (CSV or GeoJSON) as published ``imported`` reports.

    Raises ``ImportRefused`` (nothing stored) when rows are bad and ``skip_invalid`` is off.
    """
    digest = file_sha256(data)
    if _previous_import(session, "reports", digest):
        return ImportOutcome(file_name, already_imported=True)
    parsed = _parse_reports(data, file_name, fields or ReportFields())
    import_id = _record_import(
        session, kind="reports", digest=digest, file_name=file_name, by=imported_by
    )
    # The good rows are staged even when some are bad, so that rows outside the service area
    # are named in the same refusal; but then they are only checked, never inserted.
    refused = bool(parsed.problems) and not skip_invalid
    result = store_reports(
        session,
        parsed.frame,
        source="imported",
        status="published",
        import_id=import_id,
        skip_outside=skip_invalid,
        progress=progress,
        return_ids=False,
        check_only=refused,
    )
    problems = sorted([*parsed.problems, *result.outside], key=lambda p: p.line)
    if problems and not skip_invalid:
        raise ImportRefused(file_name, problems)
    _finish_import(session, import_id, result.stored, len(problems))
    return ImportOutcome(
        file_name,
        already_imported=False,
        stored=result.stored,
        skipped=len(problems),
        rejected=problems,
    )


def write_rejects(path: Path, problems: list[RowProblem]) -> None:
    """Write skipped rows (line and reason) to a CSV a person can fix and re-import."""
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["line", "reason"])
        writer.writerows((p.line, p.reason) for p in problems)


# -- police.uk crimes ------------------------------------------------------------------------


def import_crimes(
    session: Session,
    path: Path,
    *,
    imported_by: str,
    progress: Progress | None = None,
) -> ImportOutcome:
    """Import a police.uk file (bulk CSV or API JSON) into ``crimes``.

    Rows without a location are counted and skipped; points outside every ward are kept
    with no ward. Neither is an error.
    """
    data = path.read_bytes()
    digest = file_sha256(data)
    if _previous_import(session, "crimes", digest):
        return ImportOutcome(path.name, already_imported=True)
    try:
        crime_file = read_police_uk(path)
    except CrimeFileError as exc:
        raise InvalidInput(str(exc)) from None
    active = require_active_ward_set(session)
    import_id = _record_import(
        session, kind="crimes", digest=digest, file_name=path.name, by=imported_by
    )
    session.execute(
        text(
            "CREATE TEMP TABLE crime_staging (line integer PRIMARY KEY, crime_id text, "
            "police_uk_id text, month date, crime_type text, falls_within text, lsoa_code text, "
            "lsoa_name text, street_name text, outcome text, geom geometry(Point, 4326)) "
            "ON COMMIT DROP"
        )
    )
    frame = crime_file.crimes
    staging = (
        frame[[c for c in CRIME_COLUMNS if c not in ("lon", "lat")]]
        .assign(month=[m.isoformat() for m in frame["month"]])
        .assign(geom=ewkt_points(frame["lon"], frame["lat"]))
    )
    copy_frame(session, "crime_staging", staging, progress=progress)
    session.execute(text("CREATE INDEX ON crime_staging USING gist (geom)"))
    session.execute(text("ANALYZE crime_staging"))
    compute_ward_hits(
        session,
        WardAssignedTable("crime_staging", key_column="line"),
        set_id=active.id,
        into="crime_hits",
    )
    stored = session.execute(
        text(
            "INSERT INTO crimes (crime_id, police_uk_id, month, crime_type, falls_within, "
            "  lsoa_code, lsoa_name, street_name, outcome, geom, ward_code, borough_code, "
            "  import_id) "
            "SELECT s.crime_id, s.police_uk_id, s.month, s.crime_type, s.falls_within, "
            "  s.lsoa_code, s.lsoa_name, s.street_name, s.outcome, s.geom, h.code, "
            "  h.borough_code, :import_id "
            "FROM crime_staging s LEFT JOIN crime_hits h ON h.key = s.line ORDER BY s.line"
        ),
        {"import_id": import_id},
    ).rowcount  # type: ignore[attr-defined]
    session.execute(text("DROP TABLE crime_hits, crime_staging"))
    _finish_import(session, import_id, stored, crime_file.skipped_no_location)
    return ImportOutcome(
        path.name,
        already_imported=False,
        stored=stored,
        skipped=crime_file.skipped_no_location,
    )
