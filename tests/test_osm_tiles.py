"""The base map's own data: OpenStreetMap extracts read with pyosmium, served as vector tiles.

The reader is checked against GDAL's OSM driver (an independent reader of the same files), and
the tiles by decoding them as a map client would: Borough High Street must be in the tile over
it, with its name, and the wards' lines and names with it.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from pathlib import Path

import geopandas as gpd
import mapbox_vector_tile
import pytest
from fastapi.testclient import TestClient

from geo.osm import OsmFileError, read_osm_features

OSM = sorted((Path(__file__).parents[1] / "data" / "osm").glob("*.osm"))
BOROUGH_HIGH_STREET = (-0.0915, 51.5035)


def _tile_of(lon: float, lat: float, z: int) -> tuple[int, int]:
    n = 2**z
    x = int((lon + 180) / 360 * n)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    return x, y


@pytest.mark.parametrize("path", OSM, ids=lambda p: p.name)
def test_streets_and_paths_are_the_ways_gdal_reads(path: Path) -> None:
    ours = read_osm_features(path)
    gdal = gpd.read_file(path, layer="lines")
    gdal = gdal[gdal["highway"].notna()]
    lines = ours[ours["kind"].isin(["street", "path"])]
    assert len(lines) > 40
    assert sorted(lines["osm_id"]) == sorted(gdal["osm_id"].astype(int))
    assert set(lines["name"].dropna()) == set(gdal["name"].dropna())
    assert set(ours.geometry.geom_type) <= {"LineString", "MultiPolygon", "Point"}
    assert ours.crs.to_epsg() == 4326


def test_a_file_that_is_not_osm_is_refused_by_name(tmp_path: Path) -> None:
    bad = tmp_path / "wards.csv"
    bad.write_text("code,name\nE05014118,Waterloo\n")
    with pytest.raises(OsmFileError, match=re.escape("wards.csv: not an OpenStreetMap file")):
        read_osm_features(bad)
    with pytest.raises(OsmFileError, match="no such file"):
        read_osm_features(tmp_path / "missing.osm.pbf")


def test_the_tile_over_borough_high_street_shows_it_by_name(
    walktalk: Callable[..., tuple[int, str, str]], client: TestClient
) -> None:
    code, out, err = walktalk("osm", "load", *map(str, OSM))
    assert code == 0, err
    assert "borough_sausage_links.osm: 88 streets" in out
    x, y = _tile_of(*BOROUGH_HIGH_STREET, 16)
    answer = client.get(f"/tiles/16/{x}/{y}.mvt")
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "application/vnd.mapbox-vector-tile"
    layers = mapbox_vector_tile.decode(answer.content)
    names = {f["properties"].get("name") for f in layers["streets"]["features"]}
    assert "Borough High Street" in names
    assert all(f["properties"]["kind"] in {"street", "path"} for f in layers["streets"]["features"])
    assert "Borough & Bankside" in {f["properties"]["name"] for f in layers["wards"]["features"]}
    # Loading again replaces rather than doubles.
    assert walktalk("osm", "load", str(OSM[0]))[0] == 0
    again = mapbox_vector_tile.decode(client.get(f"/tiles/16/{x}/{y}.mvt").content)
    assert len(again["streets"]["features"]) == len(layers["streets"]["features"])


def test_a_tile_far_from_london_is_empty_and_a_tile_that_cannot_exist_is_refused(
    client: TestClient,
) -> None:
    empty = client.get("/tiles/16/0/0.mvt")
    assert empty.status_code == 200 and empty.content == b""
    refused = client.get("/tiles/3/8/0.mvt")
    assert refused.status_code == 422
    assert "x and y run from 0 to 7" in refused.json()["detail"]
    assert client.get("/tiles/21/0/0.mvt").status_code == 422


def test_a_bad_file_loads_nothing(
    walktalk: Callable[..., tuple[int, str, str]], tmp_path: Path
) -> None:
    bad = tmp_path / "broken.osm"
    bad.write_text("<osm><way id='1'>")
    code, _, err = walktalk("osm", "load", str(OSM[0]), str(bad))
    assert code != 0 and "broken.osm" in err and "nothing was loaded" in err
