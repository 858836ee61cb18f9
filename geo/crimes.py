"""police.uk street-level crimes read into one tidy frame, from either published format.

police.uk crimes are *context* on the ward maps, shown beside (never mixed with) the
anonymous "I felt unsafe here" reports. They arrive in these shapes:

* the bulk-download CSV (``data.police.uk/data``), one file per force and month, columns
  ``Crime ID, Month, Reported by, Falls within, Longitude, Latitude, Location, LSOA code,
  LSOA name, Crime type, Last outcome category, Context``;
* the API JSON (``/api/crimes-street/...``), a list of objects with a ``category`` slug,
  ``location.latitude/longitude`` as strings, ``location.street.name``, ``month``,
  ``persistent_id``, ``id`` and ``outcome_status``;
* that JSON flattened to CSV by common tools, either with columns ``lat, lng,
  street_name`` (and ``outcome_status`` as the object's text) or ``latitude, longitude,
  street_name, outcome_category``; months may be written ``YYYY-MM-01``.

:func:`read_police_uk` turns either into a :class:`CrimeFile` whose ``crimes`` frame has
the columns of the ``crimes`` table (:data:`CRIME_COLUMNS`), with the crime type always
as the bulk CSV's label. Rows police.uk publishes without a location are counted and
skipped; points outside London are kept (ward assignment decides). CSVs are read a chunk of
rows at a time, and a file with bad rows is refused with the rows counted per kind of
problem and the first of each named, so a large file of garbage costs neither gigabytes of
memory nor of messages. Everything here is pure pandas: no database, no network.
"""

from __future__ import annotations

import ast
import hashlib
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import numpy as np
import pandas as pd

from geo.problems import SHOWN_PER_KIND, ProblemTally
from geo.reports import RowProblem

__all__ = [
    "CRIME_COLUMNS",
    "CRIME_TYPES",
    "CSV_REQUIRED_COLUMNS",
    "FORMAT_API_JSON",
    "FORMAT_BULK_CSV",
    "CrimeFile",
    "CrimeFileError",
    "file_sha256",
    "read_police_uk",
]

#: API category slug -> the bulk CSV's ``Crime type`` label (the 14 current police.uk types).
CRIME_TYPES: Final[dict[str, str]] = {
    "anti-social-behaviour": "Anti-social behaviour",
    "bicycle-theft": "Bicycle theft",
    "burglary": "Burglary",
    "criminal-damage-arson": "Criminal damage and arson",
    "drugs": "Drugs",
    "other-theft": "Other theft",
    "possession-of-weapons": "Possession of weapons",
    "public-order": "Public order",
    "robbery": "Robbery",
    "shoplifting": "Shoplifting",
    "theft-from-the-person": "Theft from the person",
    "vehicle-crime": "Vehicle crime",
    "violent-crime": "Violence and sexual offences",
    "other-crime": "Other crime",
}

#: Value of :attr:`CrimeFile.format` for a bulk-download CSV.
FORMAT_BULK_CSV: Final = "bulk_csv"
#: Value of :attr:`CrimeFile.format` for an API JSON response.
FORMAT_API_JSON: Final = "api_json"

#: The columns of :attr:`CrimeFile.crimes`, in order.
CRIME_COLUMNS: Final[tuple[str, ...]] = (
    "line",
    "crime_id",
    "police_uk_id",
    "month",
    "crime_type",
    "falls_within",
    "lsoa_code",
    "lsoa_name",
    "street_name",
    "outcome",
    "lon",
    "lat",
)

#: Bulk CSV columns the reader uses; ``Reported by`` and ``Context`` may be absent.
CSV_REQUIRED_COLUMNS: Final[tuple[str, ...]] = (
    "Crime ID",
    "Month",
    "Falls within",
    "Longitude",
    "Latitude",
    "Location",
    "LSOA code",
    "LSOA name",
    "Crime type",
    "Last outcome category",
)

# API ``location_type``: "Force" is one of the local forces (which one the API does not
# say), "BTP" means British Transport Police recorded it.
_API_LOCATION_TYPE_FORCE: Final[dict[str, str]] = {
    "Force": "",
    "BTP": "British Transport Police",
}

