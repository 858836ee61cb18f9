"""The planner's lighting map: requests by evidence and status over what is on the ground.

A planner (or a council partner, a supervisor) asks: where have people asked for lights or
cameras, how strong is the evidence for each, what is already there, and where is nobody
asking? The page answers with, over the service's base map:

- the requests, one marker each at the request's point, its fill the class of its evidence
  score (``mapclassify`` through :mod:`maps.classes`, the legend naming the scheme) and its
  letter and outline the status; a stretch of street is also drawn as a line. A marker's popup
  gives the kind, council, status and dates, the evidence counts as the viewer may see them,
  and a link to the request's page;
- the street lights and cameras of the councils' inventories, grouped with the vendored
  Leaflet.markercluster (thousands of lamps stay a few hundred kB), and the area each
  inventory covers (only inside it is "no light here" said);
- OpenStreetMap streets and paths coloured lit, unlit or untagged (their ``lit`` tag);
- the gaps (hot-spot hexagons with lighting reports in the dark nothing answers), outlined,
  their protected evidence in a popup;
- the protected heat surface of ``/maps/heatmap``, off at first.

GeoDataFrames and plain values in, HTML out: nothing here counts, protects or decides who may
see what (the router does; a count arrives here as the text the viewer may see).
"""

from __future__ import annotations

import base64
import html
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import folium
import geopandas as gpd
import numpy as np
import shapely
from branca.element import Element, Figure
from folium.map import Layer
from folium.plugins import FastMarkerCluster
from folium.template import Template
from folium.utilities import JsCode

from geo.kde import DensitySurface
from maps.attribution import DataAttribution
from maps.classes import Classes, classify
from maps.clusters import MARKERCLUSTER_CSS, MARKERCLUSTER_JS
from maps.control import MapBox
from maps.controls import ControlsPanel, Download, MapControls, Option, _attr, _select
from maps.heatmap import heat_image
from maps.hotspots import AboutPanel, ward_outlines
from maps.legend import LEGEND_CSS
from maps.notice import MapNotice
from maps.page import fit_to, new_map, render_page
from maps.tiles import TileSource

__all__ = [
    "CLASS_COLOURS",
    "LAYER_NAMES",
    "STATUS_LETTERS",
    "LightingControls",
    "LightingLayers",
    "render_lighting_map",
]

#: The statuses in the order of a request's life, with the letter its marker carries.
STATUS_LETTERS = {
    "proposed": "P",
    "sent": "S",
    "accepted": "A",
    "in_bid": "B",
    "funded": "F",
    "installed": "I",
    "declined": "D",
}
STATUS_WORDS = {
    "proposed": "Proposed",
    "sent": "Sent",
    "accepted": "Accepted",
    "in_bid": "In a bid",
    "funded": "Funded",
    "installed": "Installed",
    "declined": "Declined",
}
LONDON = ZoneInfo("Europe/London")
KIND_WORDS = {"lighting": "Street lighting", "cctv": "CCTV", "vegetation": "Vegetation",
              "other": "Other"}  # fmt: skip
#: Evidence classes, weakest first: ColorBrewer PuRd (sequential, apart from the heat's YlOrRd
#: and the lights' yellow; reads in greyscale). The letter is dark on the two pale classes.
CLASS_COLOURS = ("#f1eef6", "#d7b5d8", "#df65b0", "#ce1256", "#67001f")
_DARK_INK = "#1a1a1a"
#: A request with no evidence class (no requests to class): mid grey.
NO_CLASS_COLOUR = "#bdbdbd"
#: Lit, unlit and untagged ways: gold, navy and grey (Okabe-Ito's orange and blue, darkened
#: for 3:1 against the base map).
WAY_COLOURS = {"lit": "#c17d00", "unlit": "#1f3a93", "untagged": "#8c8c8c"}
WAY_WORDS = {"lit": "Lit way", "unlit": "Unlit way", "untagged": "Way, no lit tag"}
LIGHT_COLOUR = "#ffd23f"
LIGHT_OUTLINE = "#7a5c00"
CAMERA_COLOUR = "#5e3c99"
GAP_COLOUR = "#d01c8b"
COVERAGE_COLOUR = "#404040"

LAYER_NAMES = {
    "requests": "Requests to partners",
    "lights": "Street lights",
    "cameras": "Cameras",
    "coverage": "Inventory coverage",
    "ways": "Streets: lit or not (OSM)",
    "gaps": "Gaps nobody has asked about",
    "heat": "Heatmap of reports",
    "wards": "Ward outlines",
}

