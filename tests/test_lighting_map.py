"""The planner's lighting map, ``/maps/lighting``, and its print: who sees what, filters, errors.

Requests are raised through the API on a fresh database with reports planted around them;
the page is read as HTML (its layers' data, legend, panel), the prints with pypdf and Pillow.
"""

from __future__ import annotations

import html
import io
import json
import logging
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from PIL import Image
from pypdf import PdfReader
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

from geo.osm import read_osm_features
from service.queries import assets as asset_queries
from service.queries.osm import store_features
from service.settings import Settings
from tests.test_api_lighting import BUSY, SOME, _reports
from tests.walks import auth

LAMBETH, SOUTHWARK, CAMDEN = "E09000022", "E09000028", "E09000007"
# Kentish Town Road by the railway bridge, Camden.
KENTISH_TOWN = (-0.1409, 51.5446)
# Borough High Street, Southwark.
BOROUGH_HIGH_STREET = (-0.0925, 51.5030)
ASSETS = Path(__file__).resolve().parents[1] / "data" / "assets"
OSM = Path(__file__).resolve().parents[1] / "data" / "osm"
A4_LANDSCAPE_PT = (841.89, 595.28)
SHOTS = Path("/tmp/shots/lighting_map")


def _raise(client: TestClient, headers: dict, title: str, place: tuple[float, float], *,
           council: str = "Lambeth", kind: str = "lighting") -> str:
    answer = client.post(
        "/requests",
        headers=headers,
        json={"kind": kind, "title": title, "lon": place[0], "lat": place[1],
              "partner_borough": council, "partner_team": "Street lighting"},
    )  # fmt: skip
    assert answer.status_code == 201, answer.text
    return str(answer.json()["reference"])


def _request_layer(page: str) -> list[dict[str, Any]]:
    """The requests' GeoJSON features as the page carries them (L.geoJSON's data)."""
    found = re.search(r"L\.geoJSON\((\{\"features\".*?\}|\{\"type\".*?\}), \{\s*pointToLayer", page,
                      re.S)  # fmt: skip
    assert found, "the page has no requests layer"
    return list(json.loads(found.group(1))["features"])


def _unscripted(page: str) -> str:
    """The page with its boxes' HTML read back out of the script strings that carry it."""
    return html.unescape(
        page.replace("\\u0026", "&").replace("\\u003c", "<").replace("\\u003e", ">")
        .replace('\\"', '"')
    )


def _popups(page: str) -> str:
    return " ".join(f["properties"]["popup"] for f in _request_layer(page))


@pytest.fixture
def planted(client: TestClient, app_settings: Settings,
            issue_token: Callable[..., str]) -> dict[str, Any]:
    """Reports by two Lambeth requests, a Southwark request, and the planners of each borough."""
    database = str(app_settings.database_url)
    _reports(database, BUSY, 24)
    _reports(database, SOME, 6, seed=2)
    lambeth = auth(issue_token("planner", boroughs=[LAMBETH], name="Lambeth planner"))
    southwark = auth(issue_token("planner", boroughs=[SOUTHWARK], name="Southwark planner"))
    return {
        "lambeth": lambeth,
        "southwark": southwark,
        "busy": _raise(client, lambeth, "Lower Marsh arches", BUSY),
        "some": _raise(client, lambeth, "Camera on Waterloo Road", SOME, kind="cctv"),
        "theirs": _raise(client, southwark, "Borough High Street lamps", BOROUGH_HIGH_STREET,
                         council="Southwark"),
        "database": database,
    }  # fmt: skip