_API_REQUIRED_KEYS: Final[tuple[str, ...]] = ("category", "month", "location")
_CRIME_LABELS: Final[frozenset[str]] = frozenset(CRIME_TYPES.values())
_SHOWN_LINES: Final = 5
_HASH_CHUNK: Final = 1 << 20
#: CSV rows read and checked at a time: a chunk's strings stay in the tens of megabytes.
CHUNK_ROWS: Final = 50_000

# The API JSON flattened to CSV: (name, columns it must have, its columns -> the reader's).
# ``outcome`` is the outcome category, ``outcome_status`` the whole outcome object as text.
_FLAT_SHAPES: Final[tuple[tuple[str, tuple[str, ...], dict[str, str]], ...]] = (
    (
        "the API JSON flattened with lat, lng, street_name",
        ("category", "month", "lat", "lng"),
        {"lat": "lat", "lng": "lon", "outcome_status": "outcome_status"},
    ),
    (
        "the API JSON flattened with latitude, longitude, street_name, outcome_category",
        ("category", "month", "latitude", "longitude"),
        {"latitude": "lat", "longitude": "lon", "outcome_category": "outcome"},
    ),
)
_SHAPES_READ: Final = (
    "the shapes read are: the police.uk bulk-download CSV (header "
    + ", ".join(CSV_REQUIRED_COLUMNS)
    + "); the crimes-street API response as .json; "
    + "; ".join(f"{name} (at least {', '.join(needed)})" for name, needed, _ in _FLAT_SHAPES)
)


class CrimeFileError(ValueError):
    """A police.uk crime file that cannot be read; the message says what and how to fix it."""


@dataclass(frozen=True)
class CrimeFile:
    """The located crimes of one police.uk file, and what was left out.

    Attributes
    ----------
    crimes : pandas.DataFrame
        One row per located crime, columns :data:`CRIME_COLUMNS`:

        ``line`` (int)
            Where the row came from: the physical line of the CSV (the header is line 1)
            or the 1-based position in the JSON list.
        ``crime_id`` (str)
            police.uk ``Crime ID`` / API ``persistent_id``; empty for anti-social
            behaviour. Not unique: police.uk repeats some within one month.
        ``police_uk_id`` (str)
            The API's numeric ``id`` as text; empty for the bulk CSV.
        ``month`` (datetime.date)
            First day of the month the crime was recorded in.
        ``crime_type`` (str)
            The bulk CSV label, one of ``CRIME_TYPES.values()``.
        ``falls_within`` (str)
            The force: the CSV's ``Falls within``. The API does not name the force, so
            it is empty there, except ``"British Transport Police"`` when
            ``location_type`` is ``"BTP"``.
        ``lsoa_code``, ``lsoa_name`` (str)
            From the CSV; empty for the API, which has no LSOA.
        ``street_name`` (str)
            police.uk's anonymised place, e.g. ``"On or near Strand"``.
        ``outcome`` (str)
            Last outcome category (API ``outcome_status.category``); empty if none.
        ``lon``, ``lat`` (float)
            WGS84 position (police.uk's snap point). Points outside London are kept.
    rows_read : int
        Data rows (CSV lines after the header, or JSON list items) in the file.
    skipped_no_location : int
        Rows published without a location (blank longitude and latitude), not in
        ``crimes``. ``rows_read == len(crimes) + skipped_no_location``.
    format : str
        :data:`FORMAT_BULK_CSV` or :data:`FORMAT_API_JSON`.

    """

    crimes: pd.DataFrame
    rows_read: int
    skipped_no_location: int
    format: str