_MARKER_CSS = """
.lr-pin { width: 26px; height: 26px; box-sizing: border-box; border-radius: 50%;
  border: 3px solid #1a1a1a; display: flex; align-items: center; justify-content: center;
  font: bold 13px/1 sans-serif; box-shadow: 0 1px 3px rgba(0, 0, 0, 0.5); }
.lr-pin.lr-installed { border-color: #00703c; border-width: 4px; }
.lr-pin.lr-declined { border-style: dashed; border-color: #505a5f; }
.leaflet-marker-icon:focus-visible .lr-pin { outline: 3px solid #c05800; outline-offset: 2px; }
.lr-popup dl { margin: 4px 0; display: grid; grid-template-columns: auto 1fr; gap: 0 8px; }
.lr-popup dt { font-weight: bold; }
.lr-popup dd { margin: 0; }
.lr-popup a { display: inline-block; min-height: 24px; line-height: 24px; }
.leaflet-marker-icon.lr-cluster { display: flex; align-items: center; justify-content: center;
  font: bold 13px/1 sans-serif; border: 3px solid #ffffff; border-radius: 50%;
  box-shadow: 0 1px 4px rgba(0, 0, 0, 0.5); box-sizing: border-box; }
.leaflet-marker-icon.lr-cluster-light { background: #ffd23f; color: #1a1a1a; }
.leaflet-marker-icon.lr-cluster-camera { background: #5e3c99; color: #ffffff;
  border-radius: 4px; }
.lr-cluster:focus-visible { outline: 3px solid #c05800; outline-offset: 2px; }
.lr-hidden { position: absolute !important; width: 1px; height: 1px; margin: -1px; padding: 0;
  overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; border: 0; }
.map-legend .lr-legend-pin { width: 18px; height: 18px; font-size: 11px; border-width: 2px;
  flex: none; box-shadow: none; }
.map-legend .lr-line { display: inline-block; width: 22px; height: 0; border-top: 4px solid;
  flex: none; }
.map-legend .lr-dot { display: inline-block; width: 12px; height: 12px; border-radius: 50%;
  border: 1px solid; flex: none; box-sizing: border-box; }
.map-legend .lr-legend-head { margin: 6px 0 2px; font-weight: bold; }
/* On paper the sheet's own "Legend" heading says it; the fold's summary would say it twice. */
.print-legends .map-legend.lr-legend details.map-fold > summary { display: none !important; }
.map-legend ul.lr-cols { display: grid; grid-template-columns: auto auto; gap: 0 10px; }
/* Under the layer list on a laptop's 800 px: the legend scrolls rather than runs off. */
.leaflet-top.leaflet-right .map-legend { max-height: calc(100vh - 330px); }
/* The filters bar leaves the layer list its corner. */
@media (min-width: 701px) {
  .map-controls { max-width: min(900px, calc(100vw - 400px)) !important; }
}
.map-controls .mc-ward select { max-width: 15em; }
"""


@dataclass(frozen=True)
class LightingLayers:
    """What the lighting map draws, each part as the viewer may see it.

    Parameters
    ----------
    requests : GeoDataFrame
        One row per request (points, EPSG:4326): ``id``, ``reference``, ``title``, ``kind``,
        ``status``, ``partner`` (the council and team in words), ``raised_at``,
        ``status_at``, ``bid_reference``, ``installed_on``, ``score``, ``rank_in_borough``,
        the counts ``total``, ``lighting``, ``dark``, ``months`` as the viewer may see them
        (text or numbers), and ``line`` (GeoJSON text of its stretch, or None).
    within_m : float
        The evidence radius, for the popup's words.
    lights, cameras : sequence of (lat, lon)
        The assets in the area.
    coverage : GeoDataFrame
        Each inventory's covered area: ``name``, ``kind``, polygons.
    ways : GeoDataFrame
        OpenStreetMap streets and paths: ``name``, ``highway``, ``lit``, ``state``, lines.
    gaps : GeoDataFrame
        Gap hexagons: ``dark_lighting``, ``unanswered``, ``near_light``, ``near_lit_way``,
        ``near_request`` (as the viewer may see them), polygons.
    heat : DensitySurface or None
        The protected heat surface, or None to leave the layer out.
    wards : GeoDataFrame
        Ward outlines of the area (``code``, ``name``).
    area : (west, south, east, north)
        Where the map opens when there is no request to fit it to.
    notices : sequence of str
        Lines to say on the map (e.g. a layer left out, and why).

    """

    requests: gpd.GeoDataFrame
    within_m: float
    lights: Sequence[tuple[float, float]]
    cameras: Sequence[tuple[float, float]]
    coverage: gpd.GeoDataFrame
    ways: gpd.GeoDataFrame
    gaps: gpd.GeoDataFrame
    heat: DensitySurface | None
    wards: gpd.GeoDataFrame
    area: tuple[float, float, float, float]
    notices: Sequence[str] = field(default_factory=tuple)


# --- the controls ----------------------------------------------------------------------------


