"""The route map, for a walk from Waterloo to Borough Market over the real 2024 wards.

Assertions read the page the way a person sees it: how many stretches of route are drawn and in
which colours, what hovering over a stretch or a marker says, the layers offered, the legends,
the credit line, the notes, and that every script and stylesheet comes from this service
(``npm ci --prefix maps/vendor`` must have been run).
"""

from __future__ import annotations

import datetime as dt
import html
import itertools
import json
import re
from typing import Any

import geopandas as gpd
import pytest
from shapely.geometry import LineString, Point

from boundaries.bundled import PILOT_WARDS
from boundaries.reading import read_wards
from geo.routes import route_length_m
from geo.routes import segments as route_pieces
from maps.assets import VENDOR_DIR, resolve_asset
from maps.routes import exposure_classes, render_route_map
from maps.tiles import tile_source

ROUTE = LineString(
    [
        (-0.1136, 51.5033),  # Waterloo station
        (-0.1150, 51.5055),
        (-0.1100, 51.5075),
        (-0.1030, 51.5080),
        (-0.0980, 51.5078),
        (-0.0930, 51.5068),
        (-0.0909, 51.5055),  # Borough Market
    ]
)
CROSSED_WARDS = {"E05014118": "Waterloo & South Bank", "E05011095": "Borough & Bankside"}
ASSET_URL = "/static/vendor"
CREDIT = "Contains OS data © Crown copyright 2024; crime data from data.police.uk (OGL v3.0)"
TRIMMED = "Route trimmed: both ends hidden"
CDN_MARKERS = ("cdn.", "jsdelivr", "cloudflare", "bootstrapcdn", "code.jquery.com", "unpkg")

D = "\N{EN DASH}"  # between the ends of a range, as the map writes them
GREY, C1, C2, C3, C4 = "#969696", "#fecc5c", "#fd8d3c", "#f03b20", "#bd0026"

# (reports, concerns, crimes) for the stretches with something near them; the busiest has 12,
# so the classes are 1 to 3, 4 to 6, 7 to 9 and 10 to 12.
COUNTS = {1: (1, 0, 0), 3: (2, 1, 5), 4: (0, 0, 4), 7: (3, 2, 3), 10: (4, 2, 6), 15: (0, 1, 2)}
EXPECTED_COLOURS = {1: C1, 3: C3, 4: C2, 7: C3, 10: C4, 15: C1}


def exposure_segments(length: float, counts: dict[int, tuple[int, int, int]]) -> list[dict]:
    """Stretches as service.queries.exposure gives them: 100 m each, the last one shorter."""
    out = []
    for i in range(int(-(-length // 100))):
        reports, concerns, crimes = counts.get(i, (0, 0, 0))
        out.append(
            {
                "segment": i,
                "from_m": round(i * 100.0, 1),
                "to_m": round(min((i + 1) * 100.0, length), 1),
                "reports": reports,
                "concerns": concerns,
                "crimes": crimes,
                "total": reports + concerns + crimes,
            }
        )
    return out


@pytest.fixture(scope="module")
def length() -> float:
    return route_length_m(ROUTE)


@pytest.fixture(scope="module")
def segments(length) -> list[dict]:
    return exposure_segments(length, COUNTS)


@pytest.fixture(scope="module")
def wards() -> gpd.GeoDataFrame:
    every = read_wards(PILOT_WARDS.path).wards
    return every[every["code"].isin(list(CROSSED_WARDS))]


@pytest.fixture(scope="module")
def concerns() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {
            "categories": [["poor_lighting", "isolated"], ["followed"]],
            "note": ["Underpass lights out", None],
        },
        geometry=[Point(-0.1120, 51.5070), Point(-0.0960, 51.5075)],
        crs="EPSG:4326",
    )


@pytest.fixture(scope="module")
def reports() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {
            "categories": [["hidden_corners"], ["loitering", "verbal_harassment"], ["no_cctv"]],
            "is_dark": [True, False, None],
        },
        geometry=[Point(-0.1145, 51.5045), Point(-0.1040, 51.5081), Point(-0.0935, 51.5066)],
        crs="EPSG:4326",
    )


@pytest.fixture(scope="module")
def crimes() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {
            "crime_type": ["Robbery", "Violence and sexual offences", "Theft from the person"],
            "month": [dt.date(2024, 5, 1), dt.date(2024, 6, 1), "2024-07"],
        },
        geometry=[Point(-0.1102, 51.5074), Point(-0.1000, 51.5079), Point(-0.0920, 51.5062)],
        crs="EPSG:4326",
    )


