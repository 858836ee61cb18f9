"""Faults, as they happen to a running service: nothing half-stored, no accepted report lost.

* An import killed (SIGKILL, no chance to clean up) while PostgreSQL is part-way through its
  rows stores nothing, neither reports nor an ``imports`` line; run again, it stores every row.
* The service restarted (SIGTERM, then started again on the same port) while clients post
  public reports: every report answered 201 is in the database afterwards.

The stopped database (503 problem+json, /healthz, recovery) is
``tests/test_hardening_service.py::test_a_stopped_database_answers_503_problem_json_and_recovers``.
"""

from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import psycopg
import requests

from boundaries.bundled import PILOT_WARDS
from boundaries.reading import read_wards

WALKTALK = Path(sys.executable).parent / "walktalk"
ROWS = 200_000


def _libpq(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://")


def _counts(url: str) -> tuple[int, int]:
    with psycopg.connect(_libpq(url)) as conn:
        row = conn.execute(
            "SELECT (SELECT count(*) FROM reports), (SELECT count(*) FROM imports)"
        ).fetchone()
    assert row is not None
    return int(row[0]), int(row[1])


def _environment(url: str, home: Path, **extra: str) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("WALKTALK_") and key != "DATABASE_URL"
    }
    env.update(
        DATABASE_URL=url,
        WALKTALK_HOME=str(home),
        WALKTALK_SECRET_KEY=secrets.token_urlsafe(48),
        WALKTALK_TILES="none",
        **extra,
    )
    return env


def _large_csv(path: Path, rows: int, seed: int = 13) -> Path:
    """``rows`` reports at random points inside the pilot wards (every row valid)."""
    rng = np.random.default_rng(seed)
    wards = read_wards(PILOT_WARDS.path).wards
    x0, y0, x1, y1 = wards.total_bounds
    inside = np.zeros(0, dtype=int)
    lon = lat = np.zeros(0)
    while len(inside) < rows:
        lon = np.round(rng.uniform(x0, x1, rows * 3), 6)
        lat = np.round(rng.uniform(y0, y1, rows * 3), 6)
        points = gpd.GeoDataFrame(geometry=gpd.points_from_xy(lon, lat), crs=4326)
        hits = gpd.sjoin(points, wards[["code", "geometry"]], predicate="within")
        inside = np.unique(hits.index[~hits.index.duplicated(keep=False)])
    chosen = inside[:rows]
    frame = pd.DataFrame(
        {
            "lon": lon[chosen],
            "lat": lat[chosen],
            "categories": rng.choice(["poor_lighting", "isolated;followed", "no_cctv"], rows),
            "date": (
                pd.Timestamp("2025-01-01") + pd.to_timedelta(rng.integers(0, 600, rows), unit="D")
            ).strftime("%Y-%m-%d"),
            "time_band": rng.choice(["evening", "night", "early_morning"], rows),
        }
    )
    frame.to_csv(path, index=False)
    return path


def _rows_copied(url: str, dbname: str) -> int:
    """Rows PostgreSQL has taken in so far from any COPY into ``dbname`` (0 when none runs)."""
    with psycopg.connect(_libpq(url), autocommit=True) as conn:
        row = conn.execute(
            "SELECT coalesce(max(tuples_processed), 0) FROM pg_stat_progress_copy "
            "WHERE datname = %s",
            (dbname,),
        ).fetchone()
    return int(row[0]) if row else 0


