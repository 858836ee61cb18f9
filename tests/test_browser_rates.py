"""Rates per 1,000 residents on the ward summary map, in the real headless Chromium, with axe-core.

The population is the bundled ONS estimates, loaded as `walktalk population load` does.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from service.population_load import load_population
from service.queries import demo
from tests.browser import watched_page

pytestmark = pytest.mark.browser

AXE = Path(__file__).parents[1] / "maps" / "vendor" / "node_modules" / "axe-core" / "axe.min.js"


def test_the_ward_tooltip_gives_rates_per_1000_and_axe_finds_nothing_serious(
    browser: Any, live_server: str, app_settings: Any
) -> None:
    if not AXE.is_file():
        pytest.fail(f"axe-core is not installed at {AXE}: run `npm ci --prefix maps/vendor`")
    engine = create_engine(app_settings.database_url)
    with Session(engine) as session, session.begin():
        demo.seed_reports(session, 900, seed=8)
    load_population(engine)
    engine.dispose()

    with watched_page(browser, live_server, width=1280, height=900) as page:
        response = page.goto(f"{live_server}/maps/wards/summary?borough=E09000022")
        assert response.status == 200
        wards = page.locator("path.leaflet-interactive")
        wards.first.wait_for()
        shaded = page.locator('path.leaflet-interactive:not([stroke-dasharray="4 3"])')
        shaded.first.hover(force=True)
        tooltip = page.locator(".leaflet-tooltip")
        tooltip.wait_for()
        text = tooltip.inner_text()
        per_resident = re.search(r"Reports per 1,000 residents\s+([\d.,]+)", text)
        per_woman = re.search(r"Reports per 1,000 women\s+([\d.,]+)", text)
        assert per_resident and per_woman, text
        # About half the residents are women, so the rate per woman is about twice as high.
        ratio = float(per_woman.group(1)) / float(per_resident.group(1))
        assert 1.6 < ratio < 2.4, text
        dashed = page.locator('path.leaflet-interactive[stroke-dasharray="4 3"]')
        assert dashed.count() > 0
        page.mouse.move(0, 0)
        dashed.first.hover(force=True)
        page.wait_for_function(
            "() => document.querySelector('.leaflet-tooltip').innerText.includes('suppressed')"
        )
        hidden = page.locator(".leaflet-tooltip").inner_text()
        assert re.search(r"Reports per 1,000 residents\s+not shown", hidden), hidden
        note = page.locator(".map-summary").inner_text()
        assert "population apportioned from ONS mid-2020 LSOA estimates by area" in note
        assert "Contains OS data © Crown copyright and database right (2022)" in note

        page.add_script_tag(path=str(AXE))
        found = page.evaluate("() => axe.run(document).then(r => r.violations)")
        serious = [
            (v["id"], v["impact"], [n["target"] for n in v["nodes"]])
            for v in found
            if v["impact"] in ("serious", "critical")
        ]
        assert serious == []
        assert page.problems == []
