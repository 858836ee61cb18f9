"""The bid pack (issue 12, item 7), opened as the council officer pasting it into a bid would.

The demo's synthetic requests (some in a Safer Streets round) stand on synthetic reports; the
pack's GeoPackage is read with GeoPandas, its CSV with the csv module, its PDF with pypdf and
its PNG with Pillow. A copy goes to /tmp/shots/bid-pack/ for a person to look at.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from collections.abc import Callable
from pathlib import Path

import geopandas as gpd
import pytest
from fastapi.testclient import TestClient
from PIL import Image
from pypdf import PdfReader
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

from maps.printing import SHEET_PX
from service.printing import PNG_SCALE
from service.queries import demo
from service.queries.demo_requests import DEMO_BID, seed_planning
from service.routers.bid_pack import pack_name
from service.settings import Settings
from tests.walks import auth

pytestmark = pytest.mark.browser

LAMBETH, SOUTHWARK, CAMDEN = "E09000022", "E09000028", "E09000007"
SHOTS = Path("/tmp/shots/bid-pack")
A4_LANDSCAPE_PT = (841.89, 595.28)


@pytest.fixture
def bid(app_settings: Settings) -> list[str]:
    """The demo's reports and requests, committed; the references of the demo bid's requests."""
    engine = create_engine(app_settings.database_url or "")
    with Session(engine) as session, session.begin():
        demo.seed_reports(session, 6000, seed=5)
        seed_planning(session, seed=5)
        references = session.execute(
            text("SELECT reference FROM partner_requests WHERE bid_reference = :b ORDER BY 1"),
            {"b": DEMO_BID},
        ).scalars().all()
    engine.dispose()
    assert len(references) >= 2  # in a bid, and funded
    return list(references)


def test_a_planner_downloads_the_bid_pack_and_opens_every_file(
    client: TestClient, bid: list[str], issue_token: Callable[..., str]
) -> None:
    planner = auth(issue_token("planner", boroughs=[LAMBETH, SOUTHWARK]))
    answer = client.get("/lighting/bid-pack.zip", params={"bid_reference": DEMO_BID},
                        headers=planner)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "application/zip"
    name = pack_name(DEMO_BID)
    assert f'filename="{name}-' in answer.headers["content-disposition"]
    SHOTS.mkdir(parents=True, exist_ok=True)
    pack = zipfile.ZipFile(io.BytesIO(answer.content))
    assert sorted(pack.namelist()) == sorted([
        f"{name}-requests.gpkg", f"{name}-requests.csv", f"{name}-map.png", f"{name}-map.pdf",
        "README.txt",
    ])
    pack.extractall(SHOTS)

    # The GeoPackage: the bid's requests, on the British National Grid, with the method note.
    layer = gpd.read_file(SHOTS / f"{name}-requests.gpkg", layer="requests")
    assert layer.crs.to_epsg() == 27700
    assert sorted(layer["reference"]) == bid
    assert set(layer["bid_reference"]) == {DEMO_BID}
    # London in metres, not degrees.
    assert layer.geometry.x.between(500_000, 560_000).all()
    note = gpd.read_file(SHOTS / f"{name}-requests.gpkg", layer="method_note")
    assert "British National Grid" in " ".join(note["text"])
    # A planner's counts are protected: words under k, multiples of 5 above.
    for value in layer["total"]:
        assert value == "fewer than 10" or int(value) % 5 == 0, value

    # The CSV: the same rows; the notes start on its first row.
    rows = list(csv.DictReader(io.StringIO(pack.read(f"{name}-requests.csv").decode())))
    assert sorted(r["reference"] for r in rows) == bid
    assert "fewer than 10" in rows[0]["notes"] and rows[0]["wkt"].startswith("POINT (5")

    # The map: one A4 landscape page naming the bid, with its credits; the PNG at sheet size.
    pdf = PdfReader(io.BytesIO(pack.read(f"{name}-map.pdf")))
    assert len(pdf.pages) == 1
    box = pdf.pages[0].mediabox
    assert (float(box.width), float(box.height)) == pytest.approx(A4_LANDSCAPE_PT, abs=1)
    words = re.sub(r"\s+", " ", pdf.pages[0].extract_text())
    assert DEMO_BID in words and "OpenStreetMap" in words
    png = Image.open(io.BytesIO(pack.read(f"{name}-map.png")))
    assert png.size == (SHEET_PX[0] * PNG_SCALE, SHEET_PX[1] * PNG_SCALE)

    readme = pack.read("README.txt").decode()
    assert DEMO_BID in readme and f"{len(bid)} request(s)" in readme


def test_a_bid_nobody_may_see_is_refused_saying_why(
    client: TestClient, bid: list[str], people: dict, issue_token: Callable[..., str]
) -> None:
    planner = auth(issue_token("planner", boroughs=[LAMBETH, SOUTHWARK]))
    unknown = client.get("/lighting/bid-pack.zip", params={"bid_reference": "No such round"},
                         headers=planner)
    assert unknown.status_code == 404
    assert "No such round" in unknown.text and "in a bid" in unknown.text
    # Camden's council sees none of the pilot's requests, so none of this bid.
    camden = auth(issue_token("partner", boroughs=[CAMDEN]))
    refused = client.get("/lighting/bid-pack.zip", params={"bid_reference": DEMO_BID},
                         headers=camden)
    assert refused.status_code == 404
    public = client.get("/lighting/bid-pack.zip", params={"bid_reference": DEMO_BID},
                        headers=people["public"])
    assert public.status_code in (401, 403)
    empty = client.get("/lighting/bid-pack.zip", params={"bid_reference": ""}, headers=planner)
    assert empty.status_code == 422
