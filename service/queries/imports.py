"""Whole-file imports of reports and police.uk crimes: all or nothing, once per file content.

A file is read and validated in Python (vectorised, a chunk of rows at a time), copied into
PostGIS with COPY, given its wards there, and inserted in the caller's transaction. A file
whose rows were imported before adds nothing, however it was saved: besides the bytes' hash,
each import keeps a digest of its parsed rows, normalised and sorted, so line endings, the
encoding or the order of rows and columns do not make old rows new. With bad rows nothing is
stored, unless the caller asks to skip them; the bad rows are counted per kind of problem and
the first few of each kind named (every one can be written to a rejects file as found).
"""

from __future__ import annotations

import csv
import hashlib
import heapq
import json
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from sqlalchemy import text
from sqlalchemy.orm import Session

from geo.crimes import CRIME_COLUMNS, CrimeFileError, read_police_uk
from geo.crimes import file_sha256 as crime_file_sha256
from geo.problems import ProblemTally
from geo.reports import (
    COLUMNS,
    ReportRows,
    RowProblem,
    encoding_advice,
    iter_report_csv,
    parse_report_features,
)
from service.errors import InvalidInput
from service.queries.bulk import Progress, copy_frame, ewkt_points
from service.queries.reports import OUTSIDE_KIND, store_reports
from service.queries.wards import WardAssignedTable, compute_ward_hits, require_active_ward_set
from service.taxonomy import SLUGS


class ImportRefused(InvalidInput):
    """A file with bad rows: nothing was stored; ``tally`` counts them per kind of problem.

    The answer stays small however many rows are bad: the row counts per kind, and the first
    rows of each kind (``problems``).
    """

    def __init__(self, file_name: str, tally: ProblemTally, rows_read: int) -> None:
        super().__init__(
            f"{file_name}: {tally.bad_rows:,} bad rows, nothing stored (of {rows_read:,} rows); "
            "fix them, or import with --skip-invalid to store the good rows, and with "
            "--rejects FILE to list every bad row",
            bad_rows=tally.bad_rows,
            rows_read=rows_read,
            problem_kinds=[{"kind": k.kind, "rows": k.rows} for k in tally.kinds()],
            problems=[{"line": p.line, "reason": p.reason} for p in tally.shown()],
        )
        self.file_name = file_name
        self.tally = tally

    @property
    def problems(self) -> list[RowProblem]:
        """The first rows of each kind of problem, in line order."""
        return self.tally.shown()


@dataclass(frozen=True)
class ImportOutcome:
    """What importing one file did.

    ``skipped`` counts the rows left out; ``rejected`` holds the first of them of each kind
    of problem (all of them go to the rejects file, when one is asked for), ``kinds`` the row
    count of each kind.
    """

    file_name: str
    already_imported: bool
    stored: int = 0
    skipped: int = 0
    rejected: list[RowProblem] = field(default_factory=list)
    kinds: list[tuple[str, int]] = field(default_factory=list)


@dataclass(frozen=True)
class ReportFields:
    """Column names of a reports CSV, when they differ from the defaults."""

    lon: str = "lon"
    lat: str = "lat"
    easting: str = "easting"
    northing: str = "northing"


def file_sha256(data: bytes) -> str:
    """The hash of a file's bytes: a file imported before is known without reading it."""
    return hashlib.sha256(data).hexdigest()


def rows_digest(rows: pd.DataFrame, *, kind: str) -> str:
    """A digest of parsed rows that does not depend on how their file was written.

    Each row (without its line number) is hashed from normalised values -- coordinates
    rounded to 1e-7 degrees (about a centimetre), category lists sorted, times as UTC
    instants -- and the row hashes are sorted before they are hashed together, so CRLF line
    endings, another encoding, reordered columns or rows give the same digest. ``kind``
    ('reports' or 'crimes') and a version are hashed in too.
    """
    values: dict[str, pd.Series] = {}
    for name in rows.columns:
        if name == "line":
            continue
        column = rows[name]
        if name in ("lon", "lat"):
            values[name] = column.astype(float).round(7)
        elif name == "categories":
            values[name] = column.map(lambda slugs: ";".join(sorted(slugs)))
        elif name == "occurred_at":
            values[name] = column.map(lambda at: "" if pd.isna(at) else at.isoformat())
        else:
            values[name] = column.map(lambda value: "" if value is None else str(value))
    normalised = pd.DataFrame(values)[sorted(values)]
    row_hashes = np.sort(pd.util.hash_pandas_object(normalised, index=False).to_numpy())
    digest = hashlib.sha256(f"{kind} rows v1 {','.join(sorted(values))}\n".encode())
    digest.update(row_hashes.astype("<u8").tobytes())
    return digest.hexdigest()


