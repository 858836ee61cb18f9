"""The hot-spot map over the real 2024 pilot wards, read the way a person reads it.

Cells come from ``geo.hotspots.hot_spots`` on a planted cluster in Waterloo and Lambeth North,
so the page shows real classes: what colour each hexagon is, what hovering says, the legend,
the layers, the panel with the filters and the method note, the credit, and that suppressed
cells show no count and no class.
"""

from __future__ import annotations

import html
import json
import re
from typing import Any

import geopandas as gpd
import numpy as np
import pytest

from boundaries.bundled import PILOT_WARDS
from boundaries.reading import read_wards
from geo.disclosure import DisclosureRule
from geo.hexagons import hex_centres, hex_index, hex_polygons
from geo.hotspots import CLASSES, hot_spots
from maps.hotspots import CLASS_COLOURS, SUPPRESSED_COLOUR, render_hot_spot_map
from maps.tiles import tile_source
from tests.test_maps_routes import (
    _DECODER,
    CDN_MARKERS,
    js_strings_after,
    layer_control,
    legends,
    linked_assets,
)

EDGE = 500
#: How a suppressed hexagon is filled: the hatch pattern over the suppressed grey.
HATCH = f"url(#hatch-{SUPPRESSED_COLOUR[1:]}-404040)"
RULE = DisclosureRule(k=10, base=5)
CREDIT = "Contains National Statistics data © Crown copyright and database right 2024"
FILTERS = ["boroughs E09000022", "after dark only (sun below -6 degrees)"]
NOTE = ["A report is a place where someone felt unsafe.", "Disclosure control: k = 10."]
WATERLOO = (-0.1136, 51.5033)
LAMBETH = "E09000022"


@pytest.fixture(scope="module")
def lambeth_wards() -> gpd.GeoDataFrame:
    wards = read_wards(PILOT_WARDS.path).wards
    return wards[wards["borough_code"] == LAMBETH]


@pytest.fixture(scope="module")
def exact_cells(lambeth_wards) -> gpd.GeoDataFrame:
    """Every 500 m cell over Lambeth, with counts lumped around Waterloo."""
    grid = lambeth_wards.to_crs(27700)
    min_x, min_y, max_x, max_y = grid.total_bounds
    xs, ys = np.meshgrid(np.arange(min_x, max_x, 200.0), np.arange(min_y, max_y, 200.0))
    i, j = hex_index(xs.ravel(), ys.ravel(), EDGE)
    cells = sorted(set(zip(i.tolist(), j.tolist(), strict=True)))
    i = np.array([c[0] for c in cells])
    j = np.array([c[1] for c in cells])
    polygons = gpd.GeoSeries(hex_polygons(i, j, EDGE), crs=27700)
    keep = polygons.intersects(grid.union_all()).to_numpy()
    i, j = i[keep], j[keep]
    rng = np.random.default_rng(5)
    counts = rng.poisson(4, len(i))
    wx, wy = gpd.GeoSeries.from_xy([WATERLOO[0]], [WATERLOO[1]], crs=4326).to_crs(27700).iloc[0].xy
    cx, cy = hex_centres(i, j, EDGE)
    near = np.hypot(cx - wx[0], cy - wy[0]) < 1200
    counts[near] += rng.integers(40, 80, near.sum())
    return gpd.GeoDataFrame(
        {"i": i, "j": j, "exact": counts}, geometry=hex_polygons(i, j, EDGE), crs=27700
    )


def as_seen(exact_cells: gpd.GeoDataFrame, rule: DisclosureRule | None) -> gpd.GeoDataFrame:
    spots = hot_spots(exact_cells["i"], exact_cells["j"], exact_cells["exact"], rule)
    return gpd.GeoDataFrame(spots, geometry=exact_cells.geometry.array, crs=exact_cells.crs)


