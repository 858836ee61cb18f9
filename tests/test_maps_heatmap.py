"""The heatmap page: the surface as one image where it belongs, its legend, layers and size."""

from __future__ import annotations

import base64
import html
import io
import json
import math
import re
from typing import Any

import geopandas as gpd
import numpy as np
import pytest
from PIL import Image
from pyproj import Transformer
from shapely.geometry import shape

from boundaries.bundled import LONDON_WARDS_2018, PILOT_WARDS
from boundaries.reading import read_wards
from geo.hexagons import hex_centres, hex_index, hex_polygons
from geo.kde import MAX_SIDE_PX, kernel_density
from maps.heatmap import ramp_colours, render_heatmap
from maps.tiles import tile_source
from service.routers.hotspots import HEATMAP_SIMPLIFY_M
from tests.test_maps_hotspots import about_panel, geo_json_layers, hover
from tests.test_maps_routes import CDN_MARKERS, js_strings_after, layer_control, linked_assets

EDGE = 250
CREDIT = "Contains National Statistics data © Crown copyright and database right 2024"
FILTERS = ["boroughs E09000022, E09000028"]
NOTE = ["A report is a place where someone felt unsafe.", "Heatmap: a kernel density."]
TWO_MB = 2 * 1024 * 1024
# Waterloo station, on the British grid.
WATERLOO_BNG = (531_150.0, 179_950.0)


def cells_over(wards: gpd.GeoDataFrame, edge: int = EDGE) -> tuple[np.ndarray, np.ndarray]:
    """Every cell whose centre lies within the wards' extent (a dense enough cover)."""
    min_x, min_y, max_x, max_y = wards.to_crs(27700).total_bounds
    xs, ys = np.meshgrid(np.arange(min_x, max_x, edge), np.arange(min_y, max_y, edge))
    i, j = hex_index(xs.ravel(), ys.ravel(), edge)
    unique = np.unique(np.column_stack([i, j]), axis=0)
    return unique[:, 0], unique[:, 1]


def render(surface, wards, **kwargs: Any) -> str:
    options: dict[str, Any] = {
        "wards": wards,
        "k": 10,
        "title": "Heatmap of unsafe-place reports (250 m hexagons, smoothed)",
        "filters": FILTERS,
        "note": NOTE,
        "attribution": CREDIT,
        "asset_url": "/static/vendor",
        "tiles": tile_source("none"),
    }
    options.update(kwargs)
    return render_heatmap(surface, **options)


def overlay(page: str) -> tuple[Image.Image, tuple[float, float, float, float]]:
    """The heat image as Pillow reads it, and its (south, west, north, east)."""
    found = re.search(
        r'L\.imageOverlay\(\s*"data:image/png;base64,([A-Za-z0-9+/=]+)",\s*(\[\[.*?\]\])', page
    )
    assert found, "no heat image on the page"
    image = Image.open(io.BytesIO(base64.b64decode(found.group(1))))
    (south, west), (north, east) = json.loads(found.group(2))
    return image.convert("RGBA"), (south, west, north, east)


def pixel_place(image: Image.Image, bounds, row: float, col: float) -> tuple[float, float]:
    """Where a pixel of the image lands on a Web Mercator map: (lon, lat)."""
    south, west, north, east = bounds
    to_mercator = Transformer.from_crs(4326, 3857, always_xy=True)
    (x0, x1), (y0, y1) = to_mercator.transform([west, east], [south, north])
    x = x0 + (col + 0.5) / image.width * (x1 - x0)
    y = y1 - (row + 0.5) / image.height * (y1 - y0)
    lon, lat = Transformer.from_crs(3857, 4326, always_xy=True).transform(x, y)
    return lon, lat


@pytest.fixture(scope="module")
def pilot_wards() -> gpd.GeoDataFrame:
    return read_wards(PILOT_WARDS.path).wards


@pytest.fixture(scope="module")
def one_hot_cell(pilot_wards):
    """The pilot's cells, quiet but for the one at Waterloo."""
    i, j = cells_over(pilot_wards)
    wi, wj = hex_index([WATERLOO_BNG[0]], [WATERLOO_BNG[1]], EDGE)
    weights = np.where((i == wi[0]) & (j == wj[0]), 500.0, 0.0)
    assert weights.sum() == 500
    x, y = hex_centres(i, j, EDGE)
    return kernel_density(x, y, weights, bandwidth_m=EDGE * math.sqrt(3)), (wi[0], wj[0])


@pytest.fixture(scope="module")
def page(one_hot_cell, pilot_wards) -> str:
    surface, _ = one_hot_cell
    return render(surface, pilot_wards)


