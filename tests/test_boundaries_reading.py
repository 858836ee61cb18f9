"""Reading the bundled boundary files, files written on the fly from them, and refusals."""

import re
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely
from pyproj import CRS
from shapely import Point, Polygon

from boundaries.bundled import (
    BOROUGHS_ATTRIBUTION,
    DATA_DIR,
    LONDON_BOROUGHS_PATH,
    LONDON_WARDS_2018,
    PILOT_WARDS,
    WARD_SETS,
    UnknownCommandUnit,
    command_units,
    find_command_unit,
)
from boundaries.reading import BoundaryFileError, WardFile, read_boroughs, read_wards

WARD_COLUMNS = ["code", "name", "borough_code", "borough_name", "geometry"]
WATERLOO = "E05014118"
LAMBETH = "E09000022"
SOUTHWARK = "E09000028"
CITY_OF_LONDON = "E09000001"


@pytest.fixture(scope="module")
def pilot() -> WardFile:
    return read_wards(PILOT_WARDS.path)


@pytest.fixture(scope="module")
def pilot_raw() -> gpd.GeoDataFrame:
    """Read the pilot file as GDAL does, to build broken copies from.

    Without its FID field, which a GeoPackage would take as its row ids and
    reorder the rows by.
    """
    return gpd.read_file(PILOT_WARDS.path).drop(columns="FID")


@pytest.fixture(scope="module")
def boroughs() -> gpd.GeoDataFrame:
    return read_boroughs(LONDON_BOROUGHS_PATH)


def assert_normal_form(frame: gpd.GeoDataFrame, columns: list[str]) -> None:
    assert frame.columns.tolist() == columns
    assert isinstance(frame.index, pd.RangeIndex)
    assert frame.index.tolist() == list(range(len(frame)))
    assert frame.crs.to_epsg() == 4326
    assert set(frame.geom_type) == {"MultiPolygon"}
    assert int(frame.is_valid.sum()) == len(frame)
    assert int(frame.has_z.sum()) == 0


def write(frame: gpd.GeoDataFrame, path: Path, **kwargs) -> Path:
    frame.to_file(path, engine="pyogrio", **kwargs)
    return path


def max_coordinate_gap(a: gpd.GeoSeries, b: gpd.GeoSeries) -> float:
    coords_a = shapely.get_coordinates(a.to_numpy())
    coords_b = shapely.get_coordinates(b.to_numpy())
    assert coords_a.shape == coords_b.shape
    return float(np.abs(coords_a - coords_b).max())


# --- the bundled files, one per format and CRS ---------------------------------------------------


def test_pilot_geojson_in_4326(pilot: WardFile) -> None:
    wards = pilot.wards
    assert_normal_form(wards, WARD_COLUMNS)
    assert len(wards) == 48
    assert pilot.source_crs == "EPSG:4326"
    assert pilot.repaired == ()
    assert wards["borough_code"].value_counts().to_dict() == {LAMBETH: 25, SOUTHWARK: 23}
    assert set(wards["borough_name"]) == {"Lambeth", "Southwark"}
    waterloo = wards.set_index("code").loc[WATERLOO]
    assert waterloo["name"] == "Waterloo & South Bank"
    assert waterloo["borough_code"] == LAMBETH
    assert waterloo["geometry"].contains(Point(-0.1136, 51.5033))  # Waterloo station
    xmin, ymin, xmax, ymax = wards.total_bounds
    assert (round(xmin, 4), round(ymin, 4), round(xmax, 4), round(ymax, 4)) == (
        -0.1512,
        51.411,
        -0.0322,
        51.5087,
    )


def test_pilot_geometries_are_the_files_own(pilot: WardFile, pilot_raw) -> None:
    assert pilot.wards["code"].tolist() == pilot_raw["WD24CD"].tolist()
    assert max_coordinate_gap(pilot.wards.geometry, pilot_raw.geometry) == 0.0


def test_london_2018_mapinfo_in_27700() -> None:
    london = read_wards(LONDON_WARDS_2018.path)
    wards = london.wards
    assert_normal_form(wards, WARD_COLUMNS)
    assert len(wards) == 657
    assert london.source_crs == "EPSG:27700"
    assert london.repaired == ()
    assert wards["code"].is_unique
    assert wards["borough_code"].nunique() == 33
    lambeth = wards.loc[wards["borough_code"] == LAMBETH, "code"]
    assert sorted(lambeth) == [f"E050004{n}" for n in range(16, 37)]
    assert int((wards["borough_code"] == SOUTHWARK).sum()) == 23
    # This file names two boroughs differently from the boroughs file.
    names = dict(zip(wards["borough_code"], wards["borough_name"], strict=False))
    assert names["E09000033"] == "City of Westminster"
    xmin, ymin, xmax, ymax = wards.total_bounds
    assert -0.52 < xmin < -0.50
    assert 0.33 < xmax < 0.35
    assert 51.28 < ymin < 51.30
    assert 51.68 < ymax < 51.70


