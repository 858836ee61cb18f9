"""A heatmap surface: kernel density of the aggregated grid, never of report points.

The input is the hexagon grid a viewer may see: each cell's centre, weighted by its count (the
protected count for partners, planners, the public and officers, with suppressed cells
weighing nothing). The surface is therefore a smoothed picture of those counts and tells no
one more than the counts do; its size depends on the grid and the raster, never on how many
reports there are.

The raster is on the British National Grid (EPSG:27700), so pixels are square metres. Each
centre's weight is shared between the four pixel centres around it (bilinear, so a centre
between pixels is not moved to one), then smoothed with a Gaussian kernel by
``scipy.ndimage.gaussian_filter``, which preserves the total: the surface integrates to the
total weight, in reports per km².
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import ndimage

__all__ = ["MAX_SIDE_PX", "DensitySurface", "kernel_density"]

#: The raster's longest side, in pixels: a borough at 20-50 m a pixel, all of London coarser.
#: This bound is what keeps a heatmap page small whatever the number of reports.
MAX_SIDE_PX = 640
# The surface reaches this many bandwidths beyond the outermost centres (the kernel's tail
# beyond 4 sigma is under 0.04 % of its weight).
_REACH_SIGMAS = 4.0
_M2_PER_KM2 = 1e6


@dataclass(frozen=True)
class DensitySurface:
    """Reports per km² on a raster of square pixels on the British National Grid.

    ``density[0, 0]`` is the north-west pixel; ``bounds`` are the raster's outer edges
    ``(min_x, min_y, max_x, max_y)`` in EPSG:27700 metres.
    """

    density: NDArray[np.float64]
    bounds: tuple[float, float, float, float]
    pixel_m: float
    bandwidth_m: float
    crs: str = "EPSG:27700"

    @property
    def peak(self) -> float:
        """The highest density on the surface, reports per km²."""
        return float(self.density.max()) if self.density.size else 0.0

    @property
    def total(self) -> float:
        """The surface's integral: the total weight it spreads (reports)."""
        return float(self.density.sum() * self.pixel_m**2 / _M2_PER_KM2)

    def pixel_centres(self) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """Eastings of the columns' centres and northings of the rows' centres (north first)."""
        min_x, _, _, max_y = self.bounds
        rows, cols = self.density.shape
        xs = min_x + (np.arange(cols, dtype=np.float64) + 0.5) * self.pixel_m
        ys = max_y - (np.arange(rows, dtype=np.float64) + 0.5) * self.pixel_m
        return xs.astype(np.float64), ys.astype(np.float64)


def kernel_density(
    x: ArrayLike,
    y: ArrayLike,
    weights: ArrayLike,
    *,
    bandwidth_m: float,
    pixel_m: float | None = None,
    max_side_px: int = MAX_SIDE_PX,
) -> DensitySurface:
    """Gaussian kernel density of weighted points on the British National Grid.

    Parameters
    ----------
    x, y : array of float
        Eastings and northings (EPSG:27700), e.g. hexagon centres.
    weights : array of float
        Each point's weight, e.g. its hexagon's count; NaN (suppressed) counts as 0.
    bandwidth_m : float
        The kernel's standard deviation, metres.
    pixel_m : float, optional
        Pixel size, metres; default a fifth of the bandwidth. Raised if the raster would be
        longer than ``max_side_px`` on a side.
    max_side_px : int
        The raster's longest side, pixels.

    Returns
    -------
    DensitySurface
        Reports per km²; with no weight at all, a surface of zeros over the points' extent.

    Examples
    --------
    One hexagon of 100 reports, a 400 m kernel: the peak is ``100 / (2 pi 0.4²)`` per km².

    >>> s = kernel_density([530_000.0], [180_000.0], [100.0], bandwidth_m=400, pixel_m=20)
    >>> round(s.peak), round(100 / (2 * math.pi * 0.4**2)), round(s.total, 1)
    (99, 99, 100.0)

    """
    xs = np.asarray(x, dtype=np.float64).ravel()
    ys = np.asarray(y, dtype=np.float64).ravel()
    w = np.nan_to_num(np.asarray(weights, dtype=np.float64).ravel(), nan=0.0)
    if not (xs.shape == ys.shape == w.shape):
        raise ValueError(
            f"x, y and weights must be of one length, not {xs.size}, {ys.size} and {w.size}"
        )
    if xs.size == 0:
        raise ValueError("no points: a density surface needs at least one cell centre")
    if not (np.isfinite(xs).all() and np.isfinite(ys).all()):
        raise ValueError("point coordinates must be finite")
    if np.any(w < 0):
        raise ValueError("weights must be at least 0 (counts)")
    if not bandwidth_m > 0 or not math.isfinite(bandwidth_m):
        raise ValueError(f"bandwidth must be a positive number of metres, not {bandwidth_m!r}")
    if max_side_px < 2:
        raise ValueError(f"max_side_px must be at least 2, not {max_side_px}")

    reach = _REACH_SIGMAS * bandwidth_m
    min_x, max_x = xs.min() - reach, xs.max() + reach
    min_y, max_y = ys.min() - reach, ys.max() + reach
    pixel = float(pixel_m) if pixel_m else bandwidth_m / 5
    if not pixel > 0:
        raise ValueError(f"pixel size must be positive, not {pixel_m!r}")
    pixel = max(pixel, max(max_x - min_x, max_y - min_y) / max_side_px)
    cols = max(2, math.ceil((max_x - min_x) / pixel))
    rows = max(2, math.ceil((max_y - min_y) / pixel))
    # Centre the extent on the points, now that it is a whole number of pixels.
    min_x -= (cols * pixel - (max_x - min_x)) / 2
    max_y += (rows * pixel - (max_y - min_y)) / 2

    grid = np.zeros((rows, cols))
    # Fractional pixel positions of each point, measured between pixel centres.
    fx = (xs - min_x) / pixel - 0.5
    fy = (max_y - ys) / pixel - 0.5
    c0, r0 = np.floor(fx).astype(np.int64), np.floor(fy).astype(np.int64)
    dx, dy = fx - c0, fy - r0
    for dr, dc, share in (
        (0, 0, (1 - dy) * (1 - dx)),
        (0, 1, (1 - dy) * dx),
        (1, 0, dy * (1 - dx)),
        (1, 1, dy * dx),
    ):
        np.add.at(grid, (np.clip(r0 + dr, 0, rows - 1), np.clip(c0 + dc, 0, cols - 1)), w * share)
    smoothed = ndimage.gaussian_filter(
        grid, sigma=bandwidth_m / pixel, mode="constant", cval=0.0, truncate=_REACH_SIGMAS
    )
    # Floating-point noise far from every point can come out a hair below zero.
    density = np.clip(smoothed, 0.0, None) * _M2_PER_KM2 / pixel**2
    return DensitySurface(
        density=density,
        bounds=(min_x, max_y - rows * pixel, min_x + cols * pixel, max_y),
        pixel_m=pixel,
        bandwidth_m=float(bandwidth_m),
    )