def test_the_heat_is_drawn_where_the_reports_are(page, one_hot_cell):
    _, (wi, wj) = one_hot_cell
    image, bounds = overlay(page)
    alpha = np.asarray(image)[..., 3].astype(float)
    red = np.asarray(image)[..., 0].astype(float)
    # The darkest-red opaque pixel: the ramp gets darker as density grows.
    score = np.where(alpha > 0, 255 - red, -1)
    row, col = np.unravel_index(np.argmax(alpha * 1000 + score), alpha.shape)
    lon, lat = pixel_place(image, bounds, row, col)
    cx, cy = hex_centres([wi], [wj], EDGE)
    clon, clat = Transformer.from_crs(27700, 4326, always_xy=True).transform(cx[0], cy[0])
    # Within a couple of the image's pixels (each about 87 m here) of the cell's centre.
    metres = math.hypot((lon - clon) * 69_000, (lat - clat) * 111_000)
    assert metres < 200


def test_it_is_transparent_where_there_is_next_to_nothing(page):
    image, _ = overlay(page)
    alpha = np.asarray(image)[..., 3]
    assert alpha[0, 0] == alpha[-1, -1] == alpha[0, -1] == alpha[-1, 0] == 0
    assert 0 < (alpha > 0).mean() < 0.5
    assert alpha.max() == round(0.8 * 255)


def test_the_image_covers_the_surface_and_the_map_opens_on_the_wards(
    page, one_hot_cell, pilot_wards
):
    surface, _ = one_hot_cell
    _, (south, west, north, east) = overlay(page)
    to_wgs84 = Transformer.from_crs(27700, 4326, always_xy=True)
    min_x, min_y, max_x, max_y = surface.bounds
    lons, lats = to_wgs84.transform([min_x, max_x, min_x, max_x], [min_y, min_y, max_y, max_y])
    tiny = 1e-9  # through Web Mercator and back
    assert west <= min(lons) + tiny and east >= max(lons) - tiny
    assert south <= min(lats) + tiny and north >= max(lats) - tiny
    fit = re.search(r"\.fitBounds\(\s*(\[\[.*?\]\])", page, re.S)
    (fit_south, fit_west), (fit_north, fit_east) = json.loads(fit.group(1))
    min_x, min_y, max_x, max_y = pilot_wards.total_bounds
    assert (fit_south, fit_west, fit_north, fit_east) == pytest.approx((min_y, min_x, max_y, max_x))


def legend_parts(page: str) -> list[str]:
    """The ramp legend's pieces of text, in order."""
    (legend,) = js_strings_after(
        page, 'L.DomUtil.create("div", "map-legend");\n                    div.innerHTML ='
    )
    text = html.unescape(re.sub(r"<[^>]+>", "|", legend))
    return [p for p in text.split("|") if p.strip()]


def test_the_legend_is_a_log_ramp_marked_at_each_power_of_ten(page, one_hot_cell):
    surface, _ = one_hot_cell
    (legend,) = js_strings_after(
        page, 'L.DomUtil.create("div", "map-legend");\n                    div.innerHTML ='
    )
    parts = legend_parts(page)
    assert parts[0] in ("Legend", "Reports per km²")  # folded under "Legend" on a phone
    parts = parts[parts.index("Reports per km²") :]
    assert parts[1].startswith(
        "Colour on a log scale: each mark ten times the last. "
        "Smoothed over about 430 m; highest about "
    )
    peak = float(parts[1].rsplit("about ", 1)[1].split(" per")[0].replace(",", ""))
    assert peak == pytest.approx(surface.peak, rel=0.05)
    marks = [float(p.replace(",", "")) for p in parts[2:6]]
    assert marks[-1] == peak
    assert marks == pytest.approx([peak / 1000, peak / 100, peak / 10, peak], rel=0.05)
    assert len(parts) == 6  # no suppressed line: none were given
    gradient = re.search(r"linear-gradient\(to right, ([^)]*)\)", legend).group(1)
    assert gradient.split(", ") == ramp_colours()
    assert ramp_colours()[0] != ramp_colours()[-1]


def test_layers_wards_panel_and_credit(page, pilot_wards):
    assert layer_control(page) == {
        "base_layers": [],
        "overlays": ["Heatmap of reports", "Ward outlines"],
    }
    wards = geo_json_layers(page)["Ward outlines"]
    assert len(wards["features"]) == len(pilot_wards) == 48
    assert "Waterloo & South Bank" in {
        hover(f, wards["tooltip"])["Ward"] for f in wards["features"]
    }
    # A transparent fill, so that hovering anywhere in a ward names it.
    assert {(f["style"]["fill"], f["style"]["fillOpacity"]) for f in wards["features"]} == {
        (True, 0.0)
    }
    panel = about_panel(page)
    assert [html.unescape(li) for li in re.findall(r"<li>(.*?)</li>", panel)] == FILTERS
    assert [html.unescape(p) for p in re.findall(r"<p>(.*?)</p>", panel)] == NOTE
    assert js_strings_after(page, ".attributionControl.addAttribution(") == [html.escape(CREDIT)]
    for marker in CDN_MARKERS:
        assert marker not in page
    assert all(url.startswith("/static/vendor/") for url in linked_assets(page))