def render(route=ROUTE, *, segments, concerns, reports, crimes, wards, **kwargs: Any) -> str:
    options: dict[str, Any] = {
        "title": "Commute, Waterloo to Borough Market",
        "within_m": 50.0,
        "attribution": CREDIT,
        "asset_url": ASSET_URL,
        "tiles": tile_source("none"),
        "notes": [TRIMMED],
    }
    options.update(kwargs)
    return render_route_map(
        route,
        segments=segments,
        concerns=concerns,
        reports=reports,
        crimes=crimes,
        wards=wards,
        **options,
    )


@pytest.fixture(scope="module")
def page(segments, concerns, reports, crimes, wards) -> str:
    return render(segments=segments, concerns=concerns, reports=reports, crimes=crimes, wards=wards)


def empty_points(*columns: str, crs: str | None = "EPSG:4326") -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({c: [] for c in columns}, geometry=[], crs=crs)


# --- reading the page back -----------------------------------------------------------------

_DECODER = json.JSONDecoder()


def feature_groups(page: str) -> dict[str, str]:
    """Layer-control name -> the feature group's JavaScript variable."""
    block = re.search(r"overlays :\s*\{(.*?)\},", page, re.S)
    assert block, "no layer control in the page"
    return {
        json.loads(name): var
        for name, var in re.findall(r'("(?:[^"\\]|\\.)*") : (\w+),', block.group(1))
    }


def layer_control(page: str) -> dict[str, list[str]]:
    block = re.search(
        r"_layers = \{\s*base_layers : \{(.*?)\},\s*overlays :\s*\{(.*?)\},", page, re.S
    )
    assert block, "no layer control in the page"
    names = [re.findall(r'("(?:[^"\\]|\\.)*") :', part) for part in block.groups()]
    return {
        "base_layers": [json.loads(n) for n in names[0]],
        "overlays": [json.loads(n) for n in names[1]],
    }


def tooltips(page: str) -> dict[str, str]:
    """JavaScript variable -> the text its tooltip shows (HTML entities decoded)."""
    return {
        var: html.unescape(text)
        for var, text in re.findall(r"(\w+)\.bindTooltip\(\s*`<div>\s*(.*?)\s*</div>`", page, re.S)
    }


def drawn(page: str, kind: str, layer: str) -> list[dict[str, Any]]:
    """Every ``L.<kind>`` added to the named layer, in page order, with options and tooltip."""
    group = feature_groups(page)[layer]
    tips = tooltips(page)
    out = []
    pattern = rf"var (\w+) = L\.{kind}\(\s*"
    for match in re.finditer(pattern, page):
        where, end = _DECODER.raw_decode(page, match.end())
        rest = re.match(r",\s*", page[end:])
        assert rest
        options, end = _DECODER.raw_decode(page, end + rest.end())
        added_to = re.match(r"\s*\)\.addTo\((\w+)\)", page[end:])
        assert added_to
        if added_to.group(1) == group:
            out.append({"where": where, "options": options, "tooltip": tips.get(match.group(1))})
    return out


def clustered(page: str, layer: str) -> list[list[Any]]:
    """The points of a clustered layer: ``[lat, lon, tooltip]`` rows, entities decoded."""
    var = feature_groups(page)[layer]
    start = re.search(rf"var {var} = \(function\(\)\{{.*?var data = ", page, re.S)
    assert start, f"{layer} is not a clustered layer"
    rows, _ = _DECODER.raw_decode(page, start.end())
    return [[lat, lon, html.unescape(text)] for lat, lon, text in rows]


