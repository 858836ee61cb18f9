"""The route map: one walk route coloured by what was reported along it, 100 m at a time.

Ward officers look at it before and after walking a woman's usual route with her. The route is
drawn as consecutive stretches (as counted by ``service.queries.exposure``), each coloured by how
many published unsafe-place reports, walk concerns and police.uk crimes lie within ``within_m``
metres of it; the reports, concerns and crimes themselves are layers that can be switched on and
off, over thin outlines of the wards the route crosses.

On a walk's own map the concerns noted on that walk are numbered purple markers (a popup says
when each was noted and what was said), apart from earlier walks' concerns (small green dots).
Reports and crimes come in groups with their counts (:mod:`maps.clusters`), so a route with
thousands of them along it stays readable and quick to open on a phone; a title box and the
legends fold to one line each on a phone, and the map opens on the route clear of them.
"""

from __future__ import annotations

import datetime as dt
import html
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.geometry import LineString

from geo.grid import to_grid, to_wgs84
from geo.routes import DRAW_TOLERANCE_M, drawn_route
from maps.attribution import DataAttribution
from maps.clusters import KIND_COLOURS, ClusteredPoints
from maps.control import MapBox
from maps.controls import BackLink
from maps.frames import checked_frame
from maps.legend import LEGEND_CSS, Legend, LegendEntry
from maps.notice import MapNotice
from maps.page import OpeningView, new_map, render_page
from maps.tiles import TileSource

__all__ = [
    "EXPOSURE_COLOURS",
    "NO_EXPOSURE_COLOUR",
    "ExposureClass",
    "exposure_classes",
    "render_route_map",
    "route_map",
]

#: Between the ends of a range ("metres 300-400", "2-3" in the legend), as a typesetter would.
EN_DASH = "\N{EN DASH}"

#: A stretch with nothing reported near it: a neutral grey, not part of the warm scale.
NO_EXPOSURE_COLOUR = "#969696"

#: Stretches with something near them, least to most: ColorBrewer YlOrRd (5 classes) without
#: its palest yellow, which vanishes on a light base map. Sequential in lightness, so the order
#: also reads in greyscale and with the common colour-vision deficiencies.
EXPOSURE_COLOURS = ("#fecc5c", "#fd8d3c", "#f03b20", "#bd0026")

SEGMENT_COLUMNS = ("segment", "from_m", "to_m", "reports", "concerns", "crimes", "total")
WARD_COLUMNS = ("code", "name")
REPORT_COLUMNS = ("categories", "is_dark")
CONCERN_COLUMNS = ("categories", "note")
WALK_CONCERN_COLUMNS = ("number", "categories", "note", "at", "status")
CRIME_COLUMNS = ("crime_type", "month")

ROUTE_LAYER = "Route: reports, concerns and crimes per 100 m"
REPORTS_LAYER = "Unsafe-place reports"
CONCERNS_LAYER = "Walk concerns"
#: On a walk's own map: the concerns noted on it, and those of the walks before it.
WALK_CONCERNS_LAYER = "This walk's concerns"
EARLIER_CONCERNS_LAYER = "Earlier walk concerns"
CRIMES_LAYER = "Police.uk crimes"
WARDS_LAYER = "Wards"

# Marker styles, told apart by colour, size, shape and outline, and kept off the route's warm
# scale: Okabe-Ito blue reports and bluish green concerns, black crimes (maps.clusters), and
# this walk's own concerns in purple.
_CONCERN_STYLE: dict[str, Any] = {
    "radius": 6,
    "color": "#00402d",
    "weight": 2,
    "fill": True,
    "fill_color": "#009e73",
    "fill_opacity": 0.85,
}
# An earlier walk's concern along a stretch: a thin dashed line in the same green.
_CONCERN_LINE: dict[str, Any] = {
    "color": "#009e73",
    "weight": 4,
    "opacity": 0.9,
    "dash_array": "6 6",
}
# This walk's concerns: numbered dark purple discs (white numbers, 10:1), above every other
# marker, and their stretches a purple line on a white casing over the route. Purple is on
# neither the route's warm scale nor the markers' blue, green and black.
WALK_CONCERN_COLOUR = "#542788"
_WALK_CONCERN_LINE: dict[str, Any] = {"color": WALK_CONCERN_COLOUR, "weight": 5, "opacity": 1.0}
_WALK_CONCERN_CASING: dict[str, Any] = {"color": "#ffffff", "weight": 10, "opacity": 0.9}
_WALK_CONCERN_SIZE = 30
CRIME_COLOUR = KIND_COLOURS["crime"]

