"""Supervisors' queues (``/admin/safeguarding``, ``/admin/moderation``): pages over the API's rules.

The safeguarding queue lists the disclosures of the supervisor's boroughs still open, worst
first (overdue, due soon, waiting for the reference, awaiting review); a flag's page closes it
with the same ``queries.safeguarding.review`` as ``POST /safeguarding/{walk_id}/review``. The
moderation queue shows public reports awaiting a decision; a report's page publishes it, rejects
it with a reason or publishes it without its text (``queries.reports.moderate``, as ``POST
/moderation/{report_id}``) and goes on to the next report.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, Response

from service import policy
from service.auth import EVERYONE, Allow, Principal, Role
from service.db import SessionDep
from service.errors import Conflict, Forbidden, NotFound
from service.queries import audit, queues, safeguarding
from service.queries import reports as report_queries
from service.queries.wards import require_active_ward_set
from service.routers.maps import ASSET_URL, page_tiles
from service.routers.work import london_time
from service.taxonomy import CATEGORIES
from service.web import page, see_other

router = APIRouter(tags=["admin"], include_in_schema=False)
# Pages take anyone so a signed-out supervisor is sent to sign in; others are refused inside.
Anyone = Annotated[Principal, Depends(Allow(*EVERYONE))]
FormText = Annotated[str, Form()]

LABELS = {c.slug: c.label for c in CATEGORIES}
#: The moderation page's actions: (value, label, API action, remove the text).
ACTIONS = {
    "publish": ("Publish it as written", "publish", False),
    "publish_without_text": ("Publish the place and category, without the text", "publish", True),
    "reject": ("Reject it (it will not be shown)", "hide", False),
}
STATES = {
    "overdue": ("Overdue", "warning"),
    "due": ("Due soon", "due"),
    "waiting": ("Waiting for the reference", ""),
    "review": ("Ready to review", ""),
}


def _supervisor_or_sign_in(principal: Principal, path: str) -> Response | None:
    """Send a signed-out person to sign in; refuse anyone but a supervisor."""
    if principal.is_public:
        return see_other(f"/login?next={path}")
    if principal.role is not Role.supervisor:
        raise Forbidden("these pages are for supervisors only")
    return None


def _hours(request: Request) -> int:
    hours: int = request.app.state.settings.safeguarding_due_soon_hours
    return hours


# -- safeguarding ---------------------------------------------------------------------------


@router.get("/admin/safeguarding", response_class=HTMLResponse, response_model=None)
def safeguarding_queue(
    request: Request, session: SessionDep, principal: Anyone, done: str = ""
) -> Response:
    """Open disclosures of the supervisor's boroughs, overdue and due soon first."""
    if (gone := _supervisor_or_sign_in(principal, "/admin/safeguarding")) is not None:
        return gone
    flags = queues.safeguarding_queue(session, principal.borough_codes, _hours(request))
    reviewed = queues.recently_reviewed(session, principal.borough_codes)
    audit.record(session, principal, "list safeguarding flags", f"{len(flags)} open")
    session.commit()
    return page(
        request,
        "admin_safeguarding.html",
        principal,
        title="Safeguarding flags",
        flags=flags,
        reviewed=reviewed,
        states=STATES,
        london=london_time,
        soon_hours=_hours(request),
        email_on=request.app.state.settings.email_on,
        done=done == "reviewed",
    )


def _flag_or_404(
    request: Request, session: SessionDep, principal: Principal, walk_id: uuid.UUID
) -> dict[str, Any]:
    record = queues.flag(session, walk_id, _hours(request))
    if record is None or not record["disclosed"]:
        raise NotFound(f"walk {walk_id} has no safeguarding flag")
    policy.require_boroughs(principal, [record["borough_code"]], "that walk")
    return record


