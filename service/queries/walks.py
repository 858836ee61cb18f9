"""Officers, buddies and walks in PostGIS: a walk's full route and its trimmed copy.

A buddy's route shows where she lives and works, so every walk keeps a copy with both ends cut
away. Which copy a caller gets is ``service.policy``'s decision; these functions take it (a
route view, a scope) as a plain value.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import geopandas as gpd
import pandas as pd
import shapely.wkt
from shapely.geometry import LineString
from sqlalchemy import text
from sqlalchemy.orm import Session

from geo.coordinates import InvalidCoordinates, check_lon_lat
from geo.darkness import is_dark
from geo.reports import parse_report_object
from geo.routes import (
    InvalidRoute,
    check_route,
    concern_stretch,
    darkness_along,
    trim_route_ends,
)
from service.errors import Conflict, InvalidInput, NotFound
from service.policy import RouteView, Scope, walk_view_fields
from service.queries.reports import store_reports
from service.queries.wards import require_active_ward_set
from service.taxonomy import SLUGS

WALK_KINDS = ("commute", "park", "transport_hub", "patrol", "other")
#: The scheme's male allies walk or cycle in pairs and talk to groups of women: a walk with no
#: buddy, whose record is the conversations held, the themes heard and the officers' feedback.
PATROL = "patrol"
#: The longest feedback a patrol record keeps; more belongs in a report of its own.
PATROL_FEEDBACK_CHARS = 2000


def ward_boroughs(session: Session, codes: list[str]) -> dict[str, str]:
    """Each ward's borough in the active set; an unknown ward is refused by name."""
    active = require_active_ward_set(session)
    rows = session.execute(
        text("SELECT code, borough_code FROM wards WHERE ward_set_id = :id AND code = ANY(:c)"),
        {"id": active.id, "c": codes},
    ).all()
    found = {r.code: r.borough_code for r in rows}
    missing = sorted(set(codes) - set(found))
    if missing:
        raise InvalidInput(
            f"unknown ward code(s) {', '.join(missing)} in the active ward set (see GET /wards)"
        )
    return found


def create_officer(
    session: Session,
    *,
    name: str,
    shoulder_number: str,
    ward_codes: list[str],
    command_unit: str,
) -> dict[str, Any]:
    """Register an officer for wards (the caller's right to them is checked by the policy)."""
    boroughs = sorted(set(ward_boroughs(session, ward_codes).values()))
    taken = session.execute(
        text("SELECT 1 FROM officers WHERE shoulder_number = :n"), {"n": shoulder_number}
    ).first()
    if taken:
        raise InvalidInput(f"shoulder number {shoulder_number!r} is already registered")
    row = session.execute(
        text(
            "INSERT INTO officers (name, shoulder_number, ward_codes, borough_codes, "
            "command_unit) VALUES (:name, :number, :wards, :boroughs, :unit) RETURNING id"
        ),
        {
            "name": name,
            "number": shoulder_number,
            "wards": sorted(set(ward_codes)),
            "boroughs": boroughs,
            "unit": command_unit,
        },
    ).scalar_one()
    return get_officer(session, row)


def get_officer(session: Session, officer_id: uuid.UUID) -> dict[str, Any]:
    """One officer."""
    row = session.execute(
        text(
            "SELECT id, name, shoulder_number, ward_codes, borough_codes, command_unit "
            "FROM officers WHERE id = :id"
        ),
        {"id": officer_id},
    ).first()
    if row is None:
        raise NotFound(f"no officer {officer_id}")
    return dict(row._mapping)


def list_officers(session: Session, scope: Scope) -> list[dict[str, Any]]:
    """Officers in a scope: sharing a ward with it, or else a borough."""
    condition, params = _officer_scope(scope)
    rows = session.execute(
        text(
            "SELECT id, name, shoulder_number, ward_codes, borough_codes, command_unit "
            f"FROM officers WHERE {condition} ORDER BY name"
        ),
        params,
    ).all()
    return [dict(r._mapping) for r in rows]


def _officer_scope(scope: Scope) -> tuple[str, dict[str, Any]]:
    if scope.ward_codes is not None:
        return "ward_codes && CAST(:wards AS text[])", {"wards": list(scope.ward_codes)}
    return "borough_codes && CAST(:boroughs AS text[])", {"boroughs": list(scope.borough_codes)}


