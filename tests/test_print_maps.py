"""Map pages printed to A4 PNG and PDF (issue 10, item 8), opened as a reader would open them.

The prints are drawn by the real headless Chromium on a fresh database with reports in it; the
PDFs are read with pypdf (page size, text), the PNGs with Pillow (size, colours). Copies go
to /tmp/shots/print-* for a person to look at.
"""

from __future__ import annotations

import inspect
import io
import re
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from PIL import Image
from pypdf import PdfReader
from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from maps.assets import VENDOR_DIR
from maps.printing import SHEET_PX, MapSheet, print_layout
from service.app import create_app
from service.printing import ORIGIN, InProcessRequests, Printer, database_tiles
from service.queries import demo
from service.settings import Settings
from tests.walks import WATERLOO, walk_with_route

pytestmark = pytest.mark.browser

LAMBETH = "E09000022"
SHOTS = Path("/tmp/shots")
A4_LANDSCAPE_PT = (841.89, 595.28)
#: The words every printed aggregate map carries, wherever the layout puts them.
ATTRIBUTION = "Open Government Licence"
METHOD = "not a crime"
PERIOD = "Period:"


@pytest.fixture
def reports(app_settings: Settings) -> None:
    """1,500 synthetic reports in Lambeth and Southwark, committed for the app's engine."""
    engine = create_engine(app_settings.database_url or "")
    with Session(engine) as session, session.begin():
        demo.seed_reports(session, 1500, seed=10)
    engine.dispose()


@pytest.fixture
def partner(issue_token: Callable[..., str]) -> dict[str, str]:
    """A Lambeth council partner's headers."""
    return {"Authorization": f"Bearer {issue_token('partner', boroughs=[LAMBETH])}"}


def printed(client: TestClient, path: str, headers: dict[str, str], **params: Any) -> bytes:
    """GET a print, check it is a download of the right type, keep a copy; its bytes."""
    started = time.perf_counter()
    answer = client.get(path, headers=headers, params=params)
    took = time.perf_counter() - started
    assert answer.status_code == 200, answer.text
    fmt = path.rsplit(".", 1)[1]
    assert answer.headers["content-type"] == {"png": "image/png", "pdf": "application/pdf"}[fmt]
    assert answer.headers["content-disposition"].startswith("attachment; filename=")
    assert answer.headers["content-disposition"].endswith(f'.{fmt}"')
    SHOTS.mkdir(exist_ok=True)
    name = path.strip("/").replace("/", "-").replace("maps-", "print-")
    (SHOTS / name).write_bytes(answer.content)
    print(f"{path}: {took:.2f} s, {len(answer.content):,} bytes")
    return answer.content


def pdf_text(body: bytes) -> tuple[PdfReader, str]:
    """The PDF and the text of its pages, with runs of spaces and line ends made one space."""
    reader = PdfReader(io.BytesIO(body))
    words = " ".join(page.extract_text() for page in reader.pages)
    return reader, " ".join(words.split())


def assert_one_a4_landscape_page(reader: PdfReader) -> None:
    assert len(reader.pages) == 1
    box = reader.pages[0].mediabox
    assert float(box.width) == pytest.approx(A4_LANDSCAPE_PT[0], abs=1)
    assert float(box.height) == pytest.approx(A4_LANDSCAPE_PT[1], abs=1)


