"""The base-map tiles setting."""

import re

import pytest

from maps.tiles import OPENSTREETMAP, TileSource, tile_source


@pytest.mark.parametrize("setting", ["osm", "OSM", " osm "])
def test_osm_is_openstreetmap_with_its_required_credit(setting):
    source = tile_source(setting)
    assert source == OPENSTREETMAP
    assert source.url == "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
    assert "openstreetmap.org/copyright" in source.attribution


@pytest.mark.parametrize("setting", ["none", "None", " NONE "])
def test_none_means_no_base_map(setting):
    assert tile_source(setting) is None


def test_a_custom_template_keeps_its_url_and_attribution():
    source = tile_source(" https://tiles.example.org/{z}/{x}/{y}.png | © Example Maps ")
    assert source == TileSource(
        name="Base map",
        url="https://tiles.example.org/{z}/{x}/{y}.png",
        attribution="© Example Maps",
    )


def test_a_tile_server_on_this_host_is_allowed():
    source = tile_source("/tiles/{z}/{x}/{y}.png|© Ordnance Survey")
    assert source is not None
    assert source.url == "/tiles/{z}/{x}/{y}.png"


@pytest.mark.parametrize(
    ("setting", "names"),
    [
        ("https://tiles.example.org/{z}/{y}.png|© Example", "{x}"),
        ("https://tiles.example.org/tile.png|© Example", "{z}, {x}, {y}"),
    ],
)
def test_a_url_without_z_x_y_is_refused_naming_what_is_missing(setting, names):
    with pytest.raises(ValueError, match=rf"lacks {names}: a tile URL template needs"):
        tile_source(setting)


@pytest.mark.parametrize(
    ("setting", "says"),
    [
        ("", "is not 'local', 'osm', 'none' or 'URL|attribution'"),
        ("openstreetmap", "is not 'local', 'osm', 'none' or 'URL|attribution'"),
        ("https://tiles.example.org/{z}/{x}/{y}.png", "is not 'local', 'osm', 'none'"),
        ("https://tiles.example.org/{z}/{x}/{y}.png|  ", "gives no attribution"),
        ("ftp://tiles.example.org/{z}/{x}/{y}.png|© Example", "must start with https://"),
        ("javascript:{z}{x}{y}|© Example", "must start with https://"),
    ],
)
def test_other_settings_are_refused_with_the_reason(setting, says):
    with pytest.raises(ValueError, match=re.escape(says)):
        tile_source(setting)