def create_buddy(
    session: Session,
    *,
    code: str,
    home_ward: str | None,
    work_ward: str | None,
    contact: str | None,
) -> dict[str, Any]:
    """Register a buddy by pseudonymous code; contact details go to their own table."""
    wards = [w for w in (home_ward, work_ward) if w]
    if not wards:
        raise InvalidInput("a buddy needs a home_ward or a work_ward")
    boroughs = ward_boroughs(session, wards)
    if session.execute(text("SELECT 1 FROM buddies WHERE code = :c"), {"c": code}).first():
        raise InvalidInput(f"buddy code {code!r} is already used: choose another")
    buddy_id = session.execute(
        text(
            "INSERT INTO buddies (code, home_ward, work_ward, borough_code) "
            "VALUES (:code, :home, :work, :borough) RETURNING id"
        ),
        {"code": code, "home": home_ward, "work": work_ward, "borough": boroughs[wards[0]]},
    ).scalar_one()
    if contact:
        session.execute(
            text("INSERT INTO buddy_contacts (buddy_id, contact) VALUES (:id, :contact)"),
            {"id": buddy_id, "contact": contact},
        )
    return get_buddy(session, buddy_id)


def get_buddy(session: Session, buddy_id: uuid.UUID) -> dict[str, Any]:
    """One buddy without contact details."""
    row = session.execute(
        text(
            "SELECT id, code, home_ward, work_ward, borough_code FROM buddies "
            "WHERE id = :id AND erased_at IS NULL"
        ),
        {"id": buddy_id},
    ).first()
    if row is None:
        raise NotFound(f"no buddy {buddy_id}")
    return dict(row._mapping)


def pairing_warning(session: Session, officer_id: uuid.UUID, buddy_id: uuid.UUID) -> str | None:
    """Why the pair is unusual, or None when the buddy lives or works in or beside the ward.

    The scheme pairs a woman with her own ward's officer; a neighbouring ward (touching
    polygons) is fine too. Anything else is allowed, with a warning.
    """
    active = require_active_ward_set(session)
    near = session.execute(
        text(
            "SELECT EXISTS (SELECT FROM officers o, buddies b, wards ow, wards bw "
            "WHERE o.id = :officer AND b.id = :buddy "
            "AND ow.ward_set_id = :set_id AND ow.code = ANY(o.ward_codes) "
            "AND bw.ward_set_id = :set_id AND bw.code IN (b.home_ward, b.work_ward) "
            "AND ST_Intersects(ow.geom, bw.geom))"
        ),
        {"officer": officer_id, "buddy": buddy_id, "set_id": active.id},
    ).scalar_one()
    if near:
        return None
    return (
        "the buddy neither lives nor works in or next to the officer's wards: the scheme pairs "
        "women with their own ward's officer"
    )


def create_walk(
    session: Session,
    *,
    officer_id: uuid.UUID,
    buddy_id: uuid.UUID | None,
    kind: str,
    planned_start: datetime,
    planned_end: datetime,
    ward_code: str | None,
    consent_keep_route: bool,
    consent_contact: bool,
    meeting_point: dict[str, float] | None = None,
) -> tuple[uuid.UUID, str | None]:
    """Plan a walk; return its id and any pairing warning.

    The meeting point, like the route, may show where the buddy lives: only the walk's own
    ward officers and supervisors see it.
    """
    if kind not in WALK_KINDS:
        raise InvalidInput(f"kind must be one of {', '.join(WALK_KINDS)}")
    if planned_start.tzinfo is None or planned_end.tzinfo is None:
        raise InvalidInput("planned times need a UTC offset, e.g. 2026-12-01T17:30:00+00:00")
    minutes = (planned_end - planned_start).total_seconds() / 60
    if minutes < 30:
        raise InvalidInput(
            f"a walk and talk lasts at least 30 minutes; this one is planned for "
            f"{minutes:.0f}: move planned_end later"
        )
    _check_buddy_for_kind(kind, buddy_id)
    ward, _ = planned_ward(session, officer_id, ward_code)
    warning = None
    if buddy_id is not None:
        get_buddy(session, buddy_id)
        warning = pairing_warning(session, officer_id, buddy_id)
    meeting_wkt = None
    if meeting_point is not None:
        try:
            lon, lat = check_lon_lat(meeting_point["lon"], meeting_point["lat"])
        except InvalidCoordinates as exc:
            raise InvalidInput(f"meeting_point: {exc}") from None
        meeting_wkt = f"POINT({lon!r} {lat!r})"
    walk_id = session.execute(
        text(
            "INSERT INTO walks (officer_id, buddy_id, ward_code, borough_code, kind, "
            "planned_start, planned_end, meeting_point, consent_keep_route, consent_contact, "
            "consent_date) VALUES (:officer, :buddy, :ward, :borough, :kind, :start, :end, "
            "ST_GeomFromText(:meeting, 4326), :keep, :contact, "
            "CASE WHEN :keep OR :contact THEN current_date END) RETURNING id"
        ),
        {
            "officer": officer_id,
            "buddy": buddy_id,
            "ward": ward,
            "borough": ward_boroughs(session, [ward])[ward],
            "kind": kind,
            "start": planned_start,
            "end": planned_end,
            "meeting": meeting_wkt,
            "keep": consent_keep_route,
            "contact": consent_contact,
        },
    ).scalar_one()
    return walk_id, warning