def test_a_planner_sees_her_boroughs_requests_with_protected_evidence(
    client: TestClient, planted: dict[str, Any], people: dict[str, dict[str, str]]
) -> None:
    answer = client.get("/maps/lighting", headers=planted["lambeth"])
    assert answer.status_code == 200, answer.text
    page = answer.text
    popups = _popups(page)
    assert planted["busy"] in popups and planted["some"] in popups
    assert planted["theirs"] not in page
    # Counts as the ranking gives them to a planner: 24 reports read 25, 6 "fewer than 10";
    # no count from 1 to 9 anywhere in a popup.
    assert "<dd>25</dd>" in popups and "fewer than 10" in popups
    assert not re.search(r"<dd>[1-9]</dd>", popups)
    # Each popup links the request's page.
    assert popups.count('href="/lighting/requests/') == 2
    # No report's own point: none of the planted reports' coordinates are on the page.
    engine = create_engine(planted["database"])
    with engine.connect() as conn:
        points = conn.execute(text("SELECT ST_X(geom), ST_Y(geom) FROM reports")).all()
    engine.dispose()
    for lon, lat in points:
        assert f"{lon:.6f}" not in page and f"{lat:.5f}" not in page
    # The legend names the scheme; the panel the method; the layers are listed.
    assert "Fisher\\u2013Jenks natural breaks" in page  # the legend, a script string
    assert "Requests to partners (2)" in page
    assert "fewer than 10" in page and "British National Grid" in page

    # The strongest evidence first in the list beside the map; she may raise one from it.
    panels = _unscripted(page)
    top = re.search(r'<summary>Top requests</summary><ol><li>'
                    r'<a href="/lighting/requests/[^"]+">(RQ-\w+)</a>', panels)  # fmt: skip
    assert top and top.group(1) == planted["busy"]
    assert '<a href="/lighting/requests/new">Raise a request</a>' in panels

    # Southwark's planner sees hers and not Lambeth's; the supervisor of both, exact counts.
    theirs = client.get("/maps/lighting", headers=planted["southwark"]).text
    assert planted["theirs"] in _popups(theirs) and planted["busy"] not in theirs
    exact = _popups(client.get("/maps/lighting", headers=people["supervisor"]).text)
    assert "<dd>24</dd>" in exact and "<dd>6</dd>" in exact
    # The council addressed (Lambeth's partner) sees the two addressed to it.
    partner_page = client.get("/maps/lighting", headers=people["partner"]).text
    partner = _popups(partner_page)
    assert planted["busy"] in partner and planted["theirs"] not in partner
    assert "Raise a request" not in partner_page  # councils answer requests, not raise them
    # A ward officer sees those of her ward, protected as a planner does.
    officer = client.get("/maps/lighting", headers=people["waterloo"])
    assert officer.status_code == 200, officer.text
    assert planted["theirs"] not in officer.text and "<dd>6</dd>" not in _popups(officer.text)


