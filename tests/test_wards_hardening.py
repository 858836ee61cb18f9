"""Issue 9: ward files refused at load, borough codes found and kept fresh, ward sets deleted.

Files are derived on the fly from the bundled boundary files (``boundaries/data``): the pilot
wards (ONS, WD24CD/LAD24CD, EPSG:4326) and London's 2018 wards (GLA, MapInfo, EPSG:27700).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import geopandas as gpd
import pytest
import shapely
from fastapi.testclient import TestClient
from shapely.affinity import translate
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

from boundaries.bundled import LONDON_WARDS_2018, PILOT_WARDS
from boundaries.reading import BoundaryFileError, read_boroughs, read_wards
from service.auth import Role
from service.errors import Conflict
from service.queries import demo, participation
from service.queries import tokens as token_queries
from service.queries import wards as queries
from service.queries.demo_walks import seed_walks

Run = Callable[..., tuple[int, str, str]]

LAMBETH, SOUTHWARK = "E09000022", "E09000028"
WATERLOO = "E05014118"
BNG_FIX = "load it with --crs EPSG:27700"


@pytest.fixture(scope="module")
def pilot_raw() -> gpd.GeoDataFrame:
    """The pilot file as GDAL reads it, without the FID a GeoPackage would take as row ids."""
    return gpd.read_file(PILOT_WARDS.path).drop(columns="FID")


@pytest.fixture(scope="module")
def london_raw() -> gpd.GeoDataFrame:
    """London's 2018 wards as GDAL reads them (NAME, GSS_CODE, DISTRICT, LAGSSCODE, ...)."""
    return gpd.read_file(LONDON_WARDS_2018.path)


def write_geojson(frame: gpd.GeoDataFrame, path: Path, crs_member: dict | None) -> Path:
    """Write ``frame``'s coordinates as they are, with the given ``crs`` member or none."""
    collection = json.loads(frame.to_json(drop_id=True))
    collection.pop("crs", None)
    if crs_member is not None:
        collection["crs"] = crs_member
    path.write_text(json.dumps(collection))
    return path


CRS84 = {"type": "name", "properties": {"name": "urn:ogc:def:crs:OGC:1.3:CRS84"}}


# --- 3. metres labelled as degrees, and wards nowhere near Great Britain -------------------------


@pytest.mark.parametrize("crs_member", [CRS84, None], ids=["crs84-member", "no-crs-member"])
def test_bng_geojson_labelled_as_degrees_is_refused(tmp_path, pilot_raw, crs_member) -> None:
    path = write_geojson(pilot_raw.to_crs(27700), tmp_path / "bng.geojson", crs_member)
    with pytest.raises(BoundaryFileError) as refused:
        read_wards(path)
    message = str(refused.value)
    assert re.search(r"coordinates like 5\d{5}, 1\d{5} are metres, not degrees", message)
    assert "British National Grid" in message and BNG_FIX in message


def test_bng_file_loaded_with_crs_4326_is_refused(tmp_path, pilot_raw) -> None:
    path = tmp_path / "bng.gpkg"
    pilot_raw.to_crs(27700).to_file(path, engine="pyogrio")
    with pytest.raises(BoundaryFileError, match=re.escape(BNG_FIX)) as refused:
        read_wards(path, crs="EPSG:4326")
    assert "The CRS given as crs='EPSG:4326' (--crs) is longitude/latitude" in str(refused.value)
    # The file's own CRS is right: read without the override it loads.
    assert len(read_wards(path).wards) == 48


def test_boroughs_in_metres_labelled_as_degrees_are_refused(tmp_path) -> None:
    boroughs = gpd.read_file(
        Path(PILOT_WARDS.path).parents[1] / "london_boroughs" / "London_Borough_Excluding_MHW.shp"
    )
    path = write_geojson(boroughs.to_crs(27700), tmp_path / "boroughs.geojson", None)
    with pytest.raises(BoundaryFileError, match=re.escape(BNG_FIX)):
        read_boroughs(path)


def test_one_ward_out_of_lon_lat_range_is_refused_by_code(tmp_path, pilot_raw) -> None:
    mixed = pilot_raw.copy()
    row = mixed.index[mixed["WD24CD"] == WATERLOO][0]
    mixed.loc[[row], "geometry"] = gpd.GeoSeries(
        [mixed.to_crs(27700).geometry[row]], index=[row], crs=4326
    )
    path = write_geojson(mixed, tmp_path / "mixed.geojson", CRS84)
    with pytest.raises(BoundaryFileError, match=rf"such coordinates: \['{WATERLOO}'\]") as refused:
        read_wards(path)
    assert BNG_FIX in str(refused.value)


