"""Validate unsafe-place reports from the public form and from CSV or GeoJSON imports.

A report says where someone felt unsafe (a point), why (one or more category slugs), when
(an exact ``occurred_at`` or a ``date`` plus a ``time_band``) and, optionally, in their own
words (``text``). This module turns raw input into a clean frame of good rows plus a list of
every problem found, each with the line it came from, so an import can be refused as a whole
with one complete list of what to fix. It does no database or HTTP work.

Every input form -- a CSV frame, one JSON object, a GeoJSON FeatureCollection -- is first
turned into the same table of strings and then checked by one vectorised code path, so the
rules cannot drift apart between the form and the imports, and a million-row file is checked
with pandas/numpy operations rather than a Python loop per row.

Each column is first factorised into codes and its distinct values, and every string rule is
applied to the distinct values only: a million rows share a few hundred dates, a dozen
category lists and four time bands, so the work per row is a numpy lookup. `parse_report_csv`
goes one step further for files: it reads the coordinates straight to floats and the other
columns as categoricals, and falls back to reading the file as text -- the path whose
messages quote each cell as written -- whenever a coordinate is not plainly a number in range.

Time rules (Europe/London)
--------------------------
* ``occurred_at`` with an offset (``Z``, ``+01:00``) is that instant.
* ``occurred_at`` without an offset is London wall-clock time, GMT or BST as in force then.
* A wall-clock time that happens twice (01:00-01:59 on the last Sunday of October) is read as
  the *first* occurrence, in BST (UTC+1).
* A wall-clock time that never happens (01:00-01:59 on the last Sunday of March) is moved
  forward by the hour the clocks jumped: 01:30 becomes 02:30 BST, i.e. 01:30 UTC -- the
  instant a clock not yet put forward would have shown.
* ``occurred_on`` is the London date of ``occurred_at``, or the given ``date``; it must lie
  between 2000-01-01 and tomorrow (London) inclusive.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from geo.grid import to_wgs84

__all__ = [
    "CHUNK_ROWS",
    "COLUMNS",
    "EARLIEST_DATE",
    "TEXT_LIMIT",
    "TIME_BANDS",
    "ReportRows",
    "RowProblem",
    "clean_text",
    "column_lookup",
    "encoding_advice",
    "find_column",
    "iter_report_csv",
    "locate_rows",
    "parse_report_csv",
    "parse_report_features",
    "parse_report_object",
    "parse_report_rows",
]

TEXT_LIMIT = 1000
TIME_BANDS = ("early_morning", "daytime", "evening", "night")
EARLIEST_DATE = date(2000, 1, 1)
COLUMNS = ("line", "lon", "lat", "categories", "occurred_at", "occurred_on", "time_band", "text")

_LONDON = "Europe/London"
_UTC_UNIT = "datetime64[us, UTC]"
# The fields other than the location, as they are spelt in CSV headers and JSON objects.
_CATEGORIES = "categories"
_OCCURRED_AT = "occurred_at"
_DATE = "date"
_TIME_BAND = "time_band"
_TEXT = "text"
_FIELDS = ("x", "y", _CATEGORIES, _OCCURRED_AT, _DATE, _TIME_BAND, _TEXT)
# The fields other than the location, each read from the column of its own name.
_FIELD_NAMES = {field: field for field in _FIELDS[2:]}

# C0 and C1 controls and DEL, except the newline: it is the one control a person types on
# purpose. Carriage returns and tabs are turned into a newline and a space first, so they
# never glue words together.
_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_DATE_SHAPE = r"\d{4}-\d{2}-\d{2}"
# ISO 8601 date and time to at least the minute; the offset is captured on its own because
# times with and without one are read differently (an instant vs London wall-clock time).
_ISO_SHAPE = (
    r"^(?P<local>\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?)"
    r"(?P<offset>Z|[+-]\d{2}(?::?\d{2})?)?$"
)
_ISO_EXAMPLE = "e.g. 2024-11-05T18:30 for London time or 2024-11-05T18:30Z for UTC"

_LON_RANGE = (-180.0, 180.0)
_LAT_RANGE = (-90.0, 90.0)
# British National Grid bounds (EPSG:27700 area of use, in metres).
_EASTING_RANGE = (0.0, 700_000.0)
_NORTHING_RANGE = (0.0, 1_300_000.0)


@dataclass(frozen=True)
class RowProblem:
    """One thing wrong with one input row.

    Attributes
    ----------
    line : int
        The line it came from: for CSV the file line (header is line 1), for GeoJSON the
        feature index + 1, for a single object 1.
    reason : str
        What was wrong and how to fix it.

    """

    line: int
    reason: str


@dataclass(frozen=True, eq=False)
class ReportRows:
    """The good rows of an input and every problem with the bad ones.

    ``eq=False`` because comparing frames element-wise has no single truth value.

    Attributes
    ----------
    frame : pandas.DataFrame
        Only the good rows, in input order, with the columns in `COLUMNS`: ``line`` (int),
        ``lon`` and ``lat`` (float, WGS84), ``categories`` (list of slugs, de-duplicated,
        first-seen order; rows with the same slugs share one list, so treat it as read-only),
        ``occurred_at`` (UTC timestamp or NaT), ``occurred_on``
        (`datetime.date`, London), ``time_band`` (str or None; None when ``occurred_at`` is
        given) and ``text`` (cleaned str or None).
    problems : tuple of RowProblem
        Every problem found, sorted by line; a row with several faults has several entries.

    """

    frame: pd.DataFrame
    problems: tuple[RowProblem, ...]


def clean_text(value: str | None) -> str | None:
    r"""Return free text made safe to store, or None when nothing is left.

    Carriage returns become newlines, tabs become spaces, every other C0/C1 control
    character and DEL is removed, and the ends are trimmed. The result is never cut short:
    callers compare its length with `TEXT_LIMIT` and report a problem instead.

    Parameters
    ----------
    value : str or None
        The text as given.

    Returns
    -------
    str or None
        The cleaned text, or None when `value` is None or nothing but spaces and controls.

    Raises
    ------
    TypeError
        If `value` is neither a str nor None.

    Examples
    --------
    >>> clean_text("  dark\x00 path\r\nno lights\x7f ")
    'dark path\nno lights'
    >>> clean_text(" \t\x1b ") is None
    True

    """
    if value is None:
        return None
    if not isinstance(value, str):
        raise TypeError(f"text must be a str or None, not {type(value).__name__}")
    cleaned = _CONTROLS.sub("", value.replace("\r\n", "\n").replace("\r", "\n").replace("\t", " "))
    return cleaned.strip() or None


def parse_report_rows(
    raw: pd.DataFrame,
    *,
    categories: Collection[str],
    lon_field: str = "lon",
    lat_field: str = "lat",
    easting_field: str = "easting",
    northing_field: str = "northing",
    first_line: int = 2,
    today: date | None = None,
) -> ReportRows:
    """Check CSV-like rows of reports and split them into good rows and problems.

    Column names are matched ignoring case, surrounding spaces and a byte-order mark. The
    location comes from `lon_field`/`lat_field` (WGS84 degrees) when both columns exist,
    otherwise from `easting_field`/`northing_field` (British National Grid, EPSG:27700,
    metres). ``categories`` is required; the time is ``occurred_at`` or ``date`` +
    ``time_band``; ``text`` is optional. Other columns are ignored.

    Parameters
    ----------
    raw : pandas.DataFrame
        The rows as strings, in file order, as read with ``dtype=str,
        keep_default_na=False`` (missing values are treated as blanks anyway).
    categories : collection of str
        The allowed category slugs (lower-case). A sequence keeps its order in messages.
    lon_field, lat_field, easting_field, northing_field : str
        Names of the location columns.
    first_line : int, default 2
        The file line of the first row (the header is line 1).
    today : datetime.date, optional
        Today's London date, for the no-future-dates rule; the real one by default.

    Returns
    -------
    ReportRows
        The good rows and every problem, each naming its file line.

    Raises
    ------
    ValueError
        For file-level faults that would fail every row: no usable location columns (the
        message names the columns found and the options to choose others), no
        ``categories`` column, no time columns, or two columns with the same name.
    TypeError
        If `raw` is not a DataFrame or `categories` is not a collection of str.

    """
    if not isinstance(raw, pd.DataFrame):
        raise TypeError(f"raw must be a pandas DataFrame, not {type(raw).__name__}")
    if isinstance(first_line, bool) or not isinstance(first_line, int) or first_line < 1:
        raise ValueError(f"first_line must be a positive int, not {first_line!r}")
    allowed = _allowed_slugs(categories)
    columns = _column_lookup(raw)
    grid = _choose_location(columns, lon_field, lat_field, easting_field, northing_field)
    _require_columns(columns)
    x_field, y_field = (easting_field, northing_field) if grid else (lon_field, lat_field)

    cells = _csv_cells(raw, columns, {"x": x_field, "y": y_field, **_FIELD_NAMES})
    lines = np.arange(first_line, first_line + len(raw), dtype=np.int64)
    return _parse(
        cells, lines=lines, grid=grid, allowed=allowed, today=_today(today), problems=_Problems()
    )


def find_column(columns: Mapping[str, Any], name: str) -> Any:
    """The label of the column called ``name`` (ignoring case, spaces and a BOM), or None.

    ``columns`` is a lookup made by `column_lookup`; other importers (asset files, request
    files) guess their columns with these two, so headers are matched as reports' are.
    """
    return columns.get(_normalise_header(name))


def column_lookup(raw: pd.DataFrame) -> dict[str, Any]:
    """Normalised header (lower-case, trimmed, no BOM) to the frame's own column label.

    Raises ``ValueError`` when two columns have the same normalised name.
    """
    return _column_lookup(raw)


def locate_rows(
    raw: pd.DataFrame, x_label: Any, y_label: Any, *, grid: bool, first_line: int = 2
) -> tuple[np.ndarray, np.ndarray, tuple[RowProblem, ...]]:
    """WGS84 ``(lon, lat)`` of each row from two location columns, as reports are placed.

    The same checks and messages as a report's location (blank, not a number, not finite,
    out of range, swapped longitude and latitude), and grid positions (``grid=True``:
    easting/northing metres) converted by OSTN15. Rows with a problem get NaN.

    Examples
    --------
    >>> raw = pd.DataFrame({"lon": ["-0.1136", "x"], "lat": ["51.5033", "51.5"]})
    >>> lon, lat, problems = locate_rows(raw, "lon", "lat", grid=False)
    >>> lon[0], bool(np.isnan(lon[1])), problems[0].line
    (np.float64(-0.1136), True, 3)

    """
    lines = np.arange(first_line, first_line + len(raw), dtype=np.int64)
    problems = _Problems()
    x = _Column.of(raw[x_label], strip=True)
    y = _Column.of(raw[y_label], strip=True)
    lon, lat = _locate(x, y, grid=grid, problems=problems, skip=np.zeros(len(raw), dtype=bool))
    bad = problems.bad(len(raw))
    lon, lat = lon.astype(float), lat.astype(float)
    lon[bad] = np.nan
    lat[bad] = np.nan
    return lon, lat, problems.sorted(lines)


# How reports CSVs are read as text: every cell a string, blanks kept as blanks, a byte-order
# mark dropped. `parse_report_csv`'s answer is by definition that of parsing this reading.
_CSV_TEXT: dict[str, Any] = {"dtype": str, "keep_default_na": False, "encoding": "utf-8-sig"}


def parse_report_csv(
    data: bytes,
    *,
    categories: Collection[str],
    lon_field: str = "lon",
    lat_field: str = "lat",
    easting_field: str = "easting",
    northing_field: str = "northing",
    today: date | None = None,
) -> ReportRows:
    r"""Read a reports CSV file and check it, as `parse_report_rows` does, but faster.

    The answer is exactly that of ``parse_report_rows(pd.read_csv(data, dtype=str,
    keep_default_na=False, encoding="utf-8-sig"), ...)``. For speed the file is first read
    with the coordinates as floats and every other column as a categorical (so each distinct
    string is made once); if that reading fails, or any coordinate is not finite, is outside
    its valid range, or is exactly 0 or 1 (pandas' float reader also turns ``true`` and
    ``false`` into those), the file is read again as text, so that each problem quotes the
    cell as it was written. A clean million-row file is read once, in about a second.

    Parameters
    ----------
    data : bytes
        The file's content, UTF-8 with or without a byte-order mark; the header is line 1.
    categories, lon_field, lat_field, easting_field, northing_field, today
        As for `parse_report_rows`.

    Returns
    -------
    ReportRows
        The good rows and every problem, each naming its file line.

    Raises
    ------
    pandas.errors.ParserError, pandas.errors.EmptyDataError, UnicodeDecodeError
        When the bytes are not a readable UTF-8 CSV, as `pandas.read_csv` raises them.
    ValueError
        For the file-level faults `parse_report_rows` raises for.
    TypeError
        If `data` is not bytes or `categories` is not a collection of str.

    Examples
    --------
    >>> rows = parse_report_csv(
    ...     b"lon,lat,categories,date,time_band\n-0.1136,51.5033,isolated,2025-01-10,night\n"
    ...     b"-0.1,,isolated,2025-01-10,night\n",
    ...     categories=("isolated", "other"),
    ...     today=date(2025, 6, 1),
    ... )
    >>> rows.frame["line"].tolist(), rows.problems[0]
    ([2], RowProblem(line=3, reason='latitude is blank: give degrees north in [-90, 90]'))

    """
    if not isinstance(data, bytes | bytearray | memoryview):
        raise TypeError(f"data must be bytes, not {type(data).__name__}")
    allowed = _allowed_slugs(categories)
    names = (lon_field, lat_field, easting_field, northing_field)
    _check_first_row_width(data)
    fast = _read_numeric_csv(data, *names)
    if fast is None:
        raw = pd.read_csv(io.BytesIO(data), **_CSV_TEXT)
        return parse_report_rows(
            raw,
            categories=allowed,
            lon_field=lon_field,
            lat_field=lat_field,
            easting_field=easting_field,
            northing_field=northing_field,
            today=today,
        )
    raw, grid, x_label, y_label = fast
    columns = _column_lookup(raw)
    x = raw[x_label].to_numpy(dtype=np.float64)
    y = raw[y_label].to_numpy(dtype=np.float64)
    cells = _csv_cells(raw, columns, _FIELD_NAMES)
    return _parse(
        cells,
        lines=np.arange(2, 2 + len(raw), dtype=np.int64),
        grid=grid,
        allowed=allowed,
        today=_today(today),
        problems=_Problems(),
        coordinates=(x, y),
    )


#: Rows `iter_report_csv` reads and checks at a time: the strings and problems of this many
#: rows stay small (tens of MB) however large the file.
CHUNK_ROWS = 50_000


def iter_report_csv(
    data: bytes,
    *,
    categories: Collection[str],
    lon_field: str = "lon",
    lat_field: str = "lat",
    easting_field: str = "easting",
    northing_field: str = "northing",
    today: date | None = None,
    chunk_rows: int = CHUNK_ROWS,
) -> Iterator[ReportRows]:
    r"""Read and check a reports CSV `chunk_rows` rows at a time, for files of any size.

    Each chunk's answer is what `parse_report_csv` answers for those rows, with the file's
    line numbers; the chunks together are the whole file's answer. A whole file of bad rows
    is never held at once: its cells and its problems are made one chunk at a time. Chunks
    are read with float coordinates and categorical text while the coordinates are plain
    numbers in range, and as text (whose messages quote each cell) from the first chunk
    that is not.

    Parameters
    ----------
    data : bytes
        The file's content, UTF-8 with or without a byte-order mark; the header is line 1.
    categories, lon_field, lat_field, easting_field, northing_field, today
        As for `parse_report_rows`.
    chunk_rows : int, default CHUNK_ROWS
        Rows per chunk.

    Yields
    ------
    ReportRows
        The good rows and the problems of one chunk; at least one (empty) for a file with a
        header alone.

    Raises
    ------
    pandas.errors.ParserError, pandas.errors.EmptyDataError, UnicodeDecodeError
        When the bytes are not a readable UTF-8 CSV (possibly after some chunks).
    ValueError
        For the file-level faults `parse_report_rows` raises for, before any chunk, or a
        `chunk_rows` below 1.

    Examples
    --------
    >>> chunks = iter_report_csv(
    ...     b"lon,lat,categories,date,time_band\n-0.1136,51.5033,isolated,2025-01-10,night\n"
    ...     b"-0.1,x,isolated,2025-01-10,night\n",
    ...     categories=("isolated",), today=date(2025, 6, 1), chunk_rows=1,
    ... )
    >>> [(c.frame["line"].tolist(), [p.line for p in c.problems]) for c in chunks]
    [([2], []), ([], [3])]

    """
    if not isinstance(data, bytes | bytearray | memoryview):
        raise TypeError(f"data must be bytes, not {type(data).__name__}")
    if isinstance(chunk_rows, bool) or not isinstance(chunk_rows, int) or chunk_rows < 1:
        raise ValueError(f"chunk_rows must be a positive int, not {chunk_rows!r}")
    allowed = _allowed_slugs(categories)
    day = _today(today)
    header = pd.read_csv(io.BytesIO(data), nrows=0, **_CSV_TEXT).columns
    _check_first_row_width(data)
    columns = _column_lookup(pd.DataFrame(columns=header))
    grid = _choose_location(columns, lon_field, lat_field, easting_field, northing_field)
    _require_columns(columns)
    x_field, y_field = (easting_field, northing_field) if grid else (lon_field, lat_field)
    x_label, y_label = columns[_normalise_header(x_field)], columns[_normalise_header(y_field)]
    dtypes: dict[Any, str] = {label: "category" for label in header}
    dtypes[x_label] = dtypes[y_label] = "float64"
    fast = pd.read_csv(io.BytesIO(data), chunksize=chunk_rows, **{**_CSV_TEXT, "dtype": dtypes})
    first = 2
    done = 0
    while True:
        try:
            raw = next(fast)
        except StopIteration:
            break
        except ValueError:  # a coordinate that is not a number: read as text from here
            raw = None
        if raw is None or not _plain(raw, grid, x_label, y_label):
            yield from _text_chunks(
                data,
                chunk_rows,
                skip=done,
                first=first,
                fields=(x_field, y_field),
                grid=grid,
                allowed=allowed,
                today=day,
            )
            return
        x = raw[x_label].to_numpy(dtype=np.float64)
        y = raw[y_label].to_numpy(dtype=np.float64)
        yield _parse(
            _csv_cells(raw, columns, _FIELD_NAMES),
            lines=np.arange(first, first + len(raw), dtype=np.int64),
            grid=grid,
            allowed=allowed,
            today=day,
            problems=_Problems(),
            coordinates=(x, y),
        )
        first += len(raw)
        done += 1
    if done == 0:
        empty = pd.DataFrame({label: pd.Series(dtype=str) for label in header})
        cells = _csv_cells(empty, columns, {"x": x_field, "y": y_field, **_FIELD_NAMES})
        yield _parse(
            cells,
            lines=np.arange(0),
            grid=grid,
            allowed=allowed,
            today=day,
            problems=_Problems(),
        )


def _text_chunks(
    data: bytes,
    chunk_rows: int,
    *,
    skip: int,
    first: int,
    fields: tuple[str, str],
    grid: bool,
    allowed: tuple[str, ...],
    today: date,
) -> Iterator[ReportRows]:
    """The file's chunks after the first `skip`, read as text and checked."""
    names = {"x": fields[0], "y": fields[1], **_FIELD_NAMES}
    for index, raw in enumerate(pd.read_csv(io.BytesIO(data), chunksize=chunk_rows, **_CSV_TEXT)):
        if index < skip:
            continue
        cells = _csv_cells(raw, _column_lookup(raw), names)
        yield _parse(
            cells,
            lines=np.arange(first, first + len(raw), dtype=np.int64),
            grid=grid,
            allowed=allowed,
            today=today,
            problems=_Problems(),
        )
        first += len(raw)


