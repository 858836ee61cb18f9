"""Exports a council GIS opens, and the OGC API Features endpoints QGIS reads."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from pathlib import Path

import geopandas as gpd
from fastapi.testclient import TestClient

GOOD = {
    "lon": -0.1136,
    "lat": 51.5033,
    "categories": ["poor_lighting"],
    "date": "2026-11-20",
    "time_band": "evening",
}


def _two_published(client: TestClient, supervisor: dict[str, str]) -> list[str]:
    ids = []
    for lon in (-0.1136, -0.1130):
        ids.append(client.post("/reports", json={**GOOD, "lon": lon}).json()["id"])
    for report_id in ids:
        client.post(
            f"/moderation/{report_id}",
            headers=supervisor,
            json={"action": "publish", "reason": "checked"},
        )
    return ids


def test_exports_open_in_geopandas_and_a_spreadsheet(
    client: TestClient, issue_token: Callable[..., str], tmp_path: Path
) -> None:
    supervisor = {"Authorization": f"Bearer {issue_token('supervisor', command_unit='AS')}"}
    ids = _two_published(client, supervisor)

    as_csv = client.get("/reports.csv", headers=supervisor)
    assert as_csv.status_code == 200
    assert 'filename="reports-' in as_csv.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(as_csv.text)))
    assert sorted(r["id"] for r in rows) == sorted(ids)
    assert {r["ward_code"] for r in rows} == {"E05014118"}
    assert rows[0]["categories"] == "poor_lighting"

    for fmt in ("geojson", "gpkg"):
        response = client.get(f"/reports.{fmt}", headers=supervisor)
        assert response.status_code == 200
        path = tmp_path / f"reports.{fmt}"
        path.write_bytes(response.content)
        frame = gpd.read_file(path)
        assert sorted(frame["id"]) == sorted(ids)
        assert frame.crs.to_epsg() == 4326
    bng = client.get("/reports.gpkg", headers=supervisor, params={"crs": 27700})
    (tmp_path / "bng.gpkg").write_bytes(bng.content)
    frame = gpd.read_file(tmp_path / "bng.gpkg")
    assert frame.crs.to_epsg() == 27700
    assert 530000 < frame.geometry.x.min() < 532000

    filtered = client.get("/reports.csv", headers=supervisor, params={"category": "followed"})
    assert list(csv.DictReader(io.StringIO(filtered.text))) == []
    officer = {"Authorization": f"Bearer {issue_token('officer', wards=['E05014118'])}"}
    assert client.get("/reports.csv", headers=officer).status_code == 403
    entries = client.get("/audit", headers=supervisor).json()["entries"]
    assert any(e["action"] == "export reports as gpkg" for e in entries)


def test_ogc_api_features(client: TestClient, issue_token: Callable[..., str]) -> None:
    supervisor = {"Authorization": f"Bearer {issue_token('supervisor', command_unit='AS')}"}
    ids = _two_published(client, supervisor)
    landing = client.get("/ogc").json()
    rels = {link["rel"] for link in landing["links"]}
    assert {"self", "service-desc", "conformance", "data"} <= rels
    conformance = client.get("/ogc/conformance").json()["conformsTo"]
    assert "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson" in conformance
    # The exact reports are listed for staff only (issue 10: the public gets the aggregates).
    listed = client.get("/ogc/collections", headers=supervisor).json()["collections"]
    (collection,) = [c for c in listed if c["id"] == "reports"]
    assert "reports" not in {c["id"] for c in client.get("/ogc/collections").json()["collections"]}
    west, south, east, north = collection["extent"]["spatial"]["bbox"][0]
    assert -0.16 < west < east < -0.03 and 51.40 < south < north < 51.52
    items = client.get(
        "/ogc/collections/reports/items", headers=supervisor, params={"limit": 1}
    ).json()
    assert items["numberMatched"] == 2 and len(items["features"]) == 1
    assert any(link["rel"] == "next" for link in items["links"])
    one = client.get(f"/ogc/collections/reports/items/{ids[0]}", headers=supervisor)
    assert one.json()["id"] == ids[0]
    assert client.get("/ogc/collections/reports/items").status_code == 403
    partner = {"Authorization": f"Bearer {issue_token('partner', boroughs=['E09000022'])}"}
    assert client.get("/ogc/collections/reports/items", headers=partner).status_code == 403
