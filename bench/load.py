"""Many clients at once: public report submissions mixed with map reads, against the real service.

Run the long form with ``python -m bench.load [--clients 50] [--seconds 300] [--reports N]``; the
short form is ``tests/test_load.py`` (in ``make test``), which imports the client code from here.

Each client is a person at a browser: she keeps one connection (keep-alive) and, until the time
is up, picks the next thing to do at random: send a report (``POST /reports``, the JSON the
public form at ``/report`` sends), open the form, the hot-spot map page, the heatmap page, the
hot spots as GeoJSON, look up her ward, page through the reports in a box (a supervisor's
token), or fetch base-map tiles. One client in five only sends reports, one after another.
Each client connects from its own loopback address (127.0.0.2, 127.0.0.3, …), so the rate
limit, which tells clients apart by their address only, counts each one separately, as it would
count fifty phones; the limit itself is left as it is (10 a minute), so a client sending
reports faster than it allows is answered 429.

What is checked (the test asserts it; the bench prints it and exits non-zero): no answer but
2xx, 3xx and the rate limit's 429, and every report answered 201 is in the database afterwards.
Requests per second and the p50/p95/p99 latencies per route are printed for information.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import random
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx2 as httpx
import numpy as np
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

from service.taxonomy import CATEGORIES

LONDON = ZoneInfo("Europe/London")
BANDS = ("early_morning", "daytime", "evening", "night")
REQUEST_TIMEOUT_S = 60.0
SE1 = (-0.105, 51.500)  # where the bundled OpenStreetMap extracts are


def _tile(lon: float, lat: float, z: int) -> tuple[int, int]:
    """The web-Mercator tile (x, y) holding lon/lat at zoom ``z``."""
    n = 2**z
    phi = math.radians(lat)
    y = (1 - math.log(math.tan(phi) + 1 / math.cos(phi)) / math.pi) / 2
    return int((lon + 180) / 360 * n), int(y * n)


# Base-map tiles around SE1 at zooms 14 to 16: a block of tiles around the centre's at each.
TILES = tuple(
    (z, x + dx, y + dy)
    for z, (x, y) in ((z, _tile(*SE1, z)) for z in (14, 15, 16))
    for dx in (-1, 0, 1)
    for dy in (-1, 0, 1)
)
# How often a reading client does each thing, relative to the others: mostly the maps and
# look-ups, now and then a report.
READER_MIX: dict[str, int] = {
    "POST /reports": 10,
    "GET /report": 5,
    "GET /maps/hotspots": 6,
    "GET /maps/heatmap": 6,
    "GET /hotspots": 8,
    "GET /wards/lookup": 25,
    "GET /reports?bbox": 15,
    "GET /tiles/{z}/{x}/{y}.mvt": 25,
}
# A posting client (one in POSTER_EVERY) sends reports, one after another, as a busy shared
# device or a script would: faster than the limit of 10 a minute, so she meets its 429.
POSTER_MIX: dict[str, int] = {"POST /reports": 1}
POSTER_EVERY = 5
ROUTES = tuple(READER_MIX)


@dataclass
class LoadResult:
    """What the clients saw: timings and statuses per route, the odd answers, the reports made."""

    seconds: float = 0.0
    timings: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    statuses: dict[str, Counter[int]] = field(default_factory=lambda: defaultdict(Counter))
    unexpected: list[str] = field(default_factory=list)
    created: list[str] = field(default_factory=list)
    rate_limited_clients: set[int] = field(default_factory=set)
    reports_by_client: Counter[int] = field(default_factory=Counter)

    @property
    def requests(self) -> int:
        """How many requests were answered (any status)."""
        return sum(sum(c.values()) for c in self.statuses.values())


def report_body(rng: random.Random, point: tuple[float, float]) -> dict[str, object]:
    """A report as the public form sends it, at ``point``, dated within the last month."""
    today = datetime.now(LONDON).date()
    return {
        "lon": point[0],
        "lat": point[1],
        "categories": rng.sample([c.slug for c in CATEGORIES], rng.choice((1, 1, 2))),
        "date": (today - timedelta(days=rng.randrange(0, 30))).isoformat(),
        "time_band": rng.choice(BANDS),
        "text": rng.choice((None, "No lights on this stretch.", "Someone followed me here.")),
    }


def _call(
    route: str,
    rng: random.Random,
    points: Sequence[tuple[float, float]],
    staff: dict[str, str],
) -> tuple[str, str, dict[str, object]]:
    """The method, path and keyword arguments of one request to ``route``."""
    lon, lat = rng.choice(points)
    if route == "POST /reports":
        return "POST", "/reports", {"json": report_body(rng, (lon, lat))}
    if route == "GET /wards/lookup":
        return "GET", "/wards/lookup", {"params": {"lon": lon, "lat": lat}}
    if route == "GET /reports?bbox":
        box = f"{lon - 0.004:.5f},{lat - 0.003:.5f},{lon + 0.004:.5f},{lat + 0.003:.5f}"
        return "GET", "/reports", {"params": {"bbox": box, "limit": 100}, "headers": staff}
    if route == "GET /tiles/{z}/{x}/{y}.mvt":
        z, x, y = rng.choice(TILES)
        return "GET", f"/tiles/{z}/{x}/{y}.mvt", {}
    if route == "GET /hotspots":
        return "GET", "/hotspots", {"params": {"edge": rng.choice((250, 500))}}
    return "GET", route.removeprefix("GET "), {}


async def _client(
    number: int,
    base: str,
    stop_at: float,
    points: Sequence[tuple[float, float]],
    staff: dict[str, str],
    result: LoadResult,
    seed: int,
) -> None:
    """One person's session, from her own loopback address, until ``stop_at``."""
    rng = random.Random(seed * 1000 + number)
    mix = POSTER_MIX if number % POSTER_EVERY == 0 else READER_MIX
    routes, weights = list(mix), list(mix.values())
    # 127.0.0.1 is the server's; clients take 127.0.0.2 onwards (the whole 127/8 is loopback).
    address = f"127.0.{(number + 2) // 256}.{(number + 2) % 256}"
    transport = httpx.AsyncHTTPTransport(local_address=address)
    async with httpx.AsyncClient(
        base_url=base, transport=transport, timeout=REQUEST_TIMEOUT_S
    ) as http:
        while time.monotonic() < stop_at:
            route = rng.choices(routes, weights)[0]
            method, path, options = _call(route, rng, points, staff)
            began = time.perf_counter()
            try:
                answer = await http.request(method, path, **options)  # type: ignore[arg-type]
            except httpx.HTTPError as exc:
                result.unexpected.append(f"{route}: no answer ({type(exc).__name__}: {exc})")
            else:
                result.timings[route].append(time.perf_counter() - began)
                record(result, number, route, path, answer)
            # A person reads what she opened before the next click; a short, random pause.
            await asyncio.sleep(rng.uniform(0.0, 0.2))