def _plain(raw: pd.DataFrame, grid: bool, x_label: Any, y_label: Any) -> bool:
    """Whether every coordinate read as a float is one the text path would accept silently."""
    x_range, y_range = (_EASTING_RANGE, _NORTHING_RANGE) if grid else (_LON_RANGE, _LAT_RANGE)
    for label, (low, high) in ((x_label, x_range), (y_label, y_range)):
        values = raw[label].to_numpy(dtype=np.float64)
        with np.errstate(invalid="ignore"):
            plain = (values >= low) & (values <= high) & (values != 0.0) & (values != 1.0)
        if not plain.all():
            return False
    return True


def encoding_advice(data: bytes) -> str:
    """What to do about a file that is not UTF-8, by what it looks like; for an error message.

    Excel's "Unicode text" is UTF-16 (it starts with a byte-order mark), and its plain "CSV"
    is Windows-1252 on a British Windows: each needs saving again as "CSV UTF-8".

    Examples
    --------
    >>> encoding_advice("a,b".encode("utf-16"))[:31]
    'the file is UTF-16 (Excel calls'

    """
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        return (
            "the file is UTF-16 (Excel calls it 'Unicode text'): save it again as "
            "'CSV UTF-8 (comma delimited)' and import that"
        )
    return (
        "the file is not UTF-8 (perhaps Latin-1 or Windows-1252, as Excel's plain 'CSV' "
        "is): save it again as 'CSV UTF-8 (comma delimited)' and import that"
    )


