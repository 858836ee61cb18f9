"""Walkable streets from OpenStreetMap, and plausible walking routes along them.

The demo data walks its synthetic buddies along real streets where the bundled OpenStreetMap
clips reach (``data/osm``; © OpenStreetMap contributors, ODbL), and along a street-like grid
inside a ward where they do not. Both give lines :func:`geo.routes.check_route` accepts.

A street's ``lit`` tag is kept per edge: it is the one piece of OSM that says whether a path is
lit, which is what many unsafe-place reports are about.

Pure: files and numbers in, networks and lines out; no database.
"""

from __future__ import annotations

import itertools
import math
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import shapely
from numpy.typing import NDArray
from shapely.geometry import LineString, MultiPolygon, Point, Polygon

from geo.grid import to_grid, to_wgs84

__all__ = ["WALKABLE", "StreetNetwork", "read_osm_streets", "wander_grid", "wander_streets"]

#: ``highway=*`` values a person may walk along (pavements of main roads included: in London
#: they have them). Motorways and anything marked ``foot=no`` or ``access=private`` are left out.
WALKABLE = frozenset(
    {
        "footway",
        "pedestrian",
        "path",
        "steps",
        "living_street",
        "residential",
        "service",
        "unclassified",
        "tertiary",
        "tertiary_link",
        "secondary",
        "secondary_link",
        "primary",
        "primary_link",
        "trunk",
        "trunk_link",
        "cycleway",
        "track",
    }
)

@dataclass(frozen=True)
class StreetNetwork:
    """Walkable street nodes and the edges between them.

    Attributes
    ----------
    lon, lat : ndarray
        WGS84 position of each node.
    x, y : ndarray
        The same on the British National Grid (metres).
    neighbours : tuple of tuple of int
        For each node, the nodes one edge away.
    lit : dict
        ``(i, j) -> "yes" | "no" | None`` for each edge (both directions), from the way's
        ``lit`` tag.
    component : ndarray of int
        The connected piece of network each node is in, 0 the largest: a clip's edge leaves
        scraps of footway that join nothing.

    """

    lon: NDArray[np.float64]
    lat: NDArray[np.float64]
    x: NDArray[np.float64]
    y: NDArray[np.float64]
    neighbours: tuple[tuple[int, ...], ...]
    lit: dict[tuple[int, int], str | None]
    component: NDArray[np.int64]

    def __len__(self) -> int:
        return len(self.lon)

    def nodes_within(
        self, area: Polygon | MultiPolygon, *, min_piece: int = 100
    ) -> NDArray[np.int64]:
        """Nodes inside a WGS84 area on a connected piece of at least ``min_piece`` nodes."""
        inside = shapely.contains_xy(area, self.lon, self.lat)
        big = np.bincount(self.component)[self.component] >= min_piece
        return np.flatnonzero(inside & big)


def read_osm_streets(paths: Iterable[Path | str]) -> StreetNetwork:
    """Read the walkable streets of one or more OSM XML files into one network.

    Nodes shared by files (the same OSM node id) are joined, so clips that overlap make one
    network.

    Parameters
    ----------
    paths : iterable of path
        OSM XML files (``.osm``, as the Overpass API exports them).

    Returns
    -------
    StreetNetwork

    Raises
    ------
    ValueError
        If a file is not OSM XML, or the files hold no walkable street.

    """
    positions: dict[int, tuple[float, float]] = {}
    edges: dict[tuple[int, int], str | None] = {}
    for path in paths:
        try:
            root = ET.parse(path).getroot()  # noqa: S314 - bundled OSM clips
        except ET.ParseError as exc:
            raise ValueError(f"{Path(path).name} is not OSM XML: {exc}") from None
        if root.tag != "osm":
            raise ValueError(f"{Path(path).name} is not OSM XML (its root is <{root.tag}>)")
        for node in root.iter("node"):
            positions[int(node.get("id", "0"))] = (
                float(node.get("lon", "nan")),
                float(node.get("lat", "nan")),
            )
        for way in root.iter("way"):
            tags = {t.get("k"): t.get("v") for t in way.iter("tag")}
            if not _walkable(tags):
                continue
            refs = [int(nd.get("ref", "0")) for nd in way.iter("nd")]
            for a, b in itertools.pairwise(refs):
                if a != b:
                    edges[(a, b)] = edges[(b, a)] = tags.get("lit")
    used = sorted({a for a, _ in edges} & set(positions))
    if not used:
        raise ValueError("the OSM files hold no walkable street (highway=footway, residential, …)")
    index = {osm_id: i for i, osm_id in enumerate(used)}
    lon = np.array([positions[i][0] for i in used])
    lat = np.array([positions[i][1] for i in used])
    x, y = to_grid().transform(lon, lat)
    neighbours: list[set[int]] = [set() for _ in used]
    lit: dict[tuple[int, int], str | None] = {}
    for (a, b), value in edges.items():
        if a in index and b in index:
            neighbours[index[a]].add(index[b])
            lit[(index[a], index[b])] = value
    adjacency = tuple(tuple(sorted(n)) for n in neighbours)
    return StreetNetwork(
        lon=lon,
        lat=lat,
        x=np.asarray(x),
        y=np.asarray(y),
        neighbours=adjacency,
        lit=lit,
        component=_components(adjacency),
    )


