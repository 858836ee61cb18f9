"""The audit log: who read or changed sensitive data, and when."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import text
from sqlalchemy.orm import Session

from service.auth import Principal


@dataclass(frozen=True)
class AuditRecord:
    """One line of the audit log."""

    at: datetime
    actor: str
    role: str
    action: str
    target: str


def record(session: Session, principal: Principal, action: str, target: str = "") -> None:
    """Note an access in the caller's transaction (committed with the rest of the request)."""
    session.execute(
        text(
            "INSERT INTO audit_log (token_id, actor, role, action, target) "
            "VALUES (:token, :actor, :role, :action, :target)"
        ),
        {
            "token": principal.token_id,
            "actor": principal.name,
            "role": principal.role.value,
            "action": action,
            "target": target,
        },
    )


def read_log(
    session: Session, *, boroughs: tuple[str, ...], limit: int, before_id: int | None = None
) -> list[AuditRecord]:
    """The newest entries first, of the tokens whose scope shares a borough with ``boroughs``.

    Targets name walks and buddies: a supervisor of another command unit reads none of them.
    """
    rows = session.execute(
        text(
            "SELECT a.at, a.actor, a.role, a.action, a.target FROM audit_log a "
            "JOIN api_tokens t ON t.id = a.token_id "
            "WHERE t.borough_codes && CAST(:boroughs AS text[]) "
            "AND (CAST(:before AS bigint) IS NULL OR a.id < :before) "
            "ORDER BY a.id DESC LIMIT :limit"
        ),
        {"boroughs": list(boroughs), "before": before_id, "limit": limit},
    ).all()
    return [AuditRecord(r.at, r.actor, r.role, r.action, r.target) for r in rows]