def _is_rate_limit(route: str, answer: httpx.Response) -> bool:
    """Whether a 429 is the report limit's (service/ratelimit.py): problem+json, Retry-After."""
    return (
        route == "POST /reports"
        and answer.headers.get("content-type") == "application/problem+json"
        and answer.headers.get("retry-after", "").isdigit()
        and "too many reports from this connection" in answer.text
    )


def record(
    result: LoadResult, number: int, route: str, path: str, answer: httpx.Response
) -> None:
    """Count one answer; keep a 201's report id; note any answer that is not allowed."""
    status = answer.status_code
    result.statuses[route][status] += 1
    if route == "POST /reports" and status == 201:
        result.created.append(answer.json()["id"])
        result.reports_by_client[number] += 1
    elif status == 429 and _is_rate_limit(route, answer):
        result.rate_limited_clients.add(number)
        return
    if status >= 400:
        result.unexpected.append(
            f"{route} {path} -> {status} {answer.headers.get('content-type')}: "
            f"{answer.text[:500]}"
        )


async def _run(
    base: str,
    clients: int,
    seconds: float,
    points: Sequence[tuple[float, float]],
    staff_token: str,
    seed: int,
) -> LoadResult:
    result = LoadResult()
    staff = {"Authorization": f"Bearer {staff_token}"}
    began = time.monotonic()
    await asyncio.gather(
        *(
            _client(n, base, began + seconds, points, staff, result, seed)
            for n in range(clients)
        )
    )
    result.seconds = time.monotonic() - began
    return result


