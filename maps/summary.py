"""The ward summary map: wards shaded by reports per km², with what each figure means.

A choropleth of the figures ``service.queries.summaries`` protects: each ward filled by its
class of reports per km², a suppressed ward grey with a dashed outline (its own legend class,
"suppressed (fewer than 10 reports)"), a tooltip with every figure of the ward, a layer control,
the boundary data's credit, and a panel that echoes the filters and the method note so that a
printed or shared screenshot still says what was counted and how it was protected.

The classes are worked out from the rates as shown, never from exact counts: this module is
handed protected figures only (supervisors' exact ones are shown as they are).
"""

from __future__ import annotations

import html
import itertools
import math
from collections.abc import Sequence
from typing import Any

import folium
import geopandas as gpd
import numpy as np
import shapely
from numpy.typing import ArrayLike

from maps.attribution import DataAttribution
from maps.control import MapBox
from maps.controls import ControlsPanel, MapControls
from maps.legend import Legend, LegendEntry
from maps.notice import MapNotice
from maps.page import fit_to, new_map, render_page
from maps.tiles import TileSource

__all__ = ["RATE_COLOURS", "SUPPRESSED_COLOUR", "rate_breaks", "render_summary_map"]

#: ColorBrewer OrRd, five classes: light to dark, readable in grey and by most colour-blind eyes.
RATE_COLOURS = ("#fef0d9", "#fdcc8a", "#fc8d59", "#e34a33", "#b30000")
#: Suppressed wards: grey, outlined with dashes, so they are not read as "low".
SUPPRESSED_COLOUR = "#bdbdbd"

SUMMARY_COLUMNS = (
    "ward_code",
    "ward_name",
    "borough_name",
    "count",
    "suppressed",
    "rate_per_km2",
    "dark_share",
    "dark_suppressed",
    "walks",
    "walks_suppressed",
    "concerns",
    "concerns_suppressed",
)

_TOOLTIP = (
    ("ward_name", "Ward"),
    ("borough_name", "Borough"),
    ("reports_text", "Reports"),
    ("rate_text", "Reports per km²"),
    ("dark_text", "In the dark"),
    ("categories_text", "Top categories"),
    ("walks_text", "Walks held"),
    ("concerns_text", "Walk concerns"),
)

_PANEL_CSS = """
.map-summary {
  background: rgba(255, 255, 255, 0.95); padding: 8px 12px; border-radius: 4px;
  box-shadow: 0 1px 4px rgba(0, 0, 0, 0.3); font: 13px/1.4 sans-serif; color: #222;
  max-width: 340px; max-height: 55vh; overflow-y: auto;
}
.map-summary h2 { font-size: 15px; margin: 0 0 4px; }
.map-summary h3 { font-size: 13px; margin: 8px 0 2px; }
.map-summary ul { margin: 0; padding-left: 18px; }
.map-summary summary { cursor: pointer; font-weight: bold; }
"""


class SummaryPanel(MapBox):
    """A Leaflet control with the page's heading, the filters and the method note.

    The text sits in ``div.map-summary``: ``ul.map-summary-filters`` and
    ``ul.map-summary-note``, one ``<li>`` per filter or sentence, all escaped. It folds on a
    phone.
    """

    fold = "About this map"

    def __init__(self, heading: str, filters: Sequence[str], note: Sequence[str]) -> None:
        self.heading = heading
        self.filters = tuple(filters)
        self.note = tuple(note)
        super().__init__(
            name="SummaryPanel", css_class="map-summary", css=_PANEL_CSS, position="topleft"
        )

    def inner_html(self) -> str:
        """The panel's content as HTML, every piece of text escaped."""
        items = "".join(f"<li>{html.escape(f)}</li>" for f in self.filters)
        sentences = "".join(f"<li>{html.escape(s)}</li>" for s in self.note)
        return (
            f"<h2>{html.escape(self.heading)}</h2>"
            f'<h3>Filters</h3><ul class="map-summary-filters">{items}</ul>'
            "<details open><summary>About these figures</summary>"
            f'<ul class="map-summary-note">{sentences}</ul></details>'
        )


def rate_breaks(rates: ArrayLike, classes: int = len(RATE_COLOURS)) -> list[float]:
    """Class breaks for reports per km²: quantiles of the shown rates, rounded to 2 figures.

    Parameters
    ----------
    rates : array of float
        The rates as shown; NaN (suppressed) is left out.
    classes : int
        At most this many classes.

    Returns
    -------
    list of float
        Increasing lower bounds of the classes after the first (so ``len + 1`` classes); fewer
        when many wards share a rate. Empty when there is nothing (or one value) to class.

    Examples
    --------
    >>> rate_breaks([5.0, 10.0, 20.0, 40.0, 80.0, 160.0])
    [10.0, 20.0, 40.0, 80.0]
    >>> rate_breaks([float("nan"), 12.0])
    []

    """
    values = np.asarray(rates, dtype=float)
    values = values[~np.isnan(values)]
    if len(np.unique(values)) < 2:
        return []
    quantiles = np.quantile(values, np.linspace(0, 1, classes + 1)[1:-1])
    breaks = sorted({_two_figures(q) for q in quantiles if q > values.min()})
    return [b for b in breaks if values.min() < b <= values.max()]