def test_other_coordinates_out_of_lon_lat_range_name_no_wrong_fix(tmp_path, pilot_raw) -> None:
    # Web Mercator metres are no British National Grid: the message must not say they are.
    path = write_geojson(pilot_raw.to_crs(3857), tmp_path / "mercator.geojson", CRS84)
    with pytest.raises(BoundaryFileError, match="outside longitude/latitude range") as refused:
        read_wards(path)
    message = str(refused.value)
    assert "British National Grid" not in message
    assert "--crs" in message


def test_degrees_labelled_as_metres_are_refused(tmp_path, pilot_raw) -> None:
    path = tmp_path / "degrees.gpkg"
    pilot_raw.set_crs(27700, allow_override=True).to_file(path, engine="pyogrio")
    with pytest.raises(BoundaryFileError, match=r"are degrees, not metres") as refused:
        read_wards(path)
    assert "--crs EPSG:4326" in str(refused.value)


def test_latitude_longitude_swapped_is_refused(tmp_path, pilot_raw) -> None:
    swapped = pilot_raw.set_geometry(
        shapely.transform(pilot_raw.geometry.to_numpy(), lambda xy: xy[:, ::-1])
    )
    path = write_geojson(swapped, tmp_path / "swapped.geojson", CRS84)
    with pytest.raises(BoundaryFileError, match="not in or near Great Britain") as refused:
        read_wards(path)
    assert "latitude and longitude swapped" in str(refused.value)


def test_wards_nowhere_near_great_britain_are_refused(tmp_path, pilot_raw) -> None:
    # Lambeth and Southwark moved to New York: real lon/lat, just not ours.
    moved = pilot_raw.set_geometry(pilot_raw.geometry.map(lambda g: translate(g, -73.9, -10.8)))
    path = write_geojson(moved, tmp_path / "new_york.geojson", CRS84)
    with pytest.raises(BoundaryFileError, match="not in or near Great Britain") as refused:
        read_wards(path)
    message = str(refused.value)
    assert repr(pilot_raw["WD24CD"][0]) in message and "... and 28 more" in message
    assert "longitude/latitude like -74.0" in message


def test_one_ward_far_away_is_refused_by_code(tmp_path, pilot_raw) -> None:
    moved = pilot_raw.copy()
    row = moved.index[moved["WD24CD"] == WATERLOO][0]
    moved.loc[row, "geometry"] = translate(moved.geometry[row], 20.0, 0.0)
    path = write_geojson(moved, tmp_path / "one_away.geojson", CRS84)
    with pytest.raises(BoundaryFileError, match=rf"wards outside: \['{WATERLOO}'\]"):
        read_wards(path)


# --- 4a. borough codes found under their common names, or the file refused ----------------------


@pytest.mark.parametrize(
    ("code_column", "name_column"),
    [
        ("LB_GSS_CD", "BOROUGH"),  # the GLA's London ward files
        ("LAD22CD", "LAD22NM"),
        ("LAD23CD", "LAD23NM"),
        ("lad25cd", "lad25nm"),
        ("LTLA22CD", "LTLA22NM"),
    ],
)
def test_borough_columns_are_recognised(tmp_path, pilot_raw, code_column, name_column) -> None:
    frame = pilot_raw[["WD24CD", "WD24NM", "LAD24CD", "LAD24NM", "geometry"]].rename(
        columns={"LAD24CD": code_column, "LAD24NM": name_column}
    )
    path = tmp_path / "wards.gpkg"
    frame.to_file(path, engine="pyogrio")
    wards = read_wards(path).wards
    assert wards["borough_code"].value_counts().to_dict() == {LAMBETH: 25, SOUTHWARK: 23}
    assert set(wards["borough_name"]) == {"Lambeth", "Southwark"}


