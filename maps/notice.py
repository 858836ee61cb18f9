"""A short message on the map itself, for pages that have nothing to draw."""

from __future__ import annotations

import html

from maps.control import MapBox

_NOTICE_CSS = """
.map-notice {
  background: #fff8e1; border: 1px solid #c9a227; padding: 8px 12px; border-radius: 4px;
  font: 14px/1.4 sans-serif; color: #222; max-width: 320px;
}
"""


class MapNotice(MapBox):
    """A Leaflet control showing one plain-text message in a ``div.map-notice``.

    Used where an empty result would otherwise be a blank map that looks broken.
    """

    def __init__(self, text: str) -> None:
        self.text = text
        super().__init__(
            name="MapNotice", css_class="map-notice", css=_NOTICE_CSS, position="topright"
        )

    def inner_html(self) -> str:
        """The message, escaped."""
        return html.escape(self.text)
