"""Issue 9: ward files refused at load, borough codes found and kept fresh, ward sets deleted.

Files are derived on the fly from the bundled boundary files (``boundaries/data``): the pilot
wards (ONS, WD24CD/LAD24CD, EPSG:4326) and London's 2018 wards (GLA, MapInfo, EPSG:27700).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import geopandas as gpd
import pytest
import shapely
from shapely.affinity import translate
from sqlalchemy import create_engine, text

from boundaries.bundled import LONDON_WARDS_2018, PILOT_WARDS
from boundaries.reading import BoundaryFileError, read_boroughs, read_wards

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
