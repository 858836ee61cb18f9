"""A walk's own map: its concerns numbered apart from earlier ones, groups, title, way back.

Rendered from frames as ``service.queries.exposure`` gives them and read back the way a person
sees the page: the layers, the numbered markers and their popups, the stretch lines, the
legend's lines, the title box and where the map opens.
"""

from __future__ import annotations

import datetime as dt
import html
import json
import re
from typing import Any

import geopandas as gpd
import pytest
from shapely.geometry import Point

from tests.test_maps_routes import (
    ROUTE,
    clustered,
    drawn,
    exposure_segments,
    js_strings_after,
    layer_control,
    marker_legend,
    render,
)

# Concern 1 on the route at 17:12 London time in July (BST); concern 2 a stretch, pending;
# concern 3 noted far off the route, in another ward (Kennington), hidden by a moderator.
OWN = gpd.GeoDataFrame(
    {
        "number": [1, 2, 3],
        "categories": [["poor_lighting"], ["followed"], ["isolated"]],
        "note": ["Lights out `${x}` <b>", None, "By the park"],
        "at": [dt.datetime(2026, 7, 1, 16, 12, tzinfo=dt.UTC), None, None],
        "status": ["published", "pending", "hidden"],
        "line": [None, "LINESTRING (-0.1 51.5079, -0.099 51.5079)", None],
    },
    geometry=[Point(-0.105, 51.508), Point(-0.0995, 51.5079), Point(-0.1100, 51.4880)],
    crs="EPSG:4326",
)
EARLIER = gpd.GeoDataFrame(
    {
        "categories": [["isolated"], ["followed"]],
        "note": [None, "Along the wall"],
        "line": [None, "LINESTRING (-0.112 51.507, -0.111 51.5071)"],
    },
    geometry=[Point(-0.1120, 51.5070), Point(-0.1115, 51.50705)],
    crs="EPSG:4326",
)


def empty(*columns: str) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({c: [] for c in columns}, geometry=[], crs="EPSG:4326")


@pytest.fixture(scope="module")
def walk_page() -> str:
    from geo.routes import route_length_m

    segments = exposure_segments(route_length_m(ROUTE), {3: (2, 1, 5)})
    reports = gpd.GeoDataFrame(
        {"categories": [["poor_lighting"]] * 40, "is_dark": [True] * 40},
        geometry=[Point(-0.1100 + i * 0.0002, 51.5075) for i in range(40)],
        crs="EPSG:4326",
    )
    crimes = gpd.GeoDataFrame(
        {"crime_type": ["Robbery"] * 5, "month": ["2026-05"] * 5},
        geometry=[Point(-0.1000, 51.5079)] * 5,
        crs="EPSG:4326",
    )
    return render(
        segments=segments,
        concerns=EARLIER,
        reports=reports,
        crimes=crimes,
        wards=empty("code", "name"),
        walk_concerns=OWN,
        found={"reports": 3000, "concerns": 2, "crimes": 5},
        back=("/work/walks/42", "The walk"),
        category_labels={"poor_lighting": "Poor or no street lighting"},
        notes=[],
    )


def numbered(page: str) -> list[dict[str, Any]]:
    """The walk's own markers: where, the number shown, the popup's text and the tooltip."""
    out = []
    for match in re.finditer(r"var (marker_\w+) = L\.marker\(\s*(\[[^\]]*\])", page):
        var = match.group(1)
        icon = re.search(rf"{var}\.setIcon\((div_icon_\w+)\)", page)
        assert icon, var
        options = re.search(rf"var {icon.group(1)} = L\.divIcon\((\{{.*?\}})\);", page, re.S)
        assert options
        icon_html = json.loads(re.sub(r",\s*\}$", "}", options.group(1)))["html"]
        popup = re.search(rf"{var}\.bindPopup\((popup_\w+)\)", page)
        assert popup
        content = re.search(
            rf"var html_\w+ = \$\(`<div id=\"html_\w+\"[^>]*>([^`]*)</div>`\)\[0\];\s*"
            rf"{popup.group(1)}\.setContent",
            page,
            re.S,
        )
        assert content
        tip = re.search(rf"{var}\.bindTooltip\(\s*`<div>\s*(.*?)\s*</div>`", page, re.S)
        out.append(
            {
                "where": json.loads(match.group(2)),
                "number": icon_html.split("<", 1)[0],
                "icon": icon_html,
                "popup": html.unescape(re.sub(r"<br>", " | ", content.group(1))),
                "tooltip": html.unescape(tip.group(1)) if tip else None,
            }
        )
    return out