@dataclass(frozen=True)
class LightingControls(MapControls):
    """The lighting map's panel: kind, status, borough, ward and months; its downloads.

    The aggregate pages' panel (:class:`maps.controls.MapControls`) with the request filters
    in place of categories and time bands. The downloads are the ranking's and the gaps'
    files, each carrying the filters its route takes, and the page's PNG and PDF.
    """

    kind_options: tuple[Option, ...] = ()
    status_options: tuple[Option, ...] = ()
    ward_options: tuple[Option, ...] = ()
    #: Where "Raise a request" goes, for those who may raise one; None: no link.
    raise_href: str | None = None

    #: The query parameters the panel has fields for.
    FIELDS = ("kind", "status", "borough", "ward", "month_from", "month_to")

    def kept(self) -> list[tuple[str, str]]:
        """The query values the panel has no field for (e.g. ``bid_reference``), kept."""
        return [(k, v) for k, v in self.query if k not in self.FIELDS]

    def _only(self, *names: str) -> list[tuple[str, str]]:
        return [(k, v) for k, v in self.query if k in names and v.strip()]

    def downloads(self) -> list[Download]:
        """The ranking's and gaps' files and the page's print, each with its filters."""
        ranking = self._only("kind", "bid_reference")
        gaps = self._only("borough", "month_from", "month_to")
        links = []
        for stem, label, query in (
            ("/lighting/ranking", "Ranking", ranking),
            ("/lighting/gaps", "Gaps", gaps),
        ):
            links += [
                Download(f"{label} CSV", _href(f"{stem}.csv", query)),
                Download(f"{label} GeoJSON", _href(f"{stem}.geojson", query)),
                Download(
                    f"{label} GeoPackage (BNG)",
                    _href(f"{stem}.gpkg", [*query, ("crs", "27700")]),
                ),
            ]
        page = [(k, v) for k, v in self.query if v.strip()]
        links += [Download("PNG", _href(f"{self.path}.png", page)),
                  Download("PDF", _href(f"{self.path}.pdf", page))]  # fmt: skip
        return links

    def form_html(self) -> str:
        """The panel's form, downloads and home link as HTML, every value escaped."""
        parts = [
            f'<form class="map-controls-form" method="get" action="{_attr(self.path)}" '
            'aria-label="Choose what the map shows">'
        ]
        parts += [
            f'<input type="hidden" name="{_attr(k)}" value="{_attr(v)}">' for k, v in self.kept()
        ]
        parts.append(
            _select("kind", "Kind", [Option("", "Any kind"), *self.kind_options],
                    {self.value("kind")})
        )  # fmt: skip
        parts.append(
            _select("status", "Status", [Option("", "Any status"), *self.status_options],
                    {self.value("status")})
        )  # fmt: skip
        parts.append(
            _select("borough", "Borough", [Option("", "Your own"), *self.borough_options],
                    {self.value("borough")})
        )  # fmt: skip
        parts.append(
            _select("ward", "Ward", [Option("", "Every ward"), *self.ward_options],
                    {self.value("ward")})
        )  # fmt: skip
        parts.append(self._period())
        raise_link = (
            f'<a href="{_attr(self.raise_href)}">Raise a request</a>' if self.raise_href else ""
        )
        parts.append(
            '<div class="mc-actions"><button type="submit">Update map</button>'
            f'{raise_link}<a href="{_attr(self.home)}">&larr; Home</a></div>'
        )
        items = "".join(
            f'<li><a href="{_attr(d.href)}" download>{html.escape(d.label)}</a></li>'
            for d in self.downloads()
        )
        parts.append(
            '<div class="mc-downloads" role="group" aria-labelledby="mc-downloads-title">'
            '<span id="mc-downloads-title">Download what the map shows:</span>'
            f"<ul>{items}</ul></div></form>"
        )
        return "".join(parts)


def _href(path: str, query: Sequence[tuple[str, str]]) -> str:
    encoded = urlencode(list(query))
    return f"{path}?{encoded}" if encoded else path


# --- the requests ----------------------------------------------------------------------------


def _ink(colour: str) -> str:
    """Black or white, whichever reads on ``colour`` (WCAG relative luminance)."""
    channels = [int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    luminance = 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]
    return _DARK_INK if (luminance + 0.05) / 0.05 > 1.05 / (luminance + 0.05) else "#ffffff"


def _class_colours(n: int) -> list[str]:
    """Colours for ``n`` classes spread over the ramp: one class is mid-dark, not near-white.

    >>> _class_colours(1), _class_colours(3)
    (['#ce1256'], ['#f1eef6', '#df65b0', '#67001f'])
    """
    if n <= 1:
        return [CLASS_COLOURS[3]] * n
    steps = np.round(np.linspace(0, len(CLASS_COLOURS) - 1, n)).astype(int)
    return [CLASS_COLOURS[i] for i in steps]


