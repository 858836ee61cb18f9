"""Hexagon cells on the British National Grid, the units hot-spot maps count reports in.

The cells are PostGIS's own (``ST_Hexagon`` / ``ST_HexagonGrid``): flat-topped hexagons of a
given edge length on the grid's origin, cell ``(i, j)`` centred at ``(1.5 e i, h (2 j + |i| mod
2))`` with ``h = e √3 / 2``. Fixing both the edge lengths and the origin means the same place
always falls in the same cell, whatever area or filters a map is drawn for, so no one can shift
the grid to split a suppressed cell into revealing pieces.

Pure numpy and Shapely; the same arithmetic runs in SQL in ``service.queries.aggregates``.
"""

from __future__ import annotations

import math

import numpy as np
import shapely
from numpy.typing import ArrayLike, NDArray

__all__ = [
    "CELL_KEY_BASE",
    "HEX_EDGES_M",
    "cell_keys",
    "check_edge",
    "hex_centres",
    "hex_index",
    "hex_polygons",
    "split_cell_keys",
]

#: The edge lengths offered, metres: a 250 m hexagon covers about 0.16 km², a few streets.
HEX_EDGES_M = (250, 500, 1000, 2000)

#: A cell ``(i, j)`` is stored as one integer, ``i * CELL_KEY_BASE + j``. On the British
#: National Grid both are positive and ``j`` stays under 3,100 even at the smallest edge
#: (northings end at 1,300 km), so keys fit PostgreSQL's ``integer``.
CELL_KEY_BASE = 100_000

_ROOT3_2 = math.sqrt(3) / 2


def check_edge(edge_m: object) -> int:
    """Refuse an edge length that is not one of :data:`HEX_EDGES_M`."""
    if isinstance(edge_m, bool) or edge_m not in HEX_EDGES_M:
        offered = ", ".join(str(e) for e in HEX_EDGES_M)
        raise ValueError(f"hexagon edge {edge_m!r} m is not offered: use one of {offered}")
    return int(edge_m)  # type: ignore[call-overload, unused-ignore]


def hex_centres(i: ArrayLike, j: ArrayLike, edge_m: float) -> tuple[NDArray[np.float64], ...]:
    """Centres (easting, northing) of cells ``(i, j)``."""
    i = np.asarray(i, dtype=np.int64)
    j = np.asarray(j, dtype=np.int64)
    h = edge_m * _ROOT3_2
    return 1.5 * edge_m * i, h * (2 * j + np.abs(i % 2))


def hex_index(x: ArrayLike, y: ArrayLike, edge_m: float) -> tuple[NDArray[np.int64], ...]:
    """The cell ``(i, j)`` each British National Grid point falls in.

    A hexagonal tiling is the Voronoi diagram of its centres, so a point's cell is the one
    with the nearest centre; only the two columns either side of the point can hold it.

    Examples
    --------
    >>> i, j = hex_index([530_000.0], [180_000.0], 250)
    >>> int(i[0]), int(j[0])
    (1413, 415)

    """
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    h = edge_m * _ROOT3_2
    left = np.floor(x / (1.5 * edge_m)).astype(np.int64)
    best_i = left
    best_j = np.rint((y / h - np.abs(left % 2)) / 2).astype(np.int64)
    cx, cy = hex_centres(best_i, best_j, edge_m)
    best = (x - cx) ** 2 + (y - cy) ** 2
    right = left + 1
    right_j = np.rint((y / h - np.abs(right % 2)) / 2).astype(np.int64)
    rx, ry = hex_centres(right, right_j, edge_m)
    nearer = (x - rx) ** 2 + (y - ry) ** 2 < best
    return np.where(nearer, right, best_i), np.where(nearer, right_j, best_j)


def hex_polygons(i: ArrayLike, j: ArrayLike, edge_m: float) -> NDArray[np.object_]:
    """The cells ``(i, j)`` as Shapely polygons on the British National Grid.

    Vertices in the order ``ST_Hexagon`` gives them, starting at the left corner.
    """
    cx, cy = hex_centres(i, j, edge_m)
    h = edge_m * _ROOT3_2
    dx = np.array([-1.0, -0.5, 0.5, 1.0, 0.5, -0.5, -1.0]) * edge_m
    dy = np.array([0.0, -h, -h, 0.0, h, h, 0.0])
    rings = np.stack([cx[:, None] + dx, cy[:, None] + dy], axis=-1)
    return np.asarray(shapely.polygons(rings))


def cell_keys(x: ArrayLike, y: ArrayLike, edge_m: float) -> NDArray[np.int64]:
    """The stored key of each British National Grid point's cell (see :data:`CELL_KEY_BASE`).

    Examples
    --------
    >>> cell_keys([530_000.0], [180_000.0], 250).tolist()
    [141300415]

    """
    i, j = hex_index(x, y, edge_m)
    if (i < 0).any() or (j < 0).any() or (j >= CELL_KEY_BASE).any():
        raise ValueError("cell keys are made for points on the British National Grid only")
    return np.asarray(i * CELL_KEY_BASE + j, dtype=np.int64)


def split_cell_keys(keys: ArrayLike) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """``(i, j)`` back from stored cell keys."""
    k = np.asarray(keys, dtype=np.int64)
    return k // CELL_KEY_BASE, k % CELL_KEY_BASE
