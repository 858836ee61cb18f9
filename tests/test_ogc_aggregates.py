"""OGC API - Features for QGIS: the protected hexagons, hot spots and ward summaries under /ogc.

The tests replay what QGIS's "Add OGC API - Features layer" asks for (landing page,
conformance, collections, one collection, pages of items with ``bbox`` and ``limit`` following
the ``next`` links), with a partner's bearer token, and check the answers are the protected
cells of ``/hotspots`` and the wards of ``/wards/summary`` exactly. One test reads the layer
with GDAL's own OAPIF driver (what QGIS's GDAL uses) against the app under uvicorn.

A fresh database holds the bundled police.uk crimes near Trafalgar Square and 3,000
synthetic reports around them, committed so the app's engine sees them.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pyogrio
import pytest
import shapely
from fastapi.testclient import TestClient
from shapely.geometry import shape
from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from geo.disclosure import DisclosureRule
from service.app import create_app
from service.queries import demo, imports
from service.settings import Settings
from tests.conftest import serving

LAMBETH, SOUTHWARK = "E09000022", "E09000028"
WATERLOO_WARD = "E05014118"
RULE = DisclosureRule(k=10, base=5)
CRIMES = (
    Path(__file__).parents[1]
    / "data"
    / "police_uk"
    / "api_trafalgar_square_1mile_2025-12"
    / "crimes_london.json"
)
QGIS = {"Accept": "application/json"}
AGGREGATES = {"hexagons", "hotspots", "ward-summaries"}
# Around Waterloo and the South Bank, in Lambeth and Southwark: the box a QGIS canvas sends.
SOUTH_BANK = (-0.125, 51.495, -0.085, 51.512)


@pytest.fixture
def who(app_settings: Settings, issue_token: Callable[..., str]) -> dict[str, dict[str, str]]:
    """Seed the app's database; the request headers of each kind of caller."""
    engine = create_engine(app_settings.database_url or "")
    with Session(engine) as session, session.begin():
        imports.import_crimes(session, CRIMES, imported_by="tests")
        demo.seed_reports(session, 3000, seed=21)
    engine.dispose()

    def bearer(token: str) -> dict[str, str]:
        return {**QGIS, "Authorization": f"Bearer {token}"}

    return {
        "supervisor": bearer(issue_token("supervisor", command_unit="AS")),
        "officer": bearer(issue_token("officer", wards=[WATERLOO_WARD])),
        "partner": bearer(issue_token("partner", boroughs=[LAMBETH])),
        "planner": bearer(issue_token("planner", boroughs=[SOUTHWARK])),
        "public": dict(QGIS),
    }


def get_json(client: TestClient, url: str, headers: dict[str, str], **params: Any) -> Any:
    # httpx swaps a URL's query for an empty params dict: a next link must go as it is.
    answer = client.get(url, headers=headers, params=params or None)
    assert answer.status_code == 200, f"{url}: {answer.text}"
    return answer.json()


def follow(client: TestClient, url: str, headers: dict[str, str], **params: Any) -> list[Any]:
    """Every page of items, following ``next`` links as QGIS does; the pages."""
    pages = [get_json(client, url, headers, **params)]
    while nexts := [link for link in pages[-1]["links"] if link["rel"] == "next"]:
        assert len(nexts) == 1
        pages.append(get_json(client, nexts[0]["href"], headers))
        assert len(pages) < 500, "the next links do not end"
    return pages


def by_cell(features: list[dict[str, Any]]) -> dict[tuple[int, int], dict[str, Any]]:
    return {(f["properties"]["i"], f["properties"]["j"]): f for f in features}


def assert_protected(properties: dict[str, Any]) -> None:
    if properties["suppressed"]:
        assert properties["count"] is None
    else:
        assert properties["count"] >= RULE.k and properties["count"] % RULE.base == 0


