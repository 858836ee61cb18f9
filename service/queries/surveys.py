"""Surveys of a walk: the buddy's baseline, the officer's and the buddy's answers afterwards.

The buddy answers on her own phone through a one-time link (a URL and a QR code). Only the
secret's keyed hash is stored, so a copy of the database cannot be used to answer in her name;
the secret itself is derived from the app's secret key and the link's id, so the officer's page
can show the same link again while it is open. A link works once and expires after a few days.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from geo.reports import clean_text
from service.auth import keyed_hash
from service.errors import Conflict, Gone, InvalidInput, NotFound
from service.taxonomy import ACTION_SLUGS, SLUGS

NOTES_LIMIT = 1000
# A visible prefix tells a survey secret from an API token (``wt_``) in a leak report.
SURVEY_PREFIX = "sv_"


def _checked_slugs(values: list[str], allowed: frozenset[str], what: str) -> list[str]:
    unknown = sorted(set(values) - allowed)
    if unknown:
        raise InvalidInput(
            f"unknown {what} {', '.join(map(repr, unknown))}: "
            f"use any of {', '.join(sorted(allowed))}"
        )
    return sorted(set(values))


def _checked_notes(value: str | None, what: str) -> str | None:
    cleaned = clean_text(value)
    if cleaned is not None and len(cleaned) > NOTES_LIMIT:
        raise InvalidInput(
            f"{what} is {len(cleaned):,} characters long: keep it to {NOTES_LIMIT:,}"
        )
    return cleaned


def _walk_area(session: Session, walk_id: uuid.UUID) -> tuple[str, str]:
    row = session.execute(
        text("SELECT ward_code, borough_code FROM walks WHERE id = :id"), {"id": walk_id}
    ).first()
    if row is None:
        raise NotFound(f"no walk {walk_id}")
    return row.ward_code, row.borough_code


def record_baseline(session: Session, walk_id: uuid.UUID, *, safety: int) -> dict[str, Any]:
    """Record how safe the buddy feels on this route before the walk (1 to 5).

    Asked again (a walk started late, a misheard answer), the newer answer replaces the older
    until the buddy has answered her own survey after the walk, when the pair is fixed.
    """
    answered = session.execute(
        text("SELECT 1 FROM buddy_surveys WHERE walk_id = :id"), {"id": walk_id}
    ).first()
    if answered:
        raise Conflict("the buddy has answered her survey after the walk: the baseline is fixed")
    row = session.execute(
        text(
            "UPDATE walks SET baseline_safety = :safety, baseline_recorded_at = now() "
            "WHERE id = :id RETURNING baseline_safety, baseline_recorded_at"
        ),
        {"safety": safety, "id": walk_id},
    ).one()
    return {
        "walk_id": walk_id,
        "safety": row.baseline_safety,
        "recorded_at": row.baseline_recorded_at,
    }


def record_officer_survey(
    session: Session,
    walk_id: uuid.UUID,
    *,
    walk_useful: int,
    themes: list[str],
    actions: list[str],
    follow_up_walk: bool,
    notes: str | None,
    by: str,
) -> dict[str, Any]:
    """Store the officer's survey for a walk (once: a second one is a conflict)."""
    ward, borough = _walk_area(session, walk_id)
    row = session.execute(
        text(
            "INSERT INTO officer_surveys (walk_id, ward_code, borough_code, walk_useful, themes, "
            "actions, follow_up_walk, notes, submitted_by) VALUES (:walk, :ward, :borough, "
            ":useful, :themes, :actions, :follow_up, :notes, :by) "
            "ON CONFLICT (walk_id) DO NOTHING RETURNING submitted_at"
        ),
        {
            "walk": walk_id,
            "ward": ward,
            "borough": borough,
            "useful": walk_useful,
            "themes": _checked_slugs(themes, SLUGS, "theme"),
            "actions": _checked_slugs(actions, ACTION_SLUGS, "action"),
            "follow_up": follow_up_walk,
            "notes": _checked_notes(notes, "notes"),
            "by": by,
        },
    ).first()
    if row is None:
        raise Conflict(f"the officer's survey for walk {walk_id} was already submitted")
    return officer_survey(session, walk_id) or {}