LONDON = ZoneInfo("Europe/London")
_STATUS_WORDS = {
    "pending": "Awaiting moderation: not yet on the public maps.",
    "hidden": "Hidden by a moderator: not on the public maps.",
}

# The numbered markers, the title box and the legend's marker symbols.
_MARKS_CSS = f"""
.leaflet-marker-icon.walk-concern-here {{ display: flex; align-items: center;
  justify-content: center; background: {WALK_CONCERN_COLOUR}; color: #ffffff;
  font: bold 15px/1 sans-serif;
  border: 3px solid #ffffff; border-radius: 50%; box-sizing: border-box;
  box-shadow: 0 1px 5px rgba(0, 0, 0, 0.6); }}
.walk-concern-here:focus-visible {{ outline: 3px solid #c05800; outline-offset: 2px; }}
.map-legend .map-symbol {{ display: inline-block; flex: none; width: 16px; height: 16px;
  box-sizing: border-box; }}
.map-symbol.sym-walk {{ width: 20px; height: 20px; border-radius: 50%; color: #ffffff;
  background: {WALK_CONCERN_COLOUR}; font: bold 11px/20px sans-serif; text-align: center; }}
.map-symbol.sym-dot {{ border-radius: 50%; border: 2px solid #ffffff;
  box-shadow: 0 0 0 1px #555555; width: 14px; height: 14px; }}
.map-symbol.sym-group {{ width: 20px; height: 20px; border-radius: 50%; color: #ffffff;
  font: bold 10px/20px sans-serif; text-align: center; }}
.map-symbol.sym-square {{ width: 11px; height: 11px; margin: 0 2px; }}
.map-symbol.sym-group.sym-square {{ width: 20px; height: 20px; margin: 0; border-radius: 3px; }}
.map-legend-note {{ color: #333333; margin-top: 4px; max-width: 260px; }}
.map-title {{ background: rgba(255, 255, 255, 0.96); padding: 6px 10px; border-radius: 4px;
  box-shadow: 0 1px 4px rgba(0, 0, 0, 0.3); font: 13px/1.4 sans-serif; color: #1a1a1a;
  max-width: min(330px, calc(100vw - 90px)); }}
.map-title h1 {{ font: bold 15px/1.3 sans-serif; margin: 0; display: inline; color: #1a1a1a; }}
.map-title p {{ margin: 4px 0 0; }}
"""

_ROUTE_WEIGHT = 6
# A dark line under the stretches, so the pale first class still stands out on any base map.
_CASING = {"color": "#333333", "weight": _ROUTE_WEIGHT + 3, "opacity": 0.8}

# Stretch ends come rounded to 0.1 m, and PostGIS and pyproj may measure the line a hair apart.
_LENGTH_TOLERANCE_M = 1.0


@dataclass(frozen=True)
class ExposureClass:
    """One colour of the route: stretches with ``low`` to ``high`` things near them."""

    low: int
    high: int
    colour: str

    @property
    def label(self) -> str:
        """The legend text: ``"0 (nothing reported)"``, ``"1"``, or a range (en dash) like 2-3."""
        if self.high == 0:
            return "0 (nothing reported)"
        if self.low == self.high:
            return str(self.low)
        return f"{self.low}{EN_DASH}{self.high}"

    def holds(self, total: int) -> bool:
        """Whether a stretch with ``total`` things near it is in this class."""
        return self.low <= total <= self.high


def exposure_classes(max_total: int) -> list[ExposureClass]:
    """The route's colour classes for a route whose busiest stretch has ``max_total``.

    Zero is its own neutral class. The counts from 1 to ``max(max_total, 4)`` are split into four
    ranges of (nearly) equal width, so the four warm colours are always all in the legend and a
    count always keeps its colour as long as the busiest stretch does.

    Examples
    --------
    >>> [c.label for c in exposure_classes(2)]
    ['0 (nothing reported)', '1', '2', '3', '4']
    >>> [(c.low, c.high) for c in exposure_classes(10)]
    [(0, 0), (1, 3), (4, 5), (6, 8), (9, 10)]

    """
    top = max(int(max_total), len(EXPOSURE_COLOURS))
    steps = len(EXPOSURE_COLOURS)
    # With top >= steps, each upper bound is at least one above the one before.
    highs = [math.ceil(top * k / steps) for k in range(1, steps + 1)]
    lows = [1, *(h + 1 for h in highs[:-1])]
    return [
        ExposureClass(0, 0, NO_EXPOSURE_COLOUR),
        *(
            ExposureClass(low, high, colour)
            for low, high, colour in zip(lows, highs, EXPOSURE_COLOURS, strict=True)
        ),
    ]


