"""The map pages' controls in a real headless Chromium, as a signed-in council partner uses them.

She changes the period and the category with the form, shares the URL, downloads what the map
shows, reads the map on a phone with the legend folded away, mistypes a month and finds her
way back; axe-core finds no serious or critical problem on any map page. Screenshots are kept
in /tmp/shots/controls-*.png for a person to look at.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from service.queries import demo
from service.settings import Settings
from tests.browser import watched_page
from tests.walks import ROUTE, walk_with_route

pytestmark = pytest.mark.browser

AXE = Path(__file__).parents[1] / "maps" / "vendor" / "node_modules" / "axe-core" / "axe.min.js"
SHOTS = Path("/tmp/shots")
BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
MAP_PAGES = ("/maps/hotspots", "/maps/heatmap", "/maps/wards/summary", "/maps/wards")


@pytest.fixture
def seeded(app_settings: Settings) -> None:
    engine = create_engine(app_settings.database_url or "")
    with Session(engine) as session, session.begin():
        demo.seed_reports(session, 3000, seed=21)
    engine.dispose()


def signed_in(page: Any, server: str, token: str) -> None:
    page.goto(f"{server}/login")
    page.get_by_label("Token").fill(token)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_text("Signed in as").wait_for()


@pytest.fixture
def partner(
    browser: Any, live_server: str, seeded: None, issue_token: Any
) -> Iterator[Any]:
    token = issue_token("partner", boroughs=["E09000022"], name="Lambeth Council")
    with watched_page(browser, live_server, width=1280, height=800) as page:
        signed_in(page, live_server, token)
        yield page


def query_of(url: str) -> list[tuple[str, str]]:
    return parse_qsl(urlsplit(url).query, keep_blank_values=True)


def shot(page: Any, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"controls-{name}.png"))


def test_a_partner_changes_period_and_category_and_the_url_says_so(
    partner: Any, live_server: str
) -> None:
    page = partner
    assert page.goto(f"{live_server}/maps/hotspots?crimes=true").status == 200
    panel = page.locator(".map-controls")
    panel.wait_for()
    about = page.locator(".map-about")
    assert "months" not in about.inner_text()

    panel.get_by_label("From month").fill("2025-01")
    panel.get_by_label("To month").fill("2026-12")
    panel.get_by_text("Categories (all)").click()
    panel.get_by_label("Poor or no street lighting").check()
    panel.get_by_label("Hexagon size").select_option("1000")
    with page.expect_navigation():
        panel.get_by_role("button", name="Update map").click()

    sent = query_of(page.url)
    # Blank fields (time of day, borough) are left out; the hidden crimes=true is kept.
    assert sorted(sent) == sorted(
        [
            ("crimes", "true"),
            ("month_from", "2025-01"),
            ("month_to", "2026-12"),
            ("category", "poor_lighting"),
            ("edge", "1000"),
        ]
    )
    page.locator("path.leaflet-interactive").first.wait_for()
    said = page.locator(".map-about").inner_text()
    assert "months January 2025 to December 2026" in said
    assert "categories Poor or no street lighting" in said
    assert "1000 m hexagons" in said
    # The form shows the new choice, so the next change starts from it.
    assert panel.get_by_label("From month").input_value() == "2025-01"
    assert panel.get_by_label("Hexagon size").input_value() == "1000"
    assert "Categories (1 chosen)" in panel.inner_text()

    # The same URL opened afresh (shared with a colleague) shows the same map.
    again = page.context.new_page()
    again.goto(page.url)
    assert "months January 2025 to December 2026" in again.locator(".map-about").inner_text()
    again.close()
    shot(page, "hotspots-1280")

    # By keyboard alone: Space ticks "After dark only", Tab reaches "Update map", Enter sends.
    dark = panel.get_by_label("After dark only")
    dark.focus()
    page.keyboard.press("Space")
    assert dark.is_checked()
    for _ in range(4):
        page.keyboard.press("Tab")
        if page.evaluate("() => document.activeElement.textContent") == "Update map":
            break
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert ("dark", "true") in query_of(page.url)
    assert "after dark only" in page.locator(".map-about").inner_text()
    assert page.problems == []


def test_the_downloads_carry_the_query_and_the_data_ones_answer(
    partner: Any, live_server: str
) -> None:
    page = partner
    for path, export, types in (
        ("/maps/hotspots", "/hotspots", {"geojson": "application/geo+json"}),
        ("/maps/wards/summary", "/wards/summary", {"geojson": "application/geo+json"}),
        ("/maps/heatmap", "/hotspots", {}),
    ):
        query = "month_from=2025-01&category=followed&dark=true"
        assert page.goto(f"{live_server}{path}?{query}").status == 200
        links = page.locator(".map-controls .mc-downloads a")
        found = {
            links.nth(n).inner_text(): links.nth(n).get_attribute("href")
            for n in range(links.count())
        }
        assert found == {
            "GeoJSON": f"{export}.geojson?{query}",
            "CSV": f"{export}.csv?{query}",
            "Wide CSV": f"{export}.csv?{query}&layout=wide",
            "GeoPackage": f"{export}.gpkg?{query}",
            "PNG": f"{path}.png?{query}",
            "PDF": f"{path}.pdf?{query}",
        }
        # The signed-in browser's own requests (her session cookie), as a click would make.
        expected = {"csv": "text/csv", "wide": "text/csv", **types}
        for fmt, content_type in expected.items():
            label = {"geojson": "GeoJSON", "wide": "Wide CSV"}.get(fmt, "CSV")
            answer = page.request.get(f"{live_server}{found[label]}")
            assert answer.status == 200, answer.text()
            assert answer.headers["content-type"].startswith(content_type)
            assert "attachment" in answer.headers.get("content-disposition", "")
        home = page.locator(".map-controls").get_by_role("link", name="Home")
        assert home.get_attribute("href") == "/"
    assert page.problems == []


@pytest.mark.parametrize("path", MAP_PAGES)
def test_on_a_phone_the_legend_and_panel_are_folded_and_the_map_shows(
    browser: Any, live_server: str, seeded: None, path: str
) -> None:
    with watched_page(browser, live_server, width=390, height=844) as page:
        assert page.goto(f"{live_server}{path}").status == 200
        page.locator(".map-legend").first.wait_for()
        folds = page.locator("details.map-fold")
        # The controls, the legends (the hot-spot map's emerging hot spots have one of their
        # own) and the panel saying what is shown (the ward map has none).
        legends = page.locator(".map-legend").count()
        assert legends == (2 if path == "/maps/hotspots" else 1)
        assert folds.count() == legends + (1 if path == "/maps/wards" else 2)
        assert folds.evaluate_all("all => all.filter(d => d.open).length") == 0
        map_box = page.locator(".folium-map").bounding_box()
        assert map_box["width"] == 390 and map_box["height"] >= 800
        # Every box on the map together covers under a quarter of the screen.
        covered = sum(
            box["width"] * box["height"]
            for name in ("map-controls", "map-legend", "map-about", "map-summary")
            for box in (element.bounding_box() for element in page.locator(f".{name}").all())
            if box is not None
        )
        assert covered < 0.25 * 390 * 844
        shot(page, f"{path.strip('/').replace('/', '-')}-390")

        # Opened, the legend shows its entries, and the panel its form, above the map.
        page.locator(".map-legend summary").first.click()
        assert page.locator(".map-legend li, .map-legend .map-ramp-bar").first.is_visible()
        page.locator(".map-controls summary").first.click()
        assert page.locator(".map-controls").get_by_role("button", name="Update map").is_visible()
        # One box at a time on a phone: opening the panel folded the legend again. The
        # browser fires <details>' toggle event as a task after the click, so wait for it.
        page.wait_for_function(
            "() => document.querySelectorAll('details.map-fold[open]').length === 1"
        )
        assert folds.evaluate_all("all => all.filter(d => d.open).length") == 1
        assert not page.locator(".map-legend li, .map-legend .map-ramp-bar").first.is_visible()
        shot(page, f"{path.strip('/').replace('/', '-')}-390-open")
        assert page.problems == []


@pytest.mark.parametrize(
    ("query", "field", "message"),
    [
        ("month_from=2026-13", "month_from", "month_from must be a month as YYYY-MM"),
        ("edge=7", "edge", "hexagon edge 7 m is not offered"),
        ("time_band=x", "time_band", "time_band must be one of"),
    ],
)
def test_a_bad_value_shows_a_page_saying_what_to_fix_with_a_way_back(
    browser: Any, live_server: str, seeded: None, query: str, field: str, message: str
) -> None:
    with watched_page(browser, live_server, width=1280, height=800) as page:
        answer = page.goto(f"{live_server}/maps/hotspots?crimes=true&{query}")
        assert answer.status == 422
        assert answer.headers["content-type"].startswith("text/html")
        assert page.get_by_role("heading", level=1).inner_text() == "Some values need fixing"
        assert message in page.locator("#problem").inner_text()
        bad = page.get_by_label(f"{field} (needs fixing)")
        assert bad.get_attribute("aria-invalid") == "true"
        assert page.get_by_label("crimes").get_attribute("aria-invalid") is None
        assert page.get_by_role("link", name="Back to the start page").get_attribute("href") == "/"
        if field == "month_from":
            shot(page, "error-1280")
        # Fixed in the form, the map opens with the rest of the query as it was.
        bad.fill({"month_from": "2026-01", "edge": "250", "time_band": "evening"}[field])
        with page.expect_navigation():
            page.get_by_role("button", name="Try again").click()
        assert "crimes=true" in page.url
        page.locator(".map-controls").wait_for()
        # The one failure is the page answering 422 (Chromium logs that status in the console).
        assert page.problems[0] == f"HTTP 422: {live_server}/maps/hotspots?crimes=true&{query}"
        assert page.problems[1:] == [
            "console error: Failed to load resource: the server responded with a status of 422 "
            "(Unprocessable Entity)"
        ]


def test_api_clients_still_get_problem_json(client: TestClient) -> None:
    for accept in ("*/*", "application/json", "application/problem+json"):
        answer = client.get("/maps/hotspots?edge=7", headers={"Accept": accept})
        assert answer.status_code == 422
        assert answer.headers["content-type"] == "application/problem+json"
        assert "hexagon edge 7 m is not offered" in answer.json()["detail"]
    page = client.get("/maps/hotspots?edge=7", headers={"Accept": BROWSER_ACCEPT})
    assert page.status_code == 422 and page.headers["content-type"].startswith("text/html")
    assert "hexagon edge 7 m is not offered" in page.text
    # An API path opened in a browser is an error page too; QGIS's OGC paths never are.
    for path, html in (("/hotspots.csv?crs=3857", True), ("/ogc/collections/nowhere", False)):
        answer = client.get(path, headers={"Accept": BROWSER_ACCEPT})
        assert answer.status_code in {400, 404, 422}
        assert answer.headers["content-type"].startswith("text/html") is html, path
    # A mistyped address is a page with the way home, not JSON.
    lost = client.get("/maps/hotspot", headers={"Accept": BROWSER_ACCEPT})
    assert lost.status_code == 404 and lost.headers["content-type"].startswith("text/html")
    assert "there is no page at /maps/hotspot" in lost.text and 'href="/"' in lost.text


@pytest.mark.parametrize(("width", "height"), [(1280, 800), (390, 844)])
def test_axe_finds_nothing_serious_on_the_map_pages(
    browser: Any, live_server: str, seeded: None, issue_token: Any, width: int, height: int
) -> None:
    if not AXE.is_file():
        pytest.fail(
            f"axe-core is not installed at {AXE}: run `npm ci --prefix maps/vendor` (make does)",
            pytrace=False,
        )
    token = issue_token("partner", boroughs=["E09000022"], name="Lambeth Council")
    with watched_page(browser, live_server, width=width, height=height) as page:
        signed_in(page, live_server, token)
        found: dict[str, list[str]] = {}
        for path in (*MAP_PAGES, "/maps/hotspots?month_from=2026-13"):
            page.goto(f"{live_server}{path}")
            page.locator(".map-controls, main").first.wait_for()
            if width > 700 and path in MAP_PAGES and path != "/maps/wards":
                shot(page, f"{path.strip('/').replace('/', '-')}-{width}")
                # Checked with the categories open: every box and label in view.
                page.locator(".map-controls summary", has_text="Categories").click()
                shot(page, f"{path.strip('/').replace('/', '-')}-{width}-categories")
            page.add_script_tag(path=str(AXE))
            violations = page.evaluate("() => axe.run(document).then(r => r.violations)")
            found[path] = [
                f"{v['id']} ({v['impact']}): {v['help']} — "
                + "; ".join(n["html"][:120] for n in v["nodes"][:3])
                for v in violations
                if v["impact"] in {"serious", "critical"}
            ]
        assert found == {path: [] for path in found}


@pytest.mark.parametrize(("width", "height"), [(1280, 800), (390, 844)])
def test_the_walk_map_route_editor_and_briefing_lead_back_and_fold_their_legends(
    browser: Any,
    live_server: str,
    client: TestClient,
    people: dict[str, dict[str, str]],
    width: int,
    height: int,
) -> None:
    walk = walk_with_route(client, people)
    feature = {
        "type": "Feature",
        "geometry": ROUTE,
        "properties": {"planned_start": "2026-12-21T17:00:00+00:00"},
    }
    briefing = client.post("/maps/routes/briefing", json=feature, headers=people["waterloo"])
    assert briefing.status_code == 200, briefing.text
    context = browser.new_context(
        viewport={"width": width, "height": height}, extra_http_headers=people["waterloo"]
    )
    page = context.new_page()
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.add_init_script(path=str(AXE))
    found: dict[str, list[str]] = {}
    for path in (f"/maps/walks/{walk['id']}", f"/walks/{walk['id']}/route/edit", "briefing"):
        if path == "briefing":
            # The briefing answers a POST: its page is put into a page of this server.
            page.goto(f"{live_server}/")
            page.set_content(briefing.text, wait_until="load")
        else:
            assert page.goto(f"{live_server}{path}").status == 200
        # The route editor and the walk's map lead back to its walk's page; the briefing to
        # the start page.
        of_walk = path != "briefing"
        name, href = ("The walk", f"/work/walks/{walk['id']}") if of_walk else ("Home", "/")
        back = page.locator(".map-back").get_by_role("link", name=name)
        back.wait_for()
        assert back.get_attribute("href") == href and back.is_visible()
        if path != f"/walks/{walk['id']}/route/edit":
            folds = page.locator(".map-legend details.map-fold")
            assert folds.count() == 2  # the stretches' colours and the markers
            opened = folds.evaluate_all("all => all.filter(d => d.open).length")
            assert opened == (0 if width < 700 else 2)
        name = {"briefing": "briefing"}.get(path, "walk" if path.startswith("/maps/") else "edit")
        shot(page, f"{name}-{width}")
        violations = page.evaluate("() => axe.run(document).then(r => r.violations)")
        found[path] = [
            f"{v['id']} ({v['impact']}): {v['help']}"
            for v in violations
            if v["impact"] in {"serious", "critical"}
        ]
    assert found == {path: [] for path in found}
    assert problems == []
    context.close()
