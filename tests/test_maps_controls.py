"""The map pages' controls panel (maps.controls), rendered and read back as a browser would."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from typing import Any

import folium
import pytest

from geo.hexagons import HEX_EDGES_M
from geo.reports import TIME_BANDS
from maps.controls import BackLink, ControlsPanel, MapControls, Option, time_band_options
from maps.legend import Legend, LegendEntry
from maps.markup import js_literal
from service.taxonomy import CATEGORIES

BOROUGHS = (
    Option("E09000022", "Lambeth (E09000022)"),
    Option("E09000028", "Southwark (E09000028)"),
)


def controls(query: list[tuple[str, str]], **options: Any) -> MapControls:
    settings: dict[str, Any] = {
        "boroughs": BOROUGHS,
        "categories": [Option(c.slug, c.label) for c in CATEGORIES],
        "time_bands": time_band_options(TIME_BANDS),
        "edges": HEX_EDGES_M,
        "export_path": "/hotspots",
    }
    settings.update(options)
    return MapControls.for_page("/maps/hotspots", query, **settings)


class Form(HTMLParser):
    """The fields of a form as a browser would send them, and its labels and links."""

    def __init__(self) -> None:
        super().__init__()
        self.fields: list[dict[str, str | None]] = []
        self.selects: dict[str, dict[str, Any]] = {}
        self.labels: dict[str, str] = {}
        self.links: list[tuple[str, str]] = []
        self._select: str | None = None
        self._label: str | None = None
        self._link: str | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "input":
            self.fields.append(a)
        elif tag == "select":
            self._select = a["name"]
            self.selects[a["name"] or ""] = {"options": [], "chosen": [], **a}
        elif tag == "option" and self._select:
            self.selects[self._select]["options"].append(a["value"])
            if "selected" in a:
                self.selects[self._select]["chosen"].append(a["value"])
        elif tag == "label" and a.get("for"):
            self._label, self._text = a["for"], []
        elif tag == "a":
            self._link, self._text = a["href"], []

    def handle_endtag(self, tag: str) -> None:
        if tag == "select":
            self._select = None
        elif tag == "label" and self._label:
            self.labels[self._label] = "".join(self._text).strip()
            self._label = None
        elif tag == "a" and self._link is not None:
            self.links.append(("".join(self._text).strip(), self._link))
            self._link = None

    def handle_data(self, data: str) -> None:
        self._text.append(data)

    def sent(self) -> list[tuple[str, str]]:
        """What the form sends as it stands (blanks too; the page's script drops them)."""
        out = []
        for f in self.fields:
            if f.get("type") == "checkbox" and "checked" not in f:
                continue
            out.append((f["name"] or "", f.get("value") or ""))
        for name, select in self.selects.items():
            chosen = select["chosen"]
            if not chosen and "multiple" not in select:
                chosen = select["options"][:1]  # a browser sends a single select's first option
            out.extend((name, v) for v in chosen)
        return out


def parsed(panel: MapControls) -> Form:
    form = Form()
    form.feed(panel.form_html())
    return form


def test_the_form_is_filled_with_the_pages_current_choice() -> None:
    query = [
        ("month_from", "2026-01"),
        ("month_to", "2026-03"),
        ("category", "followed"),
        ("category", "poor_lighting"),
        ("time_band", "evening"),
        ("dark", "true"),
        ("edge", "250"),
        ("borough", "E09000028"),
        ("crimes", "true"),
    ]
    form = parsed(controls(query))
    assert sorted(form.sent()) == sorted(query)
    assert form.selects["time_band"]["options"] == ["", *TIME_BANDS]
    assert form.selects["edge"]["options"] == [str(e) for e in HEX_EDGES_M]
    assert form.selects["borough"]["options"] == ["", "E09000022", "E09000028"]
    # Every field a person fills has a label naming it.
    assert form.labels == {
        "mc-month_from": "From month",
        "mc-month_to": "To month",
        "mc-time_band": "Time of day",
        "mc-edge": "Hexagon size",
        "mc-borough": "Borough",
    }
    # A parameter the panel has no field for rides along hidden, so Update keeps it.
    assert {"type": "hidden", "name": "crimes", "value": "true"} in form.fields


def test_with_no_query_the_defaults_are_shown() -> None:
    form = parsed(controls([]))
    sent = form.sent()
    assert ("edge", "500") in sent  # the routes' default hexagon
    assert ("time_band", "") in sent and ("borough", "") in sent
    assert not [n for n, _ in sent if n in {"dark", "category"}]
    assert "Categories (all)" in controls([]).form_html()
    assert "Categories (2 chosen)" in controls([("category", "a"), ("category", "b")]).form_html()


@pytest.mark.parametrize("edge", ["7", "", "five hundred", "300"])
def test_an_edge_not_offered_shows_the_default(edge: str) -> None:
    assert controls([("edge", edge)]).edge == 500


def test_downloads_carry_the_pages_query_unchanged() -> None:
    query = [("month_from", "2026-01"), ("category", "followed"), ("crimes", "true")]
    links = controls(query).downloads()
    assert [(d.label, d.href) for d in links] == [
        ("GeoJSON", "/hotspots.geojson?month_from=2026-01&category=followed&crimes=true"),
        ("CSV", "/hotspots.csv?month_from=2026-01&category=followed&crimes=true"),
        ("Wide CSV", "/hotspots.csv?month_from=2026-01&category=followed&crimes=true&layout=wide"),
        ("GeoPackage", "/hotspots.gpkg?month_from=2026-01&category=followed&crimes=true"),
        ("PNG", "/maps/hotspots.png?month_from=2026-01&category=followed&crimes=true"),
        ("PDF", "/maps/hotspots.pdf?month_from=2026-01&category=followed&crimes=true"),
    ]
    form = parsed(controls(query))
    assert ("GeoJSON", "/hotspots.geojson?month_from=2026-01&category=followed&crimes=true") in (
        form.links
    )
    assert ("← Home", "/") in form.links
    bare = controls([], export_path=None, printable=False)
    assert bare.downloads() == []
    assert "Download" not in bare.form_html()
    assert [d.href for d in controls([], export_path=None).downloads()] == [
        "/maps/hotspots.png",
        "/maps/hotspots.pdf",
    ]


def test_the_ward_map_panel_offers_the_borough_only() -> None:
    panel = controls(
        [("borough", "E09000022"), ("month_from", "2026-01")],
        categories=(),
        time_bands=(),
        edges=(),
        export_path=None,
        printable=False,
        filters=False,
    )
    form = parsed(panel)
    assert list(form.selects) == ["borough"]
    assert form.selects["borough"]["chosen"] == ["E09000022"]
    # What the ward map does not take is kept as it came, not offered as a field.
    assert {"type": "hidden", "name": "month_from", "value": "2026-01"} in form.fields
    assert not [f for f in form.fields if f.get("type") in {"month", "checkbox"}]


def test_several_boroughs_in_the_url_stay_chosen_and_an_unknown_one_is_shown() -> None:
    form = parsed(controls([("borough", "E09000022"), ("borough", "E09000028")]))
    select = form.selects["borough"]
    assert "multiple" in select and select["chosen"] == ["E09000022", "E09000028"]
    assert select["options"] == ["E09000022", "E09000028"]  # no blank among several
    odd = parsed(controls([("borough", "E09000001")])).selects["borough"]
    assert odd["options"][-1] == "E09000001" and odd["chosen"] == ["E09000001"]


def test_every_value_is_escaped() -> None:
    nasty = '"><script>alert(1)</script>'
    page = controls(
        [("month_from", nasty), ("crimes", nasty), ("borough", nasty)],
        boroughs=[Option("x", nasty)],
    ).form_html()
    assert "<script>" not in page and "&lt;script&gt;" in page
    assert 'value="&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;"' in page


@pytest.mark.parametrize("path", ["//evil.example/x", "https://evil.example", "maps/hotspots"])
def test_only_paths_on_this_site_are_linked(path: str) -> None:
    with pytest.raises(ValueError, match="a path on this site"):
        MapControls(path=path)
    with pytest.raises(ValueError, match="a path on this site"):
        MapControls(path="/maps/hotspots", export_path=path)
    with pytest.raises(ValueError, match="a path on this site"):
        BackLink(path)


def rendered(*boxes: Any) -> str:
    m = folium.Map(tiles=None)
    for box in boxes:
        box.add_to(m)
    return m.get_root().render()


def test_the_panel_and_the_legend_fold_on_a_phone_and_blank_fields_are_left_out() -> None:
    page = rendered(
        ControlsPanel(controls([("month_from", "2026-01")])),
        Legend("Reports per km²", [LegendEntry("1 to 5", "#fee5d9")]),
    )
    # Open on a laptop; a script closes every folding box under 700 px.
    assert page.count(js_literal('<details class="map-fold" open><summary>')[1:-1]) == 2
    assert 'window.matchMedia("(max-width: 700px)")' in page and "phone.matches" in page
    assert js_literal("<summary>Filters and downloads</summary>")[1:-1] in page
    # The legend folds under its own title, so a folded legend still says what it is.
    summary = js_literal('<summary><div class="map-legend-title">Reports per km²</div></summary>')
    assert summary[1:-1] in page
    # The form's blank fields are disabled (so not sent) on submit, and enabled again on Back.
    assert re.search(r'classList\.contains\("map-controls-form"\)', page)
    assert "field.disabled = true" in page and "pageshow" in page


def test_the_back_link_goes_home() -> None:
    page = rendered(BackLink())
    assert js_literal('<a href="/">&larr; Home</a>')[1:-1] in page
    assert '"map-back"' in page
