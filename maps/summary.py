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
import math
from collections.abc import Sequence
from typing import Any

import folium
import geopandas as gpd
import numpy as np
import shapely
from numpy.typing import ArrayLike

from maps.attribution import DataAttribution
from maps.classes import DEFAULT_SCHEME, Classes, check_scheme, classify
from maps.control import MapBox
from maps.controls import ControlsPanel, MapControls
from maps.hatch import hatch_fill
from maps.legend import Legend, LegendEntry
from maps.notice import MapNotice
from maps.page import fit_to, new_map, render_page
from maps.tiles import TileSource

__all__ = ["RATE_COLOURS", "SUPPRESSED_COLOUR", "rate_classes", "render_summary_map"]

#: ColorBrewer OrRd, five classes: light to dark, readable in grey and by most colour-blind eyes.
RATE_COLOURS = ("#fef0d9", "#fdcc8a", "#fc8d59", "#e34a33", "#b30000")
#: Suppressed wards: grey under dark hatching, outlined with dashes, so they are not read as
#: "low" (the property ``fill`` and the legend swatch carry this grey; the map hatches it).
SUPPRESSED_COLOUR = "#bdbdbd"
#: Rates are shown to one decimal: no class is narrower than that.
_SHOWN_STEP = 0.1

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
    ("per_resident_text", "Reports per 1,000 residents"),
    ("per_woman_text", "Reports per 1,000 women"),
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


def rate_classes(
    rates: ArrayLike,
    areas_km2: ArrayLike,
    *,
    scheme: str = DEFAULT_SCHEME,
    rounding: int | None,
    classes: int = len(RATE_COLOURS),
) -> Classes:
    """Classes of reports per km² as shown, never narrower than the counts' rounding allows.

    A count rounded to ``rounding`` gives a rate known to ``rounding / area``; the classes'
    step is that of the median shown ward (at least 0.1, the rates' last decimal shown).

    Parameters
    ----------
    rates : array of float
        The rates as shown; NaN (suppressed) is left out.
    areas_km2 : array of float
        Each ward's area, km².
    scheme : str
        A ``maps.classes.SCHEMES`` key.
    rounding : int or None
        The rounding of the counts (5 for partners); None for exact counts.
    classes : int
        At most this many classes.

    Examples
    --------
    Wards of 2 km² with counts rounded to 5: rates known to 2.5 per km².

    >>> rates = [35.0, 37.0, 39.0, 43.0, 48.0, 61.0, 2189.0]
    >>> rate_classes(rates, [2.0] * 7, rounding=5).labels()
    ['35 to 39', 'over 39 to 43', 'over 43 to 48', 'over 48 to 61', 'over 61 to 2,189']

    Wards of 0.5 km²: rates known to 10 per km², so 35 to 48 is one class.

    >>> rate_classes(rates, [0.5] * 7, rounding=5).labels()
    ['35 to 48', 'over 48 to 61', 'over 61 to 2,189']

    """
    values = np.asarray(rates, dtype=float)
    shown = ~np.isnan(values)
    step = _SHOWN_STEP
    if rounding is not None and shown.any():
        areas = np.asarray(areas_km2, dtype=float)[shown]
        step = max(step, float(rounding / np.median(areas)))
    return classify(values, scheme=scheme, k=classes, step=step, decimals=1)


def _class_labels(classes: Classes) -> list[str]:
    counts = [f"{n} ward{'' if n == 1 else 's'}" if n else "no wards" for n in classes.counts]
    return [f"{label} ({n})" for label, n in zip(classes.labels(), counts, strict=True)]


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
    classes: str = DEFAULT_SCHEME,
    rounding: int | None = None,
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
    classes : str
        How the rates are classed: a ``maps.classes.SCHEMES`` key, Fisher-Jenks by default;
        the legend names it.
    rounding : int or None
        What the counts were rounded to (``DisclosureRule.base``); None for exact counts. No
        class is narrower than the rate this rounding makes of a median ward.

    Returns
    -------
    str
        The HTML page.

    Raises
    ------
    ValueError
        A column is missing, the frame has no CRS, or a shown ward lacks its rate;
        ``maps.classes.UnknownScheme`` (a ValueError) for an unknown ``classes``.

    """
    check_scheme(classes)
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
        hidden = frame["suppressed"].to_numpy(dtype=bool)
        rates = np.where(hidden, np.nan, frame["rate_per_km2"].to_numpy(dtype=float))
        with np.errstate(divide="ignore", invalid="ignore"):
            areas = frame["area_km2"] if "area_km2" in frame else frame["count"] / rates
        # At least about three wards to a class: five classes of two wards each say nothing.
        n_shown = int((~hidden).sum())
        ranges = rate_classes(
            rates,
            areas,
            scheme=classes,
            rounding=rounding,
            classes=min(len(RATE_COLOURS), max(2, n_shown // 3)),
        )
        colours = _palette(len(ranges)) if len(ranges) else []
        fills = [
            SUPPRESSED_COLOUR if c < 0 else colours[c] for c in ranges.assign(rates).tolist()
        ]
        hatch = hatch_fill(m, SUPPRESSED_COLOUR)
        _summary_layer(frame, fills, layer_name, k, hatch).add_to(m)
        entries = [
            LegendEntry(lab, c) for lab, c in zip(_class_labels(ranges), colours, strict=True)
        ]
        if k is not None:
            entries.append(
                LegendEntry(
                    f"suppressed (fewer than {k} reports)", SUPPRESSED_COLOUR, hatched=True
                )
            )
        subtitle = f"Ward set: {ward_set}"
        if len(ranges):
            described = ranges.describe()
            if rounding is not None and len(ranges) > 1:
                # Why there may be fewer classes than asked: say the rule, with its number.
                described += (
                    f", none narrower than {ranges.number(ranges.step)} per km² "
                    f"(counts are rounded to {rounding})"
                )
            subtitle = f"{described}. {subtitle}"
        Legend("Reports per km²", entries, subtitle=subtitle).add_to(m)
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
        # "Suppressed" said in so many words: the hatching alone is a sign to learn.
        hidden_reports = f"{few} reports (suppressed)" if k is not None else few
        texts["reports_text"].append(hidden_reports if hidden else _number(row["count"]))
        texts["rate_text"].append("not shown" if hidden else _number(row["rate_per_km2"]))
        texts["per_resident_text"].append(_per_1000(row, "reports_per_1000_residents", hidden))
        texts["per_woman_text"].append(_per_1000(row, "reports_per_1000_women", hidden))
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


def _per_1000(row: dict[str, Any], column: str, hidden: bool) -> str:
    """A rate per 1,000 residents or women as the tooltip says it, or why there is none."""
    value = row.get(column)
    if hidden:
        return "not shown"
    if value is None or _is_nan(value):
        reason = row.get("rate_withheld")
        # "not shown" is kept for what the disclosure rule hides; a rate that cannot be
        # worked out (no estimates, too few residents) is not a secret.
        if not isinstance(reason, str) or reason == "suppressed":
            return "not shown"
        return f"none ({reason})"
    return f"{float(value):,.2f}"


def _is_nan(value: Any) -> bool:
    try:
        return math.isnan(float(value))
    except (TypeError, ValueError):
        return False


def _summary_layer(
    frame: gpd.GeoDataFrame, fills: list[str], layer_name: str, k: int | None, hatch: str
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
            # Hatched, not a flat grey: a flat fill reads as a (low) value.
            return {
                "fillColor": hatch,
                "fillOpacity": 1.0,
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