def test_gla_london_ward_file_keeps_its_33_boroughs(tmp_path, london_raw) -> None:
    # The GLA's City-merged ward file names its borough columns LB_GSS_CD and BOROUGH.
    gla = london_raw.rename(columns={"LAGSSCODE": "LB_GSS_CD", "DISTRICT": "BOROUGH"})
    path = tmp_path / "London_Ward_CityMerged.gpkg"
    gla.to_file(path, engine="pyogrio")
    wards = read_wards(path).wards
    assert len(wards) == 657
    assert wards["borough_code"].nunique() == 33
    assert (wards["borough_code"] != "").all()
    assert int((wards["borough_code"] == LAMBETH).sum()) == 21


def test_ward_file_without_borough_codes_is_refused(tmp_path, pilot_raw) -> None:
    frame = pilot_raw[["WD24CD", "WD24NM", "geometry"]].assign(council="Lambeth")
    path = tmp_path / "no_borough.gpkg"
    frame.to_file(path, engine="pyogrio")
    with pytest.raises(BoundaryFileError) as refused:
        read_wards(path)
    message = str(refused.value)
    assert "no borough code field found" in message
    assert "its fields are ['WD24CD', 'WD24NM', 'council']" in message
    assert "--borough-field" in message


def test_borough_field_option_reads_an_unusual_column(tmp_path, pilot_raw) -> None:
    frame = pilot_raw[["WD24CD", "WD24NM", "LAD24CD", "geometry"]].rename(
        columns={"LAD24CD": "council_gss"}
    )
    path = tmp_path / "council.gpkg"
    frame.to_file(path, engine="pyogrio")
    wards = read_wards(path, borough_field="council_gss").wards
    assert wards["borough_code"].value_counts().to_dict() == {LAMBETH: 25, SOUTHWARK: 23}
    # No borough name column: names stay empty, codes are what scoping needs.
    assert set(wards["borough_name"]) == {""}


def test_blank_borough_codes_are_refused_by_ward(tmp_path, pilot_raw) -> None:
    frame = pilot_raw.copy()
    frame.loc[frame["WD24CD"] == WATERLOO, "LAD24CD"] = "  "
    path = tmp_path / "blank_borough.gpkg"
    frame.to_file(path, engine="pyogrio")
    with pytest.raises(BoundaryFileError, match=rf"blank borough codes for wards \['{WATERLOO}'\]"):
        read_wards(path)


def test_cli_refuses_a_ward_file_without_borough_codes(
    walktalk: Run, fresh_db: str, tmp_path: Path, pilot_raw
) -> None:
    path = tmp_path / "no_borough.geojson"
    pilot_raw[["WD24CD", "WD24NM", "geometry"]].to_file(path, engine="pyogrio")
    before = _set_names(fresh_db)
    code, _, err = walktalk("wards", "load", str(path), "--set", "no-boroughs")
    assert code == 1
    assert "--borough-field" in err and "['WD24CD', 'WD24NM']" in err
    assert _set_names(fresh_db) == before


def test_cli_refuses_bng_loaded_as_degrees_and_stores_nothing(
    walktalk: Run, fresh_db: str, tmp_path: Path, pilot_raw
) -> None:
    path = tmp_path / "bng.gpkg"
    pilot_raw.to_crs(27700).to_file(path, engine="pyogrio")
    before = _set_names(fresh_db)
    code, _, err = walktalk(
        "wards", "load", str(path), "--crs", "EPSG:4326", "--set", "bng", "--activate"
    )
    assert code == 1
    assert BNG_FIX in err
    assert _set_names(fresh_db) == before


def _set_names(url: str) -> list[tuple[str, bool]]:
    engine = create_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT name, is_active FROM ward_sets ORDER BY name")).all()
    engine.dispose()
    return [(r.name, r.is_active) for r in rows]


# --- 4b. activation re-derives every stored ward and borough code ------------------------------

SWAP = {LAMBETH: SOUTHWARK, SOUTHWARK: LAMBETH}
NAMES = {LAMBETH: "Lambeth", SOUTHWARK: "Southwark"}
# Every column that holds a ward or borough code, wherever a table keeps one.
AREA_COLUMNS = (
    "ward_code",
    "borough_code",
    "ward_codes",
    "borough_codes",
    "route_wards",
    "home_ward",
    "work_ward",
)


def test_every_table_with_area_codes_is_kept_fresh_by_activation(db: Session) -> None:
    tables = set(
        db.execute(
            text(
                "SELECT DISTINCT table_name FROM information_schema.columns "
                "WHERE table_schema = 'public' AND column_name = ANY(:columns)"
            ),
            {"columns": list(AREA_COLUMNS)},
        ).scalars()
    )
    assert tables - {"wards"} == queries.AREA_CODED_TABLES


