"""The heatmap: a smoothed picture of where reports concentrate, as one image on the map.

The surface (``geo.kde``) is computed from the hexagon counts the viewer may see, on the
British National Grid. Leaflet stretches an image linearly between its corners in Web
Mercator, so the surface is first resampled onto a grid that is regular in Web Mercator
(bilinear, from the grid's own pixels), then coloured with a matplotlib colour ramp, made
transparent where there is next to nothing, and embedded as a PNG. The page's size depends on
that image (at most ``geo.kde.MAX_SIDE_PX`` pixels a side) and the ward outlines, never on the
number of reports.
"""

from __future__ import annotations

import base64
import html
import io
import math
import re
from collections.abc import Sequence

import folium
import geopandas as gpd
import matplotlib as mpl
import matplotlib.image
import numpy as np
import shapely
from numpy.typing import ArrayLike, NDArray
from pyproj import Transformer
from scipy import ndimage

from geo.kde import DensitySurface
from maps.attribution import DataAttribution
from maps.control import MapBox
from maps.controls import ControlsPanel, MapControls
from maps.frames import checked_frame
from maps.hatch import hatch_fill
from maps.hotspots import (
    CRIME_COLUMNS,
    WARD_COLUMNS,
    AboutPanel,
    crimes_layer,
    crimes_legend,
    ward_outlines,
)
from maps.legend import LEGEND_CSS
from maps.notice import MapNotice
from maps.page import fit_to, new_map, render_page
from maps.tiles import TileSource

__all__ = [
    "COLOUR_RAMP",
    "HEAT_LAYER",
    "LOG_DECADES",
    "RampLegend",
    "heat_image",
    "log_share",
    "render_heatmap",
    "suppressed_cells_layer",
]

#: ColorBrewer YlOrRd through matplotlib: pale where few, dark red where most; sequential in
#: lightness, so it reads in greyscale and with the common colour-vision deficiencies.
COLOUR_RAMP = "YlOrRd"
HEAT_LAYER = "Heatmap of reports"
#: Colour is on a log scale over this many powers of ten below the highest density: a linear
#: ramp shows the top cell and one blob, while a log one shows the streets around it, a cell
#: of ten reports beside one of a thousand.
LOG_DECADES = 3
# Below this share of the (log) ramp a pixel is transparent: the map underneath stays readable.
_TRANSPARENT_BELOW = 0.02
# The lower part of the ramp fades in, so the surface has no hard edge where it begins.
_FADE_UNTIL = 0.15
_MAX_OPACITY = 0.8
# Steps of the ramp: smooth to the eye, and a third of the PNG that 256 steps make.
_LEVELS = 64
_HEX = re.compile(r"#[0-9a-f]{6}")

_RAMP_CSS = """
.map-ramp-bar { height: 12px; width: 180px; border: 1px solid #555; margin: 4px 0 2px 0; }
.map-ramp-ends { display: flex; justify-content: space-between; width: 182px; }
"""


class RampLegend(MapBox):
    """A legend of a continuous colour ramp: a title, a gradient bar, and its two ends.

    Drawn in a ``div.map-legend`` like :class:`maps.legend.Legend`, so the pages' legends look
    alike and a browser test reads them the same way. It folds on a phone, as they do.
    """

    fold = "Legend"

    def __init__(
        self,
        title: str,
        colours: Sequence[str],
        *,
        low: str,
        high: str,
        subtitle: str | None = None,
        between: Sequence[str] = (),
        hatched: str | None = None,
    ) -> None:
        if len(colours) < 2 or not all(_HEX.fullmatch(c) for c in colours):
            raise ValueError(f"a ramp needs two or more #rrggbb colours, not {list(colours)}")
        self.title = title
        self.colours = tuple(colours)
        self.low, self.high, self.subtitle = low, high, subtitle
        # Marks evenly spaced between the ends (on a log ramp, each a power of ten).
        self.between = tuple(between)
        # A hatched swatch with this label: what the map's hatching means.
        self.hatched = hatched
        super().__init__(
            name="RampLegend",
            css_class="map-legend",
            css=LEGEND_CSS + _RAMP_CSS,
            position="bottomright",
        )

    def inner_html(self) -> str:
        """The legend's content as HTML, every label escaped."""
        title, rest = self.fold_parts()
        return title + rest

    def fold_parts(self) -> tuple[str, str]:
        """The legend's title (its summary when folded) and the rest, as HTML."""
        title = f'<div class="map-legend-title">{html.escape(self.title)}</div>'
        lines = []
        if self.subtitle:
            lines.append(f'<div class="map-legend-subtitle">{html.escape(self.subtitle)}</div>')
        gradient = ", ".join(self.colours)
        lines.append(
            f'<div class="map-ramp-bar" style="background: linear-gradient(to right, '
            f'{gradient})"></div>'
        )
        marks = "".join(
            f"<span>{html.escape(mark)}</span>" for mark in (self.low, *self.between, self.high)
        )
        lines.append(f'<div class="map-ramp-ends">{marks}</div>')
        if self.hatched:
            lines.append(
                '<ul><li><span class="map-legend-swatch map-legend-hatched" '
                f'style="background:#ffffff"></span>{html.escape(self.hatched)}</li></ul>'
            )
        return title, "".join(lines)