def test_the_walks_own_concerns_are_a_layer_of_their_own_after_the_earlier_ones(walk_page):
    assert layer_control(walk_page)["overlays"] == [
        "Route: reports, concerns and crimes per 100 m",
        "Unsafe-place reports (40 of 3,000)",
        "Earlier walk concerns (2)",
        "Police.uk crimes (5)",
        "This walk's concerns (3)",
    ]


def test_each_own_concern_is_a_numbered_marker_with_its_time_note_and_state(walk_page):
    markers = numbered(walk_page)
    assert [(m["number"], m["where"]) for m in markers] == [
        ("1", [51.508, -0.105]),
        ("2", [51.5079, -0.0995]),
        ("3", [51.488, -0.11]),
    ]
    # A screen reader hears what the number is; the popup is plain text, never markup.
    assert all("This walk's concern" in m["icon"] for m in markers)
    assert [m["popup"] for m in markers] == [
        "<strong>Concern 1</strong>, noted 1 July 2026, 17:12 | Poor or no street lighting"
        " | “Lights out `${x}` <b>”",
        "<strong>Concern 2</strong>, noted at a time not known | followed"
        " | Awaiting moderation: not yet on the public maps.",
        "<strong>Concern 3</strong>, noted at a time not known | isolated | “By the park”"
        " | Hidden by a moderator: not on the public maps.",
    ]
    assert "<b>”" not in walk_page  # the note's tag is text
    assert [m["tooltip"] for m in markers] == [
        "Concern 1: Poor or no street lighting",
        "Concern 2: followed",
        "Concern 3: isolated",
    ]
    assert walk_page.count('"className": "walk-concern-here"') == 3
    assert walk_page.count('"zIndexOffset": 1000') == 3


def test_stretch_concerns_are_lines_in_their_own_and_the_earlier_style(walk_page):
    own = drawn(walk_page, "polyline", "This walk's concerns (3)")
    # A white casing under a purple line, where concern 2 was raised.
    assert [(line["where"], line["options"]["color"]) for line in own] == [
        ([[51.5079, -0.1], [51.5079, -0.099]], "#ffffff"),
        ([[51.5079, -0.1], [51.5079, -0.099]], "#542788"),
    ]
    assert own[1]["tooltip"] == "Concern 2: followed"
    earlier = drawn(walk_page, "polyline", "Earlier walk concerns (2)")
    assert [(line["where"], line["options"]["dashArray"]) for line in earlier] == [
        ([[51.507, -0.112], [51.5071, -0.111]], "6 6")
    ]
    assert earlier[0]["options"]["color"] == "#009e73"
    dots = drawn(walk_page, "circleMarker", "Earlier walk concerns (2)")
    assert [d["tooltip"] for d in dots] == [
        "Walk concern: isolated",
        "Walk concern: followed — “Along the wall”",
    ]
    assert {d["options"]["radius"] for d in dots} == {6}


def test_reports_and_crimes_are_groups_and_the_legend_says_what_was_left_out(walk_page):
    assert len(clustered(walk_page, "Unsafe-place reports (40 of 3,000)")) == 40
    assert len(clustered(walk_page, "Police.uk crimes (5)")) == 5
    assert walk_page.count("L.circleMarker(") == 1 + 2  # the reports' script, 2 earlier dots
    key = marker_legend(walk_page)
    assert [words for _, _, words in key["lines"]] == [
        "This walk's concerns (3), numbered in the order noted; a concern along a stretch is "
        "also a purple line",
        "Earlier walk concerns (2); along a stretch: a dashed green line",
        "Unsafe-place reports (40 of 3,000)",
        "A group of reports: select to zoom in",
        "Police.uk crimes (5), at police.uk's anonymised map points, not exact places",
        "A group of crimes",
    ]
    assert key["lines"][0][:2] == ("sym-walk", "#542788")
    assert key["notes"] == [
        "Markers show the 40 most recent of the 3,000 reports within 50 m; the route's colours "
        "count them all."
    ]


