"""The briefing for a planned walk: the route as the walk map shows it, and what to expect.

Before walking a route with a buddy, often after dark, a ward officer draws it on the planning
page (:func:`render_briefing_planner`, the route-drawing map with a start time and a duration)
and reads the briefing (:func:`render_briefing`): the route coloured per 100 m by what was
reported near it, the earlier walk concerns, reports and crimes as layers over the wards it
crosses, and beside the map a panel that says when it gets light and dark, whether the walk
starts in the dark and how much of it is walked in the dark, what lies within N metres, the
worst stretches, and each earlier concern along the way with its note.

Nothing here computes darkness or counts: the caller passes what ``geo.darkness``,
``geo.routes`` and the exposure query found, and this module only shows it.
"""

from __future__ import annotations

import html
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, cast
from zoneinfo import ZoneInfo

import folium
import geopandas as gpd
import numpy as np
import shapely
from branca.element import Element, Figure
from folium.elements import MacroElement
from folium.template import Template
from shapely.geometry import LineString

from geo.darkness import SunTimes
from geo.grid import to_grid
from maps.legend import Legend, LegendEntry
from maps.markup import js_literal
from maps.page import render_page
from maps.route_edit import route_drawing_map
from maps.routes import EN_DASH, route_map
from maps.tiles import TileSource

__all__ = [
    "BETTER_LIT_COLOUR",
    "BETTER_LIT_LAYER",
    "BRIEFING_TITLE",
    "DEFAULT_MINUTES",
    "MIN_MINUTES",
    "BetterLitWay",
    "render_briefing",
    "render_briefing_planner",
]

LONDON = ZoneInfo("Europe/London")

BETTER_LIT_COLOUR = "#1d70b8"
"""The better-lit way's colour: blue, apart from the route's yellow-to-red stretches."""
BETTER_LIT_LAYER = "Better-lit way"


@dataclass(frozen=True)
class BetterLitWay:
    """The better-lit way between the route's ends, with its figures and the drawn route's.

    ``unlit_share`` is the share (0 to 1) of a way along streets OpenStreetMap does not tag as
    lit; the caller found the way (``service.queries.routing.better_lit_route``).
    """

    line: LineString
    length_m: float
    unlit_share: float
    drawn_length_m: float
    drawn_unlit_share: float

    def summary(self) -> str:
        """One line: "Better-lit way: 1.3 km, 12% unlit (drawn: 1.1 km, 64% unlit)"."""
        return (
            f"Better-lit way: {_distance(self.length_m)}, {_percent(self.unlit_share)} unlit "
            f"(drawn: {_distance(self.drawn_length_m)}, {_percent(self.drawn_unlit_share)} "
            "unlit)"
        )

BRIEFING_TITLE = "Briefing for a planned walk"

DEFAULT_MINUTES = 45
"""The planned duration the planning page offers: a usual walk and talk."""

MIN_MINUTES = 30
"""The shortest walk and talk, as for walks that are booked."""

_PANEL_WIDTH = "24rem"

# The panel sits beside the map on a desk and above it on a phone. Folium styles the map
# by its id, so only !important moves it.
_BRIEFING_CSS = f"""
.briefing {{
  position: absolute; top: 0; left: 0; bottom: 0; width: {_PANEL_WIDTH}; box-sizing: border-box;
  overflow-y: auto; padding: 12px 16px 24px; background: #fff; color: #1a1a1a;
  border-right: 1px solid #bbb; font: 15px/1.45 system-ui, sans-serif;
}}
.briefing h1 {{ font-size: 1.3rem; margin: 0 0 4px; }}
.briefing h2 {{ font-size: 1.05rem; margin: 18px 0 6px; border-top: 1px solid #ddd;
  padding-top: 10px; }}
.briefing dl {{ display: grid; grid-template-columns: max-content 1fr; gap: 2px 14px;
  margin: 0; }}
.briefing dt {{ font-weight: 600; }}
.briefing dd {{ margin: 0; font-variant-numeric: tabular-nums; }}
.briefing ul, .briefing ol {{ margin: 0; padding-left: 1.3rem; }}
.briefing li {{ margin: 3px 0; }}
.briefing .briefing-note {{ white-space: pre-line; color: #333; }}
.briefing .briefing-quiet {{ color: #555; font-size: 0.9rem; }}
.briefing .briefing-dark {{ background: #fdecea; border-left: 4px solid #bd0026;
  padding: 6px 8px; }}
.briefing .briefing-light {{ background: #eef6ee; border-left: 4px solid #2e7d32;
  padding: 6px 8px; }}
.briefing a {{ color: #5b2a86; }}
/* The narrower map wraps the long data credit: keep it clear of the scale bar. */
.leaflet-control-attribution {{ max-width: calc(100% - 150px); }}
.folium-map {{ position: absolute !important; top: 0 !important; bottom: 0 !important;
  left: {_PANEL_WIDTH} !important; right: 0 !important; width: auto !important;
  height: auto !important; }}
@media (max-width: 760px) {{
  .briefing {{ position: static; width: auto; border-right: 0; border-bottom: 1px solid #bbb; }}
  .folium-map {{ position: relative !important; left: 0 !important; width: 100% !important;
    height: 75vh !important; }}
}}
"""


