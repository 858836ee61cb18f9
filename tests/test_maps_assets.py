"""Offline map assets: CDN URLs mapped to pinned npm files, and safe resolution for serving them.

These tests need the npm packages installed: ``npm ci --prefix maps/vendor`` (``make`` runs it).
"""

import json
import re
from pathlib import Path, PurePosixPath

import folium
import pytest
from branca.element import JavascriptLink, MacroElement
from folium.plugins import Draw, Fullscreen, HeatMap
from folium.template import Template

from maps.assets import (
    CDN_ASSETS,
    FOLIUM_PACKAGE,
    VENDOR_DIR,
    VENDOR_PACKAGES,
    MissingAsset,
    UnknownAsset,
    check_assets_installed,
    localise_assets,
    resolve_asset,
)
from maps.clusters import ClusteredPoints
from maps.page import render_page

PACKAGE_JSON = Path(__file__).parents[1] / "maps" / "vendor" / "package.json"
ASSET_URL = "/static/vendor"
INSTALL_HINT = "npm ci --prefix maps/vendor"


@pytest.fixture(scope="module")
def installed() -> Path:
    missing = check_assets_installed(VENDOR_DIR)
    assert not missing, f"map assets not installed ({missing[:3]}...): run `{INSTALL_HINT}`"
    return VENDOR_DIR


def pinned_dependencies() -> dict[str, str]:
    return json.loads(PACKAGE_JSON.read_text())["dependencies"]


# --- the pinned packages -------------------------------------------------------------------


def test_package_json_pins_exactly_the_served_packages():
    pins = pinned_dependencies()
    assert set(pins) == VENDOR_PACKAGES
    # Exact versions only: a range would let `npm install` drift from what Folium was built for.
    assert all(re.fullmatch(r"\d+\.\d+\.\d+", version) for version in pins.values()), pins


def test_pinned_versions_are_the_ones_folium_names_in_its_cdn_urls():
    pins = pinned_dependencies()
    for url, asset in CDN_ASSETS.items():
        if asset is not None and asset.package != FOLIUM_PACKAGE:
            assert f"{pins[asset.package]}/" in url or f"-{pins[asset.package]}." in url, url


def test_lock_file_matches_package_json():
    lock = json.loads((PACKAGE_JSON.parent / "package-lock.json").read_text())
    assert lock["packages"][""]["dependencies"] == pinned_dependencies()
    for package, version in pinned_dependencies().items():
        assert lock["packages"][f"node_modules/{package}"]["version"] == version


def test_installed_packages_are_the_pinned_versions(installed):
    for package, version in pinned_dependencies().items():
        manifest = json.loads((installed / package / "package.json").read_text())
        assert manifest["version"] == version, f"{package}: run `{INSTALL_HINT}` again"


def test_every_map_default_asset_is_mapped():
    # A Folium upgrade that changes a URL must show up here, not on a police laptop.
    for _, url in [*folium.Map.default_js, *folium.Map.default_css]:
        assert url in CDN_ASSETS, url
    for plugin in (Draw, HeatMap, ClusteredPoints):
        for _, url in [*plugin.default_js, *plugin.default_css]:
            assert url in CDN_ASSETS, url


def test_files_that_linked_stylesheets_load_are_installed(installed):
    # Leaflet's marker and layer images, Font Awesome's webfonts, Leaflet.draw's sprites: a
    # stylesheet that loads but whose fonts 404 shows empty squares.
    stylesheets = [
        a.relpath for a in CDN_ASSETS.values() if a is not None and a.path.endswith(".css")
    ]
    referenced = set()
    for relpath in stylesheets:
        css = resolve_asset(relpath, installed).read_text(encoding="utf-8")
        for target in re.findall(r"url\(\s*['\"]?([^'\")]+)['\"]?\s*\)", css):
            if target.startswith(("data:", "#")):
                continue
            target = target.split("?")[0].split("#")[0]
            joined = PurePosixPath(relpath).parent / target
            # Normalise "css/../webfonts/x" the way a browser does before asking the server.
            parts: list[str] = []
            for part in joined.parts:
                if part == "..":
                    parts.pop()
                else:
                    parts.append(part)
            referenced.add("/".join(parts))
    assert "@fortawesome/fontawesome-free/webfonts/fa-solid-900.woff2" in referenced
    assert "leaflet/dist/images/layers.png" in referenced
    for relpath in sorted(referenced):
        assert resolve_asset(relpath, installed).is_file(), relpath


