"""The briefing page and the planning page, rendered and read the way an officer reads them.

The route runs from Waterloo to Borough Market over the real 2024 pilot wards. The panel is
read as text, section by section; the map by its layers, stretches, tooltips and legends.
Sun times come from ``geo.darkness.sun_times`` and are held to the published London times
(HM Nautical Almanac Office / timeanddate.com, 21 December 2026: civil dawn 07:24, sunrise
08:04, sunset 15:53, civil dusk 16:33 GMT).
"""

from __future__ import annotations

import datetime as dt
import html
import json
import re
from typing import Any

import geopandas as gpd
import pytest
from pyproj import Transformer
from shapely.geometry import LineString, Point

from boundaries.bundled import PILOT_WARDS
from boundaries.reading import read_wards
from geo.darkness import LONDON, SunTimes, sun_times
from geo.routes import route_length_m
from maps.briefing import render_briefing, render_briefing_planner
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
START_LON, START_LAT = ROUTE.coords[0]
CROSSED = {"E05014118": "Waterloo & South Bank", "E05011095": "Borough & Bankside"}
LABELS = {
    "poor_lighting": "Poor or no street lighting",
    "isolated": "Isolated or deserted",
    "followed": "Being followed",
    "hidden_corners": "Hidden corners, overgrown or poor sight lines",
}
CREDIT = "Contains OS data © Crown copyright 2024; crime data from data.police.uk (OGL v3.0)"
D = "\N{EN DASH}"
WINTER_START = dt.datetime(2026, 12, 21, 17, 0, tzinfo=dt.UTC)
# Stretches with something near them: (reports, concerns, crimes).
COUNTS = {3: (2, 1, 5), 7: (1, 1, 0), 10: (4, 0, 6), 15: (0, 0, 1)}


def exposure_for(counts: dict[int, tuple[int, int, int]], *, within: float = 50.0) -> dict:
    """An answer shaped as service.queries.exposure.route_exposure gives it."""
    length = route_length_m(ROUTE)
    segments = []
    for i in range(int(-(-length // 100))):
        reports, concerns, crimes = counts.get(i, (0, 0, 0))
        segments.append(
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
    worst = sorted((s for s in segments if s["total"]), key=lambda s: (-s["total"], s["segment"]))
    return {
        "within_m": within,
        "length_m": round(length, 1),
        "totals": {k: sum(s[k] for s in segments) for k in ("reports", "concerns", "crimes")},
        "share_in_darkness": 0.6,
        "segments": segments,
        "worst_segments": worst[:3],
    }


@pytest.fixture(scope="module")
def wards() -> gpd.GeoDataFrame:
    every = read_wards(PILOT_WARDS.path).wards
    return every[every["code"].isin(list(CROSSED))]


@pytest.fixture(scope="module")
def concerns() -> gpd.GeoDataFrame:
    # Given farther first: the briefing lists them in walking order.
    return gpd.GeoDataFrame(
        {
            "categories": [["poor_lighting", "isolated"], ["followed", "unheard_of_slug"]],
            "note": ["Underpass lights out\nSuggestion: Light it", None],
        },
        geometry=[Point(-0.0960, 51.5075), Point(-0.1120, 51.5070)],
        crs="EPSG:4326",
    )


def empty(*columns: str) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({c: [] for c in columns}, geometry=[], crs="EPSG:4326")


@pytest.fixture(scope="module")
def reports() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"categories": [["hidden_corners"]], "is_dark": [True]},
        geometry=[Point(-0.1145, 51.5045)],
        crs="EPSG:4326",
    )


@pytest.fixture(scope="module")
def crimes() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"crime_type": ["Robbery"], "month": [dt.date(2024, 5, 1)]},
        geometry=[Point(-0.1102, 51.5074)],
        crs="EPSG:4326",
    )


