"""The route-drawing page: an officer draws the buddy's route on a map and saves it.

Folium's Draw plugin (Leaflet.draw, served locally) offers one tool, a line; the buddy's ward is
outlined so the officer can find the streets. Save sends the line as GeoJSON to the walk's
route with the page's CSRF token, and the answer (length, wards, darkness, or what was wrong)
is shown on the page.
"""

from __future__ import annotations

import html
import json
from typing import Any

import folium
import geopandas as gpd
from branca.element import Element, Figure, MacroElement
from folium.plugins import Draw
from jinja2 import Template
from shapely.geometry import LineString

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
          .route-save button.route-snap { background: #fff; color: #5b2a86;
                                          border: 2px solid #5b2a86; margin-left: 6px; }
          .route-save p { margin: 6px 0 0; }
          .route-save a.route-back { display: block; margin-top: 6px; color: #5b2a86;
                                     font-weight: 600; min-height: 24px; }
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
                (config.snapUrl ? '<button type="button" id="snap-route" class="route-snap">' +
                 'Follow the streets</button>' : '') +
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
          if (drawn.getLayers().length) {
            // A saved route is loaded: the next step is changing it, not drawing a new one.
            status("This is the saved route. To change it, use the edit tool (the pencil), " +
                   "then save.");
          }
          var line = null;
          map.on("draw:created", function (e) {
            drawn.clearLayers(); drawn.addLayer(e.layer); line = e.layer;
            status("Line drawn: press Save route.");
          });
          map.on("draw:edited", function () { status("Line changed: press Save route."); });
          var snap = document.getElementById("snap-route");
          if (snap) {
            // The drawn line replaced by the same walk along the streets, not yet saved: the
            // officer checks it (and may edit it) before Save route stores it.
            snap.addEventListener("click", function () {
              var layers = drawn.getLayers();
              if (!layers.length) {
                status("Draw the route first (the line tool, top left)."); return;
              }
              var headers = { "Content-Type": "application/json" };
              if (config.csrf) { headers["X-CSRF-Token"] = config.csrf; }
              status("Finding the streets…");
              var shape = layers[0].toGeoJSON();
              if (shape.type === "FeatureCollection") { shape = shape.features[0]; }
              fetch(config.snapUrl, { method: "POST", headers: headers,
                                      credentials: "same-origin", body: JSON.stringify(shape) })
                .then(function (r) {
                  return r.json().then(function (j) { return [r.status, j]; });
                })
                .then(function (answer) {
                  if (answer[0] !== 200) {
                    status("The line was not changed: " + answer[1].detail); return;
                  }
                  var points = answer[1].geometry.coordinates.map(function (c) {
                    return [c[1], c[0]];
                  });
                  drawn.clearLayers();
                  drawn.addLayer(L.polyline(points, { color: "#d7301f", weight: 5 }));
                  var km = function (m) { return (m / 1000).toFixed(2) + " km"; };
                  status("The line now follows the streets: " +
                         km(answer[1].properties.length_m) + " (as drawn: " +
                         km(answer[1].properties.drawn_length_m) + "). Check it, change it " +
                         "with the edit tool if need be, then press Save route.");
                })
                .catch(function () { status("The line was not changed: no connection."); });
            });
          }
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
                         "; " + Math.round(answer[1].dark_share * 100) + "% in the dark." +
                         (answer[1].outside ? " Note: " + answer[1].outside.note + "." : ""));
                  if (config.backUrl) {
                    var back = document.createElement("a");
                    back.href = config.backUrl; back.textContent = "Back to the walk";
                    back.className = "route-back";
                    document.getElementById("route-status").appendChild(back);
                  }
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

    def __init__(
        self,
        drawn: str,
        save_url: str,
        csrf: str | None,
        back_url: str | None = None,
        snap_url: str | None = None,
    ) -> None:
        super().__init__()
        self.drawn = drawn
        self.config = json.dumps(
            {"saveUrl": save_url, "csrf": csrf, "backUrl": back_url, "snapUrl": snap_url}
        )


_UPLOAD_CSS = """
<style>
  /* Above the scale, the credit and the base-map note, which sit along the bottom. */
  .route-upload { position: fixed; left: 10px; bottom: 64px; z-index: 1000; background: #fff;
                  padding: 10px 12px; border-radius: 6px; box-shadow: 0 1px 4px rgba(0,0,0,.4);
                  font: 15px system-ui, sans-serif; max-width: min(360px, calc(100vw - 40px));
                  color: #0b0c0c; }
  .route-upload summary { font-weight: 700; cursor: pointer; min-height: 24px; }
  .route-upload label { display: block; font-weight: 700; margin: 8px 0 4px; }
  .route-upload .hint { color: #505a5f; margin: 0 0 6px; }
  .route-upload input[type=file] { max-width: 100%; min-height: 32px; }
  .route-upload button { font-size: 15px; padding: 6px 12px; background: #5b2a86; color: #fff;
                         border: 0; border-radius: 4px; min-height: 40px; margin-top: 8px; }
  .route-upload button:focus-visible, .route-upload a:focus-visible,
  .route-upload input:focus-visible, .route-upload summary:focus-visible {
    outline: 3px solid #ffbf47; }
  .route-upload a { color: #5b2a86; font-weight: 600; }
  .route-upload .error { color: #b10e1e; font-weight: 700; border-left: 4px solid #b10e1e;
                         padding-left: 8px; margin: 6px 0; }
  .route-upload .notice { border-left: 4px solid #00703c; padding-left: 8px; margin: 6px 0; }
  .route-upload .legend { display: flex; align-items: center; gap: 6px; margin: 6px 0; }
  .route-upload .swatch { display: inline-block; width: 28px; border-top: 4px dashed #b35806; }
  .route-upload .swatch.inside { border-top: 4px solid #d7301f; }
  @media (max-width: 600px) {
    .route-upload { right: 10px; bottom: 128px; max-width: none; padding: 8px 10px; }
    .route-save { max-width: calc(100vw - 140px); }
  }
</style>
"""