def _check_first_row_width(data: bytes) -> None:
    """Raise ParserError when the first row has more cells than the header.

    pandas would take the surplus leading cells as the row's index and read every column
    shifted (a longitude where the categories are); a later row so wide is its own error.
    """
    pd.read_csv(io.BytesIO(data), header=None, nrows=2, **_CSV_TEXT)


def _read_numeric_csv(
    data: bytes, lon: str, lat: str, easting: str, northing: str
) -> tuple[pd.DataFrame, bool, Any, Any] | None:
    """The file with float coordinates and categorical text, or None to read it as text.

    None whenever the quick reading could differ from the text one in any way that matters:
    any reading error (the text reading then raises it, or names the bad cells), or a
    coordinate the text path would have something to say about.
    """
    try:
        header = pd.read_csv(io.BytesIO(data), nrows=0, **_CSV_TEXT).columns
        columns = {_normalise_header(label): label for label in header}
        if len(columns) < len(header):
            return None  # two columns with one name: the text path names them
        grid = _choose_location(columns, lon, lat, easting, northing)
        _require_columns(columns)
        x_label, y_label = (
            (columns[_normalise_header(easting)], columns[_normalise_header(northing)])
            if grid
            else (columns[_normalise_header(lon)], columns[_normalise_header(lat)])
        )
        dtypes: dict[Any, str] = {label: "category" for label in header}
        dtypes[x_label] = dtypes[y_label] = "float64"
        options = {**_CSV_TEXT, "dtype": dtypes}
        raw = pd.read_csv(io.BytesIO(data), **options)
    except ValueError:  # includes ParserError, EmptyDataError and UnicodeDecodeError
        return None
    if not _plain(raw, grid, x_label, y_label):
        return None
    return raw, grid, x_label, y_label


