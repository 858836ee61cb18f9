"""Synthetic demo reports: flagged, inside the wards, more after dark, and purged cleanly."""

from __future__ import annotations

import os
import re
from datetime import date
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

from geo.streets import read_osm_streets
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
    assert result.stored == 500  # points that land outside every ward are made again
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
        assert demo.purge_synthetic(session).reports == result.stored
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*), min(source) FROM reports")).one() == (
            1,
            "public",
        )
    engine.dispose()


def test_seed_is_denser_near_real_police_uk_points(fresh_db: str) -> None:
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
    assert result.stored == 1000
    # Uniform points would fall near a crime as often as that area's share of the wards.
    assert near_share > 0.55
    assert area_share < 0.2


OSM = sorted((Path(__file__).parents[1] / "data" / "osm").glob("*.osm"))


def test_demo_walks_follow_real_streets_and_purge_cleanly(fresh_db: str) -> None:
    from service.queries.demo_walks import UPCOMING, seed_walks

    streets = read_osm_streets(OSM)
    engine = create_engine(fresh_db)
    with Session(engine) as session, session.begin():
        session.execute(
            text(
                "INSERT INTO officers (name, shoulder_number, ward_codes, borough_codes, "
                "command_unit) VALUES ('PC Real', 'AS1', '{E05014118}', '{E09000022}', 'AS')"
            )
        )
        done = seed_walks(
            session, key=b"k" * 32, count=24, seed=3, streets=streets, today=date(2026, 12, 1)
        )
    assert done.walks == 24 + UPCOMING
    assert done.routes_on_streets >= 6  # the wards the OSM clips reach
    assert done.concerns > 10 and done.buddy_surveys > 10 and done.disclosures == 2
    with engine.connect() as conn:
        walks = conn.execute(
            text(
                "SELECT count(*) AS n, bool_and(synthetic) AS flagged, min(length_m) AS shortest, "
                "bool_and(route IS NOT NULL AND route_trimmed IS NOT NULL) AS routed, "
                "count(*) FILTER (WHERE closed_at IS NOT NULL) AS closed, "
                "avg(dark_share) FILTER (WHERE closed_at IS NOT NULL) AS dark, "
                "bool_and(ward_code = ANY(route_wards)) AS in_own_ward FROM walks"
            )
        ).one()
        assert (walks.n, walks.flagged, walks.routed, walks.closed) == (28, True, True, 24)
        assert walks.shortest >= 500 and walks.in_own_ward
        assert walks.dark > 0.4  # mostly early morning and evening walks
        # A street route's vertices are OSM street nodes.
        on_nodes = conn.execute(
            text(
                "SELECT min(ST_NPoints(route)) FROM walks w WHERE ward_code IN "
                "('E05011095', 'E05011115')"
            )
        ).scalar_one()
        assert on_nodes is None or on_nodes > 10
        flags = conn.execute(
            text(
                "SELECT count(*) FILTER (WHERE reference IS NULL AND due_at < now()), "
                "count(*) FILTER (WHERE reference IS NOT NULL) FROM safeguarding WHERE disclosed"
            )
        ).one()
        assert tuple(flags) == (1, 1)  # one overdue, one awaiting review
        concerns = conn.execute(
            text(
                "SELECT count(*) FROM reports r JOIN walks w ON w.id = r.walk_id "
                "WHERE r.source = 'walk_concern' AND r.status = 'published'"
            )
        ).scalar_one()
        assert concerns == done.concerns
    with Session(engine) as session, session.begin():
        purged = demo.purge_synthetic(session)
    assert (purged.walks, purged.reports) == (28, done.concerns)
    with engine.connect() as conn:
        left = conn.execute(
            text(
                "SELECT (SELECT count(*) FROM walks), (SELECT count(*) FROM buddies), "
                "(SELECT count(*) FROM reports), (SELECT count(*) FROM buddy_surveys), "
                "(SELECT count(*) FROM survey_links), (SELECT count(*) FROM safeguarding), "
                "(SELECT string_agg(name, ',') FROM officers)"
            )
        ).one()
    engine.dispose()
    assert tuple(left) == (0, 0, 0, 0, 0, 0, "PC Real")  # real rows are untouched


