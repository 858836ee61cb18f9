"""The heatmap surface: kernel density of weighted hexagon centres on the British grid."""

from __future__ import annotations

import doctest
import math

import numpy as np
import pytest

import geo.kde
from geo.hexagons import hex_centres
from geo.kde import MAX_SIDE_PX, kernel_density

# A block of 500 m hexagons in central London with lumpy counts.
II, JJ = np.meshgrid(np.arange(700, 712), np.arange(205, 215), indexing="ij")
X, Y = hex_centres(II.ravel(), JJ.ravel(), 500)
COUNTS = np.random.default_rng(1).poisson(8, X.size).astype(float)
BANDWIDTH = 500 * math.sqrt(3)


def direct_density(x, y, weights, bandwidth, at_x, at_y) -> np.ndarray:
    """The Gaussian kernel sum written out, per km², at the given places."""
    dx = at_x[:, None] - x[None, :]
    dy = at_y[:, None] - y[None, :]
    kernel = np.exp(-(dx**2 + dy**2) / (2 * bandwidth**2)) / (2 * math.pi * bandwidth**2)
    return (kernel * weights[None, :]).sum(axis=1) * 1e6


def test_the_surface_holds_every_report_it_was_given() -> None:
    surface = kernel_density(X, Y, COUNTS, bandwidth_m=BANDWIDTH)
    assert surface.total == pytest.approx(COUNTS.sum(), rel=1e-3)
    assert (surface.density >= 0).all()


def test_the_surface_is_the_gaussian_kernel_sum_of_the_centres() -> None:
    surface = kernel_density(X, Y, COUNTS, bandwidth_m=BANDWIDTH)
    xs, ys = surface.pixel_centres()
    rng = np.random.default_rng(2)
    rows = rng.integers(0, surface.density.shape[0], 300)
    cols = rng.integers(0, surface.density.shape[1], 300)
    expected = direct_density(X, Y, COUNTS, BANDWIDTH, xs[cols], ys[rows])
    got = surface.density[rows, cols]
    busy = expected > 0.05 * expected.max()
    assert busy.sum() > 100
    assert np.allclose(got[busy], expected[busy], rtol=0.02)


def test_one_cell_peaks_where_it_is_at_the_kernels_height() -> None:
    x, y = 531_234.0, 179_876.0
    surface = kernel_density([x], [y], [40.0], bandwidth_m=300.0)
    row, col = np.unravel_index(np.argmax(surface.density), surface.density.shape)
    xs, ys = surface.pixel_centres()
    assert abs(xs[col] - x) <= surface.pixel_m and abs(ys[row] - y) <= surface.pixel_m
    assert surface.peak == pytest.approx(40 / (2 * math.pi * 0.3**2), rel=0.02)
    min_x, min_y, max_x, max_y = surface.bounds
    assert min_x < x < max_x and min_y < y < max_y
    # The raster reaches four bandwidths beyond the point on every side.
    assert min(x - min_x, max_x - x, y - min_y, max_y - y) >= 4 * 300.0


def test_suppressed_cells_contribute_nothing() -> None:
    weights = COUNTS.copy()
    weights[:40] = np.nan  # suppressed
    with_nan = kernel_density(X, Y, weights, bandwidth_m=BANDWIDTH)
    with_zero = kernel_density(X, Y, np.where(np.isnan(weights), 0, weights), bandwidth_m=BANDWIDTH)
    assert np.array_equal(with_nan.density, with_zero.density)
    assert with_nan.total == pytest.approx(np.nansum(weights), rel=1e-3)


def test_the_raster_depends_on_the_grid_not_on_how_many_reports() -> None:
    few = kernel_density(X, Y, np.ones(X.size), bandwidth_m=BANDWIDTH)
    many = kernel_density(X, Y, np.full(X.size, 80_000.0), bandwidth_m=BANDWIDTH)
    assert few.density.shape == many.density.shape and few.bounds == many.bounds
    assert np.allclose(many.density, few.density * 80_000)


def test_a_large_area_is_capped_at_the_longest_side() -> None:
    # All of London's extent in 250 m hexagon centres, about 60 x 45 km.
    rng = np.random.default_rng(3)
    x = rng.uniform(503_568, 561_957, 20_000)
    y = rng.uniform(155_850, 200_934, 20_000)
    surface = kernel_density(x, y, rng.poisson(50, x.size), bandwidth_m=433.0)
    assert max(surface.density.shape) <= MAX_SIDE_PX
    assert surface.pixel_m > 433.0 / 5
    min_x, min_y, max_x, max_y = surface.bounds
    rows, cols = surface.density.shape
    assert max_x - min_x == pytest.approx(cols * surface.pixel_m)
    assert max_y - min_y == pytest.approx(rows * surface.pixel_m)


def test_no_weight_at_all_is_a_flat_surface_of_zeros() -> None:
    surface = kernel_density(X, Y, np.zeros(X.size), bandwidth_m=BANDWIDTH)
    assert surface.peak == 0.0 and surface.total == 0.0


@pytest.mark.parametrize(
    ("x", "y", "weights", "bandwidth", "message"),
    [
        ([], [], [], 300.0, "no points"),
        ([1.0, 2.0], [1.0], [1.0, 1.0], 300.0, "one length"),
        ([1.0], [1.0], [-1.0], 300.0, "at least 0"),
        ([1.0], [1.0], [1.0], 0.0, "bandwidth"),
        ([np.inf], [1.0], [1.0], 300.0, "finite"),
    ],
)
def test_bad_input_is_refused_with_its_reason(x, y, weights, bandwidth, message) -> None:
    with pytest.raises(ValueError, match=message):
        kernel_density(x, y, weights, bandwidth_m=bandwidth)


def test_the_examples_in_the_docstrings_hold() -> None:
    result = doctest.testmod(geo.kde)
    assert result.attempted >= 2 and result.failed == 0
