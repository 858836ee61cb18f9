"""A short message on the map itself, for pages that have nothing to draw."""

from __future__ import annotations

import html

from folium.elements import MacroElement
from folium.template import Template

from maps.markup import js_literal

_NOTICE_CSS = """
.map-notice {
  background: #fff8e1; border: 1px solid #c9a227; padding: 8px 12px; border-radius: 4px;
  font: 14px/1.4 sans-serif; color: #222; max-width: 320px;
}
"""


class MapNotice(MacroElement):
    """A Leaflet control showing one plain-text message in a ``div.map-notice``.

    Used where an empty result would otherwise be a blank map that looks broken.
    """

    _template = Template(
        """
        {% macro header(this, kwargs) %}
            <style>{{ this.css }}</style>
        {% endmacro %}
        {% macro script(this, kwargs) %}
            (function () {
                var notice = L.control({position: "topright"});
                notice.onAdd = function () {
                    var div = L.DomUtil.create("div", "map-notice");
                    div.innerHTML = {{ this.html_js }};
                    return div;
                };
                notice.addTo({{ this._parent.get_name() }});
            })();
        {% endmacro %}
        """
    )

    def __init__(self, text: str) -> None:
        super().__init__()
        self._name = "MapNotice"
        self.text = text
        self.css = _NOTICE_CSS
        self.html_js = js_literal(html.escape(text))