def _check_buddy_for_kind(kind: str, buddy_id: uuid.UUID | None) -> None:
    """A patrol has no buddy and every other walk has one.

    A patrol with a buddy is refused rather than allowed: her walk would then be counted as a
    patrol, out of the buddy-walk figures, and its record (conversations with groups) is not
    what a walk with one woman produces. Plan her walk with its own kind instead.
    """
    if kind == PATROL and buddy_id is not None:
        raise InvalidInput(
            "a patrol is a walk without a buddy: leave buddy_id out, or choose the kind of "
            "walk she and the officer will take (commute, park, transport_hub or other)"
        )
    if kind != PATROL and buddy_id is None:
        raise InvalidInput(
            f"a {kind} walk needs a buddy: give buddy_id (GET /buddies lists them), or plan "
            "it as a patrol if no buddy walks"
        )


def planned_ward(session: Session, officer_id: uuid.UUID, ward_code: str | None) -> tuple[str, str]:
    """The ward a walk is planned in (given, else the officer's first) and its borough."""
    officer = get_officer(session, officer_id)
    ward = ward_code or officer["ward_codes"][0]
    if ward not in officer["ward_codes"]:
        raise InvalidInput(f"ward {ward} is not one of the officer's wards")
    return ward, ward_boroughs(session, [ward]).get(ward, officer["borough_codes"][0])


def patrol_record(session: Session, walk_id: uuid.UUID) -> dict[str, Any]:
    """A patrol's record: when and where, its conversations, themes heard and feedback.

    Raises
    ------
    NotFound
        No walk has that id.
    Conflict
        The walk is not a patrol (a buddy walk has surveys instead of a patrol record).

    """
    row = session.execute(
        text(
            "SELECT w.id, w.kind, w.ward_code, coalesce(wd.name, w.ward_code) AS ward_name, "
            "w.borough_code, w.planned_start, w.planned_end, w.actual_start, w.actual_end, "
            "w.conversations, w.patrol_themes, w.patrol_feedback, w.synthetic FROM walks w "
            "LEFT JOIN wards wd ON wd.ward_set_id = :set_id AND wd.code = w.ward_code "
            "WHERE w.id = :id"
        ),
        {"id": walk_id, "set_id": require_active_ward_set(session).id},
    ).first()
    if row is None:
        raise NotFound(f"no walk {walk_id}")
    if row.kind != PATROL:
        raise Conflict(
            f"walk {walk_id} is a {row.kind} walk with a buddy, not a patrol: its record is "
            "the officer's and the buddy's surveys"
        )
    record = dict(row._mapping)
    record["recorded"] = row.conversations is not None
    return record