def assert_a4_picture_of_a_map(body: bytes, *, coloured: float = 0.0) -> np.ndarray:
    """The PNG's pixels, after checking it is an A4 sheet with a drawn map on it.

    ``coloured`` is the least share of the map's area in strong colours (choropleth classes).
    """
    image = Image.open(io.BytesIO(body))
    assert image.format == "PNG"
    width, height = image.size
    assert width >= 1700
    assert width / height == pytest.approx(2**0.5, rel=0.01)
    # The map's frame: left two thirds of the sheet, under the header.
    pixels = np.asarray(image.convert("RGB"), dtype=int)
    frame = pixels[height // 6 : height * 9 // 10, width // 20 : width * 2 // 3]
    colours = {tuple(p) for p in frame[::3, ::3].reshape(-1, 3)}
    assert len(colours) > 100, f"{len(colours)} colours: the map looks blank"
    # Hexagons or wards cover much of it: not Leaflet's empty grey (#dddddd) nor white.
    drawn = (np.abs(frame - 221).max(axis=2) > 8) & (frame.min(axis=2) < 250)
    assert drawn.mean() > 0.15, f"only {drawn.mean():.0%} of the map is drawn"
    strong = (frame.max(axis=2) - frame.min(axis=2)) > 40
    assert strong.mean() >= coloured, f"only {strong.mean():.1%} of the map is coloured"
    return pixels


# --- the hot-spot map and the ward summary, as a partner prints them -------------------------


def test_the_hot_spot_map_prints_as_one_a4_pdf_page_that_says_what_it_shows(
    client: TestClient, reports: None, partner: dict[str, str]
) -> None:
    reader, words = pdf_text(
        printed(client, "/maps/hotspots.pdf", partner, month_from="2025-01", dark="true")
    )
    assert_one_a4_landscape_page(reader)
    assert "Hot spots of unsafe-place reports, 500 m hexagons" in words
    # The period in words, and the filters.
    assert "Period: January 2025 to" in words
    assert "after dark only" in words
    assert "Lambeth (E09000022)" in words
    # The legend's words, moved from the map into the panel.
    assert "Hot spots of reports (Getis-Ord Gi*)" in words
    assert "Suppressed: fewer than 10 reports" in words
    assert "Hot spot, 99% confidence" in words or "99 % confidence" in words
    # North arrow, scale bar, credit, method note, when it was printed.
    assert " N " in f" {words} "
    assert re.search(r"\b\d+ (m|km)\b", words), "no scale bar label"
    assert ATTRIBUTION in words
    assert METHOD in words and "Disclosure control" in words
    assert "Printed " in words


def test_the_hot_spot_map_prints_as_an_a4_png_of_the_map(
    client: TestClient, reports: None, partner: dict[str, str]
) -> None:
    assert_a4_picture_of_a_map(printed(client, "/maps/hotspots.png", partner, edge=1000))


@pytest.mark.parametrize("fmt", ["pdf", "png"])
def test_the_ward_summary_prints_for_a_partner(
    client: TestClient, reports: None, partner: dict[str, str], fmt: str
) -> None:
    if fmt == "png":
        # Every ward of Lambeth with ten or more reports is filled by its class.
        assert_a4_picture_of_a_map(
            printed(client, "/maps/wards/summary.png", partner), coloured=0.2
        )
        return
    body = printed(client, "/maps/wards/summary.pdf", partner, category="poor_lighting")
    reader, words = pdf_text(body)
    assert_one_a4_landscape_page(reader)
    assert "Ward summary: unsafe-place reports by ward" in words
    assert PERIOD in words and "Poor or no street lighting" in words
    assert "Reports per km²" in words or "Reports per km2" in words
    assert "Suppressed" in words or "suppressed" in words
    assert ATTRIBUTION in words and METHOD in words
    assert " N " in f" {words} "


def test_the_heatmap_and_the_ward_map_print_too(
    client: TestClient, reports: None, partner: dict[str, str]
) -> None:
    _, heat = pdf_text(printed(client, "/maps/heatmap.pdf", partner))
    assert "Heatmap of unsafe-place reports" in heat and PERIOD in heat
    assert "Gaussian kernel density" in heat and ATTRIBUTION in heat
    reader, wards = pdf_text(printed(client, "/maps/wards.pdf", partner, borough=LAMBETH))
    assert_one_a4_landscape_page(reader)
    assert "Wards of the" in wards and "Boundaries:" in wards and "Lambeth" in wards
    assert "No reports are counted on this map." in wards and ATTRIBUTION in wards


# --- the walk map: only for those who may see the page, as they see it ------------------------


def test_the_walk_map_prints_only_for_officers_and_as_their_page_shows_it(
    client: TestClient, people: dict[str, dict[str, str]]
) -> None:
    walk = walk_with_route(client, people)
    path = f"/maps/walks/{walk['id']}.pdf"

    public = client.get(path, follow_redirects=False)
    assert public.status_code == 303
    assert public.headers["location"] == f"/login?next={path}"
    partner = client.get(path, headers=people["partner"])
    assert partner.status_code == 403
    assert partner.headers["content-type"] == "application/problem+json"

    _, own = pdf_text(printed(client, path, people["waterloo"]))
    assert "Walk route and what was reported along it" in own
    assert "within 50 m of the full route" in own
    assert "Route trimmed" not in own
    # An officer of another ward prints what her page shows: the trimmed route, said so.
    _, other = pdf_text(printed(client, path, people["bankside"], within=100))
    assert "within 100 m of the trimmed route" in other
    assert "Route trimmed: both ends are hidden for officers of other wards." in other
    assert WATERLOO not in other or "Waterloo" in other  # ward names, never more


# --- refusals -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "params", "words"),
    [
        ("/maps/hotspots.pdf", {"month_from": "2026-13"}, "month_from must be a month"),
        ("/maps/wards/summary.png", {"category": "ghosts"}, "unknown category ghosts"),
        ("/maps/heatmap.pdf", {"edge": 333}, "333"),
        ("/maps/hotspots.gif", {}, "png"),
    ],
)
def test_bad_values_are_refused_before_anything_is_drawn(
    client: TestClient, partner: dict[str, str], path: str, params: dict[str, Any], words: str
) -> None:
    answer = client.get(path, headers=partner, params=params)
    assert 400 <= answer.status_code < 500, answer.text
    assert words in answer.text


