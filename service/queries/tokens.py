"""Tokens and browser sessions in the database: create, scope, list, revoke, sign in.

Shared by the CLI (``walktalk tokens …``) and the supervisors' ``/tokens`` routes so both
apply the same scope rules.
"""

from __future__ import annotations

import re
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Row, text
from sqlalchemy.orm import Session

from boundaries.bundled import find_command_unit
from service.auth import Role, keyed_hash, new_secret
from service.errors import InvalidInput, NotFound, Unauthorized
from service.queries.wards import borough_codes, require_active_ward_set

DEFAULT_LIFETIME = timedelta(days=90)
MAX_LIFETIME = timedelta(days=366)
_DURATION = re.compile(r"^\s*(\d+)\s*([hdw])\s*$")


@dataclass(frozen=True)
class TokenScope:
    """What a token may see: wards (officers) and boroughs (everyone)."""

    ward_codes: tuple[str, ...]
    borough_codes: tuple[str, ...]


@dataclass(frozen=True)
class TokenInfo:
    """A stored token as listed (never the token itself)."""

    id: uuid.UUID
    name: str
    role: str
    ward_codes: tuple[str, ...]
    borough_codes: tuple[str, ...]
    created_at: datetime
    created_by: str
    expires_at: datetime
    revoked_at: datetime | None
    officer_id: uuid.UUID | None = None

    @property
    def state(self) -> str:
        """``active``, ``revoked`` or ``expired``."""
        if self.revoked_at is not None:
            return "revoked"
        return "expired" if self.expires_at <= datetime.now(UTC) else "active"


def parse_expiry(value: str | None, *, now: datetime | None = None) -> datetime:
    """When a token expires: ``90d``, ``12h``, ``2w`` from now, or an ISO date/time.

    >>> parse_expiry("1d", now=datetime(2026, 1, 1, tzinfo=UTC)).isoformat()
    '2026-01-02T00:00:00+00:00'
    """
    now = now or datetime.now(UTC)
    if value is None:
        return now + DEFAULT_LIFETIME
    match = _DURATION.match(value)
    if match:
        amount, unit = int(match.group(1)), match.group(2)
        expires = (
            now
            + {
                "h": timedelta(hours=amount),
                "d": timedelta(days=amount),
                "w": timedelta(weeks=amount),
            }[unit]
        )
    else:
        try:
            expires = datetime.fromisoformat(value)
        except ValueError:
            raise InvalidInput(
                f"expiry {value!r} is not understood: use e.g. 90d, 12h, 2w or 2027-03-31"
            ) from None
        if expires.tzinfo is None:
            expires = expires.replace(tzinfo=UTC)
    if expires <= now:
        raise InvalidInput(f"expiry {value!r} is in the past")
    if expires - now > MAX_LIFETIME:
        raise InvalidInput(f"expiry {value!r} is more than a year away: tokens must be renewed")
    return expires


def _boroughs(session: Session, given: list[str]) -> tuple[str, ...]:
    known = borough_codes(session)
    by_name = {name.lower(): code for code, name in known.items()}
    codes = []
    for value in given:
        code = value if value in known else by_name.get(value.strip().lower())
        if code is None:
            raise InvalidInput(
                f"unknown borough {value!r}: use a GSS code such as E09000022 (Lambeth) or a "
                "borough name; load boundaries first with `walktalk wards bundled`"
            )
        codes.append(code)
    return tuple(sorted(set(codes)))


def resolve_scope(
    session: Session,
    role: Role,
    *,
    wards: list[str] | None = None,
    boroughs: list[str] | None = None,
    command_unit: str | None = None,
) -> TokenScope:
    """Check and normalise what a new token may see, by role (DESIGN.md's table)."""
    wards, boroughs = list(wards or []), list(boroughs or [])
    if role is Role.public:
        raise InvalidInput("the public need no token: requests without one are public")
    if role is Role.officer:
        if not wards or boroughs or command_unit:
            raise InvalidInput("an officer token is scoped to wards: give one or more --ward CODE")
        active = require_active_ward_set(session)
        rows = session.execute(
            text(
                "SELECT code, borough_code FROM wards "
                "WHERE ward_set_id = :set_id AND code = ANY(:codes)"
            ),
            {"set_id": active.id, "codes": wards},
        ).all()
        missing = sorted(set(wards) - {r.code for r in rows})
        if missing:
            raise InvalidInput(
                f"unknown ward code(s) {', '.join(missing)} in the active ward set "
                f"{active.name!r} (see GET /wards)"
            )
        return TokenScope(tuple(sorted(set(wards))), tuple(sorted({r.borough_code for r in rows})))
    if wards:
        raise InvalidInput(f"a {role.value} token is scoped to boroughs, not wards")
    if command_unit:
        if role is not Role.supervisor:
            raise InvalidInput("only supervisor tokens are scoped to a command unit")
        try:
            unit = find_command_unit(command_unit)
        except (KeyError, ValueError) as exc:
            raise InvalidInput(str(exc).strip("'\"")) from None
        boroughs = [*boroughs, *unit.borough_codes]
    if not boroughs:
        hint = (
            "--command-unit NAME or --borough CODE" if role is Role.supervisor else "--borough CODE"
        )
        raise InvalidInput(f"a {role.value} token needs a scope: give {hint}")
    return TokenScope((), _boroughs(session, boroughs))