def render_route_map(
    route: LineString,
    *,
    segments: list[dict[str, Any]],
    concerns: gpd.GeoDataFrame,
    reports: gpd.GeoDataFrame,
    crimes: gpd.GeoDataFrame,
    wards: gpd.GeoDataFrame,
    title: str,
    within_m: float,
    attribution: str,
    asset_url: str,
    tiles: TileSource | None,
    notes: list[str] | None = None,
    found: Mapping[str, int] | None = None,
    walk_concerns: gpd.GeoDataFrame | None = None,
    back: tuple[str, str] = ("/", "Home"),
    category_labels: Mapping[str, str] | None = None,
) -> str:
    """Render a walk route and what was reported along it as a standalone HTML page.

    The page shows the route cut into its stretches, each coloured by its ``total`` (see
    :func:`exposure_classes`) with e.g. "metres 300-400: 2 reports, 1 concern, 5 crimes" (an en
    dash in the range) on hover; the walk's own concerns, if given, as numbered purple markers
    whose popup says when each was noted and what was said; other walks' concerns as small
    green dots; the reports (blue) and crimes (dark squares) in groups with their counts that
    open as one zooms in; the outlines of the wards given, with their names on hover; a title
    box, a legend of the colours and one of the markers (each folded on a phone); a layer
    control; the data credit; a link back; and each of ``notes`` in a box on the map. It opens
    fitted to the route and the walk's concerns.

    Parameters
    ----------
    route : shapely.LineString
        The route as shown (trimmed, if the viewer may only see it trimmed), WGS84 lon/lat.
    segments : list of dict
        The stretches in walking order, with keys ``segment, from_m, to_m, reports, concerns,
        crimes, total``; ``from_m``/``to_m`` are metres along ``route`` on the British
        National Grid (as ``service.queries.exposure.route_exposure`` gives them).
    concerns : GeoDataFrame
        Walk concerns near the route (other walks' ones where ``walk_concerns`` is given):
        ``categories`` (list of str), ``note`` (str or None), Point geometry; optionally
        ``line`` (WKT of the stretch a concern was raised along, or None).
    reports : GeoDataFrame
        Published unsafe-place reports: ``categories`` (list of str), ``is_dark`` (bool),
        Point geometry.
    crimes : GeoDataFrame
        Police.uk crimes: ``crime_type`` (str), ``month`` (date or "YYYY-MM"), Point geometry.
        Of each of these three, a caller may send only the most recent (too many to draw one
        by one), and say in ``found`` how many there were.
    wards : GeoDataFrame
        The wards to outline (those the route crosses): ``code``, ``name``, polygon geometry.
    title : str
        The page's title, plain text, e.g. ``"Route 12, walked 3 March"``.
    within_m : float
        The distance the counts were taken within, for the legend.
    attribution : str
        Plain-text credit for the data shown (boundaries, police.uk crimes).
    asset_url : str
        URL prefix the service serves Leaflet and the other assets under.
    tiles : TileSource or None
        The base map; ``None`` for none.
    notes : list of str, optional
        Plain-text remarks shown on the map, e.g. ``"Route trimmed: both ends hidden"``.
    found : Mapping of str to int, optional
        How many ``reports``, ``concerns`` and ``crimes`` lie within reach. Where a frame holds
        fewer, its layer says "N of M" and the marker legend says the markers are the N most
        recent.
    walk_concerns : GeoDataFrame, optional
        The concerns noted on this walk, wherever they lie: ``number``, ``categories``,
        ``note``, ``at`` (when noted, a timezone-aware time or None), ``status``
        (``published``, ``pending``, ``hidden``), Point geometry, and optionally ``line`` as
        for ``concerns``. Given (even empty), the page is a walk's own map: ``concerns``
        become "Earlier walk concerns". None (a route being planned): just "Walk concerns".
    back : (str, str)
        Where the link back goes (a path on this site) and what it says.
    category_labels : Mapping of str to str, optional
        What each category slug reads as (as :func:`route_map`).

    Returns
    -------
    str
        The HTML page.

    Raises
    ------
    ValueError
        The route is not a non-empty LineString; there are no segments, a segment lacks a
        key or runs past the route's end; a frame lacks a column, has no CRS while holding
        rows, or has a missing geometry; ``back`` is not a path on this site.

    """
    m = route_map(
        route,
        segments=segments,
        concerns=concerns,
        reports=reports,
        crimes=crimes,
        wards=wards,
        title=title,
        within_m=within_m,
        attribution=attribution,
        tiles=tiles,
        notes=notes,
        found=found,
        walk_concerns=walk_concerns,
        back=back,
        category_labels=category_labels,
        heading=True,
    )
    return render_page(m, asset_url=asset_url)


