"""Many points on a map as groups that open as one zooms in (Leaflet.markercluster).

A route through central London has thousands of reports and police.uk crimes within 50 m of it
once the scheme has run for a while; drawn one by one they hide the route and take seconds to
open on a phone. :class:`ClusteredPoints` sends the points as one compact array (a point is a
row ``[lat, lon, text]``, not a Folium element of its own) and the browser draws them grouped:
a group is a circle (reports) or a square (crimes) with its count, which zooms to its points
when clicked or when Enter is pressed on it. The groups' colours meet WCAG's 4.5:1 contrast
for their white numbers, unlike the plugin's default pale green, yellow and orange.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence
from typing import Any, Literal

from branca.element import Element, Figure
from folium.plugins import FastMarkerCluster
from folium.template import Template
from folium.utilities import JsCode

from maps.markup import js_literal

__all__ = ["MARKERCLUSTER_CSS", "MARKERCLUSTER_JS", "ClusteredPoints", "PointKind"]

#: The release served (see maps/assets.py): 1.5.3 is the one made for Leaflet 1.9.
MARKERCLUSTER_JS = (
    "https://cdnjs.cloudflare.com/ajax/libs/leaflet.markercluster/1.5.3/leaflet.markercluster.js"
)
MARKERCLUSTER_CSS = (
    "https://cdnjs.cloudflare.com/ajax/libs/leaflet.markercluster/1.5.3/MarkerCluster.css"
)

PointKind = Literal["report", "crime"]

#: Each kind's colour: the report blue of the route map's markers (Okabe-Ito), and near-black
#: for crimes. White numbers on them: 5.1:1 and 17:1.
KIND_COLOURS: dict[str, str] = {"report": "#0072b2", "crime": "#1a1a1a"}

# The groups and the single crimes; the single reports are circle markers styled in script.
# A group's number is at least 13 px bold; its circle or square at least 30 px, a target
# WCAG 2.2 (2.5.8) counts as large enough.
_CSS = """
.leaflet-marker-icon.walk-cluster { display: flex; align-items: center; justify-content: center;
  color: #ffffff; font: bold 13px/1 sans-serif; border: 3px solid #ffffff;
  box-shadow: 0 1px 4px rgba(0, 0, 0, 0.5); box-sizing: border-box; }
