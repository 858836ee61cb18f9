"""Read a file of requests to partners (CSV or GeoJSON) into checked rows and row problems.

A request file is short (a council's list, a bid's sites), so each row is checked in plain
Python; the column guessing is the report importer's (:mod:`geo.reports`): headers are
compared trimmed and lower-cased, and the place comes from ``lon``/``lat`` (WGS84 degrees) or
``easting``/``northing`` (British National Grid metres), or a GeoJSON Point or LineString.
This module does no database work: the partner council and the ward are checked by the import
against the active ward set, with the same row numbers.

Columns: ``kind`` (lighting, cctv, vegetation, other), ``title``, ``partner_borough`` (a code
such as E09000022 or a name such as Lambeth), ``partner_team``; optional ``status`` (default
proposed), ``bid_reference``, ``installed_on`` (YYYY-MM-DD, needed when installed),
``decline_reason`` (needed when declined), ``outcome``.
"""

from __future__ import annotations

import io
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

import pandas as pd

from geo.grid import to_wgs84
from geo.reports import (
    RowProblem,
    _check_first_row_width,
    _choose_location,
    _column_lookup,
    clean_text,
    encoding_advice,
)

__all__ = ["KINDS", "STATUSES", "RequestRow", "RequestRows", "read_requests"]

KINDS = ("lighting", "cctv", "vegetation", "other")
STATUSES = ("proposed", "sent", "accepted", "in_bid", "funded", "installed", "declined")
TITLE_LIMIT = 200
_REQUIRED = ("kind", "title", "partner_borough", "partner_team")


@dataclass(frozen=True)
class RequestRow:
    """One good row: its line, place (a point, or a stretch's points) and fields."""

    line: int
    points: tuple[tuple[float, float], ...]
    kind: str
    title: str
    partner_borough: str
    partner_team: str
    status: str
    bid_reference: str | None
    installed_on: date | None
    decline_reason: str | None
    outcome: str | None

    @property
    def is_line(self) -> bool:
        """Whether the row is a street stretch rather than a point."""
        return len(self.points) > 1


@dataclass(frozen=True)
class RequestRows:
    """The good rows of a file and every problem with the bad ones (sorted by line)."""

    rows: tuple[RequestRow, ...]
    problems: tuple[RowProblem, ...]
    rows_read: int


def read_requests(data: bytes, file_name: str) -> RequestRows:
    """Read a CSV or GeoJSON file of requests; a file-level fault raises ValueError.

    GeoJSON rows are numbered by feature from 1, CSV rows by file line (the header is 1).
    """
    stripped = data.lstrip()
    if file_name.lower().endswith((".geojson", ".json")) or stripped.startswith(b"{"):
        return _read_geojson(data)
    return _read_csv(data)


def _read_csv(data: bytes) -> RequestRows:
    try:
        # A first row wider than the header would be read shifted (pandas takes the surplus
        # leading cells as an index): refused like any later row so wide.
        _check_first_row_width(data)
        raw = pd.read_csv(io.BytesIO(data), dtype=str, keep_default_na=False, encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ValueError(
            f"the file could not be read as a UTF-8 CSV: {encoding_advice(data)} ({exc})"
        ) from exc
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise ValueError(f"the file could not be read as a UTF-8 CSV: {exc}") from exc
    columns = _column_lookup(raw)
    grid = _choose_location(columns, "lon", "lat", "easting", "northing")
    missing = [name for name in _REQUIRED if name not in columns]
    if missing:
        raise ValueError(f"no {', '.join(repr(m) for m in missing)} column: every request needs it")
    x_name, y_name = ("easting", "northing") if grid else ("lon", "lat")
    rows: list[RequestRow] = []
    problems: list[RowProblem] = []
    for position, record in enumerate(raw.to_dict("records")):
        line = position + 2  # the header is line 1
        cells = {key: str(record[label]).strip() for key, label in columns.items()}
        reasons: list[str] = []
        point = _number_pair(cells.get(x_name, ""), cells.get(y_name, ""), grid, reasons)
        row = _row(line, (point,) if point else (), cells, reasons)
        problems.extend(RowProblem(line, reason) for reason in reasons)
        if row is not None and not reasons:
            rows.append(row)
    return RequestRows(tuple(rows), tuple(problems), len(raw))


def _read_geojson(data: bytes) -> RequestRows:
    try:
        document = json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"the file is not valid GeoJSON: {exc}") from exc
    if not isinstance(document, Mapping) or document.get("type") != "FeatureCollection":
        raise ValueError('a GeoJSON file of requests must be a "FeatureCollection"')
    features = document.get("features")
    if not isinstance(features, list):
        raise ValueError('the FeatureCollection has no "features" list')
    rows: list[RequestRow] = []
    problems: list[RowProblem] = []
    for position, feature in enumerate(features):
        line = position + 1  # GeoJSON rows are numbered by feature, from 1
        reasons: list[str] = []
        if not isinstance(feature, Mapping) or feature.get("type") != "Feature":
            problems.append(RowProblem(line, "each item of features must be a GeoJSON Feature"))
            continue
        points = _geometry_points(feature.get("geometry"), reasons)
        properties = feature.get("properties")
        if not isinstance(properties, Mapping):
            properties = {}
        cells = {
            str(key).strip().lower(): "" if value is None else str(value).strip()
            for key, value in properties.items()
        }
        row = _row(line, points, cells, reasons)
        problems.extend(RowProblem(line, reason) for reason in reasons)
        if row is not None and not reasons:
            rows.append(row)
    return RequestRows(tuple(rows), tuple(problems), len(features))


