"""geo.crimes against the bundled real police.uk files; expected numbers come from the raw files."""

import csv
import datetime as dt
import json
import shutil
from collections import Counter
from pathlib import Path

import pandas as pd
import pytest

from geo.crimes import (
    CRIME_COLUMNS,
    CRIME_TYPES,
    FORMAT_API_JSON,
    FORMAT_BULK_CSV,
    CrimeFile,
    CrimeFileError,
    file_sha256,
    read_police_uk,
)

DATA = Path(__file__).resolve().parent.parent / "data" / "police_uk"
CSV_DIR = DATA / "city_of_london_police_2019"
CSV_FILES = sorted(CSV_DIR.glob("*.csv"))
API_FILE = DATA / "api_trafalgar_square_1mile_2025-12" / "crimes_london.json"


def _csv_rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture(scope="module")
def csv_read() -> dict[Path, CrimeFile]:
    return {path: read_police_uk(path) for path in CSV_FILES}


@pytest.fixture(scope="module")
def api_items() -> list[dict[str, object]]:
    with API_FILE.open(encoding="utf-8") as handle:
        items: list[dict[str, object]] = json.load(handle)
    return items


@pytest.fixture(scope="module")
def api_read() -> CrimeFile:
    return read_police_uk(API_FILE)


# --- taxonomy ------------------------------------------------------------------------------


def test_crime_types_are_the_fourteen_police_uk_types() -> None:
    assert len(CRIME_TYPES) == 14
    assert len(set(CRIME_TYPES.values())) == 14
    assert CRIME_TYPES["violent-crime"] == "Violence and sexual offences"
    assert CRIME_TYPES["public-order"] == "Public order"
    assert CRIME_TYPES["criminal-damage-arson"] == "Criminal damage and arson"
    assert CRIME_TYPES["anti-social-behaviour"] == "Anti-social behaviour"


def test_every_label_in_the_bulk_csvs_is_a_crime_type() -> None:
    labels = {row["Crime type"] for path in CSV_FILES for row in _csv_rows(path)}
    assert labels == set(CRIME_TYPES.values())


# --- bulk CSV ------------------------------------------------------------------------------


def test_twelve_monthly_csvs_are_bundled() -> None:
    assert [p.name for p in CSV_FILES] == [
        f"2019-{m:02d}-city-of-london-street.csv" for m in range(1, 13)
    ]


@pytest.mark.parametrize("path", CSV_FILES, ids=lambda p: p.name[:7])
def test_csv_counts_match_the_raw_file(path: Path, csv_read: dict[Path, CrimeFile]) -> None:
    rows = _csv_rows(path)
    no_location = [r for r in rows if r["Longitude"] == "" and r["Latitude"] == ""]
    result = csv_read[path]
    assert result.format == FORMAT_BULK_CSV
    assert result.rows_read == len(rows)
    assert result.skipped_no_location == len(no_location)
    assert len(result.crimes) == len(rows) - len(no_location)
    # crime types per label, over located rows, match the raw file
    expected = Counter(r["Crime type"] for r in rows if r["Longitude"] != "")
    assert Counter(result.crimes["crime_type"]) == expected
    # every row carries the file's month as a date, first of the month
    (month_text,) = {r["Month"] for r in rows}
    year, month = map(int, month_text.split("-"))
    assert set(result.crimes["month"]) == {dt.date(year, month, 1)}
    assert path.name.startswith(month_text)


def test_csv_totals_match_sources_md(csv_read: dict[Path, CrimeFile]) -> None:
    # SOURCES.md section 4b: 10,032 rows, 676 without a location
    raw_total = sum(len(_csv_rows(p)) for p in CSV_FILES)
    assert raw_total == 10_032
    assert sum(r.rows_read for r in csv_read.values()) == raw_total
    assert sum(r.skipped_no_location for r in csv_read.values()) == 676
    assert sum(len(r.crimes) for r in csv_read.values()) == 10_032 - 676


def test_csv_rows_keep_their_values_and_line_numbers(csv_read: dict[Path, CrimeFile]) -> None:
    path = CSV_FILES[0]
    rows = _csv_rows(path)
    crimes = csv_read[path].crimes
    assert tuple(crimes.columns) == CRIME_COLUMNS
    assert crimes["lon"].dtype == "float64"
    assert crimes["lat"].dtype == "float64"
    for _, crime in crimes.iterrows():
        raw = rows[crime["line"] - 2]  # header is line 1
        assert crime["crime_id"] == raw["Crime ID"]
        assert crime["police_uk_id"] == ""
        assert crime["crime_type"] == raw["Crime type"]
        assert crime["falls_within"] == raw["Falls within"]
        assert crime["lsoa_code"] == raw["LSOA code"]
        assert crime["lsoa_name"] == raw["LSOA name"]
        assert crime["street_name"] == raw["Location"]
        assert crime["outcome"] == raw["Last outcome category"]
        assert crime["lon"] == float(raw["Longitude"])
        assert crime["lat"] == float(raw["Latitude"])
    # anti-social behaviour has no Crime ID and no outcome
    asb = crimes[crimes["crime_type"] == "Anti-social behaviour"]
    assert len(asb) > 0
    assert (asb["crime_id"] == "").all()
    assert (asb["outcome"] == "").all()


