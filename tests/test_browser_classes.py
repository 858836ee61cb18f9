"""Honest classes and ramps in the real headless Chromium: the ward choropleth and the heatmap.

As the public opens them (protected counts): the choropleth's legend names its scheme and its
suppressed wards are hatched, the heatmap is coloured on a log scale and hatches its
suppressed hexagons; axe-core finds nothing serious; screenshots for a person to look at are
kept in /tmp/shots (classes-*.png), at a laptop's and a phone's size.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from service.queries import demo, imports
from service.settings import Settings
from tests.browser import watched_page
from tests.test_api_hotspots import CRIMES

pytestmark = pytest.mark.browser

AXE = Path(__file__).parents[1] / "maps" / "vendor" / "node_modules" / "axe-core" / "axe.min.js"
SHOTS = Path("/tmp/shots")
SIZES = [(1280, 800), (390, 844)]


@pytest.fixture
def seeded(app_settings: Settings) -> None:
    engine = create_engine(app_settings.database_url or "")
    with Session(engine) as session, session.begin():
        demo.seed_reports(session, 900, seed=8)
    engine.dispose()


@pytest.fixture
def clustered(app_settings: Settings) -> None:
    """Reports moved off police.uk crimes: clustered as real ones are, with quiet streets."""
    engine = create_engine(app_settings.database_url or "")
    with Session(engine) as session, session.begin():
        imports.import_crimes(session, CRIMES, imported_by="tests")
        demo.seed_reports(session, 3000, seed=21)
    engine.dispose()


@pytest.fixture
def shots() -> Path:
    SHOTS.mkdir(parents=True, exist_ok=True)
    return SHOTS


def serious_axe_violations(page: Any) -> list[tuple[str, str, list[Any]]]:
    if not AXE.is_file():
        pytest.fail(
            f"axe-core is not installed at {AXE}: run `npm ci --prefix maps/vendor` (make does)",
            pytrace=False,
        )
    page.add_script_tag(path=str(AXE))
    found = page.evaluate("() => axe.run(document).then(r => r.violations)")
    return [
        (v["id"], v["impact"], [n["target"] for n in v["nodes"]])
        for v in found
        if v["impact"] in ("serious", "critical")
    ]


def legend_text(page: Any, has_text: str) -> str:
    """A legend's text, unfolded first when a phone's screen folded it."""
    legend = page.locator(".map-legend", has_text=has_text)
    folded = legend.locator("details.map-fold:not([open]) > summary")
    if folded.count():
        folded.first.click()
    return legend.inner_text()


def painted_hatched(page: Any, selector: str) -> bool:
    """Whether the paths' fill is an SVG pattern the page defines (not a flat colour)."""
    return page.evaluate(
        """(selector) => {
            const paths = [...document.querySelectorAll(selector)];
            return paths.length > 0 && paths.every(p => {
                const id = (p.getAttribute("fill").match(/^url\\(#(.+)\\)$/) || [])[1];
                const pattern = id && document.getElementById(id);
                return pattern && pattern.tagName === "pattern"
                    && pattern.querySelector("line") !== null;
            });
        }""",
        selector,
    )


def hover_one(page: Any, selector: str) -> None:
    """Move the mouse onto a path of ``selector`` where no panel covers it, as a person would."""
    point = page.evaluate(
        """(selector) => {
            for (const path of document.querySelectorAll(selector)) {
                const box = path.getBoundingClientRect();
                const spots = [[0.5, 0.5], [0.3, 0.3], [0.7, 0.7], [0.3, 0.7], [0.7, 0.3]];
                for (const [fx, fy] of spots) {
                    const x = box.left + fx * box.width, y = box.top + fy * box.height;
                    if (document.elementFromPoint(x, y) === path) return [x, y];
                }
            }
            return null;
        }""",
        selector,
    )
    assert point, f"no {selector} uncovered on the screen"
    page.mouse.move(*point)