def test_a_missing_chromium_is_a_503_that_says_what_to_install(
    client: TestClient, partner: dict[str, str]
) -> None:
    client.app.state.printer = Printer(Path("/nonexistent/chromium"))  # type: ignore[attr-defined]
    answer = client.get("/maps/wards.pdf", headers=partner)
    assert answer.status_code == 503
    assert answer.headers["content-type"] == "application/problem+json"
    detail = answer.json()["detail"]
    assert "/nonexistent/chromium" in detail and "apt-get install chromium" in detail


# --- the contract: each print takes what its page takes -------------------------------------

PAGES = {
    "/maps/wards": "/maps/wards.{fmt}",
    "/maps/wards/summary": "/maps/wards/summary.{fmt}",
    "/maps/hotspots": "/maps/hotspots.{fmt}",
    "/maps/heatmap": "/maps/heatmap.{fmt}",
    "/maps/lighting": "/maps/lighting.{fmt}",
    "/maps/walks/{walk_id}": "/maps/walks/{walk_id}.{fmt}",
}


def _routes(routes: Sequence[Any]) -> Iterator[Any]:
    # Newer FastAPI keeps an included router as one node wrapping it (as tests/test_api_roles).
    for route in routes:
        inner = getattr(route, "original_router", None)
        yield from _routes(inner.routes) if inner is not None else (route,)


def _query_names(route: APIRoute) -> set[str]:
    names: set[str] = set()
    pending = [route.dependant]
    while pending:
        dependant = pending.pop()
        names.update(p.alias for p in dependant.query_params)
        pending.extend(dependant.dependencies)
    return names


def test_every_map_page_has_a_print_taking_the_same_query(client: TestClient) -> None:
    ordered = [r for r in _routes(client.app.router.routes) if isinstance(r, APIRoute)]  # type: ignore[attr-defined]
    routes = {r.path: r for r in ordered}
    for page, print_path in PAGES.items():
        assert print_path in routes, f"no print route for {page}"
        assert _query_names(routes[print_path]) == _query_names(routes[page]), page
        assert not routes[print_path].include_in_schema
    # The print routes come first: /maps/walks/<id>.pdf is not a walk id.
    paths = [r.path for r in ordered]
    assert paths.index("/maps/walks/{walk_id}.{fmt}") < paths.index("/maps/walks/{walk_id}")
    assert inspect.getdoc(routes["/maps/hotspots.{fmt}"].endpoint)