def _classes(scores: Sequence[float]) -> Classes:
    """The evidence score's classes: Fisher-Jenks, at most five, none narrower than 1."""
    return classify(list(scores), k=len(CLASS_COLOURS), step=1.0, decimals=1)


def _text(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    if hasattr(value, "strftime"):
        if getattr(value, "tzinfo", None) is not None:
            value = value.astimezone(LONDON)  # the day as London saw it, not UTC's
        return str(value.strftime("%-d %B %Y"))
    if isinstance(value, float | np.floating) and float(value).is_integer():
        return f"{int(value):,}"
    if isinstance(value, int | np.integer):
        return f"{int(value):,}"
    return str(value)


def _popup(row: Any, within_m: float) -> str:
    """A request's popup as HTML, every value escaped."""
    status = str(row["status"])
    when = _text(row["status_at"])
    lines = [
        ("Kind", KIND_WORDS.get(str(row["kind"]), str(row["kind"]))),
        ("To", _text(row["partner"])),
        ("Status", f"{STATUS_WORDS.get(status, status)} since {when}"),
        ("Raised", _text(row["raised_at"])),
    ]
    if isinstance(row["bid_reference"], str) and row["bid_reference"]:
        lines.append(("Bid", row["bid_reference"]))
    if row["installed_on"] is not None and not _missing(row["installed_on"]):
        lines.append(("Installed", _text(row["installed_on"])))
    lines += [
        (f"Reports within {within_m:g} m", _text(row["total"])),
        ("About lighting", _text(row["lighting"])),
        ("In the dark", _text(row["dark"])),
        ("Distinct months", _text(row["months"])),
        # "No. 1": a place in the order, never read as a count of reports.
        ("Rank in borough", f"No. {_text(row['rank_in_borough'])}"),
    ]
    rows = "".join(
        f"<dt>{html.escape(k)}</dt><dd>{html.escape(str(v))}</dd>" for k, v in lines
    )
    reference = html.escape(str(row["reference"]))
    return (
        f'<div class="lr-popup"><strong>{reference}: {html.escape(str(row["title"]))}</strong>'
        f"<dl>{rows}</dl>"
        f'<a href="/lighting/requests/{html.escape(str(row["id"]))}">'
        f"Open request {reference}</a></div>"
    )


def _missing(value: Any) -> bool:
    try:
        return bool(value != value)  # NaN and NaT are not equal to themselves
    except (TypeError, ValueError):
        return False


def _request_features(
    frame: gpd.GeoDataFrame, within_m: float, classes: Classes
) -> list[dict[str, Any]]:
    """The requests as GeoJSON features: a point each, and a line for each stretch."""
    assigned: Any = classes.assign(frame["score"].astype(float).to_numpy()) if len(frame) else []
    colours = _class_colours(len(classes.labels()))
    features = []
    for (_, row), cls in zip(frame.iterrows(), assigned, strict=True):
        colour = colours[int(cls)] if cls >= 0 else NO_CLASS_COLOUR
        status = str(row["status"])
        label = f"{row['reference']}: {row['title']} ({STATUS_WORDS.get(status, status)})"
        properties = {
            "popup": _popup(row, within_m),
            "label": label,
            "letter": STATUS_LETTERS.get(status, "?"),
            "status": status,
            "colour": colour,
            "ink": _ink(colour),
        }
        if isinstance(row.get("line"), str) and row["line"]:
            features.append(
                {"type": "Feature", "geometry": json.loads(row["line"]),
                 "properties": {**properties, "stretch": True}}
            )  # fmt: skip
        point = row.geometry
        features.append(
            {
                "type": "Feature",
                "geometry": {"type": "Point",
                             "coordinates": [round(point.x, 6), round(point.y, 6)]},
                "properties": properties,
            }
        )  # fmt: skip
    return features


class RequestLayer(Layer):
    """The requests as one switchable GeoJSON layer: lettered markers and stretch lines.

    A marker is a ``divIcon`` (fill: evidence class; letter and outline: status) that is a
    keyboard-reachable button named by its reference, title and status; a click or Enter
    opens its popup. A stretch is a thick line in the class's colour under its marker.
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
            var {{ this.get_name() }} = L.geoJSON({{ this.data|tojson }}, {
                pointToLayer: function (feature, latlng) {
                    var p = feature.properties;
                    var pin = document.createElement("div");
                    pin.className = "lr-pin lr-" + p.status;
                    pin.style.background = p.colour;
                    pin.style.color = p.ink;
                    pin.setAttribute("aria-hidden", "true");
                    pin.textContent = p.letter;
                    return L.marker(latlng, {
                        title: p.label, alt: p.label, riseOnHover: true, zIndexOffset: 1000,
                        icon: L.divIcon({className: "lr-marker", html: pin,
                                         iconSize: [26, 26], iconAnchor: [13, 13],
                                         popupAnchor: [0, -12]})
                    });
                },
                style: function (feature) {
                    var p = feature.properties;
                    return {color: p.colour === "#f1eef6" ? "#9e9ac8" : p.colour, weight: 6,
                            opacity: 0.9, dashArray: p.status === "declined" ? "6 6" : null};
                },
                onEachFeature: function (feature, layer) {
                    layer.bindPopup(feature.properties.popup, {maxWidth: 280, autoPan: false});
                    if (feature.properties.stretch) {
                        // As text: a string would be read as HTML, and the title is typed.
                        var words = document.createElement("span");
                        words.textContent = feature.properties.label;
                        layer.bindTooltip(words, {sticky: true});
                    }
                }
            });
            // A request's popup is panned into view here rather than by Leaflet, whose own
            // panning knows the map's edges but not the filters bar over its top.
            {{ this._parent.get_name() }}.on("popupopen", function (event) {
                var map = event.target, box = event.popup.getElement();
                if (!box || !box.querySelector(".lr-popup")) { return; }
                var area = map.getContainer().getBoundingClientRect();
                var bar = map.getContainer().querySelector(".map-controls");
                var top = area.top + 10;
                if (bar && bar.offsetParent !== null) {
                    top = Math.max(top, bar.getBoundingClientRect().bottom + 8);
                }
                var r = box.getBoundingClientRect(), dx = 0, dy = 0;
                if (r.top < top) { dy = r.top - top; }
                else if (r.bottom > area.bottom - 10) { dy = r.bottom - area.bottom + 10; }
                if (r.left < area.left + 10) { dx = r.left - area.left - 10; }
                else if (r.right > area.right - 10) { dx = r.right - area.right + 10; }
                if (dx || dy) { map.panBy([dx, dy], {animate: false}); }
            });
        {% endmacro %}
        """
    )

    def __init__(self, features: list[dict[str, Any]], *, name: str) -> None:
        super().__init__(name=html.escape(name, quote=False), overlay=True, control=True)
        self._name = "RequestLayer"
        self.data = {"type": "FeatureCollection", "features": features}

    def render(self, **kwargs: Any) -> Any:
        """Render the layer, and the markers' stylesheet once into the page's head."""
        _add_css(self)
        return super().render(**kwargs)


