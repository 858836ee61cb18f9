"""Issue 12's "Done when", walked in Chromium as new users would, on what `make demo` loads.

The demo's synthetic reports, requests and street lights (``walktalk demo seed``) and the real
Lambeth CCTV file are loaded. A Lambeth and Southwark planner signs in, imports a CSV of
lighting requests, opens the lighting map from the header, finds the top-ranked request and a
gap, downloads the bid pack and opens its GeoPackage with GeoPandas and its PDF with pypdf;
then the Lambeth council marks one of her requests installed. Laptop and phone sizes, axe-core
on every page, screenshots under /tmp/shots/planner-journey/.
"""

from __future__ import annotations

import csv
import io
import zipfile
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import geopandas as gpd
import httpx2 as httpx
import pytest
from pypdf import PdfReader
from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from service.queries import demo, imports
from service.queries.assets import import_assets
from service.queries.demo_requests import seed_planning
from service.settings import Settings
from tests.browser import ON_LAPTOP_AND_PHONE, serious_axe_violations, sign_in, watched_page
from tests.walks import auth

pytestmark = pytest.mark.browser

SHOTS = Path("/tmp/shots/planner-journey")
LAMBETH, SOUTHWARK = "E09000022", "E09000028"
CCTV = Path(__file__).parents[1] / "data" / "assets" / "cctv.geojson"
POLICE_UK = Path(__file__).parents[1] / "data" / "police_uk"
BID = "SSF-7 Waterloo"
# Two lamps asked for at Lower Marsh and on Baylis Road, in a Safer Streets round.
REQUESTS_CSV = (
    "lon,lat,kind,title,partner_borough,partner_team,status,bid_reference\n"
    f"-0.1136,51.4995,lighting,Lower Marsh lamp columns,Lambeth,Street lighting,in_bid,{BID}\n"
    f"-0.1127,51.5012,lighting,Baylis Road footway lights,Lambeth,Street lighting,in_bid,{BID}\n"
)


@pytest.fixture
def demo_loaded(app_settings: Settings) -> None:
    """What `make demo` stores for planners: reports, requests, lights and the real cameras.

    The real police.uk crimes first: the demo's reports are denser round them, which makes the
    hot spots a gap is looked for in.
    """
    engine = create_engine(app_settings.database_url or "")
    with Session(engine) as session, session.begin():
        for path in sorted(POLICE_UK.glob("*/*.csv")) + sorted(POLICE_UK.glob("*/*.json")):
            imports.import_crimes(session, path, imported_by="test")
    with Session(engine) as session, session.begin():
        demo.seed_reports(session, 6000, seed=5)
        import_assets(session, CCTV.read_bytes(), CCTV.name, kind="camera",
                      name="lambeth-cctv", covers=[LAMBETH], attribution="Lambeth (OGL v3.0)",
                      loaded_by="test")  # fmt: skip
        assert seed_planning(session, seed=5).requests == 12
    engine.dispose()


def _check(page: Any, name: str, device: str) -> None:
    assert serious_axe_violations(page) == []
    page.screenshot(path=str(SHOTS / f"{name}-{device}.png"), full_page=True)


def _unfold(page: Any, summary: str) -> None:
    """Open a box a phone folds (the filters, the top requests)."""
    folded = page.locator("details:not([open]) > summary", has_text=summary)
    if folded.count():
        folded.first.click()