def parse_report_object(
    obj: Mapping[str, Any],
    *,
    categories: Collection[str],
    today: date | None = None,
    for_public: bool = False,
) -> ReportRows:
    """Check one report from the public form: a flat object or a GeoJSON Feature.

    A flat object has ``lon``, ``lat``, ``categories`` (a list or a ``;``-separated
    string), ``occurred_at`` or ``date`` + ``time_band``, and optionally ``text``. A Feature
    has a Point ``geometry`` (``[lon, lat]``) and the other fields in ``properties``. The
    rules are exactly those of `parse_report_rows`, applied to a one-row table; for the
    public, a day after today in London is refused too (imports allow one day's slack for
    files made in other time zones; a person on the form knows what day it is), and the
    problems are said in plain words, without field names or codes.

    Parameters
    ----------
    obj : mapping
        The decoded JSON body.
    categories : collection of str
        The allowed category slugs.
    today : datetime.date, optional
        Today's London date; the real one by default.
    for_public : bool, default False
        A member of the public sent it (the report form): no day after ``today``, and
        problems in plain words.

    Returns
    -------
    ReportRows
        One good row, or no rows and the problems, all on line 1.

    Raises
    ------
    TypeError
        If `categories` is not a collection of str. A body that is not an object is a
        problem in the result, not an exception, since it comes from the public.

    Examples
    --------
    >>> tomorrow = {"lon": -0.1136, "lat": 51.5033, "categories": ["isolated"],
    ...             "date": "2025-06-02", "time_band": "evening"}
    >>> rows = parse_report_object(
    ...     tomorrow, categories=("isolated",), today=date(2025, 6, 1), for_public=True
    ... )
    >>> print(rows.problems[0].reason)  # doctest: +NORMALIZE_WHITESPACE
    The date you gave, 2 June 2025, is after today (1 June 2025 in London): choose today or
    an earlier day.

    """
    allowed = _allowed_slugs(categories)
    day = _today(today)
    table = _Table()
    if isinstance(obj, Mapping) and ("type" in obj or "geometry" in obj):
        table.add_feature(obj)
    else:
        table.add_flat(obj)
    parsed = table.parse(allowed=allowed, today=day)
    if not for_public:
        return parsed
    problems = [RowProblem(p.line, _in_plain_words(p.reason)) for p in parsed.problems]
    after_today = [on for on in parsed.frame["occurred_on"] if on > day]
    problems += [
        RowProblem(
            1,
            f"The date you gave, {_spoken_date(on)}, is after today ({_spoken_date(day)} in "
            "London): choose today or an earlier day.",
        )
        for on in after_today
    ]
    if not problems:
        return parsed
    return ReportRows(frame=parsed.frame.iloc[:0], problems=tuple(dict.fromkeys(problems)))


# What the public are told instead of the rules' own words (which name fields, codes and
# formats for people importing files), by the start of the rule's message.
_PLAIN_WORDS = (
    (
        ("longitude", "latitude", "the Feature", "geometry", "the body"),
        "We could not read the place: choose it on the map again.",
    ),
    (("no category given",), "Choose at least one thing that made you feel unsafe."),
    (
        ("unknown category",),
        "One of the reasons is not one we know: choose from the list on the form.",
    ),
    (("date given without", "unknown time_band"), "Choose the time of day from the list."),
    (("time_band given without",), "Choose the day on the form."),
    (("both occurred_at",), "Give the day and the time of day once only."),
    (("occurred_at", "date"), "We could not read the date: choose a day on the form."),
    (("text is ",), f"Your note is too long: keep it to {TEXT_LIMIT:,} characters."),
    (("text must",), "We could not read your note: type it again."),
)


