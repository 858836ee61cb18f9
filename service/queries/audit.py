"""The audit log: who read or changed sensitive data, and when."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
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


#: The lines written while :func:`noted` is open, as ``(action, target)``.
_NOTED: ContextVar[list[tuple[str, str]] | None] = ContextVar("audit_noted", default=None)


@contextmanager
def noted() -> Iterator[list[tuple[str, str]]]:
    """Collect the ``(action, target)`` of every line recorded inside, in this thread's context.

    A map page kept once drawn (``service.page_cache``) writes them again each time it is
    served, so every read of exact counts is in the log, not only the one that drew it.
    """
    lines: list[tuple[str, str]] = []
    token = _NOTED.set(lines)
    try:
        yield lines
    finally:
        _NOTED.reset(token)


def record(session: Session, principal: Principal, action: str, target: str = "") -> None:
    """Note an access in the caller's transaction (committed with the rest of the request)."""
    lines = _NOTED.get()
    if lines is not None:
        lines.append((action, target))
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