def run_load(
    base: str,
    *,
    clients: int,
    seconds: float,
    points: Sequence[tuple[float, float]],
    staff_token: str,
    seed: int = 13,
) -> LoadResult:
    """Run ``clients`` concurrent clients against ``base`` for ``seconds``; what they saw.

    ``points`` are places inside the active wards (reports and look-ups go there);
    ``staff_token`` is a supervisor's or officer's token for ``GET /reports?bbox=``.
    """
    if clients > 65_000:
        raise ValueError("at most 65,000 clients: each needs a loopback address of its own")
    # In a thread of its own: the caller's thread may already run an event loop (a test
    # session that has driven a browser with Playwright's sync API does), and asyncio.run
    # cannot nest in it.
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(
            asyncio.run, _run(base, clients, seconds, points, staff_token, seed)
        ).result()


def _percentile(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) * 1000 if values else float("nan")


def summary(result: LoadResult) -> str:
    """A table: per route, requests, requests/s, statuses and p50/p95/p99 in milliseconds."""
    lines = [
        f"{result.requests:,} requests in {result.seconds:.1f} s "
        f"({result.requests / max(result.seconds, 1e-9):.1f}/s); "
        f"{len(result.created):,} reports stored; "
        f"{len(result.rate_limited_clients)} clients met the rate limit",
        f"{'route':<28} {'requests':>8} {'req/s':>7} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8}"
        "  statuses",
    ]
    for route in ROUTES:
        times = result.timings.get(route, [])
        codes = ", ".join(f"{k}: {v}" for k, v in sorted(result.statuses[route].items()))
        lines.append(
            f"{route:<28} {len(times):>8} {len(times) / max(result.seconds, 1e-9):>7.1f} "
            f"{_percentile(times, 50):>8.0f} {_percentile(times, 95):>8.0f} "
            f"{_percentile(times, 99):>8.0f}  {codes}"
        )
    return "\n".join(lines)


def problems(result: LoadResult, stored: set[str]) -> list[str]:
    """Everything that went wrong: odd answers, and 201s whose report is not in ``stored``."""
    found = list(result.unexpected)
    missing = [i for i in result.created if i not in stored]
    if missing:
        found.append(f"{len(missing)} reports answered 201 are not stored: {missing[:10]}")
    if len(set(result.created)) != len(result.created):
        found.append("the same report id was answered twice")
    return found


def stored_ids(database_url: str, ids: Sequence[str]) -> set[str]:
    """Which of ``ids`` are rows of ``reports``."""
    engine = create_engine(database_url)
    with engine.connect() as conn:
        found = conn.execute(
            text("SELECT id::text FROM reports WHERE id = ANY(CAST(:ids AS uuid[]))"),
            {"ids": list(ids)},
        ).scalars()
        answer = set(found)
    engine.dispose()
    return answer


def report_points(database_url: str, count: int = 500, seed: int = 13) -> list[tuple[float, float]]:
    """``count`` places of stored reports: inside the active wards, where people report."""
    engine = create_engine(database_url)
    with engine.connect() as conn:
        conn.execute(text("SELECT setseed(:s)"), {"s": (seed % 1000) / 1000})
        rows = conn.execute(
            text("SELECT ST_X(geom), ST_Y(geom) FROM reports ORDER BY random() LIMIT :n"),
            {"n": count},
        ).all()
    engine.dispose()
    if not rows:
        raise ValueError("no reports stored: seed some first (service.queries.demo.seed_reports)")
    return [(float(x), float(y)) for x, y in rows]


