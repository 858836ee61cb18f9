"""The ward summary map in a real headless Chromium, as a signed-in council partner opens it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from service.queries import demo
from tests.test_browser_classes import hover_one

pytestmark = pytest.mark.browser


def watch(page: Any, server: str) -> list[str]:
    """Console errors, page errors, failed requests and anything that left the server."""
    problems: list[str] = []
    page.on(
        "console", lambda m: problems.append(f"console: {m.text}") if m.type == "error" else None
    )
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    page.on(
        "request",
        lambda r: problems.append(f"off-server: {r.url}") if not r.url.startswith(server) else None,
    )
    page.on("requestfailed", lambda r: problems.append(f"failed: {r.url}"))
    page.on(
        "response",
        lambda r: problems.append(f"HTTP {r.status}: {r.url}") if r.status >= 400 else None,
    )
    return problems


def test_a_partner_reads_the_ward_summary_map(
    browser: Any, live_server: str, app_settings: Any, issue_token: Any, tmp_path: Path
) -> None:
    engine = create_engine(app_settings.database_url)
    with Session(engine) as session, session.begin():
        demo.seed_reports(session, 900, seed=8)
    engine.dispose()
    token = issue_token("partner", boroughs=["E09000022"], name="Lambeth Council")

    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    problems = watch(page, live_server)
    page.goto(f"{live_server}/login")
    page.get_by_label("Token").fill(token)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_text("Signed in as").wait_for()

    response = page.goto(f"{live_server}/maps/wards/summary?dark=true")
    assert response.status == 200
    wards = page.locator("path.leaflet-interactive")
    wards.first.wait_for()
    assert wards.count() == 25  # Lambeth's wards: the partner's scope

    legend = page.locator(".map-legend").inner_text()
    assert "Reports per km²" in legend
    assert "suppressed (fewer than 10 reports)" in legend
    assert "Fisher\u2013Jenks natural breaks" in legend  # the legend names its classes
    panel = page.locator(".map-summary").inner_text()
    assert "Ward summary: reports per km²" in panel
    assert "boroughs Lambeth (E09000022)" in panel and "after dark only" in panel
    assert "Disclosure control: areas with fewer than 10 reports are suppressed" in panel
    assert (
        "Office for National Statistics"
        in page.locator(".leaflet-control-attribution").inner_text()
    )
    layers = page.locator(".leaflet-control-layers label").all_inner_texts()
    assert any("Reports per km² by ward (pilot-2024)" in label for label in layers)

    # Hatched, dashed wards are the suppressed ones; the rest are shaded by rate.
    dashed = page.locator('path.leaflet-interactive[stroke-dasharray="4 3"]')
    assert 0 < dashed.count() < 25
    assert dashed.first.get_attribute("fill") == "url(#hatch-bdbdbd-404040)"

    # Hover a suppressed ward and a shown one: the tooltip says what a person may know.
    dashed.first.hover(force=True)
    tooltip = page.locator(".leaflet-tooltip")
    tooltip.wait_for()
    text = tooltip.inner_text()
    assert "fewer than 10" in text and "Borough" in text and "Lambeth" in text
    assert "not shown" in text
    page.mouse.move(0, 0)
    # Where no panel covers it: the controls panel sits over the map's top left.
    hover_one(page, 'path.leaflet-interactive:not([stroke-dasharray="4 3"])')
    page.wait_for_function(
        "() => !document.querySelector('.leaflet-tooltip').innerText.includes('not shown')"
    )
    text = page.locator(".leaflet-tooltip").inner_text()
    assert "Reports per km²" in text and "In the dark" in text and "Walks held" in text

    page.wait_for_timeout(400)  # let the tooltip finish fading in before the screenshot
    shot = tmp_path / "ward-summary-partner.png"
    page.screenshot(path=str(shot))
    with Image.open(shot) as image:
        assert image.size == (1280, 900)
        # Not a blank page: many colours (the classes, the grey, the legend text).
        assert len(image.convert("RGB").getcolors(maxcolors=1 << 16) or []) > 50
    assert problems == []
    context.close()