def _add_css(element: Any) -> None:
    figure = element.get_root()
    if isinstance(figure, Figure):
        figure.header.add_child(Element(f"<style>{_MARKER_CSS}</style>"), name="lr_css")


# --- the assets ------------------------------------------------------------------------------

# A single asset: a small circle; a group: a circle (lights) or square (cameras) with its count.
_ASSET_CALLBACKS = {
    "light": f"""function (row) {{
        return L.circleMarker([row[0], row[1]], {{
            radius: 4, color: "{LIGHT_OUTLINE}", weight: 1, fillColor: "{LIGHT_COLOUR}",
            fillOpacity: 0.95
        }}).bindTooltip("Street light", {{sticky: true}});
    }}""",
    "camera": f"""function (row) {{
        return L.circleMarker([row[0], row[1]], {{
            radius: 5, color: "#ffffff", weight: 1.5, fillColor: "{CAMERA_COLOUR}",
            fillOpacity: 0.95
        }}).bindTooltip("Camera", {{sticky: true}});
    }}""",
}
_ASSET_WORDS = {"light": "street lights", "camera": "cameras"}


class AssetPoints(FastMarkerCluster):
    """Street lights or cameras as one compact array, drawn in groups that open as one zooms.

    Each point is ``[lat, lon]`` (no Folium element of its own), so Camden's 9,527 lamps are
    about 200 kB of the page. Groups name their count and what they hold to a screen reader.
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
            var {{ this.get_name() }} = (function(){
                var callback = {{ this.callback_js }};
                var data = {{ this.data|tojson }};
                var cluster = L.markerClusterGroup({{ this.options|tojavascript }});
                cluster.options.iconCreateFunction = {{ this.icon_create_function.strip() }};
                for (var i = 0; i < data.length; i++) {
                    callback(data[i]).addTo(cluster);
                }
                var map = {{ this._parent.get_name() }};
                if (!isFinite(map.getMaxZoom())) { map.setMaxZoom(19); }
                return cluster;
            })();
        {% endmacro %}"""
    )

    default_js = [("markerclusterjs", MARKERCLUSTER_JS)]  # noqa: RUF012 (Folium's own shape)
    default_css = [("markerclustercss", MARKERCLUSTER_CSS)]  # noqa: RUF012

    def __init__(self, points: Sequence[tuple[float, float]], *, kind: str, name: str) -> None:
        if kind not in _ASSET_CALLBACKS:
            raise ValueError(f"kind must be light or camera, not {kind!r}")
        data = [[round(float(lat), 6), round(float(lon), 6)] for lat, lon in points]
        words = json.dumps(_ASSET_WORDS[kind])
        super().__init__(
            data,
            callback=_ASSET_CALLBACKS[kind],
            name=html.escape(name, quote=False),
            # Grouped while a borough is in view; one by one at street level (zoom 17, a few
            # hundred metres across), where a planner looks for the lamp that is or is not there.
            maxClusterRadius=JsCode("function (zoom) { return zoom <= 15 ? 80 : 40; }"),
            showCoverageOnHover=False,
            spiderfyOnMaxZoom=False,
            disableClusteringAtZoom=17,
            icon_create_function=f"""function (cluster) {{
                var n = cluster.getChildCount();
                var size = n < 100 ? 30 : (n < 1000 ? 34 : 40);
                return L.divIcon({{
                    html: "<span>" + n + "</span><span class=\\"lr-hidden\\"> " + {words} +
                        "</span>",
                    className: "lr-cluster lr-cluster-{kind}",
                    iconSize: L.point(size, size)
                }});
            }}""",
        )
        self._name = "AssetPoints"
        self.callback_js = _ASSET_CALLBACKS[kind]

    def render(self, **kwargs: Any) -> Any:
        """Render the layer, and the shared stylesheet once into the page's head."""
        _add_css(self)
        return super().render(**kwargs)


