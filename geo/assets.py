"""Read councils' files of street lights and cameras (CSV or GeoJSON) into checked points.

A council's inventory is a CSV with coordinate columns or a GeoJSON of points. The coordinate
columns are guessed as the report importer matches its own (:func:`geo.reports.column_lookup`:
case, spaces and a byte-order mark ignored) and checked with the same rules and messages
(:func:`geo.reports.locate_rows`): British National Grid ``Easting``/``Northing`` metres,
converted by OSTN15, or WGS84 degrees as ``Longitude``/``Latitude``, ``lon``/``lat`` or
``x``/``y``.

When a file has both (Camden's does), the grid wins: it is what the council surveys in, whole
metres, while its lon/lat columns were derived from it by some unknown transformation. Both
are read and compared, and a row whose two positions lie more than `AGREEMENT_M` apart is
skipped: one of the two is wrong and nothing says which.

A row that cannot be placed, or that lies outside Great Britain, is skipped with its reason;
a file with no good row is refused (`AssetFileError`) with a message saying which columns were
expected. Each asset keeps a ``ref`` (the council's id, or street and postcode) and its other
columns as ``properties`` (strings and finite numbers only). This module does no database
work.
"""

from __future__ import annotations

import io
import json
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from geo.grid import to_grid
from geo.reports import (
    RowProblem,
    clean_text,
    column_lookup,
    encoding_advice,
    find_column,
    locate_rows,
)

__all__ = [
    "AGREEMENT_M",
    "ASSET_COLUMNS",
    "GB_BOUNDS",
    "KINDS",
    "AssetFileError",
    "AssetRows",
    "boroughs_containing",
    "read_assets",
]

KINDS = ("light", "camera")
#: Metres a row's grid and lon/lat positions may differ before it is skipped. Camden's grid
#: is in whole metres and its degrees to six places, so a true row is within a metre or two.
AGREEMENT_M = 25.0
#: Great Britain as the British National Grid's area of use (EPSG:27700), lon/lat degrees.
GB_BOUNDS = (-9.01, 49.75, 2.01, 61.01)
#: The columns of `AssetRows.frame`.
ASSET_COLUMNS = ("line", "lon", "lat", "ref", "properties")

# Pairs tried in this order; the first pair a file has both of is used.
_GRID_PAIRS = (("easting", "northing"), ("eastings", "northings"))
_DEGREE_PAIRS = (
    ("longitude", "latitude"),
    ("lon", "lat"),
    ("long", "lat"),
    ("lng", "lat"),
    ("x", "y"),
)
# A council's own id of the asset; failing that, where it is (street and postcode).
_ID_COLUMNS = ("full_id", "asset_id", "asset_ref", "unit_id", "unit_no", "ref", "reference", "id")
_STREET_COLUMNS = ("street name", "street", "road", "road name")
_POSTCODE_COLUMNS = ("postcode", "post code")
_PROPERTY_LIMIT = 500
_EXPECTED = (
    "'Easting' and 'Northing' (British National Grid metres, EPSG:27700), or 'Longitude' and "
    "'Latitude' (also 'lon'/'lat' or 'x'/'y'; WGS84 degrees), or a GeoJSON FeatureCollection "
    "of Points"
)


class AssetFileError(ValueError):
    """A file that cannot be read as an asset inventory; the message says what to fix."""


@dataclass(frozen=True, eq=False)
class AssetRows:
    """The good rows of an asset file and the reason each bad row was skipped.

    Attributes
    ----------
    frame : pandas.DataFrame
        Columns `ASSET_COLUMNS`: ``line`` (the file line, header = 1; a GeoJSON feature's
        index + 1), ``lon`` and ``lat`` (WGS84), ``ref`` (str or None) and ``properties``
        (dict of str to str or number).
    problems : tuple of RowProblem
        One entry per problem of each skipped row, by line.
    rows_read : int
        Rows (or features) in the file.
    location : str
        Which columns placed the points, for the import's note.

    """

    frame: pd.DataFrame
    problems: tuple[RowProblem, ...]
    rows_read: int
    location: str

    @property
    def rows_skipped(self) -> int:
        """How many rows were left out."""
        return self.rows_read - len(self.frame)