def _components(neighbours: tuple[tuple[int, ...], ...]) -> NDArray[np.int64]:
    label = np.full(len(neighbours), -1, dtype=np.int64)
    sizes: list[int] = []
    for seed in range(len(neighbours)):
        if label[seed] >= 0:
            continue
        stack, size = [seed], 0
        label[seed] = len(sizes)
        while stack:
            node = stack.pop()
            size += 1
            for n in neighbours[node]:
                if label[n] < 0:
                    label[n] = len(sizes)
                    stack.append(n)
        sizes.append(size)
    rank = np.empty(len(sizes), dtype=np.int64)
    rank[np.argsort(sizes)[::-1]] = np.arange(len(sizes))
    return rank[label]


def _walkable(tags: dict[str | None, str | None]) -> bool:
    return (
        tags.get("highway") in WALKABLE
        and tags.get("foot") != "no"
        and tags.get("access") not in ("private", "no")
        and tags.get("area") != "yes"
    )


def wander_streets(
    network: StreetNetwork,
    *,
    start: int,
    length_m: float,
    rng: np.random.Generator,
) -> LineString | None:
    """A walk along the network from ``start`` of about ``length_m`` metres.

    At each junction the walker picks a street she has not walked yet, preferring to carry on
    roughly straight (people do not zig-zag), and turns back only at a dead end.

    Returns
    -------
    shapely.LineString or None
        The walked line (WGS84), at least ``length_m`` long; None if ``start`` is an isolated
        node, or the walk went back and forth over the same few streets (start elsewhere).

    """
    path = [start]
    walked = 0.0
    used: set[tuple[int, int]] = set()
    for _ in range(10_000):
        here = path[-1]
        before = path[-2] if len(path) > 1 else None
        choices = network.neighbours[here]
        if not choices:
            return None
        # Streets not yet walked, carrying on ahead; back the way she came only at a dead end.
        weights = np.array(
            [
                _straightness(network, before, here, n)
                * (0.05 if (here, n) in used else 1.0)
                * (0.01 if n == before else 1.0)
                for n in choices
            ]
        )
        step = choices[int(rng.choice(len(choices), p=weights / weights.sum()))]
        used.add((here, step))
        used.add((step, here))
        walked += math.hypot(network.x[step] - network.x[here], network.y[step] - network.y[here])
        path.append(step)
        if walked >= length_m:
            if len(used) / 2 < 0.5 * (len(path) - 1):
                return None  # mostly back and forth over a few streets: not a real walk
            return LineString(np.column_stack([network.lon[path], network.lat[path]]))
    return None


def _straightness(network: StreetNetwork, before: int | None, here: int, after: int) -> float:
    if before is None:
        return 1.0
    heading_in = math.atan2(
        network.y[here] - network.y[before], network.x[here] - network.x[before]
    )
    heading_out = math.atan2(network.y[after] - network.y[here], network.x[after] - network.x[here])
    turn = abs((heading_out - heading_in + math.pi) % (2 * math.pi) - math.pi)
    return 0.2 + math.cos(turn / 2) ** 2


def wander_grid(
    area: Polygon | MultiPolygon,
    *,
    length_m: float,
    rng: np.random.Generator,
    block_m: float = 90.0,
) -> LineString | None:
    """A street-like walk inside a WGS84 area where no street data is bundled.

    The walker goes from a point inside the area in blocks of ``block_m`` metres on the British
    National Grid, turning at corners, never straight back, and never leaving the area.

    Returns
    -------
    shapely.LineString or None
        A WGS84 line at least ``length_m`` long, or None if the area is too small or narrow.

    """
    grid_area = shapely.transform(
        area, lambda xy: np.column_stack(to_grid().transform(xy[:, 0], xy[:, 1]))
    )
    start = grid_area.representative_point()
    points = [(start.x, start.y)]
    heading = int(rng.integers(4))
    moves = ((1, 0), (0, 1), (-1, 0), (0, -1))
    walked = 0.0
    for _ in range(2_000):
        options = [(heading + turn) % 4 for turn in (0, 1, 3)]  # ahead, left, right
        weights = np.array([0.6, 0.2, 0.2])
        order = rng.choice(3, size=3, replace=False, p=weights)
        x, y = points[-1]
        for pick in order:
            dx, dy = moves[options[pick]]
            block = block_m * float(rng.uniform(0.7, 1.3))
            target = (x + dx * block, y + dy * block)
            if grid_area.contains(Point(target)) and grid_area.contains(
                LineString([(x, y), target])
            ):
                heading = options[pick]
                points.append(target)
                walked += block
                break
        else:
            return None
        if walked >= length_m:
            xs, ys = to_wgs84().transform(*np.array(points).T)
            return LineString(np.column_stack([xs, ys]))
    return None