# --- the briefing --------------------------------------------------------------------------


def render_briefing(
    route: LineString,
    *,
    planned_start: datetime,
    planned_end: datetime,
    sun: SunTimes,
    dark_at_start: bool,
    dark_share: float,
    exposure: Mapping[str, Any],
    concerns: gpd.GeoDataFrame,
    reports: gpd.GeoDataFrame,
    crimes: gpd.GeoDataFrame,
    wards: gpd.GeoDataFrame,
    category_labels: Mapping[str, str],
    attribution: str,
    asset_url: str,
    tiles: TileSource | None,
    plan_url: str | None = None,
    title: str = BRIEFING_TITLE,
    better_lit: BetterLitWay | None = None,
    better_lit_note: str | None = None,
) -> str:
    """Render the briefing for a planned route as a standalone HTML page.

    The map is the walk map (``maps.routes.route_map``): stretches coloured by exposure,
    concerns, reports and crimes in layers of their own, the crossed wards outlined, legends,
    layer control and credit. Beside it, a panel (``aside.briefing``) says:

    * the planned date and start and end, in London time (GMT or BST as in force);
    * civil dawn, sunrise, sunset and civil dusk at the route's start on that date;
    * whether it will be dark at the start (and whether it gets dark or light during the walk);
    * the share of the route walked in the dark;
    * how many reports, walk concerns and crimes lie within ``within_m`` of the route, and how
      many of the reports and concerns were about the dark;
    * the worst stretches, and every earlier walk concern in walking order, with its
      categories (as ``category_labels`` names them) and its note;
    * the wards crossed.

    Parameters
    ----------
    route : shapely.LineString
        The planned route, WGS84 lon/lat, as checked by ``geo.routes.check_route``.
    planned_start, planned_end : datetime
        Time-zone-aware start and end of the walk; ``planned_end > planned_start``.
    sun : geo.darkness.SunTimes
        ``geo.darkness.sun_times`` at the route's first point on the start's London date.
    dark_at_start : bool
        ``geo.darkness.is_dark`` at the route's first point and ``planned_start``.
    dark_share : float
        Share of the route's length walked in the dark, 0 to 1 (``geo.routes.darkness_along``).
    exposure : Mapping
        ``service.queries.exposure.route_exposure``'s answer: ``within_m``, ``length_m``,
        ``totals`` (``reports, concerns, crimes``), ``share_in_darkness`` (or None),
        ``segments`` and ``worst_segments`` (stretches with ``from_m, to_m, reports,
        concerns, crimes, total``).
    concerns, reports, crimes, wards : GeoDataFrame
        As for ``maps.routes.render_route_map``.
    category_labels : Mapping of str to str
        The category slugs' labels (``service.taxonomy.LABELS``).
    attribution : str
        Plain-text credit for the data shown.
    asset_url : str
        URL prefix of the service's own Leaflet and plugin files.
    tiles : TileSource or None
        The base map; ``None`` for none.
    plan_url : str, optional
        The planning page, linked as "Plan another route".
    title : str
        The panel's heading and the page's title.
    better_lit : BetterLitWay, optional
        A better-lit way between the route's ends: drawn dashed blue in a layer of its own,
        with a legend, and its figures beside the drawn route's in the panel.
    better_lit_note : str, optional
        Why there is none (e.g. no streets loaded), said in the panel instead.

    Returns
    -------
    str
        The HTML page.

    Raises
    ------
    ValueError
        A time is naive or the end is not after the start; the share is not between 0 and 1;
        ``exposure`` lacks a key; or as ``maps.routes.render_route_map``.

    """
    start, end = _checked_times(planned_start, planned_end)
    if not (isinstance(dark_share, int | float) and 0.0 <= float(dark_share) <= 1.0):
        raise ValueError(f"dark_share must be a share between 0 and 1, not {dark_share!r}")
    missing = [
        key
        for key in ("within_m", "length_m", "totals", "segments", "worst_segments")
        if key not in exposure
    ]
    if missing:
        raise ValueError(f"exposure lacks {', '.join(missing)}; pass route_exposure's answer")
    within_m = float(exposure["within_m"])
    m = route_map(
        route,
        segments=list(exposure["segments"]),
        concerns=concerns,
        reports=reports,
        crimes=crimes,
        wards=wards,
        title=title,
        within_m=within_m,
        attribution=attribution,
        tiles=tiles,
        category_labels=category_labels,
        found=exposure["totals"],
    )
    if better_lit is not None:
        _better_lit_layer(better_lit).add_to(m)
        # The layer list is written where it was added, and names every layer it lists: it
        # moves after the new one, or its script would name a layer not yet made.
        for key, child in list(m._children.items()):
            if isinstance(child, folium.LayerControl):
                del m._children[key]
                m.add_child(child, name=key)
        Legend(
            BETTER_LIT_LAYER,
            [LegendEntry("Dashed blue: between the route's ends", BETTER_LIT_COLOUR)],
            subtitle=better_lit.summary().removeprefix("Better-lit way: "),
        ).add_to(m)
    panel = _panel(
        title=title,
        start=start,
        end=end,
        sun=sun,
        dark_at_start=bool(dark_at_start),
        dark_share=float(dark_share),
        exposure=exposure,
        concerns=_concerns_along(route, concerns),
        ward_names=_ward_names(wards),
        labels=category_labels,
        plan_url=plan_url,
        better_lit=better_lit,
        better_lit_note=better_lit_note,
    )
    root = cast(Figure, m.get_root())
    root.header.add_child(Element(f"<style>{_BRIEFING_CSS}</style>"))
    # First in the body, so a screen reader reads the briefing before the map.
    root.html.add_child(Element(panel), index=0)
    return render_page(m, asset_url=asset_url)