def test_repeated_crime_ids_are_kept(csv_read: dict[Path, CrimeFile]) -> None:
    # police.uk repeats some Crime IDs within one month; the reader does not de-duplicate
    for path, result in csv_read.items():
        ids = Counter(r["Crime ID"] for r in _csv_rows(path) if r["Longitude"] and r["Crime ID"])
        located = result.crimes[result.crimes["crime_id"] != ""]
        assert Counter(located["crime_id"]) == ids


def test_far_away_july_2019_point_is_kept(csv_read: dict[Path, CrimeFile]) -> None:
    path = CSV_DIR / "2019-07-city-of-london-street.csv"
    far = [
        (i + 2, r)
        for i, r in enumerate(_csv_rows(path))
        if r["Latitude"] and float(r["Latitude"]) > 52.0
    ]
    assert far, "SOURCES.md: July 2019 reaches lat 53.2 (Derbyshire Dales)"
    crimes = csv_read[path].crimes.set_index("line")
    for line, raw in far:
        assert crimes.loc[line, "lat"] == float(raw["Latitude"])
        assert crimes.loc[line, "lon"] == float(raw["Longitude"])
        assert crimes.loc[line, "lsoa_name"] == raw["LSOA name"]
    assert crimes["lat"].max() > 53.2
    assert crimes["lon"].min() < -1.6


# --- API JSON ------------------------------------------------------------------------------


def test_api_counts_match_the_raw_file(
    api_items: list[dict[str, object]], api_read: CrimeFile
) -> None:
    assert len(api_items) == 6_305  # SOURCES.md section 4a
    assert api_read.format == FORMAT_API_JSON
    assert api_read.rows_read == len(api_items)
    assert api_read.skipped_no_location == 0
    assert len(api_read.crimes) == len(api_items)
    assert tuple(api_read.crimes.columns) == CRIME_COLUMNS


def test_api_categories_per_slug_match_label_counts(
    api_items: list[dict[str, object]], api_read: CrimeFile
) -> None:
    slugs = Counter(str(item["category"]) for item in api_items)
    labels = Counter(api_read.crimes["crime_type"])
    assert labels == Counter({CRIME_TYPES[slug]: n for slug, n in slugs.items()})
    # SOURCES.md section 4a
    assert slugs["theft-from-the-person"] == 2140
    assert labels["Violence and sexual offences"] == 716
    assert labels["Public order"] == 214


def test_api_fields_come_through(api_items: list[dict[str, object]], api_read: CrimeFile) -> None:
    crimes = api_read.crimes
    assert crimes["line"].tolist() == list(range(1, len(api_items) + 1))
    assert set(crimes["month"]) == {dt.date(2025, 12, 1)}
    assert (crimes["lsoa_code"] == "").all()
    assert (crimes["lsoa_name"] == "").all()
    # every item is location_type "Force": the API does not name which force
    assert {item["location_type"] for item in api_items} == {"Force"}
    assert (crimes["falls_within"] == "").all()
    for item, (_, crime) in zip(api_items, crimes.iterrows(), strict=True):
        location = item["location"]
        assert isinstance(location, dict)
        outcome = item["outcome_status"]
        assert crime["police_uk_id"] == str(item["id"])
        assert crime["crime_id"] == item["persistent_id"]
        assert crime["street_name"] == location["street"]["name"]
        assert crime["lon"] == float(location["longitude"])
        assert crime["lat"] == float(location["latitude"])
        assert crime["outcome"] == (outcome["category"] if isinstance(outcome, dict) else "")
    # SOURCES.md bounds: lat 51.4937..51.5214, lon -0.1499..-0.1048
    assert crimes["lat"].between(51.4936, 51.5215).all()
    assert crimes["lon"].between(-0.1500, -0.1047).all()


def test_api_rows_without_location_are_skipped(tmp_path: Path) -> None:
    items = json.loads(API_FILE.read_text(encoding="utf-8"))[:5]
    items[1]["location"] = None
    items[3]["location"]["latitude"] = ""
    items[3]["location"]["longitude"] = ""
    path = tmp_path / "crimes.json"
    path.write_text(json.dumps(items), encoding="utf-8")
    result = read_police_uk(path)
    assert (result.rows_read, result.skipped_no_location) == (5, 2)
    assert result.crimes["line"].tolist() == [1, 3, 5]


