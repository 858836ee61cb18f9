from __future__ import annotations

import io
import math
from datetime import date
from typing import Any

import numpy as np
import pandas as pd
import pytest

from geo import reports
from geo.reports import (
    COLUMNS,
    TEXT_LIMIT,
    TIME_BANDS,
    ReportRows,
    RowProblem,
    clean_text,
    parse_report_csv,
    parse_report_features,
    parse_report_object,
    parse_report_rows,
)

CATS = (
    "poor_lighting",
    "isolated",
    "hidden_corners",
    "loitering",
    "verbal_harassment",
    "followed",
    "no_cctv",
    "underpass_alley_park_path",
    "bus_stop_station",
    "neglected",
    "drug_alcohol_use",
    "other",
)
TODAY = date(2025, 6, 1)
FIELDS = ("lon", "lat", "categories", "occurred_at", "date", "time_band", "text")
GOOD = {"lon": "-0.1136", "lat": "51.5033", "categories": "isolated", "date": "2025-01-10"}
GOOD |= {"time_band": "night"}


def table(*rows: dict[str, str], fields: tuple[str, ...] = FIELDS) -> pd.DataFrame:
    """A CSV-like frame as read with dtype=str, keep_default_na=False."""
    records = [{f: row.get(f, "") for f in fields} for row in rows]
    return pd.DataFrame(records, columns=list(fields), dtype=str)


def parse(*rows: dict[str, str], **kwargs: Any) -> ReportRows:
    return parse_report_rows(table(*rows), categories=CATS, today=TODAY, **kwargs)


def utc(text: str) -> pd.Timestamp:
    return pd.Timestamp(text, tz="UTC")


def test_valid_rows_round_trip_with_exact_values() -> None:
    rows = parse(
        {
            "lon": " -0.1136 ",
            "lat": "51.5033",
            "categories": "Poor_Lighting; isolated ;poor_lighting;",
            "occurred_at": "2024-11-05T18:30:00+00:00",
            "text": "  No lights on the path  ",
        },
        {
            "lon": "0",
            "lat": "-90",
            "categories": "other",
            "date": "2024-07-14",
            "time_band": "Evening",
        },
    )
    assert rows.problems == ()
    assert list(rows.frame.columns) == list(COLUMNS)
    assert rows.frame.to_dict("records") == [
        {
            "line": 2,
            "lon": -0.1136,
            "lat": 51.5033,
            "categories": ["poor_lighting", "isolated"],
            "occurred_at": utc("2024-11-05 18:30"),
            "occurred_on": date(2024, 11, 5),
            "time_band": None,
            "text": "No lights on the path",
        },
        {
            "line": 3,
            "lon": 0.0,
            "lat": -90.0,
            "categories": ["other"],
            "occurred_at": pd.NaT,
            "occurred_on": date(2024, 7, 14),
            "time_band": "evening",
            "text": None,
        },
    ]
    assert rows.frame["line"].dtype == np.int64
    assert rows.frame["lon"].dtype == np.float64
    assert str(rows.frame["occurred_at"].dt.tz) == "UTC"