def route_map(
    route: LineString,
    *,
    segments: list[dict[str, Any]],
    concerns: gpd.GeoDataFrame,
    reports: gpd.GeoDataFrame,
    crimes: gpd.GeoDataFrame,
    wards: gpd.GeoDataFrame,
    title: str,
    within_m: float,
    attribution: str,
    tiles: TileSource | None,
    notes: list[str] | None = None,
    category_labels: Mapping[str, str] | None = None,
    found: Mapping[str, int] | None = None,
    walk_concerns: gpd.GeoDataFrame | None = None,
    back: tuple[str, str] = ("/", "Home"),
    heading: bool = False,
) -> folium.Map:
    """The map of :func:`render_route_map`, not yet rendered, for pages that add to it.

    Parameters are those of :func:`render_route_map` (less ``asset_url``: render the result
    with :func:`maps.page.render_page`), and:

    category_labels : Mapping of str to str, optional
        What each category slug reads as in the marker tooltips (e.g. ``poor_lighting`` ->
        "Poor or no street lighting"); slugs not in it, or all without it, show as given.
    heading : bool
        Whether to put ``title`` on the map as its heading, in a box that folds on a phone
        (the briefing page, which has a panel of its own, leaves it out).

    Returns
    -------
    folium.Map
        The map with its layers, legends, notes, credit and layer control.

    Raises
    ------
    ValueError
        As :func:`render_route_map`.

    """
    labels = dict(category_labels or {})
    line = _checked_route(route)
    stretches = _checked_segments(segments)
    report_frame = _checked_points(reports, REPORT_COLUMNS, "reports")
    concern_frame = _checked_points(concerns, CONCERN_COLUMNS, "concerns")
    crime_frame = _checked_points(crimes, CRIME_COLUMNS, "crimes")
    ward_frame = _checked_wards(wards)
    own = (
        None
        if walk_concerns is None
        else _checked_points(walk_concerns, WALK_CONCERN_COLUMNS, "walk_concerns")
    )

    m = new_map(title=f"{title} — Walk and Talk Maps", tiles=tiles)
    m.get_root().header.add_child(  # type: ignore[attr-defined]
        folium.Element(f"<style>{_MARKS_CSS}</style>"), name="walk_marks_css"
    )
    # The way back: a map page fills the window and has no other link.
    BackLink(*back).add_to(m)

    if not ward_frame.empty:
        _ward_layer(ward_frame).add_to(m)
    classes = exposure_classes(max(int(s["total"]) for s in stretches))
    _route_layer(line, stretches, classes).add_to(m)

    counted = {
        key: max(int((found or {}).get(key, len(frame))), len(frame))
        for key, frame in (
            ("reports", report_frame),
            ("concerns", concern_frame),
            ("crimes", crime_frame),
        )
    }
    shown = {
        "reports": len(report_frame),
        "concerns": len(concern_frame),
        "crimes": len(crime_frame),
    }
    concern_name = CONCERNS_LAYER if own is None else EARLIER_CONCERNS_LAYER
    names = {
        "reports": f"{REPORTS_LAYER} ({_shown(shown['reports'], counted['reports'])})",
        "concerns": f"{concern_name} ({_shown(shown['concerns'], counted['concerns'])})",
        "crimes": f"{CRIMES_LAYER} ({_shown(shown['crimes'], counted['crimes'])})",
    }
    ClusteredPoints(
        (
            (point.y, point.x, _report_text(row, labels))
            for row, point in zip(report_frame.itertuples(index=False), report_frame.geometry,
                                  strict=True)
        ),
        kind="report",
        name=names["reports"],
    ).add_to(m)
    _concern_layer(concern_frame, names["concerns"], labels).add_to(m)
    ClusteredPoints(
        (
            (point.y, point.x, _crime_text(row))
            for row, point in zip(crime_frame.itertuples(index=False), crime_frame.geometry,
                                  strict=True)
        ),
        kind="crime",
        name=names["crimes"],
    ).add_to(m)
    if own is not None:
        _walk_concern_layer(own, f"{WALK_CONCERNS_LAYER} ({len(own):,})", labels).add_to(m)

    capped = [
        f"Markers show the {shown[key]:,} most recent of the {counted[key]:,} {word} within "
        f"{within_m:g} m; the route's colours count them all."
        for key, word in (
            ("reports", "reports"),
            ("concerns", "walk concerns" if own is None else "earlier walk concerns"),
            ("crimes", "crimes"),
        )
        if shown[key] < counted[key]
    ]
    if heading:
        _TitleBox(title, _title_text(own, counted, within_m)).add_to(m)
    Legend(
        "Reports, concerns and crimes per 100 m",
        [LegendEntry(c.label, c.colour) for c in classes],
        subtitle=f"Within {within_m:g} m of the route",
    ).add_to(m)
    _MarkerLegend(_marker_key(own, names, concern_name), capped).add_to(m)
    for note in notes or ():
        MapNotice(note).add_to(m)

    OpeningView(_opening_bounds(line, own)).add_to(m)
    DataAttribution(attribution).add_to(m)
    folium.LayerControl(collapsed=False).add_to(m)
    return m


