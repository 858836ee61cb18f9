"""Synthetic demo reports: flagged, inside the wards, more after dark, and purged cleanly."""

from __future__ import annotations

from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

from service.queries import demo


def test_seed_and_purge(fresh_db: str) -> None:
    engine = create_engine(fresh_db)
    with Session(engine) as session, session.begin():
        session.execute(
            text(
                "INSERT INTO reports (geom, ward_code, borough_code, occurred_on, time_band, "
                "categories, source, sun_elevation, is_dark, darkness_basis, status) VALUES "
                "(ST_SetSRID(ST_MakePoint(-0.1136, 51.5033), 4326), 'E05014118', 'E09000022', "
                "'2026-11-01', 'evening', '{poor_lighting}', 'public', -20, true, 'time_band', "
                "'published')"
            )
        )
        assert demo.has_reports(session)
        result = demo.seed_reports(session, 500, seed=1)
    assert 450 <= result.stored <= 500
    with engine.connect() as conn:
        stats = conn.execute(
            text(
                "SELECT count(*) FILTER (WHERE source = 'synthetic'), "
                "count(*) FILTER (WHERE source = 'synthetic' AND ward_code IS NULL), "
                "avg(is_dark::int) FILTER (WHERE source = 'synthetic'), "
                "count(DISTINCT ward_code) FROM reports"
            )
        ).one()
    assert stats[0] == result.stored
    assert stats[1] == 0
    assert stats[2] > 0.5  # more after dark
    assert stats[3] > 30  # spread over the pilot's wards
    with Session(engine) as session, session.begin():
        assert demo.purge_synthetic(session) == result.stored
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*), min(source) FROM reports")).one() == (
            1,
            "public",
        )
    engine.dispose()


def test_seed_is_denser_near_real_police_uk_points(fresh_db: str) -> None:
    from pathlib import Path

    from service.queries.imports import import_crimes

    api_json = (
        Path(__file__).parents[1]
        / "data"
        / "police_uk"
        / "api_trafalgar_square_1mile_2025-12"
        / "crimes_london.json"
    )
    engine = create_engine(fresh_db)
    with Session(engine) as session, session.begin():
        import_crimes(session, api_json, imported_by="tests")
        result = demo.seed_reports(session, 1000, seed=7)
    with engine.connect() as conn:
        near_share = conn.execute(
            text(
                "SELECT avg((EXISTS (SELECT FROM crimes c WHERE c.ward_code IS NOT NULL AND "
                "ST_DWithin(ST_Transform(c.geom, 27700), ST_Transform(r.geom, 27700), 150)))::int) "
                "FROM reports r WHERE r.source = 'synthetic'"
            )
        ).scalar_one()
        area_share = conn.execute(
            text(
                "SELECT ST_Area(ST_Union(ST_Buffer(ST_Transform(geom, 27700), 150))) / "
                "(SELECT ST_Area(ST_Union(ST_Transform(geom, 27700))) FROM wards w "
                " JOIN ward_sets s ON s.id = w.ward_set_id AND s.is_active) "
                "FROM crimes WHERE ward_code IS NOT NULL"
            )
        ).scalar_one()
    engine.dispose()
    assert result.stored >= 950  # a few moved points land outside every ward and are dropped
    # Uniform points would fall near a crime as often as that area's share of the wards.
    assert near_share > 0.55
    assert area_share < 0.2