def _seed_every_area_coded_table(db: Session) -> None:
    """Rows in every table that carries area codes, placed by the pilot set (active)."""
    demo.seed_reports(db, 120, seed=5)
    import_id = db.execute(
        text(
            "INSERT INTO imports (kind, sha256, file_name, rows_stored, rows_skipped, "
            "imported_by) VALUES ('crimes', 'x', 'street.csv', 2, 0, 'tests') RETURNING id"
        )
    ).scalar_one()
    db.execute(
        text(
            "INSERT INTO crimes (crime_id, police_uk_id, month, crime_type, falls_within, "
            "lsoa_code, lsoa_name, street_name, outcome, geom, ward_code, borough_code, "
            "import_id) VALUES "
            "('c1', '1', '2025-01-01', 'Robbery', 'Met', 'E01', 'L', 'On or near X', '', "
            " ST_SetSRID(ST_MakePoint(-0.1136, 51.5033), 4326), 'E05014118', :lambeth, :imp), "
            "('c2', '2', '2025-01-01', 'Robbery', 'Met', 'E01', 'L', 'On or near Y', '', "
            " ST_SetSRID(ST_MakePoint(-0.0909, 51.5055), 4326), 'E05011095', :southwark, :imp)"
        ),
        {"lambeth": LAMBETH, "southwark": SOUTHWARK, "imp": import_id},
    )
    seed_walks(db, key=b"k" * 32, count=6, seed=2, streets=None, today=date(2026, 12, 1))
    # A street light and a request to a partner (the planners' tables, placed by point).
    inventory = db.execute(
        text(
            "INSERT INTO asset_inventories (kind, name, file_name, sha256, attribution, coverage, "
            "coverage_note, assets, rows_skipped, loaded_by) VALUES ('light', 'test lights', "
            "'lights.csv', 'x', 'test', ST_Multi(ST_MakeEnvelope(-0.2, 51.4, 0, 51.6, 4326)), "
            "'test', 1, 0, 'tests') RETURNING id"
        )
    ).scalar_one()
    db.execute(
        text(
            "INSERT INTO assets (inventory_id, kind, geom, ward_code, borough_code) VALUES "
            "(:inv, 'light', ST_SetSRID(ST_MakePoint(-0.1136, 51.5033), 4326), 'E05014118', "
            ":lambeth)"
        ),
        {"inv": inventory, "lambeth": LAMBETH},
    )
    db.execute(
        text(
            "INSERT INTO partner_requests (reference, kind, title, geom, ward_code, borough_code, "
            "partner_borough, partner_team, raised_by, raised_role) VALUES ('RQ-TEST01', "
            "'lighting', 'Light the arches', ST_SetSRID(ST_MakePoint(-0.0909, 51.5055), 4326), "
            "'E05011095', :southwark, :southwark, 'Street lighting', 'tests', 'planner')"
        ),
        {"southwark": SOUTHWARK},
    )
    ward = participation.find_ward(db, WATERLOO)
    assert ward is not None
    participation.create_request(
        db,
        ward=ward,
        availability=["evening"],
        contact="07700 900123",
        consent_at=datetime.now(UTC),
    )
    for role, scope in (
        (Role.officer, {"wards": [WATERLOO, "E05011095"]}),
        (Role.supervisor, {"boroughs": [LAMBETH]}),
    ):
        token_queries.create_token(
            db,
            key=b"k" * 32,
            role=role,
            name=f"test {role.value}",
            scope=token_queries.resolve_scope(db, role, **scope),
            expires_at=token_queries.parse_expiry("1d"),
            created_by="tests",
        )


