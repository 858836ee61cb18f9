"""tipg, the peer OGC API Features server, serving the project's ``reports`` table.

Why: ``GET /reports?bbox=…`` pages through reports in a box for officers and supervisors. To
say whether its requests per second are good, the load benchmark sets them against tipg
(developmentseed/tipg), a FastAPI + asyncpg server that does nothing but serve PostGIS tables
as OGC API Features, reading the same rows from the same table. The figure that matters is
the ratio, so both must answer for the same items: see :func:`tipg_items_path` and
:func:`project_items_path`.

How: tipg is installed from PyPI into a virtual environment of its own, ``bench/.tipg-venv``
(:func:`tipg_python`): its pins of FastAPI, Starlette and pydantic need not agree with the
project's, and a benchmark must not change what the project runs on. :func:`tipg_served` runs
it under uvicorn in a subprocess, limited to ``public.reports``, as :func:`bench.load.served`
runs the project's service.

``python -m bench.tipg_peer`` proves it in a throw-away cluster: it loads the demo data, asks
both servers for the same box and exits non-zero unless tipg returns the same number of
features (and says whether they are the same reports).
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import httpx2 as httpx
from sqlalchemy import make_url

REPO = Path(__file__).resolve().parents[1]
VENV = REPO / "bench" / ".tipg-venv"
# Pinned so the ratio compares like with like from run to run: a tipg release changes its SQL
# (sorting, counting, the catalog), which moves its requests per second. 1.6.1 is the current
# release and runs here on Python 3.11 against PostgreSQL 15 / PostGIS 3.3.
TIPG_VERSION = "1.6.1"
COLLECTION = "public.reports"
START_TIMEOUT_S = 60.0
# The project's page size: ``limit`` on GET /reports, 100 unless given, at most 1000
# (service/routers/reports.py, MAX_PAGE). tipg's own default is 10, so it is always given.
PAGE = 100
MAX_PAGE = 1000
# The properties GET /reports puts in each feature (service/queries/reports.py, _FEATURE_SQL);
# tipg is asked for these only, not for every column of the table.
REPORT_PROPERTIES = (
    "id",
    "ward_code",
    "borough_code",
    "occurred_on",
    "time_band",
    "occurred_at",
    "categories",
    "text",
    "text_redacted",
    "source",
    "status",
    "is_dark",
    "sun_elevation",
    "darkness_basis",
)
# tipg compresses any answer the client accepts compressed (starlette-cramjam); the project's
# service does not. Clients of both send this so neither pays for work the other skips.
PLAIN = {"Accept-Encoding": "identity"}
Box = tuple[float, float, float, float]


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _tail(text: str, lines: int = 20) -> str:
    return "\n".join(text.strip().splitlines()[-lines:])


def _venv_works(python: Path) -> bool:
    if not python.exists():
        return False
    check = (
        "import tipg, uvicorn, sys; "
        f"sys.exit(0 if tipg.__version__ == {TIPG_VERSION!r} else 1)"
    )
    return subprocess.run([str(python), "-c", check], capture_output=True).returncode == 0


def tipg_python() -> Path:
    """The python of tipg's own virtual environment, made on first use.

    The environment is ``bench/.tipg-venv`` (ignored by git), holding ``tipg`` (pinned) and
    ``uvicorn``. One that exists and imports that tipg is used as it is; a broken or outdated
    one is made again.

    Returns
    -------
    Path
        ``bench/.tipg-venv/bin/python``.

    Raises
    ------
    RuntimeError
        If the environment cannot be made or pip cannot install tipg (with pip's last lines).

    """
    python = VENV / "bin" / "python"
    if _venv_works(python):
        return python
    shutil.rmtree(VENV, ignore_errors=True)
    _say(f"making {VENV.relative_to(REPO)} with tipg {TIPG_VERSION} …")
    made = subprocess.run(
        [sys.executable, "-m", "venv", str(VENV)], capture_output=True, text=True
    )
    if made.returncode != 0:
        raise RuntimeError(
            f"python -m venv {VENV} failed (exit {made.returncode}):\n"
            f"{_tail(made.stderr or made.stdout)}"
        )
    installed = subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", f"tipg=={TIPG_VERSION}", "uvicorn"],
        capture_output=True,
        text=True,
    )
    if installed.returncode != 0 or not _venv_works(python):
        # A half-made environment would pass for a working one next time only if it imported;
        # remove it all the same so the next run starts clean.
        shutil.rmtree(VENV, ignore_errors=True)
        raise RuntimeError(
            f"pip install tipg=={TIPG_VERSION} uvicorn into {VENV} failed "
            f"(exit {installed.returncode}):\n{_tail(installed.stderr or installed.stdout)}"
        )
    return python


def tipg_database_url(database_url: str) -> str:
    """The project's database URL as tipg takes it: ``postgresql://user:pass@host:port/db``.

    The project's URLs are SQLAlchemy's (``postgresql+psycopg://…``) and a throw-away cluster
    is reached through a socket directory given as ``?host=/dir``. tipg validates the URL with
    pydantic, which refuses an empty host, and asyncpg lets the host in the URL win over the
    query's; so a socket directory goes in the host place, percent-encoded (asyncpg decodes it
    and takes a host starting with ``/`` for a socket directory).
    """
    url = make_url(database_url)
    query = dict(url.query)
    host = url.host or query.pop("host", None) or "localhost"
    if isinstance(host, tuple):  # SQLAlchemy keeps a repeated query key as a tuple
        host = host[0]
    port = url.port or query.pop("port", None) or 5432
    if isinstance(port, tuple):
        port = port[0]
    query.pop("host", None)
    query.pop("port", None)
    user = quote(url.username or "", safe="")
    password = f":{quote(url.password, safe='')}" if url.password else ""
    auth = f"{user}{password}@" if user else ""
    rest = f"?{urlencode(query, doseq=True)}" if query else ""
    return f"postgresql://{auth}{quote(str(host), safe='')}:{port}/{url.database}{rest}"


def _environment(database_url: str, home: str) -> dict[str, str]:
    return {
        # Only what a process needs to run: the project's own settings (DATABASE_URL among
        # them) must not leak in under other meanings.
        **{k: v for k, v in os.environ.items() if k in ("PATH", "LANG", "LC_ALL", "TZ")},
        "HOME": home,
        "DATABASE_URL": tipg_database_url(database_url),
        # One table: the catalog query at start-up then looks at nothing else.
        "TIPG_DB_SCHEMAS": '["public"]',
        "TIPG_DB_TABLES": f'["{COLLECTION}"]',
        # Named rather than guessed, though tipg finds both (the primary key, the only
        # geometry column) on its own.
        "TIPG_TABLE_CONFIG__public_reports__PK": "id",
        "TIPG_TABLE_CONFIG__public_reports__GEOMCOL": "geom",
        # The time extent is a min/max over every date column at start-up: slow on a million
        # rows and of no use to a benchmark.
        "TIPG_DB_DATETIME_EXTENT": "false",
        # 0 turns off the catalog's refresh every 300 s, which would otherwise land inside a
        # five-minute run and be timed as requests.
        "TIPG_CATALOG_TTL": "0",
        "TIPG_DEBUG": "false",
    }


@contextmanager
def tipg_served(database_url: str) -> Iterator[str]:
    """The tipg server under uvicorn, in a process of its own, serving ``public.reports``.

    Parameters
    ----------
    database_url
        The project's URL of the database (``postgresql+psycopg://…`` is taken).

    Yields
    ------
    str
        The base URL, ``http://127.0.0.1:PORT``; the items are at :func:`tipg_items_path`.

    Raises
    ------
    RuntimeError
        If tipg exits, or does not list the reports collection within 60 s (with the end of
        what it wrote to stderr).

    """
    from bench.load import free_port, stop, wait_until_answering

    python = tipg_python()
    port = free_port()
    # tipg's settings also read a .env in the working directory; run it where there is none.
    home = tempfile.mkdtemp(prefix="walktalk-tipg-")
    stderr_path = Path(home) / "stderr.log"
    base = f"http://127.0.0.1:{port}"
    with stderr_path.open("wb") as stderr:
        server = subprocess.Popen(
            [
                str(python),
                "-m",
                "uvicorn",
                "tipg.main:app",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--log-level",
                "warning",
                # As the project's service is served for the benchmark (bench.load.SERVE).
                "--no-access-log",
                "--no-proxy-headers",
            ],
            env=_environment(database_url, home),
            cwd=home,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
        )
    try:
        # /healthz answers before the catalog is read; the collection's own page only once
        # tipg has found the table.
        wait_until_answering(
            server,
            f"{base}/collections/{COLLECTION}",
            what="tipg",
            timeout_s=START_TIMEOUT_S,
            output=lambda: _tail(stderr_path.read_text(errors="replace")),
        )
        yield base
    finally:
        stop(server)
        shutil.rmtree(home, ignore_errors=True)


def _box(bbox: Box) -> str:
    return ",".join(repr(float(v)) for v in bbox)


def _check_limit(limit: int) -> None:
    if not 1 <= limit <= MAX_PAGE:
        raise ValueError(f"limit must be 1 to {MAX_PAGE} (the project's page), not {limit}")


def project_items_path(bbox: Box, limit: int = PAGE) -> str:
    """The project's path for the first page of reports in ``bbox``: ``/reports?bbox=…&limit=…``.

    Needs a supervisor's or officer's bearer token; answers within the token's scope (a
    supervisor's boroughs), ordered by report id, with ``numberMatched`` counted.
    """
    _check_limit(limit)
    return "/reports?" + urlencode({"bbox": _box(bbox), "limit": limit})


def tipg_items_path(
    bbox: Box, limit: int = PAGE, *, boroughs: Sequence[str] | None = None
) -> str:
    """The tipg path to the same items as :func:`project_items_path` with the same arguments.

    ``/collections/public.reports/items?bbox=…&limit=…&properties=…`` and, if ``boroughs``
    is given, a CQL2 filter ``borough_code IN (…)``: the scope the project applies from the
    token, so that both select the same rows (with the demo data, every report is in the
    pilot's boroughs and the filter changes nothing, but it costs tipg what the scope costs the
    project).

    The same items: both take the rows whose point lies in the box, order them by ``id`` (the
    uuid primary key, tipg's default order) and return the first ``limit``; both also count
    all matches (``numberMatched``). The box test is not quite the same: the project's is
    ``geom && envelope``, which compares PostGIS's single-precision boxes, tipg's is
    ``ST_Intersects``, exact. A point within about 1e-6 degrees (10 cm) outside an edge is
    taken by the project only: 1 of 11,029 in ``main``'s box, so a page can, rarely, differ
    by that point.

    What differs in what they return:

    * properties: tipg is asked for the project's fourteen (``REPORT_PROPERTIES``) and returns
      them with the same names (in alphabetical order), but ``sun_elevation`` unrounded (the
      project rounds to 2 places);
    * geometry: tipg writes 9 decimal places (PostGIS's default), the project 6;
    * each tipg feature carries ``links`` (its collection and itself), which the project's
      do not;
    * the collection: tipg adds ``timeStamp`` and its own ``links`` (next by ``offset``; the
      project's next link continues ``after`` the last id);
    * compression: tipg compresses if the client accepts it; send ``PLAIN`` headers to both;
    * the project also writes an audit row per request; tipg is read-only.
    """
    _check_limit(limit)
    params: dict[str, str | int] = {
        "bbox": _box(bbox),
        "limit": limit,
        "properties": ",".join(REPORT_PROPERTIES),
        "f": "geojson",
    }
    if boroughs:
        quoted = ", ".join("'" + code.replace("'", "''") + "'" for code in boroughs)
        params["filter"] = f"borough_code IN ({quoted})"
        params["filter-lang"] = "cql2-text"
    return f"/collections/{COLLECTION}/items?" + urlencode(params)


# -- the proof ----------------------------------------------------------------------------------

# Inside Lambeth and Southwark, around Kennington and the Elephant (the pilot's boroughs).
BOX: Box = (-0.125, 51.465, -0.085, 51.505)


def _page(base: str, path: str, headers: dict[str, str]) -> dict[str, Any]:
    answer = httpx.get(base + path, headers={**PLAIN, **headers}, timeout=60)
    if answer.status_code != 200:
        raise RuntimeError(f"GET {base}{path} answered {answer.status_code}: {answer.text[:500]}")
    page = answer.json()
    assert isinstance(page, dict)
    return page


def main() -> int:
    """Build a database, serve it both ways, ask both for one box; 0 if the counts agree."""
    from bench.load import prepare, served, supervisor_token
    from bench.ward_lookup import _database, _server
    from boundaries.bundled import find_command_unit

    tipg_python()  # made before the cluster starts, so a pip failure costs no data loading
    key = secrets.token_urlsafe(48)
    boroughs = find_command_unit("AS").borough_codes  # the supervisor token's scope
    with _server() as server, _database(server) as url:
        prepare(url, reports=20_000, seed=1)
        token = supervisor_token(url, key)
        with served(url, key) as project, tipg_served(url) as peer:
            ours_path = project_items_path(BOX)
            peer_path = tipg_items_path(BOX, boroughs=boroughs)
            ours_page = _page(project, ours_path, {"Authorization": f"Bearer {token}"})
            theirs_page = _page(peer, peer_path, {})
    ours, theirs = ours_page["features"], theirs_page["features"]
    ours_ids = [str(f["id"]) for f in ours]
    theirs_ids = [str(f["id"]) for f in theirs]
    ours_keys = set(ours[0]["properties"]) if ours else set()
    theirs_keys = set(theirs[0]["properties"]) if theirs else set()
    print(f"project GET {ours_path}: {len(ours)} features of {ours_page.get('numberMatched')}")
    print(f"tipg    GET {peer_path}: {len(theirs)} features of {theirs_page.get('numberMatched')}")
    print(f"same report ids, same order: {ours_ids == theirs_ids}")
    print(f"same report ids, any order: {sorted(ours_ids) == sorted(theirs_ids)}")
    print(f"property names the same: {ours_keys == theirs_keys}", end="")
    if ours_keys != theirs_keys:
        print(
            f" (project only: {sorted(ours_keys - theirs_keys)}; "
            f"tipg only: {sorted(theirs_keys - ours_keys)})",
            end="",
        )
    print()
    if ours_page.get("numberMatched") != theirs_page.get("numberMatched"):
        print(
            "note: the matches differ by the points just outside an edge that the project's "
            "single-precision && takes and tipg's exact ST_Intersects does not "
            "(see tipg_items_path)"
        )
    if theirs:
        print("tipg's first feature:", json.dumps(theirs[0]))
    if not theirs:
        print("PROBLEM: tipg returned no features", file=sys.stderr)
        return 1
    if len(theirs) != len(ours):
        print(f"PROBLEM: {len(ours)} features from the project, {len(theirs)} from tipg",
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