def officer_survey(session: Session, walk_id: uuid.UUID) -> dict[str, Any] | None:
    """The officer's survey of a walk, or None."""
    row = session.execute(
        text(
            "SELECT walk_useful, themes, actions, follow_up_walk, notes, submitted_by, "
            "submitted_at FROM officer_surveys WHERE walk_id = :id"
        ),
        {"id": walk_id},
    ).first()
    return dict(row._mapping) if row else None


def buddy_survey(session: Session, walk_id: uuid.UUID) -> dict[str, Any] | None:
    """The buddy's answers after a walk, or None."""
    row = session.execute(
        text(
            "SELECT felt_safer, police_confidence, would_recommend, themes, comments, "
            "submitted_on FROM buddy_surveys WHERE walk_id = :id"
        ),
        {"id": walk_id},
    ).first()
    return dict(row._mapping) if row else None


def walk_surveys(session: Session, walk_id: uuid.UUID) -> dict[str, Any]:
    """Everything answered about one walk, for its ward's officers and supervisors."""
    baseline = session.execute(
        text("SELECT baseline_safety, baseline_recorded_at FROM walks WHERE id = :id"),
        {"id": walk_id},
    ).one()
    link = session.execute(
        text(
            "SELECT count(*) AS made, bool_or(used_at IS NOT NULL) AS used, "
            "max(expires_at) AS expires_at FROM survey_links WHERE walk_id = :id"
        ),
        {"id": walk_id},
    ).one()
    return {
        "walk_id": walk_id,
        "baseline": {
            "safety": baseline.baseline_safety,
            "recorded_at": baseline.baseline_recorded_at,
        }
        if baseline.baseline_safety is not None
        else None,
        "officer": officer_survey(session, walk_id),
        "buddy": buddy_survey(session, walk_id),
        "buddy_link": {
            "links_made": link.made,
            "used": bool(link.used),
            "expires_at": link.expires_at,
        },
    }


@dataclass(frozen=True)
class SurveyLink:
    """A new one-time link: the secret is here once and nowhere else."""

    walk_id: uuid.UUID
    secret: str
    expires_at: datetime


def create_survey_link(
    session: Session, walk_id: uuid.UUID, *, key: bytes, days: int, by: str
) -> SurveyLink:
    """Make the buddy's one-time survey link for a walk.

    Making a new link retires any earlier unused one, so only the newest QR code works.
    """
    link_id = uuid.uuid4()
    if buddy_survey(session, walk_id) is not None:
        raise Conflict("the buddy has already answered her survey for this walk")
    _, borough = _walk_area(session, walk_id)
    session.execute(
        text(
            "UPDATE survey_links SET expires_at = least(expires_at, now()) "
            "WHERE walk_id = :id AND used_at IS NULL"
        ),
        {"id": walk_id},
    )
    secret = link_secret(key, link_id)
    expires_at = datetime.now(UTC) + timedelta(days=days)
    session.execute(
        text(
            "INSERT INTO survey_links (id, walk_id, borough_code, secret_hash, created_by, "
            "expires_at) VALUES (:id, :walk, :borough, :hash, :by, :expires)"
        ),
        {
            "id": link_id,
            "walk": walk_id,
            "borough": borough,
            "hash": keyed_hash(key, secret),
            "by": by,
            "expires": expires_at,
        },
    )
    return SurveyLink(walk_id=walk_id, secret=secret, expires_at=expires_at)


def link_secret(key: bytes, link_id: uuid.UUID) -> str:
    """A link's secret: an HMAC of its id under the app's key, so it is never stored in clear.

    Whoever holds the key can recompute it (the officer's page shows the same QR code again);
    a copy of the database alone, holding only ids and keyed hashes, cannot.
    """
    mac = hmac.new(key, f"survey-link:{link_id}".encode(), hashlib.sha256).digest()
    return SURVEY_PREFIX + base64.urlsafe_b64encode(mac).rstrip(b"=").decode()


