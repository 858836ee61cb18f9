"""Reading ward and borough boundary files into one normal form.

Any vector file GDAL can read (GeoJSON, shapefile, MapInfo TAB, GeoPackage, ...)
comes out as a GeoDataFrame with fixed column names, valid 2-D MultiPolygons
in EPSG:4326 and a RangeIndex, or is refused with a :class:`BoundaryFileError`
that says what is wrong and how to fix it. No HTTP and no database here.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pyogrio.errors
import shapely
from pyproj import CRS, Transformer
from pyproj.exceptions import CRSError

from geo.grid import GridMissing, to_wgs84
from geo.polygons import missing_or_empty, not_polygonal, repair_polygons

__all__ = ["BoundaryFileError", "WardFile", "read_boroughs", "read_wards"]

WGS84 = "EPSG:4326"
BRITISH_NATIONAL_GRID = CRS.from_epsg(27700)

# PROJ scores the ESRI British National Grid .prj only 25: its scale factor is
# rounded (0.999601272 against EPSG's 0.9996012717). Matches this weak are
# accepted only after the position check in _recognise_crs.
_MIN_CRS_CONFIDENCE = 25
# An authority CRS stands in for the file's own only if they place the file's
# coordinates within this distance of each other (degrees; about 1 m).
_SAME_PLACE_TOLERANCE_DEG = 1e-5

# Areas must lie in this box (west, south, east, north; degrees): Great Britain and Northern
# Ireland, Shetland to the Scillies, with a margin. Anything else is a wrong file or a wrong CRS.
_BRITAIN_LON_LAT = (-11.0, 49.0, 3.0, 61.5)
# British National Grid covers eastings 0 to 700 km and northings 0 to 1,300 km.
_BNG_MAX_EASTING = 700_000
_BNG_MAX_NORTHING = 1_300_000

# How many bad codes to print before summarising, so a wholly wrong file
# still gives a readable message.
_MAX_CODES_SHOWN = 20

_WARD_CODE = (r"WD\d\dCD", "GSS_CODE", "ward_code", "wardcode", "code")
_WARD_NAME = (r"WD\d\dNM", "NAME", "ward_name", "wardname", "name")
# ONS files name the ward's local authority LAD24CD (any year) or LTLA22CD; the GLA's London
# ward files LB_GSS_CD (code) and BOROUGH (name); its older MapInfo files LAGSSCODE/DISTRICT.
_BOROUGH_CODE = (
    r"LAD\d\dCD",
    r"LTLA\d\dCD",
    "LB_GSS_CD",
    "LAGSSCODE",
    "LA_GSS_CODE",
    "borough_code",
    "boroughcode",
    "lad_code",
    "la_code",
)
_BOROUGH_NAME = (
    r"LAD\d\dNM",
    r"LTLA\d\dNM",
    "BOROUGH",
    "DISTRICT",
    "borough_name",
    "boroughname",
    "lad_name",
    "la_name",
)
# In a borough file the borough's own code and name are the plain ones.
_BOROUGH_FILE_CODE = (r"LAD\d\dCD", "GSS_CODE", "LAGSSCODE", "borough_code", "code")
_BOROUGH_FILE_NAME = (r"LAD\d\dNM", "NAME", "DISTRICT", "borough_name", "borough", "name")


class BoundaryFileError(ValueError):
    """A boundary file that cannot be used; the message says what is wrong and how to fix it."""


@dataclass(frozen=True)
class WardFile:
    """Wards read from one boundary file.

    Attributes
    ----------
    wards : GeoDataFrame
        Columns ``code, name, borough_code, borough_name, geometry``; valid 2-D
        MultiPolygons in EPSG:4326; RangeIndex. Every ward has a borough code;
        ``borough_name`` holds empty strings when the file has no such field.
    repaired : tuple of str
        Codes of wards whose polygons were invalid in the file and were repaired.
    source_crs : str
        The file's CRS (or the ``crs`` override) as an authority code such as
        ``"EPSG:27700"``, or as WKT when it has none.

    """

    wards: gpd.GeoDataFrame
    repaired: tuple[str, ...]
    source_crs: str


@dataclass(frozen=True)
class _Field:
    """One attribute to find in a file: where it goes and how to recognise it."""

    column: str
    label: str
    option: str
    candidates: tuple[str, ...]
    required: bool
    # Said when a required field is not found: why it is needed, where files usually keep it.
    why: str = ""


def read_wards(
    path: str | os.PathLike[str],
    *,
    layer: str | None = None,
    code_field: str | None = None,
    name_field: str | None = None,
    borough_field: str | None = None,
    borough_name_field: str | None = None,
    crs: Any = None,
) -> WardFile:
    """Read a ward boundary file into the normal form.

    Fields not named are found by name, case-insensitively, first match wins:

    - code: ``WD..CD`` (e.g. WD24CD), ``GSS_CODE``, ``ward_code``, ``wardcode``, ``code``
    - name: ``WD..NM``, ``NAME``, ``ward_name``, ``wardname``, ``name``
    - borough code: ``LAD..CD`` (e.g. LAD24CD), ``LTLA..CD``, ``LB_GSS_CD`` (the GLA's),
      ``LAGSSCODE``, ``LA_GSS_CODE``, ``borough_code``, ``boroughcode``, ``lad_code``,
      ``la_code``
    - borough name: ``LAD..NM``, ``LTLA..NM``, ``BOROUGH``, ``DISTRICT``, ``borough_name``,
      ``boroughname``, ``lad_name``, ``la_name``

    Code, name and borough code are required: every ward must have its
    borough's code, because borough-scoped users see only their boroughs'
    wards and rows (a file without them would load with every borough blank
    and show those users nothing). The borough name is optional and becomes
    an empty string when absent. Codes and names are stripped of surrounding
    whitespace; a missing name becomes an empty string.

    The coordinates must be where the CRS says: a file whose coordinates are
    metres under a longitude/latitude CRS (British National Grid in a GeoJSON,
    say), degrees under a projected CRS, or that lands outside Great Britain,
    is refused with the ``crs`` to load it with.

    Parameters
    ----------
    path : str or PathLike
        Any vector file GDAL reads: GeoJSON, shapefile, MapInfo TAB, GeoPackage, ...
    layer : str, optional
        Layer to read; required when the file has more than one.
    code_field, name_field, borough_field, borough_name_field : str, optional
        Field names to use instead of finding them automatically.
    crs : str, int or pyproj.CRS, optional
        CRS of the coordinates, overriding the file's (for a file with a
        wrong or missing CRS), e.g. ``"EPSG:27700"``.

    Returns
    -------
    WardFile
        The wards in EPSG:4326, the codes of repaired wards and the source CRS.

    Raises
    ------
    BoundaryFileError
        If the file is missing or unreadable, has no features, lacks a code,
        name or borough code field, has no CRS (and none is given), has blank
        or duplicate codes or blank borough codes, has missing, empty or
        non-polygon geometries, or has coordinates that do not fit its CRS or
        lie outside Great Britain. Every bad code is named.

    Examples
    --------
    >>> from boundaries.bundled import PILOT_WARDS
    >>> pilot = read_wards(PILOT_WARDS.path)
    >>> len(pilot.wards), pilot.source_crs, pilot.repaired
    (48, 'EPSG:4326', ())
    >>> pilot.wards.set_index("code").loc["E05014118", "name"]
    'Waterloo & South Bank'

    """
    fields = (
        _Field("code", "ward code", "code_field", _WARD_CODE, required=True),
        _Field("name", "ward name", "name_field", _WARD_NAME, required=True),
        _Field(
            "borough_code",
            "borough code",
            "borough_field",
            _BOROUGH_CODE,
            required=True,
            why=(
                "every ward needs its borough's GSS code (E09...), which scopes what borough "
                "users see; ONS files call it LAD24CD (or LAD23CD, ...), the GLA's LB_GSS_CD"
            ),
        ),
        _Field(
            "borough_name",
            "borough name",
            "borough_name_field",
            _BOROUGH_NAME,
            required=False,
        ),
    )
    chosen = (code_field, name_field, borough_field, borough_name_field)
    frame, repaired, source_crs = _read_areas(
        Path(path), layer=layer, fields=fields, chosen=chosen, crs=crs, kind="ward"
    )
    return WardFile(wards=frame, repaired=repaired, source_crs=source_crs)


def read_boroughs(
    path: str | os.PathLike[str],
    *,
    layer: str | None = None,
    code_field: str | None = None,
    name_field: str | None = None,
    crs: Any = None,
) -> gpd.GeoDataFrame:
    """Read a borough (local authority) boundary file into the normal form.

    The same rules as :func:`read_wards`: fields are found automatically when
    not given (code: ``LAD..CD``, ``GSS_CODE``, ``LAGSSCODE``, ``borough_code``,
    ``code``; name: ``LAD..NM``, ``NAME``, ``DISTRICT``, ``borough_name``,
    ``borough``, ``name``), invalid polygons are repaired silently, and every
    other problem is refused.

    Parameters
    ----------
    path : str or PathLike
        Any vector file GDAL reads.
    layer : str, optional
        Layer to read; required when the file has more than one.
    code_field, name_field : str, optional
        Field names to use instead of finding them automatically.
    crs : str, int or pyproj.CRS, optional
        CRS of the coordinates, overriding the file's.

    Returns
    -------
    GeoDataFrame
        Columns ``code, name, geometry``; valid 2-D MultiPolygons in EPSG:4326;
        RangeIndex.

    Raises
    ------
    BoundaryFileError
        As for :func:`read_wards`.

    Examples
    --------
    >>> from boundaries.bundled import LONDON_BOROUGHS_PATH
    >>> boroughs = read_boroughs(LONDON_BOROUGHS_PATH)
    >>> len(boroughs), boroughs.crs.to_string()
    (33, 'EPSG:4326')

    """
    fields = (
        _Field("code", "borough code", "code_field", _BOROUGH_FILE_CODE, required=True),
        _Field("name", "borough name", "name_field", _BOROUGH_FILE_NAME, required=True),
    )
    frame, _, _ = _read_areas(
        Path(path),
        layer=layer,
        fields=fields,
        chosen=(code_field, name_field),
        crs=crs,
        kind="borough",
    )
    return frame


def _read_areas(
    path: Path,
    *,
    layer: str | None,
    fields: Sequence[_Field],
    chosen: Sequence[str | None],
    crs: Any,
    kind: str,
) -> tuple[gpd.GeoDataFrame, tuple[str, ...], str]:
    """Read, check and normalise one file of areas; return (frame, repaired codes, source CRS)."""
    if not path.exists():
        raise BoundaryFileError(f"no such file: {path}; check the path and the file name")
    layer = _pick_layer(path, layer)
    raw = _read_layer(path, layer)
    if raw.empty:
        raise BoundaryFileError(
            f"{path} (layer {layer!r}) has no features; check you chose the right file and layer"
        )
    columns = [str(c) for c in raw.columns if c != raw.geometry.name]
    frame = gpd.GeoDataFrame(
        {
            f.column: _text(raw, _find_field(path, columns, f, given))
            for f, given in zip(fields, chosen, strict=True)
        },
        geometry=raw.geometry.to_numpy(),
        crs=raw.crs,
    )
    _refuse_bad_rows(path, frame, kind)
    frame, source_crs = _to_wgs84(path, frame, crs, kind)

    geometry, was_repaired = repair_polygons(frame.geometry)
    frame = frame.set_geometry(geometry)
    collapsed = frame.geometry.is_empty.to_numpy()
    if collapsed.any():
        raise BoundaryFileError(
            f"{path}: {kind} geometries with no area left after repairing them (zero-area or "
            f"degenerate polygons) for codes {_codes(frame, collapsed)}; fix them in the file"
        )
    repaired = tuple(frame.loc[was_repaired, "code"])
    return frame.reset_index(drop=True), repaired, source_crs


def _pick_layer(path: Path, layer: str | None) -> str:
    """Return the layer to read, refusing a file GDAL cannot open or an ambiguous choice."""
    try:
        layers = pyogrio.list_layers(path)
    except pyogrio.errors.DataSourceError as exc:
        raise BoundaryFileError(
            f"cannot read {path} as a boundary file ({exc}); give a vector file GDAL reads, "
            "such as GeoJSON, a shapefile (.shp with its .shx, .dbf and .prj), MapInfo TAB "
            "or a GeoPackage"
        ) from exc
    spatial = [str(name) for name, geometry_type in layers if geometry_type is not None]
    if not spatial:
        raise BoundaryFileError(
            f"{path} has no layer with geometries (layers: {[str(n) for n, _ in layers]}); "
            "give a file with ward or borough polygons"
        )
    if layer is not None:
        if layer not in spatial:
            raise BoundaryFileError(
                f"{path} has no layer {layer!r}; its layers are {spatial}; name one with "
                "layer= (--layer on the command line)"
            )
        return layer
    if len(spatial) > 1:
        raise BoundaryFileError(
            f"{path} has several layers {spatial}; name the one to read with layer= "
            "(--layer on the command line)"
        )
    return spatial[0]


def _read_layer(path: Path, layer: str) -> gpd.GeoDataFrame:
    try:
        return gpd.read_file(path, layer=layer, engine="pyogrio")
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError) as exc:
        raise BoundaryFileError(
            f"cannot read layer {layer!r} of {path} ({exc}); check the file is complete "
            "(a shapefile needs its .shx and .dbf beside it)"
        ) from exc


def _find_field(path: Path, columns: Sequence[str], field: _Field, given: str | None) -> str | None:
    """Return the column holding ``field``, or None if it is optional and absent."""
    by_lower = {c.lower(): c for c in columns}
    if given is not None:
        if given in columns:
            return given
        if given.lower() in by_lower:
            return by_lower[given.lower()]
        raise BoundaryFileError(
            f"{field.option}={given!r}: no such field in {path}; its fields are {list(columns)}"
        )
    for pattern in field.candidates:
        matches = [c for c in columns if re.fullmatch(pattern, c, flags=re.IGNORECASE)]
        if len(matches) == 1:
            return matches[0]
        if len(matches) > 1:
            raise BoundaryFileError(
                f"several {field.label} fields in {path}: {matches}; name the one to use with "
                f"{field.option}= (--{field.option.replace('_', '-')} on the command line)"
            )
    if field.required:
        why = f" ({field.why})" if field.why else ""
        raise BoundaryFileError(
            f"no {field.label} field found in {path}{why}; its fields are {list(columns)}; name "
            f"one with {field.option}= (--{field.option.replace('_', '-')} on the command line)"
        )
    return None


def _text(frame: pd.DataFrame, column: str | None) -> pd.Series:
    """Return ``column`` as stripped strings; missing values and an absent column become ''."""
    if column is None:
        return pd.Series([""] * len(frame), index=frame.index, dtype=object)
    values = frame[column]
    return values.where(values.notna(), "").astype(str).str.strip().astype(object)


def _refuse_bad_rows(path: Path, frame: gpd.GeoDataFrame, kind: str) -> None:
    """Raise one BoundaryFileError naming every bad code and geometry, or return."""
    problems = []
    codes = frame["code"]
    blank = (codes == "").to_numpy()
    if blank.any():
        rows = np.flatnonzero(blank).tolist()
        problems.append(
            f"blank {kind} codes in features {_shorten(rows)} (counting from 0); "
            f"every {kind} needs a code"
        )
    duplicated = codes.duplicated(keep=False).to_numpy() & ~blank
    if duplicated.any():
        problems.append(
            f"duplicate {kind} codes {_codes(frame, duplicated, unique=True)}; each {kind} must "
            "appear once (merge the parts into one MultiPolygon, or remove the repeats)"
        )
    if "borough_code" in frame.columns:
        no_borough = (frame["borough_code"] == "").to_numpy() & ~blank
        if no_borough.any():
            problems.append(
                f"blank borough codes for {kind}s {_codes(frame, no_borough)}; give every "
                f"{kind} its borough's code (E09...), or name the field that holds them with "
                "borough_field= (--borough-field on the command line)"
            )
    empty = missing_or_empty(frame.geometry)
    if empty.any():
        problems.append(
            f"missing or empty geometries for codes {_codes(frame, empty)}; give those "
            f"{kind}s their boundaries or remove them from the file"
        )
    wrong_type = not_polygonal(frame.geometry) & ~empty
    if wrong_type.any():
        found = sorted(set(frame.geometry[wrong_type].geom_type))
        problems.append(
            f"non-polygon geometries ({', '.join(found)}) for codes {_codes(frame, wrong_type)}; "
            f"{kind} boundaries must be Polygons or MultiPolygons"
        )
    if problems:
        raise BoundaryFileError(f"{path}: " + "; ".join(problems))


def _to_wgs84(
    path: Path, frame: gpd.GeoDataFrame, crs: Any, kind: str
) -> tuple[gpd.GeoDataFrame, str]:
    """Settle the source CRS (override, file's, or refusal), check it fits, reproject to 4326."""
    if crs is not None:
        try:
            source = CRS.from_user_input(crs)
        except CRSError as exc:
            raise BoundaryFileError(
                f"crs={crs!r} is not a CRS pyproj recognises ({exc}); give an EPSG code such "
                "as 'EPSG:27700' (British National Grid) or 'EPSG:4326' (longitude/latitude)"
            ) from exc
    elif frame.crs is None:
        raise BoundaryFileError(
            f"{path} has no CRS (a shapefile without its .prj, say); {_guess_crs_hint(frame)}"
        )
    else:
        source = CRS.from_user_input(frame.crs)
    source = _recognise_crs(source, frame.total_bounds)
    authority = source.to_authority()
    source_text = f"{authority[0]}:{authority[1]}" if authority else source.to_wkt()
    said = (
        f"the CRS given as crs={crs!r} (--crs)"
        if crs is not None
        else f"the file's CRS {source_text}"
        if authority
        else "the file's CRS"
    )
    _refuse_wrong_units(path, frame, source, said, kind)
    if source.equals(BRITISH_NATIONAL_GRID):
        try:
            to_wgs84()  # refuses when the OSTN15 grid is missing: GeoPandas would not say
        except GridMissing as exc:
            raise BoundaryFileError(f"{path}: {exc}") from None
    frame = frame.set_crs(source, allow_override=True).to_crs(WGS84)
    _refuse_outside_britain(path, frame, source_text, kind)
    return frame, source_text


def _refuse_wrong_units(
    path: Path, frame: gpd.GeoDataFrame, source: CRS, said: str, kind: str
) -> None:
    """Refuse coordinates that cannot be in the units of ``source``, naming the likely CRS.

    GDAL takes a GeoJSON without a ``crs`` member as longitude/latitude, so a British National
    Grid export loads as "degrees" of 530000: PostGIS then stores wards no point falls in and
    cannot transform them back. Every feature is checked, so one bad ward among good ones is
    named too.
    """
    bounds = frame.geometry.bounds
    in_degree_range = (
        (bounds["minx"] >= -180)
        & (bounds["maxx"] <= 180)
        & (bounds["miny"] >= -90)
        & (bounds["maxy"] <= 90)
    ).to_numpy()
    if source.is_geographic:
        wrong = ~in_degree_range
        if not wrong.any():
            return
        x, y = _first_coordinate(frame, wrong)
        outside = bounds[wrong]
        looks_bng = bool(
            (outside["minx"] >= 0).all()
            and (outside["maxx"] <= _BNG_MAX_EASTING).all()
            and (outside["miny"] >= 0).all()
            and (outside["maxy"] <= _BNG_MAX_NORTHING).all()
        )
        if looks_bng:
            fix = (
                f"coordinates like {x:.0f}, {y:.0f} are metres, not degrees: the file is "
                "probably British National Grid; load it with --crs EPSG:27700 "
                "(crs='EPSG:27700')"
            )
        else:
            fix = (
                f"coordinates like {x:.0f}, {y:.0f} are outside longitude/latitude range "
                "(-180 to 180, -90 to 90), so they are not degrees; load the file with --crs "
                "set to the CRS they are in (crs=), e.g. --crs EPSG:3857 for web-map metres"
            )
        raise BoundaryFileError(
            f"{path}: {fix}. {said[0].upper()}{said[1:]} is longitude/latitude; {kind}s with "
            f"such coordinates: {_codes(frame, wrong)}"
        )
    # A projected ward within 180 m of the CRS's false origin is a file of degrees labelled
    # as metres (British National Grid's origin is in the sea off the Isles of Scilly).
    if source.is_projected and in_degree_range.any():
        x, y = _first_coordinate(frame, in_degree_range)
        raise BoundaryFileError(
            f"{path}: coordinates like {x:.4f}, {y:.4f} are degrees, not metres: the file is "
            "probably longitude/latitude; load it with --crs EPSG:4326 (crs='EPSG:4326'). "
            f"{said[0].upper()}{said[1:]} is projected; {kind}s with such coordinates: "
            f"{_codes(frame, in_degree_range)}"
        )


def _refuse_outside_britain(
    path: Path, frame: gpd.GeoDataFrame, source_text: str, kind: str
) -> None:
    """Refuse areas (in EPSG:4326) that are not in or near Great Britain, naming them."""
    bounds = frame.geometry.bounds
    west, south, east, north = _BRITAIN_LON_LAT
    # NaN bounds (a transformation that failed) compare false: they count as outside.
    inside = (
        (bounds["minx"] >= west)
        & (bounds["maxx"] <= east)
        & (bounds["miny"] >= south)
        & (bounds["maxy"] <= north)
    ).to_numpy()
    if inside.all():
        return
    outside = bounds[~inside]
    swapped = bool(
        (outside["miny"] >= west).all()
        and (outside["maxy"] <= east).all()
        and (outside["minx"] >= south).all()
        and (outside["maxx"] <= north).all()
    )
    if swapped:
        fix = (
            "the coordinates look like latitude and longitude swapped (51.5, -0.1 where "
            "GeoJSON and WKT want -0.1, 51.5): write the file with longitude first"
        )
    else:
        x, y = _first_coordinate(frame, ~inside)
        fix = (
            f"they are at longitude/latitude like {x:.2f}, {y:.2f}; check the file is the "
            f"right one and its CRS ({source_text}) is the one its coordinates are in, or load "
            "it with --crs (crs=) set to theirs"
        )
    west_text, east_text = f"{west:g}", f"{east:g}"
    raise BoundaryFileError(
        f"{path}: {kind}s not in or near Great Britain (longitude {west_text} to {east_text}, "
        f"latitude {south:g} to {north:g}): {fix}; {kind}s outside: {_codes(frame, ~inside)}"
    )


def _first_coordinate(frame: gpd.GeoDataFrame, mask: np.ndarray) -> tuple[float, float]:
    """The first vertex of the first feature in ``mask``, to quote in a refusal."""
    first = frame.geometry[mask].iloc[0]
    x, y = shapely.get_coordinates(first)[0]
    return float(x), float(y)


def _recognise_crs(crs: CRS, bounds: np.ndarray) -> CRS:
    """Return the authority CRS that ``crs`` describes, or ``crs`` itself.

    A CRS without an authority code (an ESRI .prj) leaves PROJ to guess how
    to reach WGS84; with the EPSG code it uses the registered OSGB36 to WGS84
    transformation. A weak match is taken only if both put the file's own
    coordinates in the same place.
    """
    if crs.to_authority() is not None:
        return crs
    match = crs.to_authority(min_confidence=_MIN_CRS_CONFIDENCE)
    if match is None:
        return crs
    candidate = CRS.from_authority(*match)
    xmin, ymin, xmax, ymax = bounds
    xs = np.array([xmin, xmax, xmin, xmax, (xmin + xmax) / 2])
    ys = np.array([ymin, ymin, ymax, ymax, (ymin + ymax) / 2])
    ours = Transformer.from_crs(crs, WGS84, always_xy=True).transform(xs, ys)
    theirs = Transformer.from_crs(candidate, WGS84, always_xy=True).transform(xs, ys)
    gap = float(np.max(np.abs(np.asarray(ours) - np.asarray(theirs))))
    # A failed transformation gives inf or NaN, which must count as disagreement.
    return candidate if np.isfinite(gap) and gap < _SAME_PLACE_TOLERANCE_DEG else crs


def _guess_crs_hint(frame: gpd.GeoDataFrame) -> str:
    """Suggest a CRS from the coordinates, for the no-CRS refusal."""
    xmin, ymin, xmax, ymax = frame.total_bounds
    if -180 <= xmin <= xmax <= 180 and -90 <= ymin <= ymax <= 90:
        return "the coordinates look like longitude/latitude: pass crs='EPSG:4326' (--crs)"
    if 0 <= xmin <= xmax <= _BNG_MAX_EASTING and 0 <= ymin <= ymax <= _BNG_MAX_NORTHING:
        return (
            "the coordinates look like British National Grid metres: pass crs='EPSG:27700' (--crs)"
        )
    return "pass the CRS of its coordinates with crs= (--crs), e.g. 'EPSG:27700'"


def _codes(frame: gpd.GeoDataFrame, mask: np.ndarray, *, unique: bool = False) -> str:
    codes = frame.loc[mask, "code"].tolist()
    if unique:
        codes = list(dict.fromkeys(codes))
    return _shorten(codes)


def _shorten(items: list[Any]) -> str:
    if len(items) <= _MAX_CODES_SHOWN:
        return str(items)
    shown = ", ".join(repr(i) for i in items[:_MAX_CODES_SHOWN])
    return f"[{shown}, ... and {len(items) - _MAX_CODES_SHOWN} more]"
