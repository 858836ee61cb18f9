"""The hot-spot map: hexagons coloured by their Getis-Ord Gi* class, with what was counted.

Council partners, planners and the public look at it to see where people feel unsafe more
often than chance would give. Each hexagon of the area is filled by its class (hot or cold at
90/95/99 % confidence after the false-discovery-rate correction, or not significant); cells
with fewer than k reports are drawn as suppressed, with no class and no count. Hovering says
the count as the viewer may see it, z and the class. Thin ward outlines, an optional layer of
police.uk crimes per hexagon (circles at the cells' centres), a legend, a layer control, the
data credit, and a panel with the filters and the method note complete the page.

The pieces the heatmap page shares (ward outlines, the crimes layer, the panel) live here too.
GeoDataFrames in, HTML out: nothing here counts or tests anything.
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from typing import Any

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo.hotspots import CLASSES, NOT_SIGNIFICANT, class_label
from maps.attribution import DataAttribution
from maps.control import MapBox
from maps.controls import ControlsPanel, MapControls
from maps.emerging import EmergingLayer
from maps.frames import checked_frame
from maps.hatch import hatch_fill
from maps.legend import Legend, LegendEntry
from maps.notice import MapNotice
from maps.page import fit_to, new_map, render_page
from maps.tiles import TileSource

__all__ = [
    "CLASS_COLOURS",
    "CRIMES_LAYER",
    "CRIME_CLASSES",
    "HOT_SPOTS_LAYER",
    "SUPPRESSED_COLOUR",
    "WARDS_LAYER",
    "AboutPanel",
    "crimes_layer",
    "crimes_legend",
    "render_hot_spot_map",
    "suppressed_text",
    "ward_outlines",
]

#: Hot in ColorBrewer OrRd, cold in Blues, a near-white middle: diverging, told apart with the
#: common colour-vision deficiencies, and in greyscale. The 90 % classes are kept clearly
#: coloured (RdBu's palest tints vanish on a base map): with 999 permutations and an FDR
#: correction, most hot spots a pilot finds are at 90 or 95 %.
CLASS_COLOURS = dict(
    zip(
        CLASSES,
        ("#d7301f", "#f17c4a", "#fdbb84", "#f7f7f7", "#9ecae1", "#4292c6", "#08519c"),
        strict=True,
    )
)
#: A suppressed cell: mid grey under hatching (``maps.hatch``), dashed, clearly "not shown"
#: rather than "not significant".
SUPPRESSED_COLOUR = "#969696"

HOT_SPOTS_LAYER = "Hot spots (hexagons)"
CRIMES_LAYER = "Police.uk crimes per hexagon"
WARDS_LAYER = "Ward outlines"

#: Crimes per hexagon: (lowest count, legend label, colour, circle radius in pixels). The first
#: class only ever appears in exact (supervisor) views; ColorBrewer Purples, off the RdBu scale.
CRIME_CLASSES = (
    (1, "1-9", "#dadaeb", 4),
    (10, "10-24", "#bcbddc", 6),
    (25, "25-49", "#9e9ac8", 8),
    (50, "50-99", "#756bb1", 10),
    (100, "100 or more", "#54278f", 12),
)

CELL_COLUMNS = ("i", "j", "count", "suppressed", "z", "p_fdr", "class")
CRIME_COLUMNS = ("i", "j", "crimes", "crimes_suppressed")
WARD_COLUMNS = ("code", "name")

_PANEL_CSS = """
.map-about {
  background: rgba(255, 255, 255, 0.94); padding: 8px 10px; border-radius: 4px;
  box-shadow: 0 1px 4px rgba(0, 0, 0, 0.3); font: 13px/1.4 sans-serif; color: #222;
  max-width: 340px; max-height: 45vh; overflow-y: auto;
}
.map-about-title { font-weight: bold; margin-bottom: 2px; }
.map-about ul { margin: 2px 0 4px 18px; padding: 0; }
.map-about details summary { cursor: pointer; color: #0b4f8a; }
.map-about details p { margin: 4px 0; }
"""


class AboutPanel(MapBox):
    """A box on the map saying what is shown: a title, the filters, and the method note.

    The filters are always visible; the method note folds out under "How these counts were
    made". Everything is plain text, HTML-escaped. The page carries it in a
    ``div.map-about`` so a browser test can read it. It folds on a phone.
    """

    fold = "About this map"

    def __init__(self, title: str, filters: Sequence[str], note: Sequence[str]) -> None:
        self.title = title
        self.filters = tuple(filters)
        self.note = tuple(note)
        super().__init__(
            name="AboutPanel", css_class="map-about", css=_PANEL_CSS, position="bottomleft"
        )

    def inner_html(self) -> str:
        """The panel's content as HTML, every piece of text escaped."""
        parts = [f'<div class="map-about-title">{html.escape(self.title)}</div>']
        parts.append("<div>Showing:</div><ul>")
        parts.extend(f"<li>{html.escape(line)}</li>" for line in self.filters)
        parts.append("</ul><details><summary>How these counts were made</summary>")
        parts.extend(f"<p>{html.escape(line)}</p>" for line in self.note)
        parts.append("</details>")
        return "".join(parts)


def suppressed_text(k: int) -> str:
    """How a suppressed count reads: ``"fewer than 10 (suppressed)"``."""
    return f"fewer than {k} (suppressed)"


def render_hot_spot_map(
    cells: gpd.GeoDataFrame,
    *,
    edge_m: int,
    k: int | None,
    wards: gpd.GeoDataFrame,
    crimes: gpd.GeoDataFrame | None = None,
    title: str,
    filters: Sequence[str],
    note: Sequence[str],
    attribution: str,
    asset_url: str,
    tiles: TileSource | None,
    controls: MapControls | None = None,
    emerging: EmergingLayer | None = None,
) -> str:
    """Render hexagon hot spots as a standalone HTML page.

    Parameters
    ----------
    cells : GeoDataFrame
        Every hexagon of the area, as the viewer may see it (``geo.hotspots.hot_spots`` with
        the polygons): ``i, j, count, suppressed, z, p_fdr, class``; ``count``, ``z`` and
        ``p_fdr`` NaN and ``class`` None where suppressed. Any CRS (reprojected to WGS84).
    edge_m : int
        The hexagons' edge, for the legend.
    k : int or None
        The suppression threshold the viewer's counts follow, for the words "fewer than k";
        None for exact (supervisor) views.
    wards : GeoDataFrame
        Ward outlines to draw: ``code, name`` and polygons.
    crimes : GeoDataFrame, optional
        Police.uk crimes per hexagon: ``i, j, crimes, crimes_suppressed`` with the cells'
        polygons (drawn as circles at their centres); None leaves the layer out.
    title : str
        The panel's heading, plain text.
    filters : sequence of str
        The filters in words (``AggregateFilter.describe``).
    note : sequence of str
        The method note's sentences.
    attribution : str
        Plain-text credit for the data shown (boundaries; police.uk when crimes are shown).
    asset_url : str
        URL prefix the service serves Leaflet and the other assets under.
    tiles : TileSource or None
        The base map; None for none.
    controls : MapControls, optional
        The filters, downloads and home link (:mod:`maps.controls`), drawn top left.
    emerging : EmergingLayer, optional
        Emerging hot spots (:mod:`maps.emerging`): a layer, off at first, and its legend.

    Returns
    -------
    str
        The HTML page.

    Raises
    ------
    ValueError
        A frame lacks a column or a CRS, a class is unknown, or a suppressed cell carries a
        count or a class (which the page must never show).

    """
    frame = _checked_cells(cells)
    ward_frame = checked_frame(wards, WARD_COLUMNS, "wards")
    crime_frame = None if crimes is None else checked_frame(crimes, CRIME_COLUMNS, "crimes")

    m = new_map(title=f"{title} — Walk and Talk Maps", tiles=tiles)
    if controls is not None:
        ControlsPanel(controls).add_to(m)
    if frame.empty:
        MapNotice("There are no hexagons in this area.").add_to(m)
    else:
        _cell_layer(frame, k, hatch_fill(m, SUPPRESSED_COLOUR)).add_to(m)
    if not ward_frame.empty:
        ward_outlines(ward_frame).add_to(m)
    if crime_frame is not None:
        crimes_layer(crime_frame, k).add_to(m)
    if emerging is not None:
        emerging.add_to(m, k)

    entries = [LegendEntry(class_label(c), CLASS_COLOURS[c]) for c in CLASSES]
    if k is not None:
        entries.append(
            LegendEntry(f"Suppressed: fewer than {k} reports", SUPPRESSED_COLOUR, hatched=True)
        )
    Legend(
        "Hot spots of reports (Getis-Ord Gi*)",
        entries,
        subtitle=f"{edge_m} m hexagons; confidence after FDR correction",
    ).add_to(m)
    if crime_frame is not None:
        crimes_legend(k).add_to(m)
    AboutPanel(title, filters, note).add_to(m)

    bounds_from = frame if not frame.empty else ward_frame
    if not bounds_from.empty:
        fit_to(m, bounds_from.total_bounds)
    DataAttribution(attribution).add_to(m)
    folium.LayerControl(collapsed=False).add_to(m)
    return render_page(m, asset_url=asset_url)


# --- layers the heatmap shares -------------------------------------------------------------


def ward_outlines(wards: gpd.GeoDataFrame, *, hover_inside: bool = False) -> folium.GeoJson:
    """Thin ward outlines named on hover (``code, name`` and polygons, WGS84).

    Unfilled, they answer a hover on the line only, which leaves the hexagons under them to
    answer theirs; with ``hover_inside`` (for maps with nothing else to hover) a fully
    transparent fill makes the whole ward answer.
    """
    shown = gpd.GeoDataFrame(
        {
            # Folium's tooltip puts property values in with innerHTML.
            "name": wards["name"].astype(str).map(lambda s: html.escape(s, quote=False)).array,
            "code": wards["code"].astype(str).map(lambda s: html.escape(s, quote=False)).array,
        },
        geometry=_rounded(wards.geometry),
        crs=wards.crs,
    )
    return folium.GeoJson(
        shown,
        name=WARDS_LAYER,
        style_function=lambda feature: {
            "fill": hover_inside,
            "fillOpacity": 0.0,
            "color": "#333333",
            "weight": 1.2,
        },
        zoom_on_click=False,
        tooltip=folium.GeoJsonTooltip(
            fields=["name", "code"], aliases=["Ward", "Ward code"], sticky=True
        ),
    )


def crimes_layer(crimes: gpd.GeoDataFrame, k: int | None) -> folium.GeoJson | folium.FeatureGroup:
    """Police.uk crimes per hexagon as circles at the cells' centres, by class of count.

    Only cells with a count the viewer may see get a circle: a suppressed cell (fewer than k,
    or none: the two are not told apart) and an empty one get none, so the layer does not
    cover the map in grey. With nothing to draw, the layer is there but empty.
    """
    shown = crimes[~crimes["crimes_suppressed"].astype(bool) & (crimes["crimes"].fillna(0) > 0)]
    if shown.empty:
        return folium.FeatureGroup(name=CRIMES_LAYER)
    counts = shown["crimes"].astype(int)
    centres = shown.geometry.to_crs(27700).centroid.to_crs(4326)
    circles = gpd.GeoDataFrame(
        {
            "crimes": [f"{c:,}" for c in counts],
            "crime_class": [str(_crime_class(c)[0]) for c in counts],
        },
        geometry=_rounded(centres),
        crs=4326,
    )
    styles = {
        str(low): {"fillColor": colour, "radius": radius}
        for low, _, colour, radius in CRIME_CLASSES
    }

    def style(feature: dict[str, Any]) -> dict[str, Any]:
        return {
            **styles[feature["properties"]["crime_class"]],
            "color": "#3f007d",
            "weight": 1,
            "fillOpacity": 0.85,
        }

    return folium.GeoJson(
        circles,
        name=CRIMES_LAYER,
        marker=folium.CircleMarker(radius=6),
        style_function=style,
        zoom_on_click=False,
        tooltip=folium.GeoJsonTooltip(
            fields=["crimes"], aliases=["Police.uk crimes in this hexagon"], sticky=True
        ),
    )


def crimes_legend(k: int | None) -> Legend:
    """The legend of :func:`crimes_layer`."""
    entries = [
        LegendEntry(f"{label} crimes", colour)
        for low, label, colour, _ in CRIME_CLASSES
        if k is None or low >= k
    ]
    hidden = f"fewer than {k} or none" if k is not None else "none"
    return Legend(
        "Police.uk crimes per hexagon",
        entries,
        subtitle=f"At hexagon centres, not crime locations; no circle: {hidden}",
        position="topright",
    )


# --- the hexagons --------------------------------------------------------------------------


def _cell_layer(frame: gpd.GeoDataFrame, k: int | None, hatch: str) -> folium.GeoJson:
    counts, zs, classes = [], [], []
    for count, suppressed, z, name in zip(
        frame["count"], frame["suppressed"], frame["z"], frame["class_"], strict=True
    ):
        if suppressed:
            counts.append(suppressed_text(k or 0))
            zs.append("not shown")
            classes.append("suppressed")
        else:
            counts.append(f"{int(count):,}")
            zs.append("not tested" if _missing(z) else f"{z:.2f}")
            classes.append(str(name))
    labels = [class_label(None if c == "suppressed" else c) for c in classes]
    shown = gpd.GeoDataFrame(
        {"reports": counts, "z": zs, "class_label": labels, "hot_spot_class": classes},
        geometry=_rounded(frame.geometry),
        crs=4326,
    )

    def style(feature: dict[str, Any]) -> dict[str, Any]:
        name = feature["properties"]["hot_spot_class"]
        if name == "suppressed":
            return {
                # Hatched grey: "not shown", where a flat grey would read as a (low) class.
                "fillColor": hatch,
                "fillOpacity": 0.8,
                "color": "#737373",
                "weight": 0.6,
                "dashArray": "3 3",
            }
        return {
            "fillColor": CLASS_COLOURS[name],
            "fillOpacity": 0.45 if name == NOT_SIGNIFICANT else 0.75,
            "color": "#737373",
            "weight": 0.6,
        }

    return folium.GeoJson(
        shown,
        name=HOT_SPOTS_LAYER,
        style_function=style,
        highlight_function=lambda feature: {"weight": 2.5, "color": "#000000"},
        zoom_on_click=False,
        tooltip=folium.GeoJsonTooltip(
            fields=["reports", "z", "class_label"],
            aliases=["Reports", "Gi* z-score", "Class"],
            sticky=True,
        ),
    )


# --- checking the inputs -------------------------------------------------------------------


def _checked_cells(cells: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    frame = checked_frame(cells, CELL_COLUMNS, "cells")
    frame = frame.rename(columns={"class": "class_"})
    if frame.empty:
        return frame
    suppressed = frame["suppressed"].astype(bool)
    # The page is the last place a leak could be stopped: a suppressed cell shows nothing.
    leaking = suppressed & (frame["count"].notna() | frame["class_"].notna())
    if leaking.any():
        raise ValueError(
            f"{int(leaking.sum())} suppressed cell(s) carry a count or a class; "
            "a suppressed cell must have neither"
        )
    unknown = sorted(set(frame.loc[~suppressed, "class_"].astype(str)) - set(CLASSES))
    if unknown:
        raise ValueError(f"unknown hot-spot class(es) {', '.join(unknown)}")
    return frame


def _crime_class(count: int) -> tuple[int, str, str, int]:
    chosen = CRIME_CLASSES[0]
    for entry in CRIME_CLASSES:
        if count >= entry[0]:
            chosen = entry
    return chosen


def _missing(value: object) -> bool:
    return value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value))


def _rounded(geometry: gpd.GeoSeries) -> Any:
    # Six decimals of a degree is about 0.1 m: plenty for a screen, half the page of 15 digits.
    return shapely.transform(geometry.array, lambda xy: np.round(xy, 6))