def read_police_uk(path: str | os.PathLike[str]) -> CrimeFile:
    """Read a police.uk bulk CSV or API JSON file of street-level crimes.

    The format comes from the extension (``.csv`` / ``.json``); any other extension is
    decided by the content (a JSON list starts with ``[``, a bulk CSV has a ``Crime ID``
    header).

    Parameters
    ----------
    path : str or os.PathLike
        The file.

    Returns
    -------
    CrimeFile
        The located crimes plus the counts of rows read and skipped for lacking a
        location.

    Raises
    ------
    CrimeFileError
        If the format is unknown, a CSV lacks required columns (named), the JSON cannot
        be parsed or is not a list of crime objects, or a row has an unknown crime type,
        a bad month, a non-numeric or out-of-range coordinate, or only one of the two
        coordinates (the lines are named).
    OSError
        If the file cannot be opened.

    """
    file = Path(path)
    fmt = _detect_format(file)
    checks = _Checks()
    frames: list[pd.DataFrame] = []
    rows_read = skipped = 0
    chunks = (
        _read_csv_chunks(file, checks) if fmt == FORMAT_BULK_CSV else _read_api_json(file, checks)
    )
    for raw in chunks:
        crimes, skipped_here = _finish(raw, checks)
        checks.flush()
        # A file with a bad row is refused: its rows need not be kept, only counted.
        if not checks.tally.bad_rows:
            frames.append(crimes)
        rows_read += len(raw)
        skipped += skipped_here
    if checks.tally.bad_rows:
        raise CrimeFileError(checks.refusal(file, rows_read))
    crimes = frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)
    crimes.index = pd.RangeIndex(len(crimes))
    return CrimeFile(crimes=crimes, rows_read=rows_read, skipped_no_location=skipped, format=fmt)