def _panel(
    *,
    title: str,
    start: datetime,
    end: datetime,
    sun: SunTimes,
    dark_at_start: bool,
    dark_share: float,
    exposure: Mapping[str, Any],
    concerns: list[tuple[float, Any]],
    ward_names: list[str],
    labels: Mapping[str, str],
    plan_url: str | None,
    better_lit: BetterLitWay | None = None,
    better_lit_note: str | None = None,
) -> str:
    e = html.escape
    within = f"{float(exposure['within_m']):g} m"
    totals = exposure["totals"]
    parts = [
        f'<aside class="briefing" aria-labelledby="briefing-title">'
        f'<h1 id="briefing-title">{e(title)}</h1>',
        f'<p class="briefing-when">{e(_when(start, end))}</p>',
        f'<p class="briefing-quiet">A {e(_distance(float(exposure["length_m"])))} route. '
        "This briefing is not stored; the route drawn is not kept.</p>",
        '<section aria-labelledby="briefing-light"><h2 id="briefing-light">Light and dark</h2>',
        f'<p class="briefing-quiet">At the start of the route on {e(_day(start))}:</p><dl>',
    ]
    for name, moment in (
        ("Civil dawn", sun.civil_dawn),
        ("Sunrise", sun.sunrise),
        ("Sunset", sun.sunset),
        ("Civil dusk", sun.civil_dusk),
    ):
        parts.append(f"<dt>{name}</dt><dd>{e(_clock(moment))}</dd>")
    parts.append("</dl>")
    verdict = "Yes" if dark_at_start else "No"
    parts.append(
        f'<p class="{"briefing-dark" if dark_at_start else "briefing-light"}">'
        f"<strong>Dark at the start: {verdict}.</strong> {e(_darkness_reason(start, end, sun))}"
        "</p>"
    )
    parts.append(
        f"<p><strong>Walked in the dark: {_percent(dark_share)} of the route</strong> "
        "(at a steady pace from start to end; dark is the sun more than 6° below the "
        "horizon, after civil dusk and before civil dawn).</p></section>"
    )

    if better_lit is not None or better_lit_note:
        parts.append(_better_lit_section(better_lit, better_lit_note))

    parts.append(
        '<section aria-labelledby="briefing-near">'
        f'<h2 id="briefing-near">Within {e(within)} of the route</h2><ul>'
        f"<li>{_count(int(totals['reports']), 'unsafe-place report')}</li>"
        f"<li>{_count(int(totals['concerns']), 'earlier walk concern')}</li>"
        f"<li>{_count(int(totals['crimes']), 'police.uk crime')}</li></ul>"
    )
    share_dark = exposure.get("share_in_darkness")
    if share_dark is not None:
        parts.append(
            f"<p>{_percent(float(share_dark))} of those reports and concerns were about "
            "the dark.</p>"
        )
    parts.append("</section>")

    parts.append(
        '<section aria-labelledby="briefing-worst"><h2 id="briefing-worst">Worst stretches</h2>'
    )
    worst = list(exposure["worst_segments"])
    if worst:
        parts.append("<ol>")
        parts.extend(f"<li>{e(_stretch(s))}</li>" for s in worst)
        parts.append("</ol>")
    else:
        parts.append(f"<p>Nothing reported within {e(within)} of any stretch.</p>")
    parts.append("</section>")

    parts.append(
        '<section aria-labelledby="briefing-concerns">'
        '<h2 id="briefing-concerns">Earlier concerns along the route</h2>'
    )
    if concerns:
        parts.append('<ol class="briefing-concerns">')
        for along, row in concerns:
            note = row.note.strip() if isinstance(row.note, str) and row.note.strip() else ""
            parts.append(
                f"<li><strong>About {e(_distance(along))} along:</strong> "
                f"{e(_labels(row.categories, labels))}"
                + (f'<div class="briefing-note">“{e(note)}”</div>' if note else "")
                + "</li>"
            )
        parts.append("</ol>")
    else:
        parts.append(f"<p>No walk concerns within {e(within)} of the route.</p>")
    parts.append("</section>")

    parts.append(
        '<section aria-labelledby="briefing-wards"><h2 id="briefing-wards">Wards crossed</h2>'
        f"<p>{e(', '.join(ward_names)) if ward_names else 'None of the active wards.'}</p>"
        "</section>"
    )
    if plan_url:
        parts.append(f'<p><a href="{e(plan_url)}">Plan another route</a></p>')
    parts.append("</aside>")
    return "".join(parts)