@pytest.mark.parametrize(
    ("bad", "reason"),
    [
        ({"lon": "abc"}, "longitude 'abc' is not a number: give degrees east in [-180, 180]"),
        ({"lon": "-181"}, "longitude -181 is outside the valid range: give degrees east in"),
        ({"lat": "95.5"}, "latitude 95.5 is outside the valid range: give degrees north in"),
        ({"lat": "NaN"}, "latitude 'NaN' is not a finite number: give degrees north"),
        ({"lon": "inf"}, "longitude 'inf' is not a finite number"),
        ({"lat": "-Infinity"}, "latitude '-Infinity' is not a finite number"),
        ({"lon": ""}, "longitude is blank: give degrees east in [-180, 180]"),
        ({"lon": "51,5"}, "longitude '51,5' is not a number"),
        (
            {"categories": "isolated;dark_alley"},
            "unknown category 'dark_alley': use one of poor_lighting, isolated, hidden_corners,",
        ),
        ({"categories": " ; "}, "no category given: give at least one of poor_lighting"),
        ({"occurred_at": "2025-01-10T22:00"}, "both occurred_at and date/time_band given"),
        ({"date": "", "time_band": ""}, "no time given: give occurred_at, e.g. 2024-11-05T18:30"),
        ({"time_band": ""}, "date given without time_band: add one of early_morning, daytime"),
        ({"date": ""}, "time_band given without date: add the date as YYYY-MM-DD"),
        ({"time_band": "dusk"}, "unknown time_band 'dusk': use one of early_morning, daytime,"),
        ({"date": "2024-02-30"}, "date '2024-02-30' is not a real date in YYYY-MM-DD form"),
        ({"date": "10/01/2025"}, "date '10/01/2025' is not a real date in YYYY-MM-DD form"),
        ({"date": "2025-06-03"}, "date '2025-06-03' is in the future: give a date no later "),
        ({"date": "1999-12-31"}, "date '1999-12-31' is before 2000-01-01"),
        (
            {"date": "", "time_band": "", "occurred_at": "2025-06-03T00:30+01:00"},
            "occurred_at '2025-06-03T00:30+01:00' is in the future",
        ),
        (
            {"date": "", "time_band": "", "occurred_at": "yesterday at 6"},
            "occurred_at 'yesterday at 6' is not an ISO 8601 date and time",
        ),
        (
            {"date": "", "time_band": "", "occurred_at": "2024-05-01"},
            "occurred_at '2024-05-01' is not an ISO 8601 date and time",
        ),
        (
            {"date": "", "time_band": "", "occurred_at": "2024-05-01T25:00Z"},
            "occurred_at '2024-05-01T25:00Z' is not an ISO 8601 date and time",
        ),
        ({"text": "x" * (TEXT_LIMIT + 1)}, "text is 1001 characters long after cleaning"),
    ],
)
def test_one_bad_row_among_good_ones_names_its_line(bad: dict[str, str], reason: str) -> None:
    rows = parse(GOOD, GOOD | bad, GOOD)
    assert len(rows.problems) == 1
    (problem,) = rows.problems
    assert problem.line == 3
    assert problem.reason.startswith(reason), problem.reason
    assert rows.frame["line"].tolist() == [2, 4]


def test_future_means_beyond_tomorrow_in_london() -> None:
    rows = parse(
        GOOD | {"date": "2025-06-02"},  # tomorrow: allowed (clocks and time zones differ)
        GOOD | {"date": "2000-01-01"},
        {**GOOD, "date": "", "time_band": "", "occurred_at": "2025-06-02T23:59"},
        # 23:30 UTC on the 2nd is 00:30 BST on the 3rd: a future London date.
        {**GOOD, "date": "", "time_band": "", "occurred_at": "2025-06-02T23:30Z"},
    )
    assert rows.frame["line"].tolist() == [2, 3, 4]
    assert [p.line for p in rows.problems] == [5]
    assert "no later than 2025-06-02" in rows.problems[0].reason


@pytest.mark.parametrize(
    ("given", "instant", "local_date"),
    [
        # Winter: London is on GMT, UTC offset 0.
        ("2024-01-15T18:30", "2024-01-15 18:30", date(2024, 1, 15)),
        # Summer: London is on BST, UTC+1.
        ("2024-07-15T18:30", "2024-07-15 17:30", date(2024, 7, 15)),
        ("2024-07-15 00:30:15", "2024-07-14 23:30:15", date(2024, 7, 15)),
        # With an offset the instant is taken as given; the date is still London's.
        ("2024-07-15T23:30Z", "2024-07-15 23:30", date(2024, 7, 16)),
        ("2024-07-15t20:30-05:00", "2024-07-16 01:30", date(2024, 7, 16)),
        ("2024-01-15T18:30:00.250+0100", "2024-01-15 17:30:00.25", date(2024, 1, 15)),
        # Ambiguous: 01:30 on 27 October 2024 happened twice; the first (BST) is chosen.
        ("2024-10-27T01:30", "2024-10-27 00:30", date(2024, 10, 27)),
        # Just after the repeated hour London is on GMT again.
        ("2024-10-27T02:30", "2024-10-27 02:30", date(2024, 10, 27)),
        # Nonexistent: 01:30 on 31 March 2024 never happened; moved on an hour to
        # 02:30 BST, which is 01:30 UTC.
        ("2024-03-31T01:30", "2024-03-31 01:30", date(2024, 3, 31)),
        ("2024-03-31T02:30", "2024-03-31 01:30", date(2024, 3, 31)),
    ],
)
def test_occurred_at_is_read_in_london_time(given: str, instant: str, local_date: date) -> None:
    rows = parse({**GOOD, "date": "", "time_band": "", "occurred_at": given})
    assert rows.problems == ()
    record = rows.frame.iloc[0]
    assert record["occurred_at"] == utc(instant)
    assert record["occurred_on"] == local_date
    assert record["time_band"] is None