def test_qgis_adds_the_protected_hexagons_with_a_partners_token(client, who):
    partner = who["partner"]
    # QGIS asks for the landing page as the user typed it, usually with a trailing slash.
    landing = get_json(client, "/ogc/", partner)
    assert landing == get_json(client, "/ogc", partner)
    links = {link["rel"]: link["href"] for link in landing["links"]}
    assert links["data"].endswith("/ogc/collections")
    assert links["conformance"].endswith("/ogc/conformance")
    conforms = get_json(client, "/ogc/conformance", partner)["conformsTo"]
    assert "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core" in conforms
    assert "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson" in conforms

    listed = get_json(client, "/ogc/collections", partner)["collections"]
    assert {c["id"] for c in listed} == AGGREGATES  # no reports: those are exact points
    hexagons = get_json(client, "/ogc/collections/hexagons", partner)
    assert hexagons in listed
    west, south, east, north = hexagons["extent"]["spatial"]["bbox"][0]
    assert -0.16 < west < east < -0.03 and 51.40 < south < north < 51.52
    items = {link["rel"]: link for link in hexagons["links"]}["items"]
    assert items["type"] == "application/geo+json"

    # The canvas's box in CRS84 and QGIS's page size; follow the next links to the end.
    bbox = ",".join(str(v) for v in SOUTH_BANK)
    pages = follow(client, items["href"], partner, bbox=bbox, limit=3, edge=250)
    assert len(pages) > 2
    features = [f for page in pages for f in page["features"]]
    matched = {page["numberMatched"] for page in pages}
    assert matched == {len(features)}
    assert all(page["numberReturned"] == len(page["features"]) <= 3 for page in pages)
    assert len({f["id"] for f in features}) == len(features)

    # Exactly /hotspots's protected cells that meet the box, without Gi*.
    spots = get_json(client, "/hotspots", partner, edge=250)
    box = shapely.box(*SOUTH_BANK)
    expected = {
        key: f
        for key, f in by_cell(spots["features"]).items()
        if shape(f["geometry"]).intersects(box)
    }
    got = by_cell(features)
    assert set(got) == set(expected) and len(got) > 10
    for key, feature in got.items():
        properties = feature["properties"]
        assert_protected(properties)
        assert properties["count"] == expected[key]["properties"]["count"]
        assert properties["suppressed"] == expected[key]["properties"]["suppressed"]
        assert feature["geometry"] == expected[key]["geometry"]
        assert "class" not in properties and "z" not in properties
        assert feature["id"] == f"250-{key[0]}-{key[1]}"
    assert any(f["properties"]["suppressed"] for f in features)
    assert any(not f["properties"]["suppressed"] for f in features)
    assert pages[0]["disclosure"] == {"suppressed_below": 10, "rounded_to": 5}


def test_the_hotspots_collection_is_the_hotspots_answer_under_any_filters(client, who):
    filters = {
        "edge": 250,
        "category": ["poor_lighting", "isolated"],
        "time_band": "evening",
        "borough": SOUTHWARK,  # a partner may ask for the neighbouring borough, protected
    }
    pages = follow(client, "/ogc/collections/hotspots/items", who["partner"], limit=50, **filters)
    got = by_cell([f for page in pages for f in page["features"]])
    spots = get_json(client, "/hotspots", who["partner"], **filters)
    assert set(got) == set(by_cell(spots["features"])) and got
    for key, feature in by_cell(spots["features"]).items():
        mine = got[key]["properties"]
        assert {k: mine[k] for k in feature["properties"]} == feature["properties"]
        assert_protected(mine)
        assert mine["edge_m"] == 250
    assert pages[0]["method"] == spots["method"]
    # Gi* is tested against every cell of the area, whatever box a page is cut to.
    boxed = get_json(
        client,
        "/ogc/collections/hotspots/items",
        who["partner"],
        bbox=",".join(map(str, SOUTH_BANK)),
        **filters,
    )
    for feature in boxed["features"]:
        key = (feature["properties"]["i"], feature["properties"]["j"])
        assert feature["properties"]["z"] == got[key]["properties"]["z"]


def test_the_ward_summaries_are_the_ward_summary(client, who):
    pages = follow(client, "/ogc/collections/ward-summaries/items", who["partner"], limit=5)
    got = {f["id"]: f for page in pages for f in page["features"]}
    summary = get_json(client, "/wards/summary", who["partner"])
    assert {f["id"] for f in summary["features"]} == set(got) and len(got) > 5
    for feature in summary["features"]:
        assert got[feature["id"]]["properties"] == feature["properties"]
        assert got[feature["id"]]["geometry"] == feature["geometry"]
        count = feature["properties"]["count"]
        assert count is None or (count >= RULE.k and count % RULE.base == 0)
    one = get_json(client, f"/ogc/collections/ward-summaries/items/{WATERLOO_WARD}", who["partner"])
    assert one["properties"] == got[WATERLOO_WARD]["properties"]
    assert {link["rel"] for link in one["links"]} == {"self", "collection"}


def test_the_reports_collection_is_for_staff_only(client, who):
    for caller in ("partner", "planner", "public"):
        listed = get_json(client, "/ogc/collections", who[caller])["collections"]
        assert {c["id"] for c in listed} == AGGREGATES, caller
        hidden = client.get("/ogc/collections/reports", headers=who[caller])
        assert hidden.status_code == 404, caller
        assert "you may read hexagons, hotspots, ward-summaries" in hidden.json()["detail"]
        assert client.get("/ogc/collections/reports/items", headers=who[caller]).status_code == 403
    for caller in ("supervisor", "officer"):
        listed = get_json(client, "/ogc/collections", who[caller])["collections"]
        assert {c["id"] for c in listed} == {*AGGREGATES, "reports"}, caller
        assert get_json(client, "/ogc/collections/reports", who[caller])["id"] == "reports"
        reports = get_json(client, "/ogc/collections/reports/items", who[caller], limit=3)
        assert reports["numberReturned"] == 3 and reports["numberMatched"] > 3