def test_check_assets_installed_is_empty_when_installed(installed):
    assert check_assets_installed(installed) == []


def test_check_assets_installed_lists_every_linked_npm_file_when_nothing_is_installed(tmp_path):
    missing = check_assets_installed(tmp_path)
    assert "leaflet/dist/leaflet.js" in missing
    assert "@fortawesome/fontawesome-free/css/all.min.css" in missing
    # Folium's own files come with pip, not npm, so an empty node_modules does not hide them.
    assert not [m for m in missing if m.startswith("folium/")]
    linked_npm = {
        a.relpath for a in CDN_ASSETS.values() if a is not None and a.package != FOLIUM_PACKAGE
    }
    assert set(missing) == linked_npm


# --- localise_assets -----------------------------------------------------------------------


def head_urls(page: str) -> list[str]:
    return re.findall(r"<(?:script|link)\b[^>]*?(?:src|href)=\"([^\"]+)\"", page)


def test_localise_rewrites_the_map_defaults_to_local_urls(installed):
    m = folium.Map(tiles=None)
    localise_assets(m, ASSET_URL)
    page = m.get_root().render()
    urls = head_urls(page)
    assert f"{ASSET_URL}/leaflet/dist/leaflet.js" in urls
    assert f"{ASSET_URL}/leaflet/dist/leaflet.css" in urls
    assert f"{ASSET_URL}/jquery/dist/jquery.min.js" in urls
    assert f"{ASSET_URL}/@fortawesome/fontawesome-free/css/all.min.css" in urls
    assert len(urls) == 8  # 10 defaults less glyphicons and the rotate sheet, both dropped
    for url in urls:
        assert url.startswith(f"{ASSET_URL}/"), url
        assert resolve_asset(url.removeprefix(f"{ASSET_URL}/"), installed).is_file()


def test_localise_leaves_folium_class_defaults_alone():
    m = folium.Map(tiles=None)
    localise_assets(m, ASSET_URL)
    # Folium keeps these lists on the class: changing them in place would leak into every map.
    assert dict(folium.Map.default_js)["leaflet"].startswith("https://cdn.jsdelivr.net/")
    assert dict(folium.Map().default_js)["leaflet"].startswith("https://cdn.jsdelivr.net/")


def test_localise_twice_is_the_same_as_once():
    m = folium.Map(tiles=None)
    localise_assets(m, ASSET_URL)
    once = list(m.default_js)
    localise_assets(m, ASSET_URL + "/")
    assert m.default_js == once


def test_localise_reaches_plugins_and_serves_folium_files_from_the_folium_package(installed):
    m = folium.Map(tiles=None)
    Draw().add_to(m)
    HeatMap([[51.47, -0.1, 1.0]]).add_to(m)
    localise_assets(m, ASSET_URL)
    urls = head_urls(m.get_root().render())
    assert f"{ASSET_URL}/leaflet-draw/dist/leaflet.draw.js" in urls
    assert f"{ASSET_URL}/leaflet-draw/dist/leaflet.draw.css" in urls
    heat = f"{ASSET_URL}/folium/templates/leaflet_heat.min.js"
    assert heat in urls
    served = resolve_asset(heat.removeprefix(f"{ASSET_URL}/"), installed)
    assert served == Path(folium.__file__).parent / "templates" / "leaflet_heat.min.js"


def test_localise_rewrites_links_already_in_the_page_head():
    m = folium.Map(tiles=None)
    m.get_root().header.add_child(
        JavascriptLink("https://code.jquery.com/jquery-3.7.1.min.js"), name="extra_jquery"
    )
    localise_assets(m, ASSET_URL)
    assert m.get_root().header._children["extra_jquery"].url == (
        f"{ASSET_URL}/jquery/dist/jquery.min.js"
    )


def test_an_unmapped_plugin_fails_loudly_and_says_what_to_do():
    m = folium.Map(tiles=None)
    Fullscreen().add_to(m)
    with pytest.raises(UnknownAsset) as raised:
        localise_assets(m, ASSET_URL)
    message = str(raised.value)
    assert "Fullscreen" in message
    assert "https://cdn.jsdelivr.net/npm/leaflet.fullscreen@3.0.0/Control.FullScreen.min.js" in (
        message
    )
    assert "maps/vendor/package.json" in message


