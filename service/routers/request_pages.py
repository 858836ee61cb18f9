"""Requests to partners as pages: list, raise, one request with its history, status, import.

Raising is from a walk concern (one click and confirm) or a point tapped on a map; one
request shows its history and, to the council it is addressed to, a status form; planners
import files of requests on the list page.

Forms work without script (the map's tap fills two hidden fields; a concern's request needs
no tap). A wrong value answers the same page with what to fix (422) and stores nothing.
"""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData, UploadFile

from geo.darkness import LONDON
from service import policy
from service.auth import EVERYONE, Allow, Principal, Role
from service.db import SessionDep
from service.errors import Conflict, Forbidden, InvalidInput, NotFound
from service.queries import audit
from service.queries import requests as queries
from service.queries import walks as walk_queries
from service.queries.wards import require_active_ward_set
from service.queries.work import ward_outlines
from service.routers.maps import ASSET_URL, page_tiles
from service.routers.requests import (
    MAX_UPLOAD_BYTES,
    RequestIn,
    disclosure_rule,
    raise_request,
    request_out,
)
from service.taxonomy import CATEGORIES
from service.web import page, see_other

router = APIRouter(tags=["requests"], include_in_schema=False)
# Pages take anyone so a signed-out person is sent to sign in; the policy refuses by role.
Anyone = Annotated[Principal, Depends(Allow(*EVERYONE))]
LIST_PATH = "/lighting/requests"
NEW_PATH = "/lighting/requests/new"
LABELS = {c.slug: c.label for c in CATEGORIES}
TEAMS = {"lighting": "Street lighting", "cctv": "Community safety (CCTV)",
         "vegetation": "Parks and highways", "other": ""}  # fmt: skip
#: How a role is named to those who do not see the person's name.
ROLE_WORDS = {"officer": "an officer", "supervisor": "a supervisor", "planner": "a planner",
              "partner": "a partner"}  # fmt: skip
DONE = {
    "raised": "Request raised. The council's team sees it now.",
    "status": "Status changed.",
    "imported": "File imported.",
}


def _sign_in(principal: Principal, path: str) -> RedirectResponse | None:
    if principal.is_public:
        return RedirectResponse(f"/login?next={path}", status_code=303)
    policy.request_scope(principal)  # refuses a role that sees no requests
    return None