.leaflet-marker-icon.walk-cluster-report { background: #0072b2; border-radius: 50%; }
.leaflet-marker-icon.walk-cluster-crime { background: #1a1a1a; border-radius: 3px; }
.walk-cluster:focus-visible { outline: 3px solid #c05800; outline-offset: 2px; }
.leaflet-marker-icon.walk-crime { background: #1a1a1a; border: 2px solid #ffffff;
  box-sizing: border-box; box-shadow: 0 0 2px rgba(0, 0, 0, 0.6); }
.walk-visually-hidden { position: absolute !important; width: 1px; height: 1px; margin: -1px;
  padding: 0; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; border: 0; }
"""

#: The pane the crimes and their groups are drawn in, under Leaflet's marker pane.
_CRIME_PANE = "walk-crimes"

# What a group says to a screen reader after its count: "12 unsafe-place reports".
_GROUP_WORDS = {"report": "unsafe-place reports", "crime": "police.uk crimes"}

# One point: a circle marker for a report (as the route map drew them before), a small dark
# square for a crime. Its text is HTML already escaped in Python (a tooltip is set as HTML).
_CALLBACKS = {
    "report": """function (row) {
        return L.circleMarker([row[0], row[1]], {
            radius: 7, color: "#ffffff", weight: 2, fill: true,
            fillColor: "#0072b2", fillOpacity: 0.9
        }).bindTooltip(row[2], {sticky: true});
    }""",
    # keyboard: false: a single crime is no button (its text is the tooltip); the groups are.
    "crime": f"""function (row) {{
        return L.marker([row[0], row[1]], {{
            keyboard: false, pane: {js_literal(_CRIME_PANE)},
            icon: L.divIcon({{className: "walk-crime", iconSize: [12, 12]}})
        }}).bindTooltip(row[2], {{sticky: true}});
    }}""",
}


class ClusteredPoints(FastMarkerCluster):
    """A switchable layer of points drawn in groups, for a few thousand reports or crimes.

    Parameters
    ----------
    rows : iterable of (lat, lon, text)
        Each point, WGS84, with the plain text its tooltip shows (escaped here).
    kind : "report" or "crime"
        How the points and their groups look: blue circles, or dark squares.
    name : str
        The layer's name in the layer control, plain text.

    Examples
    --------
    >>> layer = ClusteredPoints([(51.5, -0.11, "Crime: Robbery, May 2024")], kind="crime",
    ...                         name="Police.uk crimes (1)")
    >>> layer.data
    [[51.5, -0.11, 'Crime: Robbery, May 2024']]

    """

    # Folium's FastMarkerCluster template, and a highest zoom for maps without one: the
    # plugin cannot group without it, and a map whose base map is the service's own vector
    # tiles (or none) has none. 19 is the raster base maps' highest.
    _template = Template(
        """
        {% macro script(this, kwargs) %}
            var {{ this.get_name() }} = (function(){
                var map = {{ this._parent.get_name() }};
                {% if this.pane %}
                if (!map.getPane({{ this.pane|tojson }})) {
                    map.createPane({{ this.pane|tojson }}).style.zIndex = 590;
                }
                {% endif %}
                var callback = {{ this.callback_js }};
                var data = {{ this.data|tojson }};
                var cluster = L.markerClusterGroup({{ this.options|tojavascript }});
                cluster.options.iconCreateFunction = {{ this.icon_create_function.strip() }};
                for (var i = 0; i < data.length; i++) {
                    callback(data[i]).addTo(cluster);
                }
                if (!isFinite(map.getMaxZoom())) { map.setMaxZoom(19); }
                cluster.addTo(map);
                return cluster;
            })();
        {% endmacro %}"""
    )

    default_js = [("markerclusterjs", MARKERCLUSTER_JS)]  # noqa: RUF012 (Folium's own shape)
    default_css = [("markerclustercss", MARKERCLUSTER_CSS)]  # noqa: RUF012

    def __init__(
        self, rows: Iterable[Sequence[object]], *, kind: PointKind, name: str
    ) -> None:
        if kind not in _CALLBACKS:
            raise ValueError(f"kind must be one of {', '.join(_CALLBACKS)}, not {kind!r}")
        data = [
            [round(float(lat), 6), round(float(lon), 6), html.escape(str(text), quote=False)]  # type: ignore[arg-type]
            for lat, lon, text in rows
        ]
        words = js_literal(_GROUP_WORDS[kind])
        # Crimes are context: they lie under the reports and the walk's concerns, which share
        # Leaflet's marker pane (600), so a group of crimes never hides a group of reports.
        # Their own pane sits above the route's lines (the overlay pane, 400).
        self.pane = _CRIME_PANE if kind == "crime" else None
        super().__init__(
            data,
            callback=_CALLBACKS[kind],
            # Folium puts the layer's name into the layer control as HTML.
            name=html.escape(name, quote=False),
            # Wider groups than the plugin's 80 px while the whole route is in view, so a
            # few groups lie along it and it shows between them; narrower closer in, where a
            # person wants to see where along the street the points are.
            maxClusterRadius=JsCode(
                "function (zoom) { return zoom <= 15 ? 120 : (zoom <= 16 ? 90 : 60); }"
            ),
            showCoverageOnHover=False,
            **({"clusterPane": self.pane} if self.pane else {}),
            spiderfyOnMaxZoom=True,
            icon_create_function=f"""function (cluster) {{
                var n = cluster.getChildCount();
                var size = n < 100 ? 30 : (n < 1000 ? 34 : 40);
                return L.divIcon({{
                    html: "<span>" + n + "</span><span class=\\"walk-visually-hidden\\"> " +
                        {words} + "</span>",
                    className: "walk-cluster walk-cluster-{kind}",
                    iconSize: L.point(size, size)
                }});
            }}""",
        )
        self._name = "ClusteredPoints"
        self.kind = kind
        self.callback_js = _CALLBACKS[kind]

    def render(self, **kwargs: Any) -> Any:
        """Render the layer, and its stylesheet once into the page's head."""
        figure = self.get_root()
        if isinstance(figure, Figure):
            figure.header.add_child(Element(f"<style>{_CSS}</style>"), name="walk_clusters_css")
        return super().render(**kwargs)
