"""police.uk street-level crimes read into one tidy frame, from either published format.

police.uk crimes are *context* on the ward maps, shown beside (never mixed with) the
anonymous "I felt unsafe here" reports. They arrive in two shapes:

* the bulk-download CSV (``data.police.uk/data``), one file per force and month, columns
  ``Crime ID, Month, Reported by, Falls within, Longitude, Latitude, Location, LSOA code,
  LSOA name, Crime type, Last outcome category, Context``;
* the API JSON (``/api/crimes-street/...``), a list of objects with a ``category`` slug,
  ``location.latitude/longitude`` as strings, ``location.street.name``, ``month``,
  ``persistent_id``, ``id`` and ``outcome_status``.

:func:`read_police_uk` turns either into a :class:`CrimeFile` whose ``crimes`` frame has
the columns of the ``crimes`` table (:data:`CRIME_COLUMNS`), with the crime type always
as the bulk CSV's label. Rows police.uk publishes without a location are counted and
skipped; points outside London are kept (ward assignment decides). Everything here is
pure pandas: no database, no network.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import numpy as np
import pandas as pd

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
    if fmt == FORMAT_BULK_CSV:
        raw, rows_read = _read_bulk_csv(file)
    else:
        raw, rows_read = _read_api_json(file)
    crimes, skipped = _finish(raw, file)
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


# --- bulk CSV -----------------------------------------------------------------------------


def _read_bulk_csv(file: Path) -> tuple[pd.DataFrame, int]:
    try:
        frame = pd.read_csv(
            file,
            dtype=str,
            keep_default_na=False,
            na_filter=False,
            encoding="utf-8-sig",
        )
    except UnicodeDecodeError as exc:
        raise CrimeFileError(
            f"{file.name}: not UTF-8 text ({exc.reason} at byte {exc.start}); police.uk "
            "CSVs are UTF-8, so download the file again rather than re-saving it"
        ) from None
    except pd.errors.EmptyDataError:
        raise CrimeFileError(
            f"{file.name}: the file is empty; a police.uk CSV has at least the header line"
        ) from None
    except pd.errors.ParserError as exc:
        raise CrimeFileError(
            f"{file.name}: not a well-formed CSV ({exc}); download the file again"
        ) from None

    missing = [name for name in CSV_REQUIRED_COLUMNS if name not in frame.columns]
    if missing:
        hint = ""
        if {"category", "latitude", "longitude"} <= set(frame.columns):
            hint = " (this looks like a flattened API response: read the original .json)"
        raise CrimeFileError(
            f"{file.name}: missing column(s) {', '.join(repr(m) for m in missing)}{hint}; "
            "give the police.uk bulk-download CSV with its header unchanged: "
            f"{', '.join(CSV_REQUIRED_COLUMNS)}"
        )

    # Physical line numbers: the header is line 1; a quoted field holding newlines makes
    # its record span more than one line.
    extra_lines = np.zeros(len(frame), dtype=np.int64)
    for name in frame.columns:
        extra_lines += frame[name].str.count("\n").to_numpy(dtype=np.int64)
    record_lines = 1 + extra_lines
    starts = 2 + np.cumsum(record_lines) - record_lines
    line = pd.Series(starts.astype(np.int64), index=frame.index)

    crime_type = frame["Crime type"].str.strip()
    _refuse_lines(
        file,
        line,
        ~crime_type.isin(_CRIME_LABELS),
        crime_type,
        "unknown Crime type",
        "police.uk's 14 crime types are " + ", ".join(sorted(_CRIME_LABELS)),
    )
    raw = pd.DataFrame(
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
    return raw, len(frame)


# --- API JSON -----------------------------------------------------------------------------


def _read_api_json(file: Path) -> tuple[pd.DataFrame, int]:
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
    category = raw.pop("category")
    _refuse_lines(
        file,
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
    return raw, len(items)


def _text(value: object) -> str:
    return "" if value is None else str(value).strip()


# --- shared checks ------------------------------------------------------------------------


def _finish(raw: pd.DataFrame, file: Path) -> tuple[pd.DataFrame, int]:
    line = raw["line"]
    month = pd.to_datetime(raw["month_text"], format="%Y-%m", errors="coerce")
    _refuse_lines(
        file,
        line,
        month.isna(),
        raw["month_text"],
        "bad month",
        "police.uk months are written YYYY-MM, e.g. 2019-07",
    )

    lon_blank = raw["lon_text"] == ""
    lat_blank = raw["lat_text"] == ""
    _refuse_lines(
        file,
        line,
        lon_blank != lat_blank,
        raw["lon_text"] + "," + raw["lat_text"],
        "only one of longitude/latitude given",
        "police.uk leaves both blank for a crime without a location; restore the file",
    )
    located = ~lon_blank
    lon = pd.to_numeric(raw["lon_text"].where(located), errors="coerce")
    lat = pd.to_numeric(raw["lat_text"].where(located), errors="coerce")
    _refuse_lines(
        file,
        line,
        located & (lon.isna() | lat.isna()),
        raw["lon_text"] + "," + raw["lat_text"],
        "non-numeric longitude/latitude",
        "coordinates must be decimal degrees, e.g. -0.1136,51.5033",
    )
    _refuse_lines(
        file,
        line,
        located & ~(lon.between(-180.0, 180.0) & lat.between(-90.0, 90.0)),
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


def _refuse_lines(
    file: Path,
    line: pd.Series,
    bad: pd.Series,
    value: pd.Series,
    problem: str,
    fix: str,
) -> None:
    if not bad.any():
        return
    lines = line[bad].tolist()
    values = value[bad].tolist()
    shown = "; ".join(
        f"line {n}: {v!r}" for n, v in zip(lines[:_SHOWN_LINES], values[:_SHOWN_LINES], strict=True)
    )
    more = f" and {len(lines) - _SHOWN_LINES} more" if len(lines) > _SHOWN_LINES else ""
    raise CrimeFileError(f"{file.name}: {problem} at {shown}{more}; {fix}")


def _show(numbers: list[int]) -> str:
    head = ", ".join(str(n) for n in numbers[:_SHOWN_LINES])
    return head + (
        f" and {len(numbers) - _SHOWN_LINES} more" if len(numbers) > _SHOWN_LINES else ""
    )