def _in_plain_words(reason: str) -> str:
    if " is in the future: " in reason:
        return "The date you gave is after today: choose today or an earlier day."
    if f" is before {EARLIEST_DATE.isoformat()}" in reason:
        return f"The date is before {_spoken_date(EARLIEST_DATE)}: choose a later day."
    for starts, plain in _PLAIN_WORDS:
        if reason.startswith(starts):
            return plain
    return reason


def _spoken_date(day: date) -> str:
    return f"{day.day} {day:%B %Y}"


def parse_report_features(
    collection: Mapping[str, Any], *, categories: Collection[str], today: date | None = None
) -> ReportRows:
    """Check a GeoJSON FeatureCollection of reports for import.

    Each feature needs a Point geometry and the report fields in ``properties``, as for
    `parse_report_object`. Line numbers are the feature index + 1.

    Parameters
    ----------
    collection : mapping
        The decoded GeoJSON document.
    categories : collection of str
        The allowed category slugs.
    today : datetime.date, optional
        Today's London date; the real one by default.

    Returns
    -------
    ReportRows
        The good rows and every problem.

    Raises
    ------
    ValueError
        If `collection` is not a FeatureCollection with a ``features`` list (a file-level
        fault).
    TypeError
        If `categories` is not a collection of str.

    """
    allowed = _allowed_slugs(categories)
    if not isinstance(collection, Mapping) or collection.get("type") != "FeatureCollection":
        found = collection.get("type") if isinstance(collection, Mapping) else None
        raise ValueError(
            f"expected a GeoJSON FeatureCollection, found type {found!r}: give an object "
            'with "type": "FeatureCollection" and a "features" list'
        )
    features = collection.get("features")
    if not isinstance(features, list):
        raise ValueError('the FeatureCollection has no "features" list')
    table = _Table()
    for feature in features:
        table.add_feature(feature, in_collection=True)
    return table.parse(allowed=allowed, today=_today(today))


# --- argument checks -------------------------------------------------------------------


def _allowed_slugs(categories: Collection[str]) -> tuple[str, ...]:
    # A str is a Collection of one-letter strings; taking it would accept 'p', 'o', ...
    if isinstance(categories, str | bytes) or not isinstance(categories, Collection):
        raise TypeError("categories must be a collection of slug strings, not a single string")
    slugs = list(categories)
    if not slugs:
        raise ValueError("categories must not be empty")
    for slug in slugs:
        if not isinstance(slug, str):
            raise TypeError(f"category slugs must be str, not {type(slug).__name__}")
        # Input is lower-cased and split on ';' before matching, so such slugs never match.
        if not slug or slug != slug.strip().lower() or ";" in slug:
            raise ValueError(f"category slug {slug!r} must be lower-case, trimmed, without ';'")
    ordered = slugs if isinstance(categories, Sequence) else sorted(slugs)
    return tuple(dict.fromkeys(ordered))


def _today(today: date | None) -> date:
    if today is None:
        return datetime.now(ZoneInfo(_LONDON)).date()
    if isinstance(today, datetime) or not isinstance(today, date):
        raise TypeError(f"today must be a datetime.date, not {type(today).__name__}")
    return today


def _normalise_header(name: object) -> str:
    # Spreadsheet exports add byte-order marks, stray spaces and capitals to headers.
    return str(name).replace("\ufeff", "").strip().lower()


def _column_lookup(raw: pd.DataFrame) -> dict[str, Any]:
    lookup: dict[str, Any] = {}
    for label in raw.columns:
        key = _normalise_header(label)
        if key in lookup:
            raise ValueError(f"columns {lookup[key]!r} and {label!r} have the same name")
        lookup[key] = label
    return lookup


def _choose_location(
    columns: Mapping[str, Any], lon: str, lat: str, easting: str, northing: str
) -> bool:
    """Return True for grid (easting/northing) input, False for lon/lat; raise if neither."""
    if _normalise_header(lon) in columns and _normalise_header(lat) in columns:
        return False
    if _normalise_header(easting) in columns and _normalise_header(northing) in columns:
        return True
    found = ", ".join(repr(str(label)) for label in columns.values()) or "none"
    raise ValueError(
        f"no location columns: need {lon!r} and {lat!r} (WGS84 degrees) or {easting!r} and "
        f"{northing!r} (British National Grid metres); columns found: {found}. Name the "
        "columns with --lon-field/--lat-field or --easting-field/--northing-field"
    )


def _require_columns(columns: Mapping[str, Any]) -> None:
    # Without these columns every row would fail the same way; one file-level message is
    # more use than a million identical row problems.
    if _CATEGORIES not in columns:
        raise ValueError(f"no {_CATEGORIES!r} column: every report needs at least one category")
    if _OCCURRED_AT not in columns and not (_DATE in columns and _TIME_BAND in columns):
        raise ValueError(
            f"no time columns: give {_OCCURRED_AT!r} (ISO 8601) or both {_DATE!r} and "
            f"{_TIME_BAND!r}"
        )


def _csv_cells(
    raw: pd.DataFrame, columns: Mapping[str, Any], names: Mapping[str, str]
) -> dict[str, _Column]:
    """The given fields' columns of a CSV-like frame (blank where the frame has no such column)."""
    cells = {}
    for key, name in names.items():
        label = columns.get(_normalise_header(name))
        cells[key] = (
            _Column.blank(len(raw)) if label is None else _Column.of(raw[label], strip=True)
        )
    return cells


# --- building a table from JSON ----------------------------------------------------------


def _json_scalar(value: Any) -> str:
    """Spell a JSON value as the string a CSV cell would hold, so both share one path."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)  # round-trips exactly, and spells nan/inf for the finite check
    return str(value).strip()


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, Mapping):
        return "an object"
    if isinstance(value, list | tuple):
        return "a list"
    return f"{type(value).__name__} {value!r}"


def _point(geometry: Any) -> tuple[tuple[Any, Any], str | None]:
    """Return the Point's ``(lon, lat)``, or a reason why the geometry is unusable."""
    none = (None, None)
    if not isinstance(geometry, Mapping):
        return none, f"geometry must be a GeoJSON Point, not {_json_type(geometry)}"
    kind = geometry.get("type")
    if kind != "Point":
        return none, f"geometry type {kind!r} is not supported: give a Point at the place"
    coordinates = geometry.get("coordinates")
    # [lon, lat] or [lon, lat, altitude]; an altitude is allowed by GeoJSON and ignored.
    if not isinstance(coordinates, list | tuple) or len(coordinates) not in (2, 3):
        return none, f"Point coordinates must be [longitude, latitude], not {coordinates!r}"
    return (coordinates[0], coordinates[1]), None