def test_crimes_can_be_shown_beside_the_heat(one_hot_cell, pilot_wards):
    surface, _ = one_hot_cell
    i, j = cells_over(pilot_wards)
    crimes = gpd.GeoDataFrame(
        {
            "i": i[:3],
            "j": j[:3],
            "crimes": [15.0, np.nan, 60.0],
            "crimes_suppressed": [False, True, False],
        },
        geometry=hex_polygons(i[:3], j[:3], EDGE),
        crs=27700,
    )
    page = render(surface, pilot_wards, crimes=crimes)
    assert layer_control(page)["overlays"] == [
        "Heatmap of reports",
        "Ward outlines",
        "Police.uk crimes per hexagon",
    ]
    layer = geo_json_layers(page)["Police.uk crimes per hexagon"]
    assert [hover(f, layer["tooltip"]) for f in layer["features"]] == [
        {"Police.uk crimes in this hexagon": "15"},
        {"Police.uk crimes in this hexagon": "60"},
    ]


def test_no_reports_at_all_is_said_and_draws_nothing(pilot_wards):
    i, j = cells_over(pilot_wards)
    x, y = hex_centres(i, j, EDGE)
    surface = kernel_density(x, y, np.zeros(len(x)), bandwidth_m=433.0)
    page = render(surface, pilot_wards)
    image, _ = overlay(page)
    assert np.asarray(image)[..., 3].max() == 0
    assert js_strings_after(
        page, 'L.DomUtil.create("div", "map-notice");\n                    div.innerHTML ='
    ) == ["No reports to show with these filters."]


# --- size ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def london_wards() -> gpd.GeoDataFrame:
    """All 657 London wards, simplified as the heatmap route has PostGIS simplify them."""
    wards = read_wards(LONDON_WARDS_2018.path).wards.to_crs(27700)
    wards["geometry"] = wards.geometry.simplify(HEATMAP_SIMPLIFY_M, preserve_topology=True)
    return wards.to_crs(4326)


@pytest.fixture(scope="module")
def london_cells(london_wards) -> tuple[np.ndarray, ...]:
    """All of London in 250 m cells, and an uneven share of the reports for each."""
    i, j = cells_over(london_wards)
    share = np.random.default_rng(12).gamma(0.6, size=len(i))
    x, y = hex_centres(i, j, EDGE)
    return x, y, share / share.sum()


def test_the_page_stays_under_2_mb_for_all_of_london_at_a_million_reports(
    london_wards, london_cells
):
    x, y, share = london_cells
    counts = np.floor(share * 1_000_000)
    assert len(x) > 15_000 and counts.sum() > 990_000
    surface = kernel_density(x, y, counts, bandwidth_m=433.0)
    page = render(surface, london_wards, filters=["every London borough"])
    assert len(page.encode()) < TWO_MB
    assert len(geo_json_layers(page)["Ward outlines"]["features"]) == 657
    image, _ = overlay(page)
    assert max(image.size) <= MAX_SIDE_PX


def test_the_page_does_not_grow_with_the_number_of_reports(london_wards, london_cells):
    x, y, share = london_cells
    pages = []
    for reports in (10_000, 10_000_000):
        surface = kernel_density(x, y, share * reports, bandwidth_m=433.0)
        pages.append(render(surface, london_wards))
    # The same picture a thousand times denser: only the legend's "highest about" differs.
    assert overlay(pages[0])[0].tobytes() == overlay(pages[1])[0].tobytes()
    assert abs(len(pages[0]) - len(pages[1])) < 20


# --- the log ramp, and the suppressed cells -------------------------------------------------