@ON_LAPTOP_AND_PHONE
def test_a_planner_ranks_finds_a_gap_and_downloads_a_bid_pack_then_the_council_installs(
    browser: Any,
    live_server: str,
    issue_token: Any,
    demo_loaded: None,
    tmp_path: Path,
    device: str,
    width: int,
    height: int,
) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    planner = issue_token("planner", boroughs=[LAMBETH, SOUTHWARK], name=f"Planner {device}")
    partner = issue_token("partner", boroughs=[LAMBETH], name=f"Lambeth lighting {device}")
    with watched_page(browser, live_server, width=width, height=height) as page:
        # She imports her CSV of lighting requests from the Requests page.
        sign_in(page, live_server, planner, then="/")
        nav = page.get_by_role("navigation", name="Main")
        if device == "phone" and not nav.get_by_role("link", name="Requests").is_visible():
            page.get_by_role("button", name="Menu").click()
        nav.get_by_role("link", name="Requests", exact=True).click()
        page.get_by_label("File of requests").set_input_files(
            files=[{"name": "requests.csv", "mimeType": "text/csv",
                    "buffer": REQUESTS_CSV.encode()}]
        )  # fmt: skip
        page.get_by_role("button", name="Import the file").click()
        page.wait_for_url(f"{live_server}/lighting/requests?done=imported&n=2")
        assert "2 requests stored" in page.get_by_role("status").first.inner_text()
        _check(page, "imported", device)

        # The lighting map, from the header: the top-ranked request and a gap.
        if device == "phone" and not nav.get_by_role("link", name="Lighting map").is_visible():
            page.get_by_role("button", name="Menu").click()
        nav.get_by_role("link", name="Lighting map").click()
        page.wait_for_url(f"{live_server}/maps/lighting")
        page.locator(".lr-marker .lr-pin").first.wait_for()
        with httpx.Client(base_url=live_server, headers=auth(planner)) as api:
            ranked = api.get("/lighting/ranking").json()["features"]
        best = ranked[0]["properties"]
        assert best["rank_in_borough"] == 1 and len(ranked) == 14
        _unfold(page, "Top requests")
        top = page.locator(".lr-top li").first
        assert best["reference"] in top.inner_text() and "No. 1 in its borough" in top.inner_text()
        layers = " | ".join(page.locator(".leaflet-control-layers label").all_inner_texts())
        assert "Gaps nobody has asked about (none found)" not in layers
        gaps = page.locator(f"path[stroke='{'#d01c8b'}']")
        assert gaps.count() >= 1  # the demo's dark places, drawn
        _check(page, "lighting-map", device)
        # The gaps' CSV, as she would take it into her GIS: every gap has unanswered reports.
        _unfold(page, "Filters and downloads")
        with page.expect_download() as got:
            page.get_by_role("link", name="Gaps CSV").click()
        rows = list(csv.DictReader(io.StringIO(Path(got.value.path()).read_text())))
        assert rows and all(r["unanswered"] for r in rows)
        # She opens the top request's page from the list.
        _unfold(page, "Top requests")
        top.get_by_role("link").click()
        page.wait_for_url(f"{live_server}/lighting/requests/*")
        assert best["reference"] in page.get_by_role("heading", level=1).inner_text()

        # The bid pack, from the Requests page.
        page.goto(f"{live_server}/lighting/requests")
        _check(page, "bid-packs", device)
        with page.expect_download(timeout=60_000) as got:
            page.get_by_role("link", name=f"Bid pack for {BID} (zip)").click()
            assert "drawing its maps takes about ten seconds" in page.locator(
                "#bid-status"
            ).inner_text()
        saved = tmp_path / got.value.suggested_filename
        got.value.save_as(saved)
        assert saved.name.startswith("bid-ssf-7-waterloo-") and saved.suffix == ".zip"
        with zipfile.ZipFile(saved) as pack:
            pack.extractall(tmp_path / "pack")
        layer = gpd.read_file(tmp_path / "pack" / "bid-ssf-7-waterloo-requests.gpkg")
        assert layer.crs.to_epsg() == 27700
        assert sorted(layer["title"]) == ["Baylis Road footway lights", "Lower Marsh lamp columns"]
        pdf = PdfReader(tmp_path / "pack" / "bid-ssf-7-waterloo-map.pdf")
        assert len(pdf.pages) == 1 and BID in pdf.pages[0].extract_text()
        assert page.problems == []
    lower_marsh = layer.loc[layer["title"] == "Lower Marsh lamp columns", "reference"].item()

    # The council marks the Lower Marsh request installed.
    installed = date.today() - timedelta(days=2)
    with watched_page(browser, live_server, width=width, height=height) as page:
        sign_in(page, live_server, partner, then="/lighting/requests")
        page.get_by_role("link", name=lower_marsh).click()
        page.get_by_label("New status").select_option(label="Installed")
        page.get_by_label("Install date").fill(installed.isoformat())
        page.get_by_role("button", name="Change the status").click()
        page.wait_for_url("**?done=status")
        assert page.locator("#status").inner_text() == f"Installed on {installed:%-d %B %Y}"
        _check(page, "installed", device)
        assert page.problems == []
