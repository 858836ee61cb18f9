"""Requests to take part: a woman's ward and availability, her contact kept apart.

A request holds only where (a ward) and when (availability); how to reach her sits in
``participation_contacts``, read only for the ward's officers and supervisors (the policy
decides) and moved to ``buddy_contacts`` when a request is accepted. No name is ever asked.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from service.errors import Conflict, NotFound
from service.policy import Scope
from service.pseudonyms import new_code
from service.queries import walks as walk_queries
from service.queries.wards import require_active_ward_set

AVAILABILITY = {
    "early_morning": "Early morning",
    "evening": "Evening",
    "weekend": "Weekend",
}
"""When she could walk: the form's choices, value to label."""


@dataclass(frozen=True)
class Ward:
    """A ward of the active set, by code and name, with its borough."""

    code: str
    name: str
    borough_code: str
    borough_name: str


def ward_choices(session: Session) -> list[tuple[str, list[Ward]]]:
    """The active set's wards grouped by borough name, each group in ward-name order."""
    active = require_active_ward_set(session)
    rows = session.execute(
        text(
            "SELECT code, name, borough_code, borough_name FROM wards "
            "WHERE ward_set_id = :id ORDER BY borough_name, name, code"
        ),
        {"id": active.id},
    ).all()
    groups: dict[str, list[Ward]] = {}
    for r in rows:
        groups.setdefault(r.borough_name or "Other", []).append(
            Ward(r.code, r.name, r.borough_code, r.borough_name)
        )
    return list(groups.items())


def find_ward(session: Session, code: str) -> Ward | None:
    """The active set's ward with this code, or None."""
    active = require_active_ward_set(session)
    r = session.execute(
        text(
            "SELECT code, name, borough_code, borough_name FROM wards "
            "WHERE ward_set_id = :id AND code = :code"
        ),
        {"id": active.id, "code": code},
    ).first()
    return Ward(r.code, r.name, r.borough_code, r.borough_name) if r else None


def create_request(
    session: Session,
    *,
    ward: Ward,
    availability: list[str],
    contact: str,
    consent_at: datetime,
) -> str:
    """Store a request and, apart, its contact; return its reference (``WT-`` + 6 characters)."""
    while True:
        reference = new_code("WT-")
        taken = session.execute(
            text("SELECT 1 FROM participation_requests WHERE reference = :r"), {"r": reference}
        ).first()
        if not taken:
            break
    request_id = session.execute(
        text(
            "INSERT INTO participation_requests (reference, ward_code, borough_code, availability) "
            "VALUES (:ref, :ward, :borough, :availability) RETURNING id"
        ),
        {
            "ref": reference,
            "ward": ward.code,
            "borough": ward.borough_code,
            "availability": availability,
        },
    ).scalar_one()
    session.execute(
        text(
            "INSERT INTO participation_contacts (request_id, contact, consent_at) "
            "VALUES (:id, :contact, :at)"
        ),
        {"id": request_id, "contact": contact, "at": consent_at},
    )
    return reference


_REQUEST_COLUMNS = (
    "r.id, r.reference, r.ward_code, r.borough_code, r.availability, r.status, "
    "r.decline_reason, r.buddy_id, r.decided_by, r.decided_at, r.created_at, "
    "coalesce(w.name, r.ward_code) AS ward_name, b.code AS buddy_code"
)
_REQUEST_FROM = (
    "FROM participation_requests r "
    "LEFT JOIN wards w ON w.code = r.ward_code AND w.ward_set_id = "
    "  (SELECT id FROM ward_sets WHERE is_active) "
    "LEFT JOIN buddies b ON b.id = r.buddy_id "
)


def request_by_reference(session: Session, reference: str) -> dict[str, Any]:
    """A request by its reference (no contact), or NotFound."""
    row = session.execute(
        text(f"SELECT {_REQUEST_COLUMNS} {_REQUEST_FROM} WHERE r.reference = :ref"),
        {"ref": reference},
    ).first()
    if row is None:
        raise NotFound(f"no request to take part has the reference {reference!r}")
    return dict(row._mapping)


def get_request(session: Session, request_id: uuid.UUID) -> dict[str, Any]:
    """One request (no contact), or NotFound."""
    row = session.execute(
        text(f"SELECT {_REQUEST_COLUMNS} {_REQUEST_FROM} WHERE r.id = :id"), {"id": request_id}
    ).first()
    if row is None:
        raise NotFound(f"no request to take part {request_id}")
    return dict(row._mapping)


