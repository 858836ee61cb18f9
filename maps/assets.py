"""Serve Folium's JavaScript and CSS from this service instead of public CDNs.

Police networks cannot reach jsdelivr, cdnjs or code.jquery.com, so a Folium page left as it is
loads no Leaflet and shows nothing. The assets Folium 0.20 references are pinned in
``maps/vendor/package.json`` and installed from the npm registry by ``npm ci --prefix maps/vendor``
(``make`` runs it); they are never committed. :func:`localise_assets` rewrites a map's CDN URLs to
``{asset_url}/{package}/{path-in-package}``, and :func:`resolve_asset` turns such a path back into
a file for the service's static route.

A few files Folium ships inside its own Python package (the heat-map plugin) are served from the
installed ``folium`` package under the pseudo-package name ``folium``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import folium
from branca.element import Element, Figure, Link

VENDOR_DIR: Path = Path(__file__).parent / "vendor" / "node_modules"

#: URL segment under which files of the installed folium package are served.
FOLIUM_PACKAGE = "folium"

#: URL segment under which the service's own map scripts (``maps/static``) are served.
OWN_PACKAGE = "walktalk"
OWN_DIR: Path = Path(__file__).parent / "static"
#: The files of :data:`OWN_DIR` that are served: the vector base map for non-Folium pages.
OWN_FILES: frozenset[str] = frozenset({"basemap.js"})

INSTALL_COMMAND = "npm ci --prefix maps/vendor"

# Web files only: browsers fetch scripts, styles, the images and fonts those styles point at, and
# source maps when developer tools are open. Anything else in node_modules (package.json,
# READMEs, sources) has no business being served.
_SERVED_SUFFIXES = frozenset(
    {".js", ".css", ".map", ".png", ".svg", ".gif", ".woff", ".woff2", ".ttf", ".eot"}
)


class AssetError(Exception):
    """A map asset cannot be localised or served."""


# The names are the service's API (no "Error" suffix, like NotFound in service/errors.py).
class MissingAsset(AssetError):
    """An asset the maps need is not installed in ``maps/vendor/node_modules``."""


class UnknownAsset(AssetError):
    """A URL or path that is not one of the assets this service knows and serves."""


@dataclass(frozen=True)
class LocalAsset:
    """Where a CDN asset lives locally: an npm package (or ``folium``) and a path inside it."""

    package: str
    path: str

    @property
    def relpath(self) -> str:
        """Path below the asset URL prefix, e.g. ``leaflet/dist/leaflet.js``."""
        return f"{self.package}/{self.path}"


# Every CDN URL Folium may put into one of our pages, and its local copy. ``None`` drops the link:
#
# * glyphicons: Folium still links Bootstrap 3.0.0's separate glyphicons sheet for
#   ``folium.Icon``'s default ``prefix="glyphicon"``. Bootstrap 3 on npm only ships glyphicons
#   inside its full stylesheet, which would fight Bootstrap 5's. Our maps use Font Awesome icons
#   (``prefix="fa"``), which are served, so the sheet is dropped.
# * awesome rotate: Folium links this from its GitHub tree, but the wheel does not ship it and no
#   npm package carries it. It only serves ``folium.Icon(angle=...)``, which our maps do not use.
#
# Leaflet.awesome-markers 2.0.2 (the cdnjs version Folium names) is not on npm under its own name;
# ``drmonty-leaflet-awesome-markers@2.0.2`` is the same release repackaged (the npm
# ``leaflet.awesome-markers`` 2.0.5 is a fork with a different sprite sheet).
CDN_ASSETS: dict[str, LocalAsset | None] = {
    # folium.Map
    "https://cdn.jsdelivr.net/npm/leaflet@1.9.3/dist/leaflet.js": LocalAsset(
        "leaflet", "dist/leaflet.js"
    ),
    "https://cdn.jsdelivr.net/npm/leaflet@1.9.3/dist/leaflet.css": LocalAsset(
        "leaflet", "dist/leaflet.css"
    ),
    "https://code.jquery.com/jquery-3.7.1.min.js": LocalAsset("jquery", "dist/jquery.min.js"),
    "https://cdn.jsdelivr.net/npm/bootstrap@5.2.2/dist/js/bootstrap.bundle.min.js": LocalAsset(
        "bootstrap", "dist/js/bootstrap.bundle.min.js"
    ),
    "https://cdn.jsdelivr.net/npm/bootstrap@5.2.2/dist/css/bootstrap.min.css": LocalAsset(
        "bootstrap", "dist/css/bootstrap.min.css"
    ),
    "https://cdn.jsdelivr.net/npm/@fortawesome/fontawesome-free@6.2.0/css/all.min.css": LocalAsset(
        "@fortawesome/fontawesome-free", "css/all.min.css"
    ),
    "https://cdnjs.cloudflare.com/ajax/libs/Leaflet.awesome-markers/2.0.2/leaflet.awesome-markers.js": (  # noqa: E501
        LocalAsset("drmonty-leaflet-awesome-markers", "js/leaflet.awesome-markers.js")
    ),
    "https://cdnjs.cloudflare.com/ajax/libs/Leaflet.awesome-markers/2.0.2/leaflet.awesome-markers.css": (  # noqa: E501
        LocalAsset("drmonty-leaflet-awesome-markers", "css/leaflet.awesome-markers.css")
    ),
    "https://netdna.bootstrapcdn.com/bootstrap/3.0.0/css/bootstrap-glyphicons.css": None,
    "https://cdn.jsdelivr.net/gh/python-visualization/folium/folium/templates/leaflet.awesome.rotate.min.css": None,  # noqa: E501
    # folium.plugins.Draw (the route-drawing page)
    "https://cdnjs.cloudflare.com/ajax/libs/leaflet.draw/1.0.2/leaflet.draw.js": LocalAsset(
        "leaflet-draw", "dist/leaflet.draw.js"
    ),
    "https://cdnjs.cloudflare.com/ajax/libs/leaflet.draw/1.0.2/leaflet.draw.css": LocalAsset(
        "leaflet-draw", "dist/leaflet.draw.css"
    ),
    # folium.plugins.HeatMap: the CDN URL points at folium's main branch; the copy in the
    # installed wheel is the one that matches the Python side.
    "https://cdn.jsdelivr.net/gh/python-visualization/folium@main/folium/templates/leaflet_heat.min.js": (  # noqa: E501
        LocalAsset(FOLIUM_PACKAGE, "templates/leaflet_heat.min.js")
    ),
    # maps.clusters.ClusteredPoints: many points drawn as groups that open as one zooms in.
    # Folium's MarkerCluster names Leaflet.markercluster 1.1.0 (2017, written for Leaflet 1.0);
    # ClusteredPoints names 1.5.3, the release made for the Leaflet 1.9 the maps load.
    "https://cdnjs.cloudflare.com/ajax/libs/leaflet.markercluster/1.5.3/leaflet.markercluster.js": (
        LocalAsset("leaflet.markercluster", "dist/leaflet.markercluster.js")
    ),
    "https://cdnjs.cloudflare.com/ajax/libs/leaflet.markercluster/1.5.3/MarkerCluster.css": (
        LocalAsset("leaflet.markercluster", "dist/MarkerCluster.css")
    ),
    # maps.basemap.VectorBaseMap: the service's own vector tiles drawn in the browser.
    "https://unpkg.com/leaflet.vectorgrid@1.3.0/dist/Leaflet.VectorGrid.bundled.min.js": (
        LocalAsset("leaflet.vectorgrid", "dist/Leaflet.VectorGrid.bundled.min.js")
    ),
}

#: npm packages the maps serve from; ``maps/vendor/package.json`` must pin exactly these.
VENDOR_PACKAGES: frozenset[str] = frozenset(
    asset.package
    for asset in CDN_ASSETS.values()
    if asset is not None and asset.package != FOLIUM_PACKAGE
) | {"swagger-ui-dist"}  # the /docs page: FastAPI's Swagger UI also comes from a CDN by default

# Folium's own files are served one by one: the package directory also holds its Python source.
_FOLIUM_FILES: frozenset[str] = frozenset(
    asset.path
    for asset in CDN_ASSETS.values()
    if asset is not None and asset.package == FOLIUM_PACKAGE
)


def _folium_dir() -> Path:
    return Path(folium.__file__).parent


def localise_assets(root: Element, asset_url: str) -> None:
    """Point every script and stylesheet of a map at this service instead of a CDN.

    Walks the whole element tree the map belongs to (its figure, the map, every layer, control and
    plugin) and replaces each ``default_js``/``default_css`` entry and each ``JavascriptLink``/
    ``CssLink`` with ``{asset_url}/{package}/{path-in-package}``. Lists are replaced on the
    element itself, never changed in place, because Folium keeps them on the class and every
    later map would inherit the change. Call it after the last element is added; running it twice
    is harmless.

    Parameters
    ----------
    root : folium.Map or branca.element.Figure
        Any element of the map; the walk starts at its root.
    asset_url : str
        URL prefix under which the service serves :data:`VENDOR_DIR`, e.g. ``"/static/vendor"``.

    Raises
    ------
    UnknownAsset
        An element loads a CDN URL that has no local copy in :data:`CDN_ASSETS`.

    Examples
    --------
    >>> m = folium.Map(tiles=None)
    >>> localise_assets(m, "/static/vendor")
    >>> dict(m.default_js)["leaflet"]
    '/static/vendor/leaflet/dist/leaflet.js'

    """
    prefix = asset_url.rstrip("/")
    for element in _walk(root.get_root()):
        for attribute in ("default_js", "default_css"):
            links = getattr(element, attribute, None)
            if links:
                setattr(element, attribute, _localise_links(element, links, prefix))
        if isinstance(element, Link):
            local = _local_url(element, element.url, prefix)
            if local is None:
                _detach(element)
            else:
                element.url = local


def _walk(element: Element) -> Iterator[Element]:
    yield element
    # A figure keeps its head, body and script sections as attributes, not children.
    if isinstance(element, Figure):
        yield from _walk(element.header)
        yield from _walk(element.html)
        yield from _walk(element.script)
    # A copy: _detach removes children while the walk is under way.
    for child in list(element._children.values()):
        yield from _walk(child)


def _localise_links(
    element: Element, links: list[tuple[str, str]], prefix: str
) -> list[tuple[str, str]]:
    localised = []
    for name, url in links:
        local = _local_url(element, url, prefix)
        if local is not None:
            localised.append((name, local))
    return localised


def _local_url(element: Element, url: str, prefix: str) -> str | None:
    if not _is_remote(url):
        # Already ours (a second call, or a link the service added itself).
        return url
    if url not in CDN_ASSETS:
        raise UnknownAsset(
            f"{type(element).__name__} loads {url!r} from a CDN, which police networks cannot "
            "reach, and maps/assets.py has no local copy of it. Add its npm package at the "
            "version in the URL to maps/vendor/package.json, run `npm install --prefix "
            "maps/vendor`, and map the URL in CDN_ASSETS."
        )
    asset = CDN_ASSETS[url]
    return None if asset is None else f"{prefix}/{asset.relpath}"


def _is_remote(url: str) -> bool:
    return url.startswith(("http://", "https://", "//"))


def _detach(element: Element) -> None:
    parent = element._parent
    if parent is not None:
        for key, child in list(parent._children.items()):
            if child is element:
                del parent._children[key]


def resolve_asset(relpath: str, vendor_dir: Path = VENDOR_DIR) -> Path:
    """Find the file behind a local asset URL, refusing anything outside the served packages.

    Only web files (scripts, styles, images, fonts, source maps) inside the packages of
    :data:`VENDOR_PACKAGES` are served, plus the few folium-package files in :data:`CDN_ASSETS`
    and the service's own scripts (:data:`OWN_FILES`, under ``walktalk/``).

    Parameters
    ----------
    relpath : str
        The part of the URL after the asset prefix, e.g. ``"leaflet/dist/leaflet.js"`` or
        ``"@fortawesome/fontawesome-free/webfonts/fa-solid-900.woff2"``.
    vendor_dir : Path
        The ``node_modules`` folder the packages are installed in.

    Returns
    -------
    Path
        An existing file.

    Raises
    ------
    UnknownAsset
        The path is malformed, climbs out (``..``), is absolute, names a package or file type
        that is not served, or does not exist in an installed package (answer 404).
    MissingAsset
        The package, or a file the maps link to, is not installed: the service was set up
        without ``npm ci --prefix maps/vendor`` (answer 503 and say so).

    Examples
    --------
    >>> resolve_asset("../../pyproject.toml")
    Traceback (most recent call last):
    ...
    maps.assets.UnknownAsset: '../../pyproject.toml' is not a served map asset: ...

    """
    parts = _checked_parts(relpath)
    package_len = 2 if parts[0].startswith("@") else 1
    package = "/".join(parts[:package_len])
    inner = "/".join(parts[package_len:])
    if not inner:
        raise UnknownAsset(f"{relpath!r} is not a served map asset: it names no file")

    if package == OWN_PACKAGE:
        if inner not in OWN_FILES:
            raise UnknownAsset(f"{relpath!r} is not a served map asset: not a map script")
        return _existing_file(OWN_DIR, inner, relpath, installed_by="git (maps/static)")

    if package == FOLIUM_PACKAGE:
        if inner not in _FOLIUM_FILES:
            raise UnknownAsset(f"{relpath!r} is not a served map asset: not a folium map asset")
        return _existing_file(_folium_dir(), inner, relpath, installed_by="pip (folium)")

    if package not in VENDOR_PACKAGES:
        raise UnknownAsset(
            f"{relpath!r} is not a served map asset: {package!r} is not one of the packages in "
            "maps/vendor/package.json"
        )
    package_dir = vendor_dir / package
    if not (package_dir / "package.json").is_file():
        raise MissingAsset(
            f"map asset package {package!r} is not installed in {vendor_dir}; "
            f"run `{INSTALL_COMMAND}` (`make` does)"
        )
    return _existing_file(package_dir, inner, relpath, installed_by=f"`{INSTALL_COMMAND}`")


def _checked_parts(relpath: str) -> tuple[str, ...]:
    refused = UnknownAsset(
        f"{relpath!r} is not a served map asset: give a relative path "
        "'package/path/in/package' with no '..', '.', empty or hidden parts"
    )
    if not relpath or "\\" in relpath or "\x00" in relpath or ":" in relpath:
        raise refused
    path = PurePosixPath(relpath)
    if path.is_absolute():
        raise refused
    # PurePosixPath drops '.' and empty parts, so check the raw segments.
    raw = relpath.split("/")
    if any(part in ("", ".", "..") or part.startswith(".") for part in raw):
        raise refused
    if path.suffix.lower() not in _SERVED_SUFFIXES:
        raise UnknownAsset(
            f"{relpath!r} is not a served map asset: only {', '.join(sorted(_SERVED_SUFFIXES))} "
            "files are served"
        )
    return tuple(raw)


def _existing_file(package_dir: Path, inner: str, relpath: str, *, installed_by: str) -> Path:
    root = package_dir.resolve()
    candidate = (package_dir / inner).resolve()
    # resolve() follows symlinks; a link pointing out of the package is refused like '..'.
    if not candidate.is_relative_to(root):
        raise UnknownAsset(f"{relpath!r} is not a served map asset: it leads out of its package")
    if candidate.is_file():
        return candidate
    if relpath in _LINKED_RELPATHS:
        raise MissingAsset(
            f"map asset {relpath!r} is missing from {package_dir}; reinstall with {installed_by}"
        )
    raise UnknownAsset(f"{relpath!r} is not a served map asset: no such file")


_LINKED_RELPATHS: frozenset[str] = frozenset(
    asset.relpath for asset in CDN_ASSETS.values() if asset is not None
)


def check_assets_installed(vendor_dir: Path = VENDOR_DIR) -> list[str]:
    """List the asset files the maps link to that are not installed, for a health message.

    Returns
    -------
    list of str
        Relative asset paths (as in the URLs), sorted; empty when everything is in place. When
        it is not empty, the fix is ``npm ci --prefix maps/vendor``.

    """
    missing = []
    for relpath in sorted(_LINKED_RELPATHS):
        try:
            resolve_asset(relpath, vendor_dir)
        except AssetError:
            missing.append(relpath)
    return missing
