"""The printed map: any map page laid out on an A4 landscape sheet, for PNG and PDF.

A printed map must say on paper what the page says on screen, where nothing folds out: a header
with the title and the period (the filters in words), the map with Leaflet's scale bar and a
north arrow, and a panel with the page's own legends, the method note and the data credit.

The layout is added to the page's own HTML (the same page a browser gets), so the print shows
exactly what that caller's page shows, nothing more. :func:`print_layout` adds a stylesheet
that fixes the map and the panel on the sheet before the map opens (so Leaflet fits its bounds
to the printed size), and a script whose ``walktalkPrint.arrange()`` moves the legends and the
attribution line into the panel, hides the on-screen controls (filters, layer switcher, zoom,
the page's own about panels, whose note the sheet prints in full) and shrinks the panel's type
until everything fits. ``service.printing`` runs it in Chromium. HTML in, HTML out.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

__all__ = ["SHEET_PX", "MapSheet", "print_layout"]

#: A4 landscape in CSS pixels (96 per inch, 297 by 210 mm): Chromium lays a PDF page out at
#: this size, and the PNG is a screenshot of a window this size, so both are one layout.
SHEET_PX = (1123, 794)


@dataclass(frozen=True)
class MapSheet:
    """A map page and the words its printed sheet puts around the map.

    Parameters
    ----------
    html : str
        The page as the caller's browser gets it.
    title : str
        The sheet's heading, plain text.
    period : sequence of str
        The period and the filters in words, e.g. ``["all months to 4 December 2026",
        "boroughs Lambeth (E09000022)"]``.
    note : sequence of str
        The method note's sentences: how the figures were made and protected.

    """

    html: str
    title: str
    period: Sequence[str]
    note: Sequence[str] = field(default_factory=tuple)


_STYLE = """
<style id="print-layout">
@page { size: A4 landscape; margin: 0; }
html, body { width: 297mm !important; height: 210mm !important; margin: 0 !important;
  overflow: hidden !important; background: #fff !important; }
/* Only the map and the sheet print: a page's other elements (its controls, links home) are
   for the screen. Visibility, not display, so a map nested in them still lays out. */
body * { visibility: hidden !important; }
.folium-map, .folium-map *, .print-sheet, .print-sheet * { visibility: visible !important; }
/* The hatch patterns suppressed areas are painted with: hidden, they paint nothing. */
.map-patterns, .map-patterns * { visibility: visible !important; }
*, *::before, *::after { transition: none !important; animation: none !important; }
.folium-map { position: fixed !important; left: 8mm !important; top: 25mm !important;
  width: 196mm !important; height: 177mm !important; right: auto !important;
  bottom: auto !important; border: 0.3mm solid #444; box-sizing: border-box; z-index: 1; }
.folium-map .leaflet-control:not(.leaflet-control-scale):not(.map-notice) {
  display: none !important; }
/* Whatever stays in the map's top right corner (a notice) sits under the north arrow. */
.folium-map .leaflet-top.leaflet-right { margin-top: 16mm; }
.folium-map .leaflet-control-scale-line { background: rgba(255, 255, 255, 0.9);
  border-color: #222; color: #111; font: 11px/1.2 sans-serif; padding: 1px 4px; }
/* No ligatures: a PDF's text is searched and copied, and "ﬁ" is not "fi" there. */
.print-sheet, .folium-map { font-variant-ligatures: none; }
.print-sheet { font-family: "DejaVu Sans", "Liberation Sans", Arial, sans-serif; color: #111; }
.print-header { position: fixed; left: 8mm; top: 6mm; width: 281mm; height: 17mm;
  overflow: hidden; z-index: 2; }
.print-header h1 { font-size: 20px; line-height: 1.2; margin: 0 0 2px; font-weight: bold; }
.print-period { font-size: 12px; line-height: 1.35; margin: 0; color: #222; }
.print-period span { display: block; }
.print-north { position: fixed; left: 189mm; top: 28mm; width: 11mm; z-index: 3;
  text-align: center; background: rgba(255, 255, 255, 0.9); border-radius: 2mm;
  padding: 1mm 0 0.5mm; }
.print-north svg { display: block; margin: 0 auto; width: 7mm; height: 9mm; }
.print-north span { display: block; font: bold 14px/1 sans-serif; }
.print-panel { position: fixed; left: 209mm; top: 25mm; width: 80mm; height: 177mm;
  overflow: hidden; font-size: 11px; line-height: 1.35; z-index: 2; }
.print-panel h2 { font-size: 1.1em; margin: 0 0 0.3em; font-weight: bold; }
.print-panel section { margin-bottom: 0.8em; }
.print-panel p { margin: 0 0 0.35em; }
.print-legends .map-legend { font: inherit !important; max-height: none !important;
  overflow: visible !important; box-shadow: none !important; padding: 0 !important;
  margin: 0 0 0.6em !important; background: none !important; max-width: none !important;
  float: none !important; clear: none !important; }
/* A legend's fold summary is its title on paper: nothing to click. */
.print-legends details.map-fold > summary { display: block !important; list-style: none;
  cursor: default; color: #111 !important; min-height: 0 !important;
  line-height: inherit !important; }
.print-legends details.map-fold > summary::-webkit-details-marker { display: none; }
.print-legends details.map-fold > summary::marker { content: ""; }
.print-legends .map-legend-swatch { width: 1.2em !important; height: 1.2em !important;
  flex: none; }
.print-credit .leaflet-control-attribution { display: block !important; float: none !important;
  background: none !important; padding: 0 !important; margin: 0 !important;
  font: inherit !important; color: #222 !important; }
.print-credit a { color: #222 !important; text-decoration: none !important; }
.print-credit .leaflet-attribution-flag { display: none !important; }
.print-footer { color: #444; }
</style>
"""

# Runs in the page's head after Leaflet has loaded, before the page makes its map: a sheet
# fits the map to its data at any zoom, not the nearest whole one (which left half the
# frame empty), and draws at once, with no animation to wait for.
_LEAFLET_DEFAULTS = """
<script id="print-leaflet">
if (window.L) {
  L.Map.mergeOptions({zoomSnap: 0.05, zoomAnimation: false, fadeAnimation: false,
                      markerZoomAnimation: false});
}
</script>
"""

_SCRIPT = """
<script id="print-arrange">
window.walktalkPrint = {
  // Move the page's legends and credit into the panel, then fit the panel's type to it.
  arrange: function () {
    var legends = document.querySelector(".print-legends");
    document.querySelectorAll(".folium-map .map-legend").forEach(function (legend) {
      legend.querySelectorAll("details").forEach(function (d) { d.open = true; });
      legends.appendChild(legend);
    });
    if (!legends.querySelector(".map-legend")) { legends.style.display = "none"; }
    var credit = document.querySelector(".folium-map .leaflet-control-attribution");
    if (credit) { document.querySelector(".print-credit").appendChild(credit); }
    this.fit(document.querySelector(".print-panel"), 11, 6.5);
    this.fit(document.querySelector(".print-header"), 12, 8, ".print-period");
    return this.overflowing();
  },
  // Shrink the type of ``box`` (or of its ``part``) until nothing is cut off.
  fit: function (box, size, smallest, part) {
    var target = part ? box.querySelector(part) : box;
    while (box.scrollHeight > box.clientHeight + 1 && size > smallest) {
      size -= 0.25;
      target.style.fontSize = size + "px";
    }
  },
  // What is still cut off, by name: the print refuses to hand out a sheet that hides words.
  overflowing: function () {
    return [".print-panel", ".print-header"].filter(function (selector) {
      var box = document.querySelector(selector);
      return box.scrollHeight > box.clientHeight + 1;
    });
  }
};
</script>
"""

# A plain arrow: a filled half and an outlined half, as on Ordnance Survey maps.
_NORTH_ARROW = (
    '<svg viewBox="0 0 20 26" aria-hidden="true">'
    '<path d="M10 1 L18 25 L10 19 Z" fill="#111"/>'
    '<path d="M10 1 L2 25 L10 19 Z" fill="#fff" stroke="#111" stroke-width="1"/></svg>'
)


def _paragraphs(lines: Sequence[str]) -> str:
    return "".join(f"<p>{html.escape(line)}</p>" for line in lines)


def print_layout(sheet: MapSheet, *, printed_at: datetime) -> str:
    """The page of ``sheet`` laid out for A4 landscape.

    Parameters
    ----------
    sheet : MapSheet
        The page and what the sheet says around the map.
    printed_at : datetime
        When it was printed, for the footer (London time is what readers expect).

    Returns
    -------
    str
        The page's HTML with the print stylesheet in its head and the sheet (header, panel,
        north arrow, ``walktalkPrint``) at the end of its body.

    Raises
    ------
    ValueError
        The page has no ``</head>`` or ``</body>`` to add the layout to, or the sheet has no
        title: a printed map must say what it is.

    Examples
    --------
    >>> from datetime import datetime
    >>> page = "<html><head></head><body><div class='folium-map'></div></body></html>"
    >>> laid_out = print_layout(MapSheet(page, "Wards", ["ward set pilot"]),
    ...                         printed_at=datetime(2026, 12, 4, 18, 30))
    >>> "<h1>Wards</h1>" in laid_out and "@page { size: A4 landscape" in laid_out
    True

    """
    if not sheet.title.strip():
        raise ValueError("a printed map needs a title")
    page = sheet.html
    head_end, body_end = page.find("</head>"), page.rfind("</body>")
    if head_end < 0 or body_end < 0:
        raise ValueError("the map page has no </head> or </body> to add the print layout to")
    period = "".join(f"<span>{html.escape(line)}</span>" for line in sheet.period if line.strip())
    stamp = f"{printed_at:%-d %B %Y, %H:%M}"
    note = (
        f'<section class="print-note"><h2>How this map was made</h2>'
        f"{_paragraphs(sheet.note)}</section>"
        if sheet.note
        else ""
    )
    markup = (
        '<div class="print-sheet">'
        f'<header class="print-header"><h1>{html.escape(sheet.title)}</h1>'
        f'<p class="print-period">{period}</p></header>'
        f'<div class="print-north" role="img" aria-label="North arrow">{_NORTH_ARROW}'
        "<span>N</span></div>"
        '<aside class="print-panel">'
        '<section class="print-legends"><h2>Legend</h2></section>'
        f"{note}"
        '<section class="print-credit"><h2>Data and credits</h2></section>'
        f'<p class="print-footer">Printed {html.escape(stamp)} from Walk and Talk Maps. '
        "Scale bar on the map; north is up.</p>"
        "</aside></div>"
    )
    # Folium writes the map's script after </body>; the arranging script comes after it.
    html_end = page.rfind("</html>")
    html_end = len(page) if html_end < body_end else html_end
    return (
        page[:head_end]
        + _STYLE
        + _LEAFLET_DEFAULTS
        + page[head_end:body_end]
        + markup
        + page[body_end:html_end]
        + _SCRIPT
        + page[html_end:]
    )
