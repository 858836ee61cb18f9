"""Unsafe-place reports in PostGIS: store (COPY + ward in PostGIS), moderate, query.

Storing goes through one path for a single public report and a million-row import alike:
darkness is worked out in numpy, the rows are put in spatial order and copied (binary COPY)
into a temporary staging table, the ward of every row is found in PostGIS, rows outside every
ward are named, and the rest are inserted in the caller's transaction. A load that at least
doubles a table of 100,000 rows or more drops the table's indexes and foreign keys first and
builds them again afterwards, in the same transaction, from their own catalogue definitions.
"""

from __future__ import annotations

import struct
import uuid
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
from psycopg import pq
from sqlalchemy import text
from sqlalchemy.orm import Session

from geo.darkness import DARK_BELOW_DEGREES, band_darkness, band_midpoint_utc, solar_elevation
from geo.grid import to_grid
from geo.hexagons import HEX_EDGES_M, cell_keys
from geo.reports import RowProblem
from service.queries import bulk
from service.queries.bulk import Progress, copy_binary
from service.queries.wards import (
    WardAssignedTable,
    WardSetSummary,
    compute_ward_hits,
    require_active_ward_set,
)

_STAGING = "report_staging"
_HITS = "report_hits"
# Loads of at least this many rows into a table holding fewer rows than the load build the
# indexes afterwards instead of updating them row by row (see `_large_load`).
LARGE_LOAD_ROWS = 100_000
# Heap pages per BRIN range on the staging table: a range of ~400 spatially sorted points has
# a small box, so each ward piece reads few ranges it does not need.
_STAGING_PAGES_PER_RANGE = 4
# Statistics of the staging tables from a small sample: they only steer two joins.
_ANALYZE_SETTINGS = {"default_statistics_target": "10"}
# Memory for building the indexes again after a large load, for those statements only.
_LOAD_SETTINGS = {"maintenance_work_mem": "256MB"}
# The British National Grid's extent (EPSG:27700 area of use), metres: hexagon cells exist there.
_GRID_EASTINGS = (0.0, 700_000.0)
_GRID_NORTHINGS = (0.0, 1_300_000.0)
#: The kind of problem a row outside every ward is (see geo.problems.ProblemTally).
OUTSIDE_KIND = "outside the service area"


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
    found = _prepare(rows)
    out = rows.copy()
    out["sun_elevation"] = found.elevation
    out["is_dark"] = found.dark
    out["darkness_basis"] = np.where(found.exact, _BASES[0], _BASES[1])
    return out


# The values of reports.darkness_basis: exact-time rows first, time-band rows second.
_BASES = ("exact_time", "time_band")


@dataclass(frozen=True)
class _Prepared:
    """Parsed rows as the arrays ``reports`` is made of, in file order, all but the wards.

    Object columns become codes into their distinct values (None at the last code), worked
    out once: a million Python objects are slow to hash, move or compare, codes are not.
    """

    lon: np.ndarray
    lat: np.ndarray
    days: np.ndarray  # datetime64[D]
    occurred_at: np.ndarray  # naive UTC datetime64[us], NaT with a band
    bands: np.ndarray
    band_names: list[str | None]
    kinds: np.ndarray
    categories: list[list[str]]
    texts: np.ndarray
    text_values: list[str | None]
    elevation: np.ndarray
    dark: np.ndarray
    exact: np.ndarray
    cells: dict[int, np.ndarray]  # edge (m) -> hexagon cell key of each row (-1 off the grid)
    on_grid: np.ndarray  # whether the row is on the British National Grid at all


