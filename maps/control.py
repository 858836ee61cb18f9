"""A box of HTML on the map (a Leaflet control): legends, notices and panels are all one.

Clicking or scrolling inside a box must not pan or zoom the map underneath, and each box's text
sits in a ``div`` of its own class so a browser test reads it the way a person does.
"""

from __future__ import annotations

from folium.elements import MacroElement
from folium.template import Template

from maps.markup import js_literal


class MapBox(MacroElement):
    """A Leaflet control at ``position`` holding ``inner_html()`` in a ``div.<css_class>``.

    Subclasses set what they show before calling ``super().__init__`` and give
    ``inner_html``; every piece of text in it must be HTML-escaped there.
    """

    _template = Template(
        """
        {% macro header(this, kwargs) %}
            <style>{{ this.css }}</style>
        {% endmacro %}
        {% macro script(this, kwargs) %}
            (function () {
                var box = L.control({position: {{ this.position_js }}});
                box.onAdd = function () {
                    var div = L.DomUtil.create("div", {{ this.css_class_js }});
                    div.innerHTML = {{ this.html_js }};
                    L.DomEvent.disableClickPropagation(div);
                    L.DomEvent.disableScrollPropagation(div);
                    return div;
                };
                box.addTo({{ this._parent.get_name() }});
            })();
        {% endmacro %}
        """
    )

    def __init__(self, *, name: str, css_class: str, css: str, position: str) -> None:
        super().__init__()
        self._name = name
        self.css = css
        self.css_class_js = js_literal(css_class)
        self.position_js = js_literal(position)
        self.html_js = js_literal(self.inner_html())

    def inner_html(self) -> str:
        """The box's content as HTML."""
        raise NotImplementedError
