"""Roles, tokens and who is calling: the ``Principal`` every route is handed.

A request carries ``Authorization: Bearer <token>`` (scripts, QGIS) or a session cookie from
``/login`` (browsers); neither means the public. Roles do not nest: a route lists every role
that may call it with ``Allow(...)``, and a test fails for any route that lists none.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy import Row, text
from starlette.concurrency import run_in_threadpool

from service.db import SessionDep
from service.errors import Forbidden, Unauthorized

SESSION_COOKIE = "walktalk_session"
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"
TOKEN_PREFIX = "wt_"  # noqa: S105 - a visible prefix lets secret scanners spot leaked tokens
_SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


class Role(StrEnum):
    """The scheme's roles (DESIGN.md, "Who uses it")."""

    officer = "officer"
    supervisor = "supervisor"
    partner = "partner"
    planner = "planner"
    public = "public"


EVERYONE = tuple(Role)


@dataclass(frozen=True)
class Principal:
    """Who is calling, with the scope their token grants."""

    role: Role
    name: str
    token_id: uuid.UUID | None = None
    ward_codes: tuple[str, ...] = ()
    borough_codes: tuple[str, ...] = ()
    csrf_token: str | None = None  # set for cookie sessions only
    # The officer's record the token belongs to (api_tokens.officer_id), for her own pages.
    officer_id: uuid.UUID | None = None

    @property
    def is_public(self) -> bool:
        """True when no token or session was presented."""
        return self.role is Role.public


PUBLIC = Principal(role=Role.public, name="public")


def new_secret() -> str:
    """A fresh bearer token or session id: 256 random bits, URL-safe."""
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def keyed_hash(key: bytes, secret: str) -> bytes:
    """HMAC-SHA256 of a token or session id: what the database stores instead of it.

    Keyed, so a copy of the database alone does not let anyone test guesses offline.
    """
    return hmac.new(key, secret.encode(), hashlib.sha256).digest()


def _principal(row: Row[Any], csrf_token: str | None = None) -> Principal:
    return Principal(
        role=Role(row.role),
        name=row.name,
        token_id=row.id,
        ward_codes=tuple(row.ward_codes),
        borough_codes=tuple(row.borough_codes),
        csrf_token=csrf_token,
        officer_id=row.officer_id,
    )


def _principal_from_token(request: Request, session: SessionDep, raw: str) -> Principal:
    row = session.execute(
        text(
            "SELECT id, name, role, ward_codes, borough_codes, officer_id, expires_at, "
            "revoked_at "
            "FROM api_tokens WHERE token_hash = :hash"
        ),
        {"hash": keyed_hash(request.app.state.secret_key, raw)},
    ).first()
    if row is None:
        raise Unauthorized("the bearer token is not known: check it was copied whole")
    if row.revoked_at is not None:
        raise Unauthorized(
            f"the token {row.name!r} was revoked on {row.revoked_at:%Y-%m-%d}: ask a "
            "supervisor for a new one"
        )
    if row.expires_at <= datetime.now(UTC):
        raise Unauthorized(
            f"the token {row.name!r} expired on {row.expires_at:%Y-%m-%d %H:%M} UTC: ask a "
            "supervisor for a new one"
        )
    return _principal(row)


def _principal_from_cookie(request: Request, session: SessionDep, raw: str) -> Principal:
    row = session.execute(
        text(
            "SELECT t.id, t.name, t.role, t.ward_codes, t.borough_codes, t.officer_id, "
            "s.csrf_token "
            "FROM browser_sessions s JOIN api_tokens t ON t.id = s.token_id "
            "WHERE s.id_hash = :hash AND s.expires_at > now() "
            "  AND t.revoked_at IS NULL AND t.expires_at > now()"
        ),
        {"hash": keyed_hash(request.app.state.secret_key, raw)},
    ).first()
    if row is None:
        # A stale cookie must not lock anyone out of public pages or /login: treat as public.
        return PUBLIC
    return _principal(row, csrf_token=row.csrf_token)


async def _check_csrf(request: Request, expected: str) -> None:
    sent = request.headers.get(CSRF_HEADER)
    if sent is None and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        form = await request.form()
        value = form.get(CSRF_FIELD)
        sent = value if isinstance(value, str) else None
    if not sent or not hmac.compare_digest(sent, expected):
        raise Forbidden(
            "this change came from a signed-in browser without its CSRF token: send the page's "
            f"token in the {CSRF_HEADER} header or the {CSRF_FIELD} form field (reload the page)"
        )


async def get_principal(request: Request, session: SessionDep) -> Principal:
    """Who is calling: bearer token first, then the browser session cookie, else the public.

    The look-ups run in a worker thread: on the event loop, a wait for a database connection
    would stop every other request.
    """
    header = request.headers.get("authorization")
    if header is not None:
        scheme, _, raw = header.partition(" ")
        if scheme.lower() != "bearer" or not raw.strip():
            raise Unauthorized("the Authorization header must be `Bearer <token>`")
        return await run_in_threadpool(_principal_from_token, request, session, raw.strip())
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        principal = await run_in_threadpool(_principal_from_cookie, request, session, cookie)
        if principal.csrf_token and request.method not in _SAFE_METHODS:
            await _check_csrf(request, principal.csrf_token)
        return principal
    return PUBLIC


PrincipalDep = Annotated[Principal, Depends(get_principal)]


class Allow:
    """A route's declaration of the roles that may call it; refuses everyone else with 403."""

    def __init__(self, *roles: Role) -> None:
        if not roles:
            raise ValueError("Allow() needs at least one role")
        self.roles = frozenset(roles)

    async def __call__(self, request: Request, principal: PrincipalDep) -> Principal:
        """Return the caller when their role is allowed, else refuse with 403."""
        if principal.role not in self.roles:
            needed = " or ".join(sorted(r.value for r in self.roles))
            hint = (
                "; send a token as `Authorization: Bearer <token>` or sign in at /login"
                if principal.is_public
                else ""
            )
            raise Forbidden(
                f"{request.method} {request.url.path} is for the {needed} role; "
                f"you are {principal.role.value}{hint}"
            )
        return principal