def _prepare(rows: pd.DataFrame) -> _Prepared:
    """Work out the report columns of parsed rows, darkness included."""
    lon, lat = rows["lon"].to_numpy(float), rows["lat"].to_numpy(float)
    occurred_at = rows["occurred_at"]
    if isinstance(occurred_at.dtype, pd.DatetimeTZDtype):
        occurred_at = occurred_at.dt.tz_convert("UTC").dt.tz_localize(None)
    at = occurred_at.to_numpy(dtype="datetime64[us]")
    days = _days(rows["occurred_on"])
    bands, band_names = _codes(rows["time_band"].to_numpy(dtype=object))
    texts, text_values = _codes(rows["text"].to_numpy(dtype=object))
    kinds, categories = _category_kinds(rows["categories"].to_numpy(dtype=object))
    exact = ~np.isnat(at)
    elevation = np.full(len(rows), np.nan)
    dark = np.zeros(len(rows), dtype=bool)
    if exact.any():
        elevation[exact] = _elevations(lon[exact], lat[exact], at[exact])
        dark[exact] = elevation[exact] < DARK_BELOW_DEGREES
    banded = np.flatnonzero(~exact)
    if len(banded):
        names = np.asarray(band_names, dtype=object)
        # One band at a time: band_darkness samples every row it is given as often as the
        # longest band among them needs (night and daytime take three times early morning's).
        for code in np.unique(bands[banded]):
            of_band = banded[bands[banded] == code]
            _share, mostly_dark = band_darkness(
                lon[of_band], lat[of_band], days[of_band], names[bands[of_band]]
            )
            dark[of_band] = mostly_dark
        # datetime64 days rather than date objects: geo.darkness finds the distinct (date,
        # band) windows by hashing, and integers hash many times faster than objects.
        midpoints = band_midpoint_utc(days[banded], names[bands[banded]])
        elevation[banded] = _elevations(lon[banded], lat[banded], midpoints)
    # The hexagon cells at every offered edge: hot spots then count them with a GROUP BY.
    x, y = to_grid().transform(lon, lat)
    # A point off the grid (New York, or longitude and latitude swapped) has no cell; it is in
    # no ward either, and is named as outside the service area, not stored.
    with np.errstate(invalid="ignore"):
        on_grid = (
            np.isfinite(x)
            & np.isfinite(y)
            & (x >= _GRID_EASTINGS[0])
            & (x <= _GRID_EASTINGS[1])
            & (y >= _GRID_NORTHINGS[0])
            & (y <= _GRID_NORTHINGS[1])
        )
    cells = {}
    for edge in HEX_EDGES_M:
        keys = np.full(len(lon), -1, dtype=np.int64)
        keys[on_grid] = cell_keys(x[on_grid], y[on_grid], edge)
        cells[edge] = keys
    return _Prepared(
        cells=cells,
        on_grid=on_grid,
        lon=lon,
        lat=lat,
        days=days,
        occurred_at=at,
        bands=bands,
        band_names=band_names,
        kinds=kinds,
        categories=categories,
        texts=texts,
        text_values=text_values,
        elevation=elevation,
        dark=dark,
        exact=exact,
    )


def _elevations(lon: np.ndarray, lat: np.ndarray, instants: np.ndarray) -> np.ndarray:
    """The sun's elevation per row, as `solar_elevation` gives it, grouped by instant.

    The sun's declination and equation of time depend on the instant alone and are most of
    the work; a million time-band rows share a few thousand band midpoints, so each group of
    rows with one instant gets a scalar instant (numpy broadcasts it, the numbers are the
    same). Rows that nearly all have instants of their own go in one call.
    """
    codes, distinct = pd.factorize(np.asarray(instants, dtype="datetime64[ns]"))
    if len(distinct) * _ROWS_PER_INSTANT > len(instants) or (codes < 0).any():
        return solar_elevation(lon, lat, instants)
    elevation = np.empty(len(instants))
    order = np.argsort(codes, kind="stable")
    bounds = np.flatnonzero(np.diff(codes[order])) + 1
    for group in np.split(order, bounds):
        elevation[group] = solar_elevation(lon[group], lat[group], distinct[codes[group[0]]])
    return elevation


# Below this many rows per distinct instant, grouping rows by instant does not pay.
_ROWS_PER_INSTANT = 20


def _codes(values: np.ndarray) -> tuple[np.ndarray, list[Any]]:
    """Codes into the distinct values, None (and NaN) being the last one."""
    codes, distinct = pd.factorize(values)
    return np.where(codes < 0, len(distinct), codes), [*distinct, None]


def _days(dates: pd.Series) -> np.ndarray:
    """``datetime.date`` values as datetime64[D], converted once per distinct date."""
    codes, distinct = pd.factorize(dates.to_numpy(dtype=object))
    if (codes < 0).any():
        raise ValueError("every report row needs its occurred_on date")
    return np.array(list(distinct), dtype="datetime64[D]")[codes]


