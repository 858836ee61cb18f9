"""The base-map setting and what the rendered pages carry for it.

No browser here: tests/test_basemap_browser.py checks the drawing itself.
"""

from __future__ import annotations

import dataclasses
import re

import pytest

from maps.assets import OWN_DIR, UnknownAsset, resolve_asset
from maps.basemap import BASEMAP_SCRIPT, NO_BASE_MAP, NO_STREETS, VectorBaseMap
from maps.page import new_map, render_page
from maps.tiles import LOCAL, OPENSTREETMAP, tile_source
from service.settings import Settings

VECTORGRID = "/static/vendor/leaflet.vectorgrid/dist/Leaflet.VectorGrid.bundled.min.js"


def page_for(setting: str) -> str:
    return render_page(
        new_map(title="Test map", tiles=tile_source(setting)), asset_url="/static/vendor"
    )


@pytest.mark.parametrize("setting", ["local", "LOCAL", " local "])
def test_local_is_the_services_own_vector_tiles(setting: str) -> None:
    source = tile_source(setting)
    assert source == LOCAL
    assert source.kind == "vector"
    assert source.url == "/tiles/{z}/{x}/{y}.mvt"
    assert "OpenStreetMap</a> contributors (ODbL)" in source.attribution


def test_the_other_sources_are_raster() -> None:
    assert OPENSTREETMAP.kind == "raster"
    custom = tile_source("https://tiles.example.org/{z}/{x}/{y}.png|© Example")
    assert custom is not None and custom.kind == "raster"


def test_local_is_the_default_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("WALKTALK_TILES", raising=False)
    assert Settings().tiles == "local"
    assert "local" in (Settings.model_fields["tiles"].description or "")


def test_a_page_links_vectorgrid_and_the_tile_url_and_nothing_off_the_server() -> None:
    page = page_for("local")
    scripts = re.findall(r'<script src="([^"]+)"', page)
    assert VECTORGRID in scripts
    assert all(src.startswith("/static/vendor/") for src in scripts)
    assert "unpkg.com" not in page and "tile.openstreetmap.org" not in page
    # The drawing script comes after VectorGrid, which it extends, and is called with the tiles.
    assert page.index(VECTORGRID) < page.index("window.walktalkBaseMap = function")
    call = re.search(r"walktalkBaseMap\(map_[0-9a-f]+, (\{.*?\})\);", page)
    assert call is not None
    assert '"url": "/tiles/{z}/{x}/{y}.mvt"' in call.group(1)
    assert "contributors (ODbL)" in call.group(1)
    assert "\\u003ca href" in call.group(1)  # no raw tag that could end the script
    assert 'lang="en-GB"' in page
    assert "basemap-missing" not in page


def test_with_none_the_map_says_there_is_no_base_map_and_how_to_set_one() -> None:
    page = page_for("none")
    assert '"basemap-missing"' in page
    assert NO_BASE_MAP.replace("`", "") in page.replace("`", "")
    assert "WALKTALK_TILES=local" in NO_BASE_MAP and "walktalk osm load" in NO_BASE_MAP
    assert "walktalkBaseMap" not in page and "vectorgrid" not in page.lower()


def test_local_tiles_without_streets_say_how_to_load_them() -> None:
    page = render_page(
        new_map(title="Test map", tiles=dataclasses.replace(LOCAL, streets=False)),
        asset_url="/static/vendor",
    )
    # The ward lines are still drawn from the service's tiles; the notice says what is missing.
    assert "walktalkBaseMap" in page
    assert '"basemap-missing"' in page
    assert NO_STREETS.replace("`", "") in page.replace("`", "")
    assert "walktalk osm load" in NO_STREETS and NO_BASE_MAP not in page


def test_online_osm_stays_a_raster_tile_layer() -> None:
    page = page_for("osm")
    assert "https://tile.openstreetmap.org/{z}/{x}/{y}.png" in page
    assert "walktalkBaseMap" not in page and "basemap-missing" not in page


def test_a_raster_source_is_not_drawn_as_vector_tiles() -> None:
    with pytest.raises(ValueError, match="is a raster tile source, not vector tiles"):
        VectorBaseMap(OPENSTREETMAP)


def test_the_drawing_script_is_served_for_pages_that_are_not_folium() -> None:
    assert resolve_asset("walktalk/basemap.js") == BASEMAP_SCRIPT.resolve()
    assert BASEMAP_SCRIPT.parent == OWN_DIR
    with pytest.raises(UnknownAsset, match="not a map script"):
        resolve_asset("walktalk/other.js")
    with pytest.raises(UnknownAsset):
        resolve_asset("walktalk/../basemap.py")
