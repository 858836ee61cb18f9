"""Supervisors manage tokens within their command unit: ``GET/POST/DELETE /tokens``."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field

from service import policy
from service.auth import Allow, Principal, Role
from service.db import SessionDep
from service.errors import InvalidInput
from service.queries import audit, officers
from service.queries import tokens as queries

router = APIRouter(tags=["tokens"])
Supervisor = Annotated[Principal, Depends(Allow(Role.supervisor))]


class TokenCreate(BaseModel):
    """A new token: who holds it, their role, and the scope it grants."""

    role: Role
    name: str = Field(min_length=1, max_length=200)
    wards: list[str] = Field(default_factory=list, description="officers: ward codes")
    boroughs: list[str] = Field(default_factory=list, description="borough codes or names")
    command_unit: str | None = Field(default=None, description='supervisors, e.g. "AS"')
    expires: str | None = Field(default="90d", description="90d, 12h, 2w or an ISO date")
    officer_id: uuid.UUID | None = Field(
        default=None, description="officers: the officer record the token signs in as"
    )


class TokenPublic(BaseModel):
    """A token as listed: never the token itself."""

    id: uuid.UUID
    name: str
    role: str
    ward_codes: list[str]
    borough_codes: list[str]
    created_at: datetime
    created_by: str
    expires_at: datetime
    revoked_at: datetime | None
    officer_id: uuid.UUID | None = None
    state: str


class TokenCreated(TokenPublic):
    """The answer to creating a token: the only time the token is shown."""

    token: str


class TokensPublic(BaseModel):
    """A list of tokens."""

    tokens: list[TokenPublic]


def _public(info: queries.TokenInfo) -> TokenPublic:
    # from_attributes reads the dataclass fields and its ``state`` property alike.
    return TokenPublic.model_validate(info, from_attributes=True)


@router.get("/tokens", operation_id="list_tokens", response_model=TokensPublic)
def list_tokens(session: SessionDep, principal: Supervisor) -> TokensPublic:
    """Tokens scoped inside the supervisor's boroughs."""
    found = queries.list_tokens(session, within=principal.borough_codes)
    audit.record(session, principal, "list tokens", f"{len(found)} tokens")
    session.commit()
    return TokensPublic(tokens=[_public(t) for t in found])


@router.post("/tokens", operation_id="create_token", status_code=201, response_model=TokenCreated)
def create_token(
    request: Request, session: SessionDep, principal: Supervisor, body: TokenCreate
) -> TokenCreated:
    """Create a token for someone in the supervisor's command unit; the token is shown once."""
    if body.role is Role.public:
        raise InvalidInput("the public need no token: requests without one are public")
    scope = queries.resolve_scope(
        session,
        body.role,
        wards=body.wards,
        boroughs=body.boroughs,
        command_unit=body.command_unit,
    )
    policy.require_boroughs(principal, scope.borough_codes, "that token's scope")
    if body.officer_id is not None:
        if body.role is not Role.officer:
            raise InvalidInput("only an officer token signs in as an officer record")
        officers.check_token_officer(session, body.officer_id, scope.ward_codes)
    info, raw = queries.create_token(
        session,
        key=request.app.state.secret_key,
        role=body.role,
        name=body.name,
        scope=scope,
        expires_at=queries.parse_expiry(body.expires),
        created_by=principal.name,
        officer_id=body.officer_id,
    )
    audit.record(session, principal, "create token", f"{info.id} {info.role} {info.name}")
    session.commit()
    return TokenCreated(**_public(info).model_dump(), token=raw)


@router.delete("/tokens/{token_id}", operation_id="revoke_token", response_model=TokenPublic)
def revoke_token(session: SessionDep, principal: Supervisor, token_id: uuid.UUID) -> TokenPublic:
    """Revoke a token at once; its browser sessions end too."""
    scope = queries.get_token(session, token_id).borough_codes
    policy.require_boroughs(principal, scope, "that token's scope")
    info = queries.revoke_token(session, token_id)
    audit.record(session, principal, "revoke token", f"{info.id} {info.name}")
    session.commit()
    return _public(info)