def _area_codes(db: Session) -> dict[str, dict[Any, tuple[Any, ...]]]:
    """Every stored area code, by table and row."""
    queries_by_table = {
        "reports": "SELECT id, ward_code, borough_code FROM reports",
        "crimes": "SELECT id, ward_code, borough_code FROM crimes",
        "walks": "SELECT id, ward_code, borough_code, route_wards FROM walks",
        "officers": "SELECT id, ward_codes, borough_codes FROM officers",
        "buddies": "SELECT id, home_ward, work_ward, borough_code FROM buddies",
        "safeguarding": "SELECT walk_id, borough_code FROM safeguarding",
        "officer_surveys": "SELECT walk_id, ward_code, borough_code FROM officer_surveys",
        "buddy_surveys": "SELECT walk_id, ward_code, borough_code FROM buddy_surveys",
        "survey_links": "SELECT id, borough_code FROM survey_links",
        "api_tokens": "SELECT id, role, ward_codes, borough_codes FROM api_tokens",
        "participation_requests": "SELECT id, ward_code, borough_code FROM participation_requests",
        "assets": "SELECT id, ward_code, borough_code FROM assets",
        "partner_requests": "SELECT id, ward_code, borough_code FROM partner_requests",
    }
    assert set(queries_by_table) == queries.AREA_CODED_TABLES
    return {
        table: {row[0]: tuple(row[1:]) for row in db.execute(text(sql))}
        for table, sql in queries_by_table.items()
    }


def _swapped(codes: dict[str, dict[Any, tuple[Any, ...]]]) -> dict[str, dict[Any, tuple[Any, ...]]]:
    """What every row's codes must be once Lambeth's and Southwark's codes are swapped."""

    def swap(value: Any) -> Any:
        if isinstance(value, list):  # borough lists are sorted; ward lists stay as they are
            return sorted(SWAP[v] for v in value) if set(value) <= set(SWAP) else value
        return SWAP.get(value, value)

    swapped = {
        table: {key: tuple(swap(v) for v in row) for key, row in rows.items()}
        for table, rows in codes.items()
    }
    # A supervisor's boroughs are what she was granted, not derived from wards: they stay.
    swapped["api_tokens"] = {
        key: row if row[0] == "supervisor" else swapped["api_tokens"][key]
        for key, row in codes["api_tokens"].items()
    }
    return swapped


def test_activation_moves_every_stored_borough_code_when_only_boroughs_change(
    db: Session,
) -> None:
    _seed_every_area_coded_table(db)
    before = _area_codes(db)
    for table, rows in before.items():
        assert rows, f"the test put no rows in {table}"
    boroughs = {v for row in before["reports"].values() for v in row[1:]}
    assert boroughs == {LAMBETH, SOUTHWARK}

    # The same wards, codes and polygons; only each ward's borough differs.
    wards = read_wards(PILOT_WARDS.path).wards
    relabelled = wards.assign(
        borough_code=wards["borough_code"].map(SWAP),
        borough_name=wards["borough_code"].map(SWAP).map(NAMES),
    )
    queries.load_ward_set(db, relabelled, name="pilot-relabelled", source="t", attribution="a")
    changed = queries.activate_ward_set(db, "pilot-relabelled")

    after = _area_codes(db)
    expected = _swapped(before)
    for table in before:
        assert after[table] == expected[table], f"{table}: borough codes did not follow"
    assert changed["reports"] == len(before["reports"])
    assert changed["crimes"] == 2
    assert changed["walks"] == len(before["walks"])

    # And back: every code is the pilot's again.
    queries.activate_ward_set(db, PILOT_WARDS.name)
    assert _area_codes(db) == before


def test_activation_renames_route_wards_and_report_wards_with_the_set(db: Session) -> None:
    _seed_every_area_coded_table(db)
    # The ward most routes cross, renamed in a new set with the same polygons.
    ward = db.execute(
        text(
            "SELECT code FROM walks, unnest(route_wards) AS code "
            "GROUP BY code ORDER BY count(*) DESC, code LIMIT 1"
        )
    ).scalar_one()
    walks_through, reports_in = _placed_in(db, ward)
    assert walks_through and reports_in

    renamed = "E05099999"
    wards = read_wards(PILOT_WARDS.path).wards
    wards.loc[wards["code"] == ward, "code"] = renamed
    queries.load_ward_set(db, wards, name="pilot-renamed", source="t", attribution="a")
    queries.activate_ward_set(db, "pilot-renamed")

    assert _placed_in(db, renamed) == (walks_through, reports_in)
    assert _placed_in(db, ward) == ([], 0)


def _placed_in(db: Session, ward: str) -> tuple[list[Any], int]:
    """The walks whose route crosses ``ward`` and the number of reports in it."""
    walks = db.execute(
        text("SELECT id FROM walks WHERE :ward = ANY(route_wards) ORDER BY id"), {"ward": ward}
    ).scalars()
    reports = db.execute(
        text("SELECT count(*) FROM reports WHERE ward_code = :ward"), {"ward": ward}
    ).scalar_one()
    return list(walks), int(reports)