def record_patrol(
    session: Session,
    walk_id: uuid.UUID,
    *,
    conversations: int,
    themes: list[str],
    feedback: str | None,
) -> dict[str, Any]:
    """Store (or replace) a patrol's record and return it.

    ``themes`` are slugs of the reports' taxonomy (``service.taxonomy``), kept once each in
    its order; ``feedback`` is trimmed and an empty one stored as none.
    """
    patrol_record(session, walk_id)  # refuses a walk that is not a patrol
    if conversations < 0:
        raise InvalidInput(f"conversations must be 0 or more, not {conversations}")
    unknown = sorted(set(themes) - SLUGS)
    if unknown:
        raise InvalidInput(
            f"unknown theme(s) {', '.join(unknown)}: use the slugs of GET /surveys/options"
        )
    text_given = (feedback or "").strip() or None
    if text_given is not None and len(text_given) > PATROL_FEEDBACK_CHARS:
        raise InvalidInput(
            f"feedback is {len(text_given):,} characters; keep it to {PATROL_FEEDBACK_CHARS:,}"
        )
    session.execute(
        text(
            "UPDATE walks SET conversations = :n, patrol_themes = :themes, "
            "patrol_feedback = :feedback WHERE id = :id"
        ),
        {
            "n": conversations,
            "themes": [slug for slug in sorted(set(themes), key=themes.index)],
            "feedback": text_given,
            "id": walk_id,
        },
    )
    return patrol_record(session, walk_id)


def trim_seed(key: bytes, walk_id: uuid.UUID) -> str:
    """A secret, stable seed for a walk's trimmed ends.

    Keyed, so nobody who knows the walk id can recompute where its ends were cut.
    """
    return hmac.new(key, walk_id.bytes, hashlib.sha256).hexdigest()


def store_route(
    session: Session, walk_id: uuid.UUID, geometry: Any, *, key: bytes
) -> dict[str, Any]:
    """Validate and store a walk's route with its trimmed copy, wards, length and darkness."""
    walk = walk_place(session, walk_id)
    try:
        line = check_route(geometry)
    except InvalidRoute as exc:
        raise InvalidInput(str(exc)) from None
    active = require_active_ward_set(session)
    wkt = line.wkt
    names: dict[str, str] = {
        row.code: row.name
        for row in session.execute(
            text(
                "SELECT DISTINCT w.code, w.name FROM ward_parts p JOIN wards w ON w.id = p.ward_id "
                "WHERE p.ward_set_id = :id AND ST_Intersects(p.geom, ST_GeomFromText(:wkt, 4326)) "
                "ORDER BY w.code"
            ),
            {"id": active.id, "wkt": wkt},
        )
    }
    wards = list(names)
    if not wards:
        raise InvalidInput(
            "the route is entirely outside the service area (the wards of "
            f"{active.name!r}): check it was drawn in the right place"
        )
    trimmed = trim_route_ends(line, seed=trim_seed(key, walk_id))
    share, dark_start = _darkness(
        line, walk.actual_start or walk.planned_start, walk.actual_end or walk.planned_end
    )
    session.execute(
        text(
            "UPDATE walks SET route = ST_GeomFromText(:wkt, 4326), "
            "route_trimmed = ST_GeomFromText(:trimmed, 4326), route_wards = :wards, "
            "length_m = :length, dark_share = :share, dark_at_start = :dark WHERE id = :id"
        ),
        {
            "wkt": wkt,
            "trimmed": trimmed.wkt if trimmed is not None else None,
            "wards": list(wards),
            "length": _length(session, wkt),
            "share": float(share),
            "dark": dark_start,
            "id": walk_id,
        },
    )
    return {
        "id": walk_id,
        "route_wards": list(wards),
        # For the officer's own pages, which say where the route goes in words.
        "route_ward_names": [names[code] for code in wards],
        "length_m": _length(session, wkt),
        "dark_share": round(float(share), 3),
        "dark_at_start": dark_start,
        "outside": outside_parts(session, active.id, wkt),
    }