def create_token(
    session: Session,
    *,
    key: bytes,
    role: Role,
    name: str,
    scope: TokenScope,
    expires_at: datetime,
    created_by: str,
    officer_id: uuid.UUID | None = None,
) -> tuple[TokenInfo, str]:
    """Store a new token's keyed hash; return its listing and the token (shown once)."""
    if not name.strip():
        raise InvalidInput("a token needs a --name saying who holds it")
    raw = new_secret()
    token_id = uuid.uuid4()
    session.execute(
        text(
            "INSERT INTO api_tokens (id, name, role, ward_codes, borough_codes, token_hash, "
            "  created_by, expires_at, officer_id) "
            "VALUES (:id, :name, :role, :wards, :boroughs, :hash, :by, :expires, :officer)"
        ),
        {
            "id": token_id,
            "name": name.strip(),
            "role": role.value,
            "wards": list(scope.ward_codes),
            "boroughs": list(scope.borough_codes),
            "hash": keyed_hash(key, raw),
            "by": created_by,
            "expires": expires_at,
            "officer": officer_id,
        },
    )
    return get_token(session, token_id), raw


_SELECT = (
    "SELECT id, name, role, ward_codes, borough_codes, created_at, created_by, expires_at, "
    "revoked_at, officer_id FROM api_tokens "
)


def _info(row: Row[Any]) -> TokenInfo:
    return TokenInfo(
        id=row.id,
        name=row.name,
        role=row.role,
        ward_codes=tuple(row.ward_codes),
        borough_codes=tuple(row.borough_codes),
        created_at=row.created_at,
        created_by=row.created_by,
        expires_at=row.expires_at,
        revoked_at=row.revoked_at,
        officer_id=row.officer_id,
    )


def get_token(session: Session, token_id: uuid.UUID) -> TokenInfo:
    """One token's listing."""
    row = session.execute(text(_SELECT + "WHERE id = :id"), {"id": token_id}).first()
    if row is None:
        raise NotFound(f"no token with id {token_id}")
    return _info(row)


def list_tokens(session: Session, *, within: tuple[str, ...] | None = None) -> list[TokenInfo]:
    """Tokens, newest first; ``within`` keeps those scoped inside these boroughs."""
    where = "WHERE borough_codes <@ :within " if within is not None else ""
    rows = session.execute(
        text(_SELECT + where + "ORDER BY created_at DESC"), {"within": list(within or [])}
    ).all()
    return [_info(r) for r in rows]


def revoke_token(session: Session, token_id: uuid.UUID) -> TokenInfo:
    """Revoke a token now (idempotent) and end its browser sessions."""
    session.execute(
        text("UPDATE api_tokens SET revoked_at = coalesce(revoked_at, now()) WHERE id = :id"),
        {"id": token_id},
    )
    session.execute(text("DELETE FROM browser_sessions WHERE token_id = :id"), {"id": token_id})
    return get_token(session, token_id)


def start_browser_session(
    session: Session, *, key: bytes, raw_token: str, hours: int
) -> tuple[str, str]:
    """Exchange a bearer token for a browser session; return (cookie value, CSRF token)."""
    row = session.execute(
        text("SELECT id, revoked_at, expires_at FROM api_tokens WHERE token_hash = :hash"),
        {"hash": keyed_hash(key, raw_token.strip())},
    ).first()
    if row is None or row.revoked_at is not None or row.expires_at <= datetime.now(UTC):
        raise Unauthorized(
            "that token is unknown, revoked or expired: check it was pasted whole, or ask a "
            "supervisor for a new one"
        )
    cookie, csrf = new_secret(), secrets.token_urlsafe(32)
    session.execute(
        text(
            "INSERT INTO browser_sessions (id_hash, token_id, csrf_token, expires_at) "
            "VALUES (:hash, :token, :csrf, now() + make_interval(hours => :hours))"
        ),
        {"hash": keyed_hash(key, cookie), "token": row.id, "csrf": csrf, "hours": hours},
    )
    return cookie, csrf


def end_browser_session(session: Session, *, key: bytes, cookie: str) -> None:
    """Forget a browser session (sign out)."""
    session.execute(
        text("DELETE FROM browser_sessions WHERE id_hash = :hash"),
        {"hash": keyed_hash(key, cookie)},
    )
