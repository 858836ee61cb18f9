"""``make bench``: every speed figure in one run on one synthetic London, written to RESULTS.md.

Run with ``python -m bench.results`` (``make bench``); ``--reports``, ``--walks``,
``--requests`` and ``--import-sizes`` make a smaller London for a quick look (the file then says
so). Every figure is a ratio against a baseline measured in the same run on the same rows — a
bare query, GeoPandas, a COPY, a peer server — so it means the same on a fast or a slow machine.

What is measured, in this order, on one database built by :mod:`bench.london` (1M reports on the
657 wards, 10,000 walks with routes, 10,000 requests to partners), then on fresh databases for
the imports:

1. ward assignment of the reports' points: ``compute_ward_hits`` against GeoPandas ``sjoin``;
2. hexagon counts over London against a bare ``count(*)`` of the same rows;
3. route exposure of 100 of the walks against the bare ``ST_DWithin`` count;
4. the requests' ranking by their evidence against its bare join;
5. HTTP on loopback, the service under uvicorn as ``walktalk serve`` runs it: for each route,
   one client after another (the server's own time, no queueing) and then 16 clients at once
   (requests per second); ``GET /reports?bbox=`` beside tipg serving the same table;
   the service's peak memory afterwards;
6. imports against GeoPandas and the binary-COPY floor at three sizes, into an empty table and
   into one already holding 1M rows; the peak memory of a 1M-row import run as a user runs it.

The run writes what it measured even where a goal is not met; it exits 1 only when two ways of
computing the same answer disagree (a bug, not a speed).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import random
import secrets
import signal
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from importlib.metadata import version
from pathlib import Path
from typing import Any

import httpx2 as httpx
import numpy as np
import psycopg
import shapely
from sqlalchemy import create_engine, make_url, text
from sqlalchemy.orm import Session

from bench import hex_aggregation, london, request_ranking, ward_lookup
from bench.load import peak_memory, serving, supervisor_token
from bench.route_exposure import BARE_SQL as EXPOSURE_BARE_SQL
from bench.ward_lookup import _database, _say, _server
from boundaries.bundled import LONDON_WARDS_2018
from boundaries.reading import read_wards
from service.queries.exposure import route_exposure

RESULTS = Path(__file__).with_name("RESULTS.md")
PILOT = ("E09000022", "E09000028")  # Lambeth and Southwark: the supervisor token's scope
WITHIN_M = 50.0
EXPOSURE_WALKS = 100
PAGE_LIMIT = 100
ALONE_REQUESTS = {"fast": 200, "page": 20}
# Clients at once: the map pages take seconds each in one process, so four keep it busy.
CLIENTS = {"fast": 16, "page": 4}
TOGETHER_SECONDS = 20.0
REQUEST_TIMEOUT_S = 120.0
MiB = 2**20


# -- what a run collects --------------------------------------------------------------------------


@dataclass(frozen=True)
class Figure:
    """One line of RESULTS.md: what was measured, against what, and the goal if there is one."""

    what: str
    measured: str
    baseline: str = ""
    ratio: float | None = None
    goal: str = ""
    met: bool | None = None


@dataclass
class Run:
    """Everything a run found, section by section, and the disagreements that fail it."""

    started: datetime
    sizes: dict[str, int]
    sections: dict[str, list[Figure]] = field(default_factory=dict)
    notes: dict[str, list[str]] = field(default_factory=dict)
    disagreements: list[str] = field(default_factory=list)

    def add(self, section: str, figure: Figure) -> None:
        """Add ``figure`` to ``section`` (sections keep the order they were first used in)."""
        self.sections.setdefault(section, []).append(figure)
        _say(
            f"  {figure.what}: {figure.measured}"
            + (f" (ratio {figure.ratio:.2f})" if figure.ratio else "")
        )

    def note(self, section: str, line: str) -> None:
        """A sentence printed under ``section``'s table."""
        self.notes.setdefault(section, []).append(line)


def _s(seconds: float) -> str:
    return f"{seconds:.2f} s" if seconds >= 1 else f"{seconds * 1000:.0f} ms"


