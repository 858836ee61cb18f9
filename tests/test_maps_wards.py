"""The ward map, rendered from the bundled 2024 Lambeth and Southwark wards.

Assertions read the page the way a person would see it: how many wards are drawn, what the
tooltip and legend say, what the layer control offers, the credit line, and that every script and
stylesheet comes from this service (``npm ci --prefix maps/vendor`` must have been run).
"""

import html
import json
import re
from pathlib import Path
from typing import Any

import geopandas as gpd
import pytest

from maps.assets import VENDOR_DIR, resolve_asset
from maps.tiles import OPENSTREETMAP, tile_source
from maps.wards import render_ward_map

WARDS_FILE = (
    Path(__file__).parents[1]
    / "boundaries"
    / "data"
    / "lambeth_southwark_wards_2024"
    / "LambethSouthwarkandAdjoiningAreas_Wards_highdef_Dec2024.geojson"
)
ASSET_URL = "/static/vendor"
OGL = (
    "Source: Office for National Statistics licensed under the Open Government Licence v.3.0. "
    "Contains OS data © Crown copyright and database right 2024"
)
CDN_MARKERS = ("cdn.", "jsdelivr", "cloudflare", "bootstrapcdn", "code.jquery.com", "unpkg")


@pytest.fixture(scope="module")
def wards() -> gpd.GeoDataFrame:
    assert WARDS_FILE.is_file(), f"bundled ward file missing: {WARDS_FILE}"
    raw = gpd.read_file(WARDS_FILE)
    return raw.rename(
        columns={
            "WD24CD": "code",
            "WD24NM": "name",
            "LAD24CD": "borough_code",
            "LAD24NM": "borough_name",
        }
    )[["code", "name", "borough_code", "borough_name", "geometry"]]


def render(wards: gpd.GeoDataFrame, tiles: str = "none", ward_set: str = "pilot-2024") -> str:
    return render_ward_map(
        wards,
        ward_set=ward_set,
        attribution=OGL,
        asset_url=ASSET_URL,
        tiles=tile_source(tiles),
    )


@pytest.fixture(scope="module")
def offline_page(wards) -> str:
    return render(wards, tiles="none")


@pytest.fixture(scope="module")
def osm_page(wards) -> str:
    return render(wards, tiles="osm")


# --- reading the page back -----------------------------------------------------------------


def embedded_feature_collections(page: str) -> list[dict[str, Any]]:
    """Return the GeoJSON each GeoJson layer adds to the map, in page order."""
    decoder = json.JSONDecoder()
    return [
        decoder.raw_decode(page, match.end())[0]
        for match in re.finditer(r"geo_json_\w+_add\(", page)
        if page[match.end()] == "{"
    ]


def js_string_after(page: str, prefix: str) -> list[str]:
    """Decode every JS string literal that follows ``prefix`` (whitespace allowed between)."""
    decoder = json.JSONDecoder()
    out = []
    for match in re.finditer(re.escape(prefix) + r"\s*", page):
        out.append(decoder.raw_decode(page, match.end())[0])
    return out


def legend_html(page: str) -> str:
    (legend,) = js_string_after(
        page, 'L.DomUtil.create("div", "map-legend");\n                    div.innerHTML ='
    )
    return legend


def legend_entries(page: str) -> dict[str, str]:
    """Legend label -> swatch colour."""
    return {
        html.unescape(label): colour
        for colour, label in re.findall(
            r'<li><span class="map-legend-swatch(?: map-legend-hatched)?" '
            r'style="background:(#[0-9a-f]{6})"></span>'
            r"([^<]*)</li>",
            legend_html(page),
        )
    }


def layer_control(page: str) -> dict[str, list[str]]:
    """Names in the layer control: base layers and overlays."""
    block = re.search(
        r"_layers = \{\s*base_layers : \{(.*?)\},\s*overlays :\s*\{(.*?)\},", page, re.S
    )
    assert block, "no layer control in the page"
    names = [re.findall(r'("(?:[^"\\]|\\.)*") :', part) for part in block.groups()]
    return {
        "base_layers": [json.loads(n) for n in names[0]],
        "overlays": [json.loads(n) for n in names[1]],
    }


def attributions(page: str) -> list[str]:
    return js_string_after(page, ".attributionControl.addAttribution(")