def _number_pair(
    x: str, y: str, grid: bool, reasons: list[str]
) -> tuple[float, float] | None:
    names = ("easting", "northing") if grid else ("longitude", "latitude")
    values = []
    for name, cell in zip(names, (x, y), strict=True):
        try:
            value = float(cell)
        except ValueError:
            reasons.append(f"{name} {cell!r} is not a number" if cell else f"{name} is blank")
            return None
        if not math.isfinite(value):
            reasons.append(f"{name} {cell!r} is not a finite number")
            return None
        values.append(value)
    if grid:
        if not (0 <= values[0] <= 700_000 and 0 <= values[1] <= 1_300_000):
            reasons.append(
                f"easting {x}, northing {y} is outside the British National Grid: give metres "
                "on EPSG:27700"
            )
            return None
        lon, lat = to_wgs84().transform(values[0], values[1])
        return (float(lon), float(lat))
    if not (-180 <= values[0] <= 180 and -90 <= values[1] <= 90):
        reasons.append(
            f"longitude {x}, latitude {y} is outside the valid range (check that they are not "
            "swapped)"
        )
        return None
    return (values[0], values[1])


def _geometry_points(geometry: Any, reasons: list[str]) -> tuple[tuple[float, float], ...]:
    if not isinstance(geometry, Mapping) or geometry.get("type") not in ("Point", "LineString"):
        kind = geometry.get("type") if isinstance(geometry, Mapping) else geometry
        reasons.append(f"geometry {kind!r} is not supported: give a Point or a LineString")
        return ()
    coordinates = geometry.get("coordinates")
    pairs = [coordinates] if geometry["type"] == "Point" else coordinates
    if not isinstance(pairs, list) or (geometry["type"] == "LineString" and len(pairs) < 2):
        reasons.append("a LineString needs at least two [longitude, latitude] positions")
        return ()
    points = []
    for pair in pairs:
        if not isinstance(pair, list) or len(pair) not in (2, 3):
            reasons.append(f"coordinates {pair!r} are not [longitude, latitude]")
            return ()
        point = _number_pair(str(pair[0]), str(pair[1]), False, reasons)
        if point is None:
            return ()
        points.append(point)
    return tuple(points)


def _row(
    line: int,
    points: tuple[tuple[float, float], ...],
    cells: Mapping[str, str],
    reasons: list[str],
) -> RequestRow | None:
    """Check one row's fields, adding a reason for each fault; None when any is wrong."""
    kind = cells.get("kind", "").lower()
    if kind not in KINDS:
        reasons.append(f"kind {kind!r} is not one of {', '.join(KINDS)}")
    title = clean_text(cells.get("title", "")) or ""
    if not title:
        reasons.append("title is blank: say in a few words what is asked for")
    elif len(title) > TITLE_LIMIT:
        reasons.append(f"title is longer than {TITLE_LIMIT} characters")
    for name in ("partner_borough", "partner_team"):
        if not cells.get(name):
            reasons.append(f"{name} is blank: name the council (code or name) and its team")
    status = cells.get("status", "").lower() or "proposed"
    if status not in STATUSES:
        reasons.append(f"status {status!r} is not one of {', '.join(STATUSES)}")
    installed_on = None
    if cells.get("installed_on"):
        try:
            installed_on = date.fromisoformat(cells["installed_on"])
        except ValueError:
            reasons.append(f"installed_on {cells['installed_on']!r} is not a date (YYYY-MM-DD)")
    if status == "installed" and installed_on is None and not cells.get("installed_on"):
        reasons.append("installed_on is blank: an installed request needs its install date")
    if status == "declined" and not cells.get("decline_reason"):
        reasons.append("decline_reason is blank: a declined request needs its reason")
    if not points or reasons:
        return None
    return RequestRow(
        line=line,
        points=points,
        kind=kind,
        title=title,
        partner_borough=cells["partner_borough"],
        partner_team=clean_text(cells["partner_team"]) or "",
        status=status,
        bid_reference=cells.get("bid_reference") or None,
        installed_on=installed_on,
        decline_reason=clean_text(cells.get("decline_reason")),
        outcome=clean_text(cells.get("outcome")),
    )

