"""geo.streets on the bundled OpenStreetMap clips of SE1 (© OpenStreetMap contributors)."""

from __future__ import annotations

import itertools
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest
import shapely
from shapely.geometry import box

from geo.routes import check_route, route_length_m
from geo.streets import WALKABLE, read_osm_streets, wander_grid, wander_streets

OSM = Path(__file__).parents[1] / "data" / "osm"
BOROUGH = OSM / "borough_sausage_links.osm"
ST_GEORGES = OSM / "st_georges_cycletrack.osm"


@pytest.fixture(scope="module")
def network():  # type: ignore[no-untyped-def]
    return read_osm_streets([BOROUGH, ST_GEORGES])


def _walkable_pairs(path: Path) -> dict[frozenset[int], str | None]:
    """Consecutive node pairs of the walkable ways and their lit tag, read with ElementTree."""
    pairs: dict[frozenset[int], str | None] = {}
    for way in ET.parse(path).getroot().iter("way"):  # noqa: S314 - the bundled clips
        tags = {t.get("k"): t.get("v") for t in way.iter("tag")}
        if tags.get("highway") not in WALKABLE or tags.get("foot") == "no":
            continue
        if tags.get("access") in ("private", "no") or tags.get("area") == "yes":
            continue
        refs = [int(n.get("ref")) for n in way.iter("nd")]
        pairs |= {frozenset(p): tags.get("lit") for p in itertools.pairwise(refs) if p[0] != p[1]}
    return pairs


def test_the_network_holds_every_walkable_street_segment(network) -> None:  # type: ignore[no-untyped-def]
    expected = _walkable_pairs(BOROUGH) | _walkable_pairs(ST_GEORGES)
    edges = sum(len(n) for n in network.neighbours) // 2
    assert edges == len(expected)
    lit = [v for (a, b), v in network.lit.items() if a < b]
    for value in ("yes", "no", None):
        assert lit.count(value) == list(expected.values()).count(value)
    # Positions are the OSM nodes', in SE1, and on the grid too.
    assert network.lat.min() > 51.48 and network.lat.max() < 51.53
    assert network.lon.min() > -0.17 and network.lon.max() < -0.08
    assert network.x.min() > 528_000 and network.x.max() < 535_000
    sizes = np.bincount(network.component)
    assert sizes[0] == sizes.max() and sizes[0] > 300


def test_a_walk_goes_along_street_segments_and_is_a_valid_route(network) -> None:  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(5)
    area = box(-0.12, 51.49, -0.085, 51.51)
    starts = network.nodes_within(area)
    assert len(starts) > 100
    positions = {
        (round(x, 7), round(y, 7)): i
        for i, (x, y) in enumerate(zip(network.lon, network.lat, strict=True))
    }
    made = 0
    for _ in range(10):
        line = wander_streets(network, start=int(rng.choice(starts)), length_m=1200, rng=rng)
        if line is None:
            continue
        made += 1
        assert 1200 <= route_length_m(line) < 1200 + 200  # stops at the corner past 1.2 km
        check_route(line)
        nodes = [positions[(round(x, 7), round(y, 7))] for x, y in line.coords]
        for a, b in itertools.pairwise(nodes):
            assert b in network.neighbours[a]
    assert made >= 8


def test_a_grid_walk_stays_inside_its_ward() -> None:
    # Kennington-sized: 1.2 km by 1 km.
    ward = box(-0.115, 51.480, -0.098, 51.489)
    rng = np.random.default_rng(2)
    line = wander_grid(ward, length_m=1500, rng=rng)
    assert line is not None
    assert 1500 <= route_length_m(line) < 1500 + 120
    assert shapely.within(line, ward.buffer(1e-9))
    # Too small a place for a walk: no line rather than one that leaves it.
    assert wander_grid(box(-0.1, 51.5, -0.0995, 51.5004), length_m=800, rng=rng) is None


def test_non_osm_files_are_refused(tmp_path: Path) -> None:
    not_xml = tmp_path / "streets.osm"
    not_xml.write_text("lon,lat\n-0.1,51.5\n")
    with pytest.raises(ValueError, match=r"streets\.osm is not OSM XML"):
        read_osm_streets([not_xml])
    other = tmp_path / "other.xml"
    other.write_text("<gpx/>")
    with pytest.raises(ValueError, match=r"its root is <gpx>"):
        read_osm_streets([other])
    empty = tmp_path / "empty.osm"
    empty.write_text('<osm version="0.6"><node id="1" lat="51.5" lon="-0.1"/></osm>')
    with pytest.raises(ValueError, match="no walkable street"):
        read_osm_streets([empty])
