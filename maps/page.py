"""The page shell every map shares: a titled Folium map, its base tiles, and offline rendering."""

from __future__ import annotations

import html
import json
import re
from collections.abc import Sequence
from typing import cast

import folium
from branca.element import Element, Figure
from folium.elements import MacroElement
from folium.template import Template

from maps import verbatim  # noqa: F401  (Element(text) is text, not a template)
from maps.assets import UnknownAsset, localise_assets
from maps.basemap import NO_STREETS, NoBaseMapNotice, VectorBaseMap
from maps.tiles import TileSource

#: Where a map with nothing to fit to opens: central London (Charing Cross).
LONDON_CENTRE = (51.5073, -0.1276)
LONDON_ZOOM = 11

# A long attribution line (OpenStreetMap's and the boundaries' credits) wraps instead of
# running under the scale bar in the opposite corner and hiding it.
_PAGE_CSS = """<style>
.leaflet-bottom.leaflet-right { max-width: calc(100% - 130px); }
/* On a phone the credits (boundaries, police.uk, OpenStreetMap) took a third of the screen. */
@media (max-width: 700px) {
  .leaflet-control-attribution { font-size: 10px; line-height: 1.25; }
  /* Folded boxes in the bottom corners each keep to their half, so the legends on the right
     do not cover the buttons on the left. */
  .leaflet-bottom .leaflet-control:not(.leaflet-control-attribution):not(.leaflet-control-scale) {
    max-width: calc(50vw - 16px);
  }
}
</style>"""

# A <script src> or <link href> that still points off this server. Tile URLs live inside the
# map's JavaScript, not in such tags, so they do not match.
_REMOTE_ASSET_TAG = re.compile(
    r"""<(?:script|link)\b[^>]*?\b(?:src|href)\s*=\s*["']?((?:https?:)?//[^"'\s>]+)""",
    re.IGNORECASE,
)


def new_map(*, title: str, tiles: TileSource | None) -> folium.Map:
    """Start a map page: London view, scale bar, attribution line, and the base map if any.

    Parameters
    ----------
    title : str
        The page's ``<title>``, plain text.
    tiles : TileSource or None
        The base map: vector tiles (the service's own, drawn under the overlays with street
        names above them), raster tiles, or ``None``, which leaves the background blank and
        puts a notice on the map saying how to get a base map.

    """
    m = folium.Map(
        location=LONDON_CENTRE,
        zoom_start=LONDON_ZOOM,
        tiles=None,
        control_scale=True,
        # Data credits go into this control even with no tiles (see maps.attribution).
        attribution_control=True,
    )
    # branca writes the title into the page unescaped.
    figure = cast(Figure, m.get_root())
    figure.title = html.escape(title)
    figure.header.add_child(Element(_PAGE_CSS), name="walktalk_page_css")
    PhoneLayers().add_to(m)
    if tiles is None:
        NoBaseMapNotice().add_to(m)
    elif tiles.kind == "vector":
        VectorBaseMap(tiles).add_to(m)
        if not tiles.streets:
            NoBaseMapNotice(NO_STREETS).add_to(m)
    else:
        folium.TileLayer(
            tiles=tiles.url,
            attr=tiles.attribution,
            name=tiles.name,
            overlay=False,
            control=True,
            max_zoom=19,
        ).add_to(m)
    return m


class PhoneLayers(MacroElement):
    """On a phone, the layer list starts folded behind Leaflet's layers button.

    Folium draws the list open, which on a phone covered half the map. Under 700 px the list
    folds to its button; a tap (or Enter on the focused button) opens it, a tap on the map
    folds it again. On a laptop nothing changes.
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
            (function (map) {
                if (!window.matchMedia("(max-width: 700px)").matches) { return; }
                setTimeout(function () {
                    map.getContainer().querySelectorAll(".leaflet-control-layers").forEach(
                        function (box) {
                            var open = "leaflet-control-layers-expanded";
                            var button = box.querySelector(".leaflet-control-layers-toggle");
                            if (!button) { return; }
                            box.classList.remove(open);
                            button.setAttribute("aria-label", "Layers");
                            L.DomEvent.on(button, "click", function (event) {
                                L.DomEvent.preventDefault(event);
                                L.DomEvent.stopPropagation(event);
                                box.classList.add(open);
                            });
                            map.on("click", function () { box.classList.remove(open); });
                        }
                    );
                }, 0);
            })({{ this._parent.get_name() }});
        {% endmacro %}
        """
    )

    def __init__(self) -> None:
        super().__init__()
        self._name = "PhoneLayers"