def _rounded(geometry: gpd.GeoSeries, decimals: int = 6) -> Any:
    return shapely.transform(geometry.array, lambda xy: np.round(xy, decimals))


def _coverage_layer(coverage: gpd.GeoDataFrame) -> folium.GeoJson:
    shown = gpd.GeoDataFrame(
        {
            "inventory": [html.escape(str(n), quote=False) for n in coverage["name"]],
            "what": [
                "street lights" if k == "light" else "cameras" for k in coverage["kind"]
            ],
        },
        # Simplified by 5 m on the Grid: a borough's outline drawn, not surveyed.
        geometry=_rounded(coverage.to_crs(27700).simplify(5).to_crs(4326), 5),
        crs=4326,
    )
    return folium.GeoJson(
        shown,
        name=LAYER_NAMES["coverage"],
        style_function=lambda feature: {
            "fill": False,
            "color": COVERAGE_COLOUR,
            "weight": 2,
            "dashArray": "8 4 2 4",
        },
        zoom_on_click=False,
        tooltip=folium.GeoJsonTooltip(
            fields=["inventory", "what"], aliases=["Inventory", "Lists the"], sticky=True
        ),
    )


def _ways_layer(ways: gpd.GeoDataFrame) -> folium.GeoJson:
    shown = gpd.GeoDataFrame(
        {
            "street": [
                html.escape(str(n), quote=False) if isinstance(n, str) and n else "(no name)"
                for n in ways["name"]
            ],
            "lit": [WAY_WORDS[s] for s in ways["state"]],
            "state": list(ways["state"]),
        },
        geometry=_rounded(ways.geometry),
        crs=4326,
    )
    return folium.GeoJson(
        shown,
        name=LAYER_NAMES["ways"],
        style_function=lambda feature: {
            "color": WAY_COLOURS[feature["properties"]["state"]],
            "weight": 4 if feature["properties"]["state"] != "untagged" else 2.5,
            "opacity": 0.85,
            "dashArray": "4 4" if feature["properties"]["state"] == "untagged" else None,
        },
        zoom_on_click=False,
        tooltip=folium.GeoJsonTooltip(
            fields=["street", "lit"], aliases=["Street", "Lighting"], sticky=True
        ),
    )


#: The gaps' counts, as their popup words them.
GAP_FIELDS = {
    "dark_lighting": "Lighting reports in the dark",
    "unanswered": "With nothing within reach",
    "near_light": "Near a street light",
    "near_lit_way": "Near a lit way or lamp",
    "near_request": "Near a lighting request",
}


def _gaps_layer(gaps: gpd.GeoDataFrame) -> folium.GeoJson:
    shown = gpd.GeoDataFrame(
        {name: [_text(v) for v in gaps[name]] for name in GAP_FIELDS},
        geometry=_rounded(gaps.geometry),
        crs=4326,
    )
    return folium.GeoJson(
        shown,
        name=f"{LAYER_NAMES['gaps']} ({len(shown):,})",
        style_function=lambda feature: {
            "fillColor": GAP_COLOUR,
            "fillOpacity": 0.12,
            "color": GAP_COLOUR,
            "weight": 3,
            "dashArray": "6 3",
        },
        highlight_function=lambda feature: {"weight": 5},
        zoom_on_click=False,
        popup=folium.GeoJsonPopup(
            fields=list(GAP_FIELDS), aliases=list(GAP_FIELDS.values()), labels=True
        ),
        tooltip=folium.GeoJsonTooltip(fields=["unanswered"], aliases=[GAP_FIELDS["unanswered"]]),
    )