def read_assets(data: bytes, file_name: str) -> AssetRows:
    r"""Read a CSV or GeoJSON file of street lights or cameras.

    GeoJSON is recognised by the name (``.geojson``, ``.json``) or a leading ``{``.

    Parameters
    ----------
    data : bytes
        The file's content (UTF-8, with or without a byte-order mark).
    file_name : str
        Its name, for the format and for messages.

    Returns
    -------
    AssetRows
        The good rows (at least one) and a reason for every skipped row.

    Raises
    ------
    AssetFileError
        The file is empty, not a readable CSV or GeoJSON, has no coordinate columns, or has
        no row that could be placed in Great Britain; the message says what was expected.

    Examples
    --------
    >>> rows = read_assets(b"Easting,Northing,FULL_ID\n530625,178388,L1\n0,0,L2\n", "l.csv")
    >>> rows.frame[["line", "ref"]].values.tolist(), rows.rows_skipped
    ([[2, 'L1']], 1)
    >>> rows.problems[0].reason
    'easting and northing are both 0, which files use for an unknown position: give its place'

    """
    if not isinstance(data, bytes | bytearray | memoryview):
        raise TypeError(f"data must be bytes, not {type(data).__name__}")
    data = bytes(data)
    if not data.strip(b"\xef\xbb\xbf \t\r\n"):
        raise AssetFileError(f"{file_name} is empty: give a CSV or GeoJSON of {_EXPECTED}")
    if file_name.lower().endswith((".geojson", ".json")) or data.lstrip(
        b"\xef\xbb\xbf \t\r\n"
    ).startswith(b"{"):
        return _read_geojson(data, file_name)
    return _read_csv(data, file_name)


def boroughs_containing(
    lon: Sequence[float] | np.ndarray | pd.Series,
    lat: Sequence[float] | np.ndarray | pd.Series,
    boroughs: Any,
) -> dict[str, int]:
    """How many of the points lie in each borough, the most first (boroughs with none left out).

    ``boroughs`` is a GeoDataFrame with ``code`` and polygons in EPSG:4326, as
    :func:`boundaries.reading.read_boroughs` reads the bundled London boroughs.
    """
    points = gpd.GeoDataFrame(geometry=gpd.points_from_xy(lon, lat), crs=4326)
    hits = gpd.sjoin(points, boroughs[["code", "geometry"]], predicate="within")
    counts = hits.groupby("code").size().sort_values(ascending=False, kind="stable")
    return {str(code): int(n) for code, n in counts.items()}


# --- CSV -----------------------------------------------------------------------------------


