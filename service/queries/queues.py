"""The supervisors' queues: safeguarding flags to follow up and public reports to moderate.

Plain values in, rows out; who may see which borough is decided by ``service.policy`` before
these are called. Nothing here reads what was disclosed: the scheme stores only that something
was, the reference of the report made the usual way, and who reviewed it.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

#: The ward's name from the active ward set (a walk keeps only its code).
_WARD_NAME = (
    "LEFT JOIN wards wd ON wd.code = w.ward_code "
    "AND wd.ward_set_id = (SELECT id FROM ward_sets WHERE is_active LIMIT 1)"
)

#: A flag's state, worst first: the order of the queue.
_STATE = (
    "CASE WHEN s.disclosed AND s.reference IS NULL AND s.due_at < now() THEN 'overdue' "
    "WHEN s.disclosed AND s.reference IS NULL "
    "AND s.due_at < now() + make_interval(hours => :soon) THEN 'due' "
    "WHEN s.disclosed AND s.reference IS NULL THEN 'waiting' "
    "ELSE 'review' END"
)
_RANK = {"overdue": 0, "due": 1, "waiting": 2, "review": 3}

_FLAG_COLUMNS = (
    "s.walk_id, s.borough_code, s.disclosed, s.answered_by, s.answered_at, s.due_at, "
    "s.reference, s.reviewed_by, s.reviewed_at, s.reminded_at, w.ward_code, "
    "coalesce(wd.name, w.ward_code) AS ward_name, w.planned_start, w.actual_start, w.kind, "
    "o.name AS officer_name, o.shoulder_number, " + _STATE + " AS state"
)
_FLAG_FROM = (
    "FROM safeguarding s JOIN walks w ON w.id = s.walk_id "
    "JOIN officers o ON o.id = w.officer_id " + _WARD_NAME
)


@dataclass(frozen=True)
class Attention:
    """How many open disclosures lack their reference: due soon, and overdue."""

    due: int
    overdue: int

    @property
    def total(self) -> int:
        """Flags needing a reference now (due soon or overdue)."""
        return self.due + self.overdue


def attention(session: Session, boroughs: tuple[str, ...], soon_hours: int) -> Attention:
    """Count the flags due within ``soon_hours`` or overdue in ``boroughs`` (one small query)."""
    row = session.execute(
        text(
            "SELECT count(*) FILTER (WHERE due_at < now()) AS overdue, "
            "count(*) FILTER (WHERE due_at >= now()) AS due FROM safeguarding "
            "WHERE disclosed AND reference IS NULL AND reviewed_at IS NULL "
            "AND due_at < now() + make_interval(hours => :soon) AND borough_code = ANY(:b)"
        ),
        {"soon": soon_hours, "b": list(boroughs)},
    ).one()
    return Attention(due=row.due, overdue=row.overdue)


def safeguarding_queue(
    session: Session, boroughs: tuple[str, ...], soon_hours: int
) -> list[dict[str, Any]]:
    """Open disclosures in ``boroughs``: overdue, due soon, waiting, then awaiting review."""
    rows = session.execute(
        text(
            f"SELECT {_FLAG_COLUMNS} {_FLAG_FROM} "
            "WHERE s.disclosed AND s.reviewed_at IS NULL AND s.borough_code = ANY(:b) "
            "ORDER BY s.due_at, s.walk_id"
        ),
        {"soon": soon_hours, "b": list(boroughs)},
    ).all()
    flags = [dict(r._mapping) for r in rows]
    # Stable: within a state the earliest deadline stays first.
    return sorted(flags, key=lambda f: _RANK[f["state"]])


def recently_reviewed(
    session: Session, boroughs: tuple[str, ...], limit: int = 10
) -> list[dict[str, Any]]:
    """The last flags reviewed in ``boroughs``, newest first (so a reviewer sees it went)."""
    rows = session.execute(
        text(
            f"SELECT {_FLAG_COLUMNS} {_FLAG_FROM} "
            "WHERE s.disclosed AND s.reviewed_at IS NOT NULL AND s.borough_code = ANY(:b) "
            "ORDER BY s.reviewed_at DESC LIMIT :limit"
        ),
        {"soon": 0, "b": list(boroughs), "limit": limit},
    ).all()
    return [dict(r._mapping) for r in rows]


def flag(session: Session, walk_id: uuid.UUID, soon_hours: int) -> dict[str, Any] | None:
    """One walk's safeguarding answer with its walk's date, ward and officer; None if none."""
    row = session.execute(
        text(f"SELECT {_FLAG_COLUMNS} {_FLAG_FROM} WHERE s.walk_id = :id"),
        {"soon": soon_hours, "id": walk_id},
    ).first()
    return dict(row._mapping) if row else None


def reminders_to_send(
    session: Session, soon_hours: int, every_hours: int
) -> list[dict[str, Any]]:
    """Flags due soon or overdue whose last reminder is older than ``every_hours`` (locked).

    The rows stay locked (``SKIP LOCKED``) until the caller's transaction ends, so the service's
    task and a cron run at the same moment do not both send one.
    """
    rows = session.execute(
        text(
            f"SELECT {_FLAG_COLUMNS} {_FLAG_FROM} "
            "WHERE s.disclosed AND s.reference IS NULL AND s.reviewed_at IS NULL "
            "AND s.due_at < now() + make_interval(hours => :soon) "
            "AND (s.reminded_at IS NULL "
            "     OR s.reminded_at < now() - make_interval(hours => :every)) "
            "ORDER BY s.due_at FOR UPDATE OF s SKIP LOCKED"
        ),
        {"soon": soon_hours, "every": every_hours},
    ).all()
    return [dict(r._mapping) for r in rows]


def mark_reminded(session: Session, walk_ids: list[uuid.UUID]) -> None:
    """Note that a reminder about these flags went out now."""
    session.execute(
        text("UPDATE safeguarding SET reminded_at = now() WHERE walk_id = ANY(:ids)"),
        {"ids": walk_ids},
    )


_REPORT_COLUMNS = (
    "r.id, r.categories, r.text AS free_text, r.text_redacted, r.occurred_on, r.time_band, "
    "r.occurred_at, r.received_hour, r.ward_code, r.borough_code, "
    "coalesce(wd.name, r.ward_code) AS ward_name, "
    "ST_Y(r.geom) AS lat, ST_X(r.geom) AS lon"
)
_REPORT_FROM = (
    "FROM reports r LEFT JOIN wards wd ON wd.code = r.ward_code "
    "AND wd.ward_set_id = (SELECT id FROM ward_sets WHERE is_active LIMIT 1)"
)
_PENDING = "r.source = 'public' AND r.status = 'pending' AND r.borough_code = ANY(:b)"


def pending_reports(
    session: Session, boroughs: tuple[str, ...], limit: int = 100
) -> tuple[list[dict[str, Any]], int]:
    """Public reports awaiting moderation in ``boroughs``, oldest first, and how many in all."""
    params = {"b": list(boroughs), "limit": limit}
    rows = session.execute(
        text(
            f"SELECT {_REPORT_COLUMNS} {_REPORT_FROM} WHERE {_PENDING} "
            "ORDER BY r.received_hour, r.id LIMIT :limit"
        ),
        params,
    ).all()
    total = session.execute(
        text(f"SELECT count(*) FROM reports r WHERE {_PENDING}"), params
    ).scalar_one()
    return [dict(r._mapping) for r in rows], total


def report(session: Session, report_id: uuid.UUID) -> dict[str, Any] | None:
    """One report as the moderation page shows it (with its status and borough); None if none."""
    row = session.execute(
        text(
            f"SELECT {_REPORT_COLUMNS}, r.status, r.source, r.moderation_reason "
            f"{_REPORT_FROM} WHERE r.id = :id"
        ),
        {"id": report_id},
    ).first()
    return dict(row._mapping) if row else None


def next_pending(session: Session, boroughs: tuple[str, ...]) -> uuid.UUID | None:
    """The oldest report still awaiting moderation in ``boroughs``, if any."""
    value: uuid.UUID | None = session.execute(
        text(f"SELECT r.id FROM reports r WHERE {_PENDING} ORDER BY r.received_hour, r.id LIMIT 1"),
        {"b": list(boroughs)},
    ).scalar_one_or_none()
    return value
