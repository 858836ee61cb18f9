"""geo.hexagons: PostGIS's hexagon cells on the British grid, in numpy."""

from __future__ import annotations

import numpy as np
import pytest
import shapely

from geo.hexagons import HEX_EDGES_M, check_edge, hex_centres, hex_index, hex_polygons


@pytest.mark.parametrize("edge", HEX_EDGES_M)
def test_every_point_falls_in_the_cell_whose_polygon_holds_it(edge: int) -> None:
    rng = np.random.default_rng(edge)
    # Across the pilot boroughs, with extra points right on cell corners and edges.
    x = rng.uniform(528_000, 537_000, 20_000)
    y = rng.uniform(169_000, 181_000, 20_000)
    i, j = hex_index(x, y, edge)
    polygons = hex_polygons(i, j, edge)
    inside = shapely.intersects_xy(polygons, x, y)
    assert inside.all()
    # Cells tile the plane: areas are the regular hexagon's, 3√3/2 e².
    assert np.allclose(shapely.area(polygons), 3 * np.sqrt(3) / 2 * edge**2)


def test_centres_and_corners_are_those_of_st_hexagon() -> None:
    # ST_Hexagon(10, 2, 2) and (10, -3, -2), as PostGIS 3.3 prints them.
    assert shapely.equals_exact(
        hex_polygons([2], [2], 10)[0],
        shapely.from_wkt(
            "POLYGON((20 34.64101615137755,25 25.98076211353316,35 25.98076211353316,"
            "40 34.64101615137755,35 43.30127018922194,25 43.30127018922194,"
            "20 34.64101615137755))"
        ),
        1e-9,
    )
    x, y = hex_centres([-3], [-2], 10)
    assert (x[0], y[0]) == pytest.approx((-45.0, -25.980762113533164))


@pytest.mark.parametrize("bad", [0, 300, 250.5, True, "250", None])
def test_only_the_offered_edges_are_accepted(bad: object) -> None:
    with pytest.raises(ValueError, match="use one of 250, 500, 1000, 2000"):
        check_edge(bad)