@dataclass(frozen=True)
class LinkState:
    """The newest survey link of a walk, as the officer's page shows it."""

    created_at: datetime
    expires_at: datetime
    used_at: datetime | None
    answered: bool
    #: The secret while the link still works (None once used, expired or not recomputable).
    secret: str | None

    @property
    def expired(self) -> bool:
        """Whether the link ran out (or was replaced) before it was used."""
        return self.used_at is None and self.expires_at <= datetime.now(UTC)


def current_link(session: Session, walk_id: uuid.UUID, *, key: bytes) -> LinkState | None:
    """The walk's newest survey link and whether it still works, or None if none was made.

    A link made before secrets were derived (a random one) cannot be shown again: its
    ``secret`` is None and the officer makes a new one.
    """
    row = session.execute(
        text(
            "SELECT id, secret_hash, created_at, expires_at, used_at FROM survey_links "
            "WHERE walk_id = :id ORDER BY created_at DESC, expires_at DESC LIMIT 1"
        ),
        {"id": walk_id},
    ).first()
    if row is None:
        return None
    answered = buddy_survey(session, walk_id) is not None
    secret: str | None = None
    if not answered and row.used_at is None and row.expires_at > datetime.now(UTC):
        derived = link_secret(key, row.id)
        if hmac.compare_digest(keyed_hash(key, derived), bytes(row.secret_hash)):
            secret = derived
    return LinkState(
        created_at=row.created_at,
        expires_at=row.expires_at,
        used_at=row.used_at,
        answered=answered,
        secret=secret,
    )


@dataclass(frozen=True)
class OpenLink:
    """A survey link that may still be answered."""

    id: uuid.UUID
    walk_id: uuid.UUID
    ward_code: str
    borough_code: str
    expires_at: datetime


def open_survey_link(session: Session, secret: str, *, key: bytes, lock: bool = False) -> OpenLink:
    """The walk a survey link belongs to, if the link still works.

    Raises
    ------
    NotFound
        For a secret that was never issued (a mistyped or cut-off link).
    Gone
        For a link that was used or has expired (410: it will never work again).

    """
    row = session.execute(
        text(
            "SELECT l.id, l.walk_id, w.ward_code, w.borough_code, l.expires_at, l.used_at "
            "FROM survey_links l JOIN walks w ON w.id = l.walk_id WHERE l.secret_hash = :hash"
            + (" FOR UPDATE OF l" if lock else "")
        ),
        {"hash": keyed_hash(key, secret)},
    ).first()
    if row is None:
        raise NotFound("this survey link is not known: check that the whole link was copied")
    if row.used_at is not None:
        raise Gone("this survey link has been used already: thank you, your answers are in")
    if row.expires_at <= datetime.now(UTC):
        raise Gone("this survey link has expired: ask your officer for a new one")
    return OpenLink(
        id=row.id,
        walk_id=row.walk_id,
        ward_code=row.ward_code,
        borough_code=row.borough_code,
        expires_at=row.expires_at,
    )


def record_buddy_survey(
    session: Session,
    secret: str,
    *,
    key: bytes,
    felt_safer: int,
    police_confidence: int,
    would_recommend: bool,
    themes: list[str],
    comments: str | None,
) -> uuid.UUID:
    """Store the buddy's answers through her one-time link, and use the link up.

    The link's row is locked, so two submissions at once cannot both get in.
    """
    link = open_survey_link(session, secret, key=key, lock=True)
    session.execute(
        text(
            "INSERT INTO buddy_surveys (walk_id, ward_code, borough_code, felt_safer, "
            "police_confidence, would_recommend, themes, comments) VALUES (:walk, :ward, "
            ":borough, :safer, :confidence, :recommend, :themes, :comments)"
        ),
        {
            "walk": link.walk_id,
            "ward": link.ward_code,
            "borough": link.borough_code,
            "safer": felt_safer,
            "confidence": police_confidence,
            "recommend": would_recommend,
            "themes": _checked_slugs(themes, SLUGS, "theme"),
            "comments": _checked_notes(comments, "your comments"),
        },
    )
    session.execute(text("UPDATE survey_links SET used_at = now() WHERE id = :id"), {"id": link.id})
    return link.walk_id
