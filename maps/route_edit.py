"""The route-drawing page: an officer draws the buddy's route on a map and saves it.

Folium's Draw plugin (Leaflet.draw, served locally) offers one tool, a line; the buddy's ward is
outlined so the officer can find the streets. Save sends the line as GeoJSON to the walk's
route with the page's CSRF token, and the answer (length, wards, darkness, or what was wrong)
is shown on the page.
"""

from __future__ import annotations

import json

import folium
import geopandas as gpd
from branca.element import MacroElement
from folium.plugins import Draw
from jinja2 import Template
from shapely.geometry import LineString, mapping

from geo.routes import drawn_route
from maps.attribution import DataAttribution
from maps.controls import BackLink
from maps.page import fit_to, new_map, render_page
from maps.tiles import TileSource


class _ClickToDraw(MacroElement):
    """Let mouse clicks add the line's points in Chromium."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        // Leaflet.draw 1.0.2 with Leaflet >= 1.8 mistakes clicks for touches in Chromium
        // (Leaflet.draw issue #1026) and adds no vertex; clicks alone then draw.
        L.Draw.Polyline.prototype._onTouch = L.Util.falseFn;
        {% endmacro %}
        """
    )


class _SaveControl(MacroElement):
    """A Save button and a status line wired to the drawn line."""

    _template = Template(
        """
        {% macro header(this, kwargs) %}
        <style>
          .route-save { background: #fff; padding: 8px 10px; border-radius: 6px;
                        box-shadow: 0 1px 4px rgba(0,0,0,.4); font: 15px system-ui, sans-serif;
                        max-width: 320px; }
          .route-save button { font-size: 15px; padding: 6px 12px; background: #5b2a86;
                               color: #fff; border: 0; border-radius: 4px; min-height: 40px; }
          .route-save button:focus-visible { outline: 3px solid #ffbf47; }
          .route-save p { margin: 6px 0 0; }
        </style>
        {% endmacro %}
        {% macro script(this, kwargs) %}
        (function () {
          var map = {{ this._parent.get_name() }};
          var drawn = {{ this.drawn }};
          var config = {{ this.config }};
          var Save = L.Control.extend({
            options: { position: "topright" },
            onAdd: function () {
              var box = L.DomUtil.create("div", "route-save");
              box.innerHTML = '<button type="button" id="save-route">Save route</button>' +
                '<p id="route-status" role="status" aria-live="polite">' +
                'Draw the route with the line tool, then save.</p>';
              L.DomEvent.disableClickPropagation(box);
              return box;
            }
          });
          map.addControl(new Save());
          var status = function (text) {
            document.getElementById("route-status").textContent = text;
          };
          var line = null;
          map.on("draw:created", function (e) {
            drawn.clearLayers(); drawn.addLayer(e.layer); line = e.layer;
            status("Line drawn: press Save route.");
          });
          map.on("draw:edited", function () { status("Line changed: press Save route."); });
          document.getElementById("save-route").addEventListener("click", function () {
            var layers = drawn.getLayers();
            if (!layers.length) {
              status("Draw the route first (the line tool, top left)."); return;
            }
            var headers = { "Content-Type": "application/json" };
            if (config.csrf) { headers["X-CSRF-Token"] = config.csrf; }
            status("Saving…");
            var shape = layers[0].toGeoJSON();
            if (shape.type === "FeatureCollection") { shape = shape.features[0]; }
            fetch(config.saveUrl, { method: "PUT", headers: headers, credentials: "same-origin",
                                    body: JSON.stringify(shape) })
              .then(function (r) { return r.json().then(function (j) { return [r.status, j]; }); })
              .then(function (answer) {
                if (answer[0] === 200) {
                  var km = (answer[1].length_m / 1000).toFixed(2);
                  status("Saved: " + km + " km through " + answer[1].route_ward_names.join(", ") +
                         "; " + Math.round(answer[1].dark_share * 100) + "% in the dark.");
                } else {
                  status("Not saved: " + answer[1].detail);
                }
              })
              .catch(function () { status("Not saved: no connection. Try again."); });
          });
        })();
        {% endmacro %}
        """
    )

    def __init__(self, drawn: str, save_url: str, csrf: str | None) -> None:
        super().__init__()
        self.drawn = drawn
        self.config = json.dumps({"saveUrl": save_url, "csrf": csrf})


