"""Better-lit alternatives and snapping on a Greater-London-sized street network.

Run with ``python -m bench.route_alternative [--blocks N] [--routes R] [--reports K]``. The
network is made as ``bench.osm_london``'s synthetic extract is (the bundled SE1 clips'
streets and paths copied N times, default 930, over Greater London's box, here edge to edge:
about 300,000 ways over 46 by 31 km), loaded by ``service.queries.osm.store_features`` as
``walktalk osm load`` does, which builds the street network too. The copies share no node, so
for routes across them the bench then joins each dead end to the nearest vertex of another
part within 1 km (unlit edges: ``bridge`` ways made here, not in any OSM file), as the
cut-off streets at a real extract's seams would meet. K (default 200,000) published reports
are stored over the pilot wards, which the copies near Southwark overlay, so the reports'
penalty has rows to count.

Then, for R (default 40) random pairs of vertices 3.5-4.5 km apart as the crow flies (a walk of
about 5 km) in the 12 km round SE1:

* ``better_lit_route`` (``service.queries.routing``): the weighted and the shortest path in
  the pair's box, and the drawn line's figures: what the briefing runs;
* the baseline, in the same run: one bare ``pgr_dijkstra`` shortest path between the same
  vertices over the same box, nothing else;
* ``snap_route`` of a line drawn 6 m beside the shortest path and thinned as a hand draws it.

It prints the network build, each timing's median, p95 and worst, the ratio to the baseline,
and whether p95 of the better-lit way is under the goal (1 s).
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import osmium
import shapely
from shapely.geometry import LineString
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

from bench.osm_london import COLUMNS, OSM, SOUTH, WEST
from bench.route_exposure import report_rows
from bench.ward_lookup import _database, _say, _server
from geo.osm import read_osm_features
from service.cluster import ensure_postgis
from service.db import migrate
from service.queries import osm, reports, wards
from service.queries.routing import (
    _COMPONENTS,
    LitWeights,
    _box_sql,
    better_lit_route,
    rebuild_street_network,
    snap_route,
)

GOAL_S = 1.0
# Round Southwark, where the pilot wards (and so the reports) are.
CENTRE = (-0.10, 51.50)
HALF_BOX_DEG = (0.09, 0.055)  # about 12 km by 12 km

# Each dead end to the nearest vertex of another part within 1 km: a bridge edge (the copies
# lie side by side with gaps of up to 700 m between their streets). The vertices' parts go in
# an indexed table first, so the nearest search walks the index and skips its own part.
_PARTS = (
    "DROP TABLE IF EXISTS bench_parts",
    "CREATE TEMPORARY TABLE bench_parts AS SELECT DISTINCT ON (x.v) x.v, x.component, s.geom "
    "FROM (SELECT source AS v, component FROM street_edges UNION ALL "
    "SELECT target, component FROM street_edges) x JOIN street_vertices s ON s.id = x.v",
    "CREATE INDEX ON bench_parts USING gist (geom)",
    "CREATE INDEX ON bench_parts (v)",
    "ANALYZE bench_parts",
)
_BRIDGES = text(
    "WITH degree AS (SELECT v, count(*) AS n FROM (SELECT source AS v FROM street_edges "
    "  WHERE osm_id <> -1 UNION ALL SELECT target FROM street_edges WHERE osm_id <> -1) x "
    "  GROUP BY v), "
    "ends AS (SELECT p.v, p.component, p.geom FROM degree d JOIN bench_parts p USING (v) "
    "  WHERE d.n = 1), "
    "pairs AS (SELECT e.v AS a, o.v AS b, e.geom AS ga, o.geom AS gb FROM ends e "
    "  CROSS JOIN LATERAL (SELECT p.v, p.geom FROM bench_parts p "
    "  WHERE p.component <> e.component ORDER BY p.geom <-> e.geom LIMIT 1) o) "
    "INSERT INTO street_edges (id, source, target, osm_id, highway, lit, length_m, component, "
    "geom) SELECT (SELECT max(id) FROM street_edges) + row_number() OVER (), a, b, -1, "
    "'bridge', 'unknown', ST_Length(ST_MakeLine(ga, gb)::geography), 0, ST_MakeLine(ga, gb) "
    "FROM pairs WHERE ST_Distance(ga::geography, gb::geography) <= 1000"
)
_SHORTEST = text(
    "SELECT seq, node, edge FROM pgr_dijkstra(:edges, CAST(:s AS bigint), CAST(:t AS bigint), "
    "directed => false)"
)
_PAIR = text(
    "WITH main AS (SELECT component FROM street_edges GROUP BY 1 ORDER BY count(*) DESC "
    "LIMIT 1), v AS (SELECT DISTINCT e.source AS id FROM street_edges e JOIN main USING "
    "(component)) SELECT s.id, ST_X(s.geom), ST_Y(s.geom) FROM street_vertices s JOIN v USING "
    "(id) WHERE s.geom && ST_MakeEnvelope(:w, :s, :e, :n, 4326)"
)
_LINE = text(
    "SELECT ST_AsBinary(ST_LineMerge(ST_Collect(e.geom ORDER BY p.seq))) FROM pgr_dijkstra("
    ":edges, CAST(:s AS bigint), CAST(:t AS bigint), directed => false) p "
    "JOIN street_edges e ON e.id = p.edge"
)


def build_street_extract(path: Path, blocks: int) -> int:
    """Write ``blocks`` copies of the bundled clips' highway ways to ``path``; ways written.

    As ``bench.osm_london.build_extract``, but the copies are laid edge to edge by the extent
    of the streets' own nodes (that one lays them by every node's, which leaves them kilometres
    apart), so that bridges of under a kilometre join them into one network.
    """
    nodes: dict[int, tuple[float, float]] = {}
    ways: list[tuple[list[int], dict[str, str]]] = []
    for source in OSM:
        for obj in osmium.FileProcessor(str(source), osmium.osm.NODE | osmium.osm.WAY):
            if isinstance(obj, osmium.osm.Node):
                nodes[obj.id] = (obj.lon, obj.lat)
            elif isinstance(obj, osmium.osm.Way) and "highway" in obj.tags:
                refs = [n.ref for n in obj.nodes]
                ways.append((refs, dict(obj.tags)))
    ways = [(refs, tags) for refs, tags in ways if all(ref in nodes for ref in refs)]
    used = sorted({ref for refs, _ in ways for ref in refs})
    index = {old: i for i, old in enumerate(used)}
    west = min(nodes[r][0] for r in used)
    south = min(nodes[r][1] for r in used)
    width = max(nodes[r][0] for r in used) - west
    height = max(nodes[r][1] for r in used) - south
    written = 0
    with osmium.SimpleWriter(str(path), overwrite=True) as writer:
        for block in range(blocks):
            dx = WEST - west + (block % COLUMNS) * width
            dy = SOUTH - south + (block // COLUMNS) * height
            for ref in used:
                lon, lat = nodes[ref]
                writer.add_node(
                    osmium.osm.mutable.Node(
                        id=block * len(used) + index[ref] + 1, location=(lon + dx, lat + dy)
                    )
                )
        for block in range(blocks):
            for i, (refs, tags) in enumerate(ways):
                writer.add_way(
                    osmium.osm.mutable.Way(
                        id=block * len(ways) + i + 1,
                        nodes=[block * len(used) + index[r] + 1 for r in refs],
                        tags=tags,
                    )
                )
                written += 1
    return written


def _timed(step: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    answer = step()
    return time.perf_counter() - started, answer


def _stats(times: list[float]) -> str:
    ordered = sorted(times)
    p95 = ordered[max(0, round(0.95 * len(ordered)) - 1)]
    return (
        f"median {statistics.median(ordered) * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms, "
        f"worst {ordered[-1] * 1000:.0f} ms"
    )


def _p95(times: list[float]) -> float:
    ordered = sorted(times)
    return ordered[max(0, round(0.95 * len(ordered)) - 1)]


def _pairs(
    session: Session, count: int, seed: int, centre: tuple[float, float]
) -> list[tuple[int, int, tuple, tuple]]:
    """``count`` pairs of main-part vertices 3.5-4.5 km apart in the box round ``centre``."""
    west, south = centre[0] - HALF_BOX_DEG[0], centre[1] - HALF_BOX_DEG[1]
    east, north = centre[0] + HALF_BOX_DEG[0], centre[1] + HALF_BOX_DEG[1]
    vertices = session.execute(_PAIR, {"w": west, "s": south, "e": east, "n": north}).all()
    rng = random.Random(seed)
    found: list[tuple[int, int, tuple, tuple]] = []
    geod_m = 111_320.0
    while len(found) < count:
        a, b = rng.sample(vertices, 2)
        dx = (b[1] - a[1]) * geod_m * 0.6225  # cos(51.5°)
        dy = (b[2] - a[2]) * geod_m
        if 3500 <= (dx * dx + dy * dy) ** 0.5 <= 4500:
            found.append((int(a[0]), int(b[0]), (a[1], a[2]), (b[1], b[2])))
    return found


def main() -> None:
    """Build and load the network, join its copies, time the routes, print a summary."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--blocks", type=int, default=930)
    parser.add_argument("--routes", type=int, default=40)
    parser.add_argument("--reports", type=int, default=200_000)
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="walktalk-route-bench-"))
    extract = work / "synthetic-greater-london.osm.pbf"
    ways = build_street_extract(extract, args.blocks)
    _say(f"wrote {extract.name}: {ways:,} ways")
    features = read_osm_features(extract)
    with _server() as server, _database(server) as url:
        ensure_postgis(url)
        engine = create_engine(url)
        migrate(engine)
        with Session(engine) as session, session.begin():
            wards.load_pilot(session)
        with Session(engine) as session, session.begin():
            load_s, _ = _timed(lambda: osm.store_features(session, features, source="bench"))
        with Session(engine) as session, session.begin():
            network_s, (vertices, edges) = _timed(lambda: rebuild_street_network(session))
            # Round by round: a dead end's nearest other part is first the other clip of its
            # own copy, then a neighbouring copy, until the parts are one (or stop joining).
            started = time.perf_counter()
            bridges, parts, largest = 0, edges, 0
            for _ in range(6):
                for statement in _PARTS:
                    session.execute(text(statement))
                bridges += session.execute(_BRIDGES).rowcount  # type: ignore[attr-defined]
                session.execute(_COMPONENTS)
                session.execute(text("ANALYZE street_edges"))
                before = parts
                parts, largest = session.execute(
                    text("SELECT count(*), max(n) FROM (SELECT count(*) AS n FROM street_edges "
                         "GROUP BY component) c")
                ).one()
                if parts == 1 or parts == before:
                    break
            bridge_s = time.perf_counter() - started
        _say(f"{bridges:,} bridges: {parts:,} parts, the largest {largest:,} of {edges:,} edges")
        _say(f"storing {args.reports:,} published reports over the pilot wards …")
        with Session(engine) as session, session.begin():
            rows = report_rows(session, args.reports, args.seed)
            reports.store_reports(
                session, rows, source="synthetic", status="published", skip_outside=True,
                return_ids=False,
            )  # fmt: skip
        with engine.connect() as conn:
            conn.execution_options(isolation_level="AUTOCOMMIT").execute(text("VACUUM ANALYZE"))

        lit_times: list[float] = []
        bare_times: list[float] = []
        snap_times: list[float] = []
        lengths: list[float] = []
        with Session(engine) as session:
            # A small run (fewer copies than reach Southwark) takes its network's middle.
            centre = CENTRE
            if args.blocks < 700:
                x, y = session.execute(
                    text("SELECT ST_X(c), ST_Y(c) FROM ST_Centroid((SELECT ST_Extent(geom) "
                         "FROM street_vertices)::geometry) c")
                ).one()
                centre = (float(x), float(y))
            pairs = _pairs(session, args.routes, args.seed, centre)
            for _ in range(2):  # warm-up: the first query reads the indexes from disk
                better_lit_route(session, LineString([pairs[0][2], pairs[0][3]]))
            for source, target, a, b in pairs:
                box = _box_sql([a, b])
                edges_sql = (
                    f"SELECT id, source, target, length_m AS cost FROM street_edges "
                    f"WHERE geom && {box}"
                )
                started = time.perf_counter()
                answer = better_lit_route(
                    session, LineString([a, b]), LitWeights(unlit=1.0, reports=0.25)
                )
                lit_times.append(time.perf_counter() - started)
                lengths.append(answer.alternative.length_m)
                started = time.perf_counter()
                session.execute(_SHORTEST, {"edges": edges_sql, "s": source, "t": target}).all()
                bare_times.append(time.perf_counter() - started)
                wkb = session.execute(
                    _LINE, {"edges": edges_sql, "s": source, "t": target}
                ).scalar_one()
                path = shapely.from_wkb(bytes(wkb))
                drawn = shapely.affinity.translate(path, xoff=0.00006, yoff=0.00004)
                drawn = drawn.simplify(0.0005)
                if isinstance(drawn, LineString):
                    started = time.perf_counter()
                    snap_route(session, drawn)
                    snap_times.append(time.perf_counter() - started)
        engine.dispose()

    print(f"network: {vertices:,} vertices, {edges:,} edges from {ways:,} ways")
    print(f"osm load (store_features, network build included): {load_s:.1f} s")
    print(f"  of which the network build (rebuild_street_network again): {network_s:.1f} s")
    print(
        f"  joining the copies: {bridges:,} bridge edges in {bridge_s:.1f} s (bench only); "
        f"{parts:,} parts, the largest {largest:,} edges"
    )
    print(
        f"{len(lit_times)} better-lit routes 3.5-4.5 km apart (ways of {min(lengths) / 1000:.1f}-"
        f"{max(lengths) / 1000:.1f} km, median {statistics.median(lengths) / 1000:.1f} km)"
    )
    print(f"better_lit_route: {_stats(lit_times)}")
    print(f"bare pgr_dijkstra, same box (baseline): {_stats(bare_times)}")
    print(f"ratio of medians: {statistics.median(lit_times) / statistics.median(bare_times):.1f}")
    print(f"snap_route of a drawn line beside the path: {_stats(snap_times)}")
    p95 = _p95(lit_times)
    verdict = "met" if p95 < GOAL_S else "NOT met"
    print(f"p95 better-lit: {p95:.2f} s; goal < {GOAL_S:g} s: {verdict}")


if __name__ == "__main__":
    main()
