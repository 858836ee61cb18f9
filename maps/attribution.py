"""Credit for the data on a map, shown whether or not there is a base map.

Leaflet only fills its attribution line from tile layers. Boundary data under the Open Government
Licence must be credited on the map itself, and with the tiles setting ``none`` there is no tile
layer, so the credit is added to the attribution control directly.
"""

from __future__ import annotations

import html

from folium.elements import MacroElement
from folium.template import Template

from maps.markup import js_literal


class DataAttribution(MacroElement):
    """Add a plain-text credit (e.g. an OGL statement) to the map's attribution line.

    Parameters
    ----------
    text : str
        The credit as plain text; it is HTML-escaped, so ``<`` and ``&`` show as written.

    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
            {{ this._parent.get_name() }}.attributionControl.addAttribution(
                {{ this.text_js }}
            );
        {% endmacro %}
        """
    )

    def __init__(self, text: str) -> None:
        super().__init__()
        self._name = "DataAttribution"
        if not text.strip():
            raise ValueError("a data attribution must not be empty: the data's licence needs it")
        self.text = text
        # Leaflet puts attributions in with innerHTML: escape for HTML, then for the script.
        self.text_js = js_literal(html.escape(text))
