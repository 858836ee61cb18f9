r"""COPY rows into PostgreSQL in chunks, reporting progress as it goes.

Two forms. `copy_frame` sends a DataFrame as CSV text, formatted a whole column at a time by
pandas, which is many times faster than handing psycopg one Python tuple per row; missing
values travel as ``\N`` so that empty strings stay empty strings. `copy_binary` sends numpy
columns in PostgreSQL's binary COPY format: each fixed-width value is written by numpy
straight into its place in the row, so a million rows take milliseconds to encode and the
server parses no text at all (no float, date or geometry text to read).
"""

from __future__ import annotations

import os
import struct
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from psycopg.copy import QueuedLibpqWriter
from sqlalchemy.orm import Session

# Called with (rows sent so far, rows in all); the CLI draws a progress bar with it.
Progress = Callable[[int, int], None]
CHUNK_ROWS = 50_000

# The binary COPY stream: a signature, flags and header-extension length, then the tuples,
# then a field count of -1 (PostgreSQL docs, "COPY ... Binary Format").
_BINARY_HEADER = b"PGCOPY\n\xff\r\n\x00" + struct.pack(">ii", 0, 0)
_BINARY_TRAILER = struct.pack(">h", -1)
_NULL_WORD = struct.pack(">i", -1)  # a field's length word for NULL
_TEXT_OID = 25
# Bytes of row matrix per chunk: wide rows (long free text) make for fewer rows per chunk.
_CHUNK_BYTES = 32 * 2**20
# PostgreSQL counts dates in days and timestamps in microseconds from 2000-01-01 UTC.
_PG_EPOCH_DAY = np.datetime64("2000-01-01", "D")
_PG_EPOCH_US = np.datetime64("2000-01-01T00:00:00", "us")
_POINT_EWKB = np.dtype(
    [("order", "u1"), ("type", "<u4"), ("srid", "<u4"), ("x", "<f8"), ("y", "<f8")]
)
_EWKB_POINT_WITH_SRID = 0x20000001  # wkbPoint with the EWKB "has SRID" flag


def copy_frame(
    session: Session,
    table: str,
    frame: pd.DataFrame,
    *,
    progress: Progress | None = None,
    chunk_rows: int = CHUNK_ROWS,
) -> int:
    """COPY every row of ``frame`` (columns named as the table's) into ``table``."""
    raw = session.connection().connection.driver_connection
    assert raw is not None
    total = len(frame)
    columns = ", ".join(frame.columns)
    with (
        raw.cursor() as cursor,
        cursor.copy(f"COPY {table} ({columns}) FROM STDIN WITH (FORMAT csv, NULL '\\N')") as copy,
    ):
        for start in range(0, total, chunk_rows):
            chunk = frame.iloc[start : start + chunk_rows]
            copy.write(chunk.to_csv(index=False, header=False, na_rep="\\N"))
            if progress is not None:
                progress(min(start + chunk_rows, total), total)
    if progress is not None and total == 0:
        progress(0, 0)
    return total


def ewkt_points(lon: pd.Series, lat: pd.Series) -> pd.Series:
    """``SRID=4326;POINT(lon lat)`` text for each row, built column-wise."""
    return (
        "SRID=4326;POINT(" + lon.astype(float).map(repr) + " " + lat.astype(float).map(repr) + ")"
    )


def pg_text_array(values: pd.Series) -> pd.Series:
    """PostgreSQL array literals (``{a,b}``) for lists of plain slugs."""
    return pd.Series(["{" + ",".join(v) + "}" for v in values], index=values.index)


# -- binary COPY -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Fixed:
    """A column of fixed-width values in their wire form, one per row (NULL where ``null``).

    Made by `int4`, `int8`, `float8`, `boolean`, `date`, `timestamptz`, `point` and `uuid4`.
    """

    name: str
    values: np.ndarray  # big-endian numbers, EWKB records or raw bytes, one per row
    null: np.ndarray | None = None