def _heat_layer(heat: DensitySurface) -> folium.raster_layers.ImageOverlay:
    png, bounds = heat_image(heat)
    return folium.raster_layers.ImageOverlay(
        image="data:image/png;base64," + base64.b64encode(png).decode("ascii"),
        bounds=[list(bounds[0]), list(bounds[1])],
        name=LAYER_NAMES["heat"],
        opacity=1.0,
        interactive=False,
        pixelated=False,
        show=False,
    )


# --- the legend ------------------------------------------------------------------------------


class LightingLegend(MapBox):
    """One legend of everything on the map: evidence classes, statuses, assets, ways, gaps.

    A ``div.map-legend`` like the other pages' legends (folded on a phone, moved into the
    printed sheet's panel). The classes' labels name ``mapclassify``'s scheme.
    """

    fold = "Legend"

    def __init__(self, classes: Classes, *, with_heat: bool) -> None:
        self.classes = classes
        self.with_heat = with_heat
        super().__init__(
            name="LightingLegend",
            css_class="map-legend lr-legend",
            css=LEGEND_CSS + _MARKER_CSS,
            position="topright",
        )

    def fold_parts(self) -> tuple[str, str]:
        """"Legend" (its short summary when folded on a phone) and the rest, as HTML.

        The title stays inside: folded under a phone's layers button, a summary as long as
        the title covered the filters' own.
        """
        return "Legend", self.inner_html()

    def inner_html(self) -> str:
        """The legend's content as HTML, every label escaped."""
        title = '<div class="map-legend-title">Requests by evidence and status</div>'
        lines = []
        labels = self.classes.labels()
        if labels:
            lines.append(
                '<div class="map-legend-subtitle">Evidence score: '
                f"{html.escape(self.classes.describe())}</div><ul>"
            )
            for colour, label in zip(_class_colours(len(labels)), labels, strict=True):
                lines.append(
                    f'<li><span class="lr-pin lr-legend-pin" style="background:{colour}">'
                    f"</span>{html.escape(label)}</li>"
                )
            lines.append("</ul>")
        else:
            lines.append('<div class="map-legend-subtitle">No request to class.</div>')
        lines.append(
            '<div class="lr-legend-head">Status (letter on the marker)</div><ul class="lr-cols">'
        )
        for status, letter in STATUS_LETTERS.items():
            lines.append(
                f'<li><span class="lr-pin lr-legend-pin lr-{status}" '
                f'style="background:#ffffff;color:{_DARK_INK}">{letter}</span>'
                f"{html.escape(STATUS_WORDS[status])}</li>"
            )
        lines.append(
            f'<li><span class="lr-line" style="border-color:{CLASS_COLOURS[3]}"></span>'
            "A stretch</li></ul>"
            '<div class="lr-legend-head">Already there (numbers: a group)</div>'
            '<ul class="lr-cols">'
        )
        lines.append(
            f'<li><span class="lr-dot" style="background:{LIGHT_COLOUR};'
            f'border-color:{LIGHT_OUTLINE}"></span>Street light</li>'
            f'<li><span class="lr-dot" style="background:{CAMERA_COLOUR};'
            'border-color:#ffffff"></span>Camera</li>'
            f'<li><span class="lr-line" style="border-top:3px dashed {COVERAGE_COLOUR}">'
            "</span>Inventory's area</li>"
        )
        for state in ("lit", "unlit", "untagged"):
            style = "dashed" if state == "untagged" else "solid"
            lines.append(
                f'<li><span class="lr-line" style="border-top:4px {style} '
                f'{WAY_COLOURS[state]}"></span>{html.escape(WAY_WORDS[state])}</li>'
            )
        lines.append(
            '</ul><div class="lr-legend-head">From the reports</div>'
            '<ul class="lr-cols"><li><span class="map-legend-swatch" '
            f'style="background:#fbe3f1;border:2px dashed {GAP_COLOUR}"></span>'
            "Gap: dark, unlit, unasked</li>"
        )
        if self.with_heat:
            lines.append(
                '<li><span class="map-legend-swatch" style="background:linear-gradient('
                'to right, #ffffb2, #fd8d3c, #bd0026)"></span>'
                "Heatmap (off at first)</li>"
            )
        lines.append("</ul>")
        return title + "".join(lines)


_TOP_CSS = """
.lr-top { background: rgba(255, 255, 255, 0.94); padding: 8px 10px; border-radius: 4px;
  box-shadow: 0 1px 4px rgba(0, 0, 0, 0.3); font: 13px/1.4 sans-serif; color: #222;
  max-width: 340px; max-height: 30vh; overflow-y: auto; }
.lr-top ol { margin: 2px 0 0 20px; padding: 0; }
.lr-top li { margin: 2px 0; }
.lr-top a { color: #0b4f8a; display: inline-block; min-height: 24px; line-height: 24px; }
"""


