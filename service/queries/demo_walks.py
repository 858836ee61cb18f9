"""Synthetic demo walks: officers, buddies and walks with routes, concerns, surveys, safeguarding.

Everything is made through the same query functions the API uses, so the demo rows pass the
same checks as real ones; then every officer, buddy and walk made is flagged ``synthetic`` (the
walks' concerns go with their walk), and ``walktalk demo purge`` removes them all.

Routes follow real streets where the bundled OpenStreetMap clips reach (around Borough and
Elephant & Castle) and a street-like grid inside the ward elsewhere. Walks are mostly in the
early morning and the evening, as the scheme's are, over the last six months, with a few
planned for the coming fortnight.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import geopandas as gpd
import numpy as np
from shapely.geometry import LineString, MultiPolygon, Polygon, mapping
from sqlalchemy import text
from sqlalchemy.orm import Session

from geo.darkness import sun_times
from geo.routes import InvalidRoute, check_route
from geo.streets import StreetNetwork, wander_grid, wander_streets
from service.queries import safeguarding, surveys
from service.queries import walks as walk_queries
from service.queries.wards import require_active_ward_set
from service.taxonomy import CATEGORIES

LONDON = ZoneInfo("Europe/London")
WARDS_WITHOUT_STREETS = 6
BUDDIES_PER_WARD = 2
UPCOMING = 4
KINDS = ("commute", "park", "transport_hub", "other")
# Which action an officer's survey takes for a theme the buddy raised.
ACTION_FOR_THEME = {
    "poor_lighting": "lighting",
    "no_cctv": "cctv",
    "hidden_corners": "vegetation",
    "neglected": "repairs",
    "loitering": "patrols",
    "drug_alcohol_use": "partner_referral",
    "followed": "patrols",
}
CONCERN_NOTES = {
    "poor_lighting": "Two lamps out along here; very dark after five.",
    "isolated": "Nobody about once the offices close.",
    "hidden_corners": "Overgrown hedge, can't see who is round the corner.",
    "loitering": "Groups gather by the shops in the evening.",
    "underpass_alley_park_path": "The cut-through is quicker but she avoids it.",
    "no_cctv": "No cameras on this stretch.",
    "bus_stop_station": "Long wait at the stop with nobody around.",
    "neglected": "Boarded-up units and broken fencing.",
}
_CATEGORY_WEIGHTS = np.array(
    [0.25, 0.16, 0.12, 0.1, 0.06, 0.05, 0.06, 0.08, 0.05, 0.04, 0.02, 0.01]
)

SEEDER = "demo seed"  # who the demo's surveys, links and answers are recorded as


@dataclass
class WalksSeeded:
    """What ``seed_walks`` made."""

    officers: int = 0
    buddies: int = 0
    walks: int = 0
    routes_on_streets: int = 0
    concerns: int = 0
    buddy_surveys: int = 0
    disclosures: int = 0
    walk_ids: list[uuid.UUID] = field(default_factory=list)


def seed_walks(
    session: Session,
    *,
    key: bytes,
    count: int,
    seed: int,
    streets: StreetNetwork | None,
    today: date | None = None,
) -> WalksSeeded:
    """Make ``count`` synthetic walks (plus a few upcoming ones) in the active wards.

    Parameters
    ----------
    session : Session
        The caller's transaction.
    key : bytes
        The service's secret key (routes are trimmed with a keyed seed, survey links hashed).
    count : int
        Walks already walked; :data:`UPCOMING` planned ones are added.
    seed : int
        Random seed: the same seed on the same wards makes the same walks.
    streets : StreetNetwork or None
        Walkable streets to route along where they reach; None routes every walk on a grid.
    today : datetime.date, optional
        Today's date (the walks are in the six months before it).

    """
    rng = np.random.default_rng(seed)
    today = today or datetime.now(LONDON).date()
    wards = _demo_wards(session, streets, rng)
    seeder = SEEDER
    done = WalksSeeded()
    people: dict[str, tuple[uuid.UUID, list[uuid.UUID]]] = {}
    officers, buddies = [], []
    for number, ward in enumerate(wards.itertuples(), start=1):
        officer = walk_queries.create_officer(
            session,
            name=f"Demo officer {number}",
            shoulder_number=f"DEMO{number:03d}",
            ward_codes=[ward.code],
            command_unit="AS",
        )["id"]
        pair = [
            walk_queries.create_buddy(
                session,
                code=f"DEMO-{ward.code}-{j}",
                home_ward=ward.code,
                work_ward=None,
                contact=None,
            )["id"]
            for j in range(1, BUDDIES_PER_WARD + 1)
        ]
        people[ward.code] = (officer, pair)
        officers.append(officer)
        buddies.extend(pair)
    done.officers, done.buddies = len(officers), len(buddies)

    flagged = set(rng.choice(count, size=min(2, count), replace=False).tolist())
    for number in range(count + UPCOMING):
        ward = wards.iloc[number % len(wards)]
        officer, pair = people[ward["code"]]
        upcoming = number >= count
        centre = ward.geometry.representative_point()
        start = _start_time(rng, today, (centre.x, centre.y), upcoming=upcoming)
        minutes = int(rng.integers(35, 80))
        walk_id, _ = walk_queries.create_walk(
            session,
            officer_id=officer,
            buddy_id=pair[int(rng.integers(len(pair)))],
            kind=str(rng.choice(KINDS, p=[0.45, 0.25, 0.2, 0.1])),
            planned_start=start,
            planned_end=start + timedelta(minutes=minutes),
            ward_code=ward["code"],
            consent_keep_route=True,
            consent_contact=bool(rng.random() < 0.6),
        )
        done.walk_ids.append(walk_id)
        line, on_streets = _route(ward.geometry, streets, rng)
        if not upcoming:
            actual_start = start + timedelta(minutes=float(rng.normal(0, 4)))
            walked = 20 if rng.random() < 0.08 else minutes  # now and then cut short
            actual_end = actual_start + timedelta(minutes=walked)
            disclosed = number in flagged
            safeguarding.answer(
                session,
                walk_id,
                disclosed=disclosed,
                reference=None,
                by=seeder,
                hours=24,
            )
            if disclosed:
                done.disclosures += 1
                _backdate_flag(session, walk_id, actual_end, referenced=number == min(flagged))
            safeguarding.close_walk(
                session, walk_id, actual_start=actual_start, actual_end=actual_end
            )
        walk_queries.store_route(session, walk_id, mapping(line), key=key)
        done.routes_on_streets += on_streets
        if upcoming:
            continue
        themes = _concerns(session, walk_id, line, actual_start, walked, rng, seeder, done)
        baseline = int(rng.choice([1, 2, 3, 4], p=[0.15, 0.35, 0.35, 0.15]))
        surveys.record_baseline(session, walk_id, safety=baseline)
        _surveys(session, walk_id, key, baseline, themes, rng, seeder, done)
    done.walks = len(done.walk_ids)
    _flag_synthetic(session, officers, buddies, done.walk_ids)
    return done


def _demo_wards(
    session: Session, streets: StreetNetwork | None, rng: np.random.Generator
) -> gpd.GeoDataFrame:
    """The wards the bundled streets reach, and a few others picked at random."""
    active = require_active_ward_set(session)
    wards = gpd.read_postgis(
        text(
            "SELECT code, name, borough_code, geom AS geometry FROM wards "
            "WHERE ward_set_id = :id ORDER BY code"
        ).bindparams(id=active.id),
        session.connection(),
        geom_col="geometry",
        crs=4326,
    )
    reached = np.array(
        [streets is not None and len(streets.nodes_within(g)) >= 40 for g in wards.geometry]
    )
    others = np.flatnonzero(~reached)
    picked = rng.choice(others, size=min(WARDS_WITHOUT_STREETS, len(others)), replace=False)
    return wards.iloc[sorted([*np.flatnonzero(reached), *picked])].reset_index(drop=True)


def _start_time(
    rng: np.random.Generator, today: date, centre: tuple[float, float], *, upcoming: bool
) -> datetime:
    """When a demo walk starts: mostly around dusk or before dawn, as the scheme's walks are.

    Evening walks start between 20 minutes before and 90 minutes after civil dusk; morning
    ones in the hour before civil dawn; the rest in the middle of the day.
    """
    days = int(rng.integers(1, 15)) if upcoming else -int(rng.integers(3, 183))
    day = today + timedelta(days=days)
    sun = sun_times(centre[0], centre[1], day)
    if sun.civil_dawn is None or sun.civil_dusk is None:
        raise RuntimeError("the sun neither rises nor sets here: demo walks are for London")
    when = rng.choice(3, p=[0.6, 0.25, 0.15])
    if when == 0:
        start = sun.civil_dusk + timedelta(minutes=float(rng.uniform(-20, 90)))
    elif when == 1:
        start = sun.civil_dawn - timedelta(minutes=float(rng.uniform(15, 75)))
    else:
        start = datetime.combine(day, time(11), tzinfo=LONDON) + timedelta(
            hours=3 * float(rng.random())
        )
    # Planned to the quarter hour, as people arrange to meet.
    quarter = timedelta(minutes=15)
    start = start.astimezone(UTC)
    return start - (start - datetime.combine(day, time(0), tzinfo=UTC)) % quarter


def _route(
    ward: Polygon | MultiPolygon, streets: StreetNetwork | None, rng: np.random.Generator
) -> tuple[LineString, bool]:
    """A route that starts in the ward: on the streets if they reach it, else on a grid."""
    starts = streets.nodes_within(ward) if streets is not None else np.array([], dtype=int)
    for _ in range(40):
        length = float(rng.uniform(900, 2800))
        line = None
        if streets is not None and len(starts):
            line = wander_streets(streets, start=int(rng.choice(starts)), length_m=length, rng=rng)
            on_streets = True
        if line is None:
            line = wander_grid(ward, length_m=length, rng=rng)
            on_streets = False
        if line is None:
            continue
        try:
            return check_route(line), on_streets
        except InvalidRoute:
            continue
    raise RuntimeError("no demo route could be made in this ward: it is too small or too narrow")


def _concerns(
    session: Session,
    walk_id: uuid.UUID,
    line: LineString,
    start: datetime,
    minutes: float,
    rng: np.random.Generator,
    seeder: str,
    done: WalksSeeded,
) -> list[str]:
    """Concerns raised along the way (0 to 4), at points on the route; their categories."""
    themes: list[str] = []
    for _ in range(min(int(rng.poisson(1.4)), 4)):
        where = float(rng.uniform(0.05, 0.95))
        point = line.interpolate(where, normalized=True)
        category = CATEGORIES[
            int(rng.choice(len(CATEGORIES), p=_CATEGORY_WEIGHTS / _CATEGORY_WEIGHTS.sum()))
        ].slug
        walk_queries.add_concern(
            session,
            walk_id,
            {
                "lon": point.x,
                "lat": point.y,
                "categories": [category],
                "note": CONCERN_NOTES.get(category),
                "suggestion": None,
                "at": start + timedelta(minutes=minutes * where),
            },
        )
        done.concerns += 1
        themes.append(category)
    return themes


def _surveys(
    session: Session,
    walk_id: uuid.UUID,
    key: bytes,
    baseline: int,
    themes: list[str],
    rng: np.random.Generator,
    seeder: str,
    done: WalksSeeded,
) -> None:
    """The officer's survey (most walks) and the buddy's (three in four), through her link."""
    if rng.random() < 0.9:
        surveys.record_officer_survey(
            session,
            walk_id,
            walk_useful=int(rng.integers(3, 6)),
            themes=themes,
            actions=sorted({ACTION_FOR_THEME[t] for t in themes if t in ACTION_FOR_THEME}),
            follow_up_walk=bool(rng.random() < 0.3),
            notes=None,
            by=seeder,
        )
    if rng.random() < 0.75:
        link = surveys.create_survey_link(session, walk_id, key=key, days=7, by=seeder)
        surveys.record_buddy_survey(
            session,
            link.secret,
            key=key,
            felt_safer=min(5, baseline + int(rng.choice([0, 1, 1, 2]))),
            police_confidence=int(rng.choice([2, 3, 4, 5], p=[0.1, 0.3, 0.4, 0.2])),
            would_recommend=bool(rng.random() < 0.85),
            themes=themes,
            comments=None,
        )
        done.buddy_surveys += 1


def _backdate_flag(
    session: Session, walk_id: uuid.UUID, walked: datetime, *, referenced: bool
) -> None:
    # A disclosure made on a past walk was answered then, with its deadline a day later: one
    # has its reference (awaiting review), the other is overdue.
    session.execute(
        text(
            "UPDATE safeguarding SET answered_at = :at, due_at = :at + interval '24 hours', "
            "reference = CASE WHEN :referenced THEN 'DEMO-CAD-0001' END WHERE walk_id = :id"
        ),
        {"at": walked, "referenced": referenced, "id": walk_id},
    )


def _flag_synthetic(
    session: Session,
    officers: list[uuid.UUID],
    buddies: list[uuid.UUID],
    walks: list[uuid.UUID],
) -> None:
    for table, ids in (("officers", officers), ("buddies", buddies), ("walks", walks)):
        session.execute(
            text(f"UPDATE {table} SET synthetic = true WHERE id = ANY(:ids)"), {"ids": ids}
        )


#: The wards of SE1, where the scheme's male allies patrol: Waterloo & South Bank, and
#: Borough & Bankside.
PATROL_WARDS = ("E05014118", "E05011095")
PATROL_FEEDBACK = (
    "On foot along the South Bank; groups of women leaving work were glad to talk.",
    "By bike round the station and the arches; most talk was about the unlit cut-throughs.",
    "On foot by the market; several women said they take the long way after dark.",
)


def seed_patrols(
    session: Session, *, count: int, seed: int, today: date | None = None
) -> list[uuid.UUID]:
    """Make ``count`` synthetic patrols in SE1 with their records; return their ids.

    One demo officer per SE1 ward of the active set patrols in the evening over the last six
    months; each record holds 2 to 15 conversations and one to three themes. Patrols have no
    buddy and no route. None is made when the active set holds neither ward.
    """
    rng = np.random.default_rng(seed)
    today = today or datetime.now(LONDON).date()
    active = require_active_ward_set(session)
    wards = session.execute(
        text("SELECT code FROM wards WHERE ward_set_id = :id AND code = ANY(:codes) ORDER BY code"),
        {"id": active.id, "codes": list(PATROL_WARDS)},
    ).scalars().all()
    if not wards or count <= 0:
        return []
    officers = [
        walk_queries.create_officer(
            session,
            name=f"Demo patrol officer {number}",
            shoulder_number=f"DEMOP{number:02d}",
            ward_codes=[ward],
            command_unit="AS",
        )["id"]
        for number, ward in enumerate(wards, start=1)
    ]
    slugs = [c.slug for c in CATEGORIES]
    made: list[uuid.UUID] = []
    for number in range(count):
        ward, officer = wards[number % len(wards)], officers[number % len(officers)]
        day = today - timedelta(days=int(rng.integers(3, 183)))
        start = datetime.combine(day, time(int(rng.integers(17, 21)), 0), tzinfo=LONDON)
        walk_id, _ = walk_queries.create_walk(
            session,
            officer_id=officer,
            buddy_id=None,
            kind=walk_queries.PATROL,
            planned_start=start,
            planned_end=start + timedelta(minutes=int(rng.integers(60, 150))),
            ward_code=ward,
            consent_keep_route=False,
            consent_contact=False,
        )
        themes = rng.choice(slugs, size=int(rng.integers(1, 4)), replace=False, p=_CATEGORY_WEIGHTS)
        walk_queries.record_patrol(
            session,
            walk_id,
            conversations=int(rng.integers(2, 16)),
            themes=[str(t) for t in themes],
            feedback=PATROL_FEEDBACK[int(rng.integers(len(PATROL_FEEDBACK)))],
        )
        made.append(walk_id)
    _flag_synthetic(session, officers, [], made)
    return made


def demo_officer(session: Session) -> tuple[uuid.UUID, str, list[str]] | None:
    """The demo officer whose pages show the most.

    Her ward's streets on the base map first, then an open flag, then an upcoming walk.

    Returns her id, name and wards, or None when no demo walks are stored.
    """
    row = session.execute(
        text(
            "SELECT o.id, o.name, o.ward_codes FROM officers o JOIN walks w ON w.officer_id = o.id "
            "WHERE o.synthetic AND o.deactivated_at IS NULL "
            "GROUP BY o.id, o.name, o.ward_codes "
            "ORDER BY (SELECT count(*) FROM osm_features f JOIN wards wd "
            "  ON wd.code = ANY(o.ward_codes) AND ST_Intersects(f.geom, wd.geom) "
            "  JOIN ward_sets ws ON ws.id = wd.ward_set_id AND ws.is_active "
            "  WHERE f.kind = 'street') DESC, "
            "  bool_or(EXISTS (SELECT FROM safeguarding s WHERE s.walk_id = w.id "
            "  AND s.disclosed AND s.reference IS NULL)) DESC, "
            "  bool_or(w.closed_at IS NULL AND w.planned_start > now()) DESC, o.name "
            "LIMIT 1"
        )
    ).first()
    return (row.id, str(row.name), list(row.ward_codes)) if row else None