def _list_page(
    request: Request,
    session: SessionDep,
    principal: Principal,
    *,
    errors: dict[str, str] | None = None,
    problems: list[dict[str, Any]] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    params = request.query_params
    kind = params.get("kind") if params.get("kind") in queries.KINDS else None
    status = params.get("status") if params.get("status") in queries.STATUSES else None
    scope = queries.RequestScope(**policy.request_scope(principal))
    rows = queries.list_requests(session, scope, queries.Filters(kind=kind, status=status))
    return page(
        request,
        "requests.html",
        principal,
        title="Requests to partners",
        status_code=status_code,
        rows=rows,
        kinds=queries.KIND_LABELS,
        statuses=queries.STATUS_LABELS,
        councils=queries.councils(session),
        chosen={"kind": kind or "", "status": status or ""},
        may_raise=principal.role in policy.RAISE_REQUESTS,
        may_import=principal.role in (Role.planner, Role.supervisor),
        bids=queries.bid_references(session, scope),
        done=DONE.get(params.get("done", ""), ""),
        stored=params.get("n", ""),
        errors=errors or {},
        problems=problems or [],
    )


@router.get(LIST_PATH, response_class=HTMLResponse, response_model=None)
def list_page(
    request: Request, session: SessionDep, principal: Anyone
) -> HTMLResponse | RedirectResponse:
    """The requests the caller may see, with filters, status tags and what she may do."""
    if answer := _sign_in(principal, LIST_PATH):
        return answer
    return _list_page(request, session, principal)


@router.post(f"{LIST_PATH}/import", response_class=HTMLResponse, response_model=None)
async def import_page(
    request: Request, session: SessionDep, principal: Anyone
) -> HTMLResponse | RedirectResponse:
    """Import a planner's file of requests, or show the list again with every bad row."""
    policy.import_boroughs(principal)
    form = await request.form()
    upload = form.get("file")
    data = await upload.read(MAX_UPLOAD_BYTES + 1) if isinstance(upload, UploadFile) else b""
    name = upload.filename if isinstance(upload, UploadFile) else None
    return await run_in_threadpool(_import, request, session, principal, data, name)


def _import(
    request: Request, session: SessionDep, principal: Principal, data: bytes, name: str | None
) -> HTMLResponse | RedirectResponse:
    boroughs = policy.import_boroughs(principal)
    if not name:
        return _list_page(
            request, session, principal, status_code=422,
            errors={"file": "Choose a CSV or GeoJSON file of requests to import"},
        )  # fmt: skip
    if len(data) > MAX_UPLOAD_BYTES:
        return _list_page(
            request, session, principal, status_code=422,
            errors={"file": "The file is larger than 5 MB: split it and import each part"},
        )  # fmt: skip
    try:
        outcome = queries.import_requests(
            session, data, name, by=principal.name, role=principal.role.value,
            boroughs=boroughs,
        )  # fmt: skip
    except InvalidInput as exc:
        session.rollback()
        problems = exc.extra.get("problems", [])
        message = exc.detail.split(". Line ")[0] if problems else exc.detail
        return _list_page(
            request, session, principal, status_code=422, errors={"file": message},
            problems=problems,
        )  # fmt: skip
    audit.record(session, principal, "import requests", f"{outcome.file_name}: {outcome.stored}")
    session.commit()
    return see_other(f"{LIST_PATH}?done=imported&n={outcome.stored}")


def _new_page(
    request: Request,
    session: SessionDep,
    principal: Principal,
    *,
    values: dict[str, Any],
    concern: dict[str, Any] | None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    tiles = page_tiles(request, session)
    return page(
        request,
        "requests_new.html",
        principal,
        title="Raise a request to a partner",
        status_code=status_code,
        values=values,
        concern=concern,
        errors=errors or {},
        kinds=queries.KIND_LABELS,
        councils=queries.councils(session),
        config={
            "tiles": tiles.page_config() if tiles else None,
            "attribution": require_active_ward_set(session).attribution,
            # Her wards (an officer's) or her boroughs' wards, so she finds her patch on the
            # map even before the streets are loaded.
            "wards": ward_outlines(
                session,
                list(principal.ward_codes)
                or queries.ward_codes_of(session, principal.borough_codes),
            ),
        },
        asset_url=ASSET_URL,
        back=(f"/work/walks/{concern['walk_id']}", "The walk") if concern else (
            LIST_PATH, "Requests to partners"),
    )


def _concern(
    session: SessionDep, principal: Principal, concern_id: str | None
) -> dict[str, Any] | None:
    """The walk concern a request is raised from (its walk's officers only), or None."""
    if not concern_id:
        return None
    try:
        found = queries.concern(session, uuid.UUID(concern_id))
    except ValueError:
        raise NotFound(f"no walk concern {concern_id!r}") from None
    policy.require_full_view(principal, walk_queries.walk_place(session, found["walk_id"]))
    found["labels"] = [LABELS.get(c, c) for c in found["categories"]]
    return found


@router.get(NEW_PATH, response_class=HTMLResponse, response_model=None)
def new_page(
    request: Request, session: SessionDep, principal: Anyone
) -> HTMLResponse | RedirectResponse:
    """The form to raise a request: prefilled from a walk concern, or a point tapped on a map."""
    if answer := _sign_in(principal, NEW_PATH):
        return answer
    if principal.role not in policy.RAISE_REQUESTS:
        policy.require_raise_request(principal, "", "")
    concern = _concern(session, principal, request.query_params.get("concern"))
    values: dict[str, Any] = {"kind": "", "title": "", "partner_borough": "",
                              "partner_team": "", "note": "", "lon": "", "lat": ""}  # fmt: skip
    if concern:
        kind = next(
            (queries.KIND_OF_CATEGORY[c] for c in concern["categories"]
             if c in queries.KIND_OF_CATEGORY), "other",
        )  # fmt: skip
        values.update(
            kind=kind,
            title=f"{concern['labels'][0]}, noted on a walk" if concern["labels"] else "",
            partner_borough=concern["walk_borough_code"],
            partner_team=TEAMS[kind],
            # The concern's own words stay with the walk: the note goes to the council, so
            # she writes it herself rather than passing on what the buddy said.
            concern=str(concern["id"]),
        )
    elif len(principal.borough_codes) == 1:
        values["partner_borough"] = principal.borough_codes[0]
    return _new_page(request, session, principal, values=values, concern=concern)


@router.post(NEW_PATH, response_class=HTMLResponse, response_model=None)
async def new_submit(
    request: Request, session: SessionDep, principal: Anyone
) -> HTMLResponse | RedirectResponse:
    """Store the request and show it, or the form again with what to fix."""
    if principal.role not in policy.RAISE_REQUESTS:
        policy.require_raise_request(principal, "", "")
    form = await request.form()
    return await run_in_threadpool(_raise, request, session, principal, form)


def _raise(
    request: Request, session: SessionDep, principal: Principal, form: FormData
) -> HTMLResponse | RedirectResponse:
    values = {k: str(form.get(k, "")).strip() for k in (
        "kind", "title", "partner_borough", "partner_team", "note", "lon", "lat", "concern")}
    concern = _concern(session, principal, values["concern"])
    errors: dict[str, str] = {}
    if values["kind"] not in queries.KINDS:
        errors["kind"] = "Choose what kind of fix is asked for"
    if not values["title"]:
        errors["title"] = "Say in a few words what is asked for, e.g. 'Lamp out by the arches'"
    elif len(values["title"]) > 200:
        errors["title"] = "Keep the title to 200 characters; put more in the note"
    if values["partner_borough"] not in queries.councils(session):
        errors["partner_borough"] = "Choose the council the request is addressed to"
    if not values["partner_team"]:
        errors["partner_team"] = "Name the council's team, e.g. Street lighting"
    elif len(values["partner_team"]) > 100:
        errors["partner_team"] = "Keep the team's name to 100 characters"
    if len(values["note"]) > 1000:
        errors["note"] = "Keep the note to 1,000 characters"
    point: dict[str, float] = {}
    try:
        point = {"lon": float(values["lon"]), "lat": float(values["lat"])}
    except ValueError:
        if not concern:
            errors["map"] = "Tap the map where the fix is needed"
    if concern and point and _same_place(point, concern):
        point = {}  # not moved: the concern's own place (its stretch, when it has one)
    if not errors:
        try:
            body = RequestIn(
                kind=values["kind"], title=values["title"],
                partner_borough=values["partner_borough"], partner_team=values["partner_team"],
                note=values["note"] or None, concern_id=concern["id"] if concern else None,
                **point,
            )  # fmt: skip
            request_id, reference = raise_request(session, principal, body)
        except ValidationError:
            errors["map"] = "Tap the map inside London where the fix is needed"
        except InvalidInput as exc:
            session.rollback()
            errors["map"] = str(exc.detail)
        else:
            audit.record(session, principal, "raise request", reference)
            session.commit()
            return see_other(f"/lighting/requests/{request_id}?done=raised")
    return _new_page(
        request, session, principal, values=values, concern=concern, errors=errors,
        status_code=422,
    )  # fmt: skip


def _same_place(point: dict[str, float], concern: dict[str, Any]) -> bool:
    """Whether the form's point is the concern's (the page rounds it to 1e-6 degrees)."""
    return abs(point["lon"] - concern["lon"]) < 2e-6 and abs(point["lat"] - concern["lat"]) < 2e-6


def _request_page(
    request: Request,
    session: SessionDep,
    principal: Principal,
    request_id: uuid.UUID,
    *,
    values: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    where = queries.place(session, request_id)
    policy.require_request_view(principal, where)
    row = queries.get_request(session, request_id)
    shown = request_out(row, principal, disclosure_rule(request))
    staff = policy.sees_backing_reports(principal)
    backing = [
        {**b, "labels": [LABELS.get(c, c) for c in b["categories"]]}
        for b in (queries.backing_reports(session, request_id) if staff else [])
    ]
    walk_link = None
    if staff and row["walk_id"]:
        try:
            place = walk_queries.walk_place(session, row["walk_id"])
            walk_link = policy.route_view(principal, place) == "full"
        except (NotFound, Forbidden):  # a walk out of her view simply gets no link
            walk_link = None
    tiles = page_tiles(request, session)
    return page(
        request,
        "requests_one.html",
        principal,
        title=f"Request {row['reference']}",
        status_code=status_code,
        row={**row, **shown},
        events=row["events"],
        backing=backing,
        staff=staff,
        walk_link=walk_link,
        may_change=policy.may_change_request(principal, where),
        allowed=queries.allowed_next(row["status"]),
        kinds=queries.KIND_LABELS,
        statuses=queries.STATUS_LABELS,
        councils=queries.councils(session),
        roles=ROLE_WORDS,
        london=LONDON,
        values=values or {"status": "", "installed_on": "", "bid_reference": "",
                          "decline_reason": "", "outcome": "", "note": ""},
        errors=errors or {},
        done=DONE.get(request.query_params.get("done", ""), ""),
        today=date.today().isoformat(),
        config={
            "tiles": tiles.page_config() if tiles else None,
            "attribution": require_active_ward_set(session).attribution,
            "point": [row["lat"], row["lon"]],
            "line": row["line"],
        },
        asset_url=ASSET_URL,
        back=(LIST_PATH, "Requests to partners"),
    )


ONE_PATH = "/lighting/requests/{partner_request_id}"


@router.get(ONE_PATH, response_class=HTMLResponse, response_model=None)
def request_page(
    request: Request, session: SessionDep, principal: Anyone, partner_request_id: uuid.UUID
) -> HTMLResponse | RedirectResponse:
    """One request: details, map, backing, history; the addressed council's status form."""
    if answer := _sign_in(principal, f"/lighting/requests/{partner_request_id}"):
        return answer
    return _request_page(request, session, principal, partner_request_id)


@router.post(f"{ONE_PATH}/status", response_class=HTMLResponse, response_model=None)
async def status_submit(
    request: Request, session: SessionDep, principal: Anyone, partner_request_id: uuid.UUID
) -> HTMLResponse | RedirectResponse:
    """The addressed council moves the request on, or sees the form again with what to fix."""
    form = await request.form()
    return await run_in_threadpool(
        _change, request, session, principal, partner_request_id, form
    )


def _change(
    request: Request,
    session: SessionDep,
    principal: Principal,
    request_id: uuid.UUID,
    form: FormData,
) -> HTMLResponse | RedirectResponse:
    policy.require_request_partner(principal, queries.place(session, request_id))
    values = {k: str(form.get(k, "")).strip() for k in (
        "status", "installed_on", "bid_reference", "decline_reason", "outcome", "note")}
    errors: dict[str, str] = {}
    installed_on = None
    if values["status"] not in queries.STATUSES:
        errors["status"] = "Choose the request's new status"
    if values["installed_on"]:
        try:
            installed_on = date.fromisoformat(values["installed_on"])
        except ValueError:
            errors["installed_on"] = "Give the install date as a date, e.g. 2026-11-20"
    for name, limit in (("bid_reference", 100), ("decline_reason", 500), ("outcome", 1000),
                        ("note", 1000)):
        if len(values[name]) > limit:
            errors[name] = f"Keep this to {limit} characters"
    if not errors:
        try:
            queries.change_status(
                session, request_id, status=values["status"], by=principal.name,
                role=principal.role.value, note=values["note"] or None,
                decline_reason=values["decline_reason"] or None,
                bid_reference=values["bid_reference"] or None, installed_on=installed_on,
                outcome=values["outcome"] or None,
            )  # fmt: skip
        except (Conflict, InvalidInput) as exc:
            session.rollback()
            detail = str(exc.detail)
            field = (
                "decline_reason" if "reason" in detail
                else "installed_on" if "install" in detail
                else "bid_reference" if "bid" in detail
                else "status"
            )  # fmt: skip
            errors[field] = detail[0].upper() + detail[1:]
        else:
            audit.record(session, principal, f"request status {values['status']}",
                         str(request_id))  # fmt: skip
            session.commit()
            return see_other(f"/lighting/requests/{request_id}?done=status")
    return _request_page(
        request, session, principal, request_id, values=values, errors=errors, status_code=422
    )
