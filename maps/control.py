"""A box of HTML on the map (a Leaflet control): legends, notices and panels are all one.

Clicking or scrolling inside a box must not pan or zoom the map underneath, and each box's text
sits in a ``div`` of its own class so a browser test reads it the way a person does.

A box with a ``fold`` label (legends, panels) folds under a ``<details>`` of that name: open on
a laptop, closed on a phone (under 700 px wide), where an open legend would hide the map; there
opening one box closes the others.
"""

from __future__ import annotations

import html
from typing import ClassVar

from folium.elements import MacroElement
from folium.template import Template

from maps.markup import js_literal

#: A folded box's summary: a target at least 24 px high (WCAG 2.2, 2.5.8), marked as a toggle.
FOLD_CSS = """
details.map-fold > summary {
  cursor: pointer; font-weight: bold; min-height: 24px; line-height: 24px; color: #0b4f8a;
}
details.map-fold > summary > div { display: inline; }
/* On a phone the layer list (never folded: Folium draws it expanded) keeps to the right, so
   the zoom buttons and the folded boxes on the left stay in reach. */
@media (max-width: 700px) {
  .leaflet-right .leaflet-control-layers-expanded { max-width: calc(100vw - 210px); }
}
"""


class MapBox(MacroElement):
    """A Leaflet control at ``position`` holding ``inner_html()`` in a ``div.<css_class>``.

    Subclasses set what they show before calling ``super().__init__`` and give
    ``inner_html``; every piece of text in it must be HTML-escaped there. A subclass that sets
    ``fold`` (e.g. ``"Legend"``) is drawn folded under that summary on a phone.
    """

    #: The summary a phone shows in place of the folded box; None: the box never folds.
    fold: ClassVar[str | None] = None

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
                    var phone = window.matchMedia("(max-width: 700px)");
                    div.querySelectorAll("details.map-fold").forEach(function (d) {
                        if (phone.matches) { d.open = false; }
                        // On a phone one box at a time: two open ones would cover each other.
                        d.addEventListener("toggle", function () {
                            if (!d.open || !phone.matches) { return; }
                            document.querySelectorAll("details.map-fold[open]").forEach(
                                function (other) { if (other !== d) { other.open = false; } }
                            );
                        });
                    });
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
        self.css = css + FOLD_CSS if self.fold else css
        self.css_class_js = js_literal(css_class)
        self.position_js = js_literal(position)
        if self.fold:
            summary, hidden = self.fold_parts()
            body = f'<details class="map-fold" open><summary>{summary}</summary>{hidden}</details>'
        else:
            body = self.inner_html()
        self.html_js = js_literal(body)

    def inner_html(self) -> str:
        """The box's content as HTML."""
        raise NotImplementedError

    def fold_parts(self) -> tuple[str, str]:
        """A folding box's summary and the content it folds, as HTML.

        By default the summary is the ``fold`` label and the whole content folds; a legend
        makes its own title the summary, so a folded legend still says what it is of.
        """
        return html.escape(self.fold or ""), self.inner_html()
