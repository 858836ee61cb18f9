"""Ranking 10,000 requests by their evidence in 1M reports, against one bare ``ST_DWithin`` join.

Run with ``python -m bench.request_ranking [--reports N] [--requests K] [--rounds R]``
(``make bench`` runs it). In one throw-away database, in one run:

* N published reports (default 1,000,000) over the pilot wards, stored as
  ``bench.route_exposure`` stores them (darkness, wards, the indexed ``reports`` table);
* K requests (default 10,000) to partners at random places in the same wards, one in ten a
  street stretch of about 100 m, inserted straight into ``partner_requests``;
* R interleaved rounds (after one warm-up each) of
  - ``service.queries.evidence.request_evidence``: every request's total, lighting, dark and
    distinct-month counts within 50 m, its score and its ranks in its borough and ward;
  - the bare join: a count of the published reports within 50 m of each request, through the
    same index probe (the request's box widened in degrees, then ``ST_DWithin`` on the
    British grid), and nothing else.

Goal (issue 12): the ranking's median time <= 1.5 x the bare join's. The two must agree on
every request's total, or the run fails.
"""

from __future__ import annotations

import argparse
import signal
import statistics
import sys
import time

import pandas as pd
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

from bench.route_exposure import _load
from bench.ward_lookup import _database, _say, _server
from service.queries.evidence import _METRES_PER_DEGREE_AT_LEAST, request_evidence

WITHIN_M = 50.0
GOAL = 1.5

_REQUESTS_SQL = """
INSERT INTO partner_requests (reference, kind, title, geom, line, ward_code, borough_code,
                              partner_borough, partner_team, raised_by, raised_role, synthetic)
SELECT DISTINCT ON (p.n) 'RQ-B' || lpad(n::text, 6, '0'),
       (ARRAY['lighting', 'lighting', 'lighting', 'cctv', 'vegetation', 'other'])[1 + n % 6],
       'bench request ' || n, p.geom,
       CASE WHEN n % 10 = 0 THEN ST_MakeLine(ST_Translate(p.geom, -0.0007, 0),
                                             ST_Translate(p.geom, 0.0007, 0)) END,
       w.code, w.borough_code, w.borough_code, 'Street lighting', 'bench', 'planner', true
  FROM (SELECT row_number() OVER () AS n, d.geom
          FROM (SELECT (ST_Dump(ST_GeneratePoints(ST_Union(w.geom), :count, :seed))).geom
                  FROM wards w JOIN ward_sets s ON s.id = w.ward_set_id AND s.is_active) d) p
  -- A point on the boundary between two wards is placed in the first (DISTINCT ON).
  JOIN wards w ON ST_Intersects(w.geom, p.geom)
   AND w.ward_set_id = (SELECT id FROM ward_sets WHERE is_active)
 ORDER BY p.n, w.code
"""

# What the ranking has to find, and nothing else: one count per request.
_BARE_SQL = """
SELECT q.id, count(r.id) AS total
  FROM partner_requests q
  LEFT JOIN reports r
    ON r.geom && ST_Expand(coalesce(q.line, q.geom), :within / :metres_per_degree)
   AND ST_DWithin(ST_Transform(r.geom, 27700), ST_Transform(coalesce(q.line, q.geom), 27700),
                  :within)
   AND r.status = 'published'
 GROUP BY q.id
"""


def _add_requests(url: str, count: int, seed: int) -> int:
    engine = create_engine(url)
    with Session(engine) as session, session.begin():
        session.execute(text(_REQUESTS_SQL), {"count": count, "seed": seed})
        stored = session.execute(text("SELECT count(*) FROM partner_requests")).scalar_one()
    with engine.connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT").execute(
            text("VACUUM ANALYZE partner_requests")
        )
    engine.dispose()
    return int(stored)


def _ranking(session: Session) -> pd.DataFrame:
    return request_evidence(session, within=WITHIN_M)


def _bare(session: Session) -> pd.DataFrame:
    session.execute(text("SET LOCAL jit = off"))  # as request_evidence does for itself
    rows = session.execute(
        text(_BARE_SQL),
        {"within": WITHIN_M, "metres_per_degree": _METRES_PER_DEGREE_AT_LEAST},
    ).all()
    return pd.DataFrame([tuple(r) for r in rows], columns=["id", "total"])


def run(reports: int, requests: int, rounds: int, seed: int) -> int:
    """Load, time both queries in interleaved rounds, print the figures; 1 if they disagree."""
    with _server() as server, _database(server) as url:
        _load(url, reports, seed)
        stored = _add_requests(url, requests, seed)
        _say(f"stored {stored:,} requests; timing {rounds} rounds of each …")
        engine = create_engine(url)
        times: dict[str, list[float]] = {"ranking": [], "bare": []}
        answers: dict[str, pd.DataFrame] = {}
        jobs = {"ranking": _ranking, "bare": _bare}
        for round_ in range(rounds + 1):
            for name, job in jobs.items():
                with Session(engine) as session, session.begin():
                    started = time.perf_counter()
                    answers[name] = job(session)
                    if round_:  # the first round warms the caches
                        times[name].append(time.perf_counter() - started)
        engine.dispose()
    ranking, bare = (statistics.median(times[name]) for name in ("ranking", "bare"))
    merged = answers["ranking"][["id", "total"]].merge(
        answers["bare"], on="id", suffixes=("", "_bare"), how="outer"
    )
    agree = len(merged) == stored and bool((merged["total"] == merged["total_bare"]).all())
    ratio = ranking / bare
    print(f"reports stored                      {reports:>10,}")
    print(f"requests ranked                     {stored:>10,} (within {WITHIN_M:.0f} m)")
    print(f"reports near requests (sum)         {int(merged['total_bare'].sum()):>10,}")
    print(f"rounds (after one warm-up)          {rounds:>10}")
    print(f"ranking (request_evidence) median   {ranking:10.2f} s")
    print(f"bare ST_DWithin join median         {bare:10.2f} s")
    verdict = "met" if ratio <= GOAL else "NOT met"
    print(f"ratio ranking / bare                {ratio:10.2f}   goal <= {GOAL}: {verdict}")
    if not agree:
        print("COUNTS DISAGREE between the ranking and the bare join", file=sys.stderr)
        return 1
    return 0


def main() -> int:
    """Parse options and run."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reports", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=20261205)
    args = parser.parse_args()
    if args.rounds < 1:
        parser.error("--rounds needs at least 1")
    # A plain kill must still stop the throw-away cluster (the finally blocks).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    return run(args.reports, args.requests, args.rounds, args.seed)


if __name__ == "__main__":
    sys.exit(main())