def _better_lit_section(way: BetterLitWay | None, note: str | None) -> str:
    e = html.escape
    parts = [
        '<section aria-labelledby="briefing-better-lit">'
        '<h2 id="briefing-better-lit">A better-lit way</h2>'
    ]
    if way is None:
        parts.append(f'<p class="briefing-quiet" id="better-lit-none">{e(note or "")}</p>')
    else:
        parts.append(f'<p id="better-lit-summary"><strong>{e(way.summary())}</strong></p>')
        parts.append(
            '<p class="briefing-quiet">Dashed blue on the map: the way along the streets '
            "between the same ends that keeps most to streets OpenStreetMap tags as lit and "
            "away from places reported unsafe. Streets with no lit tag count as unlit. Walk it "
            "first if you suggest it to her.</p>"
        )
    parts.append("</section>")
    return "".join(parts)


def _better_lit_layer(way: BetterLitWay) -> folium.FeatureGroup:
    layer = folium.FeatureGroup(name=html.escape(BETTER_LIT_LAYER))
    points = [(lat, lon) for lon, lat in np.round(shapely.get_coordinates(way.line), 6)]
    # White under the dashes, so the blue reads over the coloured route where they share a
    # street.
    folium.PolyLine(points, color="#ffffff", weight=8, opacity=0.9).add_to(layer)
    folium.PolyLine(
        points,
        color=BETTER_LIT_COLOUR,
        weight=5,
        opacity=1.0,
        dash_array="10 8",
        tooltip=folium.Tooltip(html.escape(way.summary()), sticky=True),
    ).add_to(layer)
    return layer