def _two_figures(value: float) -> float:
    if value <= 0:
        return 0.0
    digits = 1 - math.floor(math.log10(value))
    return float(round(value, digits))


def _class_labels(breaks: list[float]) -> list[str]:
    if not breaks:
        return ["all wards shown"]
    edges = [f"{b:g}" for b in breaks]
    labels = [f"under {edges[0]} reports per km²"]
    labels += [f"{lo} to under {hi}" for lo, hi in itertools.pairwise(edges)]
    labels.append(f"{edges[-1]} or more")
    return labels


def _palette(n: int) -> list[str]:
    """``n`` colours spread over the ramp, light to dark."""
    if n == 1:
        return [RATE_COLOURS[2]]
    picks = np.round(np.linspace(0, len(RATE_COLOURS) - 1, n)).astype(int)
    return [RATE_COLOURS[i] for i in picks]


def render_summary_map(
    summary: gpd.GeoDataFrame,
    *,
    ward_set: str,
    attribution: str,
    filters: Sequence[str],
    method_note: Sequence[str],
    k: int | None,
    asset_url: str,
    tiles: TileSource | None,
    controls: MapControls | None = None,
) -> str:
    """Render the ward summary as a standalone HTML page.

    Parameters
    ----------
    summary : GeoDataFrame
        Protected figures per ward (``service.queries.summaries.protect_summary``'s columns,
        at least :data:`SUMMARY_COLUMNS` and ``top_category_<n>_label/_count``) and the ward
        polygons; EPSG:4326 (another CRS is reprojected).
    ward_set : str
        The ward set's name, e.g. ``"pilot-2024"``.
    attribution : str
        Plain-text credit for the boundary data.
    filters : sequence of str
        The filters in words (``AggregateFilter.describe``).
    method_note : sequence of str
        The method note's sentences.
    k : int or None
        The suppression threshold the figures were protected with; None for exact figures
        (then there is no suppressed class).
    asset_url : str
        Where the service serves Leaflet and the other assets.
    tiles : TileSource or None
        The base map; ``None`` for none.
    controls : MapControls, optional
        The filters, downloads and home link (:mod:`maps.controls`), drawn top left.

    Returns
    -------
    str
        The HTML page.

    Raises
    ------
    ValueError
        A column is missing, the frame has no CRS, or a shown ward lacks its rate.

    """
    frame = _checked(summary)
    layer_name = f"Reports per km² by ward ({ward_set})"
    m = new_map(title=f"Ward summary ({ward_set}) — Walk and Talk Maps", tiles=tiles)
    if controls is not None:
        ControlsPanel(controls).add_to(m)
    heading = "Ward summary: reports per km²" + (" (exact counts)" if k is None else "")
    SummaryPanel(heading, filters, method_note).add_to(m)

    if frame.empty:
        MapNotice(f"There are no wards in ward set {ward_set} for these boroughs.").add_to(m)
    else:
        shown = frame.loc[~frame["suppressed"], "rate_per_km2"].to_numpy(dtype=float)
        # At least about three wards to a class: five classes of two wards each say nothing.
        breaks = rate_breaks(shown, classes=min(len(RATE_COLOURS), max(2, len(shown) // 3)))
        colours = _palette(len(breaks) + 1)
        fills = [
            SUPPRESSED_COLOUR if hidden else colours[int(np.searchsorted(breaks, rate, "right"))]
            for hidden, rate in zip(frame["suppressed"], frame["rate_per_km2"], strict=True)
        ]
        _summary_layer(frame, fills, layer_name, k).add_to(m)
        entries = []
        if len(shown):
            labels = _class_labels(breaks)
            entries = [LegendEntry(lab, c) for lab, c in zip(labels, colours, strict=True)]
        if k is not None:
            entries.append(LegendEntry(f"suppressed (fewer than {k} reports)", SUPPRESSED_COLOUR))
        Legend("Reports per km²", entries, subtitle=f"Ward set: {ward_set}").add_to(m)
        fit_to(m, frame.total_bounds)

    DataAttribution(attribution).add_to(m)
    if tiles is not None or not frame.empty:
        folium.LayerControl(collapsed=False).add_to(m)
    return render_page(m, asset_url=asset_url)


def _checked(summary: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    missing = [c for c in SUMMARY_COLUMNS if c not in summary.columns]
    if missing:
        raise ValueError(
            f"summary frame lacks column(s) {', '.join(missing)}; "
            "pass service.queries.summaries.protect_summary's figures with the ward polygons"
        )
    if summary.crs is None:
        raise ValueError("summary frame has no CRS; ward polygons are EPSG:4326")
    frame = summary if summary.crs.equals("EPSG:4326") else summary.to_crs("EPSG:4326")
    frame = frame.reset_index(drop=True)
    lacking = frame[~frame["suppressed"] & frame["rate_per_km2"].isna()]
    if not lacking.empty:
        raise ValueError(
            f"shown ward(s) without a rate: {', '.join(map(str, lacking['ward_code']))}"
        )
    return frame


def _number(value: Any) -> str:
    return f"{float(value):,.1f}" if float(value) % 1 else f"{int(value):,}"


def _tooltip_texts(frame: gpd.GeoDataFrame, k: int | None) -> dict[str, list[str]]:
    """What the tooltip says for each ward, as plain text (escaped later)."""
    few = f"fewer than {k}" if k is not None else "none"
    texts: dict[str, list[str]] = {name: [] for name, _ in _TOOLTIP[2:]}
    for row in frame.to_dict("records"):
        hidden = bool(row["suppressed"])
        texts["reports_text"].append(few if hidden else _number(row["count"]))
        texts["rate_text"].append("not shown" if hidden else _number(row["rate_per_km2"]))
        if hidden:
            dark = "not shown"
        elif row["dark_suppressed"]:
            dark = f"{few} reports after dark"
        elif row["dark_share"] is None or _is_nan(row["dark_share"]):
            dark = "no reports"
        else:
            dark = f"{float(row['dark_share']):.0%}"
        texts["dark_text"].append(dark)
        named = [
            f"{row[f'top_category_{n}_label']} ({_number(row[f'top_category_{n}_count'])})"
            for n in (1, 2, 3)
            if row.get(f"top_category_{n}_label")
        ]
        if hidden:
            categories = "not shown"
        elif named:
            # One a line: category labels are long, and a one-line tooltip runs off the screen.
            categories = "\n".join(named)
        else:
            categories = f"none with {k} or more reports" if k is not None else "none"
        texts["categories_text"].append(categories)
        for measure in ("walks", "concerns"):
            texts[f"{measure}_text"].append(
                few if row[f"{measure}_suppressed"] else _number(row[measure])
            )
    return texts


def _is_nan(value: Any) -> bool:
    try:
        return math.isnan(float(value))
    except (TypeError, ValueError):
        return False


def _summary_layer(
    frame: gpd.GeoDataFrame, fills: list[str], layer_name: str, k: int | None
) -> folium.GeoJson:
    texts = _tooltip_texts(frame, k)
    shown = gpd.GeoDataFrame(
        {
            "ward_code": frame["ward_code"].astype(str),
            "ward_name": frame["ward_name"].astype(str),
            "borough_name": frame["borough_name"].astype(str),
            **texts,
            "fill": fills,
            "suppressed": frame["suppressed"].astype(bool),
        },
        # Six decimals of a degree is about 0.1 m: plenty for a screen, half the page size.
        geometry=shapely.transform(frame.geometry.array, lambda xy: np.round(xy, 6)),
        crs=frame.crs,
    )
    # Folium's tooltip puts property values in with innerHTML, so the text is escaped here.
    for column in ("ward_code", "ward_name", "borough_name", *texts):
        shown[column] = shown[column].map(lambda s: html.escape(s, quote=False))
    shown["categories_text"] = shown["categories_text"].str.replace("\n", "<br>")

    def style(feature: dict[str, Any]) -> dict[str, Any]:
        properties = feature["properties"]
        if properties["suppressed"]:
            return {
                "fillColor": properties["fill"],
                "fillOpacity": 0.55,
                "color": "#555555",
                "weight": 1,
                "dashArray": "4 3",
            }
        return {
            "fillColor": properties["fill"],
            "fillOpacity": 0.75,
            "color": "#333333",
            "weight": 1,
        }

    def highlight(feature: dict[str, Any]) -> dict[str, Any]:
        return {"weight": 3, "fillOpacity": 0.9}

    return folium.GeoJson(
        shown,
        name=html.escape(layer_name),
        style_function=style,
        highlight_function=highlight,
        zoom_on_click=False,
        tooltip=folium.GeoJsonTooltip(
            fields=[f for f, _ in _TOOLTIP], aliases=[a for _, a in _TOOLTIP], sticky=True
        ),
    )