# --- the ward map for one borough ----------------------------------------------------------------


def _problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert body["status"] == status and body["detail"]
    return body


def test_ward_map_refuses_an_unknown_or_empty_borough_listing_the_known_ones(
    client: TestClient,
) -> None:
    # The City of London is a borough, but not in the pilot wards.
    for unknown in ("foo", "E09000001"):
        body = _problem(client.get("/maps/wards", params={"borough": unknown}), 404)
        assert f"no borough {unknown!r}" in body["detail"]
        assert "E09000022 (Lambeth), E09000028 (Southwark)" in body["detail"]
    for empty in ("", "   "):
        body = _problem(client.get("/maps/wards", params={"borough": empty}), 422)
        assert body["detail"].startswith("borough is empty")
        assert "E09000022 (Lambeth), E09000028 (Southwark)" in body["detail"]
    # The GeoJSON collection answers the same way.
    _problem(client.get("/wards", params={"borough": "foo"}), 404)
    _problem(client.get("/wards", params={"borough": " "}), 422)


def test_ward_map_of_one_borough_draws_only_its_wards(client: TestClient) -> None:
    response = client.get("/maps/wards", params={"borough": " lambeth "})
    assert response.status_code == 200, response.text
    assert "Brixton Acre Lane" in response.text
    assert "Camberwell Green" not in response.text


# --- 13a. deleting an inactive ward set ----------------------------------------------------------


def test_cli_deletes_an_inactive_set_and_refuses_the_active_one(
    walktalk: Run, fresh_db: str, tmp_path: Path, pilot_raw
) -> None:
    path = tmp_path / "three.geojson"
    pilot_raw.head(3).to_file(path, engine="pyogrio")
    code, _, err = walktalk("wards", "load", str(path), "--set", "three")
    assert code == 0, err
    assert _set_names(fresh_db) == [("pilot-2024", True), ("three", False)]

    code, out, err = walktalk("wards", "delete", "three")
    assert code == 0, err
    assert "deleted ward set 'three' and its 3 wards" in out
    assert _set_names(fresh_db) == [("pilot-2024", True)]
    assert _orphans(fresh_db) == (0, 0)

    code, _, err = walktalk("wards", "delete", "pilot-2024")
    assert code == 1
    assert "is the active set" in err and "walktalk wards activate NAME" in err
    code, _, err = walktalk("wards", "delete", "three")
    assert code == 1
    assert "no ward set named 'three' (known: pilot-2024)" in err
    assert _set_names(fresh_db) == [("pilot-2024", True)]


def _orphans(url: str) -> tuple[int, int]:
    """Wards and lookup pieces left without their set."""
    engine = create_engine(url)
    with engine.connect() as conn:
        counts = conn.execute(
            text(
                "SELECT (SELECT count(*) FROM wards WHERE ward_set_id NOT IN "
                "        (SELECT id FROM ward_sets)), "
                "       (SELECT count(*) FROM ward_parts WHERE ward_set_id NOT IN "
                "        (SELECT id FROM ward_sets))"
            )
        ).one()
    engine.dispose()
    return int(counts[0]), int(counts[1])


def test_a_set_still_referenced_is_not_deleted(db: Session) -> None:
    wards = read_wards(PILOT_WARDS.path).wards.head(4)
    set_id = queries.load_ward_set(db, wards, name="four", source="t", attribution="a")
    # A table of a later capability that points at a ward of the set.
    db.execute(text("CREATE TABLE ward_notes (ward_id int REFERENCES wards (id))"))
    db.execute(
        text("INSERT INTO ward_notes SELECT id FROM wards WHERE ward_set_id = :id LIMIT 2"),
        {"id": set_id},
    )
    with pytest.raises(Conflict, match=r"still referenced by 2 rows of ward_notes\.ward_id"):
        queries.delete_ward_set(db, "four")
    assert "four" in {s.name for s in queries.list_ward_sets(db)}
    db.execute(text("DELETE FROM ward_notes"))
    assert queries.delete_ward_set(db, "four") == 4
    assert "four" not in {s.name for s in queries.list_ward_sets(db)}
    parts = db.execute(
        text("SELECT count(*) FROM ward_parts WHERE ward_set_id = :id"), {"id": set_id}
    ).scalar_one()
    assert parts == 0