def outside_parts(session: Session, ward_set_id: Any, wkt: str) -> dict[str, Any] | None:
    """The parts of a route outside the service area: their length, where, and a sentence.

    None when the whole route is inside. ``geometry`` is a GeoJSON MultiLineString of the
    outside parts (for the route page to draw them apart); ``note`` says which part is
    outside, e.g. "the route leaves the scheme's area for 420 m near its end (after 1.8 km)".
    """
    # Only the ward parts the route touches: the difference with them is the difference
    # with the whole area, and a union of a few polygons is quick.
    rows = session.execute(
        text(
            "WITH line AS (SELECT ST_GeomFromText(:wkt, 4326) AS l), "
            "area AS (SELECT ST_Union(p.geom) AS g FROM ward_parts p, line "
            "  WHERE p.ward_set_id = :id AND ST_Intersects(p.geom, line.l)), "
            "outside AS (SELECT (ST_Dump(ST_Difference(line.l, area.g))).geom AS piece "
            "  FROM line, area) "
            "SELECT ST_AsGeoJSON(piece) AS shape, ST_Length(piece::geography) AS metres, "
            "ST_LineLocatePoint(line.l, ST_StartPoint(piece)) * ST_Length(line.l::geography) "
            "  AS after_m, ST_Length(line.l::geography) AS total_m, "
            "ST_LineLocatePoint(line.l, ST_StartPoint(piece)) AS start_share, "
            "ST_LineLocatePoint(line.l, ST_EndPoint(piece)) AS end_share "
            "FROM outside, line WHERE GeometryType(piece) = 'LINESTRING' "
            "AND ST_Length(piece::geography) >= 5 ORDER BY after_m"
        ),
        {"wkt": wkt, "id": ward_set_id},
    ).all()
    if not rows:
        return None
    phrases = []
    for row in rows:
        share = row.start_share
        if share < 0.001:
            phrases.append(f"for its first {_metres(row.metres)}")
        elif row.end_share > 0.999:
            phrases.append(f"for its last {_metres(row.metres)} (after {_metres(row.after_m)})")
        else:
            place = "near its start" if share < 0.3 else "near its end" if share > 0.7 else "midway"
            phrases.append(f"for {_metres(row.metres)} {place} (after {_metres(row.after_m)})")
    return {
        "length_m": round(sum(row.metres for row in rows), 1),
        "note": "the route leaves the scheme's area " + "; and ".join(phrases),
        "geometry": {
            "type": "MultiLineString",
            "coordinates": [json.loads(row.shape)["coordinates"] for row in rows],
        },
    }


def _metres(value: float) -> str:
    """A distance as an officer says it: "420 m", "1.8 km"."""
    return f"{value / 1000:.1f} km" if value >= 1000 else f"{round(value, -1):.0f} m"


def _darkness(line: LineString, start: datetime, end: datetime) -> tuple[float, bool]:
    """The share of the route walked in the dark, and whether it was dark at its start."""
    share, _ = darkness_along(line, start, end)
    first_lon, first_lat = line.coords[0]
    return float(share), bool(is_dark([first_lon], [first_lat], pd.DatetimeIndex([start]))[0])


def refresh_darkness(session: Session, walk_id: uuid.UUID) -> None:
    """Recompute a stored route's darkness from the walk's times (after it was walked)."""
    walk = walk_place(session, walk_id)
    route = session.execute(
        text("SELECT ST_AsText(route) FROM walks WHERE id = :id"), {"id": walk_id}
    ).scalar_one()
    if route is None:
        return
    share, dark_start = _darkness(
        shapely.wkt.loads(route),
        walk.actual_start or walk.planned_start,
        walk.actual_end or walk.planned_end,
    )
    session.execute(
        text("UPDATE walks SET dark_share = :share, dark_at_start = :dark WHERE id = :id"),
        {"share": share, "dark": dark_start, "id": walk_id},
    )


def _length(session: Session, wkt: str) -> float:
    return round(
        float(
            session.execute(
                text("SELECT ST_Length(ST_Transform(ST_GeomFromText(:wkt, 4326), 27700))"),
                {"wkt": wkt},
            ).scalar_one()
        ),
        1,
    )


@dataclass(frozen=True)
class _Walk:
    id: uuid.UUID
    ward_code: str
    borough_code: str
    planned_start: datetime
    planned_end: datetime
    actual_start: datetime | None
    actual_end: datetime | None


def walk_place(session: Session, walk_id: uuid.UUID) -> _Walk:
    """A walk's ward, borough and times (what access decisions and darkness need)."""
    row = session.execute(
        text(
            "SELECT id, ward_code, borough_code, planned_start, planned_end, actual_start, "
            "actual_end FROM walks WHERE id = :id"
        ),
        {"id": walk_id},
    ).first()
    if row is None:
        raise NotFound(f"no walk {walk_id}")
    return _Walk(**row._mapping)