# --- the planning page ---------------------------------------------------------------------


class _PlanControl(MacroElement):
    """The planning form on the map: start, duration, distance, and Show briefing."""

    _template = Template(
        """
        {% macro header(this, kwargs) %}
        <style>
          .briefing-plan { background: #fff; padding: 8px 10px; border-radius: 6px;
                           box-shadow: 0 1px 4px rgba(0,0,0,.4); font: 15px system-ui,
                           sans-serif; max-width: 300px; }
          .briefing-plan label { display: block; margin: 6px 0 2px; font-weight: 600; }
          .briefing-plan input { font-size: 15px; padding: 4px; min-height: 32px;
                                 box-sizing: border-box; width: 100%; }
          .briefing-plan button { margin-top: 8px; font-size: 15px; padding: 6px 12px;
                                  background: #5b2a86; color: #fff; border: 0;
                                  border-radius: 4px; min-height: 40px; }
          .briefing-plan button:focus-visible,
          .briefing-plan input:focus-visible { outline: 3px solid #ffbf47; }
          .briefing-plan p { margin: 6px 0 0; }
        </style>
        {% endmacro %}
        {% macro script(this, kwargs) %}
        (function () {
          var map = {{ this._parent.get_name() }};
          var drawn = {{ this.drawn }};
          var config = {{ this.config }};
          var Plan = L.Control.extend({
            options: { position: "topright" },
            onAdd: function () {
              var box = L.DomUtil.create("div", "briefing-plan");
              box.innerHTML = {{ this.form_js }};
              L.DomEvent.disableClickPropagation(box);
              L.DomEvent.disableScrollPropagation(box);
              return box;
            }
          });
          map.addControl(new Plan());
          var form = document.getElementById("briefing-form");
          var status = function (text) {
            document.getElementById("briefing-status").textContent = text;
          };
          map.on("draw:created", function (e) {
            drawn.clearLayers(); drawn.addLayer(e.layer);
            status("Line drawn: check the start time, then press Show briefing.");
          });
          map.on("draw:edited", function () { status("Line changed."); });
          map.on("draw:deleted", function () { status("Line removed: draw the route again."); });
          form.addEventListener("submit", function (event) {
            var layers = drawn.getLayers();
            if (!layers.length) {
              event.preventDefault();
              status("Draw the route first (the line tool, top left)."); return;
            }
            // The service measures on the British grid; Leaflet's great-circle metres agree
            // to well under 1 %, enough to catch a slip of the mouse before sending.
            var points = layers[0].getLatLngs(), metres = 0;
            for (var i = 1; i < points.length; i++) {
              metres += points[i - 1].distanceTo(points[i]);
            }
            if (metres < config.minLengthM) {
              event.preventDefault();
              status("The line is " + Math.round(metres) + " m long; a route needs at least " +
                     config.minLengthM + " m. Draw it again, longer.");
              return;
            }
            var shape = layers[0].toGeoJSON();
            if (shape.type === "FeatureCollection") { shape = shape.features[0]; }
            form.elements.route.value = JSON.stringify(shape);
            status("Preparing the briefing…");
          });
        })();
        {% endmacro %}
        """
    )

    def __init__(self, drawn: str, form_html: str, min_length_m: float) -> None:
        super().__init__()
        self._name = "PlanControl"
        self.drawn = drawn
        self.form_js = js_literal(form_html)
        self.config = json.dumps({"minLengthM": float(min_length_m)})