def ramp_colours(steps: int = 6) -> list[str]:
    """Evenly spaced colours of :data:`COLOUR_RAMP`, fewest first, as ``#rrggbb``."""
    cmap = mpl.colormaps[COLOUR_RAMP]
    return [mpl.colors.to_hex(cmap(x)) for x in np.linspace(0, 1, steps)]


def heat_image(
    surface: DensitySurface,
) -> tuple[bytes, tuple[tuple[float, float], tuple[float, float]]]:
    """The surface as a PNG for Leaflet, and its ``((south, west), (north, east))`` bounds.

    The PNG's pixels are regular in Web Mercator, so Leaflet's linear stretch puts every pixel
    where it belongs. Colour is on a log scale (:func:`log_share`); transparent from a
    thousandth of the peak down.
    """
    to_mercator = Transformer.from_crs(surface.crs, "EPSG:3857", always_xy=True)
    from_mercator = Transformer.from_crs("EPSG:3857", surface.crs, always_xy=True)
    min_x, min_y, max_x, max_y = surface.bounds
    # The raster's outline, densified: its corners alone would miss the bulge of its edges.
    t = np.linspace(0.0, 1.0, 33)
    edge_x = np.concatenate([min_x + t * (max_x - min_x), np.full(33, max_x)])
    edge_x = np.concatenate([edge_x, max_x - t * (max_x - min_x), np.full(33, min_x)])
    edge_y = np.concatenate([np.full(33, min_y), min_y + t * (max_y - min_y)])
    edge_y = np.concatenate([edge_y, np.full(33, max_y), max_y - t * (max_y - min_y)])
    mx, my = to_mercator.transform(edge_x, edge_y)
    west, east, south, north = min(mx), max(mx), min(my), max(my)

    rows, cols = surface.density.shape
    out_x = west + (np.arange(cols) + 0.5) * (east - west) / cols
    out_y = north - (np.arange(rows) + 0.5) * (north - south) / rows
    grid_x, grid_y = np.meshgrid(out_x, out_y)
    src_x, src_y = from_mercator.transform(grid_x, grid_y)
    # Fractional (row, column) in the surface, measured between pixel centres.
    src_col = (np.asarray(src_x) - min_x) / surface.pixel_m - 0.5
    src_row = (max_y - np.asarray(src_y)) / surface.pixel_m - 0.5
    warped = ndimage.map_coordinates(
        surface.density, [src_row, src_col], order=1, mode="constant", cval=0.0
    )
    png = _png(log_share(warped, surface.peak))

    mercator_to_wgs84 = Transformer.from_crs("EPSG:3857", "EPSG:4326", always_xy=True)
    lon, lat = mercator_to_wgs84.transform([west, east], [south, north])
    return png, ((float(lat[0]), float(lon[0])), (float(lat[1]), float(lon[1])))


def log_share(
    density: ArrayLike, peak: float, decades: int = LOG_DECADES
) -> NDArray[np.float64]:
    """Where each density sits on the colour ramp, on a log scale: 0 to 1.

    1 at ``peak``, 0 at ``peak / 10**decades`` and below (and everywhere when the peak is 0),
    each power of ten an equal step between.

    Examples
    --------
    >>> log_share([2000.0, 200.0, 20.0, 2.0, 0.5, 0.0], 2000.0).round(3).tolist()
    [1.0, 0.667, 0.333, 0.0, 0.0, 0.0]

    """
    values = np.asarray(density, dtype=float)
    if peak <= 0:
        return np.zeros_like(values)
    floor = peak / 10.0**decades
    with np.errstate(divide="ignore"):
        share = (np.log10(np.maximum(values, floor)) - math.log10(floor)) / decades
    return np.asarray(np.clip(share, 0.0, 1.0), dtype=np.float64)


