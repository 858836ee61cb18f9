"""Officers as supervisors manage them: listed with their walks, wards changed, (de)activated.

A deactivated officer keeps her record (her walks name her) but can no longer be chosen for a
walk, and every token that signs in as her is revoked when she is deactivated.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from boundaries.bundled import command_units
from service.errors import InvalidInput, NotFound
from service.queries.walks import ward_boroughs

_SELECT = (
    "SELECT o.id, o.name, o.shoulder_number, o.ward_codes, o.borough_codes, o.command_unit, "
    "  o.created_at, o.deactivated_at, "
    "  (SELECT count(*) FROM walks w WHERE w.officer_id = o.id) AS walks, "
    "  (SELECT string_agg(coalesce(wd.name, c), ', ' ORDER BY coalesce(wd.name, c)) "
    "     FROM unnest(o.ward_codes) AS c "
    "     LEFT JOIN wards wd ON wd.code = c "
    "      AND wd.ward_set_id = (SELECT id FROM ward_sets WHERE is_active)) AS ward_names "
    "FROM officers o "
)


def list_in_boroughs(session: Session, boroughs: tuple[str, ...]) -> list[dict[str, Any]]:
    """Officers with a ward in these boroughs, active ones first, with their walk counts."""
    rows = session.execute(
        text(
            _SELECT + "WHERE o.borough_codes && CAST(:boroughs AS text[]) "
            "ORDER BY o.deactivated_at IS NOT NULL, o.name"
        ),
        {"boroughs": list(boroughs)},
    ).all()
    return [dict(r._mapping) for r in rows]


def get(session: Session, officer_id: uuid.UUID) -> dict[str, Any]:
    """One officer with her walk count and state."""
    row = session.execute(text(_SELECT + "WHERE o.id = :id"), {"id": officer_id}).first()
    if row is None:
        raise NotFound(f"no officer {officer_id}")
    return dict(row._mapping)


def set_wards(session: Session, officer_id: uuid.UUID, ward_codes: list[str]) -> None:
    """Give an officer these wards (checked against the active set) and their boroughs."""
    if not ward_codes:
        raise InvalidInput("an officer needs at least one ward")
    boroughs = sorted(set(ward_boroughs(session, ward_codes).values()))
    session.execute(
        text("UPDATE officers SET ward_codes = :wards, borough_codes = :boroughs WHERE id = :id"),
        {"id": officer_id, "wards": sorted(set(ward_codes)), "boroughs": boroughs},
    )


def deactivate(session: Session, officer_id: uuid.UUID) -> int:
    """Deactivate an officer and revoke her tokens (ending their sessions); how many revoked."""
    session.execute(
        text(
            "UPDATE officers SET deactivated_at = coalesce(deactivated_at, now()) WHERE id = :id"
        ),
        {"id": officer_id},
    )
    revoked = session.execute(
        text(
            "UPDATE api_tokens SET revoked_at = now() "
            "WHERE officer_id = :id AND revoked_at IS NULL RETURNING id"
        ),
        {"id": officer_id},
    ).scalars().all()
    session.execute(
        text("DELETE FROM browser_sessions WHERE token_id = ANY(:ids)"), {"ids": list(revoked)}
    )
    return len(revoked)


def reactivate(session: Session, officer_id: uuid.UUID) -> None:
    """Let an officer be chosen for walks again (her revoked tokens stay revoked)."""
    session.execute(
        text("UPDATE officers SET deactivated_at = NULL WHERE id = :id"), {"id": officer_id}
    )


def require_active(session: Session, officer_id: uuid.UUID) -> None:
    """Refuse a deactivated officer for a new walk (422, saying what to do)."""
    row = session.execute(
        text("SELECT name, deactivated_at FROM officers WHERE id = :id"), {"id": officer_id}
    ).first()
    if row is None:
        raise NotFound(f"no officer {officer_id}")
    if row.deactivated_at is not None:
        raise InvalidInput(
            f"officer {row.name} was deactivated on {row.deactivated_at:%d %B %Y}: choose an "
            "active officer, or ask a supervisor to reactivate her"
        )


def check_token_officer(
    session: Session, officer_id: uuid.UUID, ward_codes: tuple[str, ...]
) -> None:
    """A token that signs in as an officer: she exists, is active and has exactly its wards."""
    row = session.execute(
        text("SELECT name, ward_codes, deactivated_at FROM officers WHERE id = :id"),
        {"id": officer_id},
    ).first()
    if row is None:
        raise InvalidInput(f"no officer {officer_id}: choose one from the officers' list")
    if row.deactivated_at is not None:
        raise InvalidInput(f"officer {row.name} is deactivated: reactivate her first")
    if sorted(row.ward_codes) != sorted(ward_codes):
        raise InvalidInput(
            f"the token's wards ({', '.join(ward_codes)}) must be officer {row.name}'s wards "
            f"({', '.join(sorted(row.ward_codes))})"
        )


def command_unit_of(session: Session, ward_codes: list[str]) -> str:
    """The Met command unit of these wards' boroughs (its code), or "none" (the City)."""
    boroughs = set(ward_boroughs(session, ward_codes).values())
    for unit in command_units().values():
        if boroughs & set(unit.borough_codes):
            return unit.code
    return "none"


_IMPORTS = (
    "SELECT id, kind, file_name, rows_stored, rows_skipped, imported_at, imported_by "
    "FROM imports "
)


def list_imports(session: Session, limit: int = 50) -> list[dict[str, Any]]:
    """The latest imports, newest first."""
    rows = session.execute(
        text(_IMPORTS + "ORDER BY imported_at DESC, id DESC LIMIT :limit"), {"limit": limit}
    ).all()
    return [dict(r._mapping) for r in rows]


def get_import(session: Session, import_id: int) -> dict[str, Any]:
    """One import's record."""
    row = session.execute(text(_IMPORTS + "WHERE id = :id"), {"id": import_id}).first()
    if row is None:
        raise NotFound(f"no import {import_id}: choose one from the list of imports")
    return dict(row._mapping)


def latest_import(session: Session, kind: str, file_name: str) -> dict[str, Any] | None:
    """The newest import of this kind and file name (the one just made), if any."""
    row = session.execute(
        text(_IMPORTS + "WHERE kind = :kind AND file_name = :name ORDER BY id DESC LIMIT 1"),
        {"kind": kind, "name": file_name},
    ).first()
    return dict(row._mapping) if row else None