def test_borough_shapefile_esri_prj_is_recognised_as_27700(boroughs) -> None:
    file_crs = CRS.from_user_input(pyogrio.read_info(LONDON_BOROUGHS_PATH)["crs"])
    assert file_crs.to_epsg() is None  # the ESRI .prj carries no EPSG code
    assert_normal_form(boroughs, ["code", "name", "geometry"])
    assert len(boroughs) == 33
    assert boroughs["code"].str.fullmatch(r"E090000\d\d").all()
    assert boroughs.set_index("code").loc[LAMBETH, "name"] == "Lambeth"
    forced = read_boroughs(LONDON_BOROUGHS_PATH, crs="EPSG:27700")
    assert max_coordinate_gap(boroughs.geometry, forced.geometry) < 1e-6


def test_2018_wards_sit_in_their_boroughs(boroughs) -> None:
    wards = read_wards(LONDON_WARDS_2018.path).wards
    assert set(wards["borough_code"]) == set(boroughs["code"])
    lambeth = boroughs.set_index("code").loc[LAMBETH, "geometry"]
    lambeth_wards = wards.loc[wards["borough_code"] == LAMBETH]
    inside = lambeth_wards.representative_point().within(lambeth)
    assert int(inside.sum()) == 21


# --- files written on the fly --------------------------------------------------------------------


def test_geopackage_in_27700_with_other_field_names(tmp_path, pilot_raw) -> None:
    lambeth = pilot_raw.loc[
        pilot_raw["LAD24CD"] == LAMBETH, ["WD24CD", "WD24NM", "LAD24CD", "geometry"]
    ]
    renamed = lambeth.rename(
        columns={"WD24CD": "Ward_Code", "WD24NM": "WARD_NAME", "LAD24CD": "Borough_Code"}
    )
    path = write(renamed.to_crs(27700), tmp_path / "lambeth.gpkg", layer="lambeth_wards")
    result = read_wards(path)
    assert result.source_crs == "EPSG:27700"
    assert_normal_form(result.wards, WARD_COLUMNS)
    assert result.wards["code"].tolist() == lambeth["WD24CD"].tolist()
    assert result.wards["name"].tolist() == lambeth["WD24NM"].tolist()
    assert set(result.wards["borough_code"]) == {LAMBETH}
    # No borough name field in the file: documented as empty strings.
    assert set(result.wards["borough_name"]) == {""}
    assert max_coordinate_gap(result.wards.geometry, lambeth.geometry) < 1e-6


@pytest.fixture
def two_layer_gpkg(tmp_path, pilot_raw) -> Path:
    path = tmp_path / "pilot.gpkg"
    for borough, code in (("lambeth", LAMBETH), ("southwark", SOUTHWARK)):
        write(pilot_raw.loc[pilot_raw["LAD24CD"] == code], path, layer=borough)
    return path


def test_multi_layer_geopackage_needs_a_layer(two_layer_gpkg) -> None:
    expected = "has several layers ['lambeth', 'southwark']; name the one to read with layer="
    with pytest.raises(BoundaryFileError, match=re.escape(expected)):
        read_wards(two_layer_gpkg)


def test_multi_layer_geopackage_reads_the_named_layer(two_layer_gpkg) -> None:
    southwark = read_wards(two_layer_gpkg, layer="southwark").wards
    assert len(southwark) == 23
    assert set(southwark["borough_code"]) == {SOUTHWARK}


def test_unknown_layer_is_refused_listing_the_layers(two_layer_gpkg) -> None:
    expected = "has no layer 'croydon'; its layers are ['lambeth', 'southwark']"
    with pytest.raises(BoundaryFileError, match=re.escape(expected)):
        read_wards(two_layer_gpkg, layer="croydon")


@pytest.fixture
def shapefile_without_prj(tmp_path, pilot_raw) -> Path:
    path = write(pilot_raw.to_crs(27700), tmp_path / "pilot.shp")
    path.with_suffix(".prj").unlink()
    return path


