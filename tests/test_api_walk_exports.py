"""Walk exports: trimmed routes beyond supervisors, no buddy details, files GIS tools open."""

from __future__ import annotations

import io
import json
from pathlib import Path

import geopandas as gpd
import pandas as pd
from fastapi.testclient import TestClient
from shapely import wkt
from shapely.geometry import shape
from sqlalchemy import create_engine, text

from geo.routes import route_length_m
from service.settings import Settings
from tests.walks import walk_with_route


def _routes(settings: Settings, walk_id: str) -> tuple[str, str, list[str]]:
    engine = create_engine(settings.database_url or "")
    with engine.connect() as conn:
        row = conn.execute(
            text(
                "SELECT ST_AsText(route), ST_AsText(route_trimmed), route_wards FROM walks "
                "WHERE id = :id"
            ),
            {"id": walk_id},
        ).one()
    engine.dispose()
    return row[0], row[1], list(row[2])


def test_officers_export_trimmed_routes_and_no_buddy_details(
    client: TestClient, people: dict, app_settings: Settings
) -> None:
    walk = walk_with_route(client, people)
    full, trimmed, full_wards = _routes(app_settings, walk["id"])
    answer = client.get("/walks.geojson", headers=people["waterloo"])
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "application/geo+json"
    assert answer.headers["content-disposition"].startswith('attachment; filename="walks-')
    (feature,) = json.loads(answer.content)["features"]
    line = shape(feature["geometry"])
    assert line.equals_exact(wkt.loads(trimmed), 1e-6)
    cut = route_length_m(wkt.loads(full)) - route_length_m(line)
    assert 600 <= cut <= 900  # 300 to 450 m from each end
    properties = feature["properties"]
    assert properties["id"] == walk["id"] and properties["ward_code"] == "E05014118"
    # The trimmed route's wards only: the full route's would say where it began and ended.
    exported_wards = properties["route_wards"].split(";")
    assert set(exported_wards) <= set(full_wards)
    assert not {"buddy_id", "contact", "meeting_point", "comments", "notes"} & set(properties)
    assert "07700 900123" not in answer.text

    refused = client.get("/walks.geojson", params={"route": "full"}, headers=people["waterloo"])
    assert refused.status_code == 403 and "only supervisors" in refused.json()["detail"]
    for who in ("partner", "public"):
        assert client.get("/walks.csv", headers=people[who]).status_code == 403


def test_supervisors_may_export_full_routes_as_geopackage_on_the_british_grid(
    client: TestClient, people: dict, app_settings: Settings, tmp_path: Path
) -> None:
    walk = walk_with_route(client, people)
    full, _, full_wards = _routes(app_settings, walk["id"])
    answer = client.get(
        "/walks.gpkg", params={"route": "full", "crs": 27700}, headers=people["supervisor"]
    )
    assert answer.status_code == 200
    saved = tmp_path / "walks.gpkg"
    saved.write_bytes(answer.content)
    frame = gpd.read_file(saved, layer="walks")
    assert frame.crs.to_epsg() == 27700 and len(frame) == 1
    back = frame.to_crs(4326).geometry.iloc[0]
    assert back.equals_exact(wkt.loads(full), 1e-6)
    assert frame["route_wards"].iloc[0].split(";") == sorted(full_wards)
    assert (
        client.get("/walks.gpkg", params={"crs": 3857}, headers=people["supervisor"]).status_code
        == 422
    )


def test_the_csv_has_one_row_a_walk_with_the_route_as_wkt(
    client: TestClient, people: dict, app_settings: Settings
) -> None:
    walk = walk_with_route(client, people)
    _, trimmed, _ = _routes(app_settings, walk["id"])
    client.post(
        f"/walks/{walk['id']}/surveys/baseline", headers=people["waterloo"], json={"safety": 2}
    )
    answer = client.get("/walks.csv", headers=people["supervisor"])
    assert answer.headers["content-type"].startswith("text/csv")
    table = pd.read_csv(io.BytesIO(answer.content))
    assert len(table) == 1
    assert list(table.columns)[-1] == "route_wkt"
    row = table.iloc[0]
    assert wkt.loads(row["route_wkt"]).equals_exact(wkt.loads(trimmed), 1e-6)
    assert row["baseline_safety"] == 2 and row["kind"] == "commute"
    assert pd.isna(row["felt_safer"]) and bool(row["synthetic"]) is False