def test_an_import_killed_halfway_stores_nothing_and_the_rerun_stores_every_row(
    fresh_db: str, tmp_path: Path
) -> None:
    path = _large_csv(tmp_path / "big.csv", ROWS)
    env = _environment(fresh_db, tmp_path / "home")
    dbname = str(psycopg.conninfo.conninfo_to_dict(_libpq(fresh_db))["dbname"])
    before = _counts(fresh_db)

    proc = subprocess.Popen(
        [str(WALKTALK), "reports", "import", str(path)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    seen = 0
    deadline = time.monotonic() + 180
    try:
        # Killed once PostgreSQL has taken in a quarter of the rows, and before the end.
        while seen < ROWS // 4:
            assert proc.poll() is None, f"the import ended before it was killed: {proc.stderr}"
            assert time.monotonic() < deadline, "the import's COPY never got a quarter in"
            seen = _rows_copied(fresh_db, dbname)
            time.sleep(0.01)
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.kill()
        out, _ = proc.communicate(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    assert ROWS // 4 <= seen < ROWS, seen  # mid-way: some rows in, not all
    assert "stored" not in out

    # The server notices the dead client and rolls its transaction back.
    deadline = time.monotonic() + 30
    while _rows_copied(fresh_db, dbname) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _counts(fresh_db) == before  # no report, no imports line

    again = subprocess.run(
        [str(WALKTALK), "reports", "import", str(path)],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert again.returncode == 0, again.stderr
    assert f"big.csv: stored {ROWS} reports" in again.stdout  # not "imported before"
    assert _counts(fresh_db) == (before[0] + ROWS, before[1] + 1)


# -- the service restarted while clients post ----------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _serve(env: dict[str, str], port: int, log: Path) -> subprocess.Popen[bytes]:
    handle = log.open("ab")
    return subprocess.Popen(
        [str(WALKTALK), "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=handle,
        stderr=subprocess.STDOUT,
    )


def _wait_ready(base: str, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"the service exited:\n{log.read_text()}"
        try:
            if requests.get(f"{base}/healthz", timeout=2).status_code == 200:
                return
        except requests.ConnectionError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"the service did not start:\n{log.read_text()}")


# Refused, reset, or cut off before the whole answer came.
CUT_OFF = (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError)
REPORT: dict[str, Any] = {
    "lon": -0.1136,
    "lat": 51.5033,
    "categories": ["poor_lighting"],
    "date": "2026-11-20",
    "time_band": "evening",
}


def test_no_report_answered_201_is_lost_when_the_service_restarts(
    fresh_db: str, tmp_path: Path
) -> None:
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    # The public rate limit would turn most of these posts into 429s: raised for the test.
    env = _environment(fresh_db, tmp_path / "home", WALKTALK_REPORT_RATE_LIMIT="1000000")
    log = tmp_path / "serve.log"
    server = _serve(env, port, log)
    _wait_ready(base, server, log)

    accepted: list[tuple[float, str]] = []  # (when, report id) of every 201
    refused: list[tuple[int, str]] = []  # any answer that is neither 201 nor retried
    retries = {"connection": 0, "unavailable": 0}
    lock = threading.Lock()
    stop = threading.Event()

    def client(number: int) -> None:
        with requests.Session() as http:
            sent = 0
            while not stop.is_set():
                text = f"client {number} report {sent} {uuid.uuid4()}"
                body: dict[str, Any] = {**REPORT, "text": text}
                try:
                    answer = http.post(f"{base}/reports", json=body, timeout=10)
                except CUT_OFF:
                    # Refused, reset or cut off mid-answer: the client tries again, as the
                    # public form's script does. A post cut off after its commit may be stored
                    # without a 201; it is never counted as accepted.
                    with lock:
                        retries["connection"] += 1
                    time.sleep(0.05)
                    continue
                with lock:
                    if answer.status_code == 201:
                        accepted.append((time.monotonic(), str(answer.json()["id"])))
                        sent += 1
                    elif answer.status_code == 503:
                        retries["unavailable"] += 1  # shutting down: retry, as told
                    else:
                        refused.append((answer.status_code, answer.text[:200]))

    threads = [threading.Thread(target=client, args=(n,), daemon=True) for n in range(4)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    try:
        time.sleep(4)
        stopped_at = time.monotonic()
        server.send_signal(signal.SIGTERM)
        # uvicorn finishes the requests in flight, then re-raises the signal to exit.
        assert server.wait(timeout=30) in (0, -signal.SIGTERM), log.read_text()
        assert "Application shutdown complete" in log.read_text()
        server = _serve(env, port, log)
        _wait_ready(base, server, log)
        restarted_at = time.monotonic()
        # About ten seconds in all, and at least four after the restart.
        time.sleep(max(4.0, 10 - (restarted_at - started)))
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=30)
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)

    assert refused == []
    ids = [report_id for _, report_id in accepted]
    before_stop = sum(1 for at, _ in accepted if at < stopped_at)
    after_restart = sum(1 for at, _ in accepted if at > restarted_at)
    assert before_stop >= 20 and after_restart >= 20, (before_stop, after_restart, retries)
    assert retries["connection"] > 0  # the clients did meet the restart
    assert len(set(ids)) == len(ids)
    with psycopg.connect(_libpq(fresh_db)) as conn:
        row = conn.execute(
            "SELECT count(*) FROM reports WHERE id = ANY(%s::uuid[])", (ids,)
        ).fetchone()
    assert row is not None and row[0] == len(ids), (len(ids), row, retries)
