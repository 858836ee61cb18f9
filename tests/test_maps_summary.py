"""The ward summary map, rendered from the bundled 2024 wards and figures protected as the API does.

Read the way a person reads the page: which colour each ward has and what the legend says that
colour means (suppressed wards included), what the tooltip says, the panel with the filters and
the method note, the layer control and the credit line.
"""

from __future__ import annotations

import html
import json
import re
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest

from geo.disclosure import DisclosureRule
from maps.summary import RATE_COLOURS, SUPPRESSED_COLOUR, rate_classes, render_summary_map
from maps.tiles import tile_source
from service.queries.summaries import protect_summary
from tests.test_maps_wards import (
    OGL,
    WARDS_FILE,
    attributions,
    embedded_feature_collections,
    js_string_after,
    layer_control,
    legend_entries,
    legend_html,
)

ASSET_URL = "/static/vendor"
FILTERS = ["boroughs E09000022, E09000028", "after dark only (sun below -6 degrees)"]
NOTE = [
    "A report is a place where someone told us they felt unsafe.",
    "Disclosure control: areas with fewer than 10 reports are suppressed.",
]
CATEGORIES = ("poor_lighting", "isolated", "followed", "no_cctv")


@pytest.fixture(scope="module")
def exact() -> tuple[gpd.GeoDataFrame, pd.DataFrame]:
    """The bundled wards with made-up exact figures: every fifth ward under 10 reports."""
    raw = gpd.read_file(WARDS_FILE).rename(
        columns={
            "WD24CD": "ward_code",
            "WD24NM": "ward_name",
            "LAD24CD": "borough_code",
            "LAD24NM": "borough_name",
        }
    )
    wards = raw[["ward_code", "ward_name", "borough_code", "borough_name", "geometry"]].copy()
    rng = np.random.default_rng(4)
    n = len(wards)
    wards["area_km2"] = wards.to_crs(27700).area / 1e6
    wards["reports"] = np.where(
        np.arange(n) % 5 == 0, rng.integers(0, 10, n), rng.integers(10, 160, n)
    )
    wards["dark"] = (wards["reports"] * rng.uniform(0.2, 0.9, n)).astype(int)
    wards["walks"] = np.where(np.arange(n) % 4 == 0, 12, 0)
    wards["concerns"] = rng.integers(0, 25, n)
    # Residents apportioned to each ward; the last ward has too few for a rate.
    wards["persons"] = np.where(np.arange(n) == n - 1, 60.0, rng.uniform(8000, 16000, n))
    wards["females"] = wards["persons"] / 2
    rows = []
    for code, total in zip(wards["ward_code"], wards["reports"], strict=True):
        shares = (0.5, 0.3, 0.15, 0.05)
        rows += [(code, c, int(total * s)) for c, s in zip(CATEGORIES, shares, strict=True)]
    categories = pd.DataFrame(rows, columns=["ward_code", "category", "reports"])
    return wards, categories[categories["reports"] > 0]


def summary_frame(exact: Any, rule: DisclosureRule | None) -> gpd.GeoDataFrame:
    wards, categories = exact
    shown = protect_summary(pd.DataFrame(wards.drop(columns="geometry")), categories, rule)
    return gpd.GeoDataFrame(shown, geometry=wards.geometry.values, crs=wards.crs)


def render(frame: gpd.GeoDataFrame, *, k: int | None = 10, tiles: str = "none", **kw: Any) -> str:
    return render_summary_map(
        frame,
        ward_set=kw.get("ward_set", "pilot-2024"),
        attribution=OGL,
        filters=kw.get("filters", FILTERS),
        method_note=kw.get("method_note", NOTE),
        k=k,
        asset_url=ASSET_URL,
        tiles=tile_source(tiles),
        rounding=kw.get("rounding", None if k is None else 5),
        classes=kw.get("classes", "fisher_jenks"),
    )


@pytest.fixture(scope="module")
def protected(exact) -> gpd.GeoDataFrame:
    return summary_frame(exact, DisclosureRule())


@pytest.fixture(scope="module")
def page(protected) -> str:
    return render(protected)


def drawn(page: str) -> dict[str, dict[str, Any]]:
    (collection,) = embedded_feature_collections(page)
    return {f["properties"]["ward_code"]: f["properties"] for f in collection["features"]}


def fills(page: str) -> dict[str, str]:
    """Ward code -> the fill colour the style function gave it."""
    return {code: props["fill"] for code, props in drawn(page).items()}