def walk_feature(session: Session, walk_id: uuid.UUID, view: RouteView) -> dict[str, Any]:
    """A walk as a GeoJSON Feature with the given route and what that view may carry.

    A trimmed view carries only what the trimmed route shows (``policy.walk_view_fields``):
    its own length, not the full route's, and no people, times or darkness.
    """
    column = "route" if view == "full" else "route_trimmed"
    row = session.execute(
        text(
            f"SELECT ST_AsGeoJSON({column}, 6) AS geometry, kind, officer_id, "
            "CASE WHEN :full THEN buddy_id END AS buddy_id, ward_code, borough_code, "
            "planned_start, planned_end, actual_start, actual_end, "
            # The full route's wards would name where it started and ended: a trimmed view
            # lists only the wards its trimmed route crosses (as the exports do).
            "CASE WHEN :full THEN route_wards ELSE ARRAY(SELECT DISTINCT wd.code "
            "FROM ward_parts p JOIN wards wd ON wd.id = p.ward_id "
            "WHERE p.ward_set_id = :set_id AND ST_Intersects(p.geom, route_trimmed) "
            "ORDER BY wd.code) END AS route_wards, "
            "CASE WHEN :full THEN length_m "
            "ELSE round(ST_Length(route_trimmed::geography)::numeric, 1)::float8 END AS length_m, "
            "dark_at_start, dark_share, consent_keep_route, consent_contact, consent_date, "
            "closed_at, baseline_safety, synthetic, "
            "CASE WHEN :full THEN ST_AsGeoJSON(meeting_point, 6) END AS meeting_point "
            "FROM walks WHERE id = :id"
        ),
        {"id": walk_id, "full": view == "full", "set_id": require_active_ward_set(session).id},
    ).one()
    properties = {k: v for k, v in row._mapping.items() if k != "geometry"}
    properties["meeting_point"] = json.loads(row.meeting_point) if row.meeting_point else None
    properties["route_view"] = view
    shown = walk_view_fields(view, properties)
    properties = {k: (v if k in shown else None) for k, v in properties.items()}
    return {
        "type": "Feature",
        "id": str(walk_id),
        "geometry": json.loads(row.geometry) if row.geometry else None,
        "properties": json.loads(json.dumps(properties, default=str)),
    }


def list_walks(session: Session, scope: Scope) -> list[dict[str, Any]]:
    """Walks in a scope, without routes (ask for one walk to see its route)."""
    if scope.ward_codes is not None:
        condition, params = "ward_code = ANY(:wards)", {"wards": list(scope.ward_codes)}
    else:
        condition, params = "borough_code = ANY(:b)", {"b": list(scope.borough_codes)}
    rows = session.execute(
        text(
            "SELECT id, kind, officer_id, ward_code, planned_start, planned_end, length_m, "
            f"dark_share, route IS NOT NULL AS has_route FROM walks WHERE {condition} "
            "ORDER BY planned_start DESC"
        ),
        params,
    ).all()
    return [json.loads(json.dumps(dict(r._mapping), default=str)) for r in rows]


def walk_route_wkt(session: Session, walk_id: uuid.UUID, view: RouteView) -> str:
    """The walk's full or trimmed route as WKT (refused when it has none of that kind)."""
    column = "route" if view == "full" else "route_trimmed"
    wkt = session.execute(
        text(f"SELECT ST_AsText({column}) FROM walks WHERE id = :id"), {"id": walk_id}
    ).scalar_one()
    if wkt is None:
        raise NotFound(f"walk {walk_id} has no route you may see yet: PUT /walks/{{id}}/route")
    return str(wkt)