def upload_panel(
    *,
    upload_url: str,
    csrf_token: str | None,
    notice: str | None = None,
    error: str | None = None,
    outside_note: str | None = None,
    back_url: str | None = None,
) -> str:
    """The upload form (works without JavaScript), the saved notice and the outside legend."""
    token = html.escape(csrf_token or "", quote=True)
    # data-over-map: the map opens clear of it (maps.page.OpeningView).
    parts = ['<section class="route-upload" aria-label="Upload or result" data-over-map>']
    if notice:
        parts.append(f'<p class="notice" role="status">{html.escape(notice)}')
        if back_url:
            parts.append(f' <a href="{html.escape(back_url, quote=True)}">Back to the walk</a>')
        parts.append("</p>")
    if outside_note:
        parts.append(
            '<p class="legend"><span class="swatch inside"></span> Route in the scheme\'s area</p>'
            '<p class="legend"><span class="swatch"></span> Outside the area: '
            f"{html.escape(outside_note)}</p>"
        )
    parts.append(f"<details{' open' if error else ''}><summary>Upload a route file</summary>")
    parts.append(
        f'<form method="post" action="{html.escape(upload_url, quote=True)}" '
        'enctype="multipart/form-data">'
        f'<input type="hidden" name="csrf_token" value="{token}">'
    )
    if error:
        parts.append(
            f'<p class="error" id="route-file-error" role="alert">{html.escape(error)}</p>'
        )
    described = "route-file-hint" + (" route-file-error" if error else "")
    invalid = ' aria-invalid="true"' if error else ""
    parts.append(
        '<label for="route-file">Or upload a GPX or GeoJSON file</label>'
        '<p class="hint" id="route-file-hint">A track from a phone app (.gpx) or a line '
        "(.geojson). It replaces the route shown.</p>"
        f'<input type="file" id="route-file" name="route_file" accept=".gpx,.geojson,.json,'
        f'application/gpx+xml,application/geo+json" aria-describedby="{described}"'
        f"{invalid}>"
        '<br><button type="submit">Upload route</button></form></details></section>'
    )
    return _UPLOAD_CSS + "".join(parts)


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
    upload_url: str | None = None,
    back_url: str | None = None,
    notice: str | None = None,
    error: str | None = None,
    outside: dict[str, Any] | None = None,
    snap_url: str | None = None,
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
    upload_url : str or None
        Where the upload form posts (multipart); no form when None.
    back_url : str or None
        The walk's page: the "The walk" link and "Back to the walk" after saving.
    notice, error : str or None
        A line saying what was saved, or why the uploaded file was not.
    outside : dict or None
        ``service.queries.walks.outside_parts`` of the saved route: drawn dashed, with a legend.
    snap_url : str or None
        Where "Follow the streets" sends the line (``POST /routes/snap``); no button when None
        (no streets loaded).

    """
    m, drawn = route_drawing_map(
        ward=ward,
        existing_route=existing_route,
        title=title,
        attribution=attribution,
        tiles=tiles,
        back=(back_url, "The walk") if back_url else None,
    )
    if outside is not None:
        folium.GeoJson(
            outside["geometry"],
            name="Outside the scheme's area",
            style_function=lambda _: {"color": "#b35806", "weight": 6, "dashArray": "8 8"},
            interactive=False,
        ).add_to(m)
    _SaveControl(drawn, save_url, csrf_token, back_url, snap_url).add_to(m)
    if upload_url is not None:
        root = m.get_root()
        assert isinstance(root, Figure)  # a folium Map's root is always a Figure
        root.html.add_child(
            Element(
                upload_panel(
                    upload_url=upload_url,
                    csrf_token=csrf_token,
                    notice=notice,
                    error=error,
                    outside_note=outside["note"] if outside else None,
                    back_url=back_url,
                )
            )
        )
    return render_page(m, asset_url=asset_url)


def route_drawing_map(
    *,
    ward: gpd.GeoDataFrame,
    existing_route: LineString | None,
    title: str,
    attribution: str,
    tiles: TileSource | None,
    back: tuple[str, str] | None = None,
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
    back : (href, label) or None
        The link back (the walk's page); "Home" when None.

    Returns
    -------
    folium.Map
        The map.
    str
        The JavaScript name of the feature group the drawn line goes into.

    """
    m = new_map(title=title, tiles=tiles)
    # The way back to the start page: a map page fills the window and has no other link.
    BackLink(*back).add_to(m) if back else BackLink().add_to(m)
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
        # A Polyline straight in the group (not a GeoJson layer group): Leaflet.draw's edit
        # tool edits only the group's own lines, so this is what makes the saved route editable.
        folium.PolyLine(
            [(lat, lon) for lon, lat in drawn_route(existing_route).coords],
            color="#d7301f",
            weight=5,
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