def render_briefing_planner(
    *,
    wards: gpd.GeoDataFrame,
    action_url: str,
    csrf_token: str | None,
    default_start: datetime,
    min_length_m: float,
    title: str,
    attribution: str,
    asset_url: str,
    tiles: TileSource | None,
    within_m: float = 50.0,
) -> str:
    """The planning page: draw the route, set when the walk starts and for how long, and ask.

    The route-drawing map (``maps.route_edit.route_drawing_map``, the line tool only, opened
    on ``wards``) with a form (``form#briefing-form``, posted to ``action_url``): the planned
    start (London time, ``datetime-local``), the duration in minutes (default
    :data:`DEFAULT_MINUTES`, at least :data:`MIN_MINUTES`), the distance to look within, the
    drawn line as GeoJSON text (``route``) and the CSRF token (``csrf_token``). A line
    shorter than ``min_length_m``, or none, is caught on the page before anything is sent.

    Parameters
    ----------
    wards : GeoDataFrame
        Wards to outline and open the map on (the officer's own), EPSG:4326, ``code, name``.
    action_url : str
        Where the form posts, e.g. ``/maps/routes/briefing``.
    csrf_token : str or None
        The signed-in browser's CSRF token (sent in the form).
    default_start : datetime
        Time-zone-aware start offered in the form, shown in London time.
    min_length_m : float
        The shortest route the service takes (``geo.routes.MIN_LENGTH_M``).
    title : str
        The page title.
    attribution : str
        The boundary data's credit.
    asset_url : str
        URL prefix of the service's own Leaflet and plugin files.
    tiles : TileSource or None
        The base map; ``None`` for none.
    within_m : float, default 50
        The distance offered for counting what lies near the route, metres.

    Returns
    -------
    str
        The HTML page.

    Raises
    ------
    ValueError
        If ``default_start`` is naive.

    """
    if default_start.tzinfo is None or default_start.utcoffset() is None:
        raise ValueError(f"default_start {default_start} has no time zone; give an aware time")
    local = default_start.astimezone(LONDON)
    e = html.escape
    form = (
        f'<form id="briefing-form" method="post" action="{e(action_url)}">'
        '<label for="planned-start">Planned start (London time)</label>'
        '<input type="datetime-local" id="planned-start" name="planned_start" required '
        f'value="{local:%Y-%m-%dT%H:%M}">'
        '<label for="minutes">Duration (minutes)</label>'
        f'<input type="number" id="minutes" name="minutes" required min="{MIN_MINUTES}" '
        f'step="5" value="{DEFAULT_MINUTES}">'
        '<label for="within">Look within (metres of the route)</label>'
        f'<input type="number" id="within" name="within" required min="10" max="500" '
        f'step="10" value="{within_m:g}">'
        '<input type="hidden" name="route" value="">'
        + (f'<input type="hidden" name="csrf_token" value="{e(csrf_token)}">' if csrf_token else "")
        + '<button type="submit">Show briefing</button>'
        '<p id="briefing-status" role="status" aria-live="polite">'
        "Draw the route with the line tool (top left), then press Show briefing.</p>"
        "</form>"
    )
    m, drawn = route_drawing_map(
        ward=wards, existing_route=None, title=title, attribution=attribution, tiles=tiles
    )
    _PlanControl(drawn, form, min_length_m).add_to(m)
    return render_page(m, asset_url=asset_url)


# --- what the panel says -------------------------------------------------------------------


def _checked_times(start: object, end: object) -> tuple[datetime, datetime]:
    start = _aware(start, "planned_start")
    end = _aware(end, "planned_end")
    if end <= start:
        raise ValueError(f"planned_end {end} is not after planned_start {start}")
    # In UTC: Python compares and subtracts times in one zone by the wall clock, an hour out
    # across a clock change. London time is for showing only.
    return start.astimezone(UTC), end.astimezone(UTC)


def _aware(value: object, label: str) -> datetime:
    if not isinstance(value, datetime):
        raise ValueError(f"{label} must be a datetime, not {type(value).__name__}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{label} {value} has no time zone; give an aware datetime")
    return value


def _rounded(moment: datetime) -> datetime:
    # Almanacs give times to the nearest minute; so does the briefing.
    return (moment + timedelta(seconds=30)).replace(second=0, microsecond=0)


def _london(moment: datetime) -> datetime:
    """London clock time, rounded to the minute as almanacs give it."""
    return _rounded(moment.astimezone(UTC)).astimezone(LONDON)


def _clock(moment: datetime | None) -> str:
    if moment is None:
        return "not today (the sun does not reach it)"
    return f"{_london(moment):%H:%M}"


