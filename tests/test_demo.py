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