def linked_assets(page: str) -> list[str]:
    return re.findall(r"<(?:script|link)\b[^>]*?(?:src|href)=\"([^\"]+)\"", page)


# --- what the map shows --------------------------------------------------------------------


def test_every_ward_is_drawn_once(offline_page, wards):
    (collection,) = embedded_feature_collections(offline_page)
    codes = [feature["properties"]["code"] for feature in collection["features"]]
    assert len(codes) == len(wards) == 48
    assert sorted(codes) == sorted(wards["code"])
    for feature in collection["features"]:
        assert feature["geometry"]["type"] in ("Polygon", "MultiPolygon")


def test_coordinates_are_lon_lat_in_south_london(offline_page):
    (collection,) = embedded_feature_collections(offline_page)
    ring = collection["features"][0]["geometry"]["coordinates"][0]
    if collection["features"][0]["geometry"]["type"] == "MultiPolygon":
        ring = ring[0]
    for lon, lat in ring:
        assert -0.16 < lon < -0.03
        assert 51.40 < lat < 51.51


def test_tooltip_shows_ward_name_code_and_borough(offline_page):
    fields = json.loads(re.search(r"let fields = (\[.*?\]);", offline_page).group(1))
    aliases = json.loads(re.search(r"let aliases = (\[.*?\]);", offline_page).group(1))
    assert dict(zip(aliases, fields, strict=True)) == {
        "Ward": "name",
        "Ward code": "code",
        "Borough": "borough_name",
    }
    (collection,) = embedded_feature_collections(offline_page)
    by_code = {f["properties"]["code"]: f["properties"] for f in collection["features"]}
    assert by_code["E05011100"]["name"] == "Dulwich Village"
    assert by_code["E05011100"]["borough_name"] == "Southwark"


def test_legend_lists_each_borough_in_its_own_colour(offline_page):
    entries = legend_entries(offline_page)
    assert list(entries) == ["Lambeth", "Southwark"]
    assert entries["Lambeth"] != entries["Southwark"]
    assert "Wards, coloured by borough" in legend_html(offline_page)
    assert "Ward set: pilot-2024" in legend_html(offline_page)


def test_wards_are_filled_only_in_the_legend_colours(offline_page):
    fills = set(re.findall(r'"fillColor": "(#[0-9a-f]{6})"', offline_page))
    assert fills == set(legend_entries(offline_page).values())


def test_layer_control_offers_the_ward_layer_and_no_base_map_when_offline(offline_page):
    assert layer_control(offline_page) == {
        "base_layers": [],
        "overlays": ["Wards (pilot-2024)"],
    }
    assert "L.tileLayer" not in offline_page


def test_layer_control_offers_openstreetmap_as_the_base_map_when_tiles_are_on(osm_page):
    assert layer_control(osm_page) == {
        "base_layers": ["OpenStreetMap"],
        "overlays": ["Wards (pilot-2024)"],
    }
    assert '"https://tile.openstreetmap.org/{z}/{x}/{y}.png"' in osm_page


@pytest.mark.parametrize("page_fixture", ["offline_page", "osm_page"])
def test_data_credit_is_in_the_attribution_line_with_or_without_tiles(page_fixture, request):
    page = request.getfixturevalue(page_fixture)
    assert attributions(page) == [html.escape(OGL)]


def test_tile_credit_is_openstreetmaps(osm_page):
    (credit,) = js_string_after(osm_page, '"attribution":')
    assert credit == OPENSTREETMAP.attribution


def test_page_has_a_title_and_opens_on_the_wards(offline_page, wards):
    assert "<title>Wards (pilot-2024) — Walk and Talk Maps</title>" in offline_page
    bounds = re.search(r"\.fitBounds\(\s*(\[\[.*?\]\])", offline_page, re.S)
    assert bounds, "the map does not fit to the wards"
    (south, west), (north, east) = json.loads(bounds.group(1))
    min_x, min_y, max_x, max_y = wards.total_bounds
    assert (south, west, north, east) == pytest.approx((min_y, min_x, max_y, max_x))


# --- offline -------------------------------------------------------------------------------


@pytest.mark.parametrize("page_fixture", ["offline_page", "osm_page"])
def test_no_cdn_url_remains(page_fixture, request):
    page = request.getfixturevalue(page_fixture)
    for marker in CDN_MARKERS:
        assert marker not in page, marker