class _Table:
    """String cells collected from JSON objects, one report per row, like a CSV frame."""

    def __init__(self) -> None:
        self.cells: dict[str, list[str]] = {key: [] for key in _FIELDS}
        self.problems = _Problems()
        # Rows whose structure is already reported: their missing parts are not reported
        # again as blanks, which would only be noise.
        self.skip_location: list[bool] = []
        self.skip_fields: list[bool] = []

    def add_flat(self, obj: Any) -> None:
        if not isinstance(obj, Mapping):
            self._add_broken(f"a report must be a JSON object, not {_json_type(obj)}")
            return
        self._add(
            obj.get("lon"), obj.get("lat"), obj, location_reported=False, fields_reported=False
        )

    def add_feature(self, obj: Any, *, in_collection: bool = False) -> None:
        if not isinstance(obj, Mapping) or obj.get("type") != "Feature":
            found = repr(obj.get("type")) if isinstance(obj, Mapping) else _json_type(obj)
            what = "each item of features" if in_collection else "a report"
            self._add_broken(
                f'{what} must be a GeoJSON Feature ("type": "Feature" with a Point geometry '
                f"and properties), found type {found}"
            )
            return
        row = len(self.skip_fields)
        point, reason = _point(obj.get("geometry"))
        if reason is not None:
            self.problems.add_one(row, reason)
        properties = obj.get("properties")
        # GeoJSON allows null properties (the fields are then blank and reported as such);
        # anything else that is not an object is reported once, without blank-field noise.
        unusable = properties is not None and not isinstance(properties, Mapping)
        if unusable:
            self.problems.add_one(
                row, f"properties must be an object, not {_json_type(properties)}"
            )
        self._add(
            point[0],
            point[1],
            properties if isinstance(properties, Mapping) else {},
            location_reported=reason is not None,
            fields_reported=unusable,
        )

    def _add_broken(self, reason: str) -> None:
        # The row still exists so that line numbers stay in step with the input.
        self.problems.add_one(len(self.skip_fields), reason)
        for values in self.cells.values():
            values.append("")
        self.skip_location.append(True)
        self.skip_fields.append(True)

    def _add(
        self,
        lon: Any,
        lat: Any,
        fields: Mapping[str, Any],
        *,
        location_reported: bool,
        fields_reported: bool,
    ) -> None:
        row = len(self.skip_fields)
        self.skip_location.append(location_reported)
        self.skip_fields.append(fields_reported)
        self.cells["x"].append(_json_scalar(lon))
        self.cells["y"].append(_json_scalar(lat))
        found = fields.get(_CATEGORIES)
        if isinstance(found, list | tuple):
            self.cells[_CATEGORIES].append(";".join(_json_scalar(item) for item in found))
        else:
            self.cells[_CATEGORIES].append(_json_scalar(found))
        for key in (_OCCURRED_AT, _DATE, _TIME_BAND):
            self.cells[key].append(_json_scalar(fields.get(key)))
        text = fields.get(_TEXT)
        # Free text is never coerced: str() of an object would store something nobody wrote.
        if text is not None and not isinstance(text, str):
            self.problems.add_one(row, f"text must be a string, not {_json_type(text)}")
            text = None
        self.cells[_TEXT].append(text or "")

    def parse(self, *, allowed: tuple[str, ...], today: date) -> ReportRows:
        n = len(self.skip_fields)
        return _parse(
            {
                key: _Column.of(pd.Series(values, dtype=object), strip=False)
                for key, values in self.cells.items()
            },
            lines=np.arange(1, n + 1, dtype=np.int64),
            grid=False,
            allowed=allowed,
            today=today,
            problems=self.problems,
            skip_location=np.asarray(self.skip_location, dtype=bool),
            skip_fields=np.asarray(self.skip_fields, dtype=bool),
        )


# --- the one vectorised check ------------------------------------------------------------


class _Problems:
    """Problems keyed by row position, gathered in blocks; sorted into lines at the end."""

    def __init__(self) -> None:
        self._rows: list[np.ndarray] = []
        self._reasons: list[list[str]] = []

    def add_one(self, row: int, reason: str) -> None:
        self.add_rows(np.array([row], dtype=np.int64), [reason])

    def add_rows(self, rows: np.ndarray, reasons: list[str]) -> None:
        if len(rows):
            self._rows.append(rows.astype(np.int64))
            self._reasons.append(reasons)

    def add(self, mask: np.ndarray, reason: Callable[[int], str]) -> None:
        """Add ``reason(row)`` for each row where `mask` is set: a loop over bad rows only."""
        rows = np.flatnonzero(mask)
        self.add_rows(rows, [reason(int(row)) for row in rows])

    def bad(self, n: int) -> np.ndarray:
        mask = np.zeros(n, dtype=bool)
        for rows in self._rows:
            mask[rows] = True
        return mask

    def sorted(self, lines: np.ndarray) -> tuple[RowProblem, ...]:
        if not self._rows:
            return ()
        rows = np.concatenate(self._rows)
        reasons = [reason for block in self._reasons for reason in block]
        # Stable, so one row's problems keep the order of the checks (location first).
        order = np.argsort(rows, kind="stable")
        return tuple(RowProblem(int(lines[rows[i]]), reasons[i]) for i in order)


@dataclass(frozen=True, eq=False)
class _Column:
    """One field's cells as codes into its distinct values.

    Every string rule runs once per distinct value and is looked up per row by code, so a
    million rows sharing a few hundred dates cost a few hundred string operations.
    """

    codes: np.ndarray  # intp, one per row, indexing `values`
    values: np.ndarray  # object array of str, one per distinct cell (repeats are harmless)

    @classmethod
    def of(cls, series: pd.Series, *, strip: bool) -> _Column:
        """Factorise a column; missing values read as blanks, other values as their str()."""
        if isinstance(series.dtype, pd.CategoricalDtype):
            codes = series.cat.codes.to_numpy().astype(np.intp)
            values = [str(value) for value in series.cat.categories]
        else:
            if not isinstance(series.dtype, pd.StringDtype):
                # str() before hashing: 1, 1.0 and True hash alike but are spelt differently.
                series = series.where(series.notna(), "").astype(str)
            codes, uniques = pd.factorize(series.to_numpy(dtype=object))
            values = list(uniques)
        # Missing values (code -1) point at one extra blank value.
        codes = np.where(codes < 0, len(values), codes).astype(np.intp)
        values.append("")
        if strip:
            values = [value.strip() for value in values]
        return cls(codes, np.array(values, dtype=object))

    @classmethod
    def blank(cls, n: int) -> _Column:
        """A column of n blanks, for a field the input does not have."""
        return cls(np.zeros(n, dtype=np.intp), np.array([""], dtype=object))

    def per_row(self, per_value: np.ndarray) -> np.ndarray:
        """Spread an array computed per distinct value out to one entry per row."""
        return np.asarray(per_value)[self.codes]

    def text(self, row: int) -> str:
        """The cell of one row, for messages."""
        return str(self.values[self.codes[row]])

    def series(self) -> pd.Series:
        """The distinct values as a str Series, for pandas' vectorised string methods."""
        return pd.Series(self.values, dtype="str")