def test_file_without_crs_is_refused_with_a_hint(shapefile_without_prj) -> None:
    expected = (
        "has no CRS (a shapefile without its .prj, say); the coordinates look like British "
        "National Grid metres: pass crs='EPSG:27700'"
    )
    with pytest.raises(BoundaryFileError, match=re.escape(expected)):
        read_wards(shapefile_without_prj)


def test_crs_override_reads_a_file_without_crs(shapefile_without_prj, pilot) -> None:
    result = read_wards(shapefile_without_prj, crs="EPSG:27700")
    assert result.source_crs == "EPSG:27700"
    assert result.wards["code"].tolist() == pilot.wards["code"].tolist()
    # 4326 -> 27700 -> 4326 through a shapefile: equal to well under a centimetre.
    assert max_coordinate_gap(result.wards.geometry, pilot.wards.geometry) < 1e-7


def test_crs_override_replaces_a_wrong_crs(tmp_path, pilot_raw, pilot) -> None:
    mislabelled = pilot_raw.to_crs(27700).set_crs(3857, allow_override=True)
    path = write(mislabelled, tmp_path / "mislabelled.gpkg")
    result = read_wards(path, crs=27700)
    assert result.source_crs == "EPSG:27700"
    assert max_coordinate_gap(result.wards.geometry, pilot.wards.geometry) < 1e-7


def test_unknown_crs_override_is_refused(tmp_path, pilot_raw) -> None:
    path = write(pilot_raw, tmp_path / "pilot.gpkg")
    with pytest.raises(BoundaryFileError, match=r"crs='EPSG:999999' is not a CRS pyproj"):
        read_wards(path, crs="EPSG:999999")


def bow_tie_ring(ring: np.ndarray) -> np.ndarray:
    """Swap the first pair of neighbouring vertices whose swap makes the ring cross itself."""
    for k in range(1, len(ring) - 2):
        twisted = ring.copy()
        twisted[[k, k + 1]] = twisted[[k + 1, k]]
        if not Polygon(twisted).is_valid:
            return twisted
    raise AssertionError("no swap made the ring invalid")


def test_invalid_real_ward_is_repaired_and_listed(tmp_path, pilot_raw, pilot) -> None:
    broken = pilot_raw.to_crs(27700)
    row = broken.index[broken["WD24CD"] == WATERLOO][0]
    original = broken.at[row, "geometry"]
    polygon = max(getattr(original, "geoms", [original]), key=lambda p: p.area)
    twisted = Polygon(bow_tie_ring(np.asarray(polygon.exterior.coords)))
    assert twisted.is_valid is False
    broken.loc[[row], "geometry"] = gpd.GeoSeries([twisted], index=[row], crs=27700)
    path = write(broken, tmp_path / "broken.gpkg")

    result = read_wards(path)

    assert result.repaired == (WATERLOO,)
    assert_normal_form(result.wards, WARD_COLUMNS)
    fixed = result.wards.set_index("code").loc[WATERLOO, "geometry"]
    fixed_area = gpd.GeoSeries([fixed], crs=4326).to_crs(27700).area.iloc[0]
    # The bow-tie moves one vertex of a dense boundary: the area barely changes.
    assert fixed_area == pytest.approx(polygon.area, rel=1e-3)
    others = result.wards["code"] != WATERLOO
    assert (
        max_coordinate_gap(result.wards.geometry[others], pilot.wards.geometry[others.to_numpy()])
        < 1e-7
    )


def test_z_coordinates_are_dropped(tmp_path, pilot_raw, pilot) -> None:
    with_z = pilot_raw.set_geometry(shapely.force_3d(pilot_raw.geometry.to_numpy(), z=12.5))
    result = read_wards(write(with_z, tmp_path / "with_z.geojson"))
    assert int(result.wards.has_z.sum()) == 0
    # GeoJSON writes 15 significant digits: equal to far below a millimetre.
    assert max_coordinate_gap(result.wards.geometry, pilot.wards.geometry) < 1e-12


def test_codes_and_names_are_stripped(tmp_path, pilot_raw) -> None:
    padded = pilot_raw.copy()
    padded["WD24CD"] = "  " + padded["WD24CD"] + "\t"
    padded["WD24NM"] = padded["WD24NM"] + "  "
    wards = read_wards(write(padded, tmp_path / "padded.geojson")).wards
    assert wards["code"].tolist() == pilot_raw["WD24CD"].tolist()
    assert wards["name"].tolist() == pilot_raw["WD24NM"].tolist()


