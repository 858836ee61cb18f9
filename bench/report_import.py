"""Import a CSV of reports the project's way, against a bare COPY and GeoPandas ``to_postgis``.

Run with ``python -m bench.report_import [--rows N]`` (``make bench`` runs it after the ward
benchmark). All three load the same rows into the same database in one run:

* the project: ``service.queries.imports.import_reports`` — parse and validate every row,
  darkness from the sun's position, COPY into staging, wards in PostGIS, insert;
* a bare ``COPY`` of the same CSV bytes into an unindexed table of text columns (the floor);
* GeoPandas ``to_postgis`` of the same points and columns (what a analyst would reach for).

Goal (issue 3): at least 0.3x the bare COPY's rate, and faster than ``to_postgis``.

For information it also prints where the project's import spends its time (each step timed
in the same run, by wrapping the functions that do it), and the rate of a second import of
a tenth as many rows into the table the first one filled, where the indexes are updated in
place rather than built again.
"""

from __future__ import annotations

import argparse
import io
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from typing import Any

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
from service.queries import imports, reports, wards
from service.taxonomy import CATEGORIES

BANDS = ("early_morning", "daytime", "evening", "night")


def make_csv(rows: int, seed: int, *, wards: gpd.GeoDataFrame | None = None) -> bytes:
    """A reports CSV of ``rows`` rows inside the pilot wards (bounds sampled, then kept inside).

    ``wards`` (EPSG:4326, as ``read_wards`` gives them) spreads the points over other wards
    instead, e.g. all 657 London wards of 2018.
    """
    rng = np.random.default_rng(seed)
    pilot = read_wards(PILOT_WARDS.path).wards if wards is None else wards
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


class _Steps:
    """Wall-clock seconds per step of the project's import, by wrapping what does each step."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    def _add(self, step: str, started: float) -> None:
        self.seconds[step] = self.seconds.get(step, 0.0) + time.perf_counter() - started

    def wrap(self, module: Any, name: str, step: Callable[..., str]) -> None:
        original = getattr(module, name)

        def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                self._add(step(*args, **kwargs), started)

        setattr(module, name, timed)

    def wrap_rebuild(self) -> None:
        """Time what `_large_load` does after the rows are in: building the indexes again."""
        original = reports._large_load

        @contextmanager
        def timed(*args: Any, **kwargs: Any) -> Iterator[None]:
            with original(*args, **kwargs):
                yield
                started = time.perf_counter()
            self._add("building the indexes and foreign keys again", started)

        reports._large_load = timed


def _project_steps() -> _Steps:
    steps = _Steps()
    steps.wrap(imports, "_parse_reports", lambda *a, **k: "reading and checking the CSV")
    steps.wrap(
        reports,
        "copy_binary",
        lambda _s, table, *a, **k: (
            "binary COPY into reports" if table == "reports" else "binary COPY of the points"
        ),
    )
    steps.wrap(reports, "_place", lambda *a, **k: "wards in PostGIS (BRIN, join, read back)")
    steps.wrap(reports, "_prepare", lambda *a, **k: "  meanwhile: sun, codes (Python)")
    steps.wrap_rebuild()
    return steps


# The columns the project's import writes; the others keep their defaults.
_WRITTEN = (
    "id, geom, ward_code, borough_code, occurred_on, time_band, occurred_at, categories, text, "
    "source, sun_elevation, is_dark, darkness_basis, status, import_id"
)


def _unindexed_copy(session: Session) -> float:
    """Seconds to binary-COPY the first import's rows into reports' twin with no index or key.

    The twin has the same columns, defaults and checks, so this is the floor for writing
    these rows into ``reports`` at all: what the import would cost with nothing else to do.
    """
    session.execute(
        text(
            "CREATE TABLE reports_unindexed (LIKE reports INCLUDING DEFAULTS INCLUDING CONSTRAINTS)"
        )
    )
    raw = session.connection().connection.driver_connection
    assert raw is not None
    sent = bytearray()
    with (
        raw.cursor() as cursor,
        cursor.copy(
            f"COPY (SELECT {_WRITTEN} FROM reports WHERE import_id = "
            "(SELECT min(id) FROM imports)) TO STDOUT WITH (FORMAT binary)"
        ) as copy,
    ):
        for chunk in copy:
            sent += chunk
    started = time.perf_counter()
    with (
        raw.cursor() as cursor,
        cursor.copy(f"COPY reports_unindexed ({_WRITTEN}) FROM STDIN WITH (FORMAT binary)") as copy,
    ):
        view = memoryview(sent)
        for start in range(0, len(view), 8 * 2**20):
            copy.write(view[start : start + 8 * 2**20])
    return time.perf_counter() - started


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
        steps = _project_steps()
        with Session(engine) as session, session.begin():
            started = time.perf_counter()
            outcome = imports.import_reports(session, data, "bench.csv", imported_by="bench")
            project_s = time.perf_counter() - started
        first_steps = dict(steps.seconds)
        more = max(1, rows // 10)
        more_data = make_csv(more, seed + 1)
        _say(f"the project's import of {more:,} more rows into the filled table …")
        with Session(engine) as session, session.begin():
            started = time.perf_counter()
            imports.import_reports(session, more_data, "more.csv", imported_by="bench")
            more_s = time.perf_counter() - started

        _say("the same rows again, binary COPY into an unindexed copy of reports …")
        with Session(engine) as session, session.begin():
            floor_s = _unindexed_copy(session)

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
    print(
        f"for comparison: its rows, binary COPY into reports' twin with no index "
        f"{floor_s:.2f}s ({rows / floor_s:,.0f} rows/s, {copy_s / floor_s:.2f} of the bare COPY)"
    )
    print("where the project's import spends its time (wall clock, same run):")
    for step, seconds in first_steps.items():
        print(f"  {step:<48}{seconds:>7.2f}s")
    print(
        f"project import of {more:,} more rows into the filled table (indexes updated in place)"
        f" {more_s:.2f}s ({more / more_s:,.0f} rows/s)"
    )
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
