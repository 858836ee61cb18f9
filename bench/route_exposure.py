"""Exposure of a 5 km walk to 1M reports through the API, against the bare ``ST_DWithin`` query.

Run with ``python -m bench.route_exposure [--reports N] [--requests K]`` (``make bench`` runs it
after the import benchmark). In one throw-away database, in one run:

* N published reports (default 1,000,000) spread over the pilot wards (Lambeth + Southwark) in
  proportion to their area, stored through ``service.queries.reports.store_reports`` (darkness,
  wards in PostGIS, the indexed ``reports`` table), the bundled police.uk crimes, and ANALYZE;
* a real walk (officer, buddy, a route of about 5 km from Brixton to London Bridge, three
  concerns) made through the API of the service, served by uvicorn in a subprocess;
* K timed requests (after a warm-up) to ``GET /walks/{id}/exposure?within=50`` with the walk
  officer's token and to ``POST /routes/exposure?within=50`` with a supervisor's;
* K timed runs of the bare query through psycopg: a count of the published reports within 50 m
  of the same route, ``ST_DWithin`` on EPSG:27700, reaching the reports' GiST index (on their
  own CRS, 4326) the way ``service.queries.exposure`` does, through the route's buffer cut into
  small pieces; and, for information, the same count behind the route's whole box (what the
  exposure query did first; one round in ten, it is slow) and ``route_exposure`` called in this
  process without HTTP.

The runs are interleaved so that whatever else the machine is doing falls on all of them. JIT is
off for the bare queries, as ``route_exposure`` turns it off for itself: PostGIS's cost
estimates would have PostgreSQL compile each query for about a second. The bare queries are
planned with their values each time (not prepared), as psql would run them.

Goal (issue 4): API p50 <= 2 x bare p50 + 5 ms. The API's report and concern counts must equal
the bare counts, or the run fails.
"""

from __future__ import annotations

import argparse
import re
import secrets
import signal
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx2 as httpx
import numpy as np
import pandas as pd
import psycopg
from sqlalchemy import create_engine, make_url, text
from sqlalchemy.orm import Session

from bench.load import served
from bench.ward_lookup import _database, _say, _server
from service.auth import Role
from service.cluster import ensure_postgis
from service.db import migrate
from service.queries import imports, reports, tokens, wards
from service.queries.exposure import route_exposure
from service.taxonomy import CATEGORIES

WITHIN_M = 50.0
WARM_UP = 20
BOX_EVERY = 10
MAP_ROUNDS = 5
POLICE_UK = Path(__file__).parents[1] / "data" / "police_uk"
BANDS = ("early_morning", "daytime", "evening", "night")
# Brixton station up Brixton Road to the Oval, Kennington Park Road, Kennington, Newington Butts,
# Elephant & Castle, Newington Causeway, Borough and Borough High Street to London Bridge.
ROUTE_COORDINATES: list[list[float]] = [
    [-0.1145, 51.4627],
    [-0.1138, 51.4700],
    [-0.1132, 51.4760],
    [-0.1126, 51.4819],
    [-0.1090, 51.4850],
    [-0.1053, 51.4884],
    [-0.1025, 51.4915],
    [-0.1001, 51.4943],
    [-0.0978, 51.4975],
    [-0.0943, 51.5011],
    [-0.0905, 51.5035],
    [-0.0872, 51.5047],
]
ROUTE = {"type": "LineString", "coordinates": ROUTE_COORDINATES}
# Places on the route where the buddy raised a concern (a few metres off the line).
CONCERNS = ((-0.1133, 51.4755), (-0.1020, 51.4921), (-0.0945, 51.5009))
# The bare query: what route_exposure has to find, and nothing else (no stretches, no crimes, no
# darkness). The reports' GiST index is on their own CRS (4326): the route's buffer, a little
# wider than the distance, drawn on the British grid and cut into pieces, goes back to 4326 for
# the index; the exact distance is then measured on the British grid. A point on the edge
# between two pieces is found twice, hence DISTINCT.
BARE_SQL = """
WITH route AS (SELECT ST_Transform(ST_GeomFromText(%(wkt)s, 4326), 27700) AS g),
pieces AS (
    SELECT ST_Subdivide(ST_Transform(ST_Segmentize(ST_Buffer(g, %(within)s * 1.01 + 1),
           greatest(%(within)s, 25)), 4326), 16) AS piece
      FROM route
)
SELECT count(DISTINCT r.id) FROM reports r JOIN pieces ON ST_Intersects(r.geom, pieces.piece), route
 WHERE r.status = 'published' AND ST_DWithin(ST_Transform(r.geom, 27700), route.g, %(within)s)
"""
# The same count behind the whole route's box widened by the distance (one index probe).
BARE_BOX_SQL = """
WITH route AS (SELECT ST_Transform(ST_GeomFromText(%(wkt)s, 4326), 27700) AS g)
SELECT count(*) FROM reports r, route
 WHERE r.status = 'published'
   AND r.geom && ST_Transform(ST_Expand(route.g, %(within)s), 4326)
   AND ST_DWithin(ST_Transform(r.geom, 27700), route.g, %(within)s)
"""


