"""A legend box on the map: what a layer is, and what each colour means."""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from dataclasses import dataclass

from maps.control import MapBox
from maps.hatch import hatch_swatch_css

_HEX_COLOUR = re.compile(r"#[0-9a-fA-F]{6}")

#: How every legend looks, swatches or ramp.
LEGEND_CSS = """
.map-legend {
  background: rgba(255, 255, 255, 0.92); padding: 8px 10px; border-radius: 4px;
  box-shadow: 0 1px 4px rgba(0, 0, 0, 0.3); font: 13px/1.4 sans-serif; color: #222;
  max-height: 60vh; overflow-y: auto; max-width: 300px;
}
.map-legend-title { font-weight: bold; }
.map-legend-subtitle { color: #555; margin-bottom: 4px; }
.map-legend ul { list-style: none; margin: 0; padding: 0; }
.map-legend li { display: flex; align-items: center; gap: 6px; }
.map-legend-swatch {
  display: inline-block; width: 14px; height: 14px; border: 1px solid #555; opacity: 0.8;
}
"""
LEGEND_CSS += f".map-legend-hatched {{ {hatch_swatch_css()} }}\n"


@dataclass(frozen=True)
class LegendEntry:
    """One line of a legend: a colour swatch and what it stands for.

    A ``hatched`` swatch is striped over its colour, as :func:`maps.hatch.hatch_fill` draws
    areas whose figure is suppressed.
    """

    label: str
    colour: str
    hatched: bool = False

    def __post_init__(self) -> None:
        # The colour goes into a style attribute; only a plain hex colour can't smuggle CSS in.
        if not _HEX_COLOUR.fullmatch(self.colour):
            raise ValueError(
                f"legend colour {self.colour!r} for {self.label!r} is not a #rrggbb colour"
            )


class Legend(MapBox):
    """A Leaflet control listing colours and labels under a title.

    Parameters
    ----------
    title : str
        What the layer shows, e.g. ``"Wards, coloured by borough"``.
    entries : sequence of LegendEntry
        In the order to show them.
    subtitle : str, optional
        A second line, e.g. the ward set's name.
    position : str
        A Leaflet control position: ``"topright"``, ``"bottomright"``, ...

    The page carries the labels as ``<li>`` text in a ``div.map-legend``, so a browser test can
    read them back. On a phone it is folded under "Legend" (see :class:`maps.control.MapBox`).

    """

    fold = "Legend"

    def __init__(
        self,
        title: str,
        entries: Sequence[LegendEntry],
        *,
        subtitle: str | None = None,
        position: str = "bottomright",
    ) -> None:
        self.title = title
        self.subtitle = subtitle
        self.entries = tuple(entries)
        super().__init__(name="Legend", css_class="map-legend", css=LEGEND_CSS, position=position)

    def inner_html(self) -> str:
        """Return the legend's content as HTML, every label escaped."""
        title, rest = self.fold_parts()
        return title + rest

    def fold_parts(self) -> tuple[str, str]:
        """The legend's title (the summary it folds under on a phone) and the rest, as HTML."""
        title = f'<div class="map-legend-title">{html.escape(self.title)}</div>'
        lines = []
        if self.subtitle:
            lines.append(f'<div class="map-legend-subtitle">{html.escape(self.subtitle)}</div>')
        lines.append("<ul>")
        for entry in self.entries:
            swatch = "map-legend-swatch" + (" map-legend-hatched" if entry.hatched else "")
            lines.append(
                f'<li><span class="{swatch}" style="background:{entry.colour}"></span>'
                f"{html.escape(entry.label)}</li>"
            )
        lines.append("</ul>")
        return title, "".join(lines)
