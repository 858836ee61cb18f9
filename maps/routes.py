"""The route map: one walk route coloured by what was reported along it, 100 m at a time.

Ward officers look at it before and after walking a woman's usual route with her. The route is
drawn as consecutive stretches (as counted by ``service.queries.exposure``), each coloured by how
many published unsafe-place reports, walk concerns and police.uk crimes lie within ``within_m``
metres of it; the reports, concerns and crimes themselves are layers that can be switched on and
off, over thin outlines of the wards the route crosses.
"""

from __future__ import annotations

import datetime as dt
import html
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.geometry import LineString

from geo.grid import to_grid, to_wgs84
from geo.routes import DRAW_TOLERANCE_M, drawn_route
from maps.attribution import DataAttribution
from maps.controls import BackLink
from maps.frames import checked_frame
from maps.legend import Legend, LegendEntry
from maps.notice import MapNotice
from maps.page import fit_to, new_map, render_page
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
CRIME_COLUMNS = ("crime_type", "month")

ROUTE_LAYER = "Route: reports, concerns and crimes per 100 m"
REPORTS_LAYER = "Unsafe-place reports"
CONCERNS_LAYER = "Walk concerns"
CRIMES_LAYER = "Police.uk crimes"
WARDS_LAYER = "Wards"

# Marker styles, told apart by colour, size and outline, and kept off the route's warm scale
# (Okabe-Ito blue and bluish green, and black).
_REPORT_STYLE = {
    "radius": 7,
    "color": "#ffffff",
    "weight": 2,
    "fill": True,
    "fill_color": "#0072b2",
    "fill_opacity": 0.9,
}
_CONCERN_STYLE = {
    "radius": 8,
    "color": "#00402d",
    "weight": 2,
    "fill": True,
    "fill_color": "#009e73",
    "fill_opacity": 0.9,
}
_CRIME_STYLE = {
    "radius": 4,
    "color": "#000000",
    "weight": 1,
    "fill": True,
    "fill_color": "#000000",
    "fill_opacity": 0.5,
}

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
) -> str:
    """Render a walk route and what was reported along it as a standalone HTML page.

    The page shows the route cut into its stretches, each coloured by its ``total`` (see
    :func:`exposure_classes`) with e.g. "metres 300-400: 2 reports, 1 concern, 5 crimes" (an en
    dash in the range) on hover; the
    reports, concerns and crimes as markers in three layers of their own; the outlines of the
    wards given, with their names on hover; a legend of the colours and markers; a layer control;
    the data credit; and each of ``notes`` in a box on the map. It opens fitted to the route.

    Parameters
    ----------
    route : shapely.LineString
        The route as shown (trimmed, if the viewer may only see it trimmed), WGS84 lon/lat.
    segments : list of dict
        The stretches in walking order, with keys ``segment, from_m, to_m, reports, concerns,
        crimes, total``; ``from_m``/``to_m`` are metres along ``route`` on the British
        National Grid (as ``service.queries.exposure.route_exposure`` gives them).
    concerns : GeoDataFrame
        Walk concerns: ``categories`` (list of str), ``note`` (str or None), Point geometry.
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
    found : Mapping of str to int, optional
        How many ``reports``, ``concerns`` and ``crimes`` lie within reach (the exposure's
        totals). Where a frame holds fewer, its layer says "N of M" and a note on the map
        says the markers are the N most recent.
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

    Returns
    -------
    str
        The HTML page.

    Raises
    ------
    ValueError
        The route is not a non-empty LineString; there are no segments, a segment lacks a
        key or runs past the route's end; a frame lacks a column, has no CRS while holding
        rows, or has a missing geometry.

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
) -> folium.Map:
    """The map of :func:`render_route_map`, not yet rendered, for pages that add to it.

    Parameters are those of :func:`render_route_map` (less ``asset_url``: render the result
    with :func:`maps.page.render_page`), and:

    category_labels : Mapping of str to str, optional
        What each category slug reads as in the marker tooltips (e.g. ``poor_lighting`` ->
        "Poor or no street lighting"); slugs not in it, or all without it, show as given.

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

    m = new_map(title=f"{title} — Walk and Talk Maps", tiles=tiles)
    # The way back to the start page: a map page fills the window and has no other link.
    BackLink().add_to(m)

    if not ward_frame.empty:
        _ward_layer(ward_frame).add_to(m)
    classes = exposure_classes(max(int(s["total"]) for s in stretches))
    _route_layer(line, stretches, classes).add_to(m)
    notes = list(notes or ())
    for frame, layer, style, text, key, word in (
        (
            report_frame,
            REPORTS_LAYER,
            _REPORT_STYLE,
            lambda r: _report_text(r, labels),
            "reports",
            "reports",
        ),
        (
            concern_frame,
            CONCERNS_LAYER,
            _CONCERN_STYLE,
            lambda r: _concern_text(r, labels),
            "concerns",
            "walk concerns",
        ),
        (crime_frame, CRIMES_LAYER, _CRIME_STYLE, _crime_text, "crimes", "crimes"),
    ):
        counted = int((found or {}).get(key, len(frame)))
        shown = f"{len(frame):,}" if len(frame) >= counted else f"{len(frame):,} of {counted:,}"
        _marker_layer(frame, f"{layer} ({shown})", style, text).add_to(m)
        if len(frame) < counted:
            # The caller sends the most recent when there are too many to draw one by one.
            notes.append(
                f"Markers show the {len(frame):,} most recent of the {counted:,} {word} within "
                f"{within_m:g} m; the route's colours count them all."
            )

    Legend(
        "Reports, concerns and crimes per 100 m",
        [LegendEntry(c.label, c.colour) for c in classes],
        subtitle=f"Within {within_m:g} m of the route",
    ).add_to(m)
    Legend(
        "Markers",
        [
            LegendEntry(REPORTS_LAYER, str(_REPORT_STYLE["fill_color"])),
            LegendEntry(CONCERNS_LAYER, str(_CONCERN_STYLE["fill_color"])),
            LegendEntry(CRIMES_LAYER, str(_CRIME_STYLE["fill_color"])),
        ],
    ).add_to(m)
    for note in notes:
        MapNotice(note).add_to(m)

    fit_to(m, line.bounds)
    DataAttribution(attribution).add_to(m)
    folium.LayerControl(collapsed=False).add_to(m)
    return m


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


def _marker_layer(
    frame: gpd.GeoDataFrame,
    name: str,
    style: Mapping[str, Any],
    text: Callable[[Any], str],
) -> folium.FeatureGroup:
    layer = folium.FeatureGroup(name=html.escape(name))
    if frame.empty:
        return layer
    for row, point in zip(frame.itertuples(index=False), frame.geometry, strict=True):
        folium.CircleMarker(
            location=(round(point.y, 6), round(point.x, 6)),
            tooltip=folium.Tooltip(_template_safe(text(row)), sticky=True),
            **style,
        ).add_to(layer)
    return layer


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
    return text


def _crime_text(row: Any) -> str:
    return f"Crime: {_plain(row.crime_type) or 'type not given'}, {_month(row.month)}"


def _count(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


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