def test_named_fields_override_detection(tmp_path, pilot_raw) -> None:
    frame = pilot_raw[["GlobalID", "WD24CD", "WD24NM", "LAD24CD", "geometry"]]
    wards = read_wards(
        write(frame, tmp_path / "ids.geojson"), code_field="globalid", name_field="WD24NM"
    ).wards
    assert wards["code"].tolist() == pilot_raw["GlobalID"].tolist()


# --- refusals ------------------------------------------------------------------------------------


def test_missing_file_is_refused(tmp_path) -> None:
    path = tmp_path / "nowhere.geojson"
    with pytest.raises(BoundaryFileError, match=re.escape(f"no such file: {path}")):
        read_wards(path)


def test_unsupported_file_is_refused(tmp_path) -> None:
    path = tmp_path / "wards.txt"
    path.write_text("Waterloo & South Bank, Lambeth\n")
    with pytest.raises(
        BoundaryFileError, match=r"cannot read .*wards\.txt as a boundary file"
    ) as e:
        read_wards(path)
    assert "GeoJSON, a shapefile" in str(e.value)


def test_empty_layer_is_refused(tmp_path, pilot_raw) -> None:
    path = write(pilot_raw.iloc[:0], tmp_path / "empty.gpkg")
    with pytest.raises(BoundaryFileError, match=r"has no features"):
        read_wards(path)


def test_missing_code_field_is_refused_listing_the_fields(tmp_path, pilot_raw) -> None:
    frame = pilot_raw[["WD24NM", "geometry"]].rename(columns={"WD24NM": "label"})
    path = write(frame, tmp_path / "nocode.geojson")
    expected = (
        f"no ward code field found in {path}; its fields are ['label']; "
        "name one with code_field= (--code-field on the command line)"
    )
    with pytest.raises(BoundaryFileError, match=re.escape(expected)):
        read_wards(path)


def test_named_field_that_does_not_exist_is_refused(tmp_path, pilot_raw) -> None:
    path = write(pilot_raw[["WD24CD", "WD24NM", "geometry"]], tmp_path / "wards.geojson")
    with pytest.raises(BoundaryFileError, match=r"code_field='ward_id': no such field in"):
        read_wards(path, code_field="ward_id")


def test_ambiguous_code_fields_are_refused(tmp_path, pilot_raw) -> None:
    frame = pilot_raw[["WD24CD", "WD24NM", "geometry"]].assign(WD22CD=pilot_raw["WD24CD"])
    path = write(frame, tmp_path / "two_vintages.geojson")
    with pytest.raises(
        BoundaryFileError, match=r"several ward code fields .*\['WD24CD', 'WD22CD'\]"
    ):
        read_wards(path)


def test_duplicate_codes_are_refused_naming_them(tmp_path, pilot_raw) -> None:
    frame = pilot_raw.copy()
    frame.loc[[3, 7], "WD24CD"] = WATERLOO
    path = write(frame, tmp_path / "dupes.geojson")
    with pytest.raises(BoundaryFileError, match=re.escape(f"duplicate ward codes ['{WATERLOO}']")):
        read_wards(path)


def test_blank_codes_are_refused_naming_the_features(tmp_path, pilot_raw) -> None:
    frame = pilot_raw.copy()
    frame.loc[2, "WD24CD"] = "   "
    frame.loc[5, "WD24CD"] = None
    path = write(frame, tmp_path / "blank.gpkg")
    with pytest.raises(BoundaryFileError, match=re.escape("blank ward codes in features [2, 5]")):
        read_wards(path)


def test_empty_geometry_is_refused_naming_the_code(tmp_path, pilot_raw) -> None:
    frame = pilot_raw.copy()
    frame.loc[frame["WD24CD"] == WATERLOO, "geometry"] = Polygon()
    frame.loc[frame["WD24CD"] == "E05014095", "geometry"] = None
    path = write(frame, tmp_path / "empty.gpkg")
    expected = "missing or empty geometries for codes ['E05014095', 'E05014118']"
    with pytest.raises(BoundaryFileError, match=re.escape(expected)):
        read_wards(path)


def test_point_layer_is_refused_naming_codes(tmp_path, pilot_raw) -> None:
    points = pilot_raw.set_geometry(pilot_raw.representative_point())
    path = write(points, tmp_path / "centroids.geojson")
    with pytest.raises(BoundaryFileError, match=r"non-polygon geometries \(Point\)") as e:
        read_wards(path)
    message = str(e.value)
    # 48 codes: the first 20 are named, the rest counted.
    assert "'E05014095'" in message
    assert "... and 28 more" in message
    assert "must be Polygons or MultiPolygons" in message


