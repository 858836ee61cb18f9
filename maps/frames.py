"""Checking the GeoDataFrames a map is drawn from, so a bad frame fails with a plain message.

Every renderer takes frames from ``service/`` queries or from a caller's own code; a frame
missing a column or a CRS would otherwise fail deep inside Folium, or draw in the wrong place.
"""

from __future__ import annotations

from collections.abc import Sequence

import geopandas as gpd


def checked_frame(frame: gpd.GeoDataFrame, columns: Sequence[str], what: str) -> gpd.GeoDataFrame:
    """``frame`` in WGS84 with ``columns``, or a ValueError that names what is wrong."""
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(
            f"{what} frame lacks column(s) {', '.join(missing)}; "
            f"it needs {', '.join(columns)} and a geometry"
        )
    if frame.empty:
        return frame
    if frame.crs is None:
        raise ValueError(f"{what} frame has no CRS; set it (EPSG:4326 or 27700)")
    if not frame.crs.equals("EPSG:4326"):
        frame = frame.to_crs("EPSG:4326")
    if (frame.geometry.isna() | frame.geometry.is_empty).any():
        raise ValueError(f"{what} frame has row(s) without a geometry")
    return frame
