"""Hexagon counts of 1M reports in PostGIS against a bare count of the same rows; heatmap size.

Run with ``python -m bench.hex_aggregation [--reports N] [--rounds R]``. In one throw-away
database (or the server in ``WALKTALK_TEST_DATABASE_URL``), in one run:

* N published reports (default 1,000,000) uniform over the pilot wards (Lambeth + Southwark),
  stored by the project's own import (``service.queries.imports.import_reports``), then
  ANALYZE;
* R interleaved rounds (after a warm-up) of ``service.queries.aggregates.hexagon_counts`` over
  the whole pilot area at 250 m and 500 m, and of the baseline: a bare ``count(*)`` of the same
  filtered rows (``AggregateFilter.where()``), with the server's default settings for both;
* the pages ``GET /maps/heatmap`` (250 m, the public's protected view and a supervisor's exact
  one) and, for information, ``GET /maps/hotspots`` and ``GET /hotspots``, through the real app
  (``create_app`` and Starlette's TestClient): their size in bytes and time.

Goals (issue 5): hexagon_counts median <= 3 x the bare count's median; the heatmap page
<= 2 MB at 1M reports. The run fails if the hexagon counts do not add up to the bare count.
"""

from __future__ import annotations

import argparse
import secrets
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

from bench.report_import import make_csv
from bench.ward_lookup import _database, _say, _server
from service.app import create_app
from service.auth import Role
from service.cluster import ensure_postgis
from service.db import migrate
from service.queries import aggregates, imports, tokens, wards
from service.settings import Settings

PILOT = ("E09000022", "E09000028")
PAGE_GOAL_BYTES = 2 * 1024 * 1024
RATIO_GOAL = 3.0


def _load(url: str, count: int, seed: int) -> int:
    engine = create_engine(url)
    migrate(engine)
    with Session(engine) as session, session.begin():
        wards.load_pilot(session)
    _say(f"making and importing {count:,} reports (the project's import) …")
    data = make_csv(count, seed)
    with Session(engine) as session, session.begin():
        # Imported reports are published as they are stored.
        outcome = imports.import_reports(session, data, "bench.csv", imported_by="bench")
    with engine.connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT").execute(text("VACUUM ANALYZE reports"))
    engine.dispose()
    return outcome.stored


def _timed(run: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    result = run()
    return time.perf_counter() - started, result


def aggregation(url: str, rounds: int, boroughs: tuple[str, ...] = PILOT) -> dict[str, Any]:
    """Time ``hexagon_counts`` at 250 and 500 m against a bare ``count(*)`` of the same rows.

    Returns ``times`` (seconds per round, by name) and ``results`` (each one's last answer).
    """
    engine = create_engine(url)
    selection = aggregates.AggregateFilter(boroughs)
    where, params = selection.where()
    bare_sql = text(f"SELECT count(*) FROM reports r WHERE {where}")

    def bare() -> int:
        with Session(engine) as session:
            return int(session.execute(bare_sql, params).scalar_one())

    def hexagons(edge: int) -> Callable[[], Any]:
        def run() -> Any:
            with Session(engine) as session:
                return aggregates.hexagon_counts(session, selection, edge_m=edge)

        return run

    runs = {"bare count(*)": bare, "hexagon_counts 250 m": hexagons(250)}
    runs["hexagon_counts 500 m"] = hexagons(500)
    _say("warming up …")
    results = {name: run() for name, run in runs.items()}
    times: dict[str, list[float]] = {name: [] for name in runs}
    for k in range(rounds):
        _say(f"round {k + 1} of {rounds} …")
        for name, run in runs.items():
            seconds, results[name] = _timed(run)
            times[name].append(seconds)
    engine.dispose()
    return {"times": times, "results": results}


def _pages(url: str, home: Path) -> dict[str, tuple[int, float, int]]:
    settings = Settings(
        database_url=url, home=home, secret_key=SecretStr(secrets.token_urlsafe(48)), tiles="none"
    )
    engine = create_engine(url)
    with Session(engine) as session, session.begin():
        scope = tokens.resolve_scope(session, Role.supervisor, command_unit="AS")
        _, supervisor = tokens.create_token(
            session,
            key=settings.resolved_secret_key(),
            role=Role.supervisor,
            name="bench supervisor",
            scope=scope,
            expires_at=tokens.parse_expiry("1d"),
            created_by="bench",
        )
    engine.dispose()
    exact = {"Authorization": f"Bearer {supervisor}"}
    asks = {
        "/maps/heatmap (public)": ("/maps/heatmap", {}),
        "/maps/heatmap (supervisor)": ("/maps/heatmap", exact),
        "/maps/heatmap?crimes=true (public)": ("/maps/heatmap?crimes=true", {}),
        "/maps/hotspots (public)": ("/maps/hotspots", {}),
        "/maps/hotspots?edge=250 (public)": ("/maps/hotspots?edge=250", {}),
        "/hotspots (supervisor)": ("/hotspots", exact),
    }
    out = {}
    with TestClient(create_app(settings)) as client:
        for name, (path, headers) in asks.items():
            _say(f"GET {path} …")
            seconds, response = _timed(partial(client.get, path, headers=headers))
            out[name] = (len(response.content), seconds, response.status_code)
    return out


def run(count: int, rounds: int, seed: int) -> int:
    """Run the benchmark; return a process exit code."""
    with (
        _server() as server,
        _database(server) as url,
        tempfile.TemporaryDirectory(prefix="walktalk-bench-home-") as home,
    ):
        ensure_postgis(url)
        stored = _load(url, count, seed)
        measured = aggregation(url, rounds)
        pages = _pages(url, Path(home))

    times, results = measured["times"], measured["results"]
    bare_count = results["bare count(*)"]
    medians = {name: statistics.median(values) for name, values in times.items()}
    print(f"{'reports stored (published)':<40}{stored:>12,}")
    print(f"{'bare count(*) of the filtered rows':<40}{bare_count:>12,}")
    for name, median in medians.items():
        print(f"{name:<40}{median:>11.3f}s  (median of {rounds}; best {min(times[name]):.3f}s)")
    ok = True
    for edge in (250, 500):
        name = f"hexagon_counts {edge} m"
        frame = results[name]
        total = int(frame["reports"].sum())
        ratio = medians[name] / medians["bare count(*)"]
        print(
            f"{'ratio ' + name + ' / bare':<40}{ratio:>12.2f}  (goal <= {RATIO_GOAL:g}; "
            f"{len(frame):,} cells, {total:,} reports)"
        )
        ok &= total == bare_count
    for name, (size, seconds, status) in pages.items():
        goal = f"  goal <= {PAGE_GOAL_BYTES:,}" if name.startswith("/maps/heatmap") else ""
        print(f"{name:<40}{size:>12,} bytes {seconds:6.2f}s  HTTP {status}{goal}")
        ok &= status == 200
    heat = [size for name, (size, _, _) in pages.items() if name.startswith("/maps/heatmap")]
    return 0 if ok and max(heat) <= PAGE_GOAL_BYTES else 1


def main() -> int:
    """Parse options and run."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reports", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=20261125)
    args = parser.parse_args()
    return run(args.reports, args.rounds, args.seed)


if __name__ == "__main__":
    sys.exit(main())
