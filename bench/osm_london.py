"""Loading a Greater-London-sized OpenStreetMap extract for the base map, and its tiles' speed.

Run with ``python -m bench.osm_london [--blocks N]``. A real Greater London extract cannot be
fetched here (no internet), so one of the same size is made: the two bundled SE1 clips
(``data/osm``, 4,717 nodes and 637 ways, 323 of them streets and paths) are copied N times
(default 930) with new ids, side by side over Greater London's box, and written as ``.osm.pbf``
with pyosmium: about 300,000 street and path ways and 4.4 million nodes, which is the size of
Geofabrik's ``greater-london-latest.osm.pbf`` street network. Then, in a throw-away database
(embedded cluster, or the server in ``WALKTALK_TEST_DATABASE_URL``) with the pilot wards:

* ``walktalk osm load FILE`` as a user runs it (a subprocess), timed from start to exit;
* for the breakdown, the same two steps in this process: reading with pyosmium
  (``geo.osm.read_osm_features``) and storing again, as a reload that replaces every feature
  (``service.queries.osm.store_features``: COPY into a temporary table, one merge), against the
  baseline of storing them as ``osm load`` did before, one ``INSERT … ON CONFLICT`` per row;
* tiles at zooms 11 to 16 over central London (``service.queries.osm.vector_tile``, the query
  the tile route runs): median time and size.
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import geopandas as gpd
import osmium
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

from bench.ward_lookup import _database, _say, _server
from geo.osm import read_osm_features
from service.cluster import ensure_postgis
from service.db import migrate
from service.queries import osm, wards

OSM = sorted((Path(__file__).parents[1] / "data" / "osm").glob("*.osm"))
# Greater London's box, roughly: blocks are laid from its south-west corner eastwards.
WEST, SOUTH = -0.51, 51.29
COLUMNS = 31
# Central London (Charing Cross) and the tiles over it at each zoom.
CENTRE = (-0.1276, 51.5073)


# The baseline: how `osm load` stored features before, one INSERT per row (sent by psycopg's
# executemany), replacing a feature already there.
_ROW_BY_ROW = text(
    "INSERT INTO osm_features (osm_type, osm_id, kind, name, highway, lit, source, geom) "
    "VALUES (:osm_type, :osm_id, :kind, :name, :highway, :lit, :source, "
    "ST_GeomFromWKB(:wkb, 4326)) "
    "ON CONFLICT (osm_type, osm_id) DO UPDATE SET kind = EXCLUDED.kind, name = EXCLUDED.name, "
    "highway = EXCLUDED.highway, lit = EXCLUDED.lit, source = EXCLUDED.source, "
    "geom = EXCLUDED.geom"
)


def store_row_by_row(session: Session, features: gpd.GeoDataFrame, *, source: str) -> int:
    """The baseline: the features stored as ``osm load`` did before COPY."""
    rows = features.drop(columns="geometry").astype(object).where(features.notna(), None)
    params = [
        {**row, "source": source, "wkb": geometry.wkb}
        for row, geometry in zip(rows.to_dict("records"), features.geometry, strict=True)
    ]
    session.execute(_ROW_BY_ROW, params)
    return len(params)


_NEAREST_STREETS = text(
    "SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_PointOnSurface(geom) AS p FROM osm_features "
    "WHERE kind = 'street' ORDER BY geom <-> ST_SetSRID(ST_MakePoint(:lon, :lat), 4326) "
    "LIMIT 500) s"
)


def build_extract(path: Path, blocks: int) -> tuple[int, int]:
    """Write ``blocks`` shifted copies of the bundled clips to ``path``; (nodes, ways) written."""
    nodes: list[tuple[int, float, float, dict[str, str]]] = []
    ways: list[tuple[int, list[int], dict[str, str]]] = []
    for source in OSM:
        for obj in osmium.FileProcessor(source, osmium.osm.NODE | osmium.osm.WAY):
            if isinstance(obj, osmium.osm.Node):
                nodes.append((obj.id, obj.lon, obj.lat, dict(obj.tags)))
            elif isinstance(obj, osmium.osm.Way):
                ways.append((obj.id, [n.ref for n in obj.nodes], dict(obj.tags)))
    west = min(n[1] for n in nodes)
    south = min(n[2] for n in nodes)
    width = max(n[1] for n in nodes) - west
    height = max(n[2] for n in nodes) - south
    index = {old: i for i, (old, *_) in enumerate(nodes)}
    written_nodes = written_ways = 0
    with osmium.SimpleWriter(str(path), overwrite=True) as writer:
        # Nodes before ways, as in every OSM file: readers keep locations as they go.
        for block in range(blocks):
            dx = WEST - west + (block % COLUMNS) * width
            dy = SOUTH - south + (block // COLUMNS) * height
            base = block * len(nodes)
            for i, (_, lon, lat, tags) in enumerate(nodes):
                writer.add_node(
                    osmium.osm.mutable.Node(
                        id=base + i + 1, location=(lon + dx, lat + dy), tags=tags
                    )
                )
                written_nodes += 1
        for block in range(blocks):
            base = block * len(nodes)
            for i, (_, refs, tags) in enumerate(ways):
                if not all(ref in index for ref in refs):
                    continue  # cut off by the clip's edge
                writer.add_way(
                    osmium.osm.mutable.Way(
                        id=block * len(ways) + i + 1,
                        nodes=[base + index[ref] + 1 for ref in refs],
                        tags=tags,
                    )
                )
                written_ways += 1
    return written_nodes, written_ways


def _tile_of(lon: float, lat: float, z: int) -> tuple[int, int]:
    n = 2**z
    return int((lon + 180) / 360 * n), int(
        (1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n
    )


def main() -> None:
    """Build the extract, load it, time the tiles, print a table for README."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--blocks", type=int, default=930)
    parser.add_argument(
        "--extract", type=Path, help="load this .osm.pbf (e.g. a real one) instead of making one"
    )
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="walktalk-osm-bench-"))
    extract = args.extract or work / "synthetic-greater-london.osm.pbf"
    if args.extract is None:
        started = time.perf_counter()
        node_count, way_count = build_extract(extract, args.blocks)
        _say(
            f"wrote {extract.name}: {node_count:,} nodes, {way_count:,} ways, "
            f"{extract.stat().st_size / 2**20:.0f} MB in {time.perf_counter() - started:.0f} s"
        )
    with _server() as server, _database(server) as url:
        ensure_postgis(url)
        engine = create_engine(url)
        migrate(engine)
        with Session(engine) as session, session.begin():
            wards.load_pilot(session)

        env = {**os.environ, "DATABASE_URL": url, "WALKTALK_HOME": str(work / "home")}
        started = time.perf_counter()
        subprocess.run(
            [Path(sys.executable).parent / "walktalk", "osm", "load", str(extract)],
            env=env,
            check=True,
        )
        cli = time.perf_counter() - started

        started = time.perf_counter()
        features = read_osm_features(extract)
        reading = time.perf_counter() - started
        started = time.perf_counter()
        with Session(engine) as session, session.begin():
            stored = osm.store_features(session, features, source=extract.name)
        storing = time.perf_counter() - started
        started = time.perf_counter()
        with Session(engine) as session, session.begin():
            store_row_by_row(session, features, source=extract.name)
        row_by_row = time.perf_counter() - started
        with Session(engine) as session, session.begin():
            session.execute(text("ANALYZE osm_features"))
            kinds: dict[str, int] = dict(
                session.execute(text("SELECT kind, count(*) FROM osm_features GROUP BY kind")).all()
            )

        rows = []
        with Session(engine) as session:
            # Tiles with streets in them: over the 500 streets nearest Charing Cross.
            points = session.execute(_NEAREST_STREETS, {"lon": CENTRE[0], "lat": CENTRE[1]}).all()
            for z in (11, 12, 13, 14, 15, 16):
                tiles = list(dict.fromkeys(_tile_of(lon, lat, z) for lon, lat in points))[:9]
                times, sizes = [], []
                for x, y in tiles:
                    t0 = time.perf_counter()
                    tile = osm.vector_tile(session, z, x, y)
                    times.append(time.perf_counter() - t0)
                    sizes.append(len(tile))
                rows.append(
                    (z, len(tiles), statistics.median(times), max(times), statistics.median(sizes))
                )
        engine.dispose()

    print(f"features: {kinds} ({stored:,} stored)")
    print(f"walktalk osm load (subprocess, start to exit): {cli:.1f} s")
    print(f"  reading with pyosmium: {reading:.1f} s")
    print(f"  storing again, replacing each (COPY + merge): {storing:.1f} s")
    print(f"  the same, one INSERT per row as before (baseline): {row_by_row:.1f} s")
    print(f"  ratio COPY / row by row: {storing / row_by_row:.2f}")
    print("zoom | tiles | median ms | max ms | median bytes (tiles over central London's streets)")
    for z, count, median, worst, size in rows:
        print(f"{z} | {count} | {median * 1000:.0f} | {worst * 1000:.0f} | {size:,.0f}")


if __name__ == "__main__":
    main()