def _parse(
    cells: Mapping[str, _Column],
    *,
    lines: np.ndarray,
    grid: bool,
    allowed: tuple[str, ...],
    today: date,
    problems: _Problems,
    skip_location: np.ndarray | None = None,
    skip_fields: np.ndarray | None = None,
    coordinates: tuple[np.ndarray, np.ndarray] | None = None,
) -> ReportRows:
    n = len(lines)
    no_skip = np.zeros(n, dtype=bool)
    skip_location = no_skip if skip_location is None else skip_location
    skip_fields = no_skip if skip_fields is None else skip_fields
    if coordinates is None:
        lon, lat = _locate(cells["x"], cells["y"], grid=grid, problems=problems, skip=skip_location)
    else:
        lon, lat = _place(*coordinates, grid=grid, problems=problems)
    slug_codes, slug_lists = _categories(cells[_CATEGORIES], allowed, problems, skip=skip_fields)
    occurred_at, occurred_on, band = _when(cells, today, problems, skip=skip_fields)
    text = _text(cells[_TEXT], problems)
    good = ~problems.bad(n)
    frame = pd.DataFrame(
        {
            "line": lines[good],
            "lon": lon[good],
            "lat": lat[good],
            # Rows with the same categories share one list: a million fresh lists cost
            # seconds, most of it in the garbage collector.
            "categories": pd.Series(_shared(slug_lists)[slug_codes[good]], dtype=object),
            "occurred_at": pd.Series(occurred_at[good]).dt.tz_localize("UTC"),
            "occurred_on": pd.Series(_dates(occurred_on[good]), dtype=object),
            "time_band": pd.Series(band[good], dtype=object),
            "text": pd.Series(text[good], dtype=object),
        },
        columns=list(COLUMNS),
    )
    return ReportRows(frame=frame, problems=problems.sorted(lines))


def _numbers(
    raw: _Column,
    label: str,
    valid: tuple[float, float],
    hint: str,
    problems: _Problems,
    skip: np.ndarray,
    note: str = "",
) -> np.ndarray:
    """Parse one coordinate column; NaN where the value is blank, not a number or out of range."""
    low, high = valid
    give = f"give {hint} in [{low:.10g}, {high:.10g}]"
    distinct = raw.series()
    # to_numeric gives a nullable Int64 for all-integer columns; NA becomes NaN here.
    parsed = pd.to_numeric(distinct, errors="coerce").to_numpy(
        dtype="float64", na_value=np.nan, copy=True
    )
    # to_numeric turns a spelt-out 'nan' into NaN like any junk; tell the two apart.
    spelt_nan = distinct.str.lower().str.lstrip("+-").eq("nan").to_numpy(dtype=bool)
    numbers = raw.per_row(parsed)
    blank = raw.per_row(raw.values == "") & ~skip
    spelt = raw.per_row(spelt_nan)
    junk = np.isnan(numbers) & ~blank & ~spelt & ~skip
    infinite = (np.isinf(numbers) | spelt) & ~skip
    with np.errstate(invalid="ignore"):
        outside = np.isfinite(numbers) & ((numbers < low) | (numbers > high)) & ~skip
    problems.add(blank, lambda i: f"{label} is blank: {give}")
    problems.add(junk, lambda i: f"{label} {raw.text(i)!r} is not a number: {give}")
    problems.add(infinite, lambda i: f"{label} {raw.text(i)!r} is not a finite number: {give}")
    problems.add(
        outside, lambda i: f"{label} {raw.text(i)} is outside the valid range: {give}{note}"
    )
    numbers[~np.isfinite(numbers) | outside] = np.nan
    return numbers


