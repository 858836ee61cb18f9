"""Hatching for areas whose figure is suppressed: drawn as "not shown", never as a colour.

A suppressed ward or hexagon filled with a flat colour reads as a value: pale grey beside a
pale ramp looks like "few", which is exactly what must not be said (zero is suppressed too).
Diagonal lines are the cartographic sign for "no data here", and they read the same in
greyscale and to every colour vision.

Leaflet's SVG renderer writes ``fillColor`` into the path's ``fill`` attribute, so a fill of
``url(#id)`` paints the path with an SVG ``<pattern>`` defined once on the page (in a hidden
inline ``<svg>``; not ``display: none``, under which Chromium draws no pattern).
"""

from __future__ import annotations

import re
from typing import Any

import folium
from branca.element import Element

__all__ = ["HATCH_INK", "hatch_fill", "hatch_swatch_css"]

#: The lines' colour: dark grey, 7:1 against white, clear over any ramp.
HATCH_INK = "#404040"
_HEX = re.compile(r"#[0-9a-fA-F]{6}")


def hatch_fill(m: folium.Map, background: str | None, *, ink: str = HATCH_INK) -> str:
    """Put a hatch pattern on ``m``'s page; return the ``fillColor`` that paints with it.

    Parameters
    ----------
    m : folium.Map
        The map whose page gets the pattern (once per colour pair, however often asked).
    background : str or None
        ``#rrggbb`` under the lines, or None for none (the layer below shows through).
    ink : str
        ``#rrggbb`` of the lines.

    Returns
    -------
    str
        ``"url(#hatch-...)"`` for a path's ``fillColor`` (with ``fillOpacity`` 1: the
        pattern carries its own opacity).

    """
    for colour in (background, ink):
        if colour is not None and not _HEX.fullmatch(colour):
            raise ValueError(f"hatch colour {colour!r} is not a #rrggbb colour")
    ident = f"hatch-{(background or '#none')[1:]}-{ink[1:]}".lower()
    under = (
        f'<rect width="8" height="8" fill="{background}" fill-opacity="0.6"/>'
        if background
        else ""
    )
    svg = (
        '<svg class="map-patterns" width="0" height="0" aria-hidden="true" focusable="false" '
        'style="position:absolute;width:0;height:0;overflow:hidden">'
        f'<defs><pattern id="{ident}" patternUnits="userSpaceOnUse" width="8" height="8" '
        'patternTransform="rotate(45)">'
        f'{under}<line x1="0" y1="0" x2="0" y2="8" stroke="{ink}" stroke-width="2.5" '
        'stroke-opacity="0.75"/></pattern></defs></svg>'
    )
    # Keyed by the pattern's id: asking twice for the same pattern puts it on the page once.
    root: Any = m.get_root()  # a branca Figure, whose html a page's body is made of
    root.html.add_child(Element(svg), name=ident)
    return f"url(#{ident})"


def hatch_swatch_css(ink: str = HATCH_INK) -> str:
    """CSS lines that hatch a legend swatch like :func:`hatch_fill` hatches the map."""
    if not _HEX.fullmatch(ink):
        raise ValueError(f"hatch colour {ink!r} is not a #rrggbb colour")
    # Important: the swatch's own colour is an inline ``background``, whose shorthand would
    # otherwise reset the image to none.
    stripes = f"repeating-linear-gradient(-45deg, {ink} 0 2px, transparent 2px 5px)"
    return f"background-image: {stripes} !important;"