def render(
    wards: gpd.GeoDataFrame,
    concerns: gpd.GeoDataFrame,
    reports: gpd.GeoDataFrame,
    crimes: gpd.GeoDataFrame,
    **overrides: Any,
) -> str:
    start = overrides.pop("planned_start", WINTER_START)
    options: dict[str, Any] = {
        "planned_start": start,
        "planned_end": start + dt.timedelta(minutes=45),
        "sun": sun_times(START_LON, START_LAT, start),
        "dark_at_start": True,
        "dark_share": 1.0,
        "exposure": exposure_for(COUNTS),
        "concerns": concerns,
        "reports": reports,
        "crimes": crimes,
        "wards": wards,
        "category_labels": LABELS,
        "attribution": CREDIT,
        "asset_url": "/static/vendor",
        "tiles": tile_source("none"),
        "plan_url": "/maps/routes/briefing",
    }
    options.update(overrides)
    return render_briefing(ROUTE, **options)


@pytest.fixture(scope="module")
def page(wards, concerns, reports, crimes) -> str:
    return render(wards, concerns, reports, crimes)


# --- reading the page back -----------------------------------------------------------------


def text_of(fragment: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", fragment)).split())


def panel(page: str) -> str:
    found = re.search(r'<aside class="briefing".*?</aside>', page, re.S)
    assert found, "no briefing panel"
    return found.group(0)


def section(page: str, heading_id: str) -> str:
    found = re.search(rf'<section aria-labelledby="{heading_id}">(.*?)</section>', page, re.S)
    assert found, f"no section {heading_id}"
    return found.group(1)


def items(page: str, heading_id: str) -> list[str]:
    return [text_of(i) for i in re.findall(r"<li>(.*?)</li>", section(page, heading_id), re.S)]


def sun_table(page: str) -> dict[str, str]:
    return {
        text_of(k): text_of(v)
        for k, v in re.findall(r"<dt>(.*?)</dt><dd>(.*?)</dd>", section(page, "briefing-light"))
    }


def layers(page: str) -> list[str]:
    block = re.search(r"overlays :\s*\{(.*?)\},", page, re.S)
    assert block, "no layer control"
    return [json.loads(n) for n in re.findall(r'("(?:[^"\\]|\\.)*") :', block.group(1))]


def tooltips(page: str) -> list[str]:
    drawn = [
        html.unescape(t)
        for t in re.findall(r"bindTooltip\(\s*`<div>\s*(.*?)\s*</div>`", page, re.S)
    ]
    # Reports and crimes come in groups (maps.clusters): their rows carry the tooltip text.
    decoder = json.JSONDecoder()
    grouped = [
        html.unescape(row[2])
        for match in re.finditer(r"var data = ", page)
        for row in decoder.raw_decode(page, match.end())[0]
    ]
    return drawn + grouped


def legend_titles(page: str) -> list[str]:
    found = re.findall(r'map-legend-title\\"\\u003e(.*?)\\u003c', page)
    return [html.unescape(json.loads(f'"{title}"')) for title in found]


def credits(page: str) -> list[str]:
    found = re.findall(r"attributionControl\.addAttribution\(\s*(\"(?:[^\"\\]|\\.)*\")", page)
    return [html.unescape(json.loads(literal)) for literal in found]


def minutes_between(shown: str, published: str) -> int:
    (h1, m1), (h2, m2) = ((int(x) for x in t.split(":")) for t in (shown, published))
    return abs(h1 * 60 + m1 - (h2 * 60 + m2))


# --- the briefing panel --------------------------------------------------------------------


def test_the_panel_comes_first_and_says_when_the_walk_is(page):
    body = page[page.index("<body>") :]
    assert body.index('<aside class="briefing"') < body.index('class="folium-map"')
    assert '<h1 id="briefing-title">Briefing for a planned walk</h1>' in page
    assert "<title>Briefing for a planned walk — Walk and Talk Maps</title>" in page
    shown = text_of(panel(page))
    assert f"Monday 21 December 2026, 17:00{D}17:45 GMT (45 minutes)" in shown
    assert "A 2.1 km route. This briefing is not stored" in shown
    assert '<a href="/maps/routes/briefing">Plan another route</a>' in page


def test_the_sun_times_are_the_almanacs(page):
    table = sun_table(page)
    assert list(table) == ["Civil dawn", "Sunrise", "Sunset", "Civil dusk"]
    for name, published in (
        ("Civil dawn", "07:24"),
        ("Sunrise", "08:04"),
        ("Sunset", "15:53"),
        ("Civil dusk", "16:33"),
    ):
        assert re.fullmatch(r"\d\d:\d\d", table[name])
        assert minutes_between(table[name], published) <= 2, (name, table[name])
    light = text_of(section(page, "briefing-light"))
    assert "At the start of the route on Monday 21 December 2026 (GMT):" in light


def test_dark_at_the_start_and_the_share_walked_in_the_dark(page, wards, concerns, reports, crimes):
    light = text_of(section(page, "briefing-light"))
    assert "Dark at the start: Yes. It is dark from 16:3" in light
    assert "Walked in the dark: 100% of the route" in light
    assert 'class="briefing-dark"' in section(page, "briefing-light")

    # Twenty minutes before civil dusk, for an hour: light at the start, dark during the walk.
    start = dt.datetime(2026, 12, 21, 16, 13, tzinfo=dt.UTC)
    dusk = render(
        wards,
        concerns,
        reports,
        crimes,
        planned_start=start,
        planned_end=start + dt.timedelta(hours=1),
        dark_at_start=False,
        dark_share=0.663,
    )
    light = text_of(section(dusk, "briefing-light"))
    assert "Dark at the start: No. It gets dark during the walk, at 16:3" in light
    assert "Walked in the dark: 66% of the route" in light
    assert 'class="briefing-light"' in section(dusk, "briefing-light")

    # Before dawn on a winter morning: dark until civil dawn.
    morning = dt.datetime(2026, 12, 21, 6, 0, tzinfo=dt.UTC)
    early = render(wards, concerns, reports, crimes, planned_start=morning)
    assert "It is dark until 07:2" in text_of(section(early, "briefing-light"))


def test_a_summer_evening_in_bst(wards, concerns, reports, crimes):
    start = dt.datetime(2026, 6, 21, 19, 0, tzinfo=LONDON)
    summer = render(wards, concerns, reports, crimes, planned_start=start, dark_at_start=False)
    shown = text_of(panel(summer))
    assert f"Sunday 21 June 2026, 19:00{D}19:45 BST (45 minutes)" in shown
    # HM Nautical Almanac Office / timeanddate.com, London, 21 June 2026: 04:43 and 21:21 BST.
    assert minutes_between(sun_table(summer)["Sunrise"], "04:43") <= 2
    assert minutes_between(sun_table(summer)["Sunset"], "21:21") <= 2
    assert "Light until 22:" in text_of(section(summer, "briefing-light"))


def test_a_walk_over_midnight_names_both_days(wards, concerns, reports, crimes):
    start = dt.datetime(2026, 12, 4, 23, 40, tzinfo=dt.UTC)
    late = render(wards, concerns, reports, crimes, planned_start=start)
    assert (
        "Friday 4 December 2026 23:40 GMT to Saturday 5 December 00:25 GMT (45 minutes)"
        in text_of(panel(late))
    )


def test_a_place_where_the_sun_does_not_set_says_so(wards, concerns, reports, crimes):
    polar = render(wards, concerns, reports, crimes, sun=SunTimes(None, None, None, None))
    table = sun_table(polar)
    assert set(table.values()) == {"not today (the sun does not reach it)"}


def test_totals_within_the_distance_and_the_dark_share_of_reports(page, wards, concerns):
    near = items(page, "briefing-near")
    assert near == ["7 unsafe-place reports", "2 earlier walk concerns", "12 police.uk crimes"]
    shown = text_of(section(page, "briefing-near"))
    assert shown.startswith("Within 50 m of the route")
    assert "60% of those reports and concerns were about the dark." in shown

    one_each = exposure_for({2: (1, 1, 1)}, within=100)
    one_each["share_in_darkness"] = None
    single = render(
        wards,
        concerns,
        empty("categories", "is_dark"),
        empty("crime_type", "month"),
        exposure=one_each,
    )
    assert items(single, "briefing-near") == [
        "1 unsafe-place report",
        "1 earlier walk concern",
        "1 police.uk crime",
    ]
    shown = text_of(section(single, "briefing-near"))
    assert shown.startswith("Within 100 m of the route") and "about the dark" not in shown


def test_the_worst_stretches_in_order(page, wards, concerns, reports, crimes):
    assert items(page, "briefing-worst") == [
        f"metres 1000{D}1100: 4 reports, 0 concerns, 6 crimes",
        f"metres 300{D}400: 2 reports, 1 concern, 5 crimes",
        f"metres 700{D}800: 1 report, 1 concern, 0 crimes",
    ]
    quiet = render(
        wards,
        empty("categories", "note"),
        empty("categories", "is_dark"),
        empty("crime_type", "month"),
        exposure=exposure_for({}),
    )
    assert items(quiet, "briefing-worst") == []
    assert text_of(section(quiet, "briefing-worst")) == (
        "Worst stretches Nothing reported within 50 m of any stretch."
    )
    assert text_of(section(quiet, "briefing-concerns")) == (
        "Earlier concerns along the route No walk concerns within 50 m of the route."
    )


def test_earlier_concerns_in_walking_order_with_labels_and_notes(page, concerns):
    listed = items(page, "briefing-concerns")
    assert len(listed) == 2
    # Walking order: the one near Waterloo first, although it was given second.
    assert listed[0].endswith("Being followed, unheard_of_slug")
    assert listed[1].endswith(
        "Poor or no street lighting, Isolated or deserted “Underpass lights out "
        "Suggestion: Light it”"
    )
    # "About N m along", measured on the British National Grid, to the nearest 10 m.
    to_grid = Transformer.from_crs("EPSG:4326", "EPSG:27700", always_xy=True)
    line = LineString([to_grid.transform(x, y) for x, y in ROUTE.coords])
    expected = sorted(line.project(Point(to_grid.transform(p.x, p.y))) for p in concerns.geometry)
    shown = [re.match(r"About ([\d.]+) (m|km) along:", item) for item in listed]
    assert all(shown)
    metres = [float(m.group(1)) * (1000 if m.group(2) == "km" else 1) for m in shown]
    assert metres[0] == pytest.approx(expected[0], abs=5)
    assert metres[1] == pytest.approx(expected[1], abs=50)  # shown as 1.7 km
    # The note keeps its line break for the reader.
    assert "white-space: pre-line" in page and "Underpass lights out\nSuggestion" in page


def test_the_wards_crossed_are_named(page):
    assert text_of(section(page, "briefing-wards")) == (
        "Wards crossed Borough & Bankside, Waterloo & South Bank"
    )


def test_free_text_is_shown_as_text_not_markup(wards, reports, crimes):
    sneaky = gpd.GeoDataFrame(
        {"categories": [["<b>poor_lighting</b>"]], "note": ["<script>alert('x')</script> & more"]},
        geometry=[Point(-0.1120, 51.5070)],
        crs="EPSG:4326",
    )
    shown = panel(render(wards, sneaky, reports, crimes))
    assert "<script>" not in shown and "<b>" not in shown
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; &amp; more" in shown


# --- the map -------------------------------------------------------------------------------


def test_the_map_is_the_route_map_with_labels(page):
    assert layers(page) == [
        "Wards",
        "Route: reports, concerns and crimes per 100 m",
        # The exposure counted more than the markers given: the map says so.
        "Unsafe-place reports (1 of 7)",
        "Walk concerns (2)",
        "Police.uk crimes (1 of 12)",
    ]
    assert "Markers show the 1 most recent of the 7 reports within 50 m" in page
    tips = tooltips(page)
    stretches = [t for t in tips if t.startswith("metres ")]
    assert len(stretches) == len(exposure_for(COUNTS)["segments"]) == 21  # 2.1 km
    assert f"metres 300{D}400: 2 reports, 1 concern, 5 crimes" in stretches
    # Categories in the taxonomy's words on the markers too.
    assert "Walk concern: Being followed, unheard_of_slug" in tips
    assert "Unsafe-place report: Hidden corners, overgrown or poor sight lines (after dark)" in tips
    assert legend_titles(page) == ["Reports, concerns and crimes per 100 m", "Markers"]
    assert credits(page) == [CREDIT]


def test_the_page_loads_nothing_from_elsewhere(page):
    assets = re.findall(r"<(?:script|link)\b[^>]*?(?:src|href)=\"([^\"]+)\"", page)
    assert assets and all(a.startswith("/static/vendor/") for a in assets)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"planned_start": dt.datetime(2026, 12, 21, 17, 0)}, "no time zone"),
        ({"planned_end": WINTER_START}, "is not after"),
        ({"dark_share": 1.5}, "between 0 and 1"),
        ({"exposure": {"within_m": 50, "totals": {}}}, "exposure lacks length_m"),
    ],
)
def test_bad_inputs_are_refused(wards, concerns, reports, crimes, change, message):
    options = dict(change)
    if "planned_start" in options:
        options["planned_end"] = options["planned_start"] + dt.timedelta(minutes=45)
    with pytest.raises(ValueError, match=message):
        render(wards, concerns, reports, crimes, **options)


