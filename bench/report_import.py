"""Import a CSV of reports the project's way, against a bare COPY and GeoPandas ``to_postgis``.

Run with ``python -m bench.report_import [--rows N]`` (``make bench`` runs it after the ward
benchmark). All three load the same rows into the same database in one run:

* the project: ``service.queries.imports.import_reports`` — parse and validate every row,
  darkness from the sun's position, COPY into staging, wards in PostGIS, insert;
* a bare ``COPY`` of the same CSV bytes into an unindexed table of text columns (the floor);
* GeoPandas ``to_postgis`` of the same points and columns (what a analyst would reach for).

Goal (issue 3): at least 0.3x the bare COPY's rate, and faster than ``to_postgis``.
"""

from __future__ import annotations

import argparse
import io
import sys
import time
from datetime import date, timedelta

import geopandas as gpd
import numpy as np
import pandas as pd
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

from bench.ward_lookup import _database, _say, _server
from boundaries.bundled import PILOT_WARDS
from boundaries.reading import read_wards
from service.cluster import ensure_postgis
from service.db import migrate
from service.queries import imports, wards
from service.taxonomy import CATEGORIES

BANDS = ("early_morning", "daytime", "evening", "night")


def make_csv(rows: int, seed: int) -> bytes:
    """A reports CSV of ``rows`` rows inside the pilot wards (bounds sampled, then kept inside)."""
    rng = np.random.default_rng(seed)
    pilot = read_wards(PILOT_WARDS.path).wards
    # Oversample the bounding box and keep the points strictly inside a ward.
    x0, y0, x1, y1 = pilot.total_bounds
    # Rounded as a CSV holds them, before testing, so no point moves out of its ward.
    lon = np.round(rng.uniform(x0, x1, rows * 3), 6)
    lat = np.round(rng.uniform(y0, y1, rows * 3), 6)
    candidates = gpd.GeoDataFrame(geometry=gpd.points_from_xy(lon, lat), crs=4326)
    hits = gpd.sjoin(candidates, pilot, predicate="within").index.unique()
    inside = np.zeros(len(lon), dtype=bool)
    inside[hits] = True
    lon, lat = lon[inside][:rows], lat[inside][:rows]
    today = date.today()
    frame = pd.DataFrame(
        {
            "lon": np.round(lon, 6),
            "lat": np.round(lat, 6),
            "categories": rng.choice([c.slug for c in CATEGORIES], rows),
            "date": [
                (today - timedelta(days=int(d))).isoformat() for d in rng.integers(1, 365, rows)
            ],
            "time_band": rng.choice(BANDS, rows),
            "text": "",
        }
    )
    return frame.to_csv(index=False).encode()


def run(rows: int, seed: int) -> int:
    """Run the three loads; return a process exit code."""
    _say(f"making a CSV of {rows:,} reports …")
    data = make_csv(rows, seed)
    with _server() as server, _database(server) as url:
        ensure_postgis(url)
        engine = create_engine(url)
        migrate(engine)
        with Session(engine) as session, session.begin():
            ward_file = read_wards(PILOT_WARDS.path)
            wards.load_ward_set(
                session, ward_file.wards, name="pilot", source="bench", attribution="bench"
            )
            wards.activate_ward_set(session, "pilot")

        _say("bare COPY into an unindexed table …")
        with Session(engine) as session, session.begin():
            session.execute(
                text(
                    "CREATE TABLE bare (lon text, lat text, categories text, date text, "
                    "time_band text, text text)"
                )
            )
            raw = session.connection().connection.driver_connection
            assert raw is not None
            started = time.perf_counter()
            with (
                raw.cursor() as cursor,
                cursor.copy("COPY bare FROM STDIN WITH (FORMAT csv, HEADER true)") as copy,
            ):
                copy.write(data)
            copy_s = time.perf_counter() - started

        _say("the project's import …")
        with Session(engine) as session, session.begin():
            started = time.perf_counter()
            outcome = imports.import_reports(session, data, "bench.csv", imported_by="bench")
            project_s = time.perf_counter() - started

        _say("GeoPandas to_postgis …")
        frame = pd.read_csv(io.BytesIO(data), dtype=str, keep_default_na=False)
        started = time.perf_counter()
        points = gpd.GeoDataFrame(
            frame,
            geometry=gpd.points_from_xy(frame["lon"].astype(float), frame["lat"].astype(float)),
            crs=4326,
        )
        points.to_postgis("geopandas_reports", engine, if_exists="replace", index=False)
        geopandas_s = time.perf_counter() - started
        engine.dispose()

    rate = rows / project_s
    print(f"rows                                  {rows:>12,}  (stored {outcome.stored:,})")
    print(f"bare COPY, text columns, no index     {copy_s:>11.2f}s  ({rows / copy_s:,.0f} rows/s)")
    print(f"project import (validate, dark, wards){project_s:>11.2f}s  ({rate:,.0f} rows/s)")
    print(
        f"GeoPandas to_postgis                  {geopandas_s:>11.2f}s  "
        f"({rows / geopandas_s:,.0f} rows/s)"
    )
    print(f"ratio to bare COPY                    {copy_s / project_s:>12.2f}  (goal >= 0.3)")
    print(f"ratio to to_postgis                   {geopandas_s / project_s:>12.2f}  (goal > 1)")
    return 0 if outcome.stored == rows else 1


def main() -> int:
    """Parse options and run."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=20261125)
    args = parser.parse_args()
    return run(args.rows, args.seed)


if __name__ == "__main__":
    sys.exit(main())
