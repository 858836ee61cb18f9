"""File formats GIS people and spreadsheets open: GeoJSON, GeoPackage and CSV.

Shared by every export (reports, walks, aggregates), so the same choice of CRS, the same
content types and the same download names are offered everywhere.
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Mapping, Sequence
from datetime import date
from pathlib import Path
from typing import Literal

import geopandas as gpd
import pandas as pd
import pyogrio
import shapely
from fastapi import Response

from service.errors import InvalidInput

ExportFormat = Literal["csv", "geojson", "gpkg"]

EXPORT_TYPES: dict[str, str] = {
    "csv": "text/csv; charset=utf-8",
    "geojson": "application/geo+json",
    "gpkg": "application/geopackage+sqlite3",
}
CRS_OFFERED = (4326, 27700)


def check_crs(crs: int) -> int:
    """Refuse a CRS that exports do not offer."""
    if crs not in CRS_OFFERED:
        raise InvalidInput(
            f"crs {crs} is not offered: use 4326 (WGS84) or 27700 (British National Grid)"
        )
    return crs


def geopackage(
    frame: gpd.GeoDataFrame, *, layer: str, crs: int = 4326, note: Sequence[str] = ()
) -> bytes:
    """A GeoPackage file of one layer, in ``crs``.

    A method ``note``, when given, is the layer's description and a ``method_note`` table
    beside it, where QGIS lists it: the note stays with the data it describes.
    """
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"{layer}.gpkg"
        options = {"DESCRIPTION": " ".join(note)} if note else None
        (frame.to_crs(crs) if crs != 4326 else frame).to_file(
            path, layer=layer, driver="GPKG", layer_options=options
        )
        if note:
            table = pd.DataFrame({"line": range(1, len(note) + 1), "text": list(note)})
            pyogrio.write_dataframe(table, path, layer="method_note", driver="GPKG")
        return path.read_bytes()


def download(body: bytes, fmt: ExportFormat, *, name: str) -> Response:
    """A file download named ``<name>-<today>.<fmt>``."""
    return Response(
        body,
        media_type=EXPORT_TYPES[fmt],
        headers={
            "Content-Disposition": f'attachment; filename="{name}-{date.today().isoformat()}.{fmt}"'
        },
    )


#: A printed map: an A4 sheet as a picture or a one-page PDF (``service.printing``).
PrintFormat = Literal["png", "pdf"]
PRINT_TYPES: dict[str, str] = {"png": "image/png", "pdf": "application/pdf"}


def print_download(body: bytes, fmt: PrintFormat, *, name: str) -> Response:
    """A printed map's download, named ``<name>-<today>.<fmt>`` like the other downloads."""
    return Response(
        body,
        media_type=PRINT_TYPES[fmt],
        headers={
            "Content-Disposition": f'attachment; filename="{name}-{date.today().isoformat()}.{fmt}"'
        },
    )


#: The wide CSV's column naming each row's suppressed cells.
SUPPRESSED_CELLS = "Suppressed (empty) cells"
#: Which layout a CSV download takes: ``long`` (one row per unit and measure) or ``wide``.
CsvLayout = Literal["long", "wide"]


def heading(column: str, headings: Mapping[str, str]) -> str:
    """A column's heading in words: the one given, else made from its name.

    Examples
    --------
    >>> heading("rate_per_1000_women", {})
    'Rate per 1,000 women'
    >>> heading("count", {"count": "Reports"})
    'Reports'

    """
    if column in headings:
        return headings[column]
    words = column.replace("_", " ").replace("km2", "km²")
    words = re.sub(r"\b\d{4,}\b", lambda number: f"{int(number.group()):,}", words)
    return words[:1].upper() + words[1:]


def suppression_flag(column: str, flags: Sequence[str]) -> str | None:
    """The flag that says whether ``column`` is suppressed in a row.

    Its own ``<column>_suppressed``; else that of the longest counted thing it is worked out
    from (``dark_share`` from ``dark_suppressed``); else the unit's count's ``suppressed``,
    which every rate of reports is worked out from.

    Examples
    --------
    >>> flags = ["suppressed", "dark_suppressed", "walks_suppressed"]
    >>> [suppression_flag(c, flags) for c in ("walks", "dark_share", "rate_per_km2")]
    ['walks_suppressed', 'dark_suppressed', 'suppressed']

    """
    if f"{column}_suppressed" in flags:
        return f"{column}_suppressed"
    stems = sorted((f.removesuffix("_suppressed") for f in flags if f != "suppressed"), key=len)
    for stem in reversed(stems):
        if column.startswith(f"{stem}_"):
            return f"{stem}_suppressed"
    return "suppressed" if "suppressed" in flags else None