def render_route_editor(
    *,
    ward: gpd.GeoDataFrame,
    existing_route: LineString | None,
    save_url: str,
    csrf_token: str | None,
    title: str,
    attribution: str,
    asset_url: str,
    tiles: TileSource | None,
) -> str:
    """The route-drawing page for one walk.

    Parameters
    ----------
    ward : GeoDataFrame
        The buddy's or the walk's ward(s), EPSG:4326, columns ``code, name``: outlined.
    existing_route : LineString or None
        A route saved before, shown editable, drawn as ``geo.routes.drawn_route`` gives it.
    save_url : str
        Where Save sends the line (``PUT``), e.g. ``/walks/<id>/route``.
    csrf_token : str or None
        The signed-in browser's CSRF token (sent as ``X-CSRF-Token``).
    title : str
        The page title.
    attribution : str
        The boundary data's attribution line.
    asset_url : str
        Where the service serves Leaflet and the plugins (``/static/vendor``).
    tiles : TileSource or None
        The base map, or none offline.

    """
    m, drawn = route_drawing_map(
        ward=ward, existing_route=existing_route, title=title, attribution=attribution, tiles=tiles
    )
    _SaveControl(drawn, save_url, csrf_token).add_to(m)
    return render_page(m, asset_url=asset_url)


def route_drawing_map(
    *,
    ward: gpd.GeoDataFrame,
    existing_route: LineString | None,
    title: str,
    attribution: str,
    tiles: TileSource | None,
) -> tuple[folium.Map, str]:
    """The map of the route-drawing page without its Save control, for pages that add their own.

    The line tool (and only it), the ward outline, the credit, opened on the route or the
    ward. A page adds the control that does something with the line, reading it from the
    returned layer (``<name>.getLayers()[0].toGeoJSON()``), and renders the map with
    :func:`maps.page.render_page`.

    Parameters
    ----------
    ward, existing_route, title, attribution, tiles
        As for :func:`render_route_editor`.

    Returns
    -------
    folium.Map
        The map.
    str
        The JavaScript name of the feature group the drawn line goes into.

    """
    m = new_map(title=title, tiles=tiles)
    # The way back to the start page: a map page fills the window and has no other link.
    BackLink().add_to(m)
    outline = folium.FeatureGroup(name="Ward", control=True)
    folium.GeoJson(
        ward[["code", "name", "geometry"]].to_json(),
        style_function=lambda _: {"color": "#5b2a86", "weight": 2, "fillOpacity": 0.03},
        tooltip=folium.GeoJsonTooltip(fields=["name", "code"], aliases=["Ward", "Code"]),
        interactive=False,
    ).add_to(outline)
    outline.add_to(m)
    drawn = folium.FeatureGroup(name="Route", control=False)
    if existing_route is not None:
        # Simplified to about a metre and a half: Leaflet.draw gives every point an edit
        # handle, and a recording's thousands of them would bury the line. Saving the line
        # as drawn replaces the route with the simplified one; leaving it keeps the route.
        folium.GeoJson(
            dict(mapping(drawn_route(existing_route))),
            style_function=lambda _: {"color": "#d7301f"},
        ).add_to(drawn)
    drawn.add_to(m)
    _ClickToDraw().add_to(m)
    Draw(
        feature_group=drawn,
        show_geometry_on_click=False,
        position="topleft",
        draw_options={
            "polyline": {"shapeOptions": {"color": "#d7301f", "weight": 5}},
            "polygon": False,
            "rectangle": False,
            "circle": False,
            "marker": False,
            "circlemarker": False,
        },
        edit_options={"remove": True},
    ).add_to(m)
    DataAttribution(attribution).add_to(m)
    bounds = existing_route.bounds if existing_route is not None else ward.total_bounds
    fit_to(m, bounds)
    return m, drawn.get_name()
