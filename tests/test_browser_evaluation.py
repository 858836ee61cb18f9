"""The evaluation page in a real headless Chromium, on demo walks, read as a supervisor reads it.

Served by uvicorn from a fresh database seeded with demo walks along the bundled OpenStreetMap
streets (as ``make demo`` does), with no base map: any request that leaves the server is a
fault. Tables are found by their captions through the accessibility tree, as a screen reader
finds them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

from geo.streets import read_osm_streets
from service.queries.demo_walks import UPCOMING, seed_walks
from service.settings import Settings
from tests.browser import watched_page

pytestmark = pytest.mark.browser

OSM = sorted((Path(__file__).parents[1] / "data" / "osm").glob("*.osm"))
WALKED = 30


@pytest.fixture
def demo_walks(app_settings: Settings) -> dict[str, Any]:
    """Demo walks in the served database, and what the tables say of them."""
    engine = create_engine(app_settings.database_url or "")
    with Session(engine) as session, session.begin():
        seed_walks(
            session,
            key=app_settings.resolved_secret_key(),
            count=WALKED,
            seed=21,
            streets=read_osm_streets(OSM),
        )
    with engine.connect() as conn:
        facts = conn.execute(
            text(
                "SELECT count(*) FILTER (WHERE closed_at IS NOT NULL) AS walked, "
                "count(DISTINCT ward_code) FILTER (WHERE closed_at IS NOT NULL) AS wards, "
                "(SELECT count(*) FROM safeguarding WHERE disclosed AND reviewed_at IS NULL) "
                "AS flags FROM walks"
            )
        ).one()
    engine.dispose()
    return dict(facts._mapping)


@pytest.fixture
def page(browser: Any, live_server: str) -> Iterator[Any]:
    with watched_page(browser, live_server, width=1280, height=900) as opened:
        yield opened


def _value(page: Any, table: str, row: str) -> str:
    """The cell beside a row header, found as a screen reader finds it."""
    found = page.get_by_role("table", name=table).get_by_role("row", name=row)
    return str(found.get_by_role("cell").first.inner_text())


def test_a_supervisor_reads_the_evaluation_of_the_demo_walks(
    page: Any,
    live_server: str,
    demo_walks: dict[str, Any],
    issue_token: Callable[..., str],
    tmp_path: Path,
) -> None:
    page.goto(f"{live_server}/evaluation")  # sends to sign in first
    assert page.url == f"{live_server}/login?next=/evaluation"
    page.get_by_label("Token").fill(issue_token("supervisor", command_unit="AS", name="Sgt Eval"))
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("heading", name="Evaluation of the walks", level=1).wait_for()
    assert page.url == f"{live_server}/evaluation"
    assert (
        page.locator("main > p").first.inner_text().startswith("Lambeth and Southwark; all months.")
    )

    note = page.get_by_role("note")
    assert note.inner_text().startswith(f"Includes {WALKED} synthetic demo walks")
    assert _value(page, "The walks at a glance", "Walks walked") == str(demo_walks["walked"])
    assert _value(page, "The walks at a glance", "Planned or not yet closed") == (
        f"{UPCOMING} ({UPCOMING} still to come)"
    )

    grid = page.get_by_role("table", name="Walks per ward and month")
    header = grid.get_by_role("row").first.get_by_role("columnheader").all_inner_texts()
    assert header[0] == "Ward" and header[-1] == "Total" and len(header) >= 4
    assert grid.locator("tbody").get_by_role("rowheader").count() == demo_walks["wards"]
    totals = grid.locator("tfoot").get_by_role("cell").all_inner_texts()
    assert totals[-1] == str(demo_walks["walked"])
    assert sum(int(n) for n in totals[:-1]) == demo_walks["walked"]

    buddies = "The buddies' answers: before the walk and after it"
    before = float(_value(page, buddies, "How safe she felt on the route before (mean, 1 to 5)"))
    after = float(_value(page, buddies, "How safe she feels on it after (mean, 1 to 5)"))
    assert 1 <= before < after <= 5  # the demo's buddies feel as safe or safer after
    assert "%" in _value(page, buddies, "Felt safer after than before")
    assert "%" in _value(page, "Darkness and length", "Walks that started in the dark")

    flags = page.get_by_role("table", name="Open safeguarding flags: 2 open, 1 overdue")
    rows = flags.locator("tbody").get_by_role("row")
    assert rows.count() == demo_walks["flags"] == 2
    states = rows.locator("td:last-child").all_inner_texts()
    assert states == [
        "overdue: no report reference by the deadline",
        "reference given, awaiting review",
    ]
    overdue = rows.first.locator("td.overdue")
    assert overdue.evaluate("cell => getComputedStyle(cell).color") == "rgb(160, 0, 0)"
    assert rows.first.get_by_role("link").inner_text().count("-") == 4  # the walk's id
    assert "(demo)" in rows.first.get_by_role("rowheader").inner_text()

    page.screenshot(path=str(tmp_path / "evaluation.png"), full_page=True)
    assert (tmp_path / "evaluation.png").stat().st_size > 50_000

    # Narrowing the months goes through the same page and says so.
    page.get_by_label("From", exact=True).fill("2026-01")
    page.get_by_label("To", exact=True).fill("2026-01")
    with page.expect_navigation():
        page.get_by_role("button", name="Show").click()
    assert page.url == f"{live_server}/evaluation?month_from=2026-01&month_to=2026-01"
    assert "January 2026 to January 2026" in page.locator("main > p").first.inner_text()
    assert page.get_by_role("table", name="Open safeguarding flags: 2 open, 1 overdue").count() == 1
    assert page.problems == []