def test_a_cell_a_hundredth_of_the_top_one_still_shows(pilot_wards):
    # Waterloo at 1,000 reports, a quiet cell of 10 two kilometres south: on a linear ramp the
    # quiet one is 1 % of the peak and vanishes; on the log ramp it is a third of the way up.
    i, j = cells_over(pilot_wards)
    top = hex_index([WATERLOO_BNG[0]], [WATERLOO_BNG[1]], EDGE)
    quiet = hex_index([WATERLOO_BNG[0]], [WATERLOO_BNG[1] - 2_000], EDGE)
    weights = np.zeros(len(i))
    weights[(i == top[0][0]) & (j == top[1][0])] = 1000.0
    weights[(i == quiet[0][0]) & (j == quiet[1][0])] = 10.0
    x, y = hex_centres(i, j, EDGE)
    surface = kernel_density(x, y, weights, bandwidth_m=433.0)
    image, bounds = overlay(render(surface, pilot_wards))
    rgba = np.asarray(image).astype(float)

    def at(easting: float, northing: float) -> np.ndarray:
        lon, lat = Transformer.from_crs(27700, 4326, always_xy=True).transform(easting, northing)
        south, west, north, east = bounds
        to_mercator = Transformer.from_crs(4326, 3857, always_xy=True)
        (x0, x1), (y0, y1) = to_mercator.transform([west, east], [south, north])
        mx, my = to_mercator.transform(lon, lat)
        col = int((mx - x0) / (x1 - x0) * image.width)
        row = int((y1 - my) / (y1 - y0) * image.height)
        return rgba[row, col]

    top_px = at(*(float(v[0]) for v in hex_centres(top[0], top[1], EDGE)))
    quiet_px = at(*(float(v[0]) for v in hex_centres(quiet[0], quiet[1], EDGE)))
    # Linear, it would be 1 % of the peak: under the 2 % below which the image is clear.
    assert surface.density.max() / 100 < 0.02 * surface.peak
    assert quiet_px[3] == top_px[3] == round(0.8 * 255)  # drawn in full, not faded out
    # Lighter than the top: YlOrRd darkens as it rises.
    assert quiet_px[:3].sum() > top_px[:3].sum() + 100


def suppressed_cells(pilot_wards) -> gpd.GeoDataFrame:
    """A band of suppressed 250 m cells across the pilot, as the heatmap route passes them."""
    i, j = cells_over(pilot_wards)
    _, y = hex_centres(i, j, EDGE)
    band = (y > WATERLOO_BNG[1] - 3_000) & (y < WATERLOO_BNG[1] - 1_500)
    return gpd.GeoDataFrame(geometry=hex_polygons(i[band], j[band], EDGE), crs=27700)


def test_suppressed_cells_are_hatched_and_say_so(page, one_hot_cell, pilot_wards):
    surface, _ = one_hot_cell
    cells = suppressed_cells(pilot_wards)
    hatched = render(surface, pilot_wards, suppressed=cells)
    assert layer_control(hatched)["overlays"] == [
        "Heatmap of reports",
        "Ward outlines",
        "Suppressed hexagons (fewer than 10 reports)",
    ]
    layer = geo_json_layers(hatched)["Suppressed hexagons (fewer than 10 reports)"]
    # Cut by ward, so hovering still names the ward.
    assert 1 < len(layer["features"]) <= len(pilot_wards)
    said = [hover(f, layer["tooltip"]) for f in layer["features"]]
    assert {s["Suppressed"] for s in said} == {
        "fewer than 10 reports in each hexagon here: not shown, and weighed as none in the heatmap"
    }
    wards_said = {s["Ward"] for s in said}
    assert wards_said <= {*pilot_wards["name"], "outside the wards"}
    assert len(wards_said & set(pilot_wards["name"])) > 1
    # Hatched: the pattern is on the page and is the areas' fill; no flat colour.
    assert '<pattern id="hatch-none-404040"' in hatched
    assert {f["style"]["fillColor"] for f in layer["features"]} == {"url(#hatch-none-404040)"}
    # Every suppressed cell's centre is inside the hatched area (within the wards).
    area = gpd.GeoSeries(
        [shape(f["geometry"]) for f in layer["features"]], crs=4326
    ).to_crs(27700).union_all()
    centres = cells.geometry.centroid
    inside_wards = centres.within(pilot_wards.to_crs(27700).union_all().buffer(-5))
    assert inside_wards.sum() > 20
    assert centres[inside_wards].within(area.buffer(1.5)).all()
    # The legend says what the hatching is, with a hatched swatch.
    assert legend_parts(hatched)[-1] == "hexagons with fewer than 10 reports (suppressed)"
    assert 'map-legend-swatch map-legend-hatched' in hatched
    # Without suppressed cells (or in an exact view) there is no such layer.
    assert "Suppressed hexagons" not in page
    exact = render(surface, pilot_wards, suppressed=cells, k=None)
    assert "Suppressed hexagons" not in exact and "hatch-none" not in exact


def test_a_partners_london_with_suppressed_cells_stays_under_2_mb(london_wards, london_cells):
    x, y, share = london_cells
    counts = np.floor(share * 300_000)
    hidden = counts < 10
    assert hidden.mean() > 0.3  # a third of London's small cells suppressed, or more
    surface = kernel_density(x, y, np.where(hidden, 0.0, counts), bandwidth_m=433.0)
    i, j = hex_index(x, y, EDGE)
    cells = gpd.GeoDataFrame(geometry=hex_polygons(i[hidden], j[hidden], EDGE), crs=27700)
    page = render(surface, london_wards, suppressed=cells)
    assert len(page.encode()) < TWO_MB
    hatched = geo_json_layers(page)["Suppressed hexagons (fewer than 10 reports)"]
    assert len(hatched["features"]) > 600
