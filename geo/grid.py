"""The one way between WGS84 lon/lat (EPSG:4326) and the British National Grid (EPSG:27700).

Every module that puts a point on the grid or back goes through :func:`to_grid` and
:func:`to_wgs84`, which use OSTN15, the Ordnance Survey's definitive transformation (to about
a centimetre), and refuse to fall back to the Helmert approximation that PROJ picks, silently,
when the OSTN15 grid is not on the machine: two metres move a point snapped onto a street into
the ward across it. ``make`` writes the grid (:mod:`geo.ostn15`) into the virtualenv, at
``<venv>/share/proj``; ``WALKTALK_PROJ_DIR`` names another folder.

Importing this module adds that folder to pyproj's search path for the whole process, so every
other pyproj user -- GeoPandas' ``to_crs`` included -- finds OSTN15 too.

A pyproj Transformer must not be shared between threads, and the API runs in several: each
thread gets its own pair, built once.
"""

from __future__ import annotations

import math
import os
import sys
import threading
from pathlib import Path

import pyproj
from pyproj import Transformer

__all__ = [
    "BUILD_COMMAND",
    "CHECK_POINT_GRID",
    "CHECK_POINT_LONLAT",
    "GRID_NAME",
    "OSTN15",
    "TOLERANCE_M",
    "GridMissing",
    "grid_dir",
    "grid_file",
    "python_transformation",
    "to_grid",
    "to_wgs84",
    "transformation_of",
]

# The name EPSG gives OSTN15's NTv2 file (transformations 7709 and 7710). PROJ looks for it
# when its own GeoTIFF copy, uk_os_OSTN15_NTv2_OSGBtoETRS.tif, is not found.
GRID_NAME = "OSTN15_NTv2_OSGBtoETRS.gsb"
BUILD_COMMAND = "make grid"
OSTN15 = "OSTN15"
# OS's published test point TP09 (Lambeth): ETRS89 lon/lat and its National Grid position by
# OSTN15. The Helmert approximation puts it 1.7 m east.
CHECK_POINT_LONLAT = (-0.11992557180, 51.48936564950)
CHECK_POINT_GRID = (530624.974, 178388.464)
TOLERANCE_M = 0.1

_WGS84 = "EPSG:4326"
_BRITISH_NATIONAL_GRID = "EPSG:27700"
_local = threading.local()


class GridMissing(RuntimeError):
    """PROJ cannot use OSTN15 here; the message says how to install the grid."""


def grid_dir() -> Path:
    """The folder holding the OSTN15 grid: ``WALKTALK_PROJ_DIR``, else ``<venv>/share/proj``."""
    override = os.environ.get("WALKTALK_PROJ_DIR")
    return Path(override) if override else Path(sys.prefix) / "share" / "proj"


def grid_file() -> Path:
    """Where the OSTN15 grid is (or should be)."""
    return grid_dir() / GRID_NAME


def to_grid() -> Transformer:
    """The calling thread's OSTN15 transformer from WGS84 lon/lat to National Grid metres.

    Raises ``GridMissing`` when the OSTN15 grid is not installed.

    Examples
    --------
    >>> easting, northing = to_grid().transform(*CHECK_POINT_LONLAT)
    >>> round(easting, 2), round(northing, 2)
    (530624.97, 178388.46)

    """
    return _transformer("to_grid", _WGS84, _BRITISH_NATIONAL_GRID)


def to_wgs84() -> Transformer:
    """The calling thread's OSTN15 transformer from National Grid metres to WGS84 lon/lat.

    Raises ``GridMissing`` when the OSTN15 grid is not installed.
    """
    return _transformer("to_wgs84", _BRITISH_NATIONAL_GRID, _WGS84)


def transformation_of(easting: float, northing: float) -> str:
    """Name the transformation that put OS test point TP09 at ``easting``, ``northing``.

    ``"OSTN15"`` when it lies within ``TOLERANCE_M`` of OS's published position, else a
    sentence saying how far off it is.
    """
    off = math.hypot(easting - CHECK_POINT_GRID[0], northing - CHECK_POINT_GRID[1])
    if off <= TOLERANCE_M:
        return OSTN15
    return (
        f"not OSTN15: OS test point TP09 (Lambeth) lands {off:.2f} m from its published "
        "National Grid position, as with PROJ's Helmert fallback"
    )


def python_transformation() -> str:
    """``"OSTN15"`` when this process transforms with OSTN15, else what is wrong and the fix."""
    try:
        return transformation_of(*to_grid().transform(*CHECK_POINT_LONLAT))
    except GridMissing as exc:
        return str(exc)


def _transformer(key: str, source: str, target: str) -> Transformer:
    transformer: Transformer | None = getattr(_local, key, None)
    if transformer is None:
        transformer = Transformer.from_crs(source, target, always_xy=True)
        # PROJ picks its Helmert fallback without a word when the grid is missing (only_best
        # does not stop it with the grid merely absent), so check what it does on OS's point.
        direction = "FORWARD" if source == _WGS84 else "INVERSE"
        grid_xy = transformer.transform(*CHECK_POINT_LONLAT, direction=direction)
        if transformation_of(*grid_xy) != OSTN15:
            raise GridMissing(
                f"the OSTN15 grid {GRID_NAME} is not in {grid_dir()}, so lon/lat (EPSG:4326) "
                "<-> National Grid (EPSG:27700) would use the Helmert approximation (2-5 m "
                f"off): run `{BUILD_COMMAND}` (or `{sys.executable} -m geo.ostn15`)"
            )
        setattr(_local, key, transformer)
    return transformer


def _register_grid_dir() -> None:
    folder = str(grid_dir())
    if folder not in pyproj.datadir.get_data_dir().split(os.pathsep):
        pyproj.datadir.append_data_dir(folder)


_register_grid_dir()
