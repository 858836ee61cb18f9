"""Patrols: the record of a walk without a buddy (conversations, themes heard, feedback).

The scheme's male allies walk or cycle in pairs through SE1 and talk to groups of women. A
patrol is planned like any walk (kind ``patrol``, no buddy); afterwards its officers record
how many conversations they held, which themes they heard (the reports' taxonomy, as in the
officer's survey) and their feedback. The walk's ward officers and their supervisors may
record it, on a page or through ``PUT /walks/{walk_id}/patrol``.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from pydantic import BaseModel, Field

from service import policy
from service.auth import EVERYONE, Allow, Principal
from service.db import SessionDep
from service.queries import audit
from service.queries import walks as queries
from service.taxonomy import CATEGORIES, SLUGS
from service.web import page, see_other

router = APIRouter(tags=["walks"])
Staff = Annotated[Principal, Depends(Allow(*policy.STAFF))]
# The page takes anyone so the public are sent to sign in; other roles are refused inside.
Anyone = Annotated[Principal, Depends(Allow(*EVERYONE))]
LONDON = ZoneInfo("Europe/London")


class PatrolRecord(BaseModel):
    """What a patrol's officers record afterwards."""

    conversations: int = Field(ge=0, le=100_000, description="conversations held with groups")
    themes: list[str] = Field(
        default_factory=list, description="category slugs heard (GET /surveys/options)"
    )
    feedback: str | None = Field(
        default=None, max_length=queries.PATROL_FEEDBACK_CHARS, description="officers' feedback"
    )


class PatrolPublic(BaseModel):
    """A patrol and its record."""

    id: uuid.UUID
    ward_code: str
    borough_code: str
    planned_start: datetime
    planned_end: datetime
    actual_start: datetime | None
    actual_end: datetime | None
    recorded: bool
    conversations: int | None
    patrol_themes: list[str]
    patrol_feedback: str | None
    synthetic: bool


def _require_patrol_officer(session: SessionDep, principal: Principal, walk_id: uuid.UUID) -> None:
    policy.require_full_view(principal, queries.walk_place(session, walk_id))


@router.put("/walks/{walk_id}/patrol", operation_id="record_patrol", response_model=PatrolPublic)
def put_patrol(
    session: SessionDep, principal: Staff, walk_id: uuid.UUID, body: PatrolRecord
) -> dict[str, Any]:
    """Record a patrol: conversations, themes heard, feedback (its ward officers, supervisors).

    A walk with a buddy is refused (409): its record is the surveys.
    """
    _require_patrol_officer(session, principal, walk_id)
    record = queries.record_patrol(session, walk_id, **body.model_dump())
    audit.record(session, principal, "record patrol", str(walk_id))
    session.commit()
    return record


def _form_page(
    request: Request,
    principal: Principal,
    record: dict[str, Any],
    *,
    values: dict[str, Any],
    errors: dict[str, str] | None = None,
) -> HTMLResponse:
    return page(
        request,
        "work_patrol.html",
        principal,
        title="Record the patrol",
        status_code=422 if errors else 200,
        back=(f"/work/walks/{record['id']}", "Back to the patrol"),
        record=record,
        when=_when(record),
        ward_name=record["ward_name"],
        themes=CATEGORIES,
        values=values,
        errors=errors or {},
        max_chars=queries.PATROL_FEEDBACK_CHARS,
    )


def _when(record: dict[str, Any]) -> str:
    """The patrol's day and times in London time, as walked or else as planned."""
    start = (record["actual_start"] or record["planned_start"]).astimezone(LONDON)
    end = (record["actual_end"] or record["planned_end"]).astimezone(LONDON)
    return f"{start:%A} {start.day} {start:%B %Y}, {start:%H:%M} to {end:%H:%M}"


def _read_form(form: Any) -> tuple[dict[str, Any], dict[str, str]]:
    """The values typed, and what is wrong with them by field id (empty when all is well)."""
    values: dict[str, Any] = {
        "conversations": str(form.get("conversations") or "").strip(),
        "themes": [str(t) for t in form.getlist("themes")],
        "feedback": str(form.get("feedback") or ""),
    }
    errors: dict[str, str] = {}
    raw = values["conversations"]
    if not raw:
        errors["conversations"] = "Enter how many conversations you held (0 if none)"
    elif not raw.isdigit():
        errors["conversations"] = (
            "Enter the number of conversations as a whole number, 0 or more, like 12"
        )
    elif int(raw) > 100_000:
        errors["conversations"] = "Enter a number of conversations under 100,000"
    unknown = sorted(set(values["themes"]) - SLUGS)
    if unknown:
        errors["themes"] = "Choose themes from the list shown"
    length = len(values["feedback"].strip())
    if length > queries.PATROL_FEEDBACK_CHARS:
        errors["feedback"] = (
            f"Feedback must be {queries.PATROL_FEEDBACK_CHARS:,} characters or fewer; "
            f"it is {length:,}"
        )
    return values, errors


@router.get(
    "/work/walks/{walk_id}/patrol",
    include_in_schema=False,
    response_class=HTMLResponse,
    response_model=None,
)
def patrol_form(
    request: Request, session: SessionDep, principal: Anyone, walk_id: uuid.UUID
) -> HTMLResponse | RedirectResponse:
    """The patrol record form, filled with what was recorded before."""
    if principal.is_public:
        return RedirectResponse(f"/login?next=/work/walks/{walk_id}/patrol", status_code=303)
    _require_patrol_officer(session, principal, walk_id)
    record = queries.patrol_record(session, walk_id)
    values: dict[str, Any] = {
        "conversations": "" if record["conversations"] is None else str(record["conversations"]),
        "themes": record["patrol_themes"],
        "feedback": record["patrol_feedback"] or "",
    }
    return _form_page(request, principal, record, values=values)


@router.post(
    "/work/walks/{walk_id}/patrol",
    include_in_schema=False,
    response_class=HTMLResponse,
    response_model=None,
)
async def patrol_submit(
    request: Request, session: SessionDep, principal: Staff, walk_id: uuid.UUID
) -> HTMLResponse | RedirectResponse:
    """Store the record, or show the form again with what to correct (nothing stored)."""
    _require_patrol_officer(session, principal, walk_id)
    record = queries.patrol_record(session, walk_id)
    values, errors = _read_form(await request.form())
    if errors:
        return _form_page(request, principal, record, values=values, errors=errors)
    queries.record_patrol(
        session,
        walk_id,
        conversations=int(values["conversations"]),
        themes=values["themes"],
        feedback=values["feedback"],
    )
    audit.record(session, principal, "record patrol", str(walk_id))
    session.commit()
    return see_other(f"/work/walks/{walk_id}?done=patrol")