@dataclass(frozen=True)
class Coded:
    """A column of few distinct values: per-row codes into their wire bytes (None for NULL).

    Made by `texts`, `text_arrays` and `constant`; a column of many distinct values (free
    text) works too, at the cost of building each one's bytes.
    """

    name: str
    codes: np.ndarray
    values: Sequence[bytes | None]


Column = Fixed | Coded


def int4(name: str, values: np.ndarray) -> Fixed:
    """An ``integer`` column."""
    return Fixed(name, np.asarray(values).astype(">i4"))


def float8(name: str, values: np.ndarray) -> Fixed:
    """A ``double precision`` column."""
    return Fixed(name, np.asarray(values, dtype=np.float64).astype(">f8"))


def boolean(name: str, values: np.ndarray) -> Fixed:
    """A ``boolean`` column."""
    return Fixed(name, np.asarray(values, dtype=bool).astype("u1"))


def date(name: str, days: np.ndarray) -> Fixed:
    """A ``date`` column from datetime64 values (any resolution; the time of day is dropped)."""
    since = np.asarray(days).astype("datetime64[D]") - _PG_EPOCH_DAY
    null = np.isnat(since)
    return Fixed(name, np.where(null, 0, since.astype(np.int64)).astype(">i4"), _nulls(null))


def timestamptz(name: str, instants: np.ndarray) -> Fixed:
    """A ``timestamptz`` column from naive UTC datetime64 values; NaT is NULL."""
    micros = np.asarray(instants).astype("datetime64[us]")
    null = np.isnat(micros)
    since = np.where(null, 0, (micros - _PG_EPOCH_US).astype(np.int64))
    return Fixed(name, since.astype(">i8"), _nulls(null))


def point(name: str, lon: np.ndarray, lat: np.ndarray, *, srid: int = 4326) -> Fixed:
    """A PostGIS ``geometry(Point)`` column as EWKB, from longitude and latitude arrays."""
    points = np.empty(len(lon), dtype=_POINT_EWKB)
    points["order"] = 1  # little-endian WKB
    points["type"] = _EWKB_POINT_WITH_SRID
    points["srid"] = srid
    points["x"] = lon
    points["y"] = lat
    return Fixed(name, points)


def uuid4(name: str, n: int, *, ascending: bool = False) -> Fixed:
    """A ``uuid`` column of n random (version 4) UUIDs; `uuids` reads them back.

    The bits come from the operating system's cryptographic generator, as PostgreSQL's
    ``gen_random_uuid()`` takes them from OpenSSL's. ``ascending`` puts the same random ids in
    ascending order (as PostgreSQL compares them, byte by byte), for a cheap index build.
    """
    raw = np.frombuffer(os.urandom(16 * n), dtype=np.uint8).reshape(n, 16).copy()
    raw[:, 6] = (raw[:, 6] & 0x0F) | 0x40  # version 4
    raw[:, 8] = (raw[:, 8] & 0x3F) | 0x80  # RFC 4122 variant
    if ascending and n > 1:
        halves = raw.view(">u8").astype(np.uint64)  # big-endian: numbers order as bytes do
        raw = raw[np.lexsort((halves[:, 1], halves[:, 0]))]
    return Fixed(name, raw.view("V16").ravel())


def uuids(column: Fixed) -> list[uuid.UUID]:
    """The values of a `uuid4` column as `uuid.UUID` objects."""
    raw = column.values.view(np.uint8).reshape(-1, 16)
    return [uuid.UUID(bytes=row.tobytes()) for row in raw]


def texts(name: str, values: np.ndarray) -> Coded:
    """A ``text`` column from an object array of str (None for NULL), coded by distinct value."""
    codes, distinct = pd.factorize(np.asarray(values, dtype=object))
    encoded: list[bytes | None] = [str(value).encode() for value in distinct]
    # Code -1 (None) points one past the distinct values, at NULL.
    return Coded(name, np.where(codes < 0, len(encoded), codes), [*encoded, None])