def tooltip(page: str) -> dict[str, str]:
    """Tooltip label -> the property it shows."""
    names = re.search(r"let fields = (\[.*?\]);", page).group(1)
    aliases = re.search(r"let aliases = (\[.*?\]);", page).group(1)
    return dict(zip(json.loads(aliases), json.loads(names), strict=True))


def panel(page: str) -> str:
    (inner,) = js_string_after(
        page, 'L.DomUtil.create("div", "map-summary");\n                    div.innerHTML ='
    )
    return inner


def said(page: str, code: str, field: str) -> str:
    """What the tooltip shows for a ward's field, as a person reads it (unescaped)."""
    return html.unescape(drawn(page)[code][field])


# --- what the map shows --------------------------------------------------------------------


def test_every_ward_is_drawn_once(page, protected) -> None:
    assert sorted(drawn(page)) == sorted(protected["ward_code"]) and len(protected) == 48


def test_the_legend_has_rate_classes_and_a_suppressed_class(page, protected) -> None:
    entries = legend_entries(page)
    labels = list(entries)
    assert labels[-1] == "suppressed (fewer than 10 reports)"
    assert entries[labels[-1]] == SUPPRESSED_COLOUR
    assert re.fullmatch(r"[\d.,]+ to [\d.,]+ \(\d+ wards?\)", labels[0]), labels[0]
    assert all(re.fullmatch(r"over [\d.,]+ to [\d.,]+ \(\d+ wards?\)", la) for la in labels[1:-1])
    assert len(labels) == 6  # five classes of rate, and suppressed
    assert [entries[label] for label in labels[:-1]] == list(RATE_COLOURS)
    assert "Reports per km²" in legend_html(page) and "Ward set: pilot-2024" in legend_html(page)
    # The legend names how the classes were made.
    step = 5 / float(np.median(protected.loc[~protected["suppressed"], "area_km2"]))
    assert (
        "Fisher\u2013Jenks natural breaks, 5 classes, none narrower than "
        f"{f'{step:.1f}'.removesuffix('.0')} per km² "
        "(counts are rounded to 5). Ward set: pilot-2024"
    ) in legend_html(page)
    # The suppressed swatch is hatched, as the wards are on the map.
    assert (
        '<li><span class="map-legend-swatch map-legend-hatched" style="background:#bdbdbd">'
        "</span>suppressed (fewer than 10 reports)</li>"
    ) in legend_html(page)


def test_suppressed_wards_are_grey_and_only_they_are(page, protected) -> None:
    colours = fills(page)
    for row in protected.itertuples():
        assert (colours[row.ward_code] == SUPPRESSED_COLOUR) == row.suppressed, row.ward_code
    assert protected["suppressed"].sum() >= 8  # every fifth ward has fewer than 10 reports
    # Each ward is filled only in a colour the legend explains.
    assert set(colours.values()) <= set(legend_entries(page).values())
    # Suppressed wards are also outlined in dashes and hatched, so grey is not read as "few":
    # the hatch pattern is on the page and is what their style fills them with.
    assert '"dashArray": "4 3"' in page
    assert '<pattern id="hatch-bdbdbd-404040"' in page
    assert '"fillColor": "url(#hatch-bdbdbd-404040)"' in page


def test_each_shown_ward_is_in_the_class_its_rate_says(page, protected) -> None:
    entries = legend_entries(page)
    bounds = []
    for label, colour in entries.items():
        # "35 to 48 (7 wards)" holds 35 <= rate <= 48; "over 48 to 61 (2 wards)" 48 < rate <= 61.
        ranged = re.fullmatch(r"(over )?([\d.,]+) to ([\d.,]+) \((\d+) wards?\)", label)
        if ranged:
            over, lo, hi, n = ranged.groups()
            low = float(lo.replace(",", ""))
            bounds.append((colour, low + (1e-9 if over else 0), float(hi.replace(",", "")), int(n)))
    assert len(bounds) == 5
    colours = fills(page)
    shown = protected[~protected["suppressed"]]
    for row in shown.itertuples():
        (colour,) = [c for c, lo, hi, _ in bounds if lo <= row.rate_per_km2 <= hi]
        assert colours[row.ward_code] == colour, (row.ward_code, row.rate_per_km2)
    # The numbers of wards the legend gives are the wards so coloured.
    for colour, _, _, n in bounds:
        assert sum(colours[code] == colour for code in shown["ward_code"]) == n