def marker_legend(page: str) -> dict[str, Any]:
    """The "Markers" legend: each line's symbol class, colour and words, and its notes."""
    (legend,) = [
        text
        for text in js_strings_after(
            page, 'L.DomUtil.create("div", "map-legend");\n                    div.innerHTML ='
        )
        if '<div class="map-legend-title">Markers</div>' in text
    ]
    lines = re.findall(
        r'<li><span class="map-symbol ([\w -]+)" style="background:(#[0-9a-f]{6})" '
        r'aria-hidden="true">[^<]*</span><span>([^<]*)</span></li>',
        legend,
    )
    return {
        "lines": [(kind, colour, html.unescape(words)) for kind, colour, words in lines],
        "notes": [
            html.unescape(n) for n in re.findall(r'<div class="map-legend-note">([^<]*)</div>',
                                                 legend)
        ],
    }


def route_pieces_drawn(page: str) -> list[dict[str, Any]]:
    """The coloured stretches: the route's polylines that say something on hover."""
    lines = drawn(page, "polyline", "Route: reports, concerns and crimes per 100 m")
    return [line for line in lines if line["tooltip"] is not None]


def js_strings_after(page: str, prefix: str) -> list[str]:
    return [
        _DECODER.raw_decode(page, match.end())[0]
        for match in re.finditer(re.escape(prefix) + r"\s*", page)
    ]


def legends(page: str) -> dict[str, dict[str, str]]:
    """Legend title -> {label: swatch colour}."""
    out = {}
    for legend in js_strings_after(
        page, 'L.DomUtil.create("div", "map-legend");\n                    div.innerHTML ='
    ):
        title = re.search(r'<div class="map-legend-title">([^<]*)</div>', legend)
        assert title
        out[html.unescape(title.group(1))] = {
            html.unescape(label): colour
            for colour, label in re.findall(
                r'<li><span class="map-legend-swatch(?: map-legend-hatched)?" '
                r'style="background:(#[0-9a-f]{6})">'
                r"</span>([^<]*)</li>",
                legend,
            )
        }
    return out


def notices(page: str) -> list[str]:
    return [
        html.unescape(text)
        for text in js_strings_after(
            page, 'L.DomUtil.create("div", "map-notice");\n                    div.innerHTML ='
        )
    ]


def embedded_feature_collections(page: str) -> list[dict[str, Any]]:
    return [
        _DECODER.raw_decode(page, match.end())[0]
        for match in re.finditer(r"geo_json_\w+_add\(", page)
        if page[match.end()] == "{"
    ]


def linked_assets(page: str) -> list[str]:
    return re.findall(r"<(?:script|link)\b[^>]*?(?:src|href)=\"([^\"]+)\"", page)


# --- the route -----------------------------------------------------------------------------


def test_the_test_route_is_a_two_kilometre_walk_through_both_wards(length, segments, wards):
    assert 2000 < length < 2200
    assert len(segments) == 21
    assert sorted(wards.loc[wards.intersects(ROUTE), "code"]) == sorted(CROSSED_WARDS)


def test_route_is_drawn_as_one_piece_per_stretch_end_to_end(page, segments):
    pieces = route_pieces_drawn(page)
    assert len(pieces) == len(segments) == 21
    first, last = pieces[0]["where"], pieces[-1]["where"]
    assert first[0] == [51.5033, -0.1136]  # Waterloo, as [lat, lon]
    assert last[-1] == pytest.approx([51.5055, -0.0909], abs=1e-6)  # Borough Market
    for before, after in itertools.pairwise(pieces):
        assert before["where"][-1] == pytest.approx(after["where"][0], abs=1e-6)