def test_render_page_refuses_a_cdn_link_that_appears_only_at_render_time():
    class SneakyScript(MacroElement):
        _template = Template(
            "{% macro header(this, kwargs) %}"
            '<script src="https://unpkg.com/some-plugin/dist/plugin.js"></script>'
            "{% endmacro %}"
        )

    m = folium.Map(tiles=None)
    SneakyScript().add_to(m)
    with pytest.raises(UnknownAsset, match=r"https://unpkg\.com/some-plugin/dist/plugin\.js"):
        render_page(m, asset_url=ASSET_URL)


# --- resolve_asset -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "relpath",
    [
        "",
        "../package.json",
        "../../pyproject.toml",
        "leaflet/../../maps/assets.js",
        "leaflet/dist/../../../../etc/passwd.js",
        "/etc/passwd",
        "/leaflet/dist/leaflet.js",
        "./leaflet/dist/leaflet.js",
        "leaflet//dist/leaflet.js",
        "leaflet/dist/./leaflet.js",
        "leaflet\\dist\\leaflet.js",
        "..\\..\\pyproject.toml",
        "C:/Windows/win.ini",
        "leaflet/dist/leaflet.js\x00.png",
        ".package-lock.json",
        ".bin/leaflet.js",
        "leaflet",
        "leaflet/package.json",  # not a web file
        "left-pad/index.js",  # not one of our packages
        "@popperjs/core/dist/umd/popper.min.js",  # installed as a peer, never linked
        "folium/folium.py",
        "folium/templates/pa7_hm.min.js",  # in folium, but not a file our maps link
    ],
)
def test_resolve_refuses_paths_outside_the_served_files(relpath, installed):
    with pytest.raises(UnknownAsset, match="is not a served map asset"):
        resolve_asset(relpath, installed)


def test_resolve_refuses_a_symlink_out_of_the_package(tmp_path):
    secret = tmp_path / "secret.js"
    secret.write_text("var token = 'x';")
    package = tmp_path / "node_modules" / "leaflet"
    (package / "dist").mkdir(parents=True)
    (package / "package.json").write_text("{}")
    (package / "dist" / "leaflet.js").symlink_to(secret)
    with pytest.raises(UnknownAsset, match="leads out of its package"):
        resolve_asset("leaflet/dist/leaflet.js", tmp_path / "node_modules")


@pytest.mark.parametrize(
    "relpath",
    [
        "leaflet/dist/leaflet.js",
        "leaflet/dist/images/marker-icon-2x.png",
        "@fortawesome/fontawesome-free/webfonts/fa-solid-900.woff2",
        "drmonty-leaflet-awesome-markers/css/images/markers-soft.png",
        "leaflet-draw/dist/images/spritesheet.svg",
    ],
)
def test_resolve_finds_installed_files_inside_the_vendor_dir(relpath, installed):
    path = resolve_asset(relpath, installed)
    assert path.is_file()
    assert path.is_relative_to(installed.resolve())
    assert path.as_posix().endswith(relpath)


def test_a_package_not_installed_says_which_command_installs_it(tmp_path):
    with pytest.raises(MissingAsset) as raised:
        resolve_asset("leaflet/dist/leaflet.js", tmp_path)
    assert INSTALL_HINT in str(raised.value)
    assert "'leaflet'" in str(raised.value)


def test_a_linked_file_missing_from_an_installed_package_says_which_command_reinstalls(tmp_path):
    (tmp_path / "leaflet").mkdir()
    (tmp_path / "leaflet" / "package.json").write_text("{}")
    with pytest.raises(MissingAsset, match=re.escape(INSTALL_HINT)):
        resolve_asset("leaflet/dist/leaflet.css", tmp_path)


def test_a_file_no_page_links_and_no_package_has_is_not_found_rather_than_missing(installed):
    # A browser asking for a bogus file is a 404, not a broken installation.
    with pytest.raises(UnknownAsset, match="no such file"):
        resolve_asset("leaflet/dist/not-a-leaflet-file.js", installed)