class OpeningView(MacroElement):
    """Open the map on bounds, clear of the boxes drawn over it.

    The filters bar, the panels stacked under it, the layer list, the legends and the credits
    sit over the map, as does any element of the page marked ``data-over-map`` (the route
    editor's upload box). A map fitted to the whole frame put northern hot spots under the
    bar and, on a laptop, requests spread over two boroughs under the left-hand panels.

    Once the boxes are in place the map is fitted again into a free rectangle: each box is
    left out by one of the rectangle's four sides (beside the left column, under the bar,
    between the top and bottom rows, ...), and every such choice is tried. The closest view
    wins; among equally close ones, the one leaving most room round the bounds, so what is
    fitted sits clear of the boxes' edges and a popup opened on it stays clear too. A hidden
    or folded box (a print sheet hides the bar, a phone folds the panels to one line) takes
    only the room it takes.
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
            {{ this._parent.get_name() }}.fitBounds({{ this.bounds_js }}, {animate: false});
            (function (map, bounds) {
                bounds = L.latLngBounds(bounds);
                setTimeout(function () {
                    var frame = map.getContainer().getBoundingClientRect();
                    var boxes = [];
                    var over = [].slice.call(
                        map.getContainer().querySelectorAll(".leaflet-control")
                    ).concat([].slice.call(document.querySelectorAll("[data-over-map]")));
                    over.forEach(
                        function (box) {
                            if (box.offsetParent === null) { return; }
                            var r = box.getBoundingClientRect();
                            if (r.width < 1 || r.height < 1) { return; }
                            if (r.right <= frame.left || r.left >= frame.right ||
                                r.bottom <= frame.top || r.top >= frame.bottom) { return; }
                            boxes.push({
                                left: r.left - frame.left, top: r.top - frame.top,
                                right: frame.right - r.right, bottom: frame.bottom - r.bottom
                            });
                        }
                    );
                    if (boxes.length === 0) { return; }
                    // Each side's candidate paddings: none, or just past one box's far edge.
                    var gap = 8;
                    var pads = {left: [0], top: [0], right: [0], bottom: [0]};
                    boxes.forEach(function (b) {
                        pads.left.push(frame.width - b.right + gap);
                        pads.right.push(frame.width - b.left + gap);
                        pads.top.push(frame.height - b.bottom + gap);
                        pads.bottom.push(frame.height - b.top + gap);
                    });
                    var best = null, bestZoom = -Infinity, bestRoom = -Infinity;
                    pads.left.forEach(function (l) { pads.right.forEach(function (r) {
                        var w = frame.width - l - r;
                        if (w < 60) { return; }
                        pads.top.forEach(function (t) { pads.bottom.forEach(function (b) {
                            var h = frame.height - t - b;
                            if (h < 60) { return; }
                            // The rectangle must not reach under any box.
                            var clear = boxes.every(function (x) {
                                return frame.width - x.right <= l - gap + 0.5 ||
                                    x.left >= frame.width - r + gap - 0.5 ||
                                    frame.height - x.bottom <= t - gap + 0.5 ||
                                    x.top >= frame.height - b + gap - 0.5;
                            });
                            if (!clear) { return; }
                            var zoom = map.getBoundsZoom(bounds, false, L.point(l + r, t + b));
                            var size = map.project(bounds.getNorthEast(), zoom)
                                .subtract(map.project(bounds.getSouthWest(), zoom));
                            var room = Math.min(w - Math.abs(size.x), h - Math.abs(size.y));
                            if (zoom > bestZoom || (zoom === bestZoom && room > bestRoom)) {
                                best = [[l, t], [r, b]]; bestZoom = zoom; bestRoom = room;
                            }
                        }); });
                    }); });
                    if (best === null) { return; }
                    map.fitBounds(bounds, {
                        animate: false, paddingTopLeft: best[0], paddingBottomRight: best[1]
                    });
                }, 0);
            })({{ this._parent.get_name() }}, {{ this.bounds_js }});
        {% endmacro %}
        """
    )

    def __init__(self, bounds: Sequence[float]) -> None:
        super().__init__()
        self._name = "OpeningView"
        west, south, east, north = (float(b) for b in bounds)
        self.bounds_js = json.dumps([[south, west], [north, east]])


def fit_to(m: folium.Map, bounds: Sequence[float]) -> None:
    """Open ``m`` on ``bounds`` as shapely and GeoPandas give them: (west, south, east, north).

    The map jumps there rather than zooming there from London's view: during Leaflet's
    quarter-second opening zoom, clicks land on the moving map and not on what is drawn
    over it, so the first point of a line drawn straight away was lost (on a slow machine,
    or a fast hand, every time). The filters bar, where a page has one, does not cover it
    (:class:`OpeningView`).
    """
    OpeningView(bounds).add_to(m)


def render_page(m: folium.Map, *, asset_url: str) -> str:
    """Render a finished map as a standalone HTML page that loads nothing from a CDN.

    Raises
    ------
    UnknownAsset
        Some element still links a script or stylesheet off this server after localising;
        the page would break on a police network, so it is not returned.

    """
    localise_assets(m, asset_url)
    page: str = m.get_root().render()
    # branca's page has no language; screen readers need it to choose a voice (WCAG 3.1.1).
    page = page.replace("<html>", '<html lang="en-GB">', 1)
    remote = sorted(set(_REMOTE_ASSET_TAG.findall(page)))
    if remote:
        raise UnknownAsset(
            "the rendered map still loads from outside this server: "
            f"{', '.join(remote)}; give each a local copy in maps/assets.py"
        )
    return page
