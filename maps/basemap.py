"""The offline base map on every map page: the service's own vector tiles, or a notice.

With the tiles setting ``local`` the pages draw ``/tiles/{z}/{x}/{y}.mvt`` themselves with
Leaflet.VectorGrid (npm ``leaflet.vectorgrid``, served by the service like Leaflet) and the
script in ``maps/static/basemap.js``, which adds what VectorGrid lacks: a quiet street-map style
and street names drawn along the streets, in a pane above the overlays. With ``none`` the map
says that it has no base map and how to give it one, rather than look broken.
"""

from __future__ import annotations

import html
import json
from pathlib import Path

from folium.elements import JSCSSMixin
from folium.template import Template

from maps.control import MapBox
from maps.tiles import TileSource

#: Where Folium pages would fetch VectorGrid from; ``maps.assets`` serves a local copy instead.
VECTORGRID_CDN = "https://unpkg.com/leaflet.vectorgrid@1.3.0/dist/Leaflet.VectorGrid.bundled.min.js"

#: The drawing script, also served at ``{asset_url}/walktalk/basemap.js`` for non-Folium pages.
BASEMAP_SCRIPT: Path = Path(__file__).parent / "static" / "basemap.js"


class VectorBaseMap(JSCSSMixin):
    """Draw a vector :class:`~maps.tiles.TileSource` under the map's overlays, with street names.

    The page links VectorGrid (localised by :func:`maps.assets.localise_assets`) and carries
    ``basemap.js`` inline in its head, after that link, so a Folium page needs no other file.
    """

    _template = Template(
        """
        {% macro header(this, kwargs) %}
            <script>{{ this.script }}</script>
        {% endmacro %}
        {% macro script(this, kwargs) %}
            walktalkBaseMap({{ this._parent.get_name() }}, {{ this.options_js }});
        {% endmacro %}
        """
    )

    def __init__(self, tiles: TileSource) -> None:
        if tiles.kind != "vector":
            raise ValueError(f"{tiles.name} is a {tiles.kind} tile source, not vector tiles")
        super().__init__()
        self._name = "VectorBaseMap"
        # On the element, not the class: localise_assets replaces it with the local URL.
        self.default_js = [("leaflet.vectorgrid", VECTORGRID_CDN)]
        self.script = BASEMAP_SCRIPT.read_text(encoding="utf-8")
        options = {"url": tiles.url, "attribution": tiles.attribution}
        # As maps.markup.js_literal does: no value may close the script element.
        self.options_js = json.dumps(options).replace("<", "\\u003c").replace(">", "\\u003e")


NO_BASE_MAP = (
    "No base map: streets are not drawn. To draw them, set WALKTALK_TILES=local and load an "
    "OpenStreetMap extract with `walktalk osm load FILE.osm.pbf` (see README, Base map)."
)

_NOTICE_CSS = """
.basemap-missing {
  background: #fff8e1; border: 1px solid #c9a227; padding: 6px 10px; border-radius: 4px;
  font: 13px/1.4 sans-serif; color: #222; max-width: 320px;
}
/* On a phone the whole sentence covered the legends' buttons above it: one line says there is
   no base map; the how-to stays in the page for screen readers and on a laptop. */
@media (max-width: 700px) {
  .basemap-missing {
    max-width: 10.5em; white-space: nowrap; overflow: hidden; text-overflow: ellipsis;
  }
}
"""


NO_STREETS = (
    "No streets loaded yet: the map shows ward lines only. To draw streets, load an "
    "OpenStreetMap extract with `walktalk osm load FILE.osm.pbf` (see README, Base map)."
)


class NoBaseMapNotice(MapBox):
    """A box in the map's corner saying what the base map lacks and how to give it that."""

    def __init__(self, message: str = NO_BASE_MAP) -> None:
        self.message = message
        super().__init__(
            name="NoBaseMapNotice",
            css_class="basemap-missing",
            css=_NOTICE_CSS,
            position="bottomright",
        )

    def inner_html(self) -> str:
        """The notice, escaped."""
        return html.escape(self.message)