def _previous_import(
    session: Session, kind: str, *, digest: str | None = None, content: str | None = None
) -> bool:
    column, value = ("sha256", digest) if content is None else ("content_sha256", content)
    return (
        session.execute(
            text(f"SELECT 1 FROM imports WHERE kind = :kind AND {column} = :value"),
            {"kind": kind, "value": value},
        ).first()
        is not None
    )


def _record_import(
    session: Session, *, kind: str, digest: str, content: str | None, file_name: str, by: str
) -> int:
    return int(
        session.execute(
            text(
                "INSERT INTO imports (kind, sha256, content_sha256, file_name, rows_stored, "
                "rows_skipped, imported_by) VALUES (:kind, :sha, :content, :name, 0, 0, :by) "
                "RETURNING id"
            ),
            {"kind": kind, "sha": digest, "content": content, "name": file_name, "by": by},
        ).scalar_one()
    )


class RejectsFile:
    """Every bad row of an import, written to a CSV in line order without holding them all.

    Problems that come in line order (a file's chunks, one after another) go straight to a
    temporary file; the few that come late (rows found outside the service area after the
    whole file was read) are kept and merged in when the file is written.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.count = 0
        # Closed by write(), which every import calls in a finally.
        self._spool = tempfile.TemporaryFile("w+", newline="", encoding="utf-8")  # noqa: SIM115
        self._writer = csv.writer(self._spool)
        self._last_line = 0
        self._late: list[RowProblem] = []

    def add(self, problem: RowProblem) -> None:
        """Take one bad row's problem."""
        self.count += 1
        if problem.line >= self._last_line:
            self._last_line = problem.line
            self._writer.writerow((problem.line, problem.reason))
        else:
            self._late.append(problem)

    def write(self) -> None:
        """Write the CSV (``line,reason``), if there was any bad row, and let the spool go."""
        try:
            if not self.count:
                return
            self._spool.seek(0)
            spooled = ((int(line), reason) for line, reason in csv.reader(self._spool))
            # (line, reason) pairs: merged by line, the reason only ordering one line's problems.
            late = sorted((p.line, p.reason) for p in self._late)
            with self.path.open("w", newline="", encoding="utf-8") as handle:
                writer = csv.writer(handle)
                writer.writerow(["line", "reason"])
                writer.writerows(heapq.merge(spooled, late))
        finally:
            self._spool.close()


def _finish_import(session: Session, import_id: int, stored: int, skipped: int) -> None:
    session.execute(
        text("UPDATE imports SET rows_stored = :s, rows_skipped = :k WHERE id = :id"),
        {"s": stored, "k": skipped, "id": import_id},
    )


def _parse_reports(data: bytes, file_name: str, fields: ReportFields) -> Iterator[ReportRows]:
    """The file's rows checked, a chunk at a time (GeoJSON in one)."""
    suffix = Path(file_name).suffix.lower()
    if suffix in (".geojson", ".json"):
        try:
            collection = json.loads(data)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise InvalidInput(f"{file_name} is not valid JSON: {exc}") from None
        try:
            yield parse_report_features(collection, categories=SLUGS)
        except ValueError as exc:
            raise InvalidInput(f"{file_name}: {exc}") from None
        return
    if suffix != ".csv":
        raise InvalidInput(
            f"{file_name}: reports are imported from .csv or .geojson files, not {suffix or 'this'}"
        )
    chunks = iter_report_csv(
        data,
        categories=SLUGS,
        lon_field=fields.lon,
        lat_field=fields.lat,
        easting_field=fields.easting,
        northing_field=fields.northing,
    )
    while True:
        try:
            chunk = next(chunks)
        except StopIteration:
            return
        # The reading errors first: pandas' ParserError and UnicodeDecodeError are ValueErrors.
        except UnicodeDecodeError as exc:
            raise InvalidInput(
                f"{file_name} is not a readable UTF-8 CSV: {encoding_advice(data)} ({exc})"
            ) from None
        except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
            raise InvalidInput(f"{file_name} is not a readable UTF-8 CSV: {exc}") from None
        except ValueError as exc:
            raise InvalidInput(f"{file_name}: {exc}") from None
        yield chunk