def test_text_is_cleaned_and_measured_after_cleaning() -> None:
    dirty = "\x00 Dark\x1b path\r\nby the\tcanal\x7f\x85 "
    exactly_limit = "\x07" * 50 + "y" * TEXT_LIMIT + "\x9f"
    rows = parse(GOOD | {"text": dirty}, GOOD | {"text": exactly_limit}, GOOD | {"text": " \x0b "})
    assert rows.problems == ()
    assert rows.frame["text"].tolist() == ["Dark path\nby the canal", "y" * TEXT_LIMIT, None]


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        (None, None),
        ("", None),
        ("  \t\r\n\x00 ", None),
        ("a\r\nb\rc\nd", "a\nb\nc\nd"),
        ("a\tb", "a b"),
        ("bad\x00\x08\x0c\x1f\x7f\x80\x9f end", "bad end"),
        ("café \u2013 ok 👍", "café \u2013 ok 👍"),
    ],
)
def test_clean_text(given: str | None, expected: str | None) -> None:
    assert clean_text(given) == expected


def test_clean_text_refuses_non_text() -> None:
    with pytest.raises(TypeError, match="text must be a str or None, not int"):
        clean_text(5)  # type: ignore[arg-type]


def test_easting_northing_are_transformed_to_wgs84() -> None:
    fields = ("easting", "northing", "categories", "date", "time_band")
    raw = table(
        {"easting": "530000", "northing": "180000", "categories": "other"},
        {"easting": "-5", "northing": "180000", "categories": "other"},
        {"easting": "530000", "northing": "north", "categories": "other"},
        fields=fields,
    )
    raw["date"] = "2025-01-10"
    raw["time_band"] = "daytime"
    rows = parse_report_rows(raw, categories=CATS, today=TODAY)
    assert rows.frame["line"].tolist() == [2]
    lon, lat = rows.frame.loc[0, ["lon", "lat"]]
    assert lon == pytest.approx(-0.13, abs=0.005)
    assert lat == pytest.approx(51.505, abs=0.005)
    assert rows.problems == (
        RowProblem(
            3,
            "easting -5 is outside the valid range: give metres on the British National Grid "
            "(EPSG:27700) in [0, 700000]",
        ),
        RowProblem(
            4,
            "northing 'north' is not a number: give metres on the British National Grid "
            "(EPSG:27700) in [0, 1300000]",
        ),
    )


def test_lon_lat_win_over_easting_northing_and_fields_can_be_renamed() -> None:
    raw = pd.DataFrame(
        {
            "\ufeffLongitude ": ["-0.1"],
            "LATITUDE": ["51.5"],
            "Categories": ["other"],
            "date": ["2025-01-10"],
            "time_band": ["night"],
            "easting": ["1"],
            "northing": ["1"],
        },
        dtype=str,
    )
    rows = parse_report_rows(
        raw, categories=CATS, lon_field="longitude", lat_field="Latitude", today=TODAY
    )
    assert rows.problems == ()
    assert rows.frame.loc[0, ["lon", "lat"]].tolist() == [-0.1, 51.5]