def test_the_public_is_sent_to_sign_in(client: TestClient) -> None:
    answer = client.get("/maps/lighting?kind=cctv", follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"] == "/login?next=/maps/lighting?kind=cctv"
    printed = client.get("/maps/lighting.pdf", follow_redirects=False)
    assert printed.status_code == 303 and printed.headers["location"].startswith("/login")


def test_filters_change_what_is_drawn_and_stay_in_the_panel(
    client: TestClient, planted: dict[str, Any]
) -> None:
    def references(**params: str) -> set[str]:
        answer = client.get("/maps/lighting", headers=planted["lambeth"], params=params)
        assert answer.status_code == 200, answer.text
        return {f["properties"]["label"].split(":")[0] for f in _request_layer(answer.text)}

    assert references() == {planted["busy"], planted["some"]}
    assert references(kind="cctv") == {planted["some"]}
    assert references(kind="lighting", status="proposed") == {planted["busy"]}
    assert references(status="installed") == set()
    # Blank fields (a form sent without script) are no filter.
    assert references(kind="", status="", ward="") == {planted["busy"], planted["some"]}
    ward = client.get("/maps/lighting", headers=planted["lambeth"],
                      params={"ward": "E05014118"}).text  # fmt: skip
    assert "Waterloo" in ward
    page = client.get("/maps/lighting", headers=planted["lambeth"],
                      params={"kind": "cctv", "month_from": "2026-01"}).text  # fmt: skip
    # The choice is in the panel and in every download link (the panel is a script string).
    panel = _unscripted(page)
    assert '<option value="cctv" selected>' in panel
    assert '<input type="month" id="mc-month_from" name="month_from" min="2000-01" ' \
        'value="2026-01"' in panel
    assert 'href="/lighting/ranking.gpkg?kind=cctv&crs=27700"' in panel
    assert 'href="/maps/lighting.pdf?kind=cctv&month_from=2026-01"' in panel
    assert 'href="/lighting/gaps.csv?month_from=2026-01"' in panel


@pytest.mark.parametrize(
    ("params", "field", "words"),
    [
        ({"kind": "cameras"}, "kind", "kind must be one of lighting"),
        ({"status": "done"}, "status", "status must be one of proposed"),
        ({"month_from": "2026-13"}, "month_from", "month_from must be a month as YYYY-MM"),
        ({"borough": "E09000099"}, "borough", "not in the active ward set"),
        ({"ward": "E05000001"}, "ward", "is not a ward of Lambeth"),
        ({"kind": "x" * 300}, "kind", "kind"),
    ],
)
def test_a_bad_filter_is_a_page_saying_which_field_to_fix(
    client: TestClient, planted: dict[str, Any], params: dict[str, str], field: str, words: str
) -> None:
    browser = {**planted["lambeth"], "Accept": "text/html,application/xhtml+xml"}
    answer = client.get("/maps/lighting", headers=browser, params=params)
    assert answer.status_code == 422
    assert answer.headers["content-type"].startswith("text/html")
    assert words in answer.text
    assert f"<strong>{field}</strong>" in answer.text


def load_assets_and_streets(database_url: str) -> None:
    """The bundled Lambeth cameras and Camden lamps (as `make demo` loads them), and SE1's OSM."""
    engine = create_engine(database_url)
    with Session(engine) as session, session.begin():
        for name, kind, council, covers in (
            ("cctv.geojson", "camera", "Lambeth", LAMBETH),
            ("Camden_Street_Lighting.csv", "light", "Camden", "E09000007"),
        ):
            asset_queries.import_assets(
                session, (ASSETS / name).read_bytes(), name, kind=kind, covers=[covers],
                attribution=f"Contains public sector information from the London Borough of "
                f"{council} licensed under the Open Government Licence v3.0",
                loaded_by="tests",
            )  # fmt: skip
        for extract in sorted(OSM.glob("*.osm")):
            store_features(session, read_osm_features(extract), source=extract.name)
    engine.dispose()


def test_lights_cameras_ways_and_coverage_are_drawn_in_the_area(
    client: TestClient, app_settings: Settings, issue_token: Callable[..., str]
) -> None:
    """Lambeth's cameras on a Lambeth planner's map, clustered; Camden's lamps are not."""
    load_assets_and_streets(app_settings.database_url or "")
    planner = auth(issue_token("planner", boroughs=[LAMBETH]))
    answer = client.get("/maps/lighting", headers=planner)
    assert answer.status_code == 200, answer.text
    page = answer.text
    assert "L.markerClusterGroup" in page
    assert re.search(r"Cameras \((\d+)\)", page)
    cameras = int(re.search(r"Cameras \((\d+)\)", page).group(1))  # type: ignore[union-attr]
    assert 379 <= cameras <= 470
    assert "Street lights (" not in page  # Camden is not in Lambeth's area
    assert "Inventory coverage" in page
    assert "London Borough of Lambeth" in page and "Open Government Licence" in page
    assert "London Borough of Camden" not in page
    # SE1's streets and paths by their lit tag, and OpenStreetMap's credit.
    assert "Streets: lit or not (OSM)" in page
    for words in ("Lit way", "Way, no lit tag"):
        assert f'"lit": "{words}"' in page
    assert "OpenStreetMap contributors" in page
    print(f"lighting map for a Lambeth planner: {len(answer.content):,} bytes")
    assert len(answer.content) < 3_000_000


def test_the_print_is_an_a4_pdf_and_png(
    client: TestClient, planted: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="walktalk.printing")
    pdf = client.get("/maps/lighting.pdf", headers=planted["lambeth"])
    assert pdf.status_code == 200, pdf.text
    assert "printed /maps/lighting as pdf" in caplog.text
    reader = PdfReader(io.BytesIO(pdf.content))
    assert len(reader.pages) == 1
    box = reader.pages[0].mediabox
    assert (float(box.width), float(box.height)) == pytest.approx(A4_LANDSCAPE_PT, abs=1)
    words = " ".join(reader.pages[0].extract_text().split())
    assert "Lighting and CCTV requests" in words and "Fisher" in words
    assert "Open Government Licence" in words and "fewer than 10" in words
    png = client.get("/maps/lighting.png", headers=planted["lambeth"], params={"kind": "cctv"})
    assert png.status_code == 200
    with Image.open(io.BytesIO(png.content)) as image:
        assert image.size == (2246, 1588)
    # Legend, method note and credits fit the sheet's panel: no words cut off.
    assert "words cut off" not in caplog.text
    SHOTS.mkdir(parents=True, exist_ok=True)
    (SHOTS / "print-cctv.png").write_bytes(png.content)
    (SHOTS / "print.pdf").write_bytes(pdf.content)


def test_a_camden_planner_sees_camdens_requests_over_its_9527_lamps(
    client: TestClient, walktalk: Callable[..., tuple[int, str, str]],
    issue_token: Callable[..., str],
) -> None:
    """With all London's 2018 wards active: Camden's real lamps, clustered, in a sane page."""
    for argv in (
        ("wards", "bundled"),
        ("wards", "activate", "london-2018"),
        ("assets", "import", str(ASSETS / "Camden_Street_Lighting.csv"), "--kind", "light",
         "--covers", "E09000007", "--attribution", "Contains public sector information from "
         "the London Borough of Camden licensed under the Open Government Licence v3.0"),
    ):  # fmt: skip
        code, _, err = walktalk(*argv)
        assert code == 0, err
    camden = auth(issue_token("planner", boroughs=[CAMDEN], name="Camden planner"))
    lambeth = auth(issue_token("planner", boroughs=[LAMBETH], name="Lambeth planner"))
    ours = _raise(client, camden, "Kentish Town Road railway bridge", KENTISH_TOWN,
                  council="Camden")  # fmt: skip
    theirs = _raise(client, lambeth, "Lower Marsh arches", BUSY)

    answer = client.get("/maps/lighting", headers=camden)
    assert answer.status_code == 200, answer.text
    page = answer.text
    assert ours in _popups(page) and theirs not in page
    # Every lamp of the borough is drawn (a few over its edge in the box too), as groups.
    drawn = int(re.search(r"Street lights \(([\d,]+)\)", page).group(1).replace(",", ""))  # type: ignore[union-attr]
    assert 9000 <= drawn <= 9527
    assert "London Borough of Camden" in page
    size = len(answer.content)
    print(f"lighting map for a Camden planner, {drawn:,} lamps: {size:,} bytes")
    assert size < 2_500_000
    # Lambeth's planner's map has neither Camden's request nor its lamps.
    other = client.get("/maps/lighting", headers=lambeth).text
    assert ours not in other and "Street lights (" not in other
    # Printed, the lamps' groups and the request are on the sheet (kept for a person to see).
    png = client.get("/maps/lighting.png", headers=camden)
    assert png.status_code == 200
    SHOTS.mkdir(parents=True, exist_ok=True)
    (SHOTS / "print-camden.png").write_bytes(png.content)
    with Image.open(io.BytesIO(png.content)) as image:
        yellow = sum(n for n, (r, g, b) in image.convert("RGB").getcolors(4_000_000) or []
                     if r > 230 and 190 < g < 225 and b < 100)  # fmt: skip
    assert yellow > 1000  # the lamps' yellow groups are drawn


def test_gaps_and_stretches_are_drawn_with_protected_counts(
    client: TestClient, app_settings: Settings, issue_token: Callable[..., str]
) -> None:
    """A hot cluster of dark lighting reports inside a light inventory's area is a gap."""
    database = str(app_settings.database_url)
    _reports(database, BUSY, 1200, spread=0.006)
    engine = create_engine(database)
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO asset_inventories (kind, name, file_name, sha256, attribution, "
                "coverage, coverage_note, assets, rows_skipped, loaded_by) VALUES ('light', "
                "'Lambeth test lights', 't.csv', 'x', 'Test lights', ST_Multi(ST_MakeEnvelope("
                "-0.2, 51.4, 0, 51.6, 4326)), 'test', 0, 0, 'tests')"
            )
        )
    engine.dispose()
    planner = auth(issue_token("planner", boroughs=[LAMBETH]))
    stretch = client.post(
        "/requests", headers=planner,
        json={"kind": "lighting", "title": "Dark <b>path</b>", "line": [[-0.1170, 51.4905],
              [-0.1150, 51.4912]], "partner_borough": "Lambeth", "partner_team": "Lighting"},
    )  # fmt: skip
    assert stretch.status_code == 201, stretch.text
    page = client.get("/maps/lighting", headers=planner).text
    found = re.search(r"Gaps nobody has asked about \((\d+)\)", page)
    assert found and int(found.group(1)) > 0
    # Each gap's counts as a planner may see them: "fewer than 10" or a multiple of 5.
    counts = re.findall(r'"(dark_lighting|unanswered|near_light|near_lit_way|near_request)": '
                        r'"([^"]*)"', page)  # fmt: skip
    assert counts
    for _, value in counts:
        assert value == "fewer than 10" or int(value.replace(",", "")) % 5 == 0, value
    # The stretch is a line (and a marker at its middle); what was typed stays text.
    features = _request_layer(page)
    assert sorted(f["geometry"]["type"] for f in features) == ["LineString", "Point"]
    assert "Dark &lt;b&gt;path&lt;/b&gt;" in features[0]["properties"]["popup"]
    assert "<b>" not in features[0]["properties"]["popup"]


#: Text a person typed that looks like a Jinja template: the page must show it, not run it.
#: (folium renders each element's output, then branca compiled that output as a template and
#: rendered it again: "{{ 7*7 }}" became 49, a lone "{%" was a 500, and lipsum.__globals__
#: reached os. maps/verbatim.py stops the second rendering.)
TEMPLATE_LIKE = "Lamp {{ 7*7 }} by the {% if true %}arch{% endif %} {{ lipsum.__globals__ }} {%"


def test_a_title_that_looks_like_a_template_is_shown_as_typed(
    client: TestClient, planted: dict[str, Any]
) -> None:
    _raise(client, planted["lambeth"], TEMPLATE_LIKE, (-0.1120, 51.4990))
    answer = client.get("/maps/lighting", headers=planted["lambeth"])
    assert answer.status_code == 200, answer.text[:500]
    labels = [f["properties"]["label"] for f in _request_layer(answer.text)]
    assert any(TEMPLATE_LIKE in label for label in labels), labels
    assert html.escape(TEMPLATE_LIKE) in _popups(answer.text)
    assert "Lamp 49" not in answer.text and "<function" not in answer.text