def _png(share: NDArray[np.float64]) -> bytes:
    share = np.round(np.clip(share, 0.0, 1.0) * (_LEVELS - 1)) / (_LEVELS - 1)
    rgba = mpl.colormaps[COLOUR_RAMP](share)
    alpha = _MAX_OPACITY * np.clip(share / _FADE_UNTIL, 0.0, 1.0)
    rgba[..., 3] = np.where(share < _TRANSPARENT_BELOW, 0.0, alpha)
    buffer = io.BytesIO()
    matplotlib.image.imsave(buffer, (rgba * 255).round().astype(np.uint8), format="png")
    return buffer.getvalue()


def render_heatmap(
    surface: DensitySurface,
    *,
    wards: gpd.GeoDataFrame,
    crimes: gpd.GeoDataFrame | None = None,
    k: int | None,
    title: str,
    filters: Sequence[str],
    note: Sequence[str],
    attribution: str,
    asset_url: str,
    tiles: TileSource | None,
    controls: MapControls | None = None,
    suppressed: gpd.GeoDataFrame | None = None,
) -> str:
    """Render a density surface as a heatmap page.

    The page shows the surface as one image (layer "Heatmap of reports"), coloured on a log
    scale, ward outlines named on hover, the suppressed hexagons hatched, optionally police.uk
    crimes per hexagon, a colour-ramp legend of reports per km² marked at each power of ten
    and saying "colour on a log scale", a layer control, the data credit and a panel with the
    filters and the method note. It opens fitted to the wards (or, with none, to the surface).

    Parameters
    ----------
    surface : DensitySurface
        Reports per km² (``geo.kde.kernel_density`` of the viewer's hexagon counts).
    wards : GeoDataFrame
        Ward outlines: ``code, name`` and polygons.
    crimes : GeoDataFrame, optional
        Police.uk crimes per hexagon, as for ``maps.hotspots.render_hot_spot_map``.
    k : int or None
        The suppression threshold of the viewer's counts (for the crimes layer's words), or
        None for exact views.
    title, filters, note, attribution, asset_url, tiles
        As for ``maps.hotspots.render_hot_spot_map``.
    controls : MapControls, optional
        The filters, downloads and home link (:mod:`maps.controls`), drawn top left.
    suppressed : GeoDataFrame, optional
        The polygons of the hexagons whose counts are suppressed (any CRS): hatched, with
        "fewer than k reports" on hover, since the surface weighs them as none. Needs ``k``.

    Returns
    -------
    str
        The HTML page.

    """
    ward_frame = checked_frame(wards, WARD_COLUMNS, "wards")
    crime_frame = None if crimes is None else checked_frame(crimes, CRIME_COLUMNS, "crimes")
    m = new_map(title=f"{title} — Walk and Talk Maps", tiles=tiles)
    if controls is not None:
        ControlsPanel(controls).add_to(m)

    png, ((south, west), (north, east)) = heat_image(surface)
    folium.raster_layers.ImageOverlay(
        image="data:image/png;base64," + base64.b64encode(png).decode("ascii"),
        bounds=[[south, west], [north, east]],
        name=HEAT_LAYER,
        opacity=1.0,
        interactive=False,
        # Smoothly interpolated when zoomed in: the surface is smooth, its pixels are not news.
        pixelated=False,
    ).add_to(m)
    if surface.peak <= 0:
        MapNotice("No reports to show with these filters.").add_to(m)
    if not ward_frame.empty:
        ward_outlines(ward_frame, hover_inside=True).add_to(m)
    hidden = None
    if suppressed is not None and k is not None and not suppressed.empty:
        hidden = f"hexagons with fewer than {k} reports (suppressed)"
        suppressed_cells_layer(suppressed, k, hatch_fill(m, None), wards=ward_frame).add_to(m)
    if crime_frame is not None:
        crimes_layer(crime_frame, k).add_to(m)

    # One mark a power of ten, from the ramp's transparent end to the peak.
    marks = [_two_figures(surface.peak / 10.0**d) for d in range(LOG_DECADES, -1, -1)]
    RampLegend(
        "Reports per km²",
        ramp_colours(),
        low=marks[0],
        high=marks[-1],
        between=marks[1:-1],
        subtitle=(
            "Colour on a log scale: each mark ten times the last. "
            f"Smoothed over about {_round_m(surface.bandwidth_m)} m; "
            f"highest about {marks[-1]} per km²"
        ),
        hatched=hidden,
    ).add_to(m)
    if crime_frame is not None:
        crimes_legend(k).add_to(m)
    AboutPanel(title, filters, note).add_to(m)
    # Open on the area (the surface reaches four bandwidths beyond it, mostly transparent).
    if not ward_frame.empty:
        fit_to(m, ward_frame.total_bounds)
    else:
        fit_to(m, (west, south, east, north))
    DataAttribution(attribution).add_to(m)
    folium.LayerControl(collapsed=False).add_to(m)
    return render_page(m, asset_url=asset_url)


