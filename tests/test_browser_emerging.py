"""The hot-spot map's emerging hot-spot layer in a real headless Chromium, with axe-core.

The database holds the emerging tests' cube (eight quarters of 2024 and 2025: a steady
background, a cluster by Waterloo growing every quarter, one in Bermondsey new in the last);
the page is asked for that period.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from geo.emerging import NO_PATTERN, category_label
from maps.emerging import CATEGORY_COLOURS, EMERGING_LAYER
from tests.browser import watched_page
from tests.test_api_emerging import PERIOD, seeded  # noqa: F401 (the fixture)

pytestmark = pytest.mark.browser

AXE = Path(__file__).parents[1] / "maps" / "vendor" / "node_modules" / "axe-core" / "axe.min.js"
QUERY = f"month_from={PERIOD['month_from']}&month_to={PERIOD['month_to']}"


@pytest.fixture
def page(browser: Any, live_server: str, seeded: None) -> Iterator[Any]:  # noqa: F811
    with watched_page(browser, live_server, width=1280, height=860) as opened:
        yield opened


def test_the_emerging_layer_is_off_at_first_and_named_in_the_legend(
    page: Any, live_server: str, tmp_path: Path
) -> None:
    # What the same (anonymous) caller gets as data: the page must draw just that.
    answer = page.request.get(f"{live_server}/hotspots/emerging?{QUERY}").json()
    found = {f["properties"]["category"] for f in answer["features"]} - {None, NO_PATTERN}
    assert found, "the seeded cube should hold hot spots"
    response = page.goto(f"{live_server}/maps/hotspots?{QUERY}")
    assert response.status == 200
    page.locator("path.leaflet-interactive").first.wait_for()
    layers = page.locator(".leaflet-control-layers label")
    assert EMERGING_LAYER in [label.strip() for label in layers.all_inner_texts()]
    toggle = layers.filter(has_text=EMERGING_LAYER).locator("input")
    assert not toggle.is_checked()
    colours = ", ".join(
        f'path.leaflet-interactive[fill="{CATEGORY_COLOURS[c]}"]' for c in sorted(found)
    )
    assert page.locator(colours).count() == 0

    legend = page.locator(".map-legend", has_text="Emerging hot spots").inner_text()
    for category in found:
        assert category_label(category) in legend
    assert "No pattern detected" in legend and "fewer than 10 reports in all" in legend
    assert "2024-Q1 to 2025-Q4" in legend
    about = page.locator(".map-about")
    about.get_by_text("How these counts were made").click()
    assert "Mann-Kendall" in about.inner_text()

    toggle.check()
    drawn = page.locator(colours)
    drawn.first.wait_for()
    assert drawn.count() == sum(f["properties"]["category"] in found for f in answer["features"])
    box = drawn.first.bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    tooltip = page.locator(".leaflet-tooltip", has_text="Emerging hot spot")
    tooltip.wait_for()
    said = tooltip.inner_text()
    assert any(category_label(c) in said for c in found) and "of 8 quarters" in said
    page.screenshot(path=str(tmp_path / "emerging.png"))
    assert page.problems == []


def test_axe_finds_nothing_serious_with_the_layer_on(page: Any, live_server: str) -> None:
    if not AXE.is_file():
        pytest.fail(
            f"axe-core is not installed at {AXE}: run `npm ci --prefix maps/vendor` (make does)",
            pytrace=False,
        )
    page.goto(f"{live_server}/maps/hotspots?{QUERY}")
    page.locator("path.leaflet-interactive").first.wait_for()
    page.locator(".leaflet-control-layers label", has_text=EMERGING_LAYER).locator("input").check()
    page.add_script_tag(path=str(AXE))
    violations = page.evaluate("() => axe.run(document).then(r => r.violations)")
    serious = [
        f"{v['id']} ({v['impact']}): {v['help']}"
        for v in violations
        if v["impact"] in {"serious", "critical"}
    ]
    assert serious == []
    assert page.problems == []