def test_anonymous_qgis_gets_what_the_public_may_see(client, who):
    listed = get_json(client, "/ogc/collections", who["public"])["collections"]
    assert {c["id"] for c in listed} == AGGREGATES
    pages = follow(client, "/ogc/collections/hexagons/items", who["public"], limit=200)
    got = by_cell([f for page in pages for f in page["features"]])
    spots = by_cell(get_json(client, "/hotspots", who["public"])["features"])
    assert set(got) == set(spots)
    for key, feature in spots.items():
        assert got[key]["properties"]["count"] == feature["properties"]["count"]
        assert_protected(got[key]["properties"])
    # The public's area is every borough; the partner's default, her own.
    partner = follow(client, "/ogc/collections/hexagons/items", who["partner"], limit=500)
    assert set(by_cell([f for page in partner for f in page["features"]])) < set(got)


def test_a_supervisor_gets_exact_counts_of_her_boroughs(client, who):
    pages = follow(client, "/ogc/collections/hexagons/items", who["supervisor"], limit=1000)
    counts = [f["properties"]["count"] for page in pages for f in page["features"]]
    spots = get_json(client, "/hotspots", who["supervisor"])
    assert sorted(counts) == sorted(f["properties"]["count"] for f in spots["features"])
    assert any(0 < c < RULE.k for c in counts) and any(c % RULE.base for c in counts)
    assert pages[0]["disclosure"] is None


def test_an_item_by_its_id(client, who):
    page = get_json(client, "/ogc/collections/hotspots/items", who["partner"], limit=3, edge=1000)
    for feature in page["features"]:
        one = get_json(client, f"/ogc/collections/hotspots/items/{feature['id']}", who["partner"])
        assert one["id"] == feature["id"] and one["properties"] == feature["properties"]
        hexagon = get_json(
            client, f"/ogc/collections/hexagons/items/{feature['id']}", who["partner"]
        )
        assert hexagon["properties"]["count"] == feature["properties"]["count"]
    for missing in ("500-1-1", "not-a-cell", "250-x-3"):
        answer = client.get(f"/ogc/collections/hexagons/items/{missing}", headers=who["partner"])
        assert answer.status_code == 404, missing
        assert "edge-i-j" in answer.json()["detail"] or "borough=" in answer.json()["detail"]
    nowhere = client.get("/ogc/collections/ward-summaries/items/E05999999", headers=who["partner"])
    assert nowhere.status_code == 404 and "E05999999" in nowhere.json()["detail"]
    assert client.get("/ogc/collections/rivers", headers=who["partner"]).status_code == 404


@pytest.mark.parametrize(
    ("params", "says"),
    [
        ({"bbox": "-0.12,51.49,-0.08"}, "bbox has 3 number(s)"),
        ({"bbox": "-0.12,51.49,-0.08,north"}, "not a number"),
        ({"bbox": "-0.12,51.51,-0.08,51.49"}, "south"),
        ({"bbox": "-0.08,51.49,-0.12,51.51"}, "antimeridian"),
        ({"bbox": "-0.12,91,-0.08,92"}, "longitude comes first"),
        ({"bbox": "-0.12,51.49,nan,51.51"}, "not finite"),
        ({"limit": 0}, "limit"),
        ({"limit": "ten"}, "limit"),
        ({"offset": -1}, "offset"),
        ({"edge": 300}, "hexagon edge 300"),
        ({"month_from": "2026-13"}, "YYYY-MM"),
        ({"borough": "E09000001"}, "not in the active ward set"),
    ],
)
def test_a_bad_parameter_answers_400_saying_what_to_send(client, who, params, says):
    for collection in ("hexagons", "hotspots", "ward-summaries"):
        if "edge" in params and collection == "ward-summaries":
            continue  # wards have no cell size
        answer = client.get(
            f"/ogc/collections/{collection}/items", headers=who["partner"], params=params
        )
        assert answer.status_code == 400, (collection, answer.text)
        assert says in answer.json()["detail"], answer.json()["detail"]