def text_arrays(name: str, codes: np.ndarray, lists: Sequence[Sequence[str]]) -> Coded:
    """A ``text[]`` column: per-row codes into the distinct lists."""
    return Coded(name, np.asarray(codes), [_text_array(items) for items in lists])


def constant(name: str, value: bytes | None, n: int) -> Coded:
    """A column with one value (wire bytes, or None for NULL) in every row."""
    return Coded(name, np.zeros(n, dtype=np.intp), [value])


def copy_binary(
    session: Session,
    table: str,
    columns: Sequence[Column],
    *,
    progress: Progress | None = None,
    chunk_rows: int = CHUNK_ROWS,
) -> int:
    """COPY rows into ``table`` in PostgreSQL's binary format; return the number sent.

    Each chunk of rows is laid out as one byte matrix, a row per row: the columns whose values
    all have one width first (written by numpy as a structured array), then the others, each
    padded to its widest value; a mask of the bytes in use then squeezes the padding out, row
    by row, in one numpy selection. No Python code runs per row.

    Parameters
    ----------
    session : Session
        The caller's session; the COPY runs in its transaction.
    table : str
        The (trusted) table name.
    columns : sequence of Fixed or Coded
        The columns, all of one length; they are sent in an order of the encoder's choosing,
        named in the COPY statement.
    progress : callable, optional
        Told ``(rows sent, rows in all)`` after each chunk.
    chunk_rows : int
        Rows encoded and written at a time (fewer when rows are wide).

    Returns
    -------
    int
        The number of rows sent.

    """
    total = _rows(columns)
    plans = [_steady(column) for column in columns]
    steady = [plan for plan in plans if plan is not None]
    varying = [column for column, plan in zip(columns, plans, strict=True) if plan is None]
    names = ", ".join(c.name for c in [*(plan.column for plan in steady), *varying])
    widest = sum(_widest(c) for c in columns) + 2
    step = max(256, min(chunk_rows, _CHUNK_BYTES // widest))
    raw = session.connection().connection.driver_connection
    assert raw is not None
    statement = f"COPY {table} ({names}) FROM STDIN WITH (FORMAT binary)"
    with raw.cursor() as cursor, cursor.copy(statement, writer=QueuedLibpqWriter(cursor)) as copy:
        # The writer's thread sends each chunk while this one encodes the next.
        copy.write(_BINARY_HEADER)
        for start in range(0, total, step):
            rows = slice(start, min(start + step, total))
            copy.write(_encode(steady, varying, rows, len(columns)))
            if progress is not None:
                progress(rows.stop, total)
        copy.write(_BINARY_TRAILER)
    if progress is not None and total == 0:
        progress(0, 0)
    return total


def _nulls(null: np.ndarray) -> np.ndarray | None:
    return null if null.any() else None


def _text_array(items: Sequence[str]) -> bytes:
    """A one-dimensional ``text[]`` in array_send's form: header, dimension, then elements."""
    if not items:
        return struct.pack(">iii", 0, 0, _TEXT_OID)
    parts = [struct.pack(">iiiii", 1, 0, _TEXT_OID, len(items), 1)]
    for item in items:
        encoded = item.encode()
        parts += [struct.pack(">i", len(encoded)), encoded]
    return b"".join(parts)


def _rows(columns: Sequence[Column]) -> int:
    lengths = {len(c.values) if isinstance(c, Fixed) else len(c.codes) for c in columns}
    if len(lengths) > 1:
        raise ValueError(f"columns of different lengths: {sorted(lengths)}")
    return lengths.pop() if lengths else 0


@dataclass(frozen=True)
class _Steady:
    """A column whose field has one length in every row, laid out in the row record."""

    column: Column
    length: int  # the field's length word: the value's bytes, or -1 for NULL in every row
    table: np.ndarray | None = None  # a Coded column's values as records of that size


def _steady(column: Column) -> _Steady | None:
    """How to lay out the column in the row record, or None if its length varies by row."""
    if isinstance(column, Fixed):
        if column.null is None:
            return _Steady(column, column.values.dtype.itemsize)
        return _Steady(column, -1) if column.null.all() else None
    present = np.bincount(column.codes, minlength=len(column.values)) > 0
    sizes = {
        None if value is None else len(value)
        for value, used in zip(column.values, present, strict=True)
        if used
    }
    if len(sizes) > 1:
        return None
    size = sizes.pop() if sizes else None
    if not size:  # NULL (or no rows), or the empty value, in every row
        return _Steady(column, -1 if size is None else 0)
    # Values the column does not use are cut or padded to the size: they are never read.
    table = b"".join((value or b"").ljust(size, b"\0")[:size] for value in column.values)
    return _Steady(column, size, np.frombuffer(table, dtype=f"V{size}"))


def _widest(column: Column) -> int:
    if isinstance(column, Fixed):
        return 4 + column.values.dtype.itemsize
    return 4 + max((len(v) for v in column.values if v is not None), default=0)


def _encode(steady: list[_Steady], varying: list[Column], rows: slice, count: int) -> bytes:
    """The wire bytes of ``rows``: steady columns as one record, then the varying ones."""
    n = rows.stop - rows.start
    layout: list[tuple[str, Any]] = [("count", ">i2")]
    for i, plan in enumerate(steady):
        layout.append((f"{i}.length", ">i4"))
        if plan.length > 0:
            kind = plan.column.values.dtype if isinstance(plan.column, Fixed) else f"V{plan.length}"
            layout.append((f"{i}", kind))
    record = np.empty(n, dtype=np.dtype(layout))
    record["count"] = count
    for i, plan in enumerate(steady):
        record[f"{i}.length"] = plan.length
        if plan.length <= 0:
            continue
        if isinstance(plan.column, Fixed):
            record[f"{i}"] = plan.column.values[rows]
        else:
            assert plan.table is not None
            record[f"{i}"] = plan.table[plan.column.codes[rows]]
    if not varying:
        return record.tobytes()
    fixed = record.dtype.itemsize
    parts = [_segments(column, rows) for column in varying]
    width = fixed + sum(part[0].shape[1] for part in parts)
    matrix = np.empty((n, width), dtype=np.uint8)
    used = np.empty((n, width), dtype=bool)
    matrix[:, :fixed] = record.view(np.uint8).reshape(n, fixed)
    used[:, :fixed] = True
    at = fixed
    for segments, lengths in parts:
        size = segments.shape[1]
        matrix[:, at : at + size] = segments
        used[:, at : at + size] = np.arange(size) < lengths[:, None]
        at += size
    return matrix[used].tobytes()


def _segments(column: Column, rows: slice) -> tuple[np.ndarray, np.ndarray]:
    """Each row's bytes for one column (length word first), padded: ``(bytes, lengths)``."""
    if isinstance(column, Fixed):
        size = column.values.dtype.itemsize
        null = column.null[rows] if column.null is not None else np.zeros(0, dtype=bool)
        record = np.empty(rows.stop - rows.start, dtype=[("length", ">i4"), ("value", f"V{size}")])
        record["length"] = np.where(null, -1, size) if len(null) else size
        record["value"] = column.values[rows].view(f"V{size}")
        lengths = np.where(null, 4, 4 + size) if len(null) else np.full(len(record), 4 + size)
        return record.view(np.uint8).reshape(len(record), 4 + size), lengths
    # Only the values this chunk uses are laid out, so a column of many distinct free texts
    # costs the texts in the chunk, not all of them.
    used, local = np.unique(column.codes[rows], return_inverse=True)
    values = [column.values[int(code)] for code in used]
    size = 4 + max((len(v) for v in values if v is not None), default=0)
    words = [
        _NULL_WORD if value is None else struct.pack(">i", len(value)) + value for value in values
    ]
    table = np.frombuffer(b"".join(word.ljust(size, b"\0") for word in words), dtype=np.uint8)
    widths = np.array([len(word) for word in words], dtype=np.int64)
    return table.reshape(len(words), size)[local], widths[local]
