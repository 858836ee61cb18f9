"""Aggregates in PostGIS equal GeoPandas on the same rows; hexagons are PostGIS's own cells."""

from __future__ import annotations

from datetime import date

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import Polygon
from sqlalchemy import text
from sqlalchemy.orm import Session

from geo.hexagons import HEX_EDGES_M, hex_index, hex_polygons
from service.queries import aggregates, demo

LAMBETH, SOUTHWARK = "E09000022", "E09000028"
BOTH = (LAMBETH, SOUTHWARK)


@pytest.fixture
def reports(db: Session) -> gpd.GeoDataFrame:
    """2,000 synthetic published reports in the pilot wards, read back as GeoPandas has them."""
    demo.seed_reports(db, 2000, seed=11)
    # A few hidden and pending ones, which no aggregate may count.
    db.execute(
        text(
            "UPDATE reports SET status = 'hidden' WHERE id IN (SELECT id FROM reports "
            "ORDER BY id LIMIT 40)"
        )
    )
    return gpd.read_postgis(
        text(
            "SELECT id, ward_code, borough_code, occurred_on, time_band, categories, is_dark, "
            "status, source, geom FROM reports"
        ),
        db.connection(),
        geom_col="geom",
        crs=4326,
    )


def _published(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    return frame[frame["status"] == "published"]


@pytest.mark.parametrize("edge", HEX_EDGES_M)
def test_hexagon_counts_equal_a_geopandas_join_with_postgis_cells(
    db: Session, reports: gpd.GeoDataFrame, edge: int
) -> None:
    counted = aggregates.hexagon_counts(db, aggregates.AggregateFilter(BOTH), edge_m=edge)
    cells = aggregates.hexagon_cells(db, BOTH, edge_m=edge).to_crs(27700)
    points = _published(reports).to_crs(27700)
    joined = gpd.sjoin(points, cells, predicate="within")
    expected = joined.groupby(["i", "j"]).size().rename("reports").reset_index()
    merged = counted.merge(expected, on=["i", "j"], how="outer", suffixes=("", "_gpd"))
    assert len(merged) == len(counted) == len(expected)
    assert (merged["reports"] == merged["reports_gpd"]).all()
    assert counted["reports"].sum() == len(points)
    # The same cells as the pure arithmetic and as ST_Hexagon's polygons.
    i, j = hex_index(points.geometry.x, points.geometry.y, edge)
    assert set(zip(i, j, strict=True)) == set(zip(counted["i"], counted["j"], strict=True))
    polygons = gpd.GeoSeries(hex_polygons(counted["i"], counted["j"], edge), crs=27700)
    own = cells.set_index(["i", "j"]).loc[list(zip(counted["i"], counted["j"], strict=True))]
    assert np.allclose(polygons.area, own.geometry.area)
    # Through WGS84 and back moves a vertex by about a millimetre.
    centres = polygons.reset_index(drop=True).centroid
    assert (centres.distance(own.geometry.reset_index(drop=True).centroid) < 0.01).all()


def test_ward_counts_equal_a_geopandas_join_with_the_wards(
    db: Session, reports: gpd.GeoDataFrame
) -> None:
    selection = aggregates.AggregateFilter((LAMBETH,), dark_only=True)
    counted = aggregates.ward_counts(db, selection).set_index("ward_code")
    wards = gpd.read_postgis(
        text(
            "SELECT w.code, w.geom FROM wards w JOIN ward_sets s ON s.id = w.ward_set_id "
            "AND s.is_active WHERE w.borough_code = :b"
        ).bindparams(b=LAMBETH),
        db.connection(),
        geom_col="geom",
    )
    points = _published(reports)
    points = points[points["is_dark"]]
    joined = gpd.sjoin(points, wards, predicate="within").groupby("code").size()
    assert len(counted) == 25  # every Lambeth ward, empty ones too
    for code, row in counted.iterrows():
        assert row["reports"] == joined.get(code, 0), code
        assert row["dark"] == row["reports"]
    assert set(counted["borough_code"]) == {LAMBETH}


def test_filters_by_month_category_band_and_source(db: Session, reports: gpd.GeoDataFrame) -> None:
    points = _published(reports)
    month = pd.Timestamp(points["occurred_on"].min()).to_period("M")
    last = month + 2
    selection = aggregates.AggregateFilter(
        BOTH,
        month_from=month.start_time.date(),
        month_to=last.start_time.date(),
        categories=("poor_lighting", "isolated"),
        time_band="evening",
        sources=("synthetic",),
    )
    got = aggregates.ward_counts(db, selection)["reports"].sum()
    periods = pd.to_datetime(points["occurred_on"]).dt.to_period("M")
    expected = points[
        (periods >= month)
        & (periods <= last)
        & points["categories"].map(lambda c: bool({"poor_lighting", "isolated"} & set(c)))
        & (points["time_band"] == "evening")
    ]
    assert got == len(expected) > 0
    none = aggregates.AggregateFilter(BOTH, sources=("public",))
    assert aggregates.ward_counts(db, none)["reports"].sum() == 0


def test_an_uploaded_area_counts_what_lies_inside_it(
    db: Session, reports: gpd.GeoDataFrame
) -> None:
    # Around Waterloo station and the South Bank.
    area = Polygon([(-0.1200, 51.4990), (-0.1050, 51.4990), (-0.1050, 51.5090), (-0.1200, 51.5090)])
    got = aggregates.area_counts(db, aggregates.AggregateFilter(BOTH), area)
    points = _published(reports)
    assert got["reports"] == int(points.within(area).sum()) > 0
    expected_km2 = gpd.GeoSeries([area], crs=4326).to_crs(27700).area.iloc[0] / 1e6
    assert got["area_km2"] == pytest.approx(expected_km2, rel=1e-6)


def test_describe_says_the_filters_in_words() -> None:
    words = aggregates.AggregateFilter(
        (LAMBETH,),
        month_from=date(2026, 1, 1),
        month_to=date(2026, 3, 1),
        categories=("poor_lighting",),
        dark_only=True,
    ).describe()
    assert words == [
        "boroughs E09000022",
        "months January 2026 to March 2026",
        "categories Poor or no street lighting",
        "after dark only (sun below -6 degrees)",
    ]


def test_describe_names_the_boroughs_when_their_names_are_known() -> None:
    words = aggregates.AggregateFilter(BOTH, borough_names=("Lambeth", "Southwark")).describe()
    assert words == ["boroughs Lambeth (E09000022), Southwark (E09000028)"]


def test_crime_counts_per_hexagon_equal_a_geopandas_join_with_postgis_cells(db: Session) -> None:
    from pathlib import Path

    from service.queries import imports

    bundled = Path(__file__).parents[1] / "data" / "police_uk"
    imports.import_crimes(
        db, bundled / "api_trafalgar_square_1mile_2025-12" / "crimes_london.json", imported_by="t"
    )
    crimes = gpd.read_postgis(
        text("SELECT borough_code, month, geom FROM crimes WHERE borough_code IS NOT NULL"),
        db.connection(),
        geom_col="geom",
    ).to_crs(27700)
    assert len(crimes) > 500
    december, january = date(2025, 12, 1), date(2026, 1, 1)
    totals = {}
    for boroughs, month in [(BOTH, None), ((LAMBETH,), december), (BOTH, january)]:
        selection = aggregates.AggregateFilter(
            boroughs, month_from=month, month_to=month, dark_only=True, categories=("isolated",)
        )
        counted = aggregates.crime_hexagon_counts(db, selection, edge_m=250)
        cells = aggregates.hexagon_cells(db, boroughs, edge_m=250).to_crs(27700)
        chosen = crimes[crimes["borough_code"].isin(boroughs)]
        if month is not None:
            chosen = chosen[pd.to_datetime(chosen["month"]).dt.date == month]
        joined = gpd.sjoin(chosen, cells, predicate="within")
        expected = joined.groupby(["i", "j"]).size().rename("crimes").reset_index()
        merged = counted.merge(expected, on=["i", "j"], how="outer", suffixes=("", "_gpd"))
        assert len(merged) == len(counted) == len(expected)
        assert (merged["crimes"] == merged["crimes_gpd"]).all()
        # The report filters (darkness, categories) do not apply to crimes.
        assert counted["crimes"].sum() == len(chosen)
        totals[boroughs, month] = len(chosen)
    assert totals[BOTH, None] > totals[(LAMBETH,), december] > 0
    assert totals[BOTH, january] == 0  # none bundled for January 2026


def test_counts_synthetic_says_whether_demo_reports_are_counted(db: Session) -> None:
    everything = aggregates.AggregateFilter(BOTH)
    assert not aggregates.counts_synthetic(db, everything)
    demo.seed_reports(db, 20, seed=3)
    assert aggregates.counts_synthetic(db, everything)
    public_only = aggregates.AggregateFilter(BOTH, sources=("public",))
    assert not aggregates.counts_synthetic(db, public_only)


def test_reports_keep_their_cells_and_the_databases_own_arithmetic_agrees(
    db: Session, reports: gpd.GeoDataFrame
) -> None:
    from geo.hexagons import cell_keys

    stored = pd.DataFrame(
        db.execute(
            text(
                "SELECT ST_X(ST_Transform(geom, 27700)) AS x, ST_Y(ST_Transform(geom, 27700)) "
                "AS y, hex_250, hex_500, hex_1000, hex_2000, "
                "hex_cell_key(ST_X(ST_Transform(geom, 27700)), ST_Y(ST_Transform(geom, 27700)), "
                "500) AS in_sql FROM reports"
            )
        ).all()
    )
    for edge in HEX_EDGES_M:
        assert (stored[f"hex_{edge}"] == cell_keys(stored["x"], stored["y"], edge)).all()
    assert (stored["in_sql"] == stored["hex_500"]).all()


def test_a_report_written_without_its_cells_is_still_counted(db: Session) -> None:
    # As an operator's hand-written INSERT would leave it: no hex_* columns.
    db.execute(
        text(
            "INSERT INTO reports (geom, ward_code, borough_code, occurred_on, time_band, "
            "categories, source, sun_elevation, is_dark, darkness_basis, status) VALUES "
            "(ST_SetSRID(ST_MakePoint(-0.1136, 51.5033), 4326), 'E05014118', 'E09000022', "
            "'2026-11-01', 'evening', '{poor_lighting}', 'public', -20, true, 'time_band', "
            "'published')"
        )
    )
    demo.seed_reports(db, 50, seed=4)
    counted = aggregates.hexagon_counts(db, aggregates.AggregateFilter(BOTH), edge_m=250)
    points = gpd.read_postgis(
        text("SELECT ST_Transform(geom, 27700) AS geom FROM reports"), db.connection()
    )
    i, j = hex_index(points.geometry.x, points.geometry.y, 250)
    expected = pd.Series(list(zip(i, j, strict=True))).value_counts().sort_index()
    got = counted.set_index(["i", "j"])["reports"].sort_index()
    assert got.sum() == 51
    assert list(got.items()) == [(k, v) for k, v in expected.items()]