# --- the sheet itself, in the browser: nothing overlaps or is cut off; axe-core is content ---

AXE = Path(__file__).parents[1] / "maps" / "vendor" / "node_modules" / "axe-core" / "axe.min.js"


def _box(page: Any, selector: str) -> dict[str, float]:
    box = page.locator(selector).first.bounding_box()
    assert box is not None, f"{selector} is not on the sheet"
    return dict(box)


def _apart(a: dict[str, float], b: dict[str, float]) -> bool:
    return (
        a["x"] + a["width"] <= b["x"] + 1
        or b["x"] + b["width"] <= a["x"] + 1
        or a["y"] + a["height"] <= b["y"] + 1
        or b["y"] + b["height"] <= a["y"] + 1
    )


def test_the_sheet_is_laid_out_without_overlaps_and_axe_finds_nothing_serious(
    client: TestClient,
    reports: None,
    partner: dict[str, str],
    browser: Any,
    app_settings: Settings,
) -> None:
    if not AXE.is_file():
        pytest.fail(f"axe-core is not installed at {AXE}: run `npm ci --prefix maps/vendor`")
    answer = client.get("/maps/hotspots", headers=partner, params={"crimes": "true"})
    assert answer.status_code == 200, answer.text
    sheet = MapSheet(
        answer.text,
        "Hot spots of unsafe-place reports, 500 m hexagons",
        ["Period: January 2025 to December 2026.", "Filters: boroughs Lambeth (E09000022)."],
        ["A report is a place where someone felt unsafe: a feeling, not a crime."] * 12,
    )
    laid_out = print_layout(sheet, printed_at=datetime(2026, 12, 4, 18, 30))
    engine = create_engine(app_settings.database_url or "")
    refused: list[str] = []
    width, height = SHEET_PX
    context = browser.new_context(viewport={"width": width, "height": height})
    try:
        with ThreadPoolExecutor(max_workers=1) as reader:
            page = context.new_page()
            page.route(
                "**/*",
                InProcessRequests(
                    laid_out,
                    "/maps/hotspots",
                    VENDOR_DIR,
                    database_tiles(engine),
                    reader,
                    refused,
                ),
            )
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.goto(f"{ORIGIN}/maps/hotspots", wait_until="load")
            page.wait_for_load_state("networkidle")
            assert page.evaluate("() => window.walktalkPrint.arrange()") == []
            # Every legend (hot spots, emerging hot spots, crimes) left the map for the panel; no
            # control but the scale bar shows on the map; header, map, panel and arrow do not
            # overlap.
            assert page.locator(".folium-map .map-legend").count() == 0
            assert page.locator(".print-legends .map-legend").count() == 3
            assert page.locator(".print-credit .leaflet-control-attribution").count() == 1
            shown = page.locator(".folium-map .leaflet-control:visible")
            assert [shown.nth(i).get_attribute("class") for i in range(shown.count())] == [
                "leaflet-control-scale leaflet-control"
            ]
            header, frame, panel, north = (
                _box(page, s)
                for s in (".print-header", ".folium-map", ".print-panel", ".print-north")
            )
            assert _apart(header, frame) and _apart(header, panel) and _apart(frame, panel)
            assert frame["x"] <= north["x"] and north["x"] + north["width"] <= frame["x"] + frame[
                "width"
            ]
            for box in (header, frame, panel):
                assert box["x"] >= 0 and box["x"] + box["width"] <= width
                assert box["y"] >= 0 and box["y"] + box["height"] <= height
            # Suppressed hexagons are hatched on paper too: the sheet hides all but the map and
            # its panel, and a hidden <pattern> paints nothing (the first prints were blank).
            patterns = page.evaluate(
                "() => [...document.querySelectorAll('pattern')]"
                ".map(p => getComputedStyle(p).visibility)"
            )
            assert patterns and set(patterns) == {"visible"}, patterns
            page.add_script_tag(path=str(AXE))
            found = page.evaluate("() => axe.run(document).then(r => r.violations)")
            serious = [
                (v["id"], [n["target"] for n in v["nodes"]])
                for v in found
                if v["impact"] in ("serious", "critical")
            ]
            assert serious == []
            assert errors == [] and refused == []
    finally:
        context.close()
        engine.dispose()