def test_offline_page_names_no_other_server_at_all(offline_page):
    assert re.findall(r"https?://[^\s\"'<>\\]+", offline_page) == []


def test_with_tiles_the_only_other_servers_are_the_tiles_and_their_credit(osm_page):
    assert set(re.findall(r"https?://[^\s\"'<>\\]+", osm_page)) == {
        "https://tile.openstreetmap.org/{z}/{x}/{y}.png",
        "https://www.openstreetmap.org/copyright",
    }


def test_every_linked_script_and_stylesheet_is_a_served_local_file(offline_page):
    linked = linked_assets(offline_page)
    assert f"{ASSET_URL}/leaflet/dist/leaflet.js" in linked
    assert f"{ASSET_URL}/leaflet/dist/leaflet.css" in linked
    for url in linked:
        assert url.startswith(f"{ASSET_URL}/"), url
        path = resolve_asset(url.removeprefix(f"{ASSET_URL}/"))
        assert path.is_file(), f"{url}: run `npm ci --prefix maps/vendor`"
        assert path.is_relative_to(VENDOR_DIR.resolve())


# --- edge cases ----------------------------------------------------------------------------


def test_no_wards_renders_a_page_that_says_so(wards):
    page = render(wards.iloc[0:0], tiles="none")
    (notice,) = js_string_after(
        page, 'L.DomUtil.create("div", "map-notice");\n                    div.innerHTML ='
    )
    assert notice == "There are no wards in ward set pilot-2024."
    assert embedded_feature_collections(page) == []
    assert "map-legend" not in page
    # Nothing to switch on or off, so no layer control; the credit is still shown.
    assert "L.control.layers" not in page
    assert attributions(page) == [html.escape(OGL)]
    assert "<title>Wards (pilot-2024) — Walk and Talk Maps</title>" in page


def test_no_wards_with_tiles_still_offers_the_base_map(wards):
    page = render(wards.iloc[0:0], tiles="osm")
    assert layer_control(page) == {"base_layers": ["OpenStreetMap"], "overlays": []}


def test_wards_in_british_national_grid_are_reprojected(wards):
    page = render(wards.to_crs("EPSG:27700"))
    (collection,) = embedded_feature_collections(page)
    assert len(collection["features"]) == 48
    lon, lat = collection["features"][0]["geometry"]["coordinates"][0][0][:2]
    if isinstance(lon, list):  # a MultiPolygon ring
        lon, lat = lon
    assert -0.16 < lon < -0.03
    assert 51.40 < lat < 51.51


def test_names_are_shown_as_text_not_run_as_html(wards):
    hostile = "</script><script>alert(1)</script>"
    renamed = wards.copy()
    renamed.loc[renamed.index[0], "name"] = "Vauxhall & <b>Kennington</b>"
    page = render(renamed, ward_set=hostile)
    assert hostile not in page
    assert "<script>alert(1)" not in page
    (collection,) = embedded_feature_collections(page)
    names = {f["properties"]["name"] for f in collection["features"]}
    # Escaped for the tooltip's innerHTML: a person sees the ampersand and the tags as text.
    assert "Vauxhall &amp; &lt;b&gt;Kennington&lt;/b&gt;" in names
    assert layer_control(page)["overlays"] == [f"Wards ({html.escape(hostile)})"]


@pytest.mark.parametrize("column", ["code", "name", "borough_code", "borough_name"])
def test_a_missing_column_is_named(wards, column):
    with pytest.raises(ValueError, match=f"lacks column\\(s\\) {column};"):
        render(wards.drop(columns=column))


def test_a_frame_without_crs_is_refused(wards):
    with pytest.raises(ValueError, match="has no CRS"):
        render(wards.set_crs(None, allow_override=True))


def test_a_ward_without_geometry_is_named(wards):
    broken = wards.copy()
    broken.loc[broken.index[3], "geometry"] = None
    with pytest.raises(ValueError, match=f"without a geometry: {broken['code'].iloc[3]}"):
        render(broken)


def test_an_empty_attribution_is_refused(wards):
    with pytest.raises(ValueError, match="attribution must not be empty"):
        render_ward_map(
            wards, ward_set="pilot-2024", attribution=" ", asset_url=ASSET_URL, tiles=None
        )