def test_missing_location_columns_is_a_file_level_error() -> None:
    raw = table(GOOD, fields=("x", "y", "categories", "date", "time_band"))
    with pytest.raises(ValueError, match="no location columns") as caught:
        parse_report_rows(raw, categories=CATS, today=TODAY)
    message = str(caught.value)
    assert "columns found: 'x', 'y', 'categories', 'date', 'time_band'" in message
    assert "--lon-field/--lat-field" in message
    assert "--easting-field/--northing-field" in message


def test_a_lone_lon_column_is_not_a_location() -> None:
    raw = table(GOOD, fields=("lon", "categories", "date", "time_band"))
    with pytest.raises(ValueError, match="'lon' and 'lat'"):
        parse_report_rows(raw, categories=CATS, today=TODAY)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        (("lon", "lat", "date", "time_band"), "no 'categories' column"),
        (("lon", "lat", "categories", "date"), "no time columns"),
        (("lon", "lat", "categories", "text"), "no time columns"),
    ],
)
def test_missing_required_columns_are_file_level_errors(
    fields: tuple[str, ...], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        parse_report_rows(table(GOOD, fields=fields), categories=CATS, today=TODAY)


def test_missing_optional_columns_are_fine() -> None:
    raw = table(GOOD, fields=("lon", "lat", "categories", "date", "time_band"))
    rows = parse_report_rows(raw, categories=CATS, today=TODAY)
    assert rows.problems == ()
    assert rows.frame["text"].tolist() == [None]
    assert rows.frame["occurred_at"].isna().all()

    raw = table(
        {**GOOD, "occurred_at": "2025-01-10T21:00"},
        fields=("lon", "lat", "categories", "occurred_at"),
    )
    rows = parse_report_rows(raw, categories=CATS, today=TODAY)
    assert rows.problems == ()
    assert rows.frame.loc[0, "occurred_at"] == utc("2025-01-10 21:00")


def test_missing_values_from_a_default_reader_count_as_blank() -> None:
    raw = table(GOOD, GOOD)
    raw.loc[1, "text"] = np.nan
    raw.loc[1, "lon"] = np.nan
    rows = parse_report_rows(raw, categories=CATS, today=TODAY)
    assert rows.problems == (RowProblem(3, "longitude is blank: give degrees east in [-180, 180]"),)


def test_many_problems_are_collected_at_once_sorted_by_line() -> None:
    bad = [
        {"lon": "x"},
        {"categories": "nope"},
        {"time_band": "afternoon"},
        {"lat": "-91"},
        {"date": "2025-13-01"},
    ]
    rows = parse(*([GOOD] * 2 + [GOOD | b for b in reversed(bad)] + [GOOD] * 3))
    assert [p.line for p in rows.problems] == [4, 5, 6, 7, 8]
    assert "2025-13-01" in rows.problems[0].reason
    assert "'x'" in rows.problems[-1].reason
    assert rows.frame["line"].tolist() == [2, 3, 9, 10, 11]


def test_every_fault_of_one_row_is_reported() -> None:
    rows = parse({"lon": "", "lat": "100", "categories": "a;b", "time_band": "dusk", "text": "t"})
    reasons = [p.reason for p in rows.problems]
    assert {p.line for p in rows.problems} == {2}
    assert len(reasons) == 6
    assert reasons[0].startswith("longitude is blank")
    assert reasons[1].startswith("latitude 100 is outside")
    assert reasons[2].startswith("unknown category 'a'")
    assert reasons[3].startswith("unknown category 'b'")
    assert reasons[4].startswith("time_band given without date")
    assert reasons[5].startswith("unknown time_band 'dusk'")
    assert rows.frame.empty


def test_first_line_offsets_line_numbers() -> None:
    rows = parse(GOOD, GOOD | {"lon": "?"}, first_line=10)
    assert rows.frame["line"].tolist() == [10]
    assert [p.line for p in rows.problems] == [11]


def test_empty_input_gives_an_empty_frame_with_the_columns() -> None:
    rows = parse_report_rows(table(), categories=CATS, today=TODAY)
    assert rows.problems == ()
    assert rows.frame.empty
    assert list(rows.frame.columns) == list(COLUMNS)


FLAT = {
    "lon": -0.1136,
    "lat": 51.5033,
    "categories": ["followed", "poor_lighting", "followed"],
    "occurred_at": "2024-12-01T19:45",
    "text": "Someone\x00 followed me\r\nfrom the station",
}
FEATURE = {
    "type": "Feature",
    "geometry": {"type": "Point", "coordinates": [-0.1136, 51.5033]},
    "properties": {k: v for k, v in FLAT.items() if k not in ("lon", "lat")},
}


def test_flat_object_feature_and_csv_give_identical_frames() -> None:
    flat = parse_report_object(FLAT, categories=CATS, today=TODAY)
    feature = parse_report_object(FEATURE, categories=CATS, today=TODAY)
    csv = parse_report_rows(
        table(
            {
                "lon": "-0.1136",
                "lat": "51.5033",
                "categories": "followed;poor_lighting;followed",
                "occurred_at": "2024-12-01T19:45",
                "text": FLAT["text"],
            }
        ),
        categories=CATS,
        first_line=1,
        today=TODAY,
    )
    assert flat.problems == feature.problems == csv.problems == ()
    pd.testing.assert_frame_equal(flat.frame, feature.frame)
    pd.testing.assert_frame_equal(flat.frame, csv.frame)
    assert flat.frame.to_dict("records") == [
        {
            "line": 1,
            "lon": -0.1136,
            "lat": 51.5033,
            "categories": ["followed", "poor_lighting"],
            "occurred_at": utc("2024-12-01 19:45"),
            "occurred_on": date(2024, 12, 1),
            "time_band": None,
            "text": "Someone followed me\nfrom the station",
        }
    ]


def test_object_accepts_semicolon_categories_and_a_date_with_band() -> None:
    obj = {"lon": "-0.1", "lat": 51, "categories": "isolated; No_CCTV", "date": "2025-05-31"}
    rows = parse_report_object(obj | {"time_band": "night"}, categories=CATS, today=TODAY)
    assert rows.problems == ()
    record = rows.frame.iloc[0]
    assert record["categories"] == ["isolated", "no_cctv"]
    assert (record["lon"], record["lat"]) == (-0.1, 51.0)
    assert record["occurred_on"] == date(2025, 5, 31)
    assert record["time_band"] == "night"
    assert record["occurred_at"] is pd.NaT


@pytest.mark.parametrize(
    ("obj", "reason"),
    [
        (
            FEATURE | {"geometry": {"type": "LineString", "coordinates": [[0, 51], [0.1, 51]]}},
            "geometry type 'LineString' is not supported: give a Point",
        ),
        (FEATURE | {"geometry": None}, "geometry must be a GeoJSON Point, not null"),
        (
            FEATURE | {"geometry": {"type": "Point", "coordinates": [0.1]}},
            "Point coordinates must be [longitude, latitude], not [0.1]",
        ),
        (FEATURE | {"type": "FeatureCollection"}, "a report must be a GeoJSON Feature"),
        (FEATURE | {"properties": [1]}, "properties must be an object, not a list"),
        (["not", "an", "object"], "a report must be a JSON object, not a list"),
        (FLAT | {"text": {"a": 1}}, "text must be a string, not an object"),
        (FLAT | {"lon": math.nan}, "longitude 'nan' is not a finite number"),
        (FLAT | {"lat": None}, "latitude is blank"),
        (FLAT | {"lat": True}, "latitude 'true' is not a number"),
        (FLAT | {"categories": []}, "no category given"),
        (FLAT | {"categories": ["lighting"]}, "unknown category 'lighting'"),
    ],
)
def test_malformed_objects_are_problems(obj: Any, reason: str) -> None:
    rows = parse_report_object(obj, categories=CATS, today=TODAY)
    assert rows.frame.empty
    assert len(rows.problems) == 1, rows.problems
    assert rows.problems[0].line == 1
    assert rows.problems[0].reason.startswith(reason), rows.problems[0].reason


def test_feature_with_bad_geometry_still_reports_its_other_faults() -> None:
    feature = FEATURE | {
        "geometry": {"type": "Polygon", "coordinates": []},
        "properties": {"categories": "nope", "date": "2024-01-01", "time_band": "night"},
    }
    rows = parse_report_object(feature, categories=CATS, today=TODAY)
    assert [p.reason.split(":")[0] for p in rows.problems] == [
        "geometry type 'Polygon' is not supported",
        "unknown category 'nope'",
    ]


def test_feature_collection_lines_are_feature_index_plus_one() -> None:
    features = [FEATURE] * 5
    features[1] = FEATURE | {"geometry": {"type": "LineString", "coordinates": [[0, 0], [1, 1]]}}
    features[3] = {"type": "Feature", "geometry": FEATURE["geometry"], "properties": None}
    collection = {"type": "FeatureCollection", "features": features}
    rows = parse_report_features(collection, categories=CATS, today=TODAY)
    assert rows.frame["line"].tolist() == [1, 3, 5]
    assert [p.line for p in rows.problems] == [2, 4, 4]
    assert rows.problems[1].reason.startswith("no category given")
    assert rows.problems[2].reason.startswith("no time given")


def test_feature_collection_items_must_be_features() -> None:
    collection = {"type": "FeatureCollection", "features": [FLAT, FEATURE]}
    rows = parse_report_features(collection, categories=CATS, today=TODAY)
    assert rows.frame["line"].tolist() == [2]
    assert len(rows.problems) == 1
    assert rows.problems[0].line == 1
    assert rows.problems[0].reason.startswith("each item of features must be a GeoJSON Feature")


@pytest.mark.parametrize(
    "document",
    [{"type": "Feature"}, {"type": "FeatureCollection"}, {"features": []}, []],
)
def test_not_a_feature_collection_is_a_file_level_error(document: Any) -> None:
    with pytest.raises(ValueError, match="FeatureCollection"):
        parse_report_features(document, categories=CATS, today=TODAY)


def test_categories_argument_is_checked() -> None:
    with pytest.raises(TypeError, match="collection of slug strings"):
        parse_report_object(FLAT, categories="other", today=TODAY)
    with pytest.raises(ValueError, match="lower-case"):
        parse_report_object(FLAT, categories=("Other",), today=TODAY)
    with pytest.raises(ValueError, match="must not be empty"):
        parse_report_object(FLAT, categories=(), today=TODAY)


def test_unordered_categories_are_listed_sorted() -> None:
    rows = parse_report_object(
        FLAT | {"categories": "x"}, categories=frozenset({"b", "a"}), today=TODAY
    )
    assert rows.problems[0].reason == "unknown category 'x': use one of a, b"


def test_time_bands_match_the_database_check() -> None:
    assert TIME_BANDS == ("early_morning", "daytime", "evening", "night")


def test_two_hundred_thousand_rows() -> None:
    n = 200_000
    rng = np.random.default_rng(7)
    index = np.arange(n)
    exact = index % 2 == 0
    raw = pd.DataFrame(
        {
            "lon": np.round(rng.uniform(-0.5, 0.3, n), 6).astype(str),
            "lat": np.round(rng.uniform(51.3, 51.7, n), 6).astype(str),
            "categories": np.where(index % 3 == 0, "poor_lighting;isolated", "other"),
            "occurred_at": np.where(exact, "2024-10-27T01:30", ""),
            "date": np.where(exact, "", "2024-05-01"),
            "time_band": np.where(exact, "", "night"),
            "text": np.where(index % 5 == 0, "dark\x00 here", ""),
        }
    ).astype(str)
    bad_lon = index % 1000 == 1  # 200 rows
    bad_category = index % 1000 == 2  # 200 more
    raw.loc[bad_lon, "lon"] = "west"
    raw.loc[bad_category, "categories"] = "unknown"
    rows = parse_report_rows(raw, categories=CATS, today=TODAY)

    assert len(rows.problems) == 400
    assert [p.line for p in rows.problems] == sorted(index[bad_lon | bad_category] + 2)
    frame = rows.frame
    assert len(frame) == n - 400
    good = ~(bad_lon | bad_category)
    assert frame["line"].tolist() == (index[good] + 2).tolist()
    assert frame["occurred_at"].notna().sum() == (exact & good).sum()
    assert (frame["occurred_at"].dropna() == utc("2024-10-27 00:30")).all()
    assert frame["time_band"].eq("night").sum() == (~exact & good).sum()
    assert frame["categories"].map(len).sum() == (good & (index % 3 == 0)).sum() + good.sum()
    assert frame["text"].eq("dark here").sum() == (good & (index % 5 == 0)).sum()
    assert np.allclose(frame["lon"], raw.loc[good, "lon"].astype(float))


# --- parse_report_csv: the quick reading of files must agree with the text reading --------

CSV_HEADER = "lon,lat,categories,occurred_at,date,time_band,text"
CSV_GOOD = "-0.1136,51.5033,isolated,,2025-01-10,night,"


def text_reading(data: bytes, **kwargs: Any) -> ReportRows:
    raw = pd.read_csv(io.BytesIO(data), dtype=str, keep_default_na=False, encoding="utf-8-sig")
    return parse_report_rows(raw, categories=CATS, today=TODAY, **kwargs)


def read_both(data: bytes, **kwargs: Any) -> ReportRows:
    """parse_report_csv, after checking it gives exactly what the text reading gives."""
    quick = parse_report_csv(data, categories=CATS, today=TODAY, **kwargs)
    slow = text_reading(data, **kwargs)
    assert quick.problems == slow.problems
    pd.testing.assert_frame_equal(quick.frame, slow.frame)
    return quick


def csv_bytes(*rows: str, header: str = CSV_HEADER) -> bytes:
    return ("\n".join([header, *rows]) + "\n").encode()


def test_a_clean_file_is_read_once_with_numeric_coordinates() -> None:
    data = csv_bytes(CSV_GOOD, "-0.09,51.47,Poor_Lighting; other,2024-11-05T18:30Z,,,  dark ")
    # The quick reading is what a clean file gets (None would mean a second, text reading).
    assert reports._read_numeric_csv(data, "lon", "lat", "easting", "northing") is not None
    rows = read_both(data)
    assert rows.problems == ()
    assert rows.frame.to_dict("records") == [
        {
            "line": 2,
            "lon": -0.1136,
            "lat": 51.5033,
            "categories": ["isolated"],
            "occurred_at": pd.NaT,
            "occurred_on": date(2025, 1, 10),
            "time_band": "night",
            "text": None,
        },
        {
            "line": 3,
            "lon": -0.09,
            "lat": 51.47,
            "categories": ["poor_lighting", "other"],
            "occurred_at": utc("2024-11-05 18:30"),
            "occurred_on": date(2024, 11, 5),
            "time_band": None,
            "text": "dark",
        },
    ]


# Cells pandas' float reader and to_numeric might read differently, and ones that need the text.
ODD_NUMBERS = [
    *("1e1", "+5", " 5", "5 ", "\t5", ".5", "5.", "-.5", "+.5e1", "0005", "1E5", "0.1e-2"),
    *("0", "1", "-0", "0.0", "1.0", "true", "TRUE", "False", "yes"),
    *("0x1A", "1_0", "٣", "1.5.5", "\u22125", "1d5", "+-5", "--5", "5e", "5e+", "5f", "1 2"),
    *("inf", "-Infinity", "INF", "nan", "NaN", "+nan", "NA", "N/A", "null", "None", "#N/A"),
    *("", " ", "1e-400", "1e400", "999999999999999999999999999999", "51.503300000000000001"),
    *("-181", "180.0000001", "-90", "90", '"51,5"'),
]


@pytest.mark.parametrize("cell", ODD_NUMBERS)
@pytest.mark.parametrize("column", ["lon", "lat"])
def test_odd_coordinates_read_as_the_text_reading_reads_them(cell: str, column: str) -> None:
    odd = {"lon": f"{cell},51.5", "lat": f"-0.1,{cell}"}[column]
    read_both(csv_bytes(CSV_GOOD, f"{odd},isolated,,2025-01-10,night,", CSV_GOOD))


@pytest.mark.parametrize("cells", [("true",), ("False", "TRUE"), ("true", "1"), ("0", "1")])
def test_a_column_of_only_true_and_false_is_not_read_as_numbers(cells: tuple[str, ...]) -> None:
    # pandas' float reader turns a column made only of these words into 1.0 and 0.0.
    rows = read_both(csv_bytes(*(f"{cell},51.5,isolated,,2025-01-10,night," for cell in cells)))
    words = [cell for cell in cells if not cell.isdigit()]
    assert [p.reason.split(":")[0] for p in rows.problems] == [
        f"longitude {word!r} is not a number" for word in words
    ]


@pytest.mark.parametrize("cell", ["0", "1", "true", "-5", "700000", "700001", "north", "", "1e5"])
def test_odd_grid_coordinates_read_as_the_text_reading_reads_them(cell: str) -> None:
    header = "Easting,Northing,categories,date,time_band"
    data = csv_bytes(
        "530000,180000,other,2025-01-10,daytime",
        f"{cell},180000,other,2025-01-10,daytime",
        header=header,
    )
    rows = read_both(data, easting_field="easting", northing_field="northing")
    assert rows.frame["line"].tolist()[:1] == [2]


@pytest.mark.parametrize(
    "row",
    [
        "-0.1,51.5,isolated;dark_alley,,2025-01-10,night,",
        "-0.1,51.5, ; ,,2025-01-10,night,",
        "-0.1,51.5,isolated,2025-01-10T22:00,2025-01-10,night,",
        "-0.1,51.5,isolated,,,,",
        "-0.1,51.5,isolated,,2025-01-10,,",
        "-0.1,51.5,isolated,,2024-02-30,Dusk,",
        "-0.1,51.5,isolated,,2025-06-03,night,",
        "-0.1,51.5,isolated,2024-10-27T01:30,,,",
        "-0.1,51.5,isolated,yesterday at 6,,,",
        '-0.1,51.5,isolated,,2025-01-10,night,"two\nlines, ""quoted"""',
        "-0.1,51.5,isolated,,2025-01-10,night," + "x" * (TEXT_LIMIT + 1),
        "-0.1,51.5,isolated,,2025-01-10",  # a short row: the missing cells are blanks
    ],
)
def test_odd_rows_read_as_the_text_reading_reads_them(row: str) -> None:
    read_both(csv_bytes(CSV_GOOD, row, CSV_GOOD))


def test_headers_bom_blank_lines_and_extra_columns_read_alike() -> None:
    data = (
        "\ufeffLongitude ,LATITUDE,Categories,date,time_band,note\n"
        "-0.1,51.5,other,2025-01-10,night,x\n\n-0.2,51.4,other,2025-01-11,evening,y\n"
    ).encode()
    rows = read_both(data, lon_field="longitude", lat_field="Latitude")
    assert rows.frame["lon"].tolist() == [-0.1, -0.2]


@pytest.mark.parametrize(
    ("data", "error"),
    [
        (b"", pd.errors.EmptyDataError),
        (csv_bytes(CSV_GOOD, CSV_GOOD + ",one too many"), pd.errors.ParserError),
        (csv_bytes(CSV_GOOD).replace(b"isolated", b"isol\xe9ted"), UnicodeDecodeError),
    ],
)
def test_unreadable_files_raise_what_read_csv_raises(data: bytes, error: type) -> None:
    with pytest.raises(error):
        parse_report_csv(data, categories=CATS, today=TODAY)


@pytest.mark.parametrize(
    ("header", "message"),
    [
        ("x,y,categories,date,time_band", "no location columns"),
        ("lon,lat,date,time_band", "no 'categories' column"),
        ("lon,lat,Lon,categories,date,time_band", "have the same name"),
    ],
)
def test_file_level_faults_are_value_errors(header: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_report_csv(csv_bytes(header=header), categories=CATS, today=TODAY)


def test_rows_with_the_same_categories_share_one_list() -> None:
    rows = read_both(csv_bytes(CSV_GOOD, CSV_GOOD))
    first, second = rows.frame["categories"]
    assert first == ["isolated"] and first is second