def _shown(shown: int, counted: int) -> str:
    return f"{shown:,}" if shown >= counted else f"{shown:,} of {counted:,}"


def _opening_bounds(line: LineString, own: gpd.GeoDataFrame | None) -> tuple[float, ...]:
    """The route's bounds, widened to this walk's concerns (one may lie off the route)."""
    if own is None or own.empty:
        return tuple(line.bounds)
    west, south, east, north = own.to_crs(4326).total_bounds
    r_west, r_south, r_east, r_north = line.bounds
    return (
        min(west, r_west),
        min(south, r_south),
        max(east, r_east),
        max(north, r_north),
    )


def _title_text(
    own: gpd.GeoDataFrame | None, counted: Mapping[str, int], within_m: float
) -> str:
    """The title box's sentence: what lies along the route, and how to read the markers."""
    near = (
        f"Within {within_m:g} m of the route: {_count(counted['reports'], 'unsafe-place report')}"
        f", {_count(counted['concerns'], 'earlier walk concern' if own is not None else 'walk concern')}"  # noqa: E501
        f" and {_count(counted['crimes'], 'police.uk crime')}."
    )
    if own is None:
        return near
    if own.empty:
        return f"No concerns were noted on this walk. {near}"
    return (
        f"{_count(len(own), 'concern')} noted on this walk: the purple numbers (select one for "
        f"its time and note). {near} Select a group to zoom in."
    )


class _TitleBox(MapBox):
    """The map's heading and what it shows, top left; folded to the heading on a phone."""

    fold = "Title"

    def __init__(self, title: str, text: str) -> None:
        self.title = title
        self.text = text
        super().__init__(name="TitleBox", css_class="map-title", css="", position="topleft")

    def inner_html(self) -> str:
        """The heading and its sentence, escaped."""
        summary, rest = self.fold_parts()
        return summary + rest

    def fold_parts(self) -> tuple[str, str]:
        """The heading is the summary a phone shows; the sentence folds under it."""
        return f"<h1>{html.escape(self.title)}</h1>", f"<p>{html.escape(self.text)}</p>"


@dataclass(frozen=True)
class _KeyLine:
    """One line of the marker legend: a symbol (HTML, trusted) and its words (plain text)."""

    symbol: str
    label: str


class _MarkerLegend(Legend):
    """The "Markers" legend: each marker's symbol as drawn, its layer's count, any cap."""

    def __init__(self, lines: Sequence[_KeyLine], notes: Sequence[str]) -> None:
        self.lines = tuple(lines)
        self.notes = tuple(notes)
        super().__init__("Markers", [])
        self.css = LEGEND_CSS + self.css.removeprefix(LEGEND_CSS)

    def fold_parts(self) -> tuple[str, str]:
        """The title, then a line per symbol and the notes on markers left out."""
        title = f'<div class="map-legend-title">{html.escape(self.title)}</div>'
        items = "".join(
            f'<li>{line.symbol}<span>{html.escape(line.label)}</span></li>' for line in self.lines
        )
        notes = "".join(
            f'<div class="map-legend-note">{html.escape(note)}</div>' for note in self.notes
        )
        return title, f"<ul>{items}</ul>{notes}"


def _symbol(kind: str, colour: str, text: str = "") -> str:
    # aria-hidden: the words beside the symbol say what it is.
    return (
        f'<span class="map-symbol {kind}" style="background:{colour}" aria-hidden="true">'
        f"{html.escape(text)}</span>"
    )