def _timed(work: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    answer = work()
    return time.perf_counter() - started, answer


# -- the machine ----------------------------------------------------------------------------------


def machine(url: str) -> list[tuple[str, str]]:
    """What the figures were measured on: the hardware, the system and every version that counts."""
    cpu = "unknown"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    memory_kb = next(
        int(line.split()[1])
        for line in Path("/proc/meminfo").read_text().splitlines()
        if line.startswith("MemTotal:")
    )
    system = platform.freedesktop_os_release().get("PRETTY_NAME", platform.system())
    with psycopg.connect(_libpq(url)) as conn:
        postgres = conn.execute("SHOW server_version").fetchone()
        postgis = conn.execute("SELECT postgis_lib_version(), postgis_geos_version()").fetchone()
        buffers = conn.execute("SHOW shared_buffers").fetchone()
    assert postgres is not None
    assert postgis is not None
    assert buffers is not None
    packages = ", ".join(
        f"{name} {version(name)}"
        for name in (
            "geopandas",
            "shapely",
            "pyproj",
            "pandas",
            "numpy",
            "sqlalchemy",
            "geoalchemy2",
            "psycopg",
            "fastapi",
            "uvicorn",
            "folium",
        )
    )
    return [
        ("processor", f"{cpu}, {os.cpu_count()} cores"),
        ("memory", f"{memory_kb / 2**20:.1f} GiB"),
        ("system", f"{system}, Linux {platform.release()}"),
        ("load average before measuring", " / ".join(f"{v:.1f}" for v in os.getloadavg())),
        ("Python", platform.python_version()),
        (
            "PostgreSQL",
            f"{postgres[0]} (throw-away cluster: fsync off, shared_buffers {buffers[0]})",
        ),
        (
            "PostGIS",
            f"{postgis[0]}, GEOS {postgis[1]} (Shapely's GEOS {shapely.geos_version_string})",
        ),
        ("packages", packages),
    ]


def _libpq(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


# -- in the database ------------------------------------------------------------------------------


def ward_assignment(run: Run, url: str) -> None:
    """The reports' points placed in wards by PostGIS and by GeoPandas."""
    engine = create_engine(url)
    with engine.connect() as conn:
        set_id = conn.execute(text("SELECT id FROM ward_sets WHERE is_active")).scalar_one()
        rows = conn.execute(text("SELECT ST_X(geom), ST_Y(geom) FROM reports")).all()
    points: np.ndarray = np.array(rows, dtype=float)
    wards = read_wards(LONDON_WARDS_2018.path).wards
    found = ward_lookup.time_assignment(engine, set_id, wards, points[:, 0], points[:, 1])
    engine.dispose()
    section = "Ward assignment"
    run.add(
        section,
        Figure(
            f"the ward of each of {found.points:,} report points",
            f"PostGIS `compute_ward_hits` {_s(found.postgis_s)}",
            f"GeoPandas `sjoin` (within) {_s(found.geopandas_s)}",
            found.ratio,
            "PostGIS at least as fast (issue 2)",
            found.ratio >= 1,
        ),
    )
    run.note(
        section,
        f"{found.placed:,} points placed by PostGIS, {found.placed_geopandas:,} by GeoPandas, "
        f"{found.disagreements:,} placed differently (points on a boundary between two wards "
        "may fall either way). PostGIS uses both cores, GeoPandas one.",
    )
    if found.disagreements > max(5, found.points // 100_000):
        run.disagreements.append(f"ward assignment: {found.disagreements} points differ")


def hexagons(run: Run, url: str, boroughs: tuple[str, ...]) -> None:
    """Hexagon counts over every borough against a bare ``count(*)`` of the same rows."""
    measured = hex_aggregation.aggregation(url, rounds=5, boroughs=boroughs)
    times = {name: statistics.median(t) for name, t in measured["times"].items()}
    bare = times["bare count(*)"]
    for edge in (250, 500):
        name = f"hexagon_counts {edge} m"
        run.add(
            "Hexagon counts",
            Figure(
                f"published reports of all {len(boroughs)} boroughs in {edge} m hexagons "
                "(median of 5)",
                f"`hexagon_counts` {_s(times[name])}",
                f"bare `count(*)` {_s(bare)}",
                bare / times[name],
                "at most 3 x the count (issue 5)",
                times[name] <= 3 * bare,
            ),
        )
    total = measured["results"]["bare count(*)"]
    cells = int(measured["results"]["hexagon_counts 500 m"]["reports"].sum())
    if cells != total:
        run.disagreements.append(f"hexagons: the 500 m cells hold {cells}, count(*) {total}")


def exposure(run: Run, url: str, walks: int, seed: int) -> None:
    """Route exposure of ``walks`` of the stored walks against the bare ``ST_DWithin`` count."""
    engine = create_engine(url)
    with engine.connect() as conn:
        conn.execute(text("SELECT setseed(:s)"), {"s": (seed % 991) / 991})
        routes = (
            conn.execute(
                text("SELECT ST_AsText(route) FROM walks ORDER BY random() LIMIT :n"), {"n": walks}
            )
            .scalars()
            .all()
        )
    ours: list[float] = []
    bare: list[float] = []
    found = 0
    with psycopg.connect(_libpq(url), autocommit=True) as conn:
        conn.execute("SET jit = off")
        for number, wkt in enumerate([routes[0], *routes]):
            with Session(engine) as session:
                took, answer = _timed(partial(route_exposure, session, wkt, within=WITHIN_M))
            # Planned with its values each time, as typed into psql (see bench.route_exposure).
            query = partial(
                conn.execute, EXPOSURE_BARE_SQL, {"wkt": wkt, "within": WITHIN_M}, prepare=False
            )
            bare_took, cursor = _timed(query)
            row = cursor.fetchone()
            if number == 0:
                continue  # the first warms the caches
            ours.append(took)
            bare.append(bare_took)
            counted = answer["totals"]["reports"] + answer["totals"]["concerns"]
            found += counted
            if row is None or int(row[0]) != counted:
                run.disagreements.append(f"exposure of {wkt[:60]}…: {counted} against {row}")
    engine.dispose()
    p50, bare_p50 = statistics.median(ours), statistics.median(bare)
    run.add(
        "Route exposure",
        Figure(
            f"reports within {WITHIN_M:.0f} m of {walks} walks' routes, p50",
            f"`route_exposure` {_s(p50)} (p95 {_s(float(np.percentile(ours, 95)))})",
            f"bare `ST_DWithin` count {_s(bare_p50)} (p95 {_s(float(np.percentile(bare, 95)))})",
            bare_p50 / p50,
            "at most 2 x bare + 5 ms (issue 4)",
            p50 <= 2 * bare_p50 + 0.005,
        ),
    )
    run.note(
        "Route exposure",
        f"{found:,} reports within {WITHIN_M:.0f} m of the {walks} routes in all, "
        "the same for both on every route. The exposure also splits them into 100 m stretches "
        "and counts crimes.",
    )


def ranking(run: Run, url: str, rounds: int = 3) -> None:
    """The requests' ranking by their evidence against the bare join it stands on."""
    engine = create_engine(url)
    times: dict[str, list[float]] = {"ranking": [], "bare": []}
    answers: dict[str, Any] = {}
    jobs = {"ranking": request_ranking._ranking, "bare": request_ranking._bare}
    for round_ in range(rounds + 1):
        for name, job in jobs.items():
            with Session(engine) as session, session.begin():
                took, answers[name] = _timed(partial(job, session))
            if round_:
                times[name].append(took)
    with engine.connect() as conn:
        requests = conn.execute(text("SELECT count(*) FROM partner_requests")).scalar_one()
    engine.dispose()
    merged = answers["ranking"][["id", "total"]].merge(
        answers["bare"], on="id", suffixes=("", "_bare"), how="outer"
    )
    if len(merged) != requests or not bool((merged["total"] == merged["total_bare"]).all()):
        run.disagreements.append("ranking: the totals differ from the bare join's")
    ours, bare = statistics.median(times["ranking"]), statistics.median(times["bare"])
    run.add(
        "Requests ranked by their evidence",
        Figure(
            f"{requests:,} requests, reports within 50 m counted, scored and ranked "
            f"(median of {rounds})",
            f"`request_evidence` {_s(ours)}",
            f"bare `ST_DWithin` join {_s(bare)}",
            bare / ours,
            "at most 1.5 x the join (issue 12)",
            ours <= 1.5 * bare,
        ),
    )
    run.note(
        "Requests ranked by their evidence",
        f"{int(merged['total_bare'].sum()):,} report-request pairs within 50 m.",
    )


# -- over HTTP ------------------------------------------------------------------------------------

Ask = Callable[[random.Random], tuple[str, dict[str, Any]]]


@dataclass(frozen=True)
class Rates:
    """What one route answered: how many, how fast, and anything but a 200."""

    requests: int
    seconds: float
    p50: float
    p95: float
    p99: float
    odd: tuple[str, ...]

    @property
    def per_second(self) -> float:
        """Requests answered per second."""
        return self.requests / self.seconds


async def _clients(
    base: str, ask: Ask, *, clients: int, seconds: float | None, requests: int | None, seed: int
) -> Rates:
    """``clients`` at once, each asking as soon as answered, for ``seconds`` or ``requests``."""
    timings: list[float] = []
    odd: list[str] = []
    stop_at = time.monotonic() + (seconds or 1e9)
    left = [requests or 10**12]

    async def client(number: int) -> None:
        rng = random.Random(seed * 100 + number)
        async with httpx.AsyncClient(base_url=base, timeout=REQUEST_TIMEOUT_S) as http:
            while time.monotonic() < stop_at and left[0] > 0:
                left[0] -= 1
                path, options = ask(rng)
                began = time.perf_counter()
                answer = await http.get(path, **options)
                timings.append(time.perf_counter() - began)
                if answer.status_code != 200:
                    odd.append(f"{path} -> {answer.status_code}: {answer.text[:200]}")

    began = time.monotonic()
    await asyncio.gather(*(client(n) for n in range(clients)))
    took = time.monotonic() - began
    q = np.percentile(timings, [50, 95, 99]) if timings else [float("nan")] * 3
    return Rates(len(timings), took, float(q[0]), float(q[1]), float(q[2]), tuple(odd))


def hammer(
    base: str,
    ask: Ask,
    *,
    clients: int,
    seconds: float | None = None,
    requests: int | None = None,
    seed: int = 1,
) -> Rates:
    """Run :func:`_clients` in a thread of its own (the caller may be inside an event loop)."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        job = _clients(base, ask, clients=clients, seconds=seconds, requests=requests, seed=seed)
        return pool.submit(asyncio.run, job).result()


def _asks(
    points: Sequence[tuple[float, float]],
    pilot_points: Sequence[tuple[float, float]],
    staff: dict[str, str],
    walk_id: str,
) -> dict[str, tuple[str, Ask]]:
    """Per route: its kind (``fast`` or ``page``) and how to make one request to it."""

    def box(rng: random.Random) -> str:
        lon, lat = rng.choice(pilot_points)
        return f"{lon - 0.004:.5f},{lat - 0.003:.5f},{lon + 0.004:.5f},{lat + 0.003:.5f}"

    def lookup(rng: random.Random) -> tuple[str, dict[str, Any]]:
        lon, lat = rng.choice(points)
        return "/wards/lookup", {"params": {"lon": lon, "lat": lat}}

    def bbox(rng: random.Random) -> tuple[str, dict[str, Any]]:
        return "/reports", {"params": {"bbox": box(rng), "limit": PAGE_LIMIT}, "headers": staff}

    def fixed(path: str, headers: dict[str, str] | None = None) -> Ask:
        return lambda rng: (path, {"headers": headers or {}})

    return {
        # The ceiling of one uvicorn process on this machine: a file, no database, no query.
        "GET /static/vendor/leaflet/dist/leaflet.css (no database)": (
            "fast",
            fixed("/static/vendor/leaflet/dist/leaflet.css"),
        ),
        "GET /wards/lookup": ("fast", lookup),
        "GET /reports?bbox= (supervisor)": ("fast", bbox),
        "GET /hotspots (public, London)": ("page", fixed("/hotspots")),
        "GET /maps/hotspots (public)": ("page", fixed("/maps/hotspots")),
        "GET /maps/heatmap (public)": ("page", fixed("/maps/heatmap")),
        "GET /maps/wards/summary (public)": ("page", fixed("/maps/wards/summary")),
        "GET /maps/lighting (supervisor)": ("page", fixed("/maps/lighting", staff)),
        "GET /maps/walks/{id} (supervisor)": ("page", fixed(f"/maps/walks/{walk_id}", staff)),
    }


def http(run: Run, url: str, seed: int, tipg: bool) -> None:
    """Every route alone and under 16 clients; the bbox beside tipg; the service's memory."""
    key = secrets.token_urlsafe(48)
    token = supervisor_token(url, key)
    staff = {"Authorization": f"Bearer {token}"}
    engine = create_engine(url)
    with engine.connect() as conn:
        conn.execute(text("SELECT setseed(:s)"), {"s": (seed % 983) / 983})
        points = [
            (float(x), float(y))
            for x, y in conn.execute(
                text("SELECT ST_X(geom), ST_Y(geom) FROM reports ORDER BY random() LIMIT 500")
            )
        ]
        pilot_points = [
            (float(x), float(y))
            for x, y in conn.execute(
                text(
                    "SELECT ST_X(geom), ST_Y(geom) FROM reports WHERE borough_code = ANY(:b) "
                    "ORDER BY random() LIMIT 500"
                ),
                {"b": list(PILOT)},
            )
        ]
        walk_id = str(
            conn.execute(
                text("SELECT id FROM walks WHERE borough_code = ANY(:b) LIMIT 1"),
                {"b": list(PILOT)},
            ).scalar_one()
        )
    engine.dispose()
    asks = _asks(points, pilot_points, staff, walk_id)
    alone: dict[str, Rates] = {}
    together: dict[str, Rates] = {}
    drawn: dict[str, float] = {}
    with serving(url, key) as (base, pid):
        for name, (kind, ask) in asks.items():
            _say(f"{name}: warming up, then one client …")
            # The first answer of a kept map page is the one drawn (see service/page_cache.py).
            drawn[name] = hammer(base, ask, clients=1, requests=1, seed=seed).p50
            hammer(base, ask, clients=1, requests=2, seed=seed)
            alone[name] = hammer(base, ask, clients=1, requests=ALONE_REQUESTS[kind], seed=seed)
            _say(f"{name}: {CLIENTS[kind]} clients for {TOGETHER_SECONDS:.0f} s …")
            together[name] = hammer(
                base, ask, clients=CLIENTS[kind], seconds=TOGETHER_SECONDS, seed=seed
            )
        service_peak = peak_memory(pid)
    section = "HTTP, one route at a time"
    for name, (kind, _) in asks.items():
        one, many = alone[name], together[name]
        goal, met = "", None
        first = f"first answer {_s(drawn[name])}; " if kind == "page" else ""
        if kind == "page" and "/maps/" in name:
            goal, met = "p95 < 300 ms alone (issue 13)", one.p95 < 0.3
        if name == "GET /wards/lookup":
            goal, met = "≥ 2,000 requests/s (issue 13)", many.per_second >= 2000
        run.add(
            section,
            Figure(
                name,
                f"{first}alone: p50 {_s(one.p50)}, p95 {_s(one.p95)}, p99 {_s(one.p99)}; "
                f"{CLIENTS[kind]} clients: {many.per_second:,.1f} requests/s, "
                f"p50 {_s(many.p50)}, p95 {_s(many.p95)}, p99 {_s(many.p99)}",
                goal=goal,
                met=met,
            ),
        )
        for line in (*one.odd, *many.odd)[:3]:
            run.note(section, f"{name} answered: {line}")
    run.note(
        section,
        "The map pages and /hotspots are kept once drawn, per address and caller, for five "
        "minutes or until something is written through the service (service/page_cache.py): "
        "their \"alone\" and clients figures are answers from the cache, and the first "
        "answer is the one drawn, as the first person to open it after a change waits for it. "
        "/maps/walks/{id} is not kept: every answer is drawn.",
    )
    ceiling = together["GET /static/vendor/leaflet/dist/leaflet.css (no database)"]
    lookups = together["GET /wards/lookup"]
    run.note(
        section,
        f"The static file touches no database: {ceiling.per_second:,.0f} requests/s is about "
        "as many as one uvicorn process answers here at all, whatever the route does. "
        f"/wards/lookup reaches {lookups.per_second / ceiling.per_second:.2f} times that.",
    )
    run.note(
        section,
        f'"Alone" is one client asking {ALONE_REQUESTS["fast"]} times (map pages and hot spots '
        f"{ALONE_REQUESTS['page']}), each as soon as the last was answered: the server's own time "
        f"and nothing queued. Then {CLIENTS['fast']} clients at once ({CLIENTS['page']} for the "
        f"pages) for {TOGETHER_SECONDS:.0f} s, each asking again as soon as answered; requests "
        "still in flight at the end are waited for and counted. One uvicorn process, as "
        "`walktalk serve` runs it.",
    )
    run.add(
        "Memory",
        Figure(
            f"the service's peak resident memory, {run.sizes['reports']:,} reports, after every "
            "route above",
            f"{service_peak / MiB:,.0f} MiB",
            goal="< 500 MiB (issue 13)",
            met=service_peak < 500 * MiB,
        ),
    )
    if tipg:
        _beside_tipg(
            run, url, asks["GET /reports?bbox= (supervisor)"][1], pilot_points, together, seed
        )


def _beside_tipg(
    run: Run,
    url: str,
    ours: Ask,
    pilot_points: Sequence[tuple[float, float]],
    together: dict[str, Rates],
    seed: int,
) -> None:
    """The same boxes of the same table, served by tipg, under the same clients."""
    from bench import tipg_peer

    def box(rng: random.Random) -> tuple[str, dict[str, Any]]:
        lon, lat = rng.choice(pilot_points)
        bounds = (lon - 0.004, lat - 0.003, lon + 0.004, lat + 0.003)
        # The borough filter does what the supervisor's scope does for the service.
        path = tipg_peer.tipg_items_path(bounds, PAGE_LIMIT, boroughs=PILOT)
        return path, {"headers": tipg_peer.PLAIN}

    tipg_peer.tipg_python()
    with tipg_peer.tipg_served(url) as base:
        hammer(base, box, clients=1, requests=3, seed=seed)
        alone = hammer(base, box, clients=1, requests=ALONE_REQUESTS["fast"], seed=seed)
        many = hammer(base, box, clients=CLIENTS["fast"], seconds=TOGETHER_SECONDS, seed=seed)
    mine = together["GET /reports?bbox= (supervisor)"]
    run.add(
        "Reports in a box beside tipg",
        Figure(
            f"`GET /reports?bbox=…&limit={PAGE_LIMIT}`, {CLIENTS['fast']} clients",
            f"the service {mine.per_second:,.1f} requests/s (p95 {_s(mine.p95)})",
            f"tipg {many.per_second:,.1f} requests/s (p95 {_s(many.p95)}; alone p50 "
            f"{_s(alone.p50)})",
            mine.per_second / many.per_second,
            "≥ 1.0 (issue 13)",
            mine.per_second >= many.per_second,
        ),
    )
    for line in (*alone.odd, *many.odd)[:3]:
        run.note("Reports in a box beside tipg", f"tipg answered: {line}")
    run.note(
        "Reports in a box beside tipg",
        f"tipg {tipg_peer.TIPG_VERSION} (FastAPI + asyncpg, in its own environment) serves the "
        "same `reports` table: the same boxes, page size, properties and order (by id), limited "
        "to Lambeth and Southwark by a CQL2 filter as the supervisor's scope limits the service. "
        "The service also checks the token and writes an audit row for every request; tipg "
        "only reads. Neither compresses its answers here.",
    )


# -- imports --------------------------------------------------------------------------------------


def imports(run: Run, server: str, sizes: Sequence[int], filled: int, seed: int) -> None:
    """Imports against GeoPandas and the COPY floor; the peak memory of a large import."""
    from bench.import_comparison import compare_imports, import_peak_memory

    for figure in compare_imports(server, sizes=sizes, filled_rows=filled, seed=seed, say=_say):
        run.add(
            "Imports",
            Figure(
                f"{figure.rows:,} rows into "
                + ("an empty table" if figure.table == "empty" else f"a table {figure.table}"),
                f"`import_reports` {_s(figure.project_s)} "
                f"({figure.rows / figure.project_s:,.0f} rows/s)",
                f"GeoPandas {_s(figure.geopandas_s)} ({figure.vs_geopandas:.2f}); "
                f"COPY floor {_s(figure.floor_s)} ({figure.vs_floor:.2f})",
                figure.vs_geopandas,
                "≥ 1.5 x GeoPandas and ≥ 0.5 x the floor (issue 13)",
                figure.vs_geopandas >= 1.5 and figure.vs_floor >= 0.5,
            ),
        )
    rows = max(sizes)
    seconds, peak = import_peak_memory(server, rows=rows, seed=seed)
    run.add(
        "Memory",
        Figure(
            f"`walktalk reports import` of {rows:,} rows, run as a user runs it",
            f"{peak / MiB:,.0f} MiB peak resident ({_s(seconds)})",
        ),
    )


# -- the file -------------------------------------------------------------------------------------


def markdown(run: Run, facts: list[tuple[str, str]], built: london.London) -> str:
    """RESULTS.md: the machine, the London, then every section's table and notes."""
    lines = [
        "# Benchmark results",
        "",
        f"Written by `make bench` (`python -m bench.results`) on {run.started:%Y-%m-%d %H:%M} UTC. "
        "Every ratio is the baseline's time over ours (above 1: ours is faster), both measured "
        "in the same run on the same rows. Read the ratios, not the seconds: the machine may "
        "have been shared.",
        "",
        "## The machine",
        "",
        "| | |",
        "|---|---|",
        *(f"| {name} | {value} |" for name, value in facts),
        "",
        "## The synthetic London (`bench/london.py`)",
        "",
        f"{built.wards} wards (London 2018), {built.reports:,} published reports, "
        f"{built.walks:,} walks with routes, {built.requests:,} requests to partners; seed "
        f"{run.sizes['seed']}. Built in "
        + ", ".join(f"{name} {_s(s)}" for name, s in built.seconds.items())
        + ".",
        "",
    ]
    for section, figures in run.sections.items():
        lines += [
            f"## {section}",
            "",
            "| measured | result | baseline | ratio | goal | |",
            "|---|---|---|---|---|---|",
        ]
        for f in figures:
            verdict = {True: "met", False: "**not met**", None: ""}[f.met]
            ratio = f"{f.ratio:.2f}" if f.ratio is not None else ""
            lines.append(
                f"| {f.what} | {f.measured} | {f.baseline} | {ratio} | {f.goal} | {verdict} |"
            )
        lines += ["", *(f"- {note}" for note in run.notes.get(section, [])), ""]
    unmet = [f.what for figures in run.sections.values() for f in figures if f.met is False]
    lines += ["## Goals not met", ""]
    lines += [f"- {what}" for what in unmet] or ["Every goal was met in this run."]
    if run.disagreements:
        lines += ["", "## Disagreements (the run failed)", ""]
        lines += [f"- {d}" for d in run.disagreements]
    return "\n".join(lines) + "\n"


def main() -> int:
    """Parse options, build London, measure everything, write RESULTS.md."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reports", type=int, default=1_000_000)
    parser.add_argument("--walks", type=int, default=10_000)
    parser.add_argument("--requests", type=int, default=10_000)
    parser.add_argument("--import-sizes", default="10000,200000,1000000")
    parser.add_argument("--seed", type=int, default=20261205)
    parser.add_argument("--no-tipg", action="store_true", help="leave out the tipg comparison")
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    sizes = [int(s) for s in args.import_sizes.split(",")]
    run = Run(
        started=datetime.now(UTC),
        sizes={"reports": args.reports, "walks": args.walks, "seed": args.seed},
    )
    with _server() as server:
        with _database(server) as url:
            _say("building the synthetic London …")
            built = london.build(
                url, reports=args.reports, walks=args.walks, requests=args.requests, seed=args.seed
            )
            facts = machine(url)
            with create_engine(url).connect() as conn:
                boroughs = tuple(
                    conn.execute(text("SELECT code FROM boroughs ORDER BY code")).scalars()
                )
            _say("ward assignment …")
            ward_assignment(run, url)
            _say("hexagon counts …")
            hexagons(run, url, boroughs)
            _say("route exposure …")
            exposure(run, url, EXPOSURE_WALKS, args.seed)
            _say("the requests' ranking …")
            ranking(run, url)
            _say("HTTP …")
            http(run, url, args.seed, tipg=not args.no_tipg)
        _say("imports …")
        imports(run, server, sizes, filled=args.reports, seed=args.seed)
    args.output.write_text(markdown(run, facts, built))
    _say(f"wrote {args.output}")
    for line in run.disagreements:
        print(f"DISAGREEMENT: {line}", file=sys.stderr)
    return 1 if run.disagreements else 0


if __name__ == "__main__":
    sys.exit(main())
