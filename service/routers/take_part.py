"""Taking part: the public's request to walk with an officer, and the officer's pages for it.

``/take-part`` needs no account: her ward (picked by name, or found from a tap on the map,
a point that is used for the lookup and never stored), when she could walk, and how to reach
her with her consent. The request is routed by place to the ward's officers, who accept it
(she becomes a buddy with a pseudonymous code) or decline it with a reason.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from geo.darkness import LONDON
from service import policy
from service.auth import EVERYONE, Allow, Principal
from service.db import SessionDep
from service.errors import Conflict, OutsideServiceArea, TooManyRequests
from service.queries import audit
from service.queries import participation as queries
from service.queries.wards import lookup_ward, require_active_ward_set
from service.ratelimit import client_address
from service.routers.maps import ASSET_URL, page_tiles
from service.web import page, see_other

router = APIRouter(tags=["take part"], include_in_schema=False)
# Pages take anyone so a signed-out officer is sent to sign in; staff pages refuse by role inside.
Anyone = Annotated[Principal, Depends(Allow(*EVERYONE))]
FormText = Annotated[str, Form()]

CONTACT_MAX = 200
DECLINE_REASONS = {
    "outside": "Outside our wards",
    "no_officer": "No officer available",
    "unreachable": "Could not reach her",
    "other": "Other",
}


def _form_page(
    request: Request,
    session: SessionDep,
    principal: Principal,
    *,
    values: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    tiles = page_tiles(request, session)
    config = {
        "tiles": tiles.page_config() if tiles else None,
        "attribution": require_active_ward_set(session).attribution,
    }
    return page(
        request,
        "take_part.html",
        principal,
        title="Take part in a walk",
        status_code=status_code,
        groups=queries.ward_choices(session),
        availability=queries.AVAILABILITY,
        months=request.app.state.settings.retention_months,
        values=values or {"availability": []},
        errors=errors or {},
        config=config,
        asset_url=ASSET_URL,
    )


@router.get("/take-part", response_class=HTMLResponse)
def take_part_form(request: Request, session: SessionDep, principal: Anyone) -> HTMLResponse:
    """The public form to ask to walk your route with a ward officer; no account needed."""
    return _form_page(request, session, principal)


def _ward_of(session: SessionDep, form: dict[str, Any]) -> tuple[queries.Ward | None, str]:
    """The ward she chose, else the one her tapped point falls in; or why there is none."""
    if form["ward"]:
        ward = queries.find_ward(session, form["ward"])
        return ward, "" if ward else "Choose your ward from the list"
    lon, lat = form["lon"], form["lat"]
    if not (lon and lat):
        return None, "Choose your ward from the list, or tap the map where you live or work"
    try:
        hit = lookup_ward(session, float(lon), float(lat))
    except (ValueError, OutsideServiceArea):
        return None, (
            "The place you tapped is outside the wards this scheme covers: tap inside a "
            "purple outline, or choose your ward from the list"
        )
    return queries.find_ward(session, hit.code), ""


def _checked(
    session: SessionDep, form: dict[str, Any]
) -> tuple[queries.Ward | None, dict[str, str]]:
    """Her ward, and a message per field that is wrong (keyed by the field's id)."""
    errors: dict[str, str] = {}
    ward, why = _ward_of(session, form)
    if ward is None:
        errors["ward"] = why
    if not form["availability"]:
        errors["availability-early_morning"] = "Choose at least one time when you could walk"
    elif set(form["availability"]) - set(queries.AVAILABILITY):
        errors["availability-early_morning"] = "Choose from early morning, evening or weekend"
    if not form["contact"]:
        errors["contact"] = "Enter a phone number or email address so an officer can reach you"
    elif len(form["contact"]) > CONTACT_MAX:
        errors["contact"] = f"Enter a phone number or email address of at most {CONTACT_MAX} "
        errors["contact"] += "characters"
    if not form["consent"]:
        errors["consent"] = "Tick the box to let us keep your contact details, or we cannot call"
        errors["consent"] += " you to arrange the walk"
    return ward, errors


def _limit(request: Request) -> None:
    """Count one request from this connection (its address is hashed, never kept)."""
    settings = request.app.state.settings
    peer = request.client.host if request.client else None
    forwarded = request.headers.get("x-forwarded-for")
    request.app.state.take_part_limiter.check(
        client_address(peer, forwarded, settings.trusted_proxies)
    )


@router.post("/take-part", response_class=HTMLResponse, response_model=None)
def take_part(
    request: Request,
    session: SessionDep,
    principal: Anyone,
    ward: FormText = "",
    lon: FormText = "",
    lat: FormText = "",
    availability: Annotated[list[str], Form()] = [],  # noqa: B006 (FastAPI copies defaults)
    contact: FormText = "",
    consent: FormText = "",
) -> HTMLResponse | RedirectResponse:
    """Store her request (ward, availability) and, apart, her contact; then her reference."""
    form: dict[str, Any] = {
        "ward": ward.strip(),
        "lon": lon.strip(),
        "lat": lat.strip(),
        "availability": availability,
        "contact": contact.strip(),
        "consent": consent == "yes",
    }
    chosen, errors = _checked(session, form)
    if not errors:
        try:
            _limit(request)
        except TooManyRequests:
            errors["contact"] = "Too many requests from this connection: try again in a minute"
            return _form_page(
                request, session, principal, values=form, errors=errors, status_code=429
            )
    if errors or chosen is None:
        # Her typed contact goes back into her own form only, never into a log or a message.
        return _form_page(request, session, principal, values=form, errors=errors, status_code=422)
    reference = queries.create_request(
        session,
        ward=chosen,
        availability=[a for a in queries.AVAILABILITY if a in form["availability"]],
        contact=form["contact"],
        consent_at=datetime.now(UTC),
    )
    session.commit()
    return see_other(f"/take-part/done/{reference}")


@router.get("/take-part/done/{reference}", response_class=HTMLResponse)
def take_part_done(
    request: Request, session: SessionDep, principal: Anyone, reference: str
) -> HTMLResponse:
    """Her reference and what happens next (never her contact)."""
    found = queries.request_by_reference(session, reference)
    return page(
        request,
        "take_part_done.html",
        principal,
        title="Your request to take part was sent",
        request_=found,
        months=request.app.state.settings.retention_months,
    )


def _staff_or_sign_in(principal: Principal, path: str) -> RedirectResponse | None:
    """Send a signed-out person to sign in; refuse other roles (the policy's gate)."""
    if principal.is_public:
        return RedirectResponse(f"/login?next={path}", status_code=303)
    policy.require_staff(principal)
    return None


@router.get("/work/requests", response_class=HTMLResponse, response_model=None)
def work_requests(
    request: Request, session: SessionDep, principal: Anyone
) -> HTMLResponse | RedirectResponse:
    """Requests to take part in her wards (a supervisor's: her boroughs), new ones first."""
    if answer := _staff_or_sign_in(principal, "/work/requests"):
        return answer
    rows = queries.list_requests(session, policy.scope_of(principal))
    return page(
        request,
        "work_requests.html",
        principal,
        title="Requests to take part",
        rows=rows,
        availability=queries.AVAILABILITY,
        now=datetime.now(UTC),
        back=("/", "My work"),
    )


def _request_page(
    request: Request,
    session: SessionDep,
    principal: Principal,
    request_id: uuid.UUID,
    *,
    values: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    problem: str = "",
    status_code: int = 200,
) -> HTMLResponse:
    found = queries.get_request(session, request_id)
    policy.require_request_staff(principal, found["ward_code"], found["borough_code"])
    contact = queries.request_contact(session, request_id)
    if contact is not None:
        audit.record(session, principal, "read take-part contact", str(request_id))
        session.commit()
    return page(
        request,
        "work_request.html",
        principal,
        title=f"Request {found['reference']}",
        status_code=status_code,
        req=found,
        contact=contact,
        availability=queries.AVAILABILITY,
        reasons=DECLINE_REASONS,
        values=values or {},
        errors=errors or {},
        problem=problem,
        london=LONDON,
        back=("/work/requests", "Requests to take part"),
    )


@router.get("/work/requests/{request_id}", response_class=HTMLResponse, response_model=None)
def work_request(
    request: Request, session: SessionDep, principal: Anyone, request_id: uuid.UUID
) -> HTMLResponse | RedirectResponse:
    """One request: ward, availability, contact (its ward's staff only); accept or decline."""
    if answer := _staff_or_sign_in(principal, f"/work/requests/{request_id}"):
        return answer
    return _request_page(request, session, principal, request_id)


@router.post("/work/requests/{request_id}", response_class=HTMLResponse, response_model=None)
def decide_request(
    request: Request,
    session: SessionDep,
    principal: Anyone,
    request_id: uuid.UUID,
    decision: FormText = "",
    reason: FormText = "",
    other: FormText = "",
) -> Response:
    """Accept (a buddy with a new code) or decline (with a reason) a request to take part."""
    policy.require_staff(principal)
    found = queries.get_request(session, request_id)
    policy.require_request_staff(principal, found["ward_code"], found["borough_code"])
    values = {"reason": reason, "other": other.strip()}
    decided_by = principal.name or principal.role.value
    try:
        if decision == "accept":
            buddy = queries.accept_request(session, request_id, decided_by=decided_by)
            audit.record(session, principal, "accept take-part request", str(request_id))
            session.commit()
            return see_other(f"/work/buddies?new={buddy['code']}")
        if decision != "decline":
            return _request_page(
                request, session, principal, request_id, status_code=422,
                problem="Use the Accept or the Decline button below.",
            )
        errors = {}
        if values["reason"] not in DECLINE_REASONS:
            errors["reason"] = "Choose why you are declining this request"
        elif values["reason"] == "other" and not values["other"]:
            errors["other"] = "Say why you are declining this request"
        elif len(values["other"]) > 500:
            errors["other"] = "Say why in at most 500 characters"
        if errors:
            return _request_page(
                request, session, principal, request_id,
                values=values, errors=errors, status_code=422,
            )
        reason = DECLINE_REASONS[values["reason"]]
        if values["other"]:
            reason = f"{reason}: {values['other']}"
        queries.decline_request(session, request_id, reason=reason, decided_by=decided_by)
        audit.record(session, principal, "decline take-part request", str(request_id))
        session.commit()
    except Conflict as exc:
        session.rollback()
        return _request_page(
            request, session, principal, request_id, problem=exc.detail, status_code=409
        )
    return see_other(f"/work/requests/{request_id}?done=declined")


@router.get("/work/buddies", response_class=HTMLResponse, response_model=None)
def work_buddies(
    request: Request, session: SessionDep, principal: Anyone, new: str = ""
) -> HTMLResponse | RedirectResponse:
    """Her buddies (of her wards; a supervisor's: her boroughs), never their contact."""
    if answer := _staff_or_sign_in(principal, "/work/buddies"):
        return answer
    rows = queries.buddies_with_walks(session, policy.scope_of(principal))
    return page(
        request,
        "work_buddies.html",
        principal,
        title="Buddies",
        rows=rows,
        new=next((r for r in rows if r["code"] == new), None),
        london=LONDON,
        back=("/", "My work"),
    )