# --- the offline base map on paper ------------------------------------------------------------

OSM = sorted((Path(__file__).parents[1] / "data" / "osm").glob("*.osm"))
#: Along St George's Road by Elephant & Castle, where the bundled SE1 extracts have streets.
ST_GEORGES_ROUTE = {
    "type": "LineString",
    "coordinates": [[-0.1090, 51.4975], [-0.1050, 51.4962], [-0.1010, 51.4955]],
}
BASEMAP_BACKGROUND = (242, 239, 233)  # maps/static/basemap.js BACKGROUND, #f2efe9


def test_a_printed_walk_map_has_the_streets_of_the_base_map_drawn_from_postgis(
    client: TestClient,
    people: dict[str, dict[str, str]],
    walktalk: Callable[..., tuple[int, str, str]],
    app_settings: Settings,
    settings_for: Callable[..., Settings],
) -> None:
    code, _, err = walktalk("osm", "load", *map(str, OSM))
    assert code == 0, err
    walk = walk_with_route(client, people, route=ST_GEORGES_ROUTE)
    local = settings_for(
        app_settings.database_url, tiles="local", secret_key=app_settings.secret_key
    )
    with TestClient(create_app(local)) as offline:
        body = printed(offline, f"/maps/walks/{walk['id']}.png", people["waterloo"])
        again = time.perf_counter()
        printed(offline, f"/maps/walks/{walk['id']}.pdf", people["waterloo"])
        print(f"a second print, its browser open: {time.perf_counter() - again:.2f} s")
        workers = [t for t in threading.enumerate() if t.name.startswith("print-")]
        assert workers
    # The app's lifespan closed the browsers and ended their workers.
    assert not any(worker.is_alive() for worker in workers)
    pixels = assert_a4_picture_of_a_map(body)
    height, width, _ = pixels.shape
    frame = pixels[height // 6 : height * 9 // 10, width // 20 : width * 2 // 3]
    # The base map's land colour under most of the frame, and its streets' white fill on it:
    # the tiles were read from PostGIS and drawn before the picture was taken.
    land = (np.abs(frame - BASEMAP_BACKGROUND).max(axis=2) <= 2).mean()
    streets = (frame.min(axis=2) >= 252).mean()
    assert land > 0.3, f"base-map land on {land:.0%} of the map"
    assert streets > 0.01, f"street fill on {streets:.1%} of the map"


def test_an_online_base_map_is_left_out_of_a_print_and_the_sheet_says_so(
    app_settings: Settings, settings_for: Callable[..., Settings], partner: dict[str, str]
) -> None:
    online = settings_for(
        app_settings.database_url, tiles="osm", secret_key=app_settings.secret_key
    )
    with TestClient(create_app(online)) as client:
        _, words = pdf_text(printed(client, "/maps/wards.pdf", partner, borough=LAMBETH))
        # The refused tiles are left clear, not drawn as broken images over the wards.
        assert_a4_picture_of_a_map(printed(client, "/maps/wards.png", partner), coloured=0.2)
    # The page asked tile.openstreetmap.org for tiles; the print asked nobody.
    assert "Not printed: what this page loads from tile.openstreetmap.org" in words
    assert "Wards of the" in words