def _locate(
    x: _Column, y: _Column, *, grid: bool, problems: _Problems, skip: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Return WGS84 ``(lon, lat)`` arrays, NaN for rows with a location problem."""
    if not grid:
        lon = _numbers(x, "longitude", _LON_RANGE, "degrees east", problems, skip)
        swapped = " (check that longitude and latitude are not swapped)"
        lat = _numbers(y, "latitude", _LAT_RANGE, "degrees north", problems, skip, swapped)
        return lon, lat
    hint = "metres on the British National Grid (EPSG:27700)"
    easting = _numbers(x, "easting", _EASTING_RANGE, hint, problems, skip)
    northing = _numbers(y, "northing", _NORTHING_RANGE, hint, problems, skip)
    return _place(easting, northing, grid=True, problems=problems)


def _place(
    x: np.ndarray, y: np.ndarray, *, grid: bool, problems: _Problems
) -> tuple[np.ndarray, np.ndarray]:
    """WGS84 ``(lon, lat)`` from checked coordinates (NaN where a check failed)."""
    if not grid:
        return x, y
    easting, northing = x, y
    lon = np.full(len(x), np.nan)
    lat = np.full(len(x), np.nan)
    ok = np.isfinite(easting) & np.isfinite(northing)
    if ok.any():
        lon[ok], lat[ok] = to_wgs84().transform(easting[ok], northing[ok])
    # PROJ signals a failed point with inf; within the grid bounds this should not happen.
    failed = ok & ~(np.isfinite(lon) & np.isfinite(lat))
    problems.add(
        failed,
        lambda i: (
            f"easting {easting[i]:g}, northing {northing[i]:g} could not be converted "
            "to longitude and latitude"
        ),
    )
    return lon, lat


def _categories(
    raw: _Column, allowed: tuple[str, ...], problems: _Problems, *, skip: np.ndarray
) -> tuple[np.ndarray, list[list[str]]]:
    """Return each row's code into a list of slug lists, and report bad rows.

    Slugs are lower-cased and trimmed; empty pieces (``a;;b``, a trailing ``;``) are
    dropped; repeats are dropped keeping the first, which is the order the lists keep.
    """
    choices = ", ".join(allowed)
    known = set(allowed)
    slug_lists: list[list[str]] = []
    unknown: list[list[str]] = []
    for value in raw.values:
        pieces = (piece.strip() for piece in str(value).lower().split(";"))
        slugs = list(dict.fromkeys(piece for piece in pieces if piece))
        slug_lists.append(slugs)
        unknown.append([slug for slug in slugs if slug not in known])
    # A row may have several unknown slugs: one problem each, so every value is named.
    per_row = raw.per_row(np.array([len(slugs) for slugs in unknown], dtype=np.intp))
    rows = np.flatnonzero(per_row)
    problems.add_rows(
        np.repeat(rows, per_row[rows]),
        [
            f"unknown category {slug!r}: use one of {choices}"
            for row in rows
            for slug in unknown[raw.codes[row]]
        ],
    )
    empty = raw.per_row(np.array([not slugs for slugs in slug_lists], dtype=bool))
    problems.add(
        empty & ~skip,
        lambda i: f"no category given: give at least one of {choices}, separated by ';'",
    )
    return raw.codes, slug_lists


def _shared(values: list[Any]) -> np.ndarray:
    """An object array holding `values` themselves (numpy would make lists of lists 2-d)."""
    shared = np.empty(len(values), dtype=object)
    for i, value in enumerate(values):
        shared[i] = value
    return shared


def _dates(days: np.ndarray) -> np.ndarray:
    """``datetime.date`` objects for day-resolution datetime64 values, made once per value."""
    codes, distinct = pd.factorize(days.astype("datetime64[D]"))
    made = np.array([value.date() for value in pd.DatetimeIndex(distinct)] + [None], dtype=object)
    return made[codes]  # code -1 (NaT, only in rows that are not returned) gives None


def _when(
    cells: Mapping[str, _Column], today: date, problems: _Problems, *, skip: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Read each row's time as ``(occurred_at, occurred_on, time_band)``, reporting faults.

    ``occurred_at`` is naive UTC datetime64[us] (NaT with a band), ``occurred_on`` the London
    date as day-resolution datetime64, ``time_band`` the lower-cased band or None.
    """
    at, day, band = cells[_OCCURRED_AT], cells[_DATE], cells[_TIME_BAND]
    band_names = np.array([str(value).lower() for value in band.values], dtype=object)
    has_at = at.per_row(at.values != "")
    has_day = day.per_row(day.values != "")
    has_band = band.per_row(band_names != "")
    use_at = has_at & ~has_day & ~has_band
    bands = ", ".join(TIME_BANDS)

    problems.add(
        has_at & (has_day | has_band),
        lambda i: f"both {_OCCURRED_AT} and {_DATE}/{_TIME_BAND} given: keep only one of them",
    )
    problems.add(
        ~has_at & ~has_day & ~has_band & ~skip,
        lambda i: (
            f"no time given: give {_OCCURRED_AT}, {_ISO_EXAMPLE}; or {_DATE} as YYYY-MM-DD "
            f"with {_TIME_BAND}, one of {bands}"
        ),
    )
    problems.add(
        ~has_at & has_day & ~has_band,
        lambda i: f"{_DATE} given without {_TIME_BAND}: add one of {bands}",
    )
    problems.add(
        ~has_at & ~has_day & has_band,
        lambda i: f"{_TIME_BAND} given without {_DATE}: add the date as YYYY-MM-DD",
    )
    problems.add(
        has_band & band.per_row(~np.isin(band_names, TIME_BANDS)),
        lambda i: f"unknown {_TIME_BAND} {band_names[band.codes[i]]!r}: use one of {bands}",
    )

    instants, at_days = _instants(at)
    problems.add(
        has_at & np.isnat(instants),
        lambda i: (
            f"{_OCCURRED_AT} {at.text(i)!r} is not an ISO 8601 date and time: give {_ISO_EXAMPLE}"
        ),
    )
    day_text = day.series()
    day_shape = day_text.str.fullmatch(_DATE_SHAPE).fillna(False).to_numpy(dtype=bool)
    parsed_days = pd.to_datetime(
        day_text.where(day_shape, None), format="%Y-%m-%d", errors="coerce"
    )
    days = day.per_row(parsed_days.to_numpy(dtype="datetime64[us]"))
    problems.add(
        has_day & np.isnat(days),
        lambda i: f"{_DATE} {day.text(i)!r} is not a real date in YYYY-MM-DD form, e.g. 2024-11-05",
    )

    # London dates compared as day-resolution datetimes: vectorised, no Python dates yet.
    on = np.where(use_at, at_days, days)
    latest = today + timedelta(days=1)

    def said(i: int) -> str:
        return f"{_OCCURRED_AT} {at.text(i)!r}" if use_at[i] else f"{_DATE} {day.text(i)!r}"

    problems.add(
        on > np.datetime64(latest, "us"),
        lambda i: f"{said(i)} is in the future: give a date no later than {latest.isoformat()}",
    )
    problems.add(
        on < np.datetime64(EARLIEST_DATE, "us"),
        lambda i: f"{said(i)} is before {EARLIEST_DATE.isoformat()}: give a date from then on",
    )

    occurred_at = np.where(use_at, instants, np.datetime64("NaT", "us"))
    time_band = band.per_row(band_names)
    time_band[use_at] = None
    return occurred_at, on, time_band


def _instants(at: _Column) -> tuple[np.ndarray, np.ndarray]:
    """Each row's ``occurred_at`` as a naive UTC instant and its London day (NaT if unread).

    Times without an offset are read as London's. Both are worked out once per distinct value.
    """
    text = at.series()
    instants = pd.Series(pd.NaT, index=text.index, dtype=_UTC_UNIT)
    # Upper case so that 't' and 'z', which ISO 8601 allows, parse too.
    parts = text.str.upper().str.extract(_ISO_SHAPE)
    shaped = parts["local"].notna().to_numpy() & text.ne("").to_numpy()
    aware = shaped & parts["offset"].notna().to_numpy()
    naive = shaped & ~aware
    if aware.any():
        given = parts["local"][aware] + parts["offset"][aware]
        parsed = pd.to_datetime(given, format="ISO8601", utc=True, errors="coerce")
        instants[aware] = parsed.astype(_UTC_UNIT)
    if naive.any():
        local = pd.to_datetime(parts["local"][naive], format="ISO8601", errors="coerce")
        # ambiguous=True everywhere: a repeated hour is read as the first, BST, one. Moving
        # a skipped hour on by one hour reads it as the GMT the clock was still showing.
        london = local.dt.tz_localize(
            _LONDON,
            ambiguous=np.ones(len(local), dtype=bool),
            nonexistent=pd.Timedelta(hours=1),
        )
        instants[naive] = london.dt.tz_convert("UTC").astype(_UTC_UNIT)
    local_days = instants.dt.tz_convert(_LONDON).dt.tz_localize(None).dt.normalize()
    return (
        at.per_row(instants.dt.tz_localize(None).to_numpy(dtype="datetime64[us]")),
        at.per_row(local_days.to_numpy(dtype="datetime64[us]")),
    )


def _text(raw: _Column, problems: _Problems) -> np.ndarray:
    """Clean free text as `clean_text` does, vectorised; report texts that are too long."""
    cleaned = (
        raw.series()
        .str.replace("\r\n", "\n", regex=False)
        .str.replace("\r", "\n", regex=False)
        .str.replace("\t", " ", regex=False)
        .str.replace(_CONTROLS, "", regex=True)
        .str.strip()
    )
    distinct_lengths = cleaned.str.len().to_numpy(dtype=np.int64)
    lengths = raw.per_row(distinct_lengths)
    problems.add(
        lengths > TEXT_LIMIT,
        lambda i: (
            f"text is {lengths[i]} characters long after cleaning: shorten it to at "
            f"most {TEXT_LIMIT}"
        ),
    )
    values = cleaned.to_numpy(dtype=object)
    values[distinct_lengths == 0] = None
    return raw.per_row(values)