def report_rows(session: Session, count: int, seed: int) -> pd.DataFrame:
    """``count`` report rows (the ``geo.reports`` frame) spread over the active wards by area."""
    rng = np.random.default_rng(seed)
    points = session.execute(
        text(
            "SELECT ST_X(d.geom), ST_Y(d.geom) FROM (SELECT (ST_Dump(ST_GeneratePoints("
            " ST_Union(w.geom), :count, :seed))).geom FROM wards w "
            " JOIN ward_sets s ON s.id = w.ward_set_id AND s.is_active) d"
        ),
        {"count": count, "seed": seed},
    ).all()
    lon = np.array([p[0] for p in points])
    lat = np.array([p[1] for p in points])
    n = len(lon)
    today = date.today()
    slugs = [c.slug for c in CATEGORIES]
    return pd.DataFrame(
        {
            "line": np.arange(1, n + 1),
            "lon": lon,
            "lat": lat,
            "categories": [[slug] for slug in rng.choice(slugs, n)],
            "occurred_at": pd.Series([pd.NaT] * n, dtype="datetime64[ns, UTC]"),
            "occurred_on": [today - timedelta(days=int(d)) for d in rng.integers(1, 365, n)],
            "time_band": rng.choice(BANDS, n),
            "text": [None] * n,
        }
    )


def _load(url: str, count: int, seed: int) -> None:
    """Schema, boroughs, the pilot wards (active), bundled crimes and ``count`` reports."""
    ensure_postgis(url)
    engine = create_engine(url)
    migrate(engine)
    with Session(engine) as session, session.begin():
        wards.load_pilot(session)
    with Session(engine) as session, session.begin():
        for path in sorted(POLICE_UK.glob("*/*.csv")) + sorted(POLICE_UK.glob("*/*.json")):
            imports.import_crimes(session, path, imported_by="bench")
    _say(f"making {count:,} reports over the pilot wards …")
    started = time.perf_counter()
    with Session(engine) as session, session.begin():
        rows = report_rows(session, count, seed)
        stored = reports.store_reports(
            session,
            rows,
            source="synthetic",
            status="published",
            skip_outside=True,
            return_ids=False,
        ).stored
    with engine.connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT").execute(text("VACUUM ANALYZE"))
    engine.dispose()
    _say(f"stored {stored:,} reports in {time.perf_counter() - started:.1f}s")
    if stored != count:
        raise SystemExit(f"only {stored:,} of {count:,} reports were stored")


def _tokens(url: str, key: bytes, officer_ward: str) -> tuple[str, str]:
    """A supervisor token for Central South (AS) and an officer token for the walk's ward."""
    engine = create_engine(url)
    made = []
    with Session(engine) as session, session.begin():
        for role, scope in (
            (Role.supervisor, {"command_unit": "AS"}),
            (Role.officer, {"wards": [officer_ward]}),
        ):
            _, raw = tokens.create_token(
                session,
                key=key,
                role=role,
                name=f"bench {role.value}",
                scope=tokens.resolve_scope(session, role, **scope),
                expires_at=tokens.parse_expiry("1d"),
                created_by="bench",
            )
            made.append(raw)
    engine.dispose()
    return made[0], made[1]