def test_each_piece_is_its_stretch_of_the_route(page):
    # The same 100 m cuts as geo.routes measures them on the British National Grid.
    expected = route_pieces(ROUTE, every_m=100)
    for drawn_piece, piece in zip(route_pieces_drawn(page), expected, strict=True):
        drawn_lon_lat = [coord for lat, lon in drawn_piece["where"] for coord in (lon, lat)]
        assert drawn_lon_lat == pytest.approx([c for xy in piece.coords for c in xy], abs=2e-6)
        assert route_length_m(LineString([(lon, lat) for lat, lon in drawn_piece["where"]])) == (
            pytest.approx(route_length_m(piece), abs=0.5)
        )


def test_pieces_are_coloured_by_their_class(page, segments):
    colours = [piece["options"]["color"] for piece in route_pieces_drawn(page)]
    expected = [EXPECTED_COLOURS.get(s["segment"], GREY) for s in segments]
    assert colours == expected
    assert colours.count(GREY) == 15
    assert {C1, C2, C3, C4} <= set(colours)


def test_route_colours_are_those_of_the_legend(page):
    route_legend = legends(page)["Reports, concerns and crimes per 100 m"]
    assert route_legend == {
        "0 (nothing reported)": GREY,
        f"1{D}3": C1,
        f"4{D}6": C2,
        f"7{D}9": C3,
        f"10{D}12": C4,
    }
    colours = {piece["options"]["color"] for piece in route_pieces_drawn(page)}
    assert colours == set(route_legend.values())


def test_stretch_tooltips_say_the_metres_and_the_counts(page):
    texts = [piece["tooltip"] for piece in route_pieces_drawn(page)]
    assert texts[0] == f"metres 0{D}100: 0 reports, 0 concerns, 0 crimes"
    assert texts[1] == f"metres 100{D}200: 1 report, 0 concerns, 0 crimes"
    assert texts[3] == f"metres 300{D}400: 2 reports, 1 concern, 5 crimes"
    assert texts[10] == f"metres 1000{D}1100: 4 reports, 2 concerns, 6 crimes"
    assert re.fullmatch(rf"metres 2000{D}20\d\d: 0 reports, 0 concerns, 0 crimes", texts[-1])


def test_a_route_with_nothing_near_it_is_all_neutral(length, wards):
    page = render(
        segments=exposure_segments(length, {}),
        concerns=empty_points("categories", "note"),
        reports=empty_points("categories", "is_dark"),
        crimes=empty_points("crime_type", "month"),
        wards=wards,
    )
    pieces = route_pieces_drawn(page)
    assert len(pieces) == 21
    assert {piece["options"]["color"] for piece in pieces} == {GREY}
    assert all(piece["tooltip"].endswith(": 0 reports, 0 concerns, 0 crimes") for piece in pieces)
    # The scale is still explained, so "grey" reads as "nothing", not as "no data".
    assert list(legends(page)["Reports, concerns and crimes per 100 m"]) == [
        "0 (nothing reported)",
        "1",
        "2",
        "3",
        "4",
    ]


def test_page_opens_on_the_route_with_its_title(page):
    assert "<title>Commute, Waterloo to Borough Market — Walk and Talk Maps</title>" in page
    bounds = re.search(r"\.fitBounds\(\s*(\[\[.*?\]\])", page, re.S)
    assert bounds, "the map does not fit to the route"
    (south, west), (north, east) = json.loads(bounds.group(1))
    assert (south, west, north, east) == pytest.approx((51.5033, -0.1150, 51.5080, -0.0909))


# --- markers, wards, layers ----------------------------------------------------------------


def test_reports_concerns_and_crimes_are_markers_in_their_own_layers(page):
    # Reports and crimes come in groups (Leaflet.markercluster), each its own group layer;
    # the few concerns are dots of their own.
    reports = clustered(page, "Unsafe-place reports (3)")
    concerns = drawn(page, "circleMarker", "Walk concerns (2)")
    crimes = clustered(page, "Police.uk crimes (3)")
    assert [r[:2] for r in reports] == [
        [51.5045, -0.1145],
        [51.5081, -0.104],
        [51.5066, -0.0935],
    ]
    assert [c["where"] for c in concerns] == [[51.507, -0.112], [51.5075, -0.096]]
    assert [c[:2] for c in crimes] == [[51.5074, -0.1102], [51.5079, -0.1], [51.5062, -0.092]]
    assert page.count("L.markerClusterGroup(") == 2
    # Reports are blue circles and their groups blue discs; crimes dark squares and groups.
    assert 'fillColor: "#0072b2"' in page and "walk-cluster-report" in page
    assert 'className: "walk-crime"' in page and "walk-cluster-crime" in page
    assert concerns[0]["options"]["fillColor"] == "#009e73"


