"""The themes page in a real headless Chromium: the cut can be chosen, axe finds nothing serious."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from service.settings import Settings
from tests.browser import watched_page
from tests.test_api_themes import seed_theme_data

pytestmark = pytest.mark.browser

AXE = Path(__file__).parents[1] / "maps" / "vendor" / "node_modules" / "axe-core" / "axe.min.js"


@pytest.fixture
def page(browser: Any, live_server: str, app_settings: Settings) -> Iterator[Any]:
    engine = create_engine(app_settings.database_url or "")
    with Session(engine) as session, session.begin():
        seed_theme_data(session, app_settings.resolved_secret_key(), walks=4)
    engine.dispose()
    with watched_page(browser, live_server, width=1280, height=900) as opened:
        yield opened


def serious(page: Any) -> list[str]:
    page.add_script_tag(path=str(AXE))
    violations = page.evaluate("() => axe.run(document).then(r => r.violations)")
    return [
        f"{v['id']} ({v['impact']}): {v['help']}"
        for v in violations
        if v["impact"] in {"serious", "critical"}
    ]


def test_the_themes_page_opens_by_quarter_and_borough_and_offers_finer_cuts(
    page: Any, live_server: str
) -> None:
    if not AXE.is_file():
        pytest.fail(
            f"axe-core is not installed at {AXE}: run `npm ci --prefix maps/vendor` (make does)",
            pytrace=False,
        )
    response = page.goto(f"{live_server}/themes/page?month_from=2026-03&month_to=2026-08")
    assert response.status == 200
    assert page.get_by_role("heading", level=1).inner_text() == "Recurring themes by quarter"
    assert page.get_by_label("Area").input_value() == "borough"
    assert page.get_by_label("Categories").input_value() == "group"
    captions = page.locator("caption").all_inner_texts()
    assert "Reports: the top category groups by quarter (all boroughs summed)" in captions
    assert serious(page) == []

    page.get_by_label("Time step").select_option("month")
    page.get_by_label("Area").select_option("ward")
    page.get_by_role("button", name="Show").click()
    page.wait_for_url("**step=month**")
    assert "area=ward" in page.url
    assert page.get_by_role("heading", level=1).inner_text() == "Recurring themes by month"
    assert page.locator('th[scope="row"]', has_text="May 2026").count() >= 1
    assert serious(page) == []
    assert page.problems == []