# --- the planning page ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def planner(wards) -> str:
    return render_briefing_planner(
        wards=wards,
        action_url="/maps/routes/briefing",
        csrf_token="csrf-123",
        default_start=dt.datetime(2026, 6, 3, 16, 0, tzinfo=dt.UTC),
        min_length_m=500,
        title="Plan a walk",
        attribution=CREDIT,
        asset_url="/static/vendor",
        tiles=tile_source("none"),
    )


def planning_form(planner: str) -> str:
    literal = re.search(r'box\.innerHTML = ("(?:[^"\\]|\\.)*");', planner)
    assert literal, "no planning form"
    return json.loads(literal.group(1))


def test_the_planning_form_asks_for_start_duration_and_distance(planner):
    form = planning_form(planner)
    assert '<form id="briefing-form" method="post" action="/maps/routes/briefing">' in form
    labels = re.findall(r'<label for="([\w-]+)">([^<]+)</label>', form)
    assert labels == [
        ("planned-start", "Planned start (London time)"),
        ("minutes", "Duration (minutes)"),
        ("within", "Look within (metres of the route)"),
    ]
    # 16:00 UTC on 3 June is 17:00 in London (BST).
    assert 'type="datetime-local" id="planned-start" name="planned_start" required ' in form
    assert 'value="2026-06-03T17:00"' in form
    assert re.search(r'id="minutes" name="minutes" required min="30" step="5" value="45"', form)
    assert 'name="within" required min="10" max="500" step="10" value="50"' in form
    assert '<input type="hidden" name="csrf_token" value="csrf-123">' in form
    assert '<input type="hidden" name="route" value="">' in form
    assert '<button type="submit">Show briefing</button>' in form


def test_the_planning_page_is_the_drawing_map_without_its_save_button(planner, wards):
    assert "L.Control.Draw" in planner
    assert "L.Draw.Polyline.prototype._onTouch = L.Util.falseFn" in planner
    assert "save-route" not in planner and "Save route" not in planner
    assert '"minLengthM": 500.0' in planner
    assert set(re.findall(r'"code": "(E05\d+)"', planner)) == set(CROSSED)
    assert "<title>Plan a walk</title>" in planner


def test_the_planning_page_needs_an_aware_default_start(wards):
    with pytest.raises(ValueError, match="no time zone"):
        render_briefing_planner(
            wards=wards,
            action_url="/maps/routes/briefing",
            csrf_token=None,
            default_start=dt.datetime(2026, 6, 3, 16, 0),
            min_length_m=500,
            title="Plan a walk",
            attribution=CREDIT,
            asset_url="/static/vendor",
            tiles=None,
        )