def _read_csv(data: bytes, file_name: str) -> AssetRows:
    try:
        raw = pd.read_csv(io.BytesIO(data), dtype=str, keep_default_na=False, encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise AssetFileError(
            f"{file_name} could not be read as a UTF-8 CSV: {encoding_advice(data)} ({exc}); "
            f"give a CSV with a header row and {_EXPECTED}"
        ) from None
    except pd.errors.ParserError as exc:
        raise AssetFileError(
            f"{file_name} could not be read as a UTF-8 CSV ({exc}): give a CSV with a header "
            f"row and {_EXPECTED}"
        ) from None
    except pd.errors.EmptyDataError:
        raise AssetFileError(f"{file_name} is empty: give a CSV with {_EXPECTED}") from None
    try:
        columns = column_lookup(raw)
    except ValueError as exc:
        raise AssetFileError(f"{file_name}: {exc}; rename one of them") from None
    grid = _pair(columns, _GRID_PAIRS)
    degrees = _pair(columns, _DEGREE_PAIRS)
    if grid is None and degrees is None:
        found = ", ".join(repr(str(c)) for c in raw.columns) or "none"
        raise AssetFileError(
            f"{file_name} has no coordinate columns: expected {_EXPECTED}; columns found: {found}"
        )
    if len(raw) == 0:
        raise AssetFileError(f"{file_name} has a header but no rows")
    used = grid if grid is not None else degrees
    assert used is not None
    lon, lat, located = locate_rows(raw, *used, grid=grid is not None)
    reasons = _reasons(located)
    lines = np.arange(2, 2 + len(raw), dtype=np.int64)
    location = f"{used[0]}/{used[1]} ({'British National Grid, OSTN15' if grid else 'WGS84'})"
    if grid is not None:
        _check_zero_grid(raw, grid, lon, lat, lines, reasons)
    if grid is not None and degrees is not None:
        _check_agreement(raw, degrees, lon, lat, lines, reasons)
        location += f", checked against {degrees[0]}/{degrees[1]} (within {AGREEMENT_M:g} m)"
    _check_in_britain(lon, lat, lines, reasons, degrees_given=grid is None)
    coordinates = {str(c) for c in (*(grid or ()), *(degrees or ()))}
    refs = _refs(raw, columns)
    frame = _frame(lines, lon, lat, refs, _csv_properties(raw, coordinates), reasons)
    return _answer(frame, reasons, len(raw), location, file_name, raw, used, grid is not None)


def _pair(columns: Mapping[str, Any], pairs: Sequence[tuple[str, str]]) -> tuple[Any, Any] | None:
    for x_name, y_name in pairs:
        x, y = find_column(columns, x_name), find_column(columns, y_name)
        if x is not None and y is not None:
            return x, y
    return None


def _reasons(problems: Sequence[RowProblem]) -> dict[int, list[str]]:
    reasons: dict[int, list[str]] = {}
    for problem in problems:
        reasons.setdefault(problem.line, []).append(problem.reason)
    return reasons


def _check_zero_grid(
    raw: pd.DataFrame,
    grid: tuple[Any, Any],
    lon: np.ndarray,
    lat: np.ndarray,
    lines: np.ndarray,
    reasons: dict[int, list[str]],
) -> None:
    """Skip rows at grid 0, 0: the grid's false origin, in the sea, is a blank written as 0."""
    easting = pd.to_numeric(raw[grid[0]].str.strip(), errors="coerce").to_numpy(float)
    northing = pd.to_numeric(raw[grid[1]].str.strip(), errors="coerce").to_numpy(float)
    for row in np.flatnonzero((easting == 0) & (northing == 0) & np.isfinite(lon)):
        reasons.setdefault(int(lines[row]), []).append(
            "easting and northing are both 0, which files use for an unknown position: "
            "give its place"
        )
        lon[row] = lat[row] = np.nan


def _check_agreement(
    raw: pd.DataFrame,
    degrees: tuple[Any, Any],
    lon: np.ndarray,
    lat: np.ndarray,
    lines: np.ndarray,
    reasons: dict[int, list[str]],
) -> None:
    """Skip rows whose lon/lat columns put them more than AGREEMENT_M from their grid point."""
    given_lon = pd.to_numeric(raw[degrees[0]].str.strip(), errors="coerce").to_numpy(float)
    given_lat = pd.to_numeric(raw[degrees[1]].str.strip(), errors="coerce").to_numpy(float)
    # Only rows with both positions can disagree; blank degrees leave the grid point alone.
    both = np.isfinite(given_lon) & np.isfinite(given_lat)
    both &= (np.abs(given_lon) <= 180) & (np.abs(given_lat) <= 90)
    given_x = np.full(len(raw), np.nan)
    given_y = np.full(len(raw), np.nan)
    if both.any():
        given_x[both], given_y[both] = to_grid().transform(given_lon[both], given_lat[both])
    _skip_far_apart(
        lon,
        lat,
        given_x,
        given_y,
        lines,
        reasons,
        lambda row: f"{degrees[0]}/{degrees[1]} ({given_lon[row]:g}, {given_lat[row]:g}) lie",
        "the easting/northing position",
    )


def _skip_far_apart(
    lon: np.ndarray,
    lat: np.ndarray,
    other_x: np.ndarray,
    other_y: np.ndarray,
    lines: np.ndarray,
    reasons: dict[int, list[str]],
    other: Callable[[int], str],
    placed_by: str,
) -> None:
    """Skip rows placed at ``lon, lat`` more than AGREEMENT_M from their other position.

    ``other_x, other_y`` are that other position in grid metres (NaN where a row has none).
    """
    both = np.isfinite(lon) & np.isfinite(other_x) & np.isfinite(other_y)
    if not both.any():
        return
    grid_x, grid_y = to_grid().transform(lon[both], lat[both])
    apart = np.hypot(np.asarray(grid_x) - other_x[both], np.asarray(grid_y) - other_y[both])
    for row, metres in zip(np.flatnonzero(both), apart, strict=True):
        if not metres <= AGREEMENT_M:  # also catches inf from a failed transformation
            reasons.setdefault(int(lines[row]), []).append(
                f"{other(int(row))} {metres:,.0f} m from {placed_by}, more than "
                f"{AGREEMENT_M:g} m: correct whichever of the two is wrong"
            )
            lon[row] = lat[row] = np.nan


def _check_in_britain(
    lon: np.ndarray,
    lat: np.ndarray,
    lines: np.ndarray,
    reasons: dict[int, list[str]],
    *,
    degrees_given: bool,
) -> None:
    west, south, east, north = GB_BOUNDS
    placed = np.isfinite(lon) & np.isfinite(lat)
    outside = placed & ((lon < west) | (lon > east) | (lat < south) | (lat > north))
    for row in np.flatnonzero(outside):
        hint = ""
        if degrees_given and west <= lat[row] <= east and south <= lon[row] <= north:
            hint = ": longitude and latitude look swapped (longitude comes first)"
        elif degrees_given:
            hint = ": check the longitude and latitude"
        reasons.setdefault(int(lines[row]), []).append(
            f"the point (longitude {lon[row]:.6g}, latitude {lat[row]:.6g}) is outside Great "
            f"Britain (longitude {west:g} to {east:g}, latitude {south:g} to {north:g}){hint}"
        )
        lon[row] = lat[row] = np.nan


def _refs(raw: pd.DataFrame, columns: Mapping[str, Any]) -> list[str | None]:
    """Each row's reference: the council's id, else street and postcode, else None."""
    for name in _ID_COLUMNS:
        label = find_column(columns, name)
        if label is not None:
            return [_cell(value) for value in raw[label]]
    street = next((find_column(columns, n) for n in _STREET_COLUMNS if n in columns), None)
    postcode = next((find_column(columns, n) for n in _POSTCODE_COLUMNS if n in columns), None)
    if street is None and postcode is None:
        return [None] * len(raw)
    parts = [raw[label] for label in (street, postcode) if label is not None]
    return [
        ", ".join(p for p in (_cell(v) for v in values) if p) or None
        for values in zip(*parts, strict=True)
    ]


def _cell(value: Any) -> str | None:
    text = clean_text(str(value)) if value is not None else None
    return text[:_PROPERTY_LIMIT] if text else None


def _csv_properties(raw: pd.DataFrame, leave_out: set[str]) -> list[dict[str, Any]]:
    """Each row's other cells as cleaned strings, blanks left out.

    Cleaned once per distinct value of a column (a column of wattages has a handful), not once
    per cell: a 100,000-lamp file is read in a second or two.
    """
    columns: list[tuple[str, np.ndarray]] = []
    for label in raw.columns:
        name = clean_text(str(label))
        if not name or str(label) in leave_out:
            continue
        codes, distinct = pd.factorize(raw[label].to_numpy(dtype=object))
        # Code -1 (missing) picks the None appended last.
        cleaned = np.array([_cell(value) for value in distinct] + [None], dtype=object)
        columns.append((name[:100], cleaned[codes]))
    return [
        {name: values[row] for name, values in columns if values[row] is not None}
        for row in range(len(raw))
    ]


def _properties(record: Mapping[Any, Any], leave_out: set[str]) -> dict[str, Any]:
    """A row's other cells, as plain strings and finite numbers (nothing nested)."""
    kept: dict[str, Any] = {}
    for key, value in record.items():
        name = clean_text(str(key))
        if not name or str(key) in leave_out:
            continue
        if isinstance(value, bool):
            value = "true" if value else "false"
        if isinstance(value, int | float):
            if isinstance(value, float) and not math.isfinite(value):
                continue
            kept[name[:100]] = value
            continue
        if isinstance(value, Mapping | list | tuple):
            value = json.dumps(value, ensure_ascii=False)
        text = _cell(value)
        if text is not None:
            kept[name[:100]] = text
    return kept


def _frame(
    lines: np.ndarray,
    lon: np.ndarray,
    lat: np.ndarray,
    refs: Sequence[str | None],
    properties: Sequence[dict[str, Any]],
    reasons: Mapping[int, list[str]],
) -> pd.DataFrame:
    good = np.isfinite(lon) & np.isfinite(lat)
    good &= ~np.isin(lines, np.fromiter(reasons, dtype=np.int64, count=len(reasons)))
    chosen = [int(i) for i in np.flatnonzero(good)]
    return pd.DataFrame(
        {
            "line": lines[chosen],
            "lon": lon[chosen],
            "lat": lat[chosen],
            "ref": pd.Series([refs[i] for i in chosen], dtype=object),
            "properties": pd.Series([properties[i] for i in chosen], dtype=object),
        },
        columns=list(ASSET_COLUMNS),
    )


def _answer(
    frame: pd.DataFrame,
    reasons: Mapping[int, list[str]],
    rows_read: int,
    location: str,
    file_name: str,
    raw: pd.DataFrame | None = None,
    used: tuple[Any, Any] | None = None,
    grid: bool = False,
) -> AssetRows:
    problems = tuple(
        RowProblem(line, reason) for line in sorted(reasons) for reason in reasons[line]
    )
    if len(frame):
        return AssetRows(frame, problems, rows_read, location)
    first = "; ".join(f"line {p.line}: {p.reason}" for p in problems[:3])
    hint = ""
    if raw is not None and used is not None and not grid:
        x = pd.to_numeric(raw[used[0]].str.strip(), errors="coerce").abs()
        y = pd.to_numeric(raw[used[1]].str.strip(), errors="coerce").abs()
        if bool(((x > 1000) & (y > 1000)).any()):
            hint = (
                f" Columns {str(used[0])!r} and {str(used[1])!r} hold numbers in the thousands: "
                "British National Grid metres, not degrees; name them 'Easting' and 'Northing'."
            )
    raise AssetFileError(
        f"{file_name}: none of its {rows_read:,} row{'' if rows_read == 1 else 's'} could be "
        "placed in Great Britain, so "
        f"nothing was stored (first problems: {first}).{hint} Expected {_EXPECTED}"
    )


# --- GeoJSON -------------------------------------------------------------------------------


def _read_geojson(data: bytes, file_name: str) -> AssetRows:
    try:
        document = json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise AssetFileError(
            f"{file_name} is not valid GeoJSON ({exc}): expected {_EXPECTED}"
        ) from None
    if not isinstance(document, Mapping) or document.get("type") != "FeatureCollection":
        raise AssetFileError(
            f"{file_name} is not a GeoJSON FeatureCollection: expected {_EXPECTED}"
        )
    features = document.get("features")
    if not isinstance(features, list) or not features:
        raise AssetFileError(f"{file_name} has no features: expected {_EXPECTED}")
    xs: list[str] = []
    ys: list[str] = []
    reasons: dict[int, list[str]] = {}
    refs: list[str | None] = []
    properties: list[dict[str, Any]] = []
    for position, feature in enumerate(features):
        line = position + 1  # features are numbered from 1, as report imports number them
        x, y, broken = _feature_point(feature)
        if broken:
            reasons[line] = [broken]
        xs.append(x)
        ys.append(y)
        props = feature.get("properties") if isinstance(feature, Mapping) else None
        props = props if isinstance(props, Mapping) else {}
        properties.append(_properties(props, set()))
        lookup = {str(key).strip().lower(): key for key in props}
        ref_key = next((lookup[n] for n in _ID_COLUMNS if n in lookup), None)
        refs.append(_cell(props[ref_key]) if ref_key is not None else None)
    raw = pd.DataFrame({"x": xs, "y": ys})
    lines = np.arange(1, 1 + len(raw), dtype=np.int64)
    lon, lat, located = locate_rows(raw, "x", "y", grid=False, first_line=1)
    for problem in located:
        if problem.line not in reasons:  # a broken feature's blanks are not news
            reasons.setdefault(problem.line, []).append(problem.reason)
    location = "GeoJSON Point geometry (WGS84)"
    grid = _property_grid(properties)
    if grid is not None:
        easting, northing, names = grid
        _skip_far_apart(
            lon,
            lat,
            easting,
            northing,
            lines,
            reasons,
            lambda row: f"{names[0]}/{names[1]} ({easting[row]:g}, {northing[row]:g}) lie",
            "the Point geometry",
        )
        location += f", checked against {names[0]}/{names[1]} (within {AGREEMENT_M:g} m)"
    _check_in_britain(lon, lat, lines, reasons, degrees_given=True)
    frame = _frame(lines, lon, lat, refs, properties, reasons)
    return _answer(frame, reasons, len(raw), location, file_name)


def _property_grid(
    properties: Sequence[Mapping[str, Any]],
) -> tuple[np.ndarray, np.ndarray, tuple[str, str]] | None:
    """Features' easting/northing properties as metres (NaN where missing), when they have any.

    Lambeth's cameras carry their National Grid position beside the Point; the two are checked
    as a CSV's two positions are.
    """
    for x_name, y_name in _GRID_PAIRS:
        names: tuple[str, str] | None = None
        for props in properties:
            lookup = {key.strip().lower(): key for key in props}
            if x_name in lookup and y_name in lookup:
                names = (lookup[x_name], lookup[y_name])
                break
        if names is None:
            continue
        easting = pd.to_numeric(
            pd.Series([props.get(names[0]) for props in properties], dtype=object),
            errors="coerce",
        ).to_numpy(float)
        northing = pd.to_numeric(
            pd.Series([props.get(names[1]) for props in properties], dtype=object),
            errors="coerce",
        ).to_numpy(float)
        return easting, northing, names
    return None


def _feature_point(feature: Any) -> tuple[str, str, str | None]:
    """A feature's Point coordinates as text cells, or a reason it has none."""
    if not isinstance(feature, Mapping) or feature.get("type") != "Feature":
        return "", "", "each item of features must be a GeoJSON Feature"
    geometry = feature.get("geometry")
    if not isinstance(geometry, Mapping) or geometry.get("type") != "Point":
        kind = geometry.get("type") if isinstance(geometry, Mapping) else None
        return "", "", f"geometry {kind!r} is not a Point: give each asset as a Point"
    coordinates = geometry.get("coordinates")
    if not isinstance(coordinates, list) or len(coordinates) not in (2, 3):
        return "", "", f"Point coordinates must be [longitude, latitude], not {coordinates!r}"
    cells = []
    for value in coordinates[:2]:
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            return "", "", f"Point coordinates must be numbers, not {coordinates!r}"
        cells.append(repr(value) if isinstance(value, float) else str(value))
    return cells[0], cells[1], None