def _marker_key(
    own: gpd.GeoDataFrame | None, names: Mapping[str, str], concern_name: str
) -> list[_KeyLine]:
    report, crime = KIND_COLOURS["report"], KIND_COLOURS["crime"]
    lines = []
    if own is not None:
        lines.append(
            _KeyLine(
                _symbol("sym-walk", WALK_CONCERN_COLOUR, "1"),
                f"{WALK_CONCERNS_LAYER} ({len(own):,}), numbered in the order noted; "
                "a concern along a stretch is also a purple line",
            )
        )
    lines += [
        _KeyLine(
            _symbol("sym-dot", str(_CONCERN_STYLE["fill_color"])),
            f"{names['concerns']}; "
            "along a stretch: a dashed green line",
        ),
        _KeyLine(_symbol("sym-dot", report), names["reports"]),
        _KeyLine(_symbol("sym-group", report, "12"), "A group of reports: select to zoom in"),
        _KeyLine(
            _symbol("sym-square", crime),
            f"{names['crimes']}, at police.uk's anonymised map points, not exact places",
        ),
        _KeyLine(_symbol("sym-group sym-square", crime, "12"), "A group of crimes"),
    ]
    return lines


# --- checking the inputs -------------------------------------------------------------------


def _checked_route(route: object) -> LineString:
    if not isinstance(route, LineString):
        raise ValueError(f"route must be a shapely LineString, not {type(route).__name__}")
    if route.is_empty or len(route.coords) < 2:
        raise ValueError("route is empty; it needs at least two points")
    return route