def test_marker_tooltips_name_the_categories_darkness_note_and_month(page):
    reports = [r[2] for r in clustered(page, "Unsafe-place reports (3)")]
    assert reports == [
        "Unsafe-place report: hidden_corners (after dark)",
        "Unsafe-place report: loitering, verbal_harassment",
        "Unsafe-place report: no_cctv",
    ]
    concerns = [m["tooltip"] for m in drawn(page, "circleMarker", "Walk concerns (2)")]
    assert concerns == [
        "Walk concern: poor_lighting, isolated — “Underpass lights out”",
        "Walk concern: followed",
    ]
    crimes = [c[2] for c in clustered(page, "Police.uk crimes (3)")]
    assert crimes == [
        "Crime: Robbery, May 2024",
        "Crime: Violence and sexual offences, June 2024",
        "Crime: Theft from the person, 2024-07",
    ]


def test_marker_legend_matches_the_markers(page):
    key = marker_legend(page)
    assert key["lines"] == [
        ("sym-dot", "#009e73", "Walk concerns (2); along a stretch: a dashed green line"),
        ("sym-dot", "#0072b2", "Unsafe-place reports (3)"),
        ("sym-group", "#0072b2", "A group of reports: select to zoom in"),
        (
            "sym-square",
            "#1a1a1a",
            "Police.uk crimes (3), at police.uk's anonymised map points, not exact places",
        ),
        ("sym-group sym-square", "#1a1a1a", "A group of crimes"),
    ]
    assert key["notes"] == []
    assert (
        drawn(page, "circleMarker", "Walk concerns (2)")[0]["options"]["fillColor"] == "#009e73"
    )
    # No marker shares a colour with the route's scale.
    route_colours = set(legends(page)["Reports, concerns and crimes per 100 m"].values())
    assert not {colour for _, colour, _ in key["lines"]} & route_colours


def test_crossed_wards_are_thin_unfilled_outlines_named_on_hover(page):
    (collection,) = embedded_feature_collections(page)
    names = {
        f["properties"]["code"]: html.unescape(f["properties"]["name"])
        for f in collection["features"]
    }
    assert names == CROSSED_WARDS
    style = json.loads(re.search(r"_styler\(feature\) \{.*?return (\{.*?\});", page, re.S).group(1))
    assert style["fill"] is False
    assert style["weight"] <= 2
    fields = json.loads(re.search(r"let fields = (\[.*?\]);", page).group(1))
    aliases = json.loads(re.search(r"let aliases = (\[.*?\]);", page).group(1))
    assert dict(zip(aliases, fields, strict=True)) == {"Ward": "name"}


def test_layer_control_offers_every_layer_and_no_base_map_offline(page):
    assert layer_control(page) == {
        "base_layers": [],
        "overlays": [
            "Wards",
            "Route: reports, concerns and crimes per 100 m",
            "Unsafe-place reports (3)",
            "Walk concerns (2)",
            "Police.uk crimes (3)",
        ],
    }
    assert "L.tileLayer" not in page


def test_layer_control_offers_the_base_map_when_tiles_are_on(
    segments, concerns, reports, crimes, wards
):
    page = render(
        segments=segments,
        concerns=concerns,
        reports=reports,
        crimes=crimes,
        wards=wards,
        tiles=tile_source("osm"),
    )
    assert layer_control(page)["base_layers"] == ["OpenStreetMap"]


# --- credit, notes, offline ----------------------------------------------------------------


def test_data_credit_is_in_the_attribution_line(page):
    assert js_strings_after(page, ".attributionControl.addAttribution(") == [html.escape(CREDIT)]


