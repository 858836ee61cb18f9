"""Assign random points in London to the 657 London wards: PostGIS (the project's way) vs GeoPandas.

Run with ``make bench`` (or ``python -m bench.ward_lookup --points 1000000``). Both sides get the
same points and the same ward polygons in the same run; the figure that matters is the ratio.

What is timed
-------------
* PostGIS: ``service.queries.wards.compute_ward_hits`` — the ward of every stored point, worked
  out in the database (points already stored with a GiST index, as reports are).
* GeoPandas: ``geopandas.sjoin(points, wards, predicate="within")`` on the same points held in
  memory, keeping one ward per point. ("within" is GeoPandas' fastest predicate here, about 4x
  "intersects"; a pandas ``groupby().min()`` to pick the lowest code on boundaries would cost
  10 s more at 1M points, so ties are left to whichever row comes first and counted below.)
* For information: ``assign_wards``, which also writes the ward into every changed row, and the
  COPY that loads the points (neither is compared with GeoPandas, which writes nothing).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import psycopg
from psycopg import sql
from sqlalchemy import Engine, create_engine, make_url, text
from sqlalchemy.orm import Session

from boundaries.bundled import LONDON_WARDS_2018
from boundaries.reading import read_wards
from geo.grid import to_wgs84
from service.cluster import Cluster, ensure_postgis
from service.db import migrate
from service.queries import wards as queries

# London's bounds in British National Grid (the 2018 wards' extent).
LONDON_BNG = (503568.0, 155850.0, 561957.0, 200934.0)
POINTS_TABLE = queries.WardAssignedTable("bench_points", borough_column=None)


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


@contextmanager
def _server() -> Iterator[str]:
    """An admin URL: WALKTALK_TEST_DATABASE_URL, or a throw-away embedded cluster."""
    external = os.environ.get("WALKTALK_TEST_DATABASE_URL")
    if external:
        yield make_url(external).set(database="postgres").render_as_string(hide_password=False)
        return
    home = Path(tempfile.mkdtemp(prefix="walktalk-bench-"))
    home.chmod(0o755)  # reachable by the postgres user when run as root
    cluster = Cluster(
        home, server_options=("fsync=off", "synchronous_commit=off", "max_wal_size=4GB")
    )
    try:
        _say("starting a throw-away PostGIS cluster …")
        cluster.up()
        yield cluster.url("postgres")
    finally:
        cluster.down()
        shutil.rmtree(home, ignore_errors=True)


@contextmanager
def _database(server: str) -> Iterator[str]:
    name = f"walktalk_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    url = make_url(server).set(database=name, drivername="postgresql+psycopg")
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with psycopg.connect(server, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))


def random_points(count: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Uniform random points in London's BNG bounds, as WGS84 lon/lat arrays."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(LONDON_BNG[0], LONDON_BNG[2], count)
    y = rng.uniform(LONDON_BNG[1], LONDON_BNG[3], count)
    lon, lat = to_wgs84().transform(x, y)
    return np.asarray(lon), np.asarray(lat)


def _copy_points(session: Session, lon: np.ndarray, lat: np.ndarray) -> float:
    session.execute(
        text(
            "CREATE TABLE bench_points (id integer PRIMARY KEY, ward_code text, "
            "geom geometry(Point, 4326) NOT NULL)"
        )
    )
    raw = session.connection().connection.driver_connection
    assert raw is not None
    started = time.perf_counter()
    with raw.cursor() as cursor, cursor.copy("COPY bench_points (id, geom) FROM STDIN") as copy:
        for i, (x, y) in enumerate(zip(lon.tolist(), lat.tolist(), strict=True), start=1):
            copy.write_row((i, f"SRID=4326;POINT({x!r} {y!r})"))
    session.execute(text("CREATE INDEX bench_points_geom ON bench_points USING gist (geom)"))
    session.execute(text("ANALYZE bench_points"))
    return time.perf_counter() - started


@dataclass(frozen=True)
class Assignment:
    """One timed assignment of the same points by PostGIS and by GeoPandas."""

    points: int
    placed: int
    placed_geopandas: int
    disagreements: int
    copy_s: float
    postgis_s: float
    geopandas_s: float

    @property
    def ratio(self) -> float:
        """PostGIS's rate over GeoPandas's (above 1: PostGIS is faster)."""
        return self.geopandas_s / self.postgis_s


def time_assignment(
    engine: Engine, set_id: int, wards: gpd.GeoDataFrame, lon: np.ndarray, lat: np.ndarray
) -> Assignment:
    """COPY the points into ``bench_points``, then time both ways of placing them in wards.

    ``wards`` are the polygons of ward set ``set_id`` (already loaded), as GeoPandas holds them.
    The table is dropped again afterwards.
    """
    count = len(lon)
    with Session(engine) as session, session.begin():
        _say(f"loading {count:,} points with COPY …")
        copy_s = _copy_points(session, lon, lat)
    with Session(engine) as session, session.begin():
        _say("PostGIS: computing the ward of every point …")
        started = time.perf_counter()
        placed = queries.compute_ward_hits(session, POINTS_TABLE, set_id=set_id, into="hits")
        postgis_s = time.perf_counter() - started
        postgis_codes: dict[int, str] = dict(
            session.execute(text("SELECT key, code FROM hits")).tuples().all()
        )
        session.execute(text("DROP TABLE hits"))
        session.execute(text("DROP TABLE bench_points"))

    _say("GeoPandas: sjoin on the same points …")
    points = gpd.GeoDataFrame(
        {"id": np.arange(1, count + 1)}, geometry=gpd.points_from_xy(lon, lat), crs=4326
    )
    # Warm up first (imports, lazy initialisation), so only the join itself is timed.
    gpd.sjoin(points.head(1000), wards[["code", "geometry"]], predicate="within")
    started = time.perf_counter()
    joined = gpd.sjoin(points, wards[["code", "geometry"]], predicate="within")
    joined = joined[~joined.index.duplicated()]
    geopandas_codes = joined.set_index("id")["code"]
    geopandas_s = time.perf_counter() - started

    disagreements = sum(
        postgis_codes.get(int(key)) != code for key, code in geopandas_codes.items()
    ) + len(set(postgis_codes) - set(int(k) for k in geopandas_codes.index))
    return Assignment(
        points=count,
        placed=placed,
        placed_geopandas=len(geopandas_codes),
        disagreements=disagreements,
        copy_s=copy_s,
        postgis_s=postgis_s,
        geopandas_s=geopandas_s,
    )


def run(count: int, seed: int) -> int:
    """Run the benchmark; return a process exit code."""
    _say(f"reading the 657 London wards and making {count:,} random points …")
    wards = read_wards(LONDON_WARDS_2018.path).wards
    lon, lat = random_points(count, seed)

    with _server() as server, _database(server) as url:
        ensure_postgis(url)
        engine = create_engine(url)
        migrate(engine)
        with Session(engine) as session, session.begin():
            _say("loading the wards the project's way (COPY, ST_Subdivide) …")
            set_id = queries.load_ward_set(
                session,
                wards,
                name="london-2018",
                source="bench",
                attribution=LONDON_WARDS_2018.attribution,
            )
            queries.activate_ward_set(session, "london-2018", tables=[])
        found = time_assignment(engine, set_id, wards, lon, lat)
        with Session(engine) as session, session.begin():
            _copy_points(session, lon, lat)
            _say("PostGIS: storing the ward in every point row …")
            started = time.perf_counter()
            stored = queries.assign_wards(session, POINTS_TABLE, set_id=set_id)
            store_s = time.perf_counter() - started
        engine.dispose()

    rate = count / found.postgis_s
    rate_gp = count / found.geopandas_s
    print(f"points                          {count:>12,}")
    print(
        f"points inside a ward            {found.placed:>12,}  "
        f"(GeoPandas: {found.placed_geopandas:,})"
    )
    print(f"disagreements                   {found.disagreements:>12,}")
    copy_rate = count / found.copy_s
    print(f"COPY of the points              {found.copy_s:>11.2f}s  ({copy_rate:,.0f} points/s)")
    print(f"PostGIS ward of every point     {found.postgis_s:>11.2f}s  ({rate:,.0f} points/s)")
    print(f"GeoPandas sjoin                 {found.geopandas_s:>11.2f}s  ({rate_gp:,.0f} pts/s)")
    print(f"ratio PostGIS / GeoPandas rate  {found.ratio:>12.2f}  (goal: >= 1)")
    print(f"PostGIS storing {stored:,} wards   {store_s:>11.2f}s  (row writes + index upkeep)")
    # Boundary points may fall either way between two engines' predicates; more is a bug.
    return 0 if found.disagreements <= max(5, count // 100_000) else 1


def main() -> int:
    """Parse options and run."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=20261125)
    args = parser.parse_args()
    return run(args.points, args.seed)


if __name__ == "__main__":
    sys.exit(main())
