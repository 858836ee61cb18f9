"""The ward map: the wards of a ward set, coloured by borough, with names on hover."""

from __future__ import annotations

import html
from typing import Any

import folium
import geopandas as gpd
import numpy as np
import shapely

from maps.attribution import DataAttribution
from maps.controls import ControlsPanel, MapControls
from maps.legend import Legend, LegendEntry
from maps.notice import MapNotice
from maps.page import fit_to, new_map, render_page
from maps.tiles import TileSource

WARD_COLUMNS = ("code", "name", "borough_code", "borough_name")

# Okabe-Ito (told apart with the common colour-vision deficiencies) first: most pages show the
# two pilot boroughs and their neighbours. Then ColorBrewer Set3-like tints; past 20 boroughs the
# colours repeat, and the tooltip still names the borough.
BOROUGH_PALETTE = (
    "#0072b2", "#e69f00", "#009e73", "#cc79a7", "#56b4e9", "#d55e00", "#f0e442", "#999999",
    "#8dd3c7", "#bebada", "#fb8072", "#80b1d3", "#fdb462", "#b3de69", "#fccde5", "#bc80bd",
    "#ccebc5", "#ffed6f", "#a6761d", "#666666",
)  # fmt: skip

_TOOLTIP_FIELDS = ("name", "code", "borough_name")
_TOOLTIP_ALIASES = ("Ward", "Ward code", "Borough")


def borough_colours(wards: gpd.GeoDataFrame) -> dict[str, tuple[str, str]]:
    """Give each borough of the wards a fill colour, in borough-name order.

    Returns
    -------
    dict
        ``borough_code -> (borough_name, "#rrggbb")``, ordered by borough name, so the same
        boroughs get the same colours on every page.

    """
    boroughs = (
        wards[["borough_code", "borough_name"]]
        .drop_duplicates("borough_code")
        .sort_values(["borough_name", "borough_code"])
    )
    return {
        code: (name, BOROUGH_PALETTE[i % len(BOROUGH_PALETTE)])
        for i, (code, name) in enumerate(boroughs.itertuples(index=False, name=None))
    }


def render_ward_map(
    wards: gpd.GeoDataFrame,
    *,
    ward_set: str,
    attribution: str,
    asset_url: str,
    tiles: TileSource | None,
    controls: MapControls | None = None,
) -> str:
    """Render the wards of one ward set as a standalone HTML page.

    The page shows every ward filled in its borough's colour, a legend of the boroughs, the ward
    name, code and borough on hover, a layer control with the layer "Wards (<ward set>)" and the
    base map if there is one, and the data credit in the attribution line. It opens fitted to
    the wards. With no wards it says so on the map instead.

    Parameters
    ----------
    wards : GeoDataFrame
        Columns ``code, name, borough_code, borough_name`` and polygon geometries; EPSG:4326
        (another CRS is reprojected).
    ward_set : str
        The ward set's name, e.g. ``"pilot-2024"``.
    attribution : str
        Plain-text credit for the boundary data, e.g. the OGL statement.
    asset_url : str
        URL prefix the service serves Leaflet and the other assets under, e.g.
        ``"/static/vendor"`` (see :mod:`maps.assets`).
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
        A column is missing, the frame has no CRS, or a ward's geometry is missing or not a
        polygon.

    """
    frame = _checked_wards(wards)
    layer_name = f"Wards ({ward_set})"
    m = new_map(title=f"{layer_name} — Walk and Talk Maps", tiles=tiles)
    if controls is not None:
        ControlsPanel(controls).add_to(m)

    if frame.empty:
        MapNotice(f"There are no wards in ward set {ward_set}.").add_to(m)
    else:
        colours = borough_colours(frame)
        _ward_layer(frame, colours, layer_name).add_to(m)
        Legend(
            "Wards, coloured by borough",
            [LegendEntry(name, colour) for name, colour in colours.values()],
            subtitle=f"Ward set: {ward_set}",
        ).add_to(m)
        fit_to(m, frame.total_bounds)

    DataAttribution(attribution).add_to(m)
    if tiles is not None or not frame.empty:
        # An empty layer control is a box with nothing to switch; leave it off.
        folium.LayerControl(collapsed=False).add_to(m)
    return render_page(m, asset_url=asset_url)


def _checked_wards(wards: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    missing = [c for c in WARD_COLUMNS if c not in wards.columns]
    if missing:
        raise ValueError(
            f"wards frame lacks column(s) {', '.join(missing)}; "
            f"it needs {', '.join(WARD_COLUMNS)} and a geometry"
        )
    if wards.crs is None:
        raise ValueError("wards frame has no CRS; set it (ward boundaries are EPSG:4326 or 27700)")
    frame = wards[[*WARD_COLUMNS, wards.geometry.name]]
    if frame.empty:
        return frame
    if not frame.crs.equals("EPSG:4326"):
        frame = frame.to_crs("EPSG:4326")
    bad = frame[frame.geometry.isna() | frame.geometry.is_empty]
    if not bad.empty:
        raise ValueError(f"ward(s) without a geometry: {', '.join(map(str, bad['code']))}")
    not_polygons = frame[~frame.geom_type.isin(["Polygon", "MultiPolygon"])]
    if not not_polygons.empty:
        raise ValueError(
            "ward geometries must be polygons; not so for "
            f"{', '.join(map(str, not_polygons['code']))}"
        )
    return frame


def _ward_layer(
    frame: gpd.GeoDataFrame, colours: dict[str, tuple[str, str]], layer_name: str
) -> folium.GeoJson:
    # Folium's tooltip puts property values in with innerHTML, so the text is escaped here.
    shown = frame.copy()
    for column in WARD_COLUMNS:
        shown[column] = shown[column].astype(str).map(lambda s: html.escape(s, quote=False))
    # Six decimals of a degree is about 0.1 m: plenty for a screen, and it halves the page that
    # high-definition boundaries (15 significant digits) would make.
    shown = shown.set_geometry(
        gpd.GeoSeries(
            shapely.transform(shown.geometry.array, lambda xy: np.round(xy, 6)),
            index=shown.index,
            crs=shown.crs,
        )
    )

    def style(feature: dict[str, Any]) -> dict[str, Any]:
        _, colour = colours[html.unescape(feature["properties"]["borough_code"])]
        return {"fillColor": colour, "fillOpacity": 0.45, "color": "#333333", "weight": 1}

    def highlight(feature: dict[str, Any]) -> dict[str, Any]:
        return {"fillOpacity": 0.7, "weight": 3}

    return folium.GeoJson(
        shown,
        # Leaflet's layer control shows names with innerHTML too.
        name=html.escape(layer_name),
        style_function=style,
        highlight_function=highlight,
        zoom_on_click=False,
        tooltip=folium.GeoJsonTooltip(
            fields=list(_TOOLTIP_FIELDS), aliases=list(_TOOLTIP_ALIASES), sticky=True
        ),
    )