def test_api_btp_location_type_names_the_force(tmp_path: Path) -> None:
    items = json.loads(API_FILE.read_text(encoding="utf-8"))[:2]
    items[0]["location_type"] = "BTP"
    path = tmp_path / "crimes.json"
    path.write_text(json.dumps(items), encoding="utf-8")
    crimes = read_police_uk(path).crimes
    assert crimes["falls_within"].tolist() == ["British Transport Police", ""]


# --- refusals ------------------------------------------------------------------------------


def _copy_csv_lines(tmp_path: Path) -> Path:
    """The header and first five rows of the July 2019 file (all located)."""
    lines = CSV_FILES[6].read_text(encoding="utf-8").splitlines(keepends=True)[:6]
    path = tmp_path / "x.csv"
    path.write_text("".join(lines), encoding="utf-8")
    return path


def test_csv_without_a_column_is_refused_naming_it(tmp_path: Path) -> None:
    source = CSV_FILES[0]
    frame = pd.read_csv(source, dtype=str, keep_default_na=False)
    path = tmp_path / "no_lsoa.csv"
    frame.drop(columns=["LSOA code", "Crime type"]).to_csv(path, index=False)
    with pytest.raises(CrimeFileError, match=r"missing column\(s\) 'LSOA code', 'Crime type'"):
        read_police_uk(path)


def test_flat_api_csv_is_read(tmp_path: Path) -> None:
    path = tmp_path / "crimes_london_flat.csv"
    path.write_text(
        "id,persistent_id,month,category,latitude,longitude,street_name\n"
        "1,,2025-12,drugs,51.5,-0.12,On or near Strand\n",
        encoding="utf-8",
    )
    crimes = read_police_uk(path).crimes
    assert crimes[["police_uk_id", "crime_type", "street_name", "lon", "lat"]].values.tolist() == [
        ["1", "Drugs", "On or near Strand", -0.12, 51.5]
    ]
    assert crimes["month"].tolist() == [dt.date(2025, 12, 1)]


def test_csv_with_a_bad_coordinate_is_refused_naming_the_line(tmp_path: Path) -> None:
    path = _copy_csv_lines(tmp_path)
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    fields = next(csv.reader([lines[3]]))
    fields[4] = "west"
    lines[3] = ",".join(fields) + "\n"
    path.write_text("".join(lines), encoding="utf-8")
    with pytest.raises(CrimeFileError, match=r"non-numeric longitude/latitude at line 4: 'west,"):
        read_police_uk(path)


def test_csv_with_an_out_of_range_coordinate_is_refused(tmp_path: Path) -> None:
    path = _copy_csv_lines(tmp_path)
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    fields = next(csv.reader([lines[2]]))
    fields[5] = "151.5"
    lines[2] = ",".join(fields) + "\n"
    path.write_text("".join(lines), encoding="utf-8")
    with pytest.raises(CrimeFileError, match=r"out of range at line 3: '-?[0-9.]+,151\.5'"):
        read_police_uk(path)


def test_csv_with_half_a_location_is_refused(tmp_path: Path) -> None:
    path = _copy_csv_lines(tmp_path)
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    fields = next(csv.reader([lines[1]]))
    fields[5] = ""
    lines[1] = ",".join(fields) + "\n"
    path.write_text("".join(lines), encoding="utf-8")
    with pytest.raises(CrimeFileError, match=r"only one of longitude/latitude given at line 2"):
        read_police_uk(path)


def test_csv_with_an_unknown_crime_type_is_refused_naming_the_line(tmp_path: Path) -> None:
    path = _copy_csv_lines(tmp_path)
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    fields = next(csv.reader([lines[4]]))
    fields[9] = "Public disorder and weapons"  # retired in 2013
    lines[4] = ",".join(fields) + "\n"
    path.write_text("".join(lines), encoding="utf-8")
    with pytest.raises(
        CrimeFileError, match=r"unknown Crime type at line 5: 'Public disorder and weapons'"
    ):
        read_police_uk(path)


def test_csv_with_a_bad_month_is_refused(tmp_path: Path) -> None:
    path = _copy_csv_lines(tmp_path)
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    lines[2] = lines[2].replace(",2019-07,", ",July 2019,", 1)
    path.write_text("".join(lines), encoding="utf-8")
    with pytest.raises(CrimeFileError, match=r"bad month at line 3: 'July 2019'"):
        read_police_uk(path)


