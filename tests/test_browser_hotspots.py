"""The hot-spot map and the heatmap in a real headless Chromium, served by uvicorn, offline."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from maps.hotspots import CLASS_COLOURS
from service.queries import demo, imports
from service.settings import Settings
from tests.browser import watched_page
from tests.test_api_hotspots import CRIMES

pytestmark = pytest.mark.browser

HOT = ("hot_99", "hot_95", "hot_90")


@pytest.fixture
def seeded(app_settings: Settings) -> None:
    engine = create_engine(app_settings.database_url or "")
    with Session(engine) as session, session.begin():
        imports.import_crimes(session, CRIMES, imported_by="tests")
        demo.seed_reports(session, 3000, seed=21)
    engine.dispose()


@pytest.fixture
def page(browser: Any, live_server: str, seeded: None) -> Iterator[Any]:
    with watched_page(browser, live_server, width=1280, height=860) as opened:
        yield opened


def test_the_hot_spot_map_reads_as_a_person_would_read_it(
    page: Any, live_server: str, tmp_path: Path
) -> None:
    response = page.goto(f"{live_server}/maps/hotspots?crimes=true")
    assert response.status == 200
    hexagons = page.locator("path.leaflet-interactive")
    hexagons.first.wait_for()
    # Hexagons (about 110 cells over the pilot at 500 m), ward outlines and crime circles.
    assert hexagons.count() > 150

    legend = page.locator(".map-legend", has_text="Hot spots of reports").inner_text()
    for label in ("Hot spot, 95 % confidence", "Not significant", "Suppressed: fewer than 10"):
        assert label in legend
    layers = page.locator(".leaflet-control-layers label").all_inner_texts()
    assert [label.strip() for label in layers] == [
        "Hot spots (hexagons)",
        "Ward outlines",
        "Police.uk crimes per hexagon",
        "Emerging hot spots",
    ]
    credit = page.locator(".leaflet-control-attribution").inner_text()
    assert "Office for National Statistics" in credit and "police.uk" in credit
    about = page.locator(".map-about")
    assert "Showing:" in about.inner_text() and "E09000022" in about.inner_text()
    assert "a feeling, not a crime" not in about.inner_text()  # folded away at first
    about.get_by_text("How these counts were made").click()
    assert "a feeling, not a crime" in about.inner_text()

    # Hover the hottest hexagon: its tooltip gives the count as shown, z and the class.
    hot = page.locator(
        ", ".join(f'path.leaflet-interactive[fill="{CLASS_COLOURS[c]}"]' for c in HOT)
    )
    assert hot.count() > 0
    box = hot.first.bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    tooltip = page.locator(".leaflet-tooltip")
    tooltip.wait_for()
    said = tooltip.inner_text()
    assert "Reports" in said and "Gi* z-score" in said and "Hot spot, 9" in said

    shot = tmp_path / "hotspots.png"
    page.screenshot(path=str(shot))
    with Image.open(shot) as image:
        colours = {colour for _, colour in image.convert("RGB").getcolors(1_000_000) or []}
    # The warm colours of the hot classes are on screen, not just a blank or grey page.
    assert any(r - b > 60 and r > 200 for r, g, b in colours)
    assert page.problems == []


def test_the_heatmap_shows_its_image_legend_and_wards(
    page: Any, live_server: str, tmp_path: Path
) -> None:
    response = page.goto(f"{live_server}/maps/heatmap")
    assert response.status == 200
    heat = page.locator("img.leaflet-image-layer")
    heat.wait_for()
    assert heat.evaluate("img => img.complete && img.naturalWidth > 100")
    legend = page.locator(".map-legend").inner_text()
    assert "Reports per km²" in legend and "Colour on a log scale" in legend
    assert "hexagons with fewer than 10 reports (suppressed)" in legend
    layers = [s.strip() for s in page.locator(".leaflet-control-layers label").all_inner_texts()]
    assert layers == [
        "Heatmap of reports",
        "Ward outlines",
        "Suppressed hexagons (fewer than 10 reports)",
    ]

    # Hover a ward in the middle of the map: its name.
    box = page.locator(".folium-map").bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    tooltip = page.locator(".leaflet-tooltip")
    tooltip.wait_for()
    assert "Ward" in tooltip.inner_text()

    # Switching the heat off removes the image; on again brings it back.
    page.get_by_label("Heatmap of reports").uncheck()
    assert page.locator("img.leaflet-image-layer").count() == 0
    page.get_by_label("Heatmap of reports").check()
    page.locator("img.leaflet-image-layer").wait_for()

    page.screenshot(path=str(tmp_path / "heatmap.png"))
    assert page.problems == []
