"""What an officer's pages read: her walks with the records their next steps depend on.

Plain values in (a scope, a walk id), rows out; who may see what is ``service.policy``'s call.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import geopandas as gpd
from sqlalchemy import text
from sqlalchemy.orm import Session

from service.errors import NotFound
from service.policy import Scope
from service.queries.wards import require_active_ward_set
from service.walk_steps import WalkState

# The columns a walk's next steps need, and the records (safeguarding, surveys) they look for.
_STATE = (
    "w.id, w.kind, w.buddy_id IS NOT NULL AS has_buddy, w.route IS NOT NULL AS has_route, "
    "w.planned_start, w.planned_end, w.actual_start, w.closed_at, "
    "EXISTS (SELECT FROM safeguarding s WHERE s.walk_id = w.id) AS safeguarding_answered, "
    "EXISTS (SELECT FROM safeguarding s WHERE s.walk_id = w.id AND s.disclosed "
    "AND s.reference IS NULL) AS safeguarding_reference_due, "
    "EXISTS (SELECT FROM officer_surveys o WHERE o.walk_id = w.id) AS officer_survey_done, "
    "w.conversations IS NOT NULL AS patrol_recorded, "
    "EXISTS (SELECT FROM survey_links l WHERE l.walk_id = w.id) AS buddy_link_sent, "
    "EXISTS (SELECT FROM buddy_surveys b WHERE b.walk_id = w.id) AS buddy_survey_done"
)
_EXTRA = (
    "w.ward_code, w.length_m, w.dark_share, w.dark_at_start, w.actual_end, w.route_wards, "
    "bu.code AS buddy_code, COALESCE((SELECT wd.name FROM wards wd "
    "JOIN ward_sets ws ON ws.id = wd.ward_set_id AND ws.is_active "
    "WHERE wd.code = w.ward_code LIMIT 1), w.ward_code) AS ward_name"
)


def _scope(scope: Scope) -> tuple[str, dict[str, Any]]:
    if scope.ward_codes is not None:
        return "w.ward_code = ANY(:wards)", {"wards": list(scope.ward_codes)}
    return "w.borough_code = ANY(:boroughs)", {"boroughs": list(scope.borough_codes)}


def _state(row: dict[str, Any]) -> WalkState:
    return WalkState(**{k: row[k] for k in WalkState.__dataclass_fields__})


def count_new_requests(session: Session, scope: Scope) -> int:
    """Requests to take part still new in a scope's wards (or else its boroughs)."""
    if scope.ward_codes is not None:
        condition, params = "ward_code = ANY(:wards)", {"wards": list(scope.ward_codes)}
    else:
        condition, params = "borough_code = ANY(:b)", {"b": list(scope.borough_codes)}
    return int(
        session.execute(
            text(
                "SELECT count(*) FROM participation_requests "
                f"WHERE status = 'new' AND {condition}"
            ),
            params,
        ).scalar_one()
    )


def work_walks(session: Session, scope: Scope) -> list[tuple[WalkState, dict[str, Any]]]:
    """Walks in a scope, soonest first, each as its step state and the row shown beside it."""
    condition, params = _scope(scope)
    rows = session.execute(
        text(
            f"SELECT {_STATE}, {_EXTRA} FROM walks w LEFT JOIN buddies bu ON bu.id = w.buddy_id "
            f"WHERE {condition} ORDER BY w.planned_start"
        ),
        params,
    ).all()
    return [(_state(dict(r._mapping)), dict(r._mapping)) for r in rows]


def work_walk(session: Session, walk_id: uuid.UUID) -> tuple[WalkState, dict[str, Any]]:
    """One walk's step state and row (the caller has checked she may see it)."""
    row = session.execute(
        text(
            f"SELECT {_STATE}, {_EXTRA} FROM walks w LEFT JOIN buddies bu ON bu.id = w.buddy_id "
            "WHERE w.id = :id"
        ),
        {"id": walk_id},
    ).first()
    if row is None:
        raise NotFound(f"no walk {walk_id}")
    return _state(dict(row._mapping)), dict(row._mapping)


def walk_concerns(session: Session, walk_id: uuid.UUID) -> list[dict[str, Any]]:
    """The concerns noted on this walk: id, category, note and when, in the order noted."""
    rows = session.execute(
        text(
            "SELECT id, categories, text AS note, occurred_at AS at FROM reports "
            "WHERE walk_id = :id ORDER BY occurred_at, id"
        ),
        {"id": walk_id},
    ).all()
    return [dict(r._mapping) for r in rows]


def ward_names(session: Session, codes: list[str]) -> dict[str, str]:
    """The active ward set's names for these codes (a code without a name keeps its code)."""
    rows = session.execute(
        text("SELECT code, name FROM wards WHERE ward_set_id = :id AND code = ANY(:codes)"),
        {"id": require_active_ward_set(session).id, "codes": codes},
    ).all()
    names = {r.code: r.name for r in rows}
    return {code: names.get(code) or code for code in codes}


def ward_outlines(session: Session, codes: list[str]) -> dict[str, Any]:
    """These wards' outlines, simplified to about 10 m, as a GeoJSON FeatureCollection."""
    rows = session.execute(
        text(
            "SELECT code, name, ST_AsGeoJSON(ST_SimplifyPreserveTopology(geom, 0.0001), 6) AS g "
            "FROM wards WHERE ward_set_id = :id AND code = ANY(:codes)"
        ),
        {"id": require_active_ward_set(session).id, "codes": codes},
    ).all()
    return {
        "type": "FeatureCollection",
        "features": [
            {"type": "Feature", "properties": {"code": r.code, "name": r.name},
             "geometry": json.loads(r.g)}
            for r in rows
        ],
    }


def walk_export_frames(
    session: Session, walk_id: uuid.UUID
) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """A walk's full route and its concerns as frames for its files (WGS 84).

    No buddy, contact or meeting point: a file travels further than the page it came from.
    """
    route = gpd.read_postgis(
        text(
            "SELECT kind, ward_code, planned_start, planned_end, actual_start, actual_end, "
            "round(length_m::numeric)::int AS length_m, round(dark_share::numeric, 2)::float "
            "AS dark_share, route AS geometry FROM walks WHERE id = :id AND route IS NOT NULL"
        ).bindparams(id=walk_id),
        session.connection(),
        geom_col="geometry",
        crs=4326,
    )
    concerns = gpd.read_postgis(
        text(
            "SELECT categories, text AS note, occurred_at AS at, "
            "coalesce(concern_line, geom) AS geometry FROM reports "
            "WHERE walk_id = :id ORDER BY occurred_at, id"
        ).bindparams(id=walk_id),
        session.connection(),
        geom_col="geometry",
        crs=4326,
    )
    return route, concerns