def test_api_with_an_unknown_slug_is_refused_naming_the_line(tmp_path: Path) -> None:
    items = json.loads(API_FILE.read_text(encoding="utf-8"))[:4]
    items[2]["category"] = "all-crime"
    path = tmp_path / "crimes.json"
    path.write_text(json.dumps(items), encoding="utf-8")
    with pytest.raises(CrimeFileError, match=r"unknown category at line 3: 'all-crime'"):
        read_police_uk(path)


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ('[{"category": "drugs"', r"unreadable JSON"),
        ('{"category": "drugs"}', r"the JSON is a dict, not a list of crimes"),
        ('[{"category": "drugs", "month": "2025-12"}]', r"item\(s\) 1 are not police\.uk crime"),
    ],
)
def test_bad_json_is_refused(tmp_path: Path, content: str, expected: str) -> None:
    path = tmp_path / "crimes.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(CrimeFileError, match=expected):
        read_police_uk(path)


def test_unknown_format_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "crimes.txt"
    path.write_text("ward,count\nE05000001,3\n", encoding="utf-8")
    with pytest.raises(CrimeFileError, match=r"not a police\.uk crime file I recognise"):
        read_police_uk(path)


def test_format_is_sniffed_when_the_extension_is_unknown(tmp_path: Path) -> None:
    csv_copy = tmp_path / "crimes.download"
    shutil.copyfile(CSV_FILES[0], csv_copy)
    json_copy = tmp_path / "crimes.api"
    shutil.copyfile(API_FILE, json_copy)
    assert read_police_uk(csv_copy).format == FORMAT_BULK_CSV
    assert read_police_uk(json_copy).format == FORMAT_API_JSON
    assert read_police_uk(csv_copy).crimes.equals(read_police_uk(CSV_FILES[0]).crimes)


def test_header_only_csv_gives_an_empty_frame(tmp_path: Path) -> None:
    path = tmp_path / "empty.csv"
    path.write_text(CSV_FILES[0].read_text(encoding="utf-8").splitlines()[0] + "\n")
    result = read_police_uk(path)
    assert (result.rows_read, result.skipped_no_location, len(result.crimes)) == (0, 0, 0)
    assert tuple(result.crimes.columns) == CRIME_COLUMNS


def test_quoted_newlines_keep_physical_line_numbers(tmp_path: Path) -> None:
    path = _copy_csv_lines(tmp_path)
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    fields = next(csv.reader([lines[1]]))
    fields[11] = "two\nlines"
    buffer = tmp_path / "row.csv"
    with buffer.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle, lineterminator="\n").writerow(fields)
    lines[1] = buffer.read_text(encoding="utf-8")
    path.write_text("".join(lines), encoding="utf-8")
    crimes = read_police_uk(path).crimes
    assert crimes["line"].tolist()[:2] == [2, 4]


# --- hashing -------------------------------------------------------------------------------


def test_file_sha256_is_stable_and_distinguishes_files(tmp_path: Path) -> None:
    import hashlib

    first = file_sha256(CSV_FILES[0])
    assert first == file_sha256(CSV_FILES[0])
    assert first == hashlib.sha256(CSV_FILES[0].read_bytes()).hexdigest()
    assert len({file_sha256(p) for p in [*CSV_FILES, API_FILE]}) == len(CSV_FILES) + 1
    copy = tmp_path / "copy.csv"
    shutil.copyfile(CSV_FILES[0], copy)
    assert file_sha256(copy) == first
    # larger than one read chunk
    assert file_sha256(API_FILE) == hashlib.sha256(API_FILE.read_bytes()).hexdigest()


def test_attribution_lists_the_bundled_files_checksums() -> None:
    text = (DATA / "ATTRIBUTION.md").read_text(encoding="utf-8")
    assert (
        "Contains public sector information licensed under the Open Government Licence v3.0."
        in text
    )
    listed = {
        name: digest
        for digest, name in (
            line.split("  ", 1)
            for line in text.splitlines()
            if line[:64].isalnum() and "  " in line
        )
    }
    bundled = sorted(
        p.relative_to(DATA).as_posix() for p in DATA.rglob("*") if p.is_file() and p.suffix != ".md"
    )
    assert sorted(listed) == bundled
    for name, digest in listed.items():
        assert file_sha256(DATA / name) == digest, name


def test_api_repeated_persistent_ids_are_kept(
    api_items: list[dict[str, object]], api_read: CrimeFile
) -> None:
    expected = Counter(str(item["persistent_id"]) for item in api_items if item["persistent_id"])
    assert any(n > 1 for n in expected.values())
    crimes = api_read.crimes
    assert Counter(crimes.loc[crimes["crime_id"] != "", "crime_id"]) == expected
    assert crimes["police_uk_id"].is_unique