def _ok(response: httpx.Response, status: int = 200) -> Any:
    if response.status_code != status:
        raise SystemExit(
            f"{response.request.method} {response.request.url.path} answered "
            f"{response.status_code}: {response.text}"
        )
    return response.json()


def _first_point() -> dict[str, float]:
    lon, lat = ROUTE_COORDINATES[0]
    return {"lon": lon, "lat": lat}


def _make_walk(http: httpx.Client, supervisor: dict[str, str], officer: dict[str, str]) -> str:
    """An officer, a buddy, a walk with the route and three concerns, all through the API."""
    ward = _ok(http.get("/wards/lookup", params=_first_point()))
    officer_row = _ok(
        http.post(
            "/officers",
            headers=supervisor,
            json={
                "name": "PC Bench",
                "shoulder_number": "AS9001",
                "ward_codes": [ward["code"]],
                "command_unit": "AS",
            },
        ),
        201,
    )
    buddy = _ok(
        http.post(
            "/buddies", headers=officer, json={"code": "B-BENCH-1", "home_ward": ward["code"]}
        ),
        201,
    )
    start = datetime(2026, 11, 20, 17, 30, tzinfo=UTC)
    walk = _ok(
        http.post(
            "/walks",
            headers=officer,
            json={
                "officer_id": officer_row["id"],
                "buddy_id": buddy["id"],
                "kind": "commute",
                "planned_start": start.isoformat(),
                "planned_end": (start + timedelta(minutes=75)).isoformat(),
                "consent_keep_route": True,
            },
        ),
        201,
    )
    stored = _ok(http.put(f"/walks/{walk['id']}/route", headers=officer, json=ROUTE))
    if not 4500 <= stored["length_m"] <= 5500:
        raise SystemExit(f"the route is {stored['length_m']} m long, not about 5 km")
    for lon, lat in CONCERNS:
        _ok(
            http.post(
                f"/walks/{walk['id']}/concerns",
                headers=officer,
                json={"lon": lon, "lat": lat, "categories": ["poor_lighting"]},
            ),
            201,
        )
    crossed = len(stored["route_wards"])
    _say(f"walk {walk['id']}: {stored['length_m']:,.0f} m through {crossed} wards")
    return str(walk["id"])


def _ms(seconds: list[float]) -> tuple[float, float]:
    """p50 and p95 in milliseconds."""
    cuts = statistics.quantiles(seconds, n=20, method="inclusive")
    return statistics.median(seconds) * 1000, cuts[18] * 1000