def _spatial_order(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """The row order along a Z-order (Morton) curve over the rows' bounding box.

    Staged in this order, nearby points share heap pages: the staging table's BRIN ranges have
    small boxes, and the reports' heap and GiST index get spatially clustered rows.
    """
    if len(lon) < 2:
        return np.arange(len(lon))
    cells = []
    for values in (lon, lat):
        low, high = float(values.min()), float(values.max())
        scaled = (values - low) / ((high - low) or 1.0) * 0xFFFF
        cells.append(_spread_bits(scaled.astype(np.uint32)))
    return np.argsort(cells[0] | (cells[1] << 1), kind="stable")


def _spread_bits(values: np.ndarray) -> np.ndarray:
    """Put a zero bit between each of the low 16 bits (Morton code interleaving)."""
    v = values & 0xFFFF
    v = (v | (v << 8)) & 0x00FF00FF
    v = (v | (v << 4)) & 0x0F0F0F0F
    v = (v | (v << 2)) & 0x33333333
    return (v | (v << 1)) & 0x55555555


def _category_kinds(lists: np.ndarray) -> tuple[np.ndarray, list[list[str]]]:
    """Codes 0, 1, ... into the distinct category lists, and those lists in code order."""
    # Lists are unhashable. Rows parsed by geo.reports share one list object per distinct
    # value, so the objects' identities are factorised first (cheap integers) and only one
    # row per object is looked at; equal lists held in different objects are merged after.
    identities = np.fromiter(map(id, lists), dtype=np.int64, count=len(lists))
    object_codes, first_rows = _first_of_each(identities)
    keys = ["\x1f".join(lists[row]) for row in first_rows]
    key_codes, first_keys = _first_of_each(np.asarray(keys, dtype=object))
    kinds = [list(lists[first_rows[i]]) for i in first_keys]
    return key_codes[object_codes], kinds


def _first_of_each(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Codes for the distinct values in order of appearance, and the first row of each."""
    codes, distinct = pd.factorize(values)
    first = np.full(len(distinct), len(values), dtype=np.intp)
    np.minimum.at(first, codes, np.arange(len(values), dtype=np.intp))
    return codes, first


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
    check_only: bool = False,
    for_public: bool = False,
) -> StoreResult:
    """Store parsed report rows (``geo.reports`` frame) in the caller's transaction.

    Rows outside every ward of the active set are returned as problems; unless
    ``skip_outside``, nothing is inserted when there are any (the caller refuses the batch).
    ``check_only`` finds those rows and inserts nothing (a caller that will refuse the batch
    for other reasons). ``for_public`` words those problems for a member of the public (the
    boroughs by name, no system words); otherwise for staff. Either way a point that would be
    inside with longitude and latitude swapped is said to look swapped. ``progress`` is told
    how many rows have gone to the database: into ``reports`` when they are stored, else into
    staging. Imports pass ``return_ids=False``: a million ids are not worth making into
    objects.

    The points alone are staged and placed in their wards by PostGIS; the wards come back
    with the rows' line numbers, and the full rows then go straight into ``reports`` with one
    binary COPY, whose multi-row inserts cost half of what an INSERT ... SELECT row by row
    does. The ids are random version 4 UUIDs made here, as ``gen_random_uuid()`` would.
    """
    active = require_active_ward_set(session)
    lines = rows["line"].to_numpy(dtype=np.int64)
    if not rows["line"].is_unique:
        raise ValueError("report rows must have distinct line numbers")
    lon, lat = rows["lon"].to_numpy(float), rows["lat"].to_numpy(float)
    order = _spatial_order(lon, lat)
    with _staging_table(session) as staging:
        copy_binary(
            session,
            staging,
            [bulk.int4("line", lines[order]), bulk.point("geom", lon[order], lat[order])],
            progress=progress if check_only else None,
        )
        if check_only:
            wards = _place(session, staging, lines, set_id=active.id)
            outside = _outside(session, rows, wards, active, for_public=for_public)
            return StoreResult(ids=(), outside=outside, stored=0)
        # PostGIS places the points while Python works out the rest of each row (the sun,
        # codes, ids): the two run on two cores, and the session is used by one thread at a
        # time (the main thread does not touch it until the placing is done).
        with ThreadPoolExecutor(max_workers=1) as pool:
            placing = pool.submit(_place, session, staging, lines, set_id=active.id)
            found = _prepare(rows)
            # Ascending, so that the primary key's build finds them sorted; one per row, of
            # which the first serve however many rows are written.
            ids = bulk.uuid4("id", len(rows), ascending=True)
            wards = placing.result()
    # Ward sets lie in Great Britain, so a row in a ward is on the grid; were one not, it
    # would have no hexagon cells, and is treated as outside rather than stored without them.
    wards.codes[~found.on_grid] = -1
    outside = _outside(session, rows, wards, active, for_public=for_public)
    placed = wards.codes >= 0
    if (outside and not skip_outside) or not placed.any():
        return StoreResult(ids=(), outside=outside, stored=0)
    chosen = _write_order(found, wards, order, placed)
    id_column = bulk.Fixed("id", ids.values[: len(chosen)])
    columns = [
        id_column,
        *_report_columns(found, chosen, wards, source=source, status=status, import_id=import_id),
    ]
    with _large_load(session, len(chosen)):
        stored = copy_binary(session, "reports", columns, progress=progress)
    return StoreResult(
        ids=tuple(bulk.uuids(id_column)) if return_ids else (), outside=outside, stored=stored
    )


def _outside(
    session: Session,
    rows: pd.DataFrame,
    wards: _Wards,
    active: WardSetSummary,
    *,
    for_public: bool,
) -> tuple[RowProblem, ...]:
    """The rows no ward of the active set holds, as problems in line order.

    Staff are told the ward set and where to see it; the public, the boroughs by name. Rows
    that would be inside with the two numbers the other way round are said to look swapped.
    """
    out = np.flatnonzero(wards.codes < 0)
    if not len(out):
        return ()
    lines = rows["line"].to_numpy(dtype=np.int64)[out]
    swapped = _inside_when_swapped(
        session,
        rows["lon"].to_numpy(float)[out],
        rows["lat"].to_numpy(float)[out],
        set_id=active.id,
    )
    if for_public:
        area = _area_in_words(session, set_id=active.id)
        outside = f"this place is outside the area the scheme covers ({area})"
        reasons = (
            f"{outside}: choose a place inside it",
            f"{outside}: its latitude and longitude look swapped (the other way round they "
            "are inside it), so send them the other way round",
        )
    else:
        outside = (
            "the point is outside the area this service covers (the wards of "
            f"{active.name!r}, see GET /wards)"
        )
        reasons = (
            outside,
            f"{outside}; longitude and latitude look swapped: the other way round the point "
            "is inside, so swap the two columns' values (or name them with --lon-field and "
            "--lat-field)",
        )
    order = np.argsort(lines, kind="stable")
    return tuple(RowProblem(int(lines[i]), reasons[int(swapped[i])]) for i in order)


def _inside_when_swapped(
    session: Session, lon: np.ndarray, lat: np.ndarray, *, set_id: int
) -> np.ndarray:
    """Whether each point, with longitude and latitude swapped, falls in a ward of the set.

    Only the points whose swapped position lies in the wards' bounding box are asked about.
    """
    swapped = np.zeros(len(lon), dtype=bool)
    box = session.execute(
        text(
            "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM "
            "(SELECT ST_Extent(geom) AS e FROM ward_parts WHERE ward_set_id = :id) extent"
        ),
        {"id": set_id},
    ).one()
    if box[0] is None:
        return swapped
    x0, y0, x1, y1 = (float(v) for v in box)
    with np.errstate(invalid="ignore"):
        near = np.flatnonzero((lat >= x0) & (lat <= x1) & (lon >= y0) & (lon <= y1))
    if not len(near):
        return swapped
    inside = session.execute(
        text(
            "SELECT t.i FROM unnest(CAST(:i AS int[]), CAST(:x AS float8[]), "
            "  CAST(:y AS float8[])) AS t(i, x, y) "
            "WHERE EXISTS (SELECT FROM ward_parts p WHERE p.ward_set_id = :id "
            "  AND ST_Intersects(p.geom, ST_SetSRID(ST_MakePoint(t.x, t.y), 4326)))"
        ),
        {"i": near.tolist(), "x": lat[near].tolist(), "y": lon[near].tolist(), "id": set_id},
    ).scalars()
    swapped[np.fromiter(inside, dtype=np.intp)] = True
    return swapped


def _area_in_words(session: Session, *, set_id: int) -> str:
    """The boroughs the ward set covers, by name: 'Lambeth and Southwark'."""
    names = list(
        session.execute(
            text(
                "SELECT DISTINCT borough_name FROM wards WHERE ward_set_id = :id "
                "AND coalesce(borough_name, '') <> '' ORDER BY 1"
            ),
            {"id": set_id},
        ).scalars()
    )
    if not names:
        return "a few London boroughs"
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"


def _write_order(
    found: _Prepared, wards: _Wards, spatial: np.ndarray, placed: np.ndarray
) -> np.ndarray:
    """The placed rows in the order they are written: by ward, then date, then place.

    That is the order of reports_ward_idx (codes compared as the C collation compares them),
    so building that index after a large load finds its input already sorted, the borough
    index (wards come in borough blocks) nearly so, and a ward's reports over a stretch of
    dates sit on neighbouring heap pages; within a ward and day rows keep the Z-order.
    """
    ward_rank = np.argsort(np.argsort(np.array(wards.wards, dtype=object)))
    place_rank = np.empty(len(spatial), dtype=np.intp)
    place_rank[spatial] = np.arange(len(spatial))
    rows = np.flatnonzero(placed)
    keys = (place_rank[rows], found.days[rows], ward_rank[wards.codes[rows]])
    return rows[np.lexsort(keys)]


def _place(session: Session, staging: str, lines: np.ndarray, *, set_id: int) -> _Wards:
    """Find each staged point's ward in PostGIS and read the answers back."""
    session.execute(
        text(
            f"CREATE INDEX ON {staging} USING brin (geom) "
            f"WITH (pages_per_range = {_STAGING_PAGES_PER_RANGE})"
        )
    )
    with _settings(session, _ANALYZE_SETTINGS):
        session.execute(text(f"ANALYZE {staging}"))
    compute_ward_hits(
        session, WardAssignedTable(staging, key_column="line"), set_id=set_id, into=_HITS
    )
    return _placed_wards(session, lines, set_id=set_id)


@dataclass(frozen=True)
class _Wards:
    """Each row's ward, as a code into ``wards`` and ``boroughs`` (-1: outside every ward)."""

    codes: np.ndarray
    wards: list[str]
    boroughs: list[str]  # the borough of each ward, by the same code


def _placed_wards(session: Session, lines: np.ndarray, *, set_id: int) -> _Wards:
    """The ward PostGIS found for each row (by line), read back from the hits table.

    The hits come back as one bytea of (line, ward id) pairs of big-endian integers, which
    numpy reads in one go: a million rows fetched one by one would cost a second of Python.
    """
    wards = session.execute(
        text("SELECT id, code, borough_code FROM wards WHERE ward_set_id = :id ORDER BY id"),
        {"id": set_id},
    ).all()
    packed = session.execute(
        text(
            "SELECT coalesce(string_agg(int4send(h.key::int4) || int4send(w.id::int4), ''), '') "
            f"FROM {_HITS} h JOIN wards w ON w.ward_set_id = :id AND w.code = h.code"
        ),
        {"id": set_id},
    ).scalar_one()
    hits = np.frombuffer(packed, dtype=[("key", ">i4"), ("ward", ">i4")])
    ids = np.array([ward.id for ward in wards], dtype=np.int64)
    codes = np.full(len(lines), -1, dtype=np.intp)
    codes[pd.Index(lines).get_indexer(hits["key"].astype(np.int64))] = np.searchsorted(
        ids, hits["ward"].astype(np.int64)
    )
    return _Wards(codes, [ward.code for ward in wards], [ward.borough_code for ward in wards])


def _report_columns(
    found: _Prepared,
    chosen: np.ndarray,
    wards: _Wards,
    *,
    source: str,
    status: str,
    import_id: int | None,
) -> list[bulk.Column]:
    """The ``reports`` columns but the id for the chosen rows, in their order.

    Columns with few values go as codes into their distinct values, so no Python runs per
    row; text_redacted, received_hour and the moderation columns take their defaults.
    """
    n = len(chosen)
    ward = wards.codes[chosen]

    def encoded(values: Sequence[str | None]) -> list[bytes | None]:
        return [None if value is None else str(value).encode() for value in values]

    return [
        bulk.point("geom", found.lon[chosen], found.lat[chosen]),
        bulk.Coded("ward_code", ward, encoded(wards.wards)),
        bulk.Coded("borough_code", ward, encoded(wards.boroughs)),
        bulk.date("occurred_on", found.days[chosen]),
        bulk.Coded("time_band", found.bands[chosen], encoded(found.band_names)),
        bulk.timestamptz("occurred_at", found.occurred_at[chosen]),
        bulk.text_arrays("categories", found.kinds[chosen], found.categories),
        bulk.Coded("text", found.texts[chosen], encoded(found.text_values)),
        bulk.constant("source", source.encode(), n),
        bulk.float8("sun_elevation", found.elevation[chosen]),
        bulk.boolean("is_dark", found.dark[chosen]),
        bulk.Coded("darkness_basis", np.where(found.exact, 0, 1)[chosen], encoded(_BASES)),
        bulk.constant("status", status.encode(), n),
        bulk.constant("import_id", None if import_id is None else struct.pack(">q", import_id), n),
        *(bulk.int4(f"hex_{edge}", keys[chosen]) for edge, keys in found.cells.items()),
    ]


@contextmanager
def _settings(session: Session, settings: dict[str, str]) -> Iterator[None]:
    """Transaction-local planner and memory settings, put back as they were afterwards."""
    before = {
        name: session.execute(text("SELECT current_setting(:n)"), {"n": name}).scalar_one()
        for name in settings
    }
    for name, value in settings.items():
        session.execute(text("SELECT set_config(:n, :v, true)"), {"n": name, "v": value})
    try:
        yield
    finally:
        for name, value in before.items():
            session.execute(text("SELECT set_config(:n, :v, true)"), {"n": name, "v": value})


@contextmanager
def _staging_table(session: Session) -> Iterator[str]:
    """A staging table of points for one batch, and the ward hits made from it.

    An unlogged table of the current schema, with a name of its own, where the role may
    create one: unlike a temporary table its pages live in shared buffers and parallel
    workers can scan it (temporary tables are private to the session's small local buffers),
    which makes the ward join of a large file much faster. It is created in the caller's
    transaction, so other sessions never see it, and is dropped at the end (a rollback
    removes it too); where the role may not create tables, a temporary one.
    """
    own = session.execute(
        text("SELECT has_schema_privilege(current_schema(), 'CREATE')")
    ).scalar_one()
    name = f"{_STAGING}_{uuid.uuid4().hex}" if own else _STAGING
    kind = "UNLOGGED TABLE" if own else "TEMP TABLE"
    session.execute(
        text(
            f"CREATE {kind} {name} (line integer NOT NULL, geom geometry(Point, 4326) NOT NULL)"
            + ("" if own else " ON COMMIT DROP")
        )
    )
    try:
        yield name
    finally:
        # After an SQL error the transaction is aborted and its rollback removes both tables;
        # otherwise (success, or an error in Python) they go now, before any commit.
        raw = session.connection().connection.driver_connection
        if raw is not None and raw.info.transaction_status != pq.TransactionStatus.INERROR:
            session.execute(text(f"DROP TABLE IF EXISTS {_HITS}, {name}"))


# -- large loads: indexes built after the rows instead of updated row by row ----------------


@dataclass(frozen=True)
class _Definition:
    """An index or constraint of ``reports`` as the catalogue spells it, to make it again."""

    name: str
    definition: str  # CREATE INDEX statement, or the constraint's definition
    comment: str | None


@contextmanager
def _large_load(session: Session, rows: int) -> Iterator[None]:
    """Around inserting ``rows`` reports: for a large load, drop and rebuild the indexes.

    Updating six indexes and two foreign-key triggers row by row costs several times more
    than building them once over the whole table, so when ``rows`` is at least
    `LARGE_LOAD_ROWS` and the table holds fewer rows than that, the plain indexes, the
    primary key (unless another table's foreign key needs it) and the foreign keys are
    dropped, the rows inserted, and each is made again from the definition the catalogue gave
    for it -- same name, same definition, same comment, re-validated -- all in the caller's
    transaction: a failure anywhere rolls the table back with its indexes as they were.

    The price is the lock: from the drop until the caller commits, ``reports`` (and the tables
    its foreign keys point to: ``walks``, ``imports``) take ACCESS EXCLUSIVE locks, so readers
    wait for a large first load to finish instead of seeing it half done.
    """
    if rows < LARGE_LOAD_ROWS or _holds_at_least(session, rows):
        yield
        return
    session.execute(text("LOCK TABLE reports IN ACCESS EXCLUSIVE MODE"))
    # Indexes that are clustered on, or that give the replica identity, carry table state a
    # plain CREATE INDEX would not restore: they stay and are updated row by row.
    constraints = [
        _Definition(*row)
        for row in session.execute(
            text(
                "SELECT c.conname, pg_get_constraintdef(c.oid), "
                "  obj_description(c.oid, 'pg_constraint') "
                "FROM pg_constraint c LEFT JOIN pg_index x ON x.indexrelid = c.conindid "
                "  AND c.contype <> 'f' "
                "WHERE c.conrelid = 'reports'::regclass AND c.contype IN ('p', 'u', 'x', 'f') "
                "  AND NOT coalesce(x.indisclustered OR x.indisreplident, false) "
                "  AND (c.contype = 'f' OR NOT EXISTS (SELECT FROM pg_constraint r "
                "       WHERE r.contype = 'f' AND r.confrelid = c.conrelid)) "
                # Keys and exclusions first: they are made again in this order.
                "ORDER BY c.contype = 'f', c.conname"
            )
        )
    ]
    indexes = [
        _Definition(*row)
        for row in session.execute(
            text(
                "SELECT i.relname, pg_get_indexdef(x.indexrelid), "
                "  obj_description(x.indexrelid, 'pg_class') "
                "FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid "
                "WHERE x.indrelid = 'reports'::regclass "
                "  AND NOT x.indisclustered AND NOT x.indisreplident "
                "  AND NOT EXISTS (SELECT FROM pg_constraint c WHERE c.conindid = x.indexrelid "
                "    AND c.conrelid = x.indrelid) "
                "ORDER BY i.relname"
            )
        )
    ]
    quote = session.get_bind().dialect.identifier_preparer.quote
    for constraint in reversed(constraints):
        session.execute(text(f"ALTER TABLE reports DROP CONSTRAINT {quote(constraint.name)}"))
    for index in indexes:
        session.execute(text(f"DROP INDEX {quote(index.name)}"))
    yield
    with _settings(session, _LOAD_SETTINGS):
        keys = [c for c in constraints if not c.definition.startswith("FOREIGN KEY")]
        foreign = [c for c in constraints if c.definition.startswith("FOREIGN KEY")]
        for constraint in keys:
            session.execute(
                text(
                    f"ALTER TABLE reports ADD CONSTRAINT {quote(constraint.name)} "
                    f"{constraint.definition}"
                )
            )
        for index in indexes:
            session.execute(text(index.definition))
        for constraint in foreign:
            session.execute(
                text(
                    f"ALTER TABLE reports ADD CONSTRAINT {quote(constraint.name)} "
                    f"{constraint.definition}"
                )
            )
    # COMMENT takes no bind parameters: the server quotes the text as a literal first.
    for what, definitions in (("CONSTRAINT", constraints), ("INDEX", indexes)):
        for made in definitions:
            if made.comment is None:
                continue
            literal = session.execute(
                text("SELECT quote_literal(:c)"), {"c": made.comment}
            ).scalar_one()
            on = " ON reports" if what == "CONSTRAINT" else ""
            session.execute(text(f"COMMENT ON {what} {quote(made.name)}{on} IS {literal}"))


def _holds_at_least(session: Session, rows: int) -> bool:
    """Whether ``reports`` holds at least ``rows`` rows (counting stops there)."""
    found = session.execute(
        text("SELECT count(*) FROM (SELECT FROM reports LIMIT :n) r"), {"n": rows}
    ).scalar_one()
    return int(found) >= rows


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
