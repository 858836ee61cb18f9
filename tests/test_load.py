"""The short load run (issue 13, item 5): 50 clients for 60 s, reports and map reads mixed.

The service runs under uvicorn on loopback, configured as ``walktalk serve`` runs it (in a
thread here; the long form serves it in a process of its own), on a database
holding the demo's synthetic reports (clustered around the bundled police.uk crimes) and the
SE1 base map. The clients (``bench.load``, whose long form is ``python -m bench.load``) each
come from their own loopback address, so the rate limit counts each one apart and the posting
clients do meet its 429. Checked: no answer but 2xx, 3xx and that 429, and every report
answered 201 is in the database. The speed table is printed, never asserted.
"""

from __future__ import annotations

import math
import random
import uuid
from collections.abc import Callable
from pathlib import Path

import httpx2 as httpx
from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from bench.load import (
    ROUTES,
    LoadResult,
    problems,
    record,
    report_body,
    report_points,
    run_load,
    stored_ids,
    summary,
)
from geo.osm import read_osm_features
from service.app import create_app
from service.queries import demo, imports, osm
from service.settings import Settings
from tests.conftest import serving

DATA = Path(__file__).parents[1] / "data"
CRIMES = DATA / "police_uk" / "api_trafalgar_square_1mile_2025-12" / "crimes_london.json"
OSM = sorted((DATA / "osm").glob("*.osm"))
CLIENTS = 50
SECONDS = 60
REPORTS = 3000


def _seed(database_url: str) -> None:
    engine = create_engine(database_url)
    with Session(engine) as session, session.begin():
        imports.import_crimes(session, CRIMES, imported_by="tests")
        demo.seed_reports(session, REPORTS, seed=21)
        for path in OSM:
            osm.store_features(session, read_osm_features(path), source=path.name)
    engine.dispose()


def test_fifty_clients_for_a_minute_get_no_error_but_429_and_lose_no_report(
    fresh_db: str, app_settings: Settings, issue_token: Callable[..., str]
) -> None:
    _seed(fresh_db)
    supervisor = issue_token("supervisor", command_unit="AS")
    points = report_points(fresh_db)
    limit = app_settings.report_rate_limit  # as it is: 10 a minute per client
    with serving(create_app(app_settings), access_log=False) as base:
        result = run_load(
            base, clients=CLIENTS, seconds=SECONDS, points=points, staff_token=supervisor
        )
    table = summary(result)
    print("\n" + table)

    found = problems(result, stored_ids(fresh_db, result.created))
    assert found == [], "\n".join(found) + "\n" + table
    # Every kind of request was made and answered, so the mix was what it says.
    assert set(result.statuses) == set(ROUTES), table
    assert result.requests > CLIENTS * 5, table
    # The limit held the posting clients back, each on her own count: a client was refused
    # only once `limit` of her reports were taken in the minute, and none had more taken
    # than the sliding window allows over the run ...
    assert result.statuses["POST /reports"][429] > 0, table
    windows = math.ceil(result.seconds / 60)
    for client in result.rate_limited_clients:
        assert limit <= result.reports_by_client[client] <= limit * windows, table
    assert max(result.reports_by_client.values()) <= limit * windows, table
    # ... and not one count shared by all: far more were taken than one address may send.
    assert len(result.created) > 3 * limit * windows, table


def test_the_check_catches_every_answer_the_load_run_must_not_see(
    fresh_db: str, settings_for: Callable[..., Settings]
) -> None:
    # The load test passes on an empty list of problems: this shows the list is not empty
    # when it should not be (a 404, a 429 from elsewhere than the limit, a 201 not stored).
    result = LoadResult()
    body = report_body(random.Random(1), (-0.1136, 51.5033))
    app = create_app(settings_for(fresh_db, report_rate_limit=1))
    with serving(app) as base, httpx.Client(base_url=base) as http:
        answers = [
            ("POST /reports", http.post("/reports", json=body)),
            ("POST /reports", http.post("/reports", json=body)),
            ("GET /no-such-page", http.get("/no-such-page")),
        ]
    for route, answer in answers:
        record(result, 7, route, answer.request.url.path, answer)
    assert [a.status_code for _, a in answers] == [201, 429, 404]
    assert result.rate_limited_clients == {7} and result.reports_by_client == {7: 1}
    assert result.created[0] in stored_ids(fresh_db, result.created)
    found = problems(result, stored_ids(fresh_db, result.created))
    assert len(found) == 1 and "GET /no-such-page /no-such-page -> 404" in found[0], found

    # The same 429 on another route is not the limit's answer; a lost 201 is reported.
    record(result, 7, "GET /hotspots", "/hotspots", answers[1][1])
    result.created.append(str(uuid.uuid4()))
    found = problems(result, stored_ids(fresh_db, result.created))
    assert "GET /hotspots /hotspots -> 429" in found[1], found
    assert "1 reports answered 201 are not stored" in found[2], found