def test_notes_are_shown_on_the_map(page, segments, concerns, reports, crimes, wards):
    assert notices(page) == [TRIMMED]
    two = render(
        segments=segments,
        concerns=concerns,
        reports=reports,
        crimes=crimes,
        wards=wards,
        notes=[TRIMMED, f"Walked 3 March 2025, 18:10{D}18:45"],
    )
    assert notices(two) == [TRIMMED, f"Walked 3 March 2025, 18:10{D}18:45"]
    none = render(
        segments=segments,
        concerns=concerns,
        reports=reports,
        crimes=crimes,
        wards=wards,
        notes=None,
    )
    assert notices(none) == []
    assert 'map-notice");' not in none


def test_markers_capped_below_what_was_found_say_so(segments, concerns, reports, crimes, wards):
    # Three reports drawn of 10 found (as service.queries.exposure.nearby_points caps them);
    # the concerns and crimes given are all that were found.
    found = {"reports": 10, "concerns": len(concerns), "crimes": len(crimes)}
    capped = render(
        segments=segments,
        concerns=concerns,
        reports=reports,
        crimes=crimes,
        wards=wards,
        found=found,
    )
    names = list(feature_groups(capped))
    assert "Unsafe-place reports (3 of 10)" in names
    assert f"Walk concerns ({len(concerns)})" in names
    assert f"Police.uk crimes ({len(crimes)})" in names
    # The legend says so, beside the markers; the notes on the map stay as given.
    assert notices(capped) == [TRIMMED]
    assert marker_legend(capped)["notes"] == [
        "Markers show the 3 most recent of the 10 reports within 50 m; the route's colours "
        "count them all."
    ]
    assert ("sym-dot", "#0072b2", "Unsafe-place reports (3 of 10)") in marker_legend(capped)[
        "lines"
    ]
    everything = {"reports": len(reports), "concerns": len(concerns), "crimes": len(crimes)}
    whole = render(
        segments=segments,
        concerns=concerns,
        reports=reports,
        crimes=crimes,
        wards=wards,
        found=everything,
    )
    assert notices(whole) == [TRIMMED]
    assert marker_legend(whole)["notes"] == []


def test_no_cdn_url_remains(page):
    for marker in CDN_MARKERS:
        assert marker not in page, marker
    assert re.findall(r"https?://[^\s\"'<>\\]+", page) == []


def test_every_linked_script_and_stylesheet_is_a_served_local_file(page):
    linked = linked_assets(page)
    assert f"{ASSET_URL}/leaflet/dist/leaflet.js" in linked
    for url in linked:
        assert url.startswith(f"{ASSET_URL}/"), url
        path = resolve_asset(url.removeprefix(f"{ASSET_URL}/"))
        assert path.is_file(), f"{url}: run `npm ci --prefix maps/vendor`"
        assert path.is_relative_to(VENDOR_DIR.resolve())


# --- edge cases ----------------------------------------------------------------------------


def test_empty_layers_render_as_empty_switchable_layers(segments):
    page = render(
        segments=segments,
        concerns=empty_points("categories", "note", crs=None),
        reports=empty_points("categories", "is_dark"),
        crimes=empty_points("crime_type", "month"),
        wards=empty_points("code", "name"),
    )
    assert layer_control(page)["overlays"] == [
        "Route: reports, concerns and crimes per 100 m",
        "Unsafe-place reports (0)",
        "Walk concerns (0)",
        "Police.uk crimes (0)",
    ]
    assert drawn(page, "circleMarker", "Walk concerns (0)") == []
    assert clustered(page, "Unsafe-place reports (0)") == []
    assert clustered(page, "Police.uk crimes (0)") == []
    assert embedded_feature_collections(page) == []
    assert len(route_pieces_drawn(page)) == 21
    assert js_strings_after(page, ".attributionControl.addAttribution(") == [html.escape(CREDIT)]