def suppressed_cells_layer(
    cells: gpd.GeoDataFrame, k: int, fill: str, *, wards: gpd.GeoDataFrame | None = None
) -> folium.GeoJson:
    """The suppressed hexagons as hatched areas, one a ward, saying on hover what they are.

    The cells of a ward (the one its centre is in) are merged into one area: a borough of
    small hexagons is thousands of polygons, which would double the page; by ward, hovering
    still names the ward. Without wards, one area.
    """
    if cells.crs is None:
        raise ValueError("suppressed cells have no CRS; hexagons are EPSG:27700 or EPSG:4326")
    hexagons = cells.to_crs(27700)[["geometry"]].reset_index(drop=True)
    names = np.full(len(hexagons), "", dtype=object)
    if wards is not None and not wards.empty:
        # Each cell to the ward its centre is in: hexagons stay whole, and no costly cut.
        ward_bng = wards.to_crs(27700).reset_index(drop=True)
        inside = gpd.GeoDataFrame(geometry=hexagons.centroid, crs=27700).sjoin(
            ward_bng[["name", "geometry"]], predicate="within", how="left"
        )
        inside = inside[~inside.index.duplicated()]
        names = inside["name"].fillna("").astype(str).to_numpy()
    groups = sorted(set(names))
    # Snapped to the centimetre, neighbours' shared edges are the same; then a coverage union
    # (for polygons that only share edges) merges them at a third of a general union's cost.
    snapped = shapely.set_precision(hexagons.geometry.array, 0.01)
    merged = [shapely.coverage_union_all(snapped[names == g]) for g in groups]
    what = (
        f"fewer than {k} reports in each hexagon here: not shown, "
        "and weighed as none in the heatmap"
    )
    outline = gpd.GeoSeries(merged, crs=27700).to_crs(4326)
    shown = gpd.GeoDataFrame(
        {
            # Folium's tooltip puts property values in with innerHTML.
            "ward": [html.escape(g or "outside the wards", quote=False) for g in groups],
            "what": [what] * len(groups),
        },
        # Five decimals of a degree, about a metre: plenty for hatching on a heatmap.
        geometry=shapely.transform(outline.array, lambda xy: np.round(xy, 5)),
        crs=4326,
    )
    return folium.GeoJson(
        shown,
        name=f"Suppressed hexagons (fewer than {k} reports)",
        style_function=lambda feature: {
            "fillColor": fill,
            # Light: the heat from the shown cells around still reads through the lines.
            "fillOpacity": 0.35,
            "color": "#737373",
            "weight": 0.5,
            "dashArray": "3 3",
        },
        zoom_on_click=False,
        tooltip=folium.GeoJsonTooltip(
            fields=["ward", "what"], aliases=["Ward", "Suppressed"], sticky=True
        ),
    )


def _round_m(metres: float) -> str:
    return f"{round(metres, -1):,.0f}"


def _two_figures(value: float) -> str:
    """A density as a person says it: two significant figures, 0 for none."""
    if value <= 0:
        return "0"
    digits = 1 - math.floor(math.log10(value))
    return f"{round(value, digits):,.{max(digits, 0)}f}"