def add_concern(
    session: Session, walk_id: uuid.UUID, concern: dict[str, Any]
) -> tuple[uuid.UUID, bool]:
    """Store a concern raised on the walk as a published ``walk_concern`` report.

    The concern is a point (``lon``, ``lat``) or a short stretch (``line``, GeoJSON), counted
    at the stretch's middle. Its time is ``at`` when the live page recorded one, else the
    walk's start, never in the future (a concern noted while planning is "now").

    Returns the report's id and whether it is new: a concern sent again with the same
    ``client_ref`` (the live page's own id for it) is the one stored before.
    """
    walk = walk_place(session, walk_id)
    client_ref = concern.get("client_ref")
    if client_ref is not None:
        # Locked so two resends at once cannot both get in (the unique index would refuse one).
        session.execute(
            text("SELECT pg_advisory_xact_lock(hashtext(:key))"), {"key": str(client_ref)}
        )
        known = session.execute(
            text("SELECT id FROM reports WHERE walk_id = :walk AND client_ref = :ref"),
            {"walk": walk_id, "ref": client_ref},
        ).scalar_one_or_none()
        if known is not None:
            return known, False
    lon, lat, stretch = _concern_place(concern)
    note = (concern.get("note") or "").strip()
    suggestion = (concern.get("suggestion") or "").strip()
    words = "\n".join(
        part for part in (note, f"Suggestion: {suggestion}" if suggestion else "") if part
    )
    now = datetime.now(UTC)
    at = concern.get("at")
    if at is not None:
        if at.tzinfo is None:
            raise InvalidInput("at needs a UTC offset, e.g. 2026-12-01T17:42:10+00:00")
        if at > now + timedelta(minutes=5):
            raise InvalidInput(f"at ({at.isoformat()}) is in the future: check the phone's clock")
        when = at
    else:
        when = min(walk.actual_start or walk.planned_start, now)
    parsed = parse_report_object(
        {
            "lon": lon,
            "lat": lat,
            "categories": concern.get("categories"),
            "occurred_at": min(when, now).isoformat(),
            "text": words or None,
        },
        categories=SLUGS,
    )
    if parsed.problems:
        raise InvalidInput("; ".join(p.reason for p in parsed.problems))
    result = store_reports(session, parsed.frame, source="walk_concern", status="published")
    if result.outside:
        raise InvalidInput(result.outside[0].reason)
    session.execute(
        text(
            "UPDATE reports SET walk_id = :walk, concern_line = ST_GeomFromText(:line, 4326), "
            "client_ref = :ref WHERE id = :id"
        ),
        {
            "walk": walk_id,
            "id": result.ids[0],
            "line": stretch.wkt if stretch else None,
            "ref": client_ref,
        },
    )
    return result.ids[0], True


def _concern_place(concern: dict[str, Any]) -> tuple[Any, Any, LineString | None]:
    line = concern.get("line")
    has_point = concern.get("lon") is not None or concern.get("lat") is not None
    if (line is None) == (not has_point):
        raise InvalidInput(
            "give a concern either a point (lon and lat) or a short stretch (line, a GeoJSON "
            "LineString), not both and not neither"
        )
    if line is None:
        return concern.get("lon"), concern.get("lat"), None
    try:
        stretch, (lon, lat) = concern_stretch(line)
    except InvalidRoute as exc:
        raise InvalidInput(str(exc)) from None
    return lon, lat, stretch


def editor_context(session: Session, walk_id: uuid.UUID) -> tuple[gpd.GeoDataFrame, str | None]:
    """What the route-drawing page needs: the walk's ward outline and any saved route (WKT)."""
    walk = walk_place(session, walk_id)
    active = require_active_ward_set(session)
    ward = gpd.read_postgis(
        text(
            "SELECT code, name, geom AS geometry FROM wards "
            "WHERE ward_set_id = :set_id AND code = :code"
        ).bindparams(set_id=active.id, code=walk.ward_code),
        session.connection(),
        geom_col="geometry",
        crs=4326,
    )
    route = session.execute(
        text("SELECT ST_AsText(route) FROM walks WHERE id = :id"), {"id": walk_id}
    ).scalar_one()
    return ward, route


def list_buddies(session: Session, scope: Scope) -> list[dict[str, Any]]:
    """Buddies living or working in a scope's wards, or else its boroughs."""
    if scope.ward_codes is not None:
        condition = "(home_ward = ANY(:wards) OR work_ward = ANY(:wards))"
        params: dict[str, Any] = {"wards": list(scope.ward_codes)}
    else:
        condition, params = "borough_code = ANY(:b)", {"b": list(scope.borough_codes)}
    rows = session.execute(
        text(
            "SELECT id, code, home_ward, work_ward, borough_code FROM buddies "
            f"WHERE erased_at IS NULL AND {condition} ORDER BY code"
        ),
        params,
    ).all()
    return [dict(r._mapping) for r in rows]


def buddy_contact(session: Session, buddy_id: uuid.UUID) -> str:
    """A buddy's contact details (the policy decides who may read them)."""
    contact = session.execute(
        text("SELECT contact FROM buddy_contacts WHERE buddy_id = :id"), {"id": buddy_id}
    ).scalar_one_or_none()
    if contact is None:
        raise NotFound("no contact details are kept for this buddy")
    return str(contact)