def _checked_segments(segments: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    if not segments:
        raise ValueError("no segments: a route's exposure has at least one 100 m stretch")
    for i, segment in enumerate(segments):
        missing = [k for k in SEGMENT_COLUMNS if k not in segment]
        if missing:
            raise ValueError(
                f"segment {i} lacks {', '.join(missing)}; each needs {', '.join(SEGMENT_COLUMNS)}"
            )
    return list(segments)


def _checked_points(frame: gpd.GeoDataFrame, columns: Sequence[str], what: str) -> gpd.GeoDataFrame:
    frame = checked_frame(frame, columns, what)
    if not frame.empty and not frame.geom_type.eq("Point").all():
        raise ValueError(f"{what} geometries must be points")
    return frame


def _checked_wards(wards: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    frame = checked_frame(wards, WARD_COLUMNS, "wards")
    if not frame.empty and not frame.geom_type.isin(["Polygon", "MultiPolygon"]).all():
        raise ValueError("ward geometries must be polygons")
    return frame


# --- layers --------------------------------------------------------------------------------


def _route_layer(
    line: LineString, stretches: Sequence[Mapping[str, Any]], classes: Sequence[ExposureClass]
) -> folium.FeatureGroup:
    layer = folium.FeatureGroup(name=html.escape(ROUTE_LAYER))
    # Drawn simplified (the stretches too, in _cut): a recording's every-metre points would
    # weigh megabytes and look the same.
    whole = [(lat, lon) for lon, lat in np.round(shapely.get_coordinates(drawn_route(line)), 6)]
    folium.PolyLine(whole, **_CASING).add_to(layer)
    for stretch, piece in zip(stretches, _cut(line, stretches), strict=True):
        total = int(stretch["total"])
        colour = next(c.colour for c in classes if c.holds(total))
        folium.PolyLine(
            [(lat, lon) for lon, lat in piece],
            color=colour,
            weight=_ROUTE_WEIGHT,
            opacity=1.0,
            tooltip=folium.Tooltip(_template_safe(_stretch_text(stretch)), sticky=True),
        ).add_to(layer)
    return layer


def _cut(line: LineString, stretches: Sequence[Mapping[str, Any]]) -> list[np.ndarray]:
    """Each stretch's piece of the line as lon/lat arrays, to be drawn.

    Cut on the British National Grid at the stretch's metres along the line itself, then
    simplified to :data:`geo.routes.DRAW_TOLERANCE_M` (a simplified line is shorter than the
    route, so it cannot be cut at the route's metres).
    """
    grid_xy = np.column_stack(to_grid().transform(*shapely.get_coordinates(line).T))
    along = np.concatenate([[0.0], np.cumsum(np.hypot(*np.diff(grid_xy, axis=0).T))])
    length = float(along[-1])
    pieces = []
    for i, stretch in enumerate(stretches):
        start, end = float(stretch["from_m"]), float(stretch["to_m"])
        if not 0 <= start <= end or start >= length + _LENGTH_TOLERANCE_M:
            raise ValueError(
                f"segment {i} ({start:g} m to {end:g} m) does not lie on the {length:.1f} m route"
            )
        if end > length + _LENGTH_TOLERANCE_M:
            raise ValueError(
                f"segment {i} ends at {end:g} m, past the end of the {length:.1f} m route"
            )
        xy = _piece(grid_xy, along, min(start, length), min(end, length))
        lonlat = np.column_stack(to_wgs84().transform(*xy.T))
        pieces.append(np.round(lonlat, 6))
    return pieces


def _piece(grid_xy: np.ndarray, along: np.ndarray, start: float, end: float) -> np.ndarray:
    """The line from ``start`` to ``end`` metres along it, simplified, as grid x, y rows.

    The same cut as shapely's ``substring``, found by binary search rather than a walk from
    the line's start (which, once per stretch, is quadratic in a long recording's points).
    """
    ends = np.column_stack(
        [
            np.interp([start, end], along, grid_xy[:, 0]),
            np.interp([start, end], along, grid_xy[:, 1]),
        ]
    )
    inside = grid_xy[np.searchsorted(along, start, "right") : np.searchsorted(along, end, "left")]
    xy = np.vstack([ends[:1], inside, ends[1:]])
    if start == end:  # a zero-length stretch: still drawn, as a dot
        return xy[[0, -1]]
    simplified = shapely.simplify(LineString(xy), DRAW_TOLERANCE_M, preserve_topology=False)
    return shapely.get_coordinates(simplified)


def _concern_layer(
    frame: gpd.GeoDataFrame, name: str, labels: Mapping[str, str]
) -> folium.FeatureGroup:
    """Walks' concerns as small green dots; one along a stretch also as a dashed line."""
    layer = folium.FeatureGroup(name=html.escape(name))
    for row, point in zip(frame.itertuples(index=False), frame.geometry, strict=True):
        tip = _template_safe(_concern_text(row, labels))
        stretch = _stretch_of(row)
        if stretch is not None:
            folium.PolyLine(
                stretch, tooltip=folium.Tooltip(tip, sticky=True), **_CONCERN_LINE
            ).add_to(layer)
        folium.CircleMarker(
            location=(round(point.y, 6), round(point.x, 6)),
            tooltip=folium.Tooltip(tip, sticky=True),
            **_CONCERN_STYLE,
        ).add_to(layer)
    return layer


def _walk_concern_layer(
    frame: gpd.GeoDataFrame, name: str, labels: Mapping[str, str]
) -> folium.FeatureGroup:
    """The walk's own concerns: numbered purple discs with a popup; stretches as purple lines."""
    layer = folium.FeatureGroup(name=html.escape(name, quote=False))
    frame = frame.to_crs(4326) if frame.crs is not None else frame
    for row, point in zip(frame.itertuples(index=False), frame.geometry, strict=True):
        number = int(row.number)
        tip = _template_safe(f"Concern {number}: {_categories(row.categories, labels)}")
        stretch = _stretch_of(row)
        if stretch is not None:
            folium.PolyLine(stretch, **_WALK_CONCERN_CASING).add_to(layer)
            folium.PolyLine(
                stretch, tooltip=folium.Tooltip(tip, sticky=True), **_WALK_CONCERN_LINE
            ).add_to(layer)
        size = _WALK_CONCERN_SIZE
        folium.Marker(
            location=(round(point.y, 6), round(point.x, 6)),
            icon=folium.DivIcon(
                # The number for the eye; the words for a screen reader (the marker is a button).
                html=f'{number}<span class="walk-visually-hidden"> This walk\'s concern</span>',
                icon_size=(size, size),
                icon_anchor=(size // 2, size // 2),
                class_name="walk-concern-here",
            ),
            tooltip=folium.Tooltip(tip, sticky=True),
            popup=folium.Popup(
                _walk_concern_popup(row, labels),
                max_width=280,
                # Clear of the link, title box and zoom buttons stacked top left.
                auto_pan_padding_top_left=(60, 180),
            ),
            # Above the groups of reports and crimes, whose markers share the pane.
            z_index_offset=1000,
        ).add_to(layer)
    return layer


def _stretch_of(row: Any) -> list[tuple[float, float]] | None:
    """A concern's stretch as (lat, lon) pairs, or None for a concern at a point."""
    wkt = getattr(row, "line", None)
    if not isinstance(wkt, str) or not wkt.strip():
        return None
    line = shapely.from_wkt(wkt)
    if not isinstance(line, LineString) or line.is_empty:
        return None
    return [(round(lat, 6), round(lon, 6)) for lon, lat in line.coords]


def _ward_layer(frame: gpd.GeoDataFrame) -> folium.GeoJson:
    shown = gpd.GeoDataFrame(
        {
            # Folium's tooltip puts property values in with innerHTML.
            "code": frame["code"].astype(str).map(lambda s: html.escape(s, quote=False)).array,
            "name": frame["name"].astype(str).map(lambda s: html.escape(s, quote=False)).array,
        },
        geometry=shapely.transform(frame.geometry.array, lambda xy: np.round(xy, 6)),
        crs=frame.crs,
    )
    return folium.GeoJson(
        shown,
        name=WARDS_LAYER,
        style_function=lambda feature: {
            "fill": False,
            "color": "#555555",
            "weight": 1.5,
            "dashArray": "4 4",
        },
        zoom_on_click=False,
        tooltip=folium.GeoJsonTooltip(fields=["name"], aliases=["Ward"], sticky=True),
    )


# --- what the tooltips say -----------------------------------------------------------------


def _stretch_text(stretch: Mapping[str, Any]) -> str:
    counts = ", ".join(
        _count(int(stretch[key]), word)
        for key, word in (("reports", "report"), ("concerns", "concern"), ("crimes", "crime"))
    )
    return f"metres {float(stretch['from_m']):.0f}{EN_DASH}{float(stretch['to_m']):.0f}: {counts}"


def _report_text(row: Any, labels: Mapping[str, str]) -> str:
    text = f"Unsafe-place report: {_categories(row.categories, labels)}"
    if _is_true(row.is_dark):
        text += " (after dark)"
    return text


def _concern_text(row: Any, labels: Mapping[str, str]) -> str:
    text = f"Walk concern: {_categories(row.categories, labels)}"
    if isinstance(row.note, str) and row.note.strip():
        text += f" — “{row.note.strip()}”"
    # When it was noted, where the frame says (an officer weighs an old concern differently).
    noted = _london_day(getattr(row, "at", None))
    if noted:
        text += f" (noted {noted})"
    return text


def _london_day(value: object) -> str:
    """A time's day as London reads it, e.g. "1 October 2026"; "" if there is none."""
    if isinstance(value, pd.Timestamp):
        value = None if pd.isna(value) else value.to_pydatetime()
    if not isinstance(value, dt.datetime) or value.tzinfo is None:
        return ""
    return value.astimezone(LONDON).strftime("%-d %B %Y")


def _walk_concern_popup(row: Any, labels: Mapping[str, str]) -> str:
    """The popup of one of this walk's concerns, as HTML safe in Folium's template literal."""
    parts = [
        f"<strong>Concern {int(row.number)}</strong>, noted {_london(row.at)}",
        _categories(row.categories, labels),
    ]
    if isinstance(row.note, str) and row.note.strip():
        parts.append(f"“{row.note.strip()}”")
    if _plain(row.status) in _STATUS_WORDS:
        parts.append(_STATUS_WORDS[_plain(row.status)])
    first, *rest = parts
    return "<br>".join([first, *(_template_safe(p) for p in rest)])


def _london(value: object) -> str:
    """A time as London reads it, e.g. "1 December 2026, 17:12"; "time not known" if none."""
    if isinstance(value, pd.Timestamp):
        value = None if pd.isna(value) else value.to_pydatetime()
    if not isinstance(value, dt.datetime) or value.tzinfo is None:
        return "at a time not known"
    return value.astimezone(LONDON).strftime("%-d %B %Y, %H:%M")


def _crime_text(row: Any) -> str:
    return f"Crime: {_plain(row.crime_type) or 'type not given'}, {_month(row.month)}"


def _count(n: int, word: str) -> str:
    return f"{n:,} {word}" if n == 1 else f"{n:,} {word}s"


def _categories(value: object, labels: Mapping[str, str]) -> str:
    if isinstance(value, str):
        items: Iterable[object] = [value]
    elif isinstance(value, Iterable):
        items = value
    else:
        items = []
    names = [labels.get(_plain(item), _plain(item)) for item in items]
    return ", ".join(n for n in names if n) or "no category given"


def _plain(value: object) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return str(value).strip()


def _is_true(value: object) -> bool:
    # A missing is_dark (None, NaN, pd.NA) is "not known to be dark".
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return False
    return bool(value)


def _month(value: object) -> str:
    if isinstance(value, dt.date):
        return value.strftime("%B %Y")
    return _plain(value) or "month not given"


def _template_safe(text: str) -> str:
    """Plain text as HTML that can sit inside Folium's tooltip, a JavaScript template literal.

    HTML-escaping stops tags; a backslash, a backtick or ``${`` would still end or break the
    literal, so they become character references too.
    """
    return (
        html.escape(text, quote=False)
        .replace("\\", "&#92;")
        .replace("`", "&#96;")
        .replace("$", "&#36;")
    )