def test_every_problem_is_reported_at_once(tmp_path, pilot_raw) -> None:
    frame = pilot_raw.copy()
    frame.loc[[0, 1], "WD24CD"] = WATERLOO
    frame.loc[frame["WD24CD"] == "E05014100", "geometry"] = Point(-0.1, 51.5)
    path = write(frame, tmp_path / "mixed.gpkg")
    with pytest.raises(BoundaryFileError) as e:
        read_wards(path)
    message = str(e.value)
    assert f"duplicate ward codes ['{WATERLOO}']" in message
    assert "non-polygon geometries (Point) for codes ['E05014100']" in message


def test_ward_with_no_area_is_refused_after_repair(tmp_path, pilot_raw) -> None:
    frame = pilot_raw.copy()
    flat = Polygon([(-0.125, 51.5), (-0.0625, 51.5), (-0.03125, 51.5), (-0.125, 51.5)])
    frame.loc[frame["WD24CD"] == WATERLOO, "geometry"] = flat
    path = write(frame, tmp_path / "flat.gpkg")
    expected = "ward geometries with no area left after repairing them"
    with pytest.raises(BoundaryFileError, match=re.escape(expected)) as e:
        read_wards(path)
    assert f"for codes ['{WATERLOO}']" in str(e.value)


def test_table_without_geometry_is_refused(tmp_path, pilot_raw) -> None:
    path = tmp_path / "wards.csv"
    pilot_raw.drop(columns="geometry").to_csv(path, index=False)
    with pytest.raises(
        BoundaryFileError, match=r"has no layer with geometries \(layers: \['wards'\]\)"
    ):
        read_wards(path)


def test_boundary_file_error_is_a_value_error(tmp_path) -> None:
    with pytest.raises(ValueError, match="no such file"):
        read_boroughs(tmp_path / "none.shp")


# --- the bundled sets and the command units ------------------------------------------------------


def test_bundled_ward_sets_are_named_and_attributed() -> None:
    assert set(WARD_SETS) == {"pilot-2024", "london-2018"}
    assert PILOT_WARDS.attribution == (
        "Source: Office for National Statistics licensed under the Open Government Licence "
        "v3.0. Contains OS data © Crown copyright and database right 2024"
    )
    attribution_file = " ".join((DATA_DIR / "ATTRIBUTION.md").read_text().split())
    for line in (PILOT_WARDS.attribution, LONDON_WARDS_2018.attribution, BOROUGHS_ATTRIBUTION):
        assert line in attribution_file
    for path in (PILOT_WARDS.path, LONDON_WARDS_2018.path, LONDON_BOROUGHS_PATH):
        assert path.is_file(), path


def test_command_units_cover_every_borough_but_the_city_once(boroughs) -> None:
    units = command_units()
    assert len(units) == 12
    assert sorted(units) == ["AS", "AW", "CE", "CN", "EA", "NA", "NE", "NW", "SE", "SN", "SW", "WA"]
    covered = [code for unit in units.values() for code in unit.borough_codes]
    assert len(covered) == 32
    assert sorted(covered) == sorted(set(boroughs["code"]) - {CITY_OF_LONDON})
    assert units["AS"].name == "Central South"
    assert units["AS"].borough_codes == (LAMBETH, SOUTHWARK)
    assert len(units["SW"].borough_codes) == 4


def test_command_unit_csv_names_match_the_boroughs_file(boroughs) -> None:
    table = pd.read_csv(DATA_DIR / "met_command_units.csv", dtype=str)
    assert table.columns.tolist() == ["code", "name", "borough_code", "borough_name"]
    names = dict(zip(boroughs["code"], boroughs["name"], strict=True))
    assert [names[c] for c in table["borough_code"]] == table["borough_name"].tolist()


@pytest.mark.parametrize("query", ["AS", "as", " Central South ", "CENTRAL SOUTH"])
def test_find_command_unit_by_code_or_name(query) -> None:
    assert find_command_unit(query).code == "AS"


def test_unknown_command_unit_lists_the_known_ones() -> None:
    with pytest.raises(UnknownCommandUnit, match=r"no command unit 'Central'; give one of") as e:
        find_command_unit("Central")
    assert "AS (Central South)" in str(e.value)
    assert "WA (West Area)" in str(e.value)


def test_command_units_returns_a_fresh_dict() -> None:
    command_units().clear()
    assert len(command_units()) == 12