def _read_reports(chunks: Iterable[ReportRows], tally: ProblemTally) -> tuple[pd.DataFrame, int]:
    """The good rows of every chunk in one frame, and how many rows were read in all.

    Bad rows go to the tally as each chunk is read, so only their count and first few stay.
    """
    frames = []
    rows_read = 0
    for chunk in chunks:
        tally.add(chunk.problems)
        rows_read += len(chunk.frame) + len({p.line for p in chunk.problems})
        frames.append(chunk.frame)
    good = [frame for frame in frames if len(frame)]
    if not good:
        return pd.DataFrame({name: pd.Series(dtype=object) for name in COLUMNS}), rows_read
    return (good[0] if len(good) == 1 else pd.concat(good, ignore_index=True)), rows_read


def import_reports(
    session: Session,
    data: bytes,
    file_name: str,
    *,
    imported_by: str,
    fields: ReportFields | None = None,
    skip_invalid: bool = False,
    progress: Progress | None = None,
    rejects: Path | None = None,
) -> ImportOutcome:
    """Import a reports file (CSV or GeoJSON) as published ``imported`` reports.

    Raises ``ImportRefused`` (nothing stored) when rows are bad and ``skip_invalid`` is off.
    With ``rejects``, every bad row (line and reason) is written there, refused or not, in
    line order, for a person to fix and import again. A file whose rows were all imported
    before (the same bytes, or the same rows however written) adds nothing.
    """
    digest = file_sha256(data)
    if _previous_import(session, "reports", digest=digest):
        return ImportOutcome(file_name, already_imported=True)
    sink = RejectsFile(rejects) if rejects is not None else None
    tally = ProblemTally(sink=sink.add if sink is not None else None)
    try:
        rows, rows_read = _read_reports(
            _parse_reports(data, file_name, fields or ReportFields()), tally
        )
        if rows_read == 0:
            # Most often the wrong file or an export that failed: say so rather than store
            # an import of nothing.
            raise InvalidInput(
                f"{file_name}: the file holds no reports (a header and no rows, or a "
                "FeatureCollection with no features): nothing was stored; check that it is "
                "the file you meant to import"
            )
        # No good rows: nothing to recognise again (and every such file would look alike).
        content = rows_digest(rows, kind="reports") if len(rows) else None
        if content is not None and _previous_import(session, "reports", content=content):
            return ImportOutcome(file_name, already_imported=True)
        import_id = _record_import(
            session,
            kind="reports",
            digest=digest,
            content=content,
            file_name=file_name,
            by=imported_by,
        )
        # The good rows are staged even when some are bad, so that rows outside the service
        # area are named in the same refusal; but then they are only checked, never inserted.
        refused = tally.bad_rows > 0 and not skip_invalid
        result = store_reports(
            session,
            rows,
            source="imported",
            status="published",
            import_id=import_id,
            skip_outside=skip_invalid,
            progress=progress,
            return_ids=False,
            check_only=refused,
        )
        tally.add(result.outside, kind=OUTSIDE_KIND)
    finally:
        if sink is not None:
            sink.write()
    if tally.bad_rows and not skip_invalid:
        raise ImportRefused(file_name, tally, rows_read)
    _finish_import(session, import_id, result.stored, tally.bad_rows)
    return ImportOutcome(
        file_name,
        already_imported=False,
        stored=result.stored,
        skipped=tally.bad_rows,
        rejected=tally.shown(),
        kinds=[(k.kind, k.rows) for k in tally.kinds()],
    )


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
    digest = crime_file_sha256(path)
    if _previous_import(session, "crimes", digest=digest):
        return ImportOutcome(path.name, already_imported=True)
    try:
        crime_file = read_police_uk(path)
    except CrimeFileError as exc:
        raise InvalidInput(str(exc)) from None
    content = rows_digest(crime_file.crimes, kind="crimes") if len(crime_file.crimes) else None
    if content is not None and _previous_import(session, "crimes", content=content):
        return ImportOutcome(path.name, already_imported=True)
    active = require_active_ward_set(session)
    import_id = _record_import(
        session,
        kind="crimes",
        digest=digest,
        content=content,
        file_name=path.name,
        by=imported_by,
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
