"""The ward endpoints and /healthz through the real app (lifespan entered, fresh database)."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from service.settings import Settings

PROBLEM_KEYS = {"type", "title", "status", "detail"}


def _is_problem(response, status: int) -> dict:  # type: ignore[no-untyped-def]
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert set(body) >= PROBLEM_KEYS and body["status"] == status
    return body


def test_healthz_names_postgis_and_the_active_set(client: TestClient) -> None:
    body = client.get("/healthz").json()
    assert body["database"] == "reachable"
    assert body["postgis_version"].split(".")[0] == "3"
    assert body["active_ward_set"]["name"] == "pilot-2024"
    assert body["active_ward_set"]["wards"] == 48


def test_wards_collection_and_borough_filter(client: TestClient) -> None:
    response = client.get("/wards")
    assert response.headers["content-type"] == "application/geo+json"
    features = response.json()["features"]
    assert len(features) == 48
    assert {f["properties"]["borough_name"] for f in features} == {"Lambeth", "Southwark"}
    by_code = client.get("/wards", params={"borough": "E09000022"}).json()["features"]
    by_name = client.get("/wards", params={"borough": "lambeth"}).json()["features"]
    assert len(by_code) == len(by_name) == 25
    assert {f["id"] for f in by_code} == {f["id"] for f in by_name}


def test_simplify_reduces_vertices_but_keeps_every_ward(client: TestClient) -> None:
    def vertices(collection: dict) -> int:
        return sum(
            len(ring)
            for f in collection["features"]
            for polygon in f["geometry"]["coordinates"]
            for ring in polygon
        )

    full = client.get("/wards").json()
    simple = client.get("/wards", params={"simplify": 25}).json()
    assert len(simple["features"]) == 48
    assert vertices(simple) < vertices(full) / 3


@pytest.mark.parametrize("value", ["0", "-5", "nan", "inf", "5000"])
def test_bad_simplify_is_422(client: TestClient, value: str) -> None:
    body = _is_problem(client.get("/wards", params={"simplify": value}), 422)
    assert "simplify" in body["detail"]


def test_unknown_borough_lists_the_known_ones(client: TestClient) -> None:
    body = _is_problem(client.get("/wards", params={"borough": "Camden"}), 404)
    assert "E09000022 (Lambeth)" in body["detail"] and "E09000028 (Southwark)" in body["detail"]


def test_one_ward(client: TestClient) -> None:
    feature = client.get("/wards/E05014118").json()
    assert feature["type"] == "Feature"
    assert feature["properties"]["name"] == "Waterloo & South Bank"
    # The ONS file gives this ward's area; PostGIS in BNG should agree to within a hectare.
    assert 90 < feature["properties"]["area_ha"] < 200
    body = _is_problem(client.get("/wards/E05000644"), 404)
    assert "E05000644" in body["detail"]


def test_lookup_waterloo(client: TestClient) -> None:
    response = client.get("/wards/lookup", params={"lon": -0.1136, "lat": 51.5033})
    assert response.status_code == 200
    assert response.json() == {
        "code": "E05014118",
        "name": "Waterloo & South Bank",
        "borough_code": "E09000022",
        "borough_name": "Lambeth",
        "ward_set": "pilot-2024",
    }


@pytest.mark.parametrize(
    ("lon", "lat"), [(-0.1200, 51.5070), (-0.1276, 51.5007)], ids=["thames", "westminster"]
)
def test_lookup_outside_every_ward_is_404(client: TestClient, lon: float, lat: float) -> None:
    body = _is_problem(client.get("/wards/lookup", params={"lon": lon, "lat": lat}), 404)
    assert body["title"] == "Outside the service area"
    assert "outside every ward" in body["detail"]


@pytest.mark.parametrize(
    ("lon", "lat", "named"),
    [
        ("nan", "51.5", "lon"),
        ("-0.1", "NaN", "lat"),
        ("inf", "51.5", "lon"),
        ("-0.1", "-inf", "lat"),
        ("181", "51.5", "lon"),
        ("-0.1", "91", "lat"),
        ("abc", "51.5", "lon"),
    ],
)
def test_lookup_bad_coordinates_are_422(client: TestClient, lon: str, lat: str, named: str) -> None:
    body = _is_problem(client.get("/wards/lookup", params={"lon": lon, "lat": lat}), 422)
    assert body["detail"].startswith(f"query.{named}:")


def test_lookup_missing_parameter_is_422(client: TestClient) -> None:
    body = _is_problem(client.get("/wards/lookup", params={"lon": "-0.1"}), 422)
    assert "query.lat: Field required" in body["detail"]


def test_unknown_route_is_a_problem_too(client: TestClient) -> None:
    _is_problem(client.get("/no-such-thing"), 404)


def test_healthz_reports_missing_map_assets(app_settings: Settings, tmp_path: Path) -> None:
    from service.app import create_app

    broken = app_settings.model_copy(update={"assets_dir": tmp_path / "no-assets"})
    with TestClient(create_app(broken)) as client:
        body = client.get("/healthz").json()
        assert body["status"] == "degraded"
        assert "npm ci --prefix maps/vendor" in body["map_assets"]
        missing = client.get("/static/vendor/leaflet/dist/leaflet.js")
        assert missing.status_code == 503
        assert "npm ci --prefix maps/vendor" in missing.json()["detail"]


def test_installed_map_assets_are_served(client: TestClient) -> None:
    assert client.get("/healthz").json()["map_assets"] == "installed"
    leaflet = client.get("/static/vendor/leaflet/dist/leaflet.js")
    assert leaflet.status_code == 200
    assert "javascript" in leaflet.headers["content-type"]
    assert b"Leaflet 1.9.3" in leaflet.content[:500]
    assert client.get("/static/vendor/leaflet/package.json").status_code == 404
    assert client.get("/static/vendor/../../service/settings.py").status_code == 404