def run(count: int, requests: int, seed: int) -> int:
    """Run the benchmark; return a process exit code."""
    key = secrets.token_urlsafe(48)
    wkt = "LINESTRING(" + ", ".join(f"{x} {y}" for x, y in ROUTE_COORDINATES) + ")"
    feature = {"type": "Feature", "geometry": ROUTE, "properties": {}}
    params = {"within": WITHIN_M}
    with _server() as server, _database(server) as url:
        _load(url, count, seed)
        libpq = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
        engine = create_engine(url)
        with (
            psycopg.connect(libpq, autocommit=True) as conn,
            served(url, key) as base,
            httpx.Client(base_url=base, timeout=60) as http,
        ):
            conn.execute("SET jit = off")
            first = _ok(http.get("/wards/lookup", params=_first_point()))
            supervisor_raw, officer_raw = _tokens(url, key.encode(), first["code"])
            supervisor = {"Authorization": f"Bearer {supervisor_raw}"}
            officer = {"Authorization": f"Bearer {officer_raw}"}
            walk_id = _make_walk(http, supervisor, officer)

            def api_get() -> Any:
                return _ok(http.get(f"/walks/{walk_id}/exposure", headers=officer, params=params))

            def api_post() -> Any:
                return _ok(
                    http.post("/routes/exposure", headers=supervisor, params=params, json=feature)
                )

            def bare(query: str) -> Callable[[], int]:
                def count() -> int:
                    # Planned with the values each time, as typed into psql: a prepared
                    # statement's generic plan for the route's box is a scan of every row.
                    row = conn.execute(
                        query, {"wkt": wkt, "within": WITHIN_M}, prepare=False
                    ).fetchone()
                    assert row is not None
                    return int(row[0])

                return count

            def in_process() -> Any:
                with Session(engine) as session:
                    return route_exposure(session, wkt, within=WITHIN_M)

            calls: dict[str, Callable[[], Any]] = {
                "get": api_get,
                "post": api_post,
                "bare": bare(BARE_SQL),
                "box": bare(BARE_BOX_SQL),
                "in_process": in_process,
            }
            _say(f"warming up, then {requests} rounds of each query …")
            for _ in range(WARM_UP):
                for call in calls.values():
                    call()
            times: dict[str, list[float]] = {name: [] for name in calls}
            answers: dict[str, Any] = {}
            for round_ in range(requests):
                for name, call in calls.items():
                    if name == "box" and round_ % BOX_EVERY:
                        continue  # for information only, and slow: one round in ten
                    started = time.perf_counter()
                    answers[name] = call()
                    times[name].append(time.perf_counter() - started)
            # For information: the walk's map page, which draws the most recent markers only.
            _say(f"the walk map page, {MAP_ROUNDS} times …")
            map_seconds: list[float] = []
            for _ in range(MAP_ROUNDS):
                started = time.perf_counter()
                page = http.get(f"/maps/walks/{walk_id}", headers=officer, params=params)
                map_seconds.append(time.perf_counter() - started)
                if page.status_code != 200:
                    raise SystemExit(f"the walk map answered {page.status_code}: {page.text}")
            map_layer = re.search(r"Unsafe-place reports \(([^)]*)\)", page.text)
        engine.dispose()

    got = answers["get"]
    found = got["totals"]["reports"] + got["totals"]["concerns"]
    p = {name: _ms(seconds) for name, seconds in times.items()}
    bare50 = p["bare"][0]
    goal = 2 * bare50 + 5
    print(f"reports stored                        {count:>10,}")
    print(
        f"route                                 {got['length_m']:>10,.1f} m"
        f" (within {WITHIN_M:.0f} m)"
    )
    print(
        f"found by the API: reports {got['totals']['reports']:,} + concerns "
        f"{got['totals']['concerns']:,} (and crimes {got['totals']['crimes']:,}); "
        f"bare counts {answers['bare']:,} and {answers['box']:,}"
    )
    print(f"rounds (after {WARM_UP} warm-up)             {requests:>10,}")
    labels = {
        "get": "API GET /walks/{id}/exposure",
        "post": "API POST /routes/exposure",
        "bare": "bare ST_DWithin count (pieces)",
        "box": "bare count, route's box (info)",
        "in_process": "route_exposure in process (info)",
    }
    for name, label in labels.items():
        p50, p95 = p[name]
        print(f"{label:<37} p50 {p50:8.2f} ms   p95 {p95:8.2f} ms")
    map50, map95 = _ms(map_seconds)
    print(
        f"walk map page (info)                  p50 {map50:8.2f} ms   p95 {map95:8.2f} ms, "
        f"{len(page.content) / 1e6:.2f} MB, report markers "
        f"{map_layer.group(1) if map_layer else 'not found'}"
    )
    for name in ("get", "post"):
        p50 = p[name][0]
        verdict = "met" if p50 <= goal else "NOT met"
        print(
            f"ratio {name.upper():<4} p50 / bare p50 {p50 / bare50:10.2f}   "
            f"goal p50 <= 2 x bare + 5 ms = {goal:.2f} ms: {verdict}"
        )
    if not (
        found == answers["bare"] == answers["box"]
        and answers["post"]["totals"] == got["totals"]
        and answers["in_process"] == {k: v for k, v in got.items() if k != "walk_id"}
    ):
        print(
            f"COUNTS DISAGREE: API {got['totals']} / {answers['post']['totals']}, "
            f"bare {answers['bare']} / {answers['box']}",
            file=sys.stderr,
        )
        return 1
    return 0


def main() -> int:
    """Parse options and run."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reports", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--seed", type=int, default=20261125)
    args = parser.parse_args()
    if args.requests < 2 * BOX_EVERY:
        parser.error(f"--requests needs at least {2 * BOX_EVERY} to give percentiles")
    # A plain kill must still stop the server and the throw-away cluster (the finally blocks).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    return run(args.reports, args.requests, args.seed)


if __name__ == "__main__":
    sys.exit(main())