def test_demo_seed_and_purge_from_the_command_line(walktalk) -> None:  # type: ignore[no-untyped-def]
    streets = [str(p) for p in OSM]
    code, out, err = walktalk(
        "demo", "seed", "--count", "300", "--walks", "6", "--streets", *streets
    )
    assert code == 0, err
    assert "stored 300 synthetic reports" in out
    assert "stored 10 synthetic walks" in out  # 6 walked and 4 planned
    assert "stored 8 synthetic patrols in SE1, with their records" in out
    concerns = int(re.search(r"with (\d+) concerns", out).group(1))  # type: ignore[union-attr]
    # 300 reports put no two reports of poor lighting in the dark in one place.
    assert "no demo requests to partners: no place has two published reports" in out
    code, out, _ = walktalk("demo", "seed", "--if-empty", "--streets", *streets)
    assert code == 0
    assert "reports already stored" in out and "walks already stored" in out
    assert "no demo requests to partners" in out  # none stored yet: it tries again
    # More reports on top of the demo: added; the demo's walks are not made twice.
    code, out, err = walktalk("demo", "seed", "--count", "50", "--streets", *streets)
    assert code == 0, err
    assert "stored 50 synthetic reports" in out and "demo walks already stored" in out
    # Sign-in tokens for the demo's people: an officer with walks to show, and a supervisor.
    code, first, err = walktalk("demo", "sign-in")
    assert code == 0, err
    assert "/login with one of these demo tokens" in first
    tokens = dict(
        re.findall(r"^  (officer|supervisor|planner|partner) .* (wt_\S+)$", first, re.MULTILINE)
    )
    assert set(tokens) == {"officer", "supervisor", "planner", "partner"}
    code, again, err = walktalk("demo", "sign-in")
    assert code == 0, err
    assert not set(tokens.values()) & set(re.findall(r"wt_\S+", again))  # new ones each time
    engine = create_engine(os.environ["DATABASE_URL"])
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT t.role, t.revoked_at IS NULL AS active, o.synthetic, "
                "t.ward_codes = o.ward_codes AS same_wards, t.borough_codes "
                "FROM api_tokens t LEFT JOIN officers o ON o.id = t.officer_id "
                "WHERE t.name LIKE '%(demo sign-in)' ORDER BY t.created_at, t.role"
            )
        ).all()
    engine.dispose()
    # The second run revoked the first run's four; its own are active.
    roles = ["officer", "partner", "planner", "supervisor"]
    assert [(r.role, r.active) for r in rows] == [
        *((role, False) for role in roles), *((role, True) for role in roles)
    ]
    by_role = {r.role: r for r in rows[4:]}
    assert by_role["officer"].synthetic is True and by_role["officer"].same_wards is True
    # Central South (AS), and the demo planner: Lambeth and Southwark; the council: Lambeth.
    assert sorted(by_role["supervisor"].borough_codes) == ["E09000022", "E09000028"]
    assert sorted(by_role["planner"].borough_codes) == ["E09000022", "E09000028"]
    assert by_role["partner"].borough_codes == ["E09000022"]
    code, out, err = walktalk("demo", "seed", "--walks", "1", "--streets", "/nonexistent.osm")
    assert code != 0 and "--streets" in err and "nonexistent.osm" in err
    code, out, _ = walktalk("demo", "purge")
    assert code == 0
    # The 10 walks and the 8 patrols (walks without a buddy).
    assert f"removed {350 + concerns} synthetic reports and walk concerns, 18 walks" in out
    assert "requests to partners and" in out


def test_demo_requests_and_lights_give_the_planner_a_ranking_and_gaps(fresh_db: str) -> None:
    from service.queries.demo_requests import (
        DARK_RADIUS_M,
        DEMO_LIGHTS,
        has_requests,
        purge_planning,
        seed_planning,
    )

    engine = create_engine(fresh_db)
    with Session(engine) as session, session.begin():
        assert seed_planning(session, seed=5).requests == 0  # no report, nothing to stand on
        assert not has_requests(session)
        demo.seed_reports(session, 6000, seed=5)
        done = seed_planning(session, seed=5, today=date(2026, 12, 1))
    assert done.requests == 12 and done.dark_places == 3 and done.lights > 300
    with engine.connect() as conn:
        requests = conn.execute(
            text(
                "SELECT status, synthetic, bid_reference, installed_on, "
                "(SELECT count(*) FROM partner_request_backing b WHERE b.request_id = q.id) "
                "AS backing FROM partner_requests q"
            )
        ).all()
        inventory = conn.execute(
            text("SELECT assets, attribution FROM asset_inventories WHERE name = :n"),
            {"n": DEMO_LIGHTS},
        ).one()
        # Every request stands on reports; every status a planner follows is shown.
        assert all(r.synthetic and r.backing > 0 for r in requests)
        assert {r.status for r in requests} == {
            "proposed", "sent", "accepted", "in_bid", "funded", "installed", "declined"
        }
        assert all(r.installed_on == date(2026, 6, 2) for r in requests if r.status == "installed")
        assert all(r.bid_reference for r in requests if r.status in ("in_bid", "funded"))
        assert inventory.assets == done.lights and "Synthetic" in inventory.attribution
        # The lights leave the ground round the most-reported dark places unlit: a gap to find.
        lit_round_dark = conn.execute(
            text(
                "WITH dark AS (SELECT ST_Transform(ST_Centroid(ST_Collect(ST_Transform(geom, "
                "27700))), 27700) AS c, count(*) AS n FROM reports WHERE status = 'published' "
                "AND is_dark AND categories && '{poor_lighting}' GROUP BY "
                "ST_SnapToGrid(ST_Transform(geom, 27700), 100) ORDER BY n DESC LIMIT 3) "
                "SELECT count(*) FROM assets a, dark d "
                "WHERE ST_DWithin(ST_Transform(a.geom, 27700), d.c, :r)"
            ),
            {"r": DARK_RADIUS_M - 1},
        ).scalar_one()
        assert lit_round_dark == 0
    with Session(engine) as session, session.begin():
        assert purge_planning(session) == (12, done.lights)
    with engine.connect() as conn:
        left = conn.execute(
            text("SELECT (SELECT count(*) FROM partner_requests), (SELECT count(*) FROM assets)")
        ).one()
    assert tuple(left) == (0, 0)
    engine.dispose()