def list_requests(session: Session, scope: Scope) -> list[dict[str, Any]]:
    """Requests in a scope's wards (else its boroughs): new ones first, then newest first."""
    if scope.ward_codes is not None:
        condition, params = "r.ward_code = ANY(:wards)", {"wards": list(scope.ward_codes)}
    else:
        condition, params = "r.borough_code = ANY(:b)", {"b": list(scope.borough_codes)}
    rows = session.execute(
        text(
            f"SELECT {_REQUEST_COLUMNS} {_REQUEST_FROM} WHERE {condition} "
            "ORDER BY (r.status = 'new') DESC, r.created_at DESC"
        ),
        params,
    ).all()
    return [dict(r._mapping) for r in rows]


def request_contact(session: Session, request_id: uuid.UUID) -> str | None:
    """How to reach her, while the request keeps it (the policy decides who may read it)."""
    value = session.execute(
        text("SELECT contact FROM participation_contacts WHERE request_id = :id"),
        {"id": request_id},
    ).scalar_one_or_none()
    return None if value is None else str(value)


def _still_new(session: Session, request_id: uuid.UUID) -> dict[str, Any]:
    row = session.execute(
        text("SELECT status, ward_code FROM participation_requests WHERE id = :id FOR UPDATE"),
        {"id": request_id},
    ).first()
    if row is None:
        raise NotFound(f"no request to take part {request_id}")
    if row.status != "new":
        raise Conflict(f"this request was already {row.status}; it cannot be decided again")
    return dict(row._mapping)


def accept_request(session: Session, request_id: uuid.UUID, *, decided_by: str) -> dict[str, Any]:
    """Make her a buddy with a new pseudonymous code; her contact moves to the buddy's store."""
    request = _still_new(session, request_id)
    contact = request_contact(session, request_id)
    while True:
        code = new_code("B-", 5)
        if not session.execute(text("SELECT 1 FROM buddies WHERE code = :c"), {"c": code}).first():
            break
    buddy = walk_queries.create_buddy(
        session, code=code, home_ward=request["ward_code"], work_ward=None, contact=contact
    )
    session.execute(
        text("DELETE FROM participation_contacts WHERE request_id = :id"), {"id": request_id}
    )
    session.execute(
        text(
            "UPDATE participation_requests SET status = 'accepted', buddy_id = :buddy, "
            "decided_by = :by, decided_at = now() WHERE id = :id"
        ),
        {"buddy": buddy["id"], "by": decided_by, "id": request_id},
    )
    return buddy


def decline_request(
    session: Session, request_id: uuid.UUID, *, reason: str, decided_by: str
) -> None:
    """Decline with a reason; her contact is deleted, as nobody will use it now."""
    _still_new(session, request_id)
    session.execute(
        text("DELETE FROM participation_contacts WHERE request_id = :id"), {"id": request_id}
    )
    session.execute(
        text(
            "UPDATE participation_requests SET status = 'declined', decline_reason = :reason, "
            "decided_by = :by, decided_at = now() WHERE id = :id"
        ),
        {"reason": reason, "by": decided_by, "id": request_id},
    )


def buddies_with_walks(session: Session, scope: Scope) -> list[dict[str, Any]]:
    """A scope's buddies (as ``GET /buddies``) with ward names, walk count and last walk date."""
    buddies = walk_queries.list_buddies(session, scope)
    if not buddies:
        return []
    active = require_active_ward_set(session)
    counts = {
        r.buddy_id: r
        for r in session.execute(
            text(
                "SELECT buddy_id, count(*) AS walks, max(planned_start) AS last_walk "
                "FROM walks WHERE buddy_id = ANY(:ids) GROUP BY buddy_id"
            ),
            {"ids": [b["id"] for b in buddies]},
        ).all()
    }
    names: dict[str, str] = {
        r.code: r.name
        for r in session.execute(
            text("SELECT code, name FROM wards WHERE ward_set_id = :id"), {"id": active.id}
        ).all()
    }
    rows = []
    for buddy in buddies:
        walked = counts.get(buddy["id"])
        rows.append(
            {
                **buddy,
                "home_ward_name": names.get(buddy["home_ward"], buddy["home_ward"]),
                "work_ward_name": names.get(buddy["work_ward"], buddy["work_ward"]),
                "walks": walked.walks if walked else 0,
                "last_walk": walked.last_walk if walked else None,
            }
        )
    return rows
