"""The page shell every map shares: a titled Folium map, its base tiles, and offline rendering."""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from typing import cast

import folium
from branca.element import Element, Figure
from folium.map import FitBounds

from maps.assets import UnknownAsset, localise_assets
from maps.basemap import NoBaseMapNotice, VectorBaseMap
from maps.tiles import TileSource

#: Where a map with nothing to fit to opens: central London (Charing Cross).
LONDON_CENTRE = (51.5073, -0.1276)
LONDON_ZOOM = 11

# A long attribution line (OpenStreetMap's and the boundaries' credits) wraps instead of
# running under the scale bar in the opposite corner and hiding it.
_PAGE_CSS = "<style>.leaflet-bottom.leaflet-right { max-width: calc(100% - 130px); }</style>"

# A <script src> or <link href> that still points off this server. Tile URLs live inside the
# map's JavaScript, not in such tags, so they do not match.
_REMOTE_ASSET_TAG = re.compile(
    r"""<(?:script|link)\b[^>]*?\b(?:src|href)\s*=\s*["']?((?:https?:)?//[^"'\s>]+)""",
    re.IGNORECASE,
)


def new_map(*, title: str, tiles: TileSource | None) -> folium.Map:
    """Start a map page: London view, scale bar, attribution line, and the base map if any.

    Parameters
    ----------
    title : str
        The page's ``<title>``, plain text.
    tiles : TileSource or None
        The base map: vector tiles (the service's own, drawn under the overlays with street
        names above them), raster tiles, or ``None``, which leaves the background blank and
        puts a notice on the map saying how to get a base map.

    """
    m = folium.Map(
        location=LONDON_CENTRE,
        zoom_start=LONDON_ZOOM,
        tiles=None,
        control_scale=True,
        # Data credits go into this control even with no tiles (see maps.attribution).
        attribution_control=True,
    )
    # branca writes the title into the page unescaped.
    figure = cast(Figure, m.get_root())
    figure.title = html.escape(title)
    figure.header.add_child(Element(_PAGE_CSS), name="walktalk_page_css")
    if tiles is None:
        NoBaseMapNotice().add_to(m)
    elif tiles.kind == "vector":
        VectorBaseMap(tiles).add_to(m)
    else:
        folium.TileLayer(
            tiles=tiles.url,
            attr=tiles.attribution,
            name=tiles.name,
            overlay=False,
            control=True,
            max_zoom=19,
        ).add_to(m)
    return m


def fit_to(m: folium.Map, bounds: Sequence[float]) -> None:
    """Open ``m`` on ``bounds`` as shapely and GeoPandas give them: (west, south, east, north).

    The map jumps there rather than zooming there from London's view: during Leaflet's
    quarter-second opening zoom, clicks land on the moving map and not on what is drawn
    over it, so the first point of a line drawn straight away was lost (on a slow machine,
    or a fast hand, every time).
    """
    west, south, east, north = (float(b) for b in bounds)
    opening = FitBounds([[south, west], [north, east]])
    opening.options["animate"] = False
    opening.add_to(m)


def render_page(m: folium.Map, *, asset_url: str) -> str:
    """Render a finished map as a standalone HTML page that loads nothing from a CDN.

    Raises
    ------
    UnknownAsset
        Some element still links a script or stylesheet off this server after localising;
        the page would break on a police network, so it is not returned.

    """
    localise_assets(m, asset_url)
    page: str = m.get_root().render()
    # branca's page has no language; screen readers need it to choose a voice (WCAG 3.1.1).
    page = page.replace("<html>", '<html lang="en-GB">', 1)
    remote = sorted(set(_REMOTE_ASSET_TAG.findall(page)))
    if remote:
        raise UnknownAsset(
            "the rendered map still loads from outside this server: "
            f"{', '.join(remote)}; give each a local copy in maps/assets.py"
        )
    return page