@pytest.mark.parametrize(("width", "height"), SIZES)
def test_the_choropleth_names_its_classes_and_hatches_suppressed_wards(
    browser: Any, live_server: str, seeded: None, shots: Path, width: int, height: int
) -> None:
    with watched_page(browser, live_server, width=width, height=height) as page:
        response = page.goto(f"{live_server}/maps/wards/summary?dark=true")
        assert response.status == 200
        page.locator("path.leaflet-interactive").first.wait_for()
        legend = legend_text(page, "Reports per km²")
        assert "Fisher\u2013Jenks natural breaks" in legend
        assert "suppressed (fewer than 10 reports)" in legend
        # The class ranges, each with its number of wards (after dark: some wards under 10).
        assert " to " in legend and "wards)" in legend

        suppressed = 'path.leaflet-interactive[stroke-dasharray="4 3"]'
        assert page.locator(suppressed).count() > 0
        assert painted_hatched(page, suppressed)
        hover_one(page, suppressed)
        tooltip = page.locator(".leaflet-tooltip")
        tooltip.wait_for()
        assert "fewer than 10 reports (suppressed)" in tooltip.inner_text()
        page.mouse.move(0, 0)

        assert serious_axe_violations(page) == []
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        page.wait_for_timeout(300)
        shot = shots / f"classes-summary-{width}x{height}.png"
        page.screenshot(path=str(shot))
        with Image.open(shot) as image:
            assert image.size == (width, height)
        assert page.problems == []


def test_the_choropleth_takes_another_scheme_and_refuses_an_unknown_one(
    browser: Any, live_server: str, seeded: None, shots: Path
) -> None:
    with watched_page(browser, live_server, width=1280, height=800) as page:
        # As a partner would: the "Map classes" field, not the URL.
        assert page.goto(f"{live_server}/maps/wards/summary").status == 200
        field = page.get_by_label("Map classes")
        assert field.input_value() == "fisher_jenks"
        field.select_option(label="Quantiles")
        page.get_by_role("button", name="Update map").click()
        page.wait_for_url("**/maps/wards/summary?classes=quantiles")
        page.locator("path.leaflet-interactive").first.wait_for()
        assert "Quantiles, " in legend_text(page, "Reports per km²")
        assert page.get_by_label("Map classes").input_value() == "quantiles"
        # The downloads and prints keep the choice.
        pdf = page.get_by_role("link", name="PDF", exact=True)
        assert "classes=quantiles" in (pdf.get_attribute("href") or "")
        page.screenshot(path=str(shots / "classes-summary-quantiles-1280x800.png"))

        response = page.goto(f"{live_server}/maps/wards/summary?classes=jenks")
        assert response.status == 422
        said = page.locator("body").inner_text()
        assert "unknown classification scheme 'jenks'" in said
        assert "fisher_jenks, jenks_caspall, quantiles, equal_interval" in said
        assert [p for p in page.problems if "422" not in p] == []


@pytest.mark.parametrize(("width", "height"), SIZES)
def test_the_heatmap_is_on_a_log_scale_and_hatches_suppressed_hexagons(
    browser: Any, live_server: str, clustered: None, shots: Path, width: int, height: int
) -> None:
    with watched_page(browser, live_server, width=width, height=height) as page:
        response = page.goto(f"{live_server}/maps/heatmap")
        assert response.status == 200
        heat = page.locator("img.leaflet-image-layer")
        heat.wait_for()
        assert heat.evaluate("img => img.complete && img.naturalWidth > 100")
        legend = legend_text(page, "Reports per km²")
        assert "Colour on a log scale" in legend
        assert "hexagons with fewer than 10 reports (suppressed)" in legend

        hatched = 'path.leaflet-interactive[stroke-dasharray="3 3"]'
        assert page.locator(hatched).count() > 0
        assert painted_hatched(page, hatched)
        hover_one(page, hatched)
        tooltip = page.locator(".leaflet-tooltip")
        tooltip.wait_for()
        assert "fewer than 10 reports in each hexagon here" in tooltip.inner_text()
        page.mouse.move(0, 0)

        assert serious_axe_violations(page) == []
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        page.wait_for_timeout(300)
        shot = shots / f"classes-heatmap-{width}x{height}.png"
        page.screenshot(path=str(shot))
        assert page.problems == []


def test_the_hot_spot_map_hatches_suppressed_hexagons(
    browser: Any, live_server: str, clustered: None, shots: Path
) -> None:
    with watched_page(browser, live_server, width=1280, height=800) as page:
        response = page.goto(f"{live_server}/maps/hotspots")
        assert response.status == 200
        page.locator("path.leaflet-interactive").first.wait_for()
        hatched = 'path.leaflet-interactive[stroke-dasharray="3 3"]'
        assert page.locator(hatched).count() > 0
        assert painted_hatched(page, hatched)
        assert "Suppressed: fewer than 10 reports" in legend_text(page, "Hot spots of reports")
        page.screenshot(path=str(shots / "classes-hotspots-1280x800.png"))
        assert page.problems == []
