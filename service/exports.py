"""File formats GIS people and spreadsheets open: GeoJSON, GeoPackage and CSV.

Shared by every export (reports, walks, aggregates), so the same choice of CRS, the same
content types and the same download names are offered everywhere.
"""

from __future__ import annotations

import tempfile
from datetime import date
from pathlib import Path
from typing import Literal

import geopandas as gpd
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


def geopackage(frame: gpd.GeoDataFrame, *, layer: str, crs: int = 4326) -> bytes:
    """A GeoPackage file of one layer, in ``crs``."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"{layer}.gpkg"
        (frame.to_crs(crs) if crs != 4326 else frame).to_file(path, layer=layer, driver="GPKG")
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
