"""GET /assets and /assets/inventories by role, their bbox rules, and the lookups others use."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import pytest
import shapely
from fastapi.testclient import TestClient
from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from service.queries import assets as queries
from service.routers import assets as router
from service.settings import Settings

ASSETS = Path(__file__).resolve().parents[1] / "data" / "assets"
CAMDEN = ASSETS / "Camden_Street_Lighting.csv"
LAMBETH = ASSETS / "cctv.geojson"
# Around Waterloo station and the South Bank (Lambeth).
WATERLOO_BOX = (-0.1250, 51.4950, -0.1000, 51.5100)
CAMDEN_TOWN_BOX = (-0.1500, 51.5300, -0.1300, 51.5450)


def _load(session: Session, path: Path, kind: str, covers: tuple[str, ...]) -> None:
    queries.import_assets(
        session,
        path.read_bytes(),
        path.name,
        kind=kind,
        covers=covers,
        attribution=f"attribution of {path.name}",
        loaded_by="tests",
    )


@pytest.fixture
def loaded(app_settings: Settings) -> None:
    """Lambeth's cameras (covering Lambeth) and Camden's lights (covering Camden), stored."""
    engine = create_engine(app_settings.database_url or "")
    with Session(engine) as session, session.begin():
        _load(session, LAMBETH, "camera", ("E09000022",))
        _load(session, CAMDEN, "light", ("E09000007",))
    engine.dispose()


def _box(box: tuple[float, ...]) -> str:
    return ",".join(str(v) for v in box)


def _expected_in_box(box: tuple[float, float, float, float]) -> set[str]:
    cameras = gpd.read_file(LAMBETH)
    return set(cameras.cx[box[0] : box[2], box[1] : box[3]]["FULL_ID"])


Auth = Callable[..., str]


@pytest.fixture
def callers(issue_token: Auth) -> dict[str, dict[str, str]]:
    """Request headers of each role."""

    def auth(token: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}"}

    return {
        "officer": auth(issue_token("officer", wards=["E05014118"])),
        "supervisor": auth(issue_token("supervisor", command_unit="AS")),
        "partner": auth(issue_token("partner", boroughs=["E09000028"])),
        "planner": auth(issue_token("planner", boroughs=["E09000007"])),
        "public": {},
    }


def test_every_signed_in_role_but_the_public_reads_the_assets_in_a_box(
    client: TestClient, loaded: None, callers: dict[str, dict[str, str]]
) -> None:
    expected = _expected_in_box(WATERLOO_BOX)
    assert len(expected) > 10
    for role in ("officer", "supervisor", "partner", "planner"):
        answer = client.get(
            "/assets", params={"bbox": _box(WATERLOO_BOX)}, headers=callers[role]
        )
        assert answer.status_code == 200, (role, answer.text)
        body = answer.json()
        assert body["type"] == "FeatureCollection"
        assert {f["properties"]["ref"] for f in body["features"]} == expected
        assert body["numberMatched"] == body["numberReturned"] == len(expected)
        assert body["attribution"] == ["attribution of cctv.geojson"]
        feature = body["features"][0]
        assert feature["geometry"]["type"] == "Point"
        lon, lat = feature["geometry"]["coordinates"]
        assert WATERLOO_BOX[0] <= lon <= WATERLOO_BOX[2]
        assert WATERLOO_BOX[1] <= lat <= WATERLOO_BOX[3]
        assert feature["properties"]["kind"] == "camera"
        assert feature["properties"]["inventory"] == "cctv"
        assert feature["properties"]["properties"]["SITE_TYPE_DESC"].startswith(("CCTV", "Ultra"))
    # Waterloo's cameras lie in the Waterloo & South Bank ward, as the active set places them.
    assert "E05014118" in {f["properties"]["ward_code"] for f in body["features"]}

    for path in ("/assets", "/assets/inventories"):
        refused = client.get(path, params={"bbox": _box(WATERLOO_BOX)})
        assert refused.status_code == 403
        assert "sign in" in refused.json()["detail"]


def test_kind_chooses_lights_or_cameras(
    client: TestClient, loaded: None, callers: dict[str, dict[str, str]]
) -> None:
    lights = gpd.read_file(CAMDEN)  # GDAL reads the CSV's columns as text
    easting, northing = lights["Easting"].astype(float), lights["Northing"].astype(float)
    placed = gpd.GeoSeries(gpd.points_from_xy(easting, northing), crs=27700).to_crs(4326)
    west, south, east, north = CAMDEN_TOWN_BOX
    inside = int(placed.cx[west:east, south:north].size)
    assert inside > 100
    for kind, count in (("light", inside), ("camera", 0), (None, inside)):
        params = {"bbox": _box(CAMDEN_TOWN_BOX)} | ({"kind": kind} if kind else {})
        body = client.get("/assets", params=params, headers=callers["planner"]).json()
        assert body["numberReturned"] == count, kind
        assert {f["properties"]["kind"] for f in body["features"]} <= {"light"}
    bad = client.get(
        "/assets", params={"bbox": _box(CAMDEN_TOWN_BOX), "kind": "lamp"},
        headers=callers["planner"],
    )  # fmt: skip
    assert bad.status_code == 422


@pytest.mark.parametrize(
    ("bbox", "words"),
    [
        ("-0.12,51.49,-0.08", "bbox has 3 number(s), not 4"),
        ("a,b,c,d", "not a number"),
        ("-0.12,51.51,-0.08,51.49", "south (51.51) above its north"),
        ("51.49,-0.12,51.51,-0.08", "outside Great Britain, where every asset is: longitude"),
        ("-0.5,51.3,0.1,51.7", "at most 10 km each way is served; zoom in"),
        ("-0.12,51.49,nan,51.51", "not finite"),
        ("", "bbox is empty"),
    ],
)
def test_a_bad_or_too_large_bbox_is_a_422_saying_what_to_send(
    client: TestClient, callers: dict[str, dict[str, str]], bbox: str, words: str
) -> None:
    answer = client.get("/assets", params={"bbox": bbox}, headers=callers["officer"])
    assert answer.status_code == 422, answer.text
    assert words in answer.json()["detail"]


def test_a_box_with_too_many_assets_is_refused_not_cut_short(
    client: TestClient,
    loaded: None,
    callers: dict[str, dict[str, str]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(router, "MAX_ASSETS", 100)
    answer = client.get(
        "/assets", params={"bbox": _box(CAMDEN_TOWN_BOX)}, headers=callers["supervisor"]
    )
    assert answer.status_code == 422
    assert "more than 100 are served at once: zoom in" in answer.json()["detail"]
    assert client.get("/assets", headers=callers["supervisor"]).status_code == 422


def test_inventories_say_what_they_hold_and_cover(
    client: TestClient, loaded: None, callers: dict[str, dict[str, str]]
) -> None:
    answer = client.get("/assets/inventories", headers=callers["partner"])
    assert answer.status_code == 200
    features = answer.json()["features"]
    by_name = {f["properties"]["name"]: f for f in features}
    assert set(by_name) == {"cctv", "Camden_Street_Lighting"}
    cctv = by_name["cctv"]["properties"]
    assert (cctv["kind"], cctv["assets"], cctv["in_wards"], cctv["rows_skipped"]) == (
        "camera", 470, 379, 0,
    )  # fmt: skip
    assert cctv["attribution"] == "attribution of cctv.geojson"
    assert cctv["coverage_note"] == "covers what --covers named: Lambeth (E09000022)"
    coverage = shapely.geometry.shape(by_name["cctv"]["geometry"])
    assert coverage.geom_type == "MultiPolygon"
    assert coverage.contains(shapely.Point(-0.1136, 51.5033))  # Waterloo
    assert not coverage.contains(shapely.Point(-0.0925, 51.5045))  # Borough, Southwark
    assert by_name["Camden_Street_Lighting"]["properties"]["assets"] == 9527


# -- the lookups the evidence and the gaps use ------------------------------------------------


def test_assets_within_counts_what_lies_within_so_many_metres(db: Session) -> None:
    _load(db, LAMBETH, "camera", ("E09000022",))
    _load(db, CAMDEN, "light", ("E09000007",))
    cameras = gpd.read_file(LAMBETH)
    lights = pd.read_csv(CAMDEN)
    lamps = gpd.GeoSeries(
        gpd.points_from_xy(lights["Easting"], lights["Northing"]), crs=27700
    ).to_crs(4326)
    ellipsoid = pyproj.Geod(ellps="WGS84")

    def near(points: gpd.GeoSeries, lon: float, lat: float, metres: float) -> int:
        # Distances on the ellipsoid, as PostGIS' geography measures them.
        n = len(points)
        _, _, apart = ellipsoid.inv([lon] * n, [lat] * n, points.x, points.y)
        return int((np.asarray(apart) <= metres).sum())

    for lon, lat, metres in (
        (-0.1136, 51.5033, 200.0),  # Waterloo: one camera 200.01 m away, one 199.97 m (grid)
        (-0.1136, 51.5033, 500.0),
        (-0.1426, 51.5390, 50.0),  # Camden Town
        (-0.1426, 51.5390, 300.0),
        (-0.0925, 51.5045, 100.0),  # Borough
    ):
        counts = queries.assets_within(db, f"POINT({lon} {lat})", metres)
        assert counts == {
            "light": near(lamps, lon, lat, metres),
            "camera": near(cameras.geometry, lon, lat, metres),
        }, (lon, lat, metres)
    assert queries.assets_within(db, "POINT(-0.1136 51.5033)", 500.0)["camera"] > 10
    line = "LINESTRING(-0.1180 51.5010, -0.1100 51.5040)"
    assert queries.assets_within(db, line, 30, "camera")["light"] == 0
    assert queries.assets_within(db, line, 30, "camera")["camera"] >= 1
    with pytest.raises(ValueError, match="kind must be one of"):
        queries.assets_within(db, line, 30, "lamp")


def test_inside_coverage_only_where_an_inventory_lists_everything(db: Session) -> None:
    _load(db, LAMBETH, "camera", ("E09000022",))
    _load(db, CAMDEN, "light", ("E05011095",))  # lights "covering" Borough & Bankside only
    waterloo = "POINT(-0.1136 51.5033)"
    borough = "POINT(-0.0925 51.5045)"
    assert queries.inside_coverage(db, waterloo, "camera") is True
    assert queries.inside_coverage(db, borough, "camera") is False
    assert queries.inside_coverage(db, waterloo, "light") is False
    assert queries.inside_coverage(db, borough, "light") is True
    # A street crossing from Lambeth into Southwark is not wholly inside the cameras' area.
    across = "LINESTRING(-0.1136 51.5033, -0.0925 51.5045)"
    assert queries.inside_coverage(db, across, "camera") is False
