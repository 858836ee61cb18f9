"""Erasure on request and the retention period for buddies' personal data.

A buddy's contact details and full routes are kept only as long as the scheme needs them; the
anonymous facts of a walk (when, which ward, kind, length, darkness) stay for evaluation.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.orm import Session

from service.errors import NotFound


@dataclass(frozen=True)
class Erased:
    """What erasing one buddy removed."""

    contacts: int
    routes: int


def erase_buddy(session: Session, code: str) -> Erased:
    """Remove a buddy's personal data on request; her walks stay as anonymous facts.

    The contact details go, her walks lose their routes (full and trimmed: both trace her
    streets) and meeting points, her survey comments go (her scores stay), and the buddy row
    keeps no code or wards.
    """
    buddy_id = session.execute(
        text("SELECT id FROM buddies WHERE code = :code AND erased_at IS NULL"), {"code": code}
    ).scalar_one_or_none()
    if buddy_id is None:
        raise NotFound(f"no buddy with code {code!r} (already erased, or never registered)")
    contacts = session.execute(
        text("DELETE FROM buddy_contacts WHERE buddy_id = :id"), {"id": buddy_id}
    ).rowcount  # type: ignore[attr-defined]
    # Her own words may name her; her scores are anonymous facts of the walk.
    session.execute(
        text(
            "UPDATE buddy_surveys SET comments = NULL WHERE walk_id IN "
            "(SELECT id FROM walks WHERE buddy_id = :id)"
        ),
        {"id": buddy_id},
    )
    routes = session.execute(
        text(
            "UPDATE walks SET route = NULL, route_trimmed = NULL, meeting_point = NULL, "
            "buddy_id = NULL WHERE buddy_id = :id"
        ),
        {"id": buddy_id},
    ).rowcount  # type: ignore[attr-defined]
    session.execute(
        text(
            "UPDATE buddies SET code = 'erased:' || id::text, home_ward = NULL, "
            "work_ward = NULL, erased_at = now() WHERE id = :id"
        ),
        {"id": buddy_id},
    )
    return Erased(contacts=int(contacts), routes=int(routes))


def apply_retention(session: Session, *, months: int) -> Erased:
    """Delete contact details and full routes older than ``months``; trimmed routes stay."""
    contacts = session.execute(
        text(
            "DELETE FROM buddy_contacts WHERE created_at < now() - make_interval(months => :months)"
        ),
        {"months": months},
    ).rowcount  # type: ignore[attr-defined]
    # A request to take part that nobody acted on keeps her contact no longer than a buddy's.
    contacts += session.execute(
        text(
            "DELETE FROM participation_contacts "
            "WHERE consent_at < now() - make_interval(months => :months)"
        ),
        {"months": months},
    ).rowcount  # type: ignore[attr-defined]
    routes = session.execute(
        text(
            "UPDATE walks SET route = NULL, meeting_point = NULL WHERE route IS NOT NULL "
            "AND coalesce(actual_end, planned_end) < now() - make_interval(months => :months)"
        ),
        {"months": months},
    ).rowcount  # type: ignore[attr-defined]
    return Erased(contacts=int(contacts), routes=int(routes))