def test_the_tooltip_says_every_figure(page, protected) -> None:
    assert tooltip(page) == {
        "Ward": "ward_name",
        "Borough": "borough_name",
        "Reports": "reports_text",
        "Reports per km²": "rate_text",
        "Reports per 1,000 residents": "per_resident_text",
        "Reports per 1,000 women": "per_woman_text",
        "In the dark": "dark_text",
        "Top categories": "categories_text",
        "Walks held": "walks_text",
        "Walk concerns": "concerns_text",
    }
    hidden = protected[protected["suppressed"]].iloc[0]
    assert said(page, hidden.ward_code, "reports_text") == "fewer than 10 reports (suppressed)"
    assert said(page, hidden.ward_code, "rate_text") == "not shown"
    assert said(page, hidden.ward_code, "dark_text") == "not shown"
    assert said(page, hidden.ward_code, "categories_text") == "not shown"
    shown = protected[~protected["suppressed"] & ~protected["dark_suppressed"]]
    busy = shown.sort_values("count").iloc[-1]
    assert said(page, busy.ward_code, "reports_text") == f"{busy['count']:,}"
    assert said(page, busy.ward_code, "rate_text") == f"{busy.rate_per_km2:,.1f}".removesuffix(".0")
    assert said(page, busy.ward_code, "dark_text") == f"{busy.dark_share:.0%}"
    lines = said(page, busy.ward_code, "categories_text").split("<br>")
    assert lines == [
        f"{getattr(busy, f'top_category_{n}_label')} ({getattr(busy, f'top_category_{n}_count')})"
        for n in (1, 2, 3)
        if getattr(busy, f"top_category_{n}_label")
    ]
    assert lines[0] == f"Poor or no street lighting ({busy.top_category_1_count})"
    walked = protected[~protected["walks_suppressed"]].iloc[0]
    assert said(page, walked.ward_code, "walks_text") == "10"  # 12 walks, as shown
    quiet = protected[protected["walks_suppressed"]].iloc[0]
    assert said(page, quiet.ward_code, "walks_text") == "fewer than 10"
    assert said(page, busy.ward_code, "ward_name") == busy.ward_name
    # Rates per 1,000 from the rounded count shown; none for a suppressed or tiny ward.
    assert said(page, busy.ward_code, "per_resident_text") == (
        f"{busy['count'] / busy.residents * 1000:,.2f}"
    )
    assert said(page, busy.ward_code, "per_woman_text") == f"{busy.reports_per_1000_women:,.2f}"
    assert said(page, hidden.ward_code, "per_resident_text") == "not shown"
    tiny = protected.iloc[-1]
    assert not tiny.suppressed
    assert said(page, tiny.ward_code, "per_resident_text") == "none (too few residents)"


def test_the_panel_echoes_the_filters_and_the_method_note(page) -> None:
    inner = panel(page)
    assert "<h2>Ward summary: reports per km²</h2>" in inner
    assert re.findall(r'<ul class="map-summary-filters">(.*?)</ul>', inner) == [
        "".join(f"<li>{html.escape(f)}</li>" for f in FILTERS)
    ]
    sentences = re.findall(r"<li>(.*?)</li>", inner.split("map-summary-note")[1])
    assert [html.unescape(s) for s in sentences] == NOTE
    assert "<summary>About these figures</summary>" in inner


def test_the_layer_control_and_the_credit_line(page) -> None:
    assert layer_control(page) == {
        "base_layers": [],
        "overlays": ["Reports per km² by ward (pilot-2024)"],
    }
    assert attributions(page) == [html.escape(OGL)]
    assert "<title>Ward summary (pilot-2024) — Walk and Talk Maps</title>" in page


def test_with_tiles_the_base_map_is_offered(protected) -> None:
    page = render(protected, tiles="osm")
    assert layer_control(page)["base_layers"] == ["OpenStreetMap"]


def test_the_offline_page_names_no_other_server(page) -> None:
    assert re.findall(r"https?://[^\s\"'<>\\]+", page) == []


# --- supervisors, and edge cases ------------------------------------------------------------


def test_exact_figures_have_no_suppressed_class(exact) -> None:
    page = render(summary_frame(exact, None), k=None)
    assert not any("suppressed" in label for label in legend_entries(page))
    assert SUPPRESSED_COLOUR not in fills(page).values()
    assert "(exact counts)" in panel(page)
    wards, _ = exact
    few = wards[wards["reports"] < 10].iloc[0]
    assert said(page, few.ward_code, "reports_text") == str(few.reports)


def test_when_every_ward_is_suppressed_the_legend_says_only_that(exact) -> None:
    wards, categories = exact
    quiet = (wards.assign(reports=wards["reports"] % 10, dark=0), categories.iloc[0:0])
    page = render(summary_frame(quiet, DisclosureRule()))
    assert list(legend_entries(page)) == ["suppressed (fewer than 10 reports)"]
    assert set(fills(page).values()) == {SUPPRESSED_COLOUR}