def _flag_page(
    request: Request,
    principal: Principal,
    record: dict[str, Any],
    *,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    return page(
        request,
        "admin_safeguarding_item.html",
        principal,
        title="Safeguarding flag",
        back=("/admin/safeguarding", "Safeguarding flags"),
        flag=record,
        states=STATES,
        london=london_time,
        errors=errors or {},
        status_code=status_code,
    )


@router.get("/admin/safeguarding/{walk_id}", response_class=HTMLResponse, response_model=None)
def safeguarding_flag(
    request: Request, session: SessionDep, principal: Anyone, walk_id: uuid.UUID
) -> Response:
    """One flag: its walk's date, ward and officer, the reference, and the review form."""
    if (gone := _supervisor_or_sign_in(principal, f"/admin/safeguarding/{walk_id}")) is not None:
        return gone
    return _flag_page(request, principal, _flag_or_404(request, session, principal, walk_id))


@router.post("/admin/safeguarding/{walk_id}", response_class=HTMLResponse, response_model=None)
def review_flag(
    request: Request,
    session: SessionDep,
    principal: Anyone,
    walk_id: uuid.UUID,
    checked: FormText = "",
) -> Response:
    """Close a flag once the supervisor confirms she has checked its report (as the API)."""
    if principal.role is not Role.supervisor:
        raise Forbidden("only supervisors review safeguarding flags")
    record = _flag_or_404(request, session, principal, walk_id)
    errors: dict[str, str] = {}
    if record["reviewed_at"] is not None:
        errors["checked"] = "This flag was reviewed already; go back to the queue"
    elif not record["reference"]:
        errors["checked"] = (
            "This flag has no report reference yet: the officer must add it before it can be "
            "reviewed"
        )
    elif checked != "yes":
        errors["checked"] = (
            "Tick the box to confirm you have checked the report with this reference"
        )
    if errors:
        return _flag_page(request, principal, record, errors=errors, status_code=422)
    try:
        safeguarding.review(session, walk_id, by=principal.name)
    except Conflict as problem:
        return _flag_page(
            request, principal, record, errors={"checked": str(problem)}, status_code=422
        )
    audit.record(session, principal, "review safeguarding", str(walk_id))
    session.commit()
    return see_other("/admin/safeguarding?done=reviewed")


# -- moderation -----------------------------------------------------------------------------


@router.get("/admin/moderation", response_class=HTMLResponse, response_model=None)
def moderation_queue(
    request: Request, session: SessionDep, principal: Anyone, done: str = ""
) -> Response:
    """Public reports of the supervisor's boroughs waiting for a decision, oldest first."""
    if (gone := _supervisor_or_sign_in(principal, "/admin/moderation")) is not None:
        return gone
    reports, total = queues.pending_reports(session, principal.borough_codes)
    audit.record(session, principal, "list reports to moderate", f"{total} pending")
    session.commit()
    return page(
        request,
        "admin_moderation.html",
        principal,
        title="Reports to moderate",
        reports=reports,
        total=total,
        labels=LABELS,
        london=london_time,
        done=done if done in {"published", "hidden"} else "",
    )


def _report_or_404(
    session: SessionDep, principal: Principal, report_id: uuid.UUID
) -> dict[str, Any]:
    record = queues.report(session, report_id)
    if record is None:
        raise NotFound(f"no report {report_id}")
    policy.require_boroughs(principal, [record["borough_code"] or "none"], "that report")
    return record


def _report_page(
    request: Request,
    session: SessionDep,
    principal: Principal,
    record: dict[str, Any],
    *,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
    done: str = "",
) -> HTMLResponse:
    tiles = page_tiles(request, session)
    _, total = queues.pending_reports(session, principal.borough_codes, limit=1)
    return page(
        request,
        "admin_moderation_item.html",
        principal,
        title="Moderate a report",
        back=("/admin/moderation", "Reports to moderate"),
        report=record,
        labels=LABELS,
        london=london_time,
        actions=ACTIONS,
        total=total,
        values=values or {},
        errors=errors or {},
        status_code=status_code,
        done=done,
        config={
            "tiles": tiles.page_config() if tiles else None,
            "attribution": require_active_ward_set(session).attribution,
            "point": [record["lat"], record["lon"]],
        },
        asset_url=ASSET_URL,
    )


@router.get("/admin/moderation/{report_id}", response_class=HTMLResponse, response_model=None)
def moderation_item(
    request: Request, session: SessionDep, principal: Anyone, report_id: uuid.UUID, done: str = ""
) -> Response:
    """One report: its point on a small map, category, time and text, and the decision form."""
    if (gone := _supervisor_or_sign_in(principal, f"/admin/moderation/{report_id}")) is not None:
        return gone
    record = _report_or_404(session, principal, report_id)
    shown = done if done in {"published", "hidden"} else ""
    return _report_page(request, session, principal, record, done=shown)


@router.post("/admin/moderation/{report_id}", response_class=HTMLResponse, response_model=None)
def moderate(
    request: Request,
    session: SessionDep,
    principal: Anyone,
    report_id: uuid.UUID,
    action: FormText = "",
    reason: FormText = "",
) -> Response:
    """Publish, publish without the text, or reject with a reason; then the next report."""
    if principal.role is not Role.supervisor:
        raise Forbidden("only supervisors moderate reports")
    record = _report_or_404(session, principal, report_id)
    values = {"action": action, "reason": reason.strip()}
    errors: dict[str, str] = {}
    if record["status"] != "pending":
        errors["action-publish"] = "This report was moderated already; go back to the queue"
    elif action not in ACTIONS:
        errors["action-publish"] = "Choose what to do with the report"
    elif action == "reject" and len(values["reason"]) < 3:
        errors["reason"] = "Enter why the report is rejected, for example: names a person"
    if len(values["reason"]) > 500:
        errors["reason"] = "The reason must be 500 characters or fewer"
    if errors:
        return _report_page(
            request, session, principal, record, values=values, errors=errors, status_code=422
        )
    _, api_action, redact = ACTIONS[action]
    status = "published" if api_action == "publish" else "hidden"
    # The API asks every decision for a reason; a publication without one gets a plain one.
    reason_given = values["reason"] or (
        "published without its text" if redact else "published as written"
    )
    report_queries.moderate(
        session,
        report_id,
        status=status,
        reason=reason_given,
        redact_text=redact,
        moderator=principal.name,
        boroughs=principal.borough_codes,
    )
    audit.record(session, principal, f"moderate report: {status}", str(report_id))
    session.commit()
    following = queues.next_pending(session, principal.borough_codes)
    if following is None:
        return see_other(f"/admin/moderation?done={status}")
    return see_other(f"/admin/moderation/{following}?done={status}")