def wide_csv(
    frame: pd.DataFrame,
    *,
    names: Sequence[str],
    headings: Mapping[str, str],
    notes: str,
    facts: Sequence[str] = ("area_km2",),
) -> bytes:
    """A CSV with one row per unit and one column per measure, as a spreadsheet user reads it.

    Parameters
    ----------
    frame : DataFrame
        One row per unit: the ``names`` columns, the measures (every other column, in order),
        and their boolean flags (``suppressed``, ``*_suppressed``), which become no column of
        their own.
    names : sequence of str
        The columns that name the unit (codes, names, level), first in the file.
    headings : mapping
        Headings in words by column; other columns are headed from their names (:func:`heading`).
    notes : str
        The method note, on the first row of the last column (``Notes``).
    facts : sequence of str
        Measures of the unit itself (its area), never suppressed with its counts.

    Returns
    -------
    bytes
        UTF-8 CSV. A suppressed value is an empty cell, never 0, and the row's
        ``Suppressed (empty) cells`` column names each one; an empty cell it does not name has
        no value at all (a share of no reports).

    """
    flags = [
        c
        for c in frame.columns
        if (c == "suppressed" or c.endswith("_suppressed")) and frame[c].dtype == bool
    ]
    measures = [c for c in frame.columns if c not in names and c not in flags and c != "geometry"]
    table = frame[[*names, *measures]].copy()
    hidden = pd.Series([[] for _ in range(len(frame))], index=frame.index, dtype=object)
    for column in measures:
        flag = suppression_flag(column, flags)
        if flag is None:
            continue
        if column in facts:
            continue
        # Whatever the value, a cell whose flag is set is written empty: a figure worked out
        # from a suppressed count must not show even if its maker forgot to blank it.
        table[column] = table[column].astype(object).where(~frame[flag], None)
        for index in frame.index[frame[flag]]:
            hidden[index].append(heading(column, headings))
    table[SUPPRESSED_CELLS] = hidden.map("; ".join)
    table["Notes"] = ""
    if len(table):
        table.iloc[0, table.columns.get_loc("Notes")] = notes
    table.columns = [
        c if c in (SUPPRESSED_CELLS, "Notes") else heading(c, headings) for c in table.columns
    ]
    return table.to_csv(index=False, na_rep="").encode()


#: Headings of the hexagons' wide CSV; other columns (a trend, say) are headed from their names.
HEXAGON_HEADINGS: dict[str, str] = {
    "i": "Hexagon column (i)",
    "j": "Hexagon row (j)",
    "edge_m": "Hexagon edge (m)",
    "count": "Reports",
    "z": "Gi* z-score",
    "p": "p-value",
    "p_fdr": "p-value, false discovery rate adjusted",
    "class": "Hot-spot class",
    "crimes": "Police.uk crimes",
}


def hexagon_wide_csv(
    cells: gpd.GeoDataFrame, *, edge_m: int, note: Sequence[str], crs: int, decimals: int = 6
) -> bytes:
    """The hexagons as a wide CSV: one row per hexagon, one column per measure, its outline.

    ``cells`` is the hexagons as the caller may see them (EPSG:4326): ``i, j``, the measures
    and their ``*suppressed`` flags. The outline is WKT in ``crs`` (``decimals`` of a degree
    in 4326, centimetres in 27700).
    """
    outline = f"Outline (WKT, EPSG:{crs})"
    wkt = shapely.to_wkt(
        (cells.geometry.to_crs(crs) if crs != 4326 else cells.geometry).array,
        rounding_precision=decimals if crs == 4326 else 2,
    )
    frame = pd.DataFrame(cells.drop(columns=cells.geometry.name))
    frame.insert(2, "edge_m", edge_m)
    for column in ("count", "crimes", "residents", "women"):
        if column in frame:
            frame[column] = pd.array(frame[column].round(), dtype="Int64")
    for column in ("z", "p", "p_fdr"):
        if column in frame:
            frame[column] = frame[column].round(4)
    frame[outline] = wkt
    return wide_csv(
        frame,
        names=("i", "j", "edge_m"),
        headings={**HEXAGON_HEADINGS, outline: outline},
        notes=" ".join(note),
        facts=(outline, "residents", "women"),
    )
