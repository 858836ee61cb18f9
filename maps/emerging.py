"""The emerging hot-spot layer of the hot-spot map: hexagons coloured by their trend category.

Each hexagon is filled by its category from ``geo.emerging`` (new, consecutive, intensifying,
persistent, diminishing, sporadic, oscillating or historical; hot in reds, cold in blues) and
says on hover its category, the Mann-Kendall trend and in how many steps it was a significant
hot or cold spot. Hexagons with no pattern are left unfilled, so the layer reads over the hot
spots under it; hexagons whose total is under k (no category for protected viewers) are
outlined only. The layer is off by default: the page opens on the current hot spots, and the
layer control turns the trend on. Its legend names only the categories the map holds.

GeoDataFrames in, Folium out: nothing here counts or tests anything.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import folium
import geopandas as gpd
import pandas as pd

from geo.emerging import CATEGORIES, NO_PATTERN, category_label
from maps.frames import checked_frame
from maps.legend import Legend, LegendEntry

__all__ = [
    "CATEGORY_COLOURS",
    "EMERGING_LAYER",
    "EmergingLayer",
    "emerging_layer",
    "emerging_legend",
]

EMERGING_LAYER = "Emerging hot spots"
#: Hot in reds and oranges (darkest where the trend is strongest), cold in blues, the mixed
#: "oscillating" in purple and "historical" (no longer hot or cold) in muted tints.
CATEGORY_COLOURS: dict[str, str] = {
    "new_hot": "#fed976",
    "consecutive_hot": "#feb24c",
    "intensifying_hot": "#99000d",
    "persistent_hot": "#e31a1c",
    "diminishing_hot": "#fc8d59",
    "sporadic_hot": "#fdae6b",
    "oscillating_hot": "#ae017e",
    "historical_hot": "#d9a38c",
    "new_cold": "#c6dbef",
    "consecutive_cold": "#74a9cf",
    "intensifying_cold": "#08306b",
    "persistent_cold": "#2171b5",
    "diminishing_cold": "#6baed6",
    "sporadic_cold": "#a6bddb",
    "oscillating_cold": "#7a0177",
    "historical_cold": "#9fa8c9",
    NO_PATTERN: "#ffffff",
}
#: A hexagon with no category for the viewer (its total is under k).
NO_CATEGORY_COLOUR = "#bdbdbd"
COLUMNS = ("i", "j", "category", "trend_tau", "trend_p", "hot_steps", "cold_steps")


def _text(value: Any, form: str) -> str:
    if value is None or pd.isna(value):
        return "not shown"
    return format(value, form)


def emerging_layer(cells: gpd.GeoDataFrame, *, steps: int, step: str) -> folium.GeoJson:
    """The hexagons by emerging hot-spot category, as a layer that starts hidden.

    Parameters
    ----------
    cells : GeoDataFrame
        ``service.routers.emerging.EmergingCells.cells``: ``i, j, category, trend_tau,
        trend_p, hot_steps, cold_steps`` and the polygons; ``category`` None where the viewer
        may not see one.
    steps : int
        How many time steps the trend covers, for the hover text.
    step : str
        ``quarter`` or ``month``.

    """
    frame = checked_frame(cells, COLUMNS, "emerging hot spots")
    categories = [c if isinstance(c, str) else None for c in frame["category"]]
    unknown = {c for c in categories if c is not None} - set(CATEGORIES)
    if unknown:
        raise ValueError(f"unknown emerging hot-spot categories: {sorted(unknown)}")
    shown = gpd.GeoDataFrame(
        {
            "category": [c or "none" for c in categories],
            "category_label": [category_label(c) for c in categories],
            "trend": [
                "not shown" if c is None else f"tau {_text(tau, '+.2f')}, p {_text(p, '.3f')}"
                for c, tau, p in zip(categories, frame["trend_tau"], frame["trend_p"], strict=True)
            ],
            "significant": [
                "not shown"
                if c is None
                else f"hot in {int(hot)}, cold in {int(cold)} of {steps} {step}s"
                for c, hot, cold in zip(
                    categories, frame["hot_steps"], frame["cold_steps"], strict=True
                )
            ],
        },
        geometry=frame.geometry.set_precision(1e-6).array,
        crs=4326,
    )

    def style(feature: dict[str, Any]) -> dict[str, Any]:
        name = feature["properties"]["category"]
        if name == "none":
            return {"fillOpacity": 0, "color": NO_CATEGORY_COLOUR, "weight": 0.6}
        if name == NO_PATTERN:
            return {"fillOpacity": 0, "color": "#737373", "weight": 0.4}
        return {
            "fillColor": CATEGORY_COLOURS[name],
            "fillOpacity": 0.8,
            "color": "#404040",
            "weight": 0.8,
        }

    return folium.GeoJson(
        shown,
        name=EMERGING_LAYER,
        show=False,
        style_function=style,
        highlight_function=lambda feature: {"weight": 2.5, "color": "#000000"},
        zoom_on_click=False,
        tooltip=folium.GeoJsonTooltip(
            fields=["category_label", "trend", "significant"],
            aliases=["Emerging hot spot", "Mann-Kendall trend of z", "Significant"],
            sticky=True,
        ),
    )


def emerging_legend(cells: gpd.GeoDataFrame, *, k: int | None, first: str, last: str) -> Legend:
    """The legend of :func:`emerging_layer`: the categories the map holds, in ArcGIS's order."""
    present = {c for c in cells["category"] if isinstance(c, str)}
    entries = [
        LegendEntry(category_label(c), CATEGORY_COLOURS[c])
        for c in CATEGORIES
        if c in present and c != NO_PATTERN
    ]
    entries.append(LegendEntry("No pattern detected (outline only)", "#ffffff"))
    if k is not None:
        entries.append(
            LegendEntry(f"No category: fewer than {k} reports in all", NO_CATEGORY_COLOUR)
        )
    return Legend(
        "Emerging hot spots (layer off at first)",
        entries,
        subtitle=f"Trend of Gi* from {first} to {last}; turn on in the layer list",
        position="bottomleft",
    )


@dataclass(frozen=True)
class EmergingLayer:
    """What the hot-spot page needs to draw emerging hot spots: the cells and their steps."""

    cells: gpd.GeoDataFrame
    steps: Sequence[str]
    step: str

    def add_to(self, m: folium.Map, k: int | None) -> None:
        """Add the layer (hidden at first) and its legend to the map."""
        emerging_layer(self.cells, steps=len(self.steps), step=self.step).add_to(m)
        emerging_legend(self.cells, k=k, first=self.steps[0], last=self.steps[-1]).add_to(m)