def free_port() -> int:
    """A loopback TCP port nobody is listening on (for a server the bench starts)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until_answering(
    server: subprocess.Popen[bytes],
    url: str,
    *,
    what: str,
    timeout_s: float = 60.0,
    output: Callable[[], str] = str,
) -> None:
    """Return once ``url`` answers 200; raise if ``server`` exits or ``timeout_s`` passes first.

    The message names ``what`` did not start and adds ``output()`` (e.g. the end of its log).
    """
    deadline = time.monotonic() + timeout_s
    while True:
        if server.poll() is not None:
            raise RuntimeError(f"{what} did not start (exit code {server.returncode})\n{output()}")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what} did not answer {url} within {timeout_s:.0f} s\n{output()}")
        time.sleep(0.1)


def stop(server: subprocess.Popen[bytes]) -> None:
    """Ask ``server`` to stop, and kill it if it has not within 20 s."""
    server.terminate()
    try:
        server.wait(timeout=20)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()


SERVE = (
    "import sys, uvicorn; from service.app import create_app; "
    "from service.cli import uvicorn_options; "
    "uvicorn.run(create_app(), **uvicorn_options('127.0.0.1', int(sys.argv[1]), "
    "log_level='warning', access_log=False))"
)


@contextmanager
def served(database_url: str, secret_key: str, **environment: str) -> Iterator[str]:
    """The app under uvicorn in its own process (its own GIL), as ``walktalk serve`` runs it.

    ``environment`` adds settings (``WALKTALK_…``); map tiles are off so no page reaches out.
    Yields the base URL.
    """
    with serving(database_url, secret_key, **environment) as (base, _):
        yield base


def peak_memory(pid: int) -> int:
    """The peak resident memory so far of process ``pid``, in bytes (Linux's VmHWM)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"/proc/{pid}/status has no VmHWM line: is this Linux?")


@contextmanager
def serving(
    database_url: str, secret_key: str, **environment: str
) -> Iterator[tuple[str, int]]:
    """As :func:`served`, yielding the base URL and the server's process id."""
    port = free_port()
    home = tempfile.mkdtemp(prefix="walktalk-load-home-")
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "WALKTALK_HOME": home,
        "WALKTALK_SECRET_KEY": secret_key,
        "WALKTALK_TILES": "none",
        **environment,
    }
    server = subprocess.Popen([sys.executable, "-c", SERVE, str(port)], env=env)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_answering(server, f"{base}/healthz", what="the service")
        yield base, server.pid
    finally:
        stop(server)
        shutil.rmtree(home, ignore_errors=True)


# -- the long form ------------------------------------------------------------------------------

OSM = sorted((Path(__file__).parents[1] / "data" / "osm").glob("*.osm"))
POLICE_UK = Path(__file__).parents[1] / "data" / "police_uk"


def prepare(database_url: str, reports: int, seed: int) -> None:
    """Schema, pilot wards, crimes, the SE1 base map and ``reports`` demo reports; ANALYZE."""
    from bench.ward_lookup import _say
    from geo.osm import read_osm_features
    from service.cluster import ensure_postgis
    from service.db import migrate
    from service.queries import demo, imports, osm, wards

    ensure_postgis(database_url)
    engine = create_engine(database_url)
    migrate(engine)
    with Session(engine) as session, session.begin():
        wards.load_pilot(session)
        for path in sorted(POLICE_UK.glob("*/*.csv")) + sorted(POLICE_UK.glob("*/*.json")):
            imports.import_crimes(session, path, imported_by="bench")
        for path in OSM:
            osm.store_features(session, read_osm_features(path), source=path.name)
    _say(f"making {reports:,} demo reports …")
    started = time.perf_counter()
    with Session(engine) as session, session.begin():
        stored = demo.seed_reports(session, reports, seed=seed).stored
    with engine.connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT").execute(text("VACUUM ANALYZE"))
    engine.dispose()
    _say(f"stored {stored:,} reports in {time.perf_counter() - started:.1f} s")


def supervisor_token(database_url: str, key: str) -> str:
    """A supervisor's token for Central South (Lambeth and Southwark)."""
    from service.auth import Role
    from service.queries import tokens

    engine = create_engine(database_url)
    with Session(engine) as session, session.begin():
        _, raw = tokens.create_token(
            session,
            key=key.encode(),
            role=Role.supervisor,
            name="load bench supervisor",
            scope=tokens.resolve_scope(session, Role.supervisor, command_unit="AS"),
            expires_at=tokens.parse_expiry("1d"),
            created_by="bench",
        )
    engine.dispose()
    return raw


def main() -> int:
    """Parse options, build the database, serve it, run the clients, check, print."""
    from bench.ward_lookup import _database, _say, _server

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=300)
    parser.add_argument("--reports", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=20261205)
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    key = secrets.token_urlsafe(48)
    with _server() as server, _database(server) as url:
        prepare(url, args.reports, args.seed)
        token = supervisor_token(url, key)
        points = report_points(url, seed=args.seed)
        with served(url, key) as base:
            _say(f"{args.clients} clients for {args.seconds:.0f} s against {base} …")
            result = run_load(
                base,
                clients=args.clients,
                seconds=args.seconds,
                points=points,
                staff_token=token,
                seed=args.seed,
            )
        print(summary(result))
        found = problems(result, stored_ids(url, result.created))
    for line in found:
        print(f"PROBLEM: {line}", file=sys.stderr)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