def test_points_on_the_british_grid_are_reprojected(segments, concerns, reports, crimes, wards):
    page = render(
        segments=segments,
        concerns=concerns.to_crs("EPSG:27700"),
        reports=reports,
        crimes=crimes.to_crs("EPSG:27700"),
        wards=wards.to_crs("EPSG:27700"),
    )
    (lat, lon, _) = clustered(page, "Police.uk crimes (3)")[0]
    assert (lon, lat) == pytest.approx((-0.1102, 51.5074), abs=1e-6)
    (lat, lon) = drawn(page, "circleMarker", "Walk concerns (2)")[0]["where"]
    assert (lon, lat) == pytest.approx((-0.1120, 51.5070), abs=1e-6)


def test_text_from_people_is_shown_as_text_not_run(segments, reports, crimes, wards):
    hostile = (
        "</script><script>alert(1)</script> `${document.cookie}` \\u0041 "
        "{{ 7*7 }} {% if true %}run{% endif %} {{ lipsum.__globals__ }} {%"
    )
    concerns = gpd.GeoDataFrame(
        {"categories": [["<b>other</b>"]], "note": [hostile]},
        geometry=[Point(-0.1120, 51.5070)],
        crs="EPSG:4326",
    )
    page = render(
        segments=segments,
        concerns=concerns,
        reports=reports,
        crimes=crimes,
        wards=wards,
        title="</title><script>alert(2)</script>",
        notes=["<img src=x onerror=alert(3)> {{ 6*7 }}"],
    )
    assert "<script>alert" not in page
    assert "<function" not in page  # lipsum.__globals__ was not looked up
    assert "<img src=x" not in page
    assert "${document.cookie}" not in page
    (concern,) = drawn(page, "circleMarker", "Walk concerns (1)")
    assert concern["tooltip"] == f"Walk concern: <b>other</b> — “{hostile}”"
    assert notices(page) == ["<img src=x onerror=alert(3)> {{ 6*7 }}"]


def test_exposure_classes_always_give_four_warm_classes_above_zero():
    assert [(c.low, c.high, c.colour) for c in exposure_classes(0)] == [
        (0, 0, GREY),
        (1, 1, C1),
        (2, 2, C2),
        (3, 3, C3),
        (4, 4, C4),
    ]
    assert [c.label for c in exposure_classes(12)] == [
        "0 (nothing reported)",
        f"1{D}3",
        f"4{D}6",
        f"7{D}9",
        f"10{D}12",
    ]
    big = exposure_classes(101)
    assert [c.label for c in big][1:] == [f"1{D}26", f"27{D}51", f"52{D}76", f"77{D}101"]
    for total in range(102):
        assert sum(c.holds(total) for c in big) == 1


def test_a_stretch_past_the_end_of_the_route_is_refused(length, concerns, reports, crimes, wards):
    too_long = exposure_segments(length + 300, {})
    with pytest.raises(ValueError, match="past the end of the"):
        render(segments=too_long, concerns=concerns, reports=reports, crimes=crimes, wards=wards)


@pytest.mark.parametrize(
    ("frame", "column"),
    [("concerns", "note"), ("reports", "is_dark"), ("crimes", "month"), ("wards", "name")],
)
def test_a_missing_column_is_named(frame, column, segments, concerns, reports, crimes, wards):
    frames = {"concerns": concerns, "reports": reports, "crimes": crimes, "wards": wards}
    frames[frame] = frames[frame].drop(columns=column)
    with pytest.raises(ValueError, match=f"{frame} frame lacks column\\(s\\) {column};"):
        render(segments=segments, **frames)


def test_no_segments_or_an_empty_credit_are_refused(concerns, reports, crimes, wards):
    with pytest.raises(ValueError, match="no segments"):
        render(segments=[], concerns=concerns, reports=reports, crimes=crimes, wards=wards)
    with pytest.raises(ValueError, match="attribution must not be empty"):
        render(
            segments=exposure_segments(100.0, {}),
            concerns=concerns,
            reports=reports,
            crimes=crimes,
            wards=wards,
            attribution=" ",
        )
