"""Base-map tiles: a setting, because police networks may reach no tile server at all.

The setting is one of:

* ``"local"`` (the default): the service's own vector tiles at ``/tiles/{z}/{x}/{y}.mvt``
  (streets, parks and water from the OpenStreetMap extracts loaded with ``walktalk osm load``,
  ward and borough lines), drawn in the browser; works with no internet at all;
* ``"osm"``: OpenStreetMap's standard raster tiles, online;
* ``"none"``: no base map; the maps draw their own layers on a blank background and say so;
* ``"URL|attribution"``: a raster tile server of the force's own, e.g.
  ``"https://tiles.example.police.uk/{z}/{x}/{y}.png|© Ordnance Survey"``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True)
class TileSource:
    """A tile server: the name in the layer control, a URL template, attribution and kind.

    ``attribution`` is HTML, shown as it is in the map's attribution line; it comes from the
    service's settings, never from users. ``kind`` is ``"raster"`` for image tiles (Leaflet's
    tile layer) or ``"vector"`` for Mapbox Vector Tiles, which the pages draw themselves
    (:mod:`maps.basemap`).
    """

    name: str
    url: str
    attribution: str
    kind: Literal["raster", "vector"] = "raster"
    #: False when the service's own tiles have no streets yet (no ``walktalk osm load``): the
    #: map pages then say so instead of looking like a base map that failed to load.
    streets: bool = True

    def page_config(self) -> dict[str, str]:
        """What a page's own script needs to draw this source (the report form, the live walk).

        Vector sources are drawn by ``walktalkBaseMap`` from ``{asset_url}/walktalk/basemap.js``
        after Leaflet.VectorGrid; raster ones by ``L.tileLayer``.
        """
        return {"url": self.url, "attribution": self.attribution, "kind": self.kind}


OPENSTREETMAP = TileSource(
    name="OpenStreetMap",
    url="https://tile.openstreetmap.org/{z}/{x}/{y}.png",
    # OSM's tile usage policy requires this credit and link on every map.
    attribution=(
        '&copy; <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a> contributors'
    ),
)

#: The service's own vector tiles (``service/routers/tiles.py``); ODbL asks for the credit.
LOCAL = TileSource(
    name="Streets (OpenStreetMap)",
    url="/tiles/{z}/{x}/{y}.mvt",
    attribution=(
        '&copy; <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a> '
        "contributors (ODbL)"
    ),
    kind="vector",
)

_CUSTOM_NAME = "Base map"


def tile_source(setting: str) -> TileSource | None:
    """Turn the tiles setting into a tile source, or ``None`` for no base map.

    Parameters
    ----------
    setting : str
        ``"local"``, ``"osm"``, ``"none"`` or ``"URL|attribution"`` (case and surrounding
        spaces of the keywords do not matter).

    Raises
    ------
    ValueError
        The setting is none of these, or a custom URL lacks ``{z}``, ``{x}`` or ``{y}``, is not
        http(s) or a path on this server, or has no attribution.

    Examples
    --------
    >>> tile_source("local").kind
    'vector'
    >>> tile_source("osm").name
    'OpenStreetMap'
    >>> tile_source("none") is None
    True
    >>> tile_source("/tiles/{z}/{x}/{y}.png|© Ordnance Survey").url
    '/tiles/{z}/{x}/{y}.png'

    """
    keyword = setting.strip().lower()
    if keyword == "local":
        return LOCAL
    if keyword == "osm":
        return OPENSTREETMAP
    if keyword == "none":
        return None
    if "|" not in setting:
        raise ValueError(
            f"tiles setting {setting!r} is not 'local', 'osm', 'none' or 'URL|attribution' "
            "(e.g. 'https://tiles.example.org/{z}/{x}/{y}.png|© Example')"
        )
    url, attribution = (part.strip() for part in setting.split("|", 1))
    missing = [p for p in ("{z}", "{x}", "{y}") if p not in url]
    if missing:
        raise ValueError(
            f"tile URL {url!r} lacks {', '.join(missing)}: a tile URL template needs {{z}}, "
            "{x} and {y}, e.g. 'https://tiles.example.org/{z}/{x}/{y}.png'"
        )
    if not url.startswith(("https://", "http://", "/")):
        raise ValueError(
            f"tile URL {url!r} must start with https://, http:// or / (a path on this server)"
        )
    if not attribution:
        # Tile providers' licences require a credit on the map.
        raise ValueError(f"tiles setting {setting!r} gives no attribution after the '|'")
    return TileSource(name=_CUSTOM_NAME, url=url, attribution=attribution)