def test_a_six_number_bbox_and_a_huge_limit_are_served(client, who):
    flat = ",".join(map(str, SOUTH_BANK))
    west, south, east, north = SOUTH_BANK
    tall = f"{west},{south},0,{east},{north},100"
    one = get_json(client, "/ogc/collections/hexagons/items", who["partner"], bbox=flat)
    other = get_json(client, "/ogc/collections/hexagons/items", who["partner"], bbox=tall)
    assert one["numberMatched"] == other["numberMatched"] > 0
    capped = get_json(client, "/ogc/collections/hexagons/items", who["partner"], limit=10**9)
    assert capped["numberReturned"] == capped["numberMatched"] > 0
    assert not [link for link in capped["links"] if link["rel"] == "next"]


# GDAL reads in its own process: pyogrio holds the GIL while it pages through the items, so
# a server thread of this process could not answer it. The token goes as GDAL's bearer
# authentication: its OAPIF driver sends its own headers and ignores GDAL_HTTP_HEADERS.
GDAL_READ = """
import sys, pyogrio
pyogrio.set_gdal_config_options(
    {"GDAL_HTTP_AUTH": "BEARER", "GDAL_HTTP_BEARER": sys.argv[1], "GDAL_HTTP_TIMEOUT": "60"}
)
landing, out, urls = sys.argv[2], sys.argv[3], sys.argv[4:]
print("\\n".join(str(name) for name in pyogrio.list_layers(landing)[:, 0]))
for n, url in enumerate(urls):
    pyogrio.write_dataframe(pyogrio.read_dataframe(url), out, layer=f"read{n}", driver="GPKG")
"""
# A layer with filters: GDAL carries the dataset URL's parameters onto every request it makes.
FILTERED = {"edge": "250", "category": "poor_lighting", "time_band": "evening"}


def assert_same_cells(frame: Any, expected: dict[tuple[int, int], dict[str, Any]]) -> None:
    """GDAL's features are the protected cells of /hotspots, one for one."""
    assert len(frame) == len(expected) > 40
    assert frame.crs.to_epsg() == 4326
    for row in frame.itertuples():
        cell = expected[(row.i, row.j)]["properties"]
        assert bool(row.suppressed) == cell["suppressed"]
        if cell["suppressed"]:
            assert row.count != row.count  # NaN: null in the GeoJSON
        else:
            assert row.count == cell["count"] and row.count % RULE.base == 0
    assert frame["count"].dropna().min() >= RULE.k


def test_gdal_reads_the_hexagons_as_qgis_does(app_settings, who, client, tmp_path):
    assert "OAPIF" in pyogrio.list_drivers(), "GDAL was built without its OAPIF driver"
    out = tmp_path / "read.gpkg"
    with serving(create_app(app_settings)) as base:
        read = subprocess.run(
            [
                sys.executable,
                "-c",
                GDAL_READ,
                who["partner"]["Authorization"].removeprefix("Bearer "),
                f"OAPIF:{base}/ogc",
                str(out),
                f"OAPIF:{base}/ogc/collections/hexagons",
                f"OAPIF:{base}/ogc/collections/hexagons?{urlencode(FILTERED)}",
            ],
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
    assert read.returncode == 0, read.stderr
    assert set(read.stdout.split()) == AGGREGATES  # the layers GDAL (and QGIS) offer
    plain = by_cell(get_json(client, "/hotspots", who["partner"])["features"])
    assert_same_cells(pyogrio.read_dataframe(out, layer="read0"), plain)
    filtered = by_cell(get_json(client, "/hotspots", who["partner"], **FILTERED)["features"])
    assert_same_cells(pyogrio.read_dataframe(out, layer="read1"), filtered)
    assert len(filtered) > len(plain)  # 250 m cells: the filters reached the server


def test_each_aggregate_collection_is_described_by_a_schema_of_its_types(client, who):
    # GDAL types a layer's fields from it; from a first page all suppressed, `count` was text.
    wanted = {
        "hexagons": {"i": "integer", "count": "integer", "suppressed": "boolean"},
        "hotspots": {"count": "integer", "z": "number", "p_fdr": "number", "class": "string"},
        "ward-summaries": {"ward_code": "string", "count": "integer", "suppressed": "boolean"},
    }
    for collection, types in wanted.items():
        described = get_json(client, f"/ogc/collections/{collection}", who["partner"])
        (link,) = [link for link in described["links"] if link["rel"] == "describedby"]
        assert link["type"] == "application/schema+json"
        answer = client.get(link["href"], headers=who["partner"], params={"month_from": "2000-01"})
        assert answer.status_code == 200, answer.text
        assert answer.headers["content-type"] == "application/schema+json"
        fields = answer.json()["properties"]["properties"]["properties"]
        assert {name: fields[name]["type"] for name in types} == types, collection
    reports = get_json(client, "/ogc/collections/reports", who["supervisor"])
    assert "describedby" not in {link["rel"] for link in reports["links"]}