def test_few_shown_wards_get_fewer_classes(protected) -> None:
    # Nine wards shown: about three to a class, so three classes, not five of two.
    few = protected[~protected["suppressed"]].iloc[:9]
    page = render(pd.concat([few, protected[protected["suppressed"]]]))
    labels = list(legend_entries(page))
    assert len(labels) == 3 + 1 and labels[-1] == "suppressed (fewer than 10 reports)"


def test_no_wards_renders_a_page_that_says_so(protected) -> None:
    page = render(protected.iloc[0:0])
    (notice,) = js_string_after(
        page, 'L.DomUtil.create("div", "map-notice");\n                    div.innerHTML ='
    )
    assert notice == "There are no wards in ward set pilot-2024 for these boroughs."
    assert embedded_feature_collections(page) == []
    assert "map-legend" not in page
    assert "Filters" in panel(page)


def test_names_filters_and_notes_are_shown_as_text_not_run(protected) -> None:
    hostile = "</script><script>alert(1)</script>"
    renamed = protected.copy()
    renamed.loc[renamed.index[0], "ward_name"] = "Vauxhall & <b>Kennington</b>"
    page = render(renamed, filters=[hostile], method_note=[hostile], ward_set=hostile)
    assert hostile not in page and "<script>alert(1)" not in page
    code = renamed["ward_code"].iloc[0]
    assert drawn(page)[code]["ward_name"] == "Vauxhall &amp; &lt;b&gt;Kennington&lt;/b&gt;"
    assert html.escape(hostile) in panel(page)


def test_a_frame_missing_a_figure_is_refused(protected) -> None:
    with pytest.raises(ValueError, match=r"lacks column\(s\) rate_per_km2"):
        render(protected.drop(columns="rate_per_km2"))
    with pytest.raises(ValueError, match="has no CRS"):
        render(protected.set_crs(None, allow_override=True))


def test_british_grid_frames_are_reprojected(protected) -> None:
    page = render(protected.to_crs(27700))
    (collection,) = embedded_feature_collections(page)
    ring = collection["features"][0]["geometry"]["coordinates"][0]
    lon, lat = ring[0] if isinstance(ring[0][0], float) else ring[0][0]
    assert -0.16 < lon < -0.03 and 51.40 < lat < 51.51


# --- class breaks --------------------------------------------------------------------------


def test_a_ward_far_above_the_rest_gets_a_class_of_its_own(protected) -> None:
    # Waterloo & South Bank's case: quantiles put it with wards at a fiftieth of its rate.
    skewed = protected.copy()
    top = skewed.loc[~skewed["suppressed"]].index[0]
    skewed.loc[top, "rate_per_km2"] = 2189.0
    page = render(skewed)
    code = skewed.loc[top, "ward_code"]
    colours = fills(page)
    assert colours[code] == RATE_COLOURS[-1]
    assert [c for c in colours.values() if c == RATE_COLOURS[-1]] == [RATE_COLOURS[-1]]
    assert list(legend_entries(page))[-2].endswith(" to 2,189 (1 ward)")
    quantiles = fills(render(skewed, classes="quantiles"))
    assert sum(c == RATE_COLOURS[-1] for c in quantiles.values()) > 1
    assert "Quantiles, 5 classes" in legend_html(render(skewed, classes="quantiles"))


@pytest.mark.parametrize("scheme", ["fisher_jenks", "jenks_caspall", "quantiles", "equal_interval"])
def test_no_class_is_narrower_than_the_rounding_of_a_median_ward(protected, scheme) -> None:
    shown = protected[~protected["suppressed"]]
    step = 5 / float(np.median(shown["area_km2"]))
    classes = rate_classes(
        protected["rate_per_km2"].where(~protected["suppressed"]),
        protected["area_km2"],
        scheme=scheme,
        rounding=5,
    )
    assert classes.step == pytest.approx(step)
    assert (np.diff(classes.edges)[1:] >= step).all(), classes.edges
    # The same wards in tiny 0.2 km² wards: rates known to 25 per km², so fewer classes.
    coarse = rate_classes(
        protected["rate_per_km2"].where(~protected["suppressed"]),
        np.full(len(protected), 0.2),
        scheme=scheme,
        rounding=5,
    )
    assert (np.diff(coarse.edges)[1:] >= 25).all() and len(coarse) <= len(classes)


def test_an_unknown_scheme_is_refused_naming_the_ones_offered(protected) -> None:
    with pytest.raises(ValueError, match="unknown classification scheme 'jenks': use one of"):
        render(protected, classes="jenks")