class StrongestRequests(MapBox):
    """The requests with the strongest evidence, best first, each a link to its page.

    So a planner finds the top-ranked request without opening every marker; a list a
    keyboard and a screen reader reach, too. Folded on a phone.
    """

    fold = "Top requests"

    def __init__(self, requests: gpd.GeoDataFrame, *, shown: int = 5) -> None:
        self.rows = [row for _, row in requests.head(shown).iterrows()]
        super().__init__(name="StrongestRequests", css_class="lr-top", css=_TOP_CSS,
                         position="bottomleft")  # fmt: skip

    def inner_html(self) -> str:
        """The list as HTML, every value escaped."""
        items = []
        for row in self.rows:
            status = str(row["status"])
            items.append(
                f'<li><a href="/lighting/requests/{html.escape(str(row["id"]))}">'
                f'{html.escape(str(row["reference"]))}</a> {html.escape(str(row["title"]))} '
                f"({html.escape(STATUS_WORDS.get(status, status))}; No. "
                f'{html.escape(_text(row["rank_in_borough"]))} in its borough)</li>'
            )
        return f"<ol>{''.join(items)}</ol>"


# --- the page --------------------------------------------------------------------------------


def render_lighting_map(
    layers: LightingLayers,
    *,
    title: str,
    filters: Sequence[str],
    note: Sequence[str],
    attribution: str,
    asset_url: str,
    tiles: TileSource | None,
    controls: MapControls | None = None,
) -> str:
    """Render the planner's lighting map as a standalone HTML page.

    Parameters
    ----------
    layers : LightingLayers
        What to draw, as the viewer may see it.
    title, filters, note, attribution, asset_url, tiles, controls
        As for ``maps.hotspots.render_hot_spot_map``; ``attribution`` names every source
        shown (boundaries, OpenStreetMap, the councils' inventories).

    Returns
    -------
    str
        The HTML page; it opens fitted to the requests, or to ``layers.area`` with none.

    """
    m = new_map(title=f"{title} — Walk and Talk Maps", tiles=tiles)
    if controls is not None:
        ControlsPanel(controls).add_to(m)
    frame = layers.requests
    classes = _classes(frame["score"].astype(float).tolist() if len(frame) else [])

    if not layers.wards.empty:
        ward_outlines(layers.wards).add_to(m)
    if layers.heat is not None:
        _heat_layer(layers.heat).add_to(m)
    if not layers.coverage.empty:
        _coverage_layer(layers.coverage).add_to(m)
    if not layers.ways.empty:
        _ways_layer(layers.ways).add_to(m)
    if layers.gaps.empty:
        # Listed all the same: "none found" is an answer, a missing layer a question.
        folium.FeatureGroup(name=f"{LAYER_NAMES['gaps']} (none found)").add_to(m)
    else:
        _gaps_layer(layers.gaps).add_to(m)
    for kind, points in (("light", layers.lights), ("camera", layers.cameras)):
        if points:
            name = f"{LAYER_NAMES[kind + 's']} ({len(points):,})"
            AssetPoints(points, kind=kind, name=name).add_to(m)
    RequestLayer(
        _request_features(frame, layers.within_m, classes),
        name=f"{LAYER_NAMES['requests']} ({len(frame):,})",
    ).add_to(m)
    notices = list(layers.notices)
    if frame.empty:
        notices.insert(0, "No requests match these filters.")
    if notices:
        MapNotice(" ".join(notices)).add_to(m)

    AboutPanel(title, filters, note).add_to(m)
    if not frame.empty:
        StrongestRequests(frame).add_to(m)
    fit_to(m, _opening_bounds(frame, layers.area))
    DataAttribution(attribution).add_to(m)
    folium.LayerControl(collapsed=False).add_to(m)
    # After the layer list, in the same corner: Leaflet stacks them, so neither covers the
    # other (a legend in the opposite corner grew over the list on a laptop's 800 px).
    LightingLegend(classes, with_heat=layers.heat is not None).add_to(m)
    return render_page(m, asset_url=asset_url)


#: Around a lone request the map opens this many degrees each way (about 350 m): its streets.
_LONE_MARGIN = 0.005


def _opening_bounds(
    frame: gpd.GeoDataFrame, area: tuple[float, float, float, float]
) -> tuple[float, float, float, float]:
    if frame.empty:
        return area
    west, south, east, north = (float(v) for v in frame.total_bounds)
    pad_x = max((east - west) * 0.08, _LONE_MARGIN)
    pad_y = max((north - south) * 0.08, _LONE_MARGIN * 0.6)
    return (west - pad_x, south - pad_y, east + pad_x, north + pad_y)
