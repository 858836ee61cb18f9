"""``GET /audit``: supervisors read who looked at sensitive data."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel

from service.auth import Allow, Principal, Role
from service.db import SessionDep
from service.queries import audit

router = APIRouter(tags=["audit"])


class AuditEntryPublic(BaseModel):
    """One access: who, when, what."""

    at: datetime
    actor: str
    role: str
    action: str
    target: str


class AuditLogPublic(BaseModel):
    """The newest entries first."""

    entries: list[AuditEntryPublic]


@router.get("/audit", operation_id="read_audit_log", response_model=AuditLogPublic)
def read_audit_log(
    request: Request,
    session: SessionDep,
    principal: Annotated[Principal, Depends(Allow(Role.supervisor))],
    limit: Annotated[int | None, Query(ge=1, le=5000)] = None,
) -> AuditLogPublic:
    """Read the audit log of the tokens of your boroughs (the read itself is logged)."""
    audit.record(session, principal, "read audit log")
    session.commit()
    entries = audit.read_log(
        session,
        boroughs=principal.borough_codes,
        limit=limit or request.app.state.settings.audit_page_size,
    )
    return AuditLogPublic(entries=[AuditEntryPublic(**e.__dict__) for e in entries])