def crime_cells(cells: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    crimes = np.zeros(len(cells))
    crimes[:6] = [12, 30, 55, 140, 4, 0]
    suppressed = crimes < 10
    return cells[["i", "j", "geometry"]].assign(
        crimes=np.where(suppressed, np.nan, crimes), crimes_suppressed=suppressed
    )


def render(cells: gpd.GeoDataFrame, wards: gpd.GeoDataFrame, **kwargs: Any) -> str:
    options: dict[str, Any] = {
        "edge_m": EDGE,
        "k": RULE.k,
        "wards": wards,
        "title": "Hot spots of unsafe-place reports, 500 m hexagons",
        "filters": FILTERS,
        "note": NOTE,
        "attribution": CREDIT,
        "asset_url": "/static/vendor",
        "tiles": tile_source("none"),
    }
    options.update(kwargs)
    return render_hot_spot_map(cells, **options)


@pytest.fixture(scope="module")
def protected(exact_cells) -> gpd.GeoDataFrame:
    return as_seen(exact_cells, RULE)


@pytest.fixture(scope="module")
def page(protected, lambeth_wards) -> str:
    return render(protected, lambeth_wards)


# --- reading the page back -----------------------------------------------------------------


def geo_json_layers(page: str) -> dict[str, dict[str, Any]]:
    """Layer name -> its features and, by feature id, the style Leaflet gives each."""
    overlays = re.search(r"overlays :\s*\{(.*?)\},", page, re.S)
    assert overlays, "no layer control in the page"
    names = {
        var: json.loads(name)
        for name, var in re.findall(r'("(?:[^"\\]|\\.)*") : (\w+),', overlays.group(1))
    }
    layers = {}
    for var, name in names.items():
        if not var.startswith("geo_json_"):
            layers[name] = {"features": [], "styles": {}}
            continue
        added = re.search(re.escape(var) + r"_add\(", page)
        data = _DECODER.raw_decode(page, added.end())[0] if added else {"features": []}
        styler = re.search(
            rf"function {var}_styler\(feature\) \{{\s*switch\(feature\.id\) \{{(.*?)\n\s*\}}\n",
            page,
            re.S,
        )
        styles: dict[str, dict[str, Any]] = {}
        default: dict[str, Any] = {}
        if styler:
            for cases, style in re.findall(
                r"((?:case \"\d+\": )+)\s*return (\{.*?\});", styler.group(1)
            ):
                for feature_id in re.findall(r'case "(\d+)"', cases):
                    styles[feature_id] = json.loads(style)
            default = json.loads(re.search(r"default:\s*return (\{.*?\});", styler.group(1))[1])
        for feature in data["features"]:
            feature["style"] = styles.get(feature["id"], default)
        tooltip = re.search(
            rf"{var}\.bindTooltip\(.*?let fields = (\[.*?\]);\s*let aliases = (\[.*?\]);",
            page,
            re.S,
        )
        layers[name] = {
            "features": data["features"],
            "tooltip": dict(zip(*(json.loads(t) for t in tooltip.groups()), strict=True))
            if tooltip
            else {},
        }
    return layers


def hover(feature: dict[str, Any], tooltip: dict[str, str]) -> dict[str, str]:
    """What the tooltip table says: alias -> text (Folium escapes nothing; the map did)."""
    return {alias: html.unescape(feature["properties"][field]) for field, alias in tooltip.items()}


def about_panel(page: str) -> str:
    (panel,) = js_strings_after(
        page, 'L.DomUtil.create("div", "map-about");\n                    div.innerHTML ='
    )
    return panel


# --- the hexagons --------------------------------------------------------------------------


def test_the_planted_cluster_is_hot_and_the_map_says_so(protected, page):
    assert protected["class"].dropna().str.startswith("hot_").sum() >= 3
    hexagons = geo_json_layers(page)["Hot spots (hexagons)"]
    assert len(hexagons["features"]) == len(protected)
    hot = [f for f in hexagons["features"] if f["properties"]["hot_spot_class"].startswith("hot")]
    assert len(hot) == protected["class"].dropna().str.startswith("hot_").sum()
    # The hot cells are the ones around Waterloo, on the map's own coordinates.
    for feature in hot:
        lon, lat = np.mean(feature["geometry"]["coordinates"][0][:-1], axis=0)
        assert abs(lon - WATERLOO[0]) < 0.03 and abs(lat - WATERLOO[1]) < 0.02


def test_each_hexagon_is_filled_in_its_class_colour(protected, page):
    features = geo_json_layers(page)["Hot spots (hexagons)"]["features"]
    for feature, (_, cell) in zip(features, protected.iterrows(), strict=True):
        fill = feature["style"]["fillColor"]
        if cell["suppressed"]:
            # Hatched over the suppressed grey (maps.hatch), never a flat class-like fill.
            assert fill == HATCH
            assert feature["style"].get("dashArray")
        else:
            assert fill == CLASS_COLOURS[cell["class"]]


def test_hovering_says_the_count_as_shown_z_and_the_class(protected, page):
    layer = geo_json_layers(page)["Hot spots (hexagons)"]
    assert list(layer["tooltip"].values()) == ["Reports", "Gi* z-score", "Class"]
    seen_hot = seen_suppressed = 0
    for feature, (_, cell) in zip(layer["features"], protected.iterrows(), strict=True):
        says = hover(feature, layer["tooltip"])
        if cell["suppressed"]:
            seen_suppressed += 1
            assert says == {
                "Reports": "fewer than 10 (suppressed)",
                "Gi* z-score": "not shown",
                "Class": "No class (suppressed)",
            }
        else:
            assert says["Reports"] == f"{int(cell['count']):,}"
            assert int(says["Reports"].replace(",", "")) % 5 == 0
            assert int(says["Reports"].replace(",", "")) >= 10
            assert says["Gi* z-score"] == f"{cell['z']:.2f}"
            if cell["class"].startswith("hot_"):
                seen_hot += 1
                level = cell["class"].split("_")[1]
                assert says["Class"] == f"Hot spot, {level} % confidence"
    assert seen_hot >= 3 and seen_suppressed >= 3


def test_the_page_carries_only_what_the_tooltips_show(page, exact_cells):
    features = geo_json_layers(page)["Hot spots (hexagons)"]["features"]
    assert {key for f in features for key in f["properties"]} == {
        "reports",
        "z",
        "class_label",
        "hot_spot_class",
    }
    # No exact count that the protection changed is anywhere in the hexagon layer.
    shown = {f["properties"]["reports"] for f in features}
    changed = {str(n) for n in exact_cells["exact"] if n % 5 or n < 10}
    assert not shown & changed


def test_an_exact_view_has_no_suppression(exact_cells, lambeth_wards):
    exact = as_seen(exact_cells, None)
    page = render(exact, lambeth_wards, k=None)
    layer = geo_json_layers(page)["Hot spots (hexagons)"]
    counts = [int(hover(f, layer["tooltip"])["Reports"]) for f in layer["features"]]
    assert counts == exact_cells["exact"].tolist()
    fills = {f["style"]["fillColor"] for f in layer["features"]}
    assert fills <= set(CLASS_COLOURS.values()) and HATCH not in fills
    assert not any(
        "Suppressed" in label for label in legends(page)["Hot spots of reports (Getis-Ord Gi*)"]
    )


def test_a_suppressed_cell_with_a_count_or_a_class_is_refused(protected, lambeth_wards):
    leaking = protected.copy()
    row = leaking.index[leaking["suppressed"]][0]
    leaking.loc[row, "count"] = 3.0
    with pytest.raises(ValueError, match="suppressed cell"):
        render(leaking, lambeth_wards)
    classed = protected.copy()
    classed.loc[row, "class"] = "hot_90"
    with pytest.raises(ValueError, match="suppressed cell"):
        render(classed, lambeth_wards)


# --- legend, layers, panel, credit ---------------------------------------------------------


def test_the_legend_names_every_class_in_its_colour_and_the_suppressed_cells(page):
    legend = legends(page)["Hot spots of reports (Getis-Ord Gi*)"]
    assert legend == {
        "Hot spot, 99 % confidence": CLASS_COLOURS["hot_99"],
        "Hot spot, 95 % confidence": CLASS_COLOURS["hot_95"],
        "Hot spot, 90 % confidence": CLASS_COLOURS["hot_90"],
        "Not significant": CLASS_COLOURS["not_significant"],
        "Cold spot, 90 % confidence": CLASS_COLOURS["cold_90"],
        "Cold spot, 95 % confidence": CLASS_COLOURS["cold_95"],
        "Cold spot, 99 % confidence": CLASS_COLOURS["cold_99"],
        "Suppressed: fewer than 10 reports": SUPPRESSED_COLOUR,
    }
    assert len(set(legend.values())) == len(CLASSES) + 1
    # Its swatch is hatched like the cells, and the page defines the hatch over that grey.
    swatch = (
        '<span class="map-legend-swatch map-legend-hatched" style="background:#969696"></span>'
        "Suppressed: fewer than 10 reports"
    )
    marker = 'L.DomUtil.create("div", "map-legend");\n                    div.innerHTML ='
    assert any(swatch in legend for legend in js_strings_after(page, marker))
    assert re.search(
        r'<pattern id="hatch-969696-404040"[^>]*>\s*<rect[^>]*fill="#969696"', page
    ), "no hatch pattern over the suppressed grey"
    assert "500 m hexagons; confidence after FDR correction" in page


def test_layer_control_offers_hexagons_and_ward_outlines(page):
    assert layer_control(page) == {
        "base_layers": [],
        "overlays": ["Hot spots (hexagons)", "Ward outlines"],
    }
    assert "L.tileLayer" not in page


def test_ward_outlines_are_unfilled_and_named_on_hover(page, lambeth_wards):
    layer = geo_json_layers(page)["Ward outlines"]
    assert len(layer["features"]) == len(lambeth_wards) == 25
    says = [hover(f, layer["tooltip"]) for f in layer["features"]]
    assert {s["Ward"] for s in says} == set(lambeth_wards["name"])
    assert {s["Ward code"] for s in says} == set(lambeth_wards["code"])
    assert all(f["style"]["fill"] is False for f in layer["features"])


def test_the_panel_echoes_the_filters_and_carries_the_method_note(page):
    panel = about_panel(page)
    assert "Hot spots of unsafe-place reports, 500 m hexagons" in html.unescape(panel)
    items = [html.unescape(li) for li in re.findall(r"<li>(.*?)</li>", panel)]
    assert items == FILTERS
    assert "<summary>How these counts were made</summary>" in panel
    assert [html.unescape(p) for p in re.findall(r"<p>(.*?)</p>", panel)] == NOTE


def test_the_credit_and_the_title(page):
    assert js_strings_after(page, ".attributionControl.addAttribution(") == [html.escape(CREDIT)]
    assert (
        "<title>Hot spots of unsafe-place reports, 500 m hexagons — Walk and Talk Maps</title>"
        in page
    )


def test_the_map_opens_on_the_hexagons(page, protected):
    bounds = re.search(r"\.fitBounds\(\s*(\[\[.*?\]\])", page, re.S)
    (south, west), (north, east) = json.loads(bounds.group(1))
    min_x, min_y, max_x, max_y = protected.to_crs(4326).total_bounds
    assert (south, west, north, east) == pytest.approx((min_y, min_x, max_y, max_x))


def test_nothing_is_loaded_from_outside_the_service(page):
    for marker in CDN_MARKERS:
        assert marker not in page
    assert all(url.startswith("/static/vendor/") for url in linked_assets(page))


# --- police.uk crimes ----------------------------------------------------------------------


def test_crimes_are_circles_at_the_hexagon_centres_with_their_own_legend(protected, lambeth_wards):
    crimes = crime_cells(protected)
    page = render(protected, lambeth_wards, crimes=crimes)
    assert layer_control(page)["overlays"] == [
        "Hot spots (hexagons)",
        "Ward outlines",
        "Police.uk crimes per hexagon",
    ]
    layer = geo_json_layers(page)["Police.uk crimes per hexagon"]
    # Suppressed (4) and empty (0) cells get no circle.
    assert [hover(f, layer["tooltip"]) for f in layer["features"]] == [
        {"Police.uk crimes in this hexagon": text} for text in ("12", "30", "55", "140")
    ]
    centres = gpd.GeoSeries(crimes.geometry.iloc[:4].centroid, crs=27700).to_crs(4326)
    for feature, centre in zip(layer["features"], centres, strict=True):
        assert feature["geometry"]["type"] == "Point"
        assert feature["geometry"]["coordinates"] == pytest.approx([centre.x, centre.y], abs=2e-6)
    radii = [f["style"]["radius"] for f in layer["features"]]
    assert radii == sorted(radii) and len(set(radii)) == 4
    legend = legends(page)["Police.uk crimes per hexagon"]
    assert list(legend) == ["10-24 crimes", "25-49 crimes", "50-99 crimes", "100 or more crimes"]
    assert [f["style"]["fillColor"] for f in layer["features"]] == list(legend.values())
    assert "At hexagon centres, not crime locations; no circle: fewer than 10 or none" in page


# --- edge cases ----------------------------------------------------------------------------


def test_an_area_with_no_hexagons_says_so(lambeth_wards):
    empty = gpd.GeoDataFrame(
        {c: [] for c in ("i", "j", "count", "suppressed", "z", "p_fdr", "class")},
        geometry=[],
        crs=4326,
    )
    page = render(empty, lambeth_wards)
    assert js_strings_after(
        page, 'L.DomUtil.create("div", "map-notice");\n                    div.innerHTML ='
    ) == ["There are no hexagons in this area."]


def test_text_from_boundary_files_is_shown_as_text(protected, lambeth_wards):
    odd = lambeth_wards.copy()
    odd.loc[odd.index[0], "name"] = "<script>alert(1)</script> & Co"
    page = render(protected, odd, filters=["boroughs <b>E09</b>"])
    assert "<script>alert(1)</script>" not in page
    layer = geo_json_layers(page)["Ward outlines"]
    assert "<script>alert(1)</script> & Co" in {
        hover(f, layer["tooltip"])["Ward"] for f in layer["features"]
    }
    assert "<li>boroughs &lt;b&gt;E09&lt;/b&gt;</li>" in about_panel(page)


@pytest.mark.parametrize("column", ["class", "suppressed", "z"])
def test_a_missing_column_is_named(protected, lambeth_wards, column):
    with pytest.raises(ValueError, match=column):
        render(protected.drop(columns=column), lambeth_wards)