def test_the_title_box_folds_to_its_heading_and_says_what_the_map_shows(walk_page):
    (box,) = js_strings_after(
        walk_page, 'L.DomUtil.create("div", "map-title");\n                    div.innerHTML ='
    )
    assert box.startswith(
        '<details class="map-fold" open><summary><h1>Commute, Waterloo to Borough Market</h1>'
        "</summary><p>"
    )
    assert html.unescape(re.search(r"<p>(.*)</p>", box).group(1)) == (
        "3 concerns noted on this walk: the purple numbers (select one for its time and note). "
        "Within 50 m of the route: 3,000 unsafe-place reports, 2 earlier walk concerns and "
        "5 police.uk crimes. Select a group to zoom in."
    )


def test_the_way_back_is_the_walks_page_and_the_map_opens_on_every_own_concern(walk_page):
    (back,) = js_strings_after(
        walk_page, 'L.DomUtil.create("div", "map-back");\n                    div.innerHTML ='
    )
    assert back == '<a href="/work/walks/42">&larr; The walk</a>'
    bounds = re.search(r"\.fitBounds\(\s*(\[\[.*?\]\])", walk_page, re.S)
    assert bounds
    (south, west), (north, east) = json.loads(bounds.group(1))
    # Concern 3 lies 1.5 km south of the route: the map opens wide enough to show it.
    assert (south, west, north, east) == pytest.approx((51.4880, -0.1150, 51.5080, -0.0909))


def test_a_planned_route_has_no_own_concerns_and_no_heading(walk_page):
    from geo.routes import route_length_m

    page = render(
        segments=exposure_segments(route_length_m(ROUTE), {}),
        concerns=EARLIER,
        reports=empty("categories", "is_dark"),
        crimes=empty("crime_type", "month"),
        wards=empty("code", "name"),
    )
    names = layer_control(page)["overlays"]
    assert "Walk concerns (2)" in names
    assert not [n for n in names if "This walk" in n or "Earlier" in n]
    # render_route_map always heads its page; route_map leaves it to pages with a panel.
    assert '"map-title"' in page
    assert "L.marker(\n" not in page


def test_an_own_concern_frame_without_its_columns_is_refused():
    from geo.routes import route_length_m

    with pytest.raises(ValueError, match=r"walk_concerns frame lacks column\(s\) status"):
        render(
            segments=exposure_segments(route_length_m(ROUTE), {}),
            concerns=EARLIER,
            reports=empty("categories", "is_dark"),
            crimes=empty("crime_type", "month"),
            wards=empty("code", "name"),
            walk_concerns=OWN.drop(columns="status"),
        )


def test_text_in_the_grouped_points_is_shown_as_text_not_run():
    from geo.routes import route_length_m

    hostile = "</script><script>alert(1)</script><img src=x onerror=alert(2)>"
    page = render(
        segments=exposure_segments(route_length_m(ROUTE), {}),
        concerns=EARLIER,
        reports=gpd.GeoDataFrame(
            {"categories": [[hostile]], "is_dark": [False]},
            geometry=[Point(-0.1100, 51.5075)],
            crs="EPSG:4326",
        ),
        crimes=gpd.GeoDataFrame(
            {"crime_type": [hostile], "month": ["2026-05"]},
            geometry=[Point(-0.1000, 51.5079)],
            crs="EPSG:4326",
        ),
        wards=empty("code", "name"),
    )
    assert "<script>alert" not in page and "<img src=x" not in page
    # The rows carry the words escaped once (Leaflet sets a tooltip as HTML), so a person
    # reads them as typed.
    assert "\\u0026lt;script\\u0026gt;alert(1)" in page
    assert clustered(page, "Unsafe-place reports (1)")[0][2] == f"Unsafe-place report: {hostile}"
    assert clustered(page, "Police.uk crimes (1)")[0][2] == f"Crime: {hostile}, 2026-05"


def test_a_walk_without_concerns_says_so_in_its_title_box():
    from geo.routes import route_length_m

    page = render(
        segments=exposure_segments(route_length_m(ROUTE), {}),
        concerns=EARLIER,
        reports=empty("categories", "is_dark"),
        crimes=empty("crime_type", "month"),
        wards=empty("code", "name"),
        walk_concerns=OWN.iloc[0:0],
    )
    (box,) = js_strings_after(
        page, 'L.DomUtil.create("div", "map-title");\n                    div.innerHTML ='
    )
    assert html.unescape(re.search(r"<p>(.*)</p>", box).group(1)) == (
        "No concerns were noted on this walk. Within 50 m of the route: 0 unsafe-place reports, "
        "2 earlier walk concerns and 0 police.uk crimes."
    )
    assert "This walk's concerns (0)" in layer_control(page)["overlays"]
    assert numbered(page) == []
