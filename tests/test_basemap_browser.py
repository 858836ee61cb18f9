"""The offline base map in the real headless Chromium: streets and their names drawn, offline.

The bundled SE1 extracts (``data/osm``) are loaded with ``walktalk osm load`` into a fresh
database and the pages are served by uvicorn with ``WALKTALK_TILES=local``. The map is moved
to St George's Road by Elephant & Castle, the part of SE1 (beside Waterloo) the extract covers,
at zoom 16. Streets are checked as pixels on the canvas, names through the base map's record
of what it drew, and every request must stay on the server. Screenshots go to /tmp/shots.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from service.queries import demo, imports
from service.settings import Settings
from tests.browser import watched_page
from tests.test_api_hotspots import CRIMES
from tests.walks import walk_with_route

pytestmark = pytest.mark.browser

OSM = sorted((Path(__file__).parents[1] / "data" / "osm").glob("*.osm"))
AXE = Path(__file__).parents[1] / "maps" / "vendor" / "node_modules" / "axe-core" / "axe.min.js"
SHOTS = Path("/tmp/shots")
ST_GEORGES_ROAD = (51.4960, -0.1050)

# Every map page, as a public visitor sees it (the walk pages need a walk; see below).
PUBLIC_PAGES = ["/maps/hotspots", "/maps/heatmap", "/maps/wards/summary", "/maps/wards"]


@pytest.fixture
def app_settings(fresh_db: str, settings_for: Callable[..., Settings]) -> Settings:
    return settings_for(fresh_db, tiles="local")


@pytest.fixture
def loaded(walktalk: Callable[..., tuple[int, str, str]], app_settings: Settings) -> None:
    code, out, err = walktalk("osm", "load", *map(str, OSM))
    assert code == 0, err
    assert "st_georges_cycletrack.osm: 246 streets" in out


def open_at(
    page: Any, url: str, *, zoom: int = 16, at: tuple[float, float] = ST_GEORGES_ROAD
) -> None:
    """Open ``url``, move its map to ``at`` and wait until the base map has drawn every tile."""
    response = page.goto(url)
    assert response.status == 200, url
    page.wait_for_function("() => window.walktalkBasemap && window.walktalkBasemap.layer")
    page.evaluate(
        """([lat, lon, zoom]) => {
            const name = Object.keys(window).find(k => /^map_[0-9a-f]+$/.test(k));
            window.walktalkBasemap.labels = [];
            window[name].setView([lat, lon], zoom, {animate: false});
        }""",
        [at[0], at[1], zoom],
    )
    page.wait_for_timeout(100)  # the new view's tiles are asked for on the next frame
    page.wait_for_function("() => window.walktalkBasemap.drawn", timeout=20_000)


# Counts, over the canvases of one pane, of pixels drawn opaque and white (street fill), and
# of pixels drawn at all. The canvases hold only what the base map drew: the page's background
# colour is CSS behind them, and overlays and controls are other elements.
PIXELS = """(pane) => {
    let white = 0, drawn = 0, dark = 0;
    for (const canvas of document.querySelectorAll(`.leaflet-${pane}-pane canvas`)) {
        const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
        for (let i = 0; i < data.length; i += 4) {
            if (data[i + 3] < 200) continue;
            drawn++;
            if (data[i] >= 250 && data[i + 1] >= 250 && data[i + 2] >= 250) white++;
            if (data[i] < 80 && data[i + 1] < 80 && data[i + 2] < 80) dark++;
        }
    }
    return {white, drawn, dark};
}"""


@pytest.fixture
def page(browser: Any, live_server: str, loaded: None) -> Iterator[Any]:
    with watched_page(browser, live_server, width=1280, height=800) as opened:
        yield opened


def test_the_ward_map_draws_streets_and_their_names_offline(page: Any, live_server: str) -> None:
    open_at(page, f"{live_server}/maps/wards")
    SHOTS.mkdir(exist_ok=True)
    page.locator(".folium-map").screenshot(path=str(SHOTS / "basemap-wards-1280.png"))
    labels = page.evaluate("() => window.walktalkBasemap.labels.map(l => l.name)")
    assert {"St George's Road", "Lambeth Road", "Elliott's Row", "Oswin Street"} <= set(labels)
    # Once per tile each: a name is never drawn twice on one tile.
    per_tile = page.evaluate(
        "() => window.walktalkBasemap.labels.map(l => `${l.z}/${l.x}/${l.y}/${l.name}`)"
    )
    assert len(per_tile) == len(set(per_tile))
    streets = page.evaluate(PIXELS, "basemap")
    # White street fill over thousands of pixels (4,600 here), and parks, casings and paths besides.
    assert streets["white"] > 2_000 and streets["drawn"] > 2 * streets["white"], streets
    names = page.evaluate(PIXELS, "basemap-names")
    # Dark letters in white halos, in their own pane above the overlays.
    assert names["dark"] > 500 and names["white"] > names["dark"], names
    credit = page.locator(".leaflet-control-attribution").inner_text()
    assert "OpenStreetMap contributors (ODbL)" in credit
    tiles = page.evaluate(
        "() => performance.getEntriesByType('resource').map(e => e.name)"
        ".filter(n => n.includes('/tiles/'))"
    )
    assert tiles and all(t.startswith(f"{live_server}/tiles/16/") for t in tiles[-4:])

    # Zoomed out to a neighbourhood: streets still drawn, names left out (they would crowd).
    open_at(page, f"{live_server}/maps/wards", zoom=14)
    page.locator(".folium-map").screenshot(path=str(SHOTS / "basemap-wards-z14-1280.png"))
    assert page.evaluate("() => window.walktalkBasemap.labels.length") == 0
    assert page.evaluate(PIXELS, "basemap")["white"] > 200
    assert page.problems == []


def test_far_from_the_extract_the_base_map_is_only_boundaries(page: Any, live_server: str) -> None:
    open_at(page, f"{live_server}/maps/wards", at=(51.60, -0.30))
    assert page.evaluate("() => window.walktalkBasemap.labels.length") == 0
    assert page.problems == []


@pytest.mark.parametrize("path", PUBLIC_PAGES)
def test_every_public_map_page_draws_the_base_map_under_its_overlays(
    page: Any, live_server: str, path: str
) -> None:
    open_at(page, f"{live_server}{path}")
    assert "St George's Road" in page.evaluate(
        "() => window.walktalkBasemap.labels.map(l => l.name)"
    )
    panes = page.evaluate(
        """() => {
            const z = name => Number(getComputedStyle(document.querySelector(
                '.leaflet-' + name + '-pane')).zIndex);
            return [z('basemap'), z('overlay'), z('basemap-names'), z('marker')];
        }"""
    )
    streets, overlays, names, markers = panes
    assert streets < overlays < names < markers
    name = path.strip("/").replace("/", "-")
    page.screenshot(path=str(SHOTS / f"basemap-{name}-1280.png"))
    assert page.problems == []


@pytest.fixture
def reports(app_settings: Settings) -> None:
    """Synthetic reports, so that the hot-spot map has coloured hexagons over the streets."""
    engine = create_engine(app_settings.database_url or "")
    with Session(engine) as session, session.begin():
        imports.import_crimes(session, CRIMES, imported_by="tests")
        demo.seed_reports(session, 3000, seed=21)
    engine.dispose()


def test_on_a_phone_the_names_are_drawn_and_axe_finds_nothing_serious(
    browser: Any, live_server: str, loaded: None, reports: None
) -> None:
    if not AXE.is_file():
        pytest.fail(f"axe-core is not installed at {AXE}: run `npm ci --prefix maps/vendor`")
    with watched_page(browser, live_server, width=390, height=844) as phone:
        open_at(phone, f"{live_server}/maps/hotspots", zoom=17)
        assert phone.evaluate("() => window.walktalkBasemap.labels.length") > 0
        # A hexagon over St George's Road, in the middle of the map: the streets show through
        # it and the names are drawn above it.
        under_centre = phone.evaluate(
            """() => {
                const box = document.querySelector('.folium-map').getBoundingClientRect();
                return document.elementsFromPoint(box.x + box.width / 2, box.y + box.height / 2)
                    .filter(e => e.matches('.leaflet-overlay-pane path'))
                    .map(e => e.getAttribute('fill'));
            }"""
        )
        assert under_centre, "no hexagon over St George's Road"
        SHOTS.mkdir(exist_ok=True)
        phone.screenshot(path=str(SHOTS / "basemap-hotspots-390.png"))
        phone.add_script_tag(path=str(AXE))
        found = phone.evaluate("() => axe.run(document).then(r => r.violations)")
        serious = [v["id"] for v in found if v["impact"] in ("serious", "critical")]
        assert serious == []
        assert phone.problems == []


def test_with_no_base_map_the_map_says_so_and_how_to_set_one(
    browser: Any, fresh_db: str, settings_for: Callable[..., Settings]
) -> None:
    from service.app import create_app
    from tests.conftest import serving

    with (
        serving(create_app(settings_for(fresh_db, tiles="none"))) as server,
        watched_page(browser, server) as opened,
    ):
        assert opened.goto(f"{server}/maps/wards").status == 200
        notice = opened.locator(".basemap-missing")
        notice.wait_for()
        assert "No base map" in notice.inner_text()
        assert "WALKTALK_TILES=local" in notice.inner_text()
        assert opened.evaluate("() => window.walktalkBasemap === undefined")
        assert opened.problems == []


def test_before_any_osm_load_the_map_says_streets_are_missing(
    browser: Any, fresh_db: str, settings_for: Callable[..., Settings]
) -> None:
    from service.app import create_app
    from tests.conftest import serving

    with (
        serving(create_app(settings_for(fresh_db, tiles="local"))) as server,
        watched_page(browser, server) as opened,
    ):
        assert opened.goto(f"{server}/maps/wards").status == 200
        notice = opened.locator(".basemap-missing")
        notice.wait_for()
        assert "No streets loaded yet" in notice.inner_text()
        assert "walktalk osm load" in notice.inner_text()
        # The service's own tiles still draw the ward lines.
        opened.wait_for_function("() => window.walktalkBasemap && window.walktalkBasemap.layer")
        assert opened.problems == []


def test_the_report_form_draws_the_same_streets(page: Any, live_server: str) -> None:
    page.goto(f"{live_server}/report")
    page.wait_for_function("() => window.walktalkBasemap && window.walktalkBasemap.layer")
    page.evaluate(
        """([lat, lon]) => {
            const map = window.walktalkBasemap.layer._map;
            window.walktalkBasemap.labels = [];
            map.setView([lat, lon], 17, {animate: false});
        }""",
        list(ST_GEORGES_ROAD),
    )
    page.wait_for_timeout(100)
    page.wait_for_function("() => window.walktalkBasemap.drawn", timeout=20_000)
    assert "St George's Road" in page.evaluate(
        "() => window.walktalkBasemap.labels.map(l => l.name)"
    )
    assert page.problems == []


def test_the_walk_pages_draw_the_base_map_for_a_signed_in_officer(
    browser: Any, live_server: str, loaded: None, client: Any, people: dict
) -> None:
    walk = walk_with_route(client, people)
    token = people["waterloo"]["Authorization"].removeprefix("Bearer ")
    with watched_page(browser, live_server, width=1280, height=800) as page:
        page.goto(f"{live_server}/login")
        page.get_by_label("Token").fill(token)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(lambda url: "/login" not in url)
        for path in (
            f"/walks/{walk['id']}/route/edit",
            f"/maps/walks/{walk['id']}",
            "/maps/routes/briefing",
        ):
            open_at(page, f"{live_server}{path}")
            labels = page.evaluate("() => window.walktalkBasemap.labels.map(l => l.name)")
            assert "St George's Road" in labels, path
            name = "walk" if path.startswith("/maps/walks") else path.strip("/").split("/")[-1]
            page.screenshot(path=str(SHOTS / f"basemap-{name}-1280.png"))
        assert page.problems == []

    # The live walk page (not a Folium page) draws the same base map on the officer's phone.
    with watched_page(browser, live_server, width=390, height=844) as phone:
        phone.context.grant_permissions(["geolocation"])
        phone.context.set_geolocation({"longitude": -0.105, "latitude": 51.496, "accuracy": 5})
        phone.goto(f"{live_server}/login")
        phone.get_by_label("Token").fill(token)
        phone.get_by_role("button", name="Sign in").click()
        phone.wait_for_url(lambda url: "/login" not in url)
        phone.goto(f"{live_server}/walks/{walk['id']}/live")
        phone.wait_for_function("() => window.walktalkBasemap && window.walktalkBasemap.layer")
        phone.evaluate(
            """([lat, lon]) => {
                window.walktalkBasemap.labels = [];
                window.walktalkBasemap.layer._map.setView([lat, lon], 17, {animate: false});
            }""",
            list(ST_GEORGES_ROAD),
        )
        phone.wait_for_timeout(100)
        phone.wait_for_function("() => window.walktalkBasemap.drawn", timeout=20_000)
        names = phone.evaluate("() => window.walktalkBasemap.labels.map(l => l.name)")
        assert "St George's Road" in names
        phone.screenshot(path=str(SHOTS / "basemap-live-390.png"))
        assert phone.problems == []