def file_sha256(path: str | os.PathLike[str]) -> str:
    """Return the SHA-256 of a file's bytes as lowercase hex, reading it in 1 MiB chunks.

    Used as the ``imports.sha256`` key so the same file is never imported twice.
    """
    digest = hashlib.sha256()
    with Path(path).open("rb") as handle:
        while chunk := handle.read(_HASH_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


# --- format detection -------------------------------------------------------------------


def _detect_format(file: Path) -> str:
    suffix = file.suffix.lower()
    if suffix == ".csv":
        return FORMAT_BULK_CSV
    if suffix == ".json":
        return FORMAT_API_JSON
    with file.open("rb") as handle:
        head = handle.read(4096).lstrip(b"\xef\xbb\xbf \t\r\n")
    if head.startswith(b"["):
        return FORMAT_API_JSON
    if head.split(b"\n", 1)[0].lstrip(b'"').startswith(b"Crime ID"):
        return FORMAT_BULK_CSV
    raise CrimeFileError(
        f"{file.name}: not a police.uk crime file I recognise; give the bulk-download CSV "
        "(header starting 'Crime ID,Month,...') as .csv or the crimes-street API response "
        "(a JSON list) as .json"
    )


# --- CSV: the bulk download, or the API JSON flattened -----------------------------------

# The columns every raw chunk has, whatever the shape, before the shared checks.
_RAW_COLUMNS: Final = (
    "line",
    "crime_id",
    "police_uk_id",
    "month_text",
    "crime_type",
    "falls_within",
    "lsoa_code",
    "lsoa_name",
    "street_name",
    "outcome",
    "lon_text",
    "lat_text",
)


def _read_csv_chunks(file: Path, checks: _Checks) -> Iterator[pd.DataFrame]:
    """The CSV's rows as raw chunks of :data:`CHUNK_ROWS`, in whichever shape the header says."""
    options: dict[str, Any] = {
        "dtype": str,
        "keep_default_na": False,
        "na_filter": False,
        "encoding": "utf-8-sig",
    }
    try:
        header = [str(name) for name in pd.read_csv(file, nrows=0, **options).columns]
        reader = pd.read_csv(file, chunksize=CHUNK_ROWS, **options)
    except UnicodeDecodeError as exc:
        raise _not_utf8(file, exc) from None
    except pd.errors.EmptyDataError:
        raise CrimeFileError(
            f"{file.name}: the file is empty; a police.uk CSV has at least the header line"
        ) from None
    except pd.errors.ParserError as exc:
        raise _malformed(file, exc) from None
    shape = _csv_shape(file, header)
    next_line = 2
    produced = False
    while True:
        try:
            frame = next(reader)
        except StopIteration:
            break
        except UnicodeDecodeError as exc:
            raise _not_utf8(file, exc) from None
        except pd.errors.ParserError as exc:
            raise _malformed(file, exc) from None
        # Physical line numbers: the header is line 1; a quoted field holding newlines makes
        # its record span more than one line.
        extra_lines = np.zeros(len(frame), dtype=np.int64)
        for name in frame.columns:
            extra_lines += frame[name].str.count("\n").to_numpy(dtype=np.int64)
        record_lines = 1 + extra_lines
        starts = next_line + np.cumsum(record_lines) - record_lines
        next_line += int(record_lines.sum())
        line = pd.Series(starts.astype(np.int64), index=frame.index)
        produced = True
        yield (
            _bulk_raw(frame, line, checks)
            if shape is None
            else _flat_raw(frame, line, shape, checks)
        )
    if not produced:
        yield pd.DataFrame({name: pd.Series(dtype=str) for name in _RAW_COLUMNS}).astype(
            {"line": np.int64}
        )


def _not_utf8(file: Path, exc: UnicodeDecodeError) -> CrimeFileError:
    return CrimeFileError(
        f"{file.name}: not UTF-8 text ({exc.reason} at byte {exc.start}); police.uk "
        "CSVs are UTF-8, so download the file again rather than re-saving it"
    )


def _malformed(file: Path, exc: Exception) -> CrimeFileError:
    return CrimeFileError(f"{file.name}: not a well-formed CSV ({exc}); download the file again")


def _csv_shape(file: Path, header: list[str]) -> dict[str, str] | None:
    """None for the bulk CSV, the column mapping of a flattened API shape; else refuse."""
    columns = {name.strip() for name in header}
    if all(name in columns for name in CSV_REQUIRED_COLUMNS):
        return None
    for _name, needed, mapping in _FLAT_SHAPES:
        if all(name in columns for name in needed):
            return mapping
    missing = [name for name in CSV_REQUIRED_COLUMNS if name not in columns]
    raise CrimeFileError(
        f"{file.name}: missing column(s) {', '.join(repr(m) for m in missing)} of the "
        f"bulk-download CSV, and not a flattened API response either; {_SHAPES_READ}. "
        "Give one of these with its header unchanged"
    )


def _bulk_raw(frame: pd.DataFrame, line: pd.Series, checks: _Checks) -> pd.DataFrame:
    """A chunk of the bulk-download CSV as raw text columns, its crime types checked."""
    frame = frame.rename(columns=lambda name: str(name).strip())
    crime_type = frame["Crime type"].str.strip()
    checks.note(
        line,
        ~crime_type.isin(_CRIME_LABELS),
        crime_type,
        "unknown Crime type",
        "police.uk's 14 crime types are " + ", ".join(sorted(_CRIME_LABELS)),
    )
    return pd.DataFrame(
        {
            "line": line,
            "crime_id": frame["Crime ID"].str.strip(),
            "police_uk_id": "",
            "month_text": frame["Month"].str.strip(),
            "crime_type": crime_type,
            "falls_within": frame["Falls within"].str.strip(),
            "lsoa_code": frame["LSOA code"].str.strip(),
            "lsoa_name": frame["LSOA name"].str.strip(),
            "street_name": frame["Location"].str.strip(),
            "outcome": frame["Last outcome category"].str.strip(),
            "lon_text": frame["Longitude"].str.strip(),
            "lat_text": frame["Latitude"].str.strip(),
        },
        index=frame.index,
    )


def _flat_raw(
    frame: pd.DataFrame, line: pd.Series, mapping: dict[str, str], checks: _Checks
) -> pd.DataFrame:
    """A chunk of the API JSON flattened to CSV, as the raw columns the JSON gives."""
    frame = frame.rename(columns=lambda name: str(name).strip())

    def column(name: str) -> pd.Series:
        if name in frame.columns:
            return frame[name].str.strip()
        return pd.Series("", index=frame.index, dtype=object)

    renamed = {target: column(source) for source, target in mapping.items()}
    if "outcome_status" in renamed:
        outcome = renamed.pop("outcome_status").map(_outcome_category)
    else:
        outcome = renamed["outcome"]
    raw = pd.DataFrame(
        {
            "line": line,
            "crime_id": column("persistent_id"),
            "police_uk_id": column("id"),
            "month_text": column("month"),
            "category": column("category"),
            "location_type": column("location_type"),
            "lsoa_code": "",
            "lsoa_name": "",
            "street_name": column("street_name"),
            "outcome": outcome,
            "lon_text": renamed["lon"],
            "lat_text": renamed["lat"],
        },
        index=frame.index,
    )
    return _api_categories(raw, checks)


def _outcome_category(text: str) -> str:
    """The category of an outcome object written as text (JSON or Python), or the text itself.

    Tools flatten ``outcome_status`` as ``{'category': ..., 'date': ...}``, as JSON, or
    leave it blank, ``NA`` or ``None`` when police.uk gave none.
    """
    if text in ("", "NA", "None", "null", "NaN", "nan"):
        return ""
    if not text.startswith("{"):
        return text
    for parse in (json.loads, ast.literal_eval):
        try:
            value = parse(text)
        except (ValueError, SyntaxError, RecursionError, MemoryError, TypeError):
            continue
        if isinstance(value, dict):
            return _text(value.get("category"))
    return text


# --- API JSON -----------------------------------------------------------------------------


def _read_api_json(file: Path, checks: _Checks) -> Iterator[pd.DataFrame]:
    try:
        with file.open("rb") as handle:
            items = json.load(handle)
    except UnicodeDecodeError as exc:
        raise CrimeFileError(
            f"{file.name}: not UTF-8 text ({exc.reason}); save the API response as it came"
        ) from None
    except json.JSONDecodeError as exc:
        raise CrimeFileError(
            f"{file.name}: unreadable JSON ({exc.msg} at line {exc.lineno} column {exc.colno}); "
            "save the police.uk crimes-street API response unchanged"
        ) from None
    if not isinstance(items, list):
        raise CrimeFileError(
            f"{file.name}: the JSON is a {type(items).__name__}, not a list of crimes; give "
            "the crimes-street API response, which is a JSON list"
        )
    bad = [
        i + 1
        for i, item in enumerate(items)
        if not isinstance(item, dict)
        or any(key not in item for key in _API_REQUIRED_KEYS)
        or not isinstance(item["location"], dict | None)
        or not isinstance(item.get("outcome_status"), dict | None)
    ]
    if bad:
        raise CrimeFileError(
            f"{file.name}: item(s) {_show(bad)} are not police.uk crime objects (each needs "
            f"{', '.join(_API_REQUIRED_KEYS)}, with location an object); give the "
            "crimes-street API response unchanged"
        )

    def location(item: dict[str, Any]) -> dict[str, Any]:
        return item["location"] or {}

    def street(item: dict[str, Any]) -> dict[str, Any]:
        value = location(item).get("street")
        return value if isinstance(value, dict) else {}

    def outcome(item: dict[str, Any]) -> dict[str, Any]:
        return item.get("outcome_status") or {}

    raw = pd.DataFrame(
        {
            "line": pd.Series(np.arange(1, len(items) + 1, dtype=np.int64)),
            "crime_id": [_text(item.get("persistent_id")) for item in items],
            "police_uk_id": [_text(item.get("id")) for item in items],
            "month_text": [_text(item["month"]) for item in items],
            "category": [_text(item["category"]) for item in items],
            "location_type": [_text(item.get("location_type")) for item in items],
            "lsoa_code": "",
            "lsoa_name": "",
            "street_name": [_text(street(item).get("name")) for item in items],
            "outcome": [_text(outcome(item).get("category")) for item in items],
            "lon_text": [_text(location(item).get("longitude")) for item in items],
            "lat_text": [_text(location(item).get("latitude")) for item in items],
        },
    )
    if raw.empty:
        raw = raw.astype({"line": np.int64})
    yield _api_categories(raw, checks)


def _api_categories(raw: pd.DataFrame, checks: _Checks) -> pd.DataFrame:
    """Replace the API's category slug and location type by the crime type and force."""
    category = raw.pop("category")
    checks.note(
        raw["line"],
        ~category.isin(CRIME_TYPES.keys()),
        category,
        "unknown category",
        "police.uk's 14 category slugs are " + ", ".join(sorted(CRIME_TYPES)),
    )
    raw.insert(raw.columns.get_loc("month_text") + 1, "crime_type", category.map(CRIME_TYPES))
    location_type = raw.pop("location_type")
    raw.insert(
        raw.columns.get_loc("crime_type") + 1,
        "falls_within",
        location_type.map(_API_LOCATION_TYPE_FORCE).fillna(""),
    )
    return raw


def _text(value: object) -> str:
    return "" if value is None else str(value).strip()


# --- shared checks ------------------------------------------------------------------------


def _finish(raw: pd.DataFrame, checks: _Checks) -> tuple[pd.DataFrame, int]:
    line = raw["line"]
    # Tools that read the month as a date write it back as its first day: 2019-07-01.
    month_text = raw["month_text"].str.replace(r"^(\d{4}-\d{2})-01$", r"\1", regex=True)
    month = pd.to_datetime(month_text, format="%Y-%m", errors="coerce")
    checks.note(
        line,
        month.isna(),
        raw["month_text"],
        "bad month",
        "police.uk months are written YYYY-MM, e.g. 2019-07 (or 2019-07-01)",
    )

    lon_blank = raw["lon_text"] == ""
    lat_blank = raw["lat_text"] == ""
    checks.note(
        line,
        lon_blank != lat_blank,
        raw["lon_text"] + "," + raw["lat_text"],
        "only one of longitude/latitude given",
        "police.uk leaves both blank for a crime without a location; restore the file",
    )
    located = ~lon_blank
    lon = pd.to_numeric(raw["lon_text"].where(located), errors="coerce")
    lat = pd.to_numeric(raw["lat_text"].where(located), errors="coerce")
    checks.note(
        line,
        located & (lon.isna() | lat.isna()),
        raw["lon_text"] + "," + raw["lat_text"],
        "non-numeric longitude/latitude",
        "coordinates must be decimal degrees, e.g. -0.1136,51.5033",
    )
    checks.note(
        line,
        located
        & lon.notna()
        & lat.notna()
        & ~(lon.between(-180.0, 180.0) & lat.between(-90.0, 90.0)),
        raw["lon_text"] + "," + raw["lat_text"],
        "longitude/latitude out of range",
        "longitude must lie in [-180, 180] and latitude in [-90, 90] (WGS84 degrees)",
    )

    crimes = pd.DataFrame(
        {
            "line": line.astype(np.int64),
            "crime_id": raw["crime_id"],
            "police_uk_id": raw["police_uk_id"],
            "month": month.dt.date,
            "crime_type": raw["crime_type"],
            "falls_within": raw["falls_within"],
            "lsoa_code": raw["lsoa_code"],
            "lsoa_name": raw["lsoa_name"],
            "street_name": raw["street_name"],
            "outcome": raw["outcome"],
            "lon": lon.astype(np.float64),
            "lat": lat.astype(np.float64),
        },
        index=raw.index,
    )
    crimes = crimes.loc[located.to_numpy()].reset_index(drop=True)
    return crimes[list(CRIME_COLUMNS)], int((~located).sum())


class _Checks:
    """The problems of a file's rows, gathered a chunk at a time into one bounded tally."""

    def __init__(self) -> None:
        self.tally = ProblemTally(keep=SHOWN_PER_KIND)
        self._fixes: dict[str, str] = {}
        self._chunk: list[RowProblem] = []

    def note(
        self, line: pd.Series, bad: pd.Series, value: pd.Series, problem: str, fix: str
    ) -> None:
        """Note ``problem`` for the rows where ``bad`` holds (only the first few keep a text)."""
        if not bad.any():
            return
        self._fixes.setdefault(problem, fix)
        # Only the rows a tally may show need their value spelt out.
        lines = line[bad].to_numpy(dtype=np.int64)
        shown = value[bad].iloc[:SHOWN_PER_KIND].tolist()
        self._chunk.extend(
            RowProblem(int(n), f"{problem}: {shown[i]!r}" if i < len(shown) else problem)
            for i, n in enumerate(lines)
        )

    def flush(self) -> None:
        """Count the chunk's problems (its rows are no other chunk's)."""
        self.tally.add(self._chunk)
        self._chunk = []

    def refusal(self, file: Path, rows_read: int) -> str:
        """The message refusing the file: each kind's row count, first lines and fix."""
        parts = []
        for kind in self.tally.kinds():
            values = "; ".join(
                f"line {p.line}: {p.reason.removeprefix(kind.kind + ': ')}" for p in kind.first
            )
            more = kind.rows - len(kind.first)
            parts.append(
                f"{kind.kind} at {values}"
                + (f" and {more:,} more" if more > 0 else "")
                + f" ({kind.rows:,} rows); {self._fixes.get(kind.kind, '')}"
            )
        return (
            f"{file.name}: {self.tally.bad_rows:,} bad rows, nothing stored (of {rows_read:,} "
            "rows):\n  " + "\n  ".join(parts)
        )


def _show(numbers: list[int]) -> str:
    head = ", ".join(str(n) for n in numbers[:_SHOWN_LINES])
    return head + (
        f" and {len(numbers) - _SHOWN_LINES} more" if len(numbers) > _SHOWN_LINES else ""
    )