def _day(moment: datetime) -> str:
    local = moment.astimezone(LONDON)
    return f"{local:%A} {local.day} {local:%B %Y} ({local.tzname()})"


def _when(start: datetime, end: datetime) -> str:
    first, last = _london(start), _london(end)
    minutes = round((end - start).total_seconds() / 60)
    # A walk over a clock change shows both zones: 01:30 BST-01:15 GMT is 45 minutes.
    first_zone = "" if first.tzname() == last.tzname() else f" {first.tzname()}"
    if first.date() == last.date():
        return (
            f"{first:%A} {first.day} {first:%B %Y}, {first:%H:%M}{first_zone}{EN_DASH}"
            f"{last:%H:%M} {last.tzname()} ({minutes} minutes)"
        )
    return (
        f"{first:%A} {first.day} {first:%B %Y} {first:%H:%M} {first.tzname()} to "
        f"{last:%A} {last.day} {last:%B} {last:%H:%M} {last.tzname()} ({minutes} minutes)"
    )


def _darkness_reason(start: datetime, end: datetime, sun: SunTimes) -> str:
    # Compared in UTC (start and end already are): see _checked_times.
    dawn = sun.civil_dawn.astimezone(UTC) if sun.civil_dawn is not None else None
    dusk = sun.civil_dusk.astimezone(UTC) if sun.civil_dusk is not None else None
    if dusk is not None and start < dusk <= end:
        return f"It gets dark during the walk, at {_clock(dusk)} (civil dusk)."
    if dawn is not None and start < dawn <= end:
        return f"It gets light during the walk, at {_clock(dawn)} (civil dawn)."
    if dusk is not None and start >= dusk:
        return f"It is dark from {_clock(dusk)} (civil dusk)."
    if dawn is not None and start < dawn:
        return f"It is dark until {_clock(dawn)} (civil dawn)."
    if dawn is None and dusk is None:
        return "The sun does not pass 6° below the horizon on this day."
    return f"Light until {_clock(dusk)} (civil dusk)." if dusk is not None else ""


def _percent(share: float) -> str:
    return f"{round(share * 100):d}%"


def _distance(metres: float) -> str:
    if metres >= 1000:
        return f"{metres / 1000:.1f} km"
    return f"{round(metres, -1):.0f} m" if metres >= 10 else f"{metres:.0f} m"


def _count(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _stretch(stretch: Mapping[str, Any]) -> str:
    counts = ", ".join(
        _count(int(stretch[key]), word)
        for key, word in (("reports", "report"), ("concerns", "concern"), ("crimes", "crime"))
    )
    return f"metres {float(stretch['from_m']):.0f}{EN_DASH}{float(stretch['to_m']):.0f}: {counts}"


def _labels(categories: object, labels: Mapping[str, str]) -> str:
    if isinstance(categories, str):
        items: Iterable[object] = [categories]
    elif isinstance(categories, Iterable):
        items = categories
    else:
        items = []
    names = [labels.get(str(c), str(c)) for c in items if c is not None and str(c).strip()]
    return ", ".join(names) or "no category given"


def _ward_names(wards: gpd.GeoDataFrame) -> list[str]:
    if wards.empty:
        return []
    return sorted(dict.fromkeys(str(name) for name in wards["name"]))


def _concerns_along(route: LineString, concerns: gpd.GeoDataFrame) -> list[tuple[float, Any]]:
    """Each concern with the metres along the route nearest it, in walking order."""
    if concerns.empty:
        return []
    frame = concerns if concerns.crs is None or concerns.crs.equals(4326) else concerns.to_crs(4326)
    grid_route = shapely.transform(route, lambda xy: np.column_stack(to_grid().transform(*xy.T)))
    points = shapely.transform(
        np.asarray(frame.geometry.array), lambda xy: np.column_stack(to_grid().transform(*xy.T))
    )
    along = shapely.line_locate_point(grid_route, points)
    rows: Sequence[Any] = list(frame.itertuples(index=False))
    ordered = sorted(zip(along.tolist(), rows, strict=True), key=lambda pair: pair[0])
    return [(float(a), row) for a, row in ordered if math.isfinite(a)]
