"""Walk and Talk: officers, buddies, walks and their routes (officers and supervisors only)."""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from pydantic import AwareDatetime, BaseModel, Field, field_validator
from shapely import wkt
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from geo.gpx import route_from_gpx
from geo.route_files import MAX_UPLOAD_BYTES, route_from_file
from geo.routes import InvalidRoute, check_route, route_length_m
from maps.printing import MapSheet
from maps.route_edit import render_route_editor
from maps.routes import render_route_map
from service import policy, schemas
from service.auth import EVERYONE, Allow, Principal
from service.db import SessionDep
from service.errors import InvalidInput
from service.exports import EXPORT_TYPES, ExportFormat, check_crs, download, geopackage
from service.input_guard import RequestBody
from service.pseudonyms import check_buddy_code
from service.queries import audit, officers, safeguarding, walk_exports
from service.queries import walks as queries
from service.queries.exposure import map_points, route_exposure, walk_concerns
from service.queries.routing import network_loaded
from service.queries.wards import require_active_ward_set
from service.routers.maps import ASSET_URL, page_tiles
from service.taxonomy import LABELS
from service.web import see_other

router = APIRouter(tags=["walks"])
Staff = Annotated[Principal, Depends(Allow(*policy.STAFF))]
Supervisor = Annotated[Principal, Depends(Allow(*policy.SUPERVISORS))]


def walk_view(session: SessionDep, principal: Principal, walk_id: uuid.UUID) -> policy.RouteView:
    """Which route of this walk the caller may see (``policy.route_view``)."""
    return policy.route_view(principal, queries.walk_place(session, walk_id))


def require_walk_officer(session: SessionDep, principal: Principal, walk_id: uuid.UUID) -> None:
    """Refuse anyone but the walk's ward officers and their supervisors."""
    policy.require_full_view(principal, queries.walk_place(session, walk_id))


# Pages take anyone so the public are sent to sign in, then refuse by role inside.
Anyone = Annotated[Principal, Depends(Allow(*EVERYONE))]


class OfficerCreate(BaseModel):
    """A dedicated ward officer."""

    name: str = Field(min_length=1, max_length=200)
    shoulder_number: str = Field(min_length=1, max_length=20)
    ward_codes: list[str] = Field(min_length=1)
    command_unit: str = Field(min_length=1, max_length=50)


class BuddyCreate(BaseModel):
    """A buddy, by pseudonymous code; contact details are optional and kept apart."""

    code: str = Field(min_length=3, max_length=40)
    home_ward: str | None = None
    work_ward: str | None = None
    contact: str | None = Field(default=None, max_length=500)

    @field_validator("code")
    @classmethod
    def _pseudonym(cls, code: str) -> str:
        # A phone number or an email typed as the code would travel with every walk.
        return check_buddy_code(code)


class MeetingPoint(BaseModel):
    """Where the officer and the buddy meet, WGS84."""

    lon: float
    lat: float


class WalkCreate(BaseModel):
    """A planned walk."""

    officer_id: uuid.UUID
    buddy_id: uuid.UUID | None = None
    kind: str
    planned_start: datetime
    planned_end: datetime
    ward_code: str | None = None
    meeting_point: MeetingPoint | None = None
    consent_keep_route: bool = False
    consent_contact: bool = False


@router.post("/officers", operation_id="create_officer", status_code=201)
def create_officer(session: SessionDep, principal: Supervisor, body: OfficerCreate) -> Any:
    """Register an officer (supervisors, within their boroughs)."""
    boroughs = queries.ward_boroughs(session, body.ward_codes).values()
    policy.require_boroughs(principal, boroughs, "one of those wards")
    officer = queries.create_officer(session, **body.model_dump())
    audit.record(session, principal, "create officer", str(officer["id"]))
    session.commit()
    return officer


@router.get("/officers", operation_id="list_officers")
def list_officers(session: SessionDep, principal: Staff) -> Any:
    """Officers in the caller's wards or boroughs."""
    return {"officers": queries.list_officers(session, policy.scope_of(principal))}


@router.post("/buddies", operation_id="create_buddy", status_code=201)
def create_buddy(session: SessionDep, principal: Staff, body: BuddyCreate) -> Any:
    """Register a buddy; the answer never contains contact details."""
    buddy = queries.create_buddy(session, **body.model_dump())
    audit.record(session, principal, "create buddy", str(buddy["id"]))
    session.commit()
    return buddy


@router.get("/buddies", operation_id="list_buddies")
def list_buddies(session: SessionDep, principal: Staff) -> Any:
    """Buddies in the caller's wards or boroughs, by code (never contact details)."""
    return {"buddies": queries.list_buddies(session, policy.scope_of(principal))}


@router.get("/buddies/{buddy_id}/contact", operation_id="buddy_contact")
def buddy_contact(session: SessionDep, principal: Supervisor, buddy_id: uuid.UUID) -> Any:
    """A buddy's contact details: supervisors only, and every read is audited."""
    buddy = queries.get_buddy(session, buddy_id)
    policy.require_boroughs(principal, [buddy["borough_code"]], "that buddy")
    contact = queries.buddy_contact(session, buddy_id)
    audit.record(session, principal, "read buddy contact", str(buddy_id))
    session.commit()
    return {"buddy_id": buddy_id, "contact": contact}


@router.post("/walks", operation_id="create_walk", status_code=201)
def create_walk(session: SessionDep, principal: Staff, body: WalkCreate) -> Any:
    """Plan a walk (at least 30 minutes); an unusual pairing is warned about, not refused."""
    ward, borough = queries.planned_ward(session, body.officer_id, body.ward_code)
    policy.require_ward(principal, ward)
    policy.require_boroughs(principal, [borough], f"ward {ward}")
    officers.require_active(session, body.officer_id)
    walk_id, warning = queries.create_walk(session, **body.model_dump())
    audit.record(session, principal, "create walk", str(walk_id))
    session.commit()
    return {"id": walk_id, "warnings": [warning] if warning else []}


@router.get("/walks", operation_id="list_walks")
def list_walks(session: SessionDep, principal: Staff) -> Any:
    """Walks in the caller's wards or boroughs (routes are fetched one walk at a time)."""
    return {"walks": queries.list_walks(session, policy.scope_of(principal))}


@router.get(
    "/walks.{fmt}",
    operation_id="export_walks",
    response_class=Response,
    responses={200: {"content": schemas.export_content(EXPORT_TYPES)}},
)
def export_walks(
    session: SessionDep,
    principal: Staff,
    fmt: ExportFormat,
    route: Annotated[
        policy.RouteView,
        Query(description="trimmed (both ends cut away) or, for supervisors, full"),
    ] = "trimmed",
    crs: Annotated[int, Query(description="GeoPackage CRS: 4326 or 27700")] = 4326,
) -> Response:
    """Download the walks in scope for evaluation: CSV, GeoJSON or GeoPackage.

    Routes are trimmed (supervisors may ask for ``route=full``); no buddy, contact, meeting
    point or free text is included.
    """
    check_crs(crs)
    view = policy.export_view(principal, route)
    frame = walk_exports.export_frame(session, policy.scope_of(principal), view=view)
    if fmt == "csv":
        body = walk_exports.export_csv(frame)
    elif fmt == "geojson":
        body = frame.to_json(drop_id=True, na="null").encode()
    else:
        body = geopackage(frame, layer="walks", crs=crs)
    audit.record(session, principal, f"export walks as {fmt} ({route} routes)", f"{len(frame)}")
    session.commit()
    return download(body, fmt, name="walks")


@router.get(
    "/walks/{walk_id}",
    operation_id="get_walk",
    response_class=Response,
    responses=schemas.geojson(schemas.Feature, "the walk as a GeoJSON Feature"),
)
def get_walk(session: SessionDep, principal: Staff, walk_id: uuid.UUID) -> JSONResponse:
    """One walk as GeoJSON: the full route for its ward's officers and supervisors, else trimmed."""
    feature = queries.walk_feature(session, walk_id, walk_view(session, principal, walk_id))
    audit.record(
        session, principal, f"read walk ({feature['properties']['route_view']} route)", str(walk_id)
    )
    session.commit()
    return JSONResponse(feature, media_type="application/geo+json")


@router.put("/walks/{walk_id}/route", operation_id="put_walk_route")
def put_route(
    request: Request, session: SessionDep, principal: Staff, walk_id: uuid.UUID, raw: RequestBody
) -> Any:
    """Store a walk's route: GeoJSON (a LineString or a Feature) or a GPX file (track or route).

    GPX is recognised by its content type (``application/gpx+xml``) or by starting with XML.
    """
    body: Any
    if "gpx" in request.headers.get("content-type", "") or raw.lstrip().startswith(b"<"):
        try:
            body = route_from_gpx(raw)
        except InvalidRoute as exc:
            raise InvalidInput(str(exc)) from None
    else:
        try:
            body = json.loads(raw)
        except ValueError:
            raise InvalidInput(
                "send the route as GeoJSON (a LineString or a Feature) or as a GPX file"
            ) from None
    require_walk_officer(session, principal, walk_id)
    result = queries.store_route(session, walk_id, body, key=request.app.state.secret_key)
    audit.record(session, principal, "store walk route", str(walk_id))
    session.commit()
    return result


class ConcernCreate(BaseModel):
    """A place on the walk where the buddy felt unsafe, and what would help.

    A point (``lon``, ``lat``) or a short stretch (``line``, a GeoJSON LineString up to
    300 m, e.g. an unlit path); ``at`` is when it was noted (the live page sends it).
    """

    lon: float | None = None
    lat: float | None = None
    line: dict[str, Any] | None = Field(default=None, description="GeoJSON LineString")
    categories: list[str] = Field(min_length=1)
    note: str | None = Field(default=None, max_length=600)
    suggestion: str | None = Field(default=None, max_length=380)
    at: datetime | None = Field(default=None, description="ISO 8601 with offset")
    client_ref: uuid.UUID | None = Field(
        default=None, description="the sender's own id for it: sent again, it is not stored twice"
    )


# allow_inf_nan=False: "nan" is "not a finite number", not "greater than 500".
Within = Annotated[
    float,
    Query(gt=0, le=500, allow_inf_nan=False, description="metres either side of the route"),
]


@router.post(
    "/walks/{walk_id}/concerns",
    operation_id="add_concern",
    status_code=201,
    response_model=schemas.ConcernStored,
    responses={
        200: {
            "model": schemas.ConcernStored,
            "description": "sent before with this client_ref: the stored concern",
        }
    },
)
def add_concern(
    session: SessionDep,
    principal: Staff,
    walk_id: uuid.UUID,
    body: ConcernCreate,
    response: Response,
) -> Any:
    """Record a concern raised on the walk; it counts as a published report (walk concern)."""
    require_walk_officer(session, principal, walk_id)
    report_id, new = queries.add_concern(session, walk_id, body.model_dump())
    if new:
        audit.record(session, principal, "add walk concern", str(walk_id))
    else:
        response.status_code = 200
    session.commit()
    return {"id": report_id, "walk_id": walk_id, "source": "walk_concern"}


@router.get("/walks/{walk_id}/exposure", operation_id="walk_exposure")
def walk_exposure(
    session: SessionDep, principal: Staff, walk_id: uuid.UUID, within: Within = 50
) -> Any:
    """Reports, walk concerns and crimes within N metres of the walk's route, per 100 m."""
    wkt = queries.walk_route_wkt(session, walk_id, walk_view(session, principal, walk_id))
    return {"walk_id": walk_id, **route_exposure(session, wkt, within=within)}


@router.post("/routes/exposure", operation_id="route_exposure")
def planned_route_exposure(
    session: SessionDep, principal: Staff, raw: RequestBody, within: Within = 50
) -> Any:
    """The same for a route being planned (a GeoJSON LineString or Feature), before any walk."""
    try:
        body = json.loads(raw)
    except ValueError:
        raise InvalidInput("send the route as GeoJSON (a LineString or a Feature)") from None
    try:
        line = check_route(body)
    except InvalidRoute as exc:
        raise InvalidInput(str(exc)) from None
    return route_exposure(session, line.wkt, within=within)


class SafeguardingAnswer(BaseModel):
    """Was a crime or intelligence disclosed on the walk? No details are kept here."""

    disclosed: bool
    reference: str | None = Field(default=None, max_length=60, description="the usual report's")


class ReferenceGiven(BaseModel):
    """The reference of the report made the usual way."""

    reference: str = Field(min_length=3, max_length=60)


class WalkClosing(BaseModel):
    """When the walk really started and ended."""

    # With their offset (e.g. Z or +01:00): a bare clock time could be either side of the
    # clock change, and could not be compared with now.
    actual_start: AwareDatetime
    actual_end: AwareDatetime


@router.post("/walks/{walk_id}/safeguarding", operation_id="answer_safeguarding", status_code=201)
def answer_safeguarding(
    request: Request,
    session: SessionDep,
    principal: Staff,
    walk_id: uuid.UUID,
    body: SafeguardingAnswer,
) -> Any:
    """Answer the safeguarding question; a yes needs the report's reference before a deadline."""
    require_walk_officer(session, principal, walk_id)
    record = safeguarding.answer(
        session,
        walk_id,
        disclosed=body.disclosed,
        reference=body.reference,
        by=principal.name,
        hours=request.app.state.settings.safeguarding_hours,
    )
    audit.record(session, principal, "answer safeguarding", str(walk_id))
    session.commit()
    return record


@router.post("/walks/{walk_id}/safeguarding/reference", operation_id="give_reference")
def give_reference(
    session: SessionDep, principal: Staff, walk_id: uuid.UUID, body: ReferenceGiven
) -> Any:
    """Add the reference of the report made the usual way."""
    require_walk_officer(session, principal, walk_id)
    record = safeguarding.give_reference(session, walk_id, body.reference)
    audit.record(session, principal, "give safeguarding reference", str(walk_id))
    session.commit()
    return record


@router.get("/safeguarding", operation_id="open_safeguarding_flags")
def open_flags(session: SessionDep, principal: Supervisor) -> Any:
    """Disclosures awaiting review in the supervisor's boroughs, overdue first."""
    flags = safeguarding.open_flags(session, principal.borough_codes)
    audit.record(session, principal, "list safeguarding flags", f"{len(flags)} open")
    session.commit()
    return {"flags": flags}


@router.post("/safeguarding/{walk_id}/review", operation_id="review_safeguarding")
def review_flag(session: SessionDep, principal: Supervisor, walk_id: uuid.UUID) -> Any:
    """Close a flag once its reference is there; the reviewer is recorded."""
    place = queries.walk_place(session, walk_id)
    policy.require_boroughs(principal, [place.borough_code], "that walk")
    record = safeguarding.review(session, walk_id, by=principal.name)
    audit.record(session, principal, "review safeguarding", str(walk_id))
    session.commit()
    return record


@router.post("/walks/{walk_id}/close", operation_id="close_walk")
def close_walk(session: SessionDep, principal: Staff, walk_id: uuid.UUID, body: WalkClosing) -> Any:
    """Close a walk with its actual times (only after the safeguarding question)."""
    require_walk_officer(session, principal, walk_id)
    closed = safeguarding.close_walk(
        session, walk_id, actual_start=body.actual_start, actual_end=body.actual_end
    )
    audit.record(session, principal, "close walk", str(walk_id))
    session.commit()
    return closed


@router.get(
    "/walks/{walk_id}/route/edit",
    operation_id="route_editor",
    response_class=HTMLResponse,
    response_model=None,
    include_in_schema=False,
)
def route_editor(
    request: Request, session: SessionDep, principal: Anyone, walk_id: uuid.UUID
) -> HTMLResponse | RedirectResponse:
    """The page where a signed-in officer draws the buddy's route and saves it."""
    if principal.is_public:
        return RedirectResponse(f"/login?next=/walks/{walk_id}/route/edit", status_code=303)
    require_walk_officer(session, principal, walk_id)
    saved = request.query_params.get("saved") == "1"
    return _route_editor_page(request, session, principal, walk_id, saved=saved)


def _route_editor_page(
    request: Request,
    session: SessionDep,
    principal: Principal,
    walk_id: uuid.UUID,
    *,
    saved: bool = False,
    error: str | None = None,
) -> HTMLResponse:
    """The route page: the saved route editable, its part outside the area, the upload form."""
    ward, route = queries.editor_context(session, walk_id)
    active = require_active_ward_set(session)
    outside = queries.outside_parts(session, active.id, route) if route else None
    line = wkt.loads(route) if route else None
    notice = None
    if saved and line is not None:
        notice = f"Route saved: {route_length_m(line) / 1000:.2f} km."
        if outside:
            notice += f" Note: {outside['note']}."
    html = render_route_editor(
        ward=ward,
        existing_route=line,
        save_url=f"/walks/{walk_id}/route",
        csrf_token=principal.csrf_token,
        title="Draw the route - Walk and Talk Maps",
        attribution=active.attribution,
        asset_url=ASSET_URL,
        tiles=page_tiles(request, session),
        upload_url=f"/walks/{walk_id}/route/edit",
        back_url=f"/work/walks/{walk_id}",
        notice=notice,
        error=error,
        outside=outside,
        # "Follow the streets" only where there are streets to follow.
        snap_url="/routes/snap" if network_loaded(session) else None,
    )
    return HTMLResponse(html, status_code=422 if error else 200)


@router.post(
    "/walks/{walk_id}/route/edit",
    operation_id="upload_route_file",
    response_class=HTMLResponse,
    response_model=None,
    include_in_schema=False,
)
async def upload_route_file(
    request: Request, session: SessionDep, principal: Staff, walk_id: uuid.UUID
) -> HTMLResponse | RedirectResponse:
    """The route page's upload form: a GPX or GeoJSON file becomes the walk's route.

    Stored by the same function as ``PUT /walks/{id}/route``; a file that is not a route gives
    the page again (422) saying what was wrong, and nothing is stored.
    """
    form = await request.form(max_part_size=MAX_UPLOAD_BYTES + 1)
    upload = form.get("route_file")
    if isinstance(upload, UploadFile) and upload.filename:
        upload_file: tuple[str, bytes] | None = (
            upload.filename,
            await upload.read(MAX_UPLOAD_BYTES + 1),
        )
    else:
        upload_file = None
    # The database work runs off the event loop, as a plain `def` route's would.
    return await run_in_threadpool(
        _store_uploaded_route, request, session, principal, walk_id, upload_file
    )


def _store_uploaded_route(
    request: Request,
    session: SessionDep,
    principal: Principal,
    walk_id: uuid.UUID,
    upload: tuple[str, bytes] | None,
) -> HTMLResponse | RedirectResponse:
    """Authorise, read the file, store the route: the page again with the error, or a 303."""
    require_walk_officer(session, principal, walk_id)
    if upload is None:
        error = "Choose a GPX or GeoJSON file of the route to upload."
    else:
        try:
            line = route_from_file(*upload)
            queries.store_route(session, walk_id, line, key=request.app.state.secret_key)
        except (InvalidRoute, InvalidInput) as exc:
            session.rollback()
            error = f"The file was not used: {_detail(exc)}."
        else:
            audit.record(session, principal, "store walk route (file)", str(walk_id))
            session.commit()
            return see_other(f"/walks/{walk_id}/route/edit?saved=1")
    return _route_editor_page(request, session, principal, walk_id, error=error)


def _detail(exc: Exception) -> str:
    """An error's message for a sentence, without a trailing full stop."""
    detail = getattr(exc, "detail", None) or str(exc)
    return str(detail).rstrip(".")


@router.get(
    "/maps/walks/{walk_id}",
    operation_id="walk_map",
    response_class=HTMLResponse,
    response_model=None,
    include_in_schema=False,
)
def walk_map(
    request: Request,
    session: SessionDep,
    principal: Anyone,
    walk_id: uuid.UUID,
    within: Within = 50,
) -> HTMLResponse | RedirectResponse:
    """The walk's route coloured by what was reported along it, with concerns and crimes."""
    if principal.is_public:
        return RedirectResponse(f"/login?next=/maps/walks/{walk_id}", status_code=303)
    return HTMLResponse(walk_map_sheet(request, session, principal, walk_id, within).html)


def walk_map_sheet(
    request: Request, session: SessionDep, principal: Principal, walk_id: uuid.UUID, within: float
) -> MapSheet:
    """The walk map page as this signed-in caller may see it, and its printed sheet's words.

    The page and its print both call this, so a print shows the very route the caller's page
    shows (trimmed for officers of other wards): route ends stay as secret on paper.
    """
    view = walk_view(session, principal, walk_id)
    wkt_text = queries.walk_route_wkt(session, walk_id, view)
    exposure = route_exposure(session, wkt_text, within=within)
    points = map_points(session, wkt_text, within=within, besides_walk=walk_id)
    # Her own walk's concerns, wherever they lie and whatever their moderation; never beside
    # a trimmed route, where they could show the hidden ends.
    own = walk_concerns(session, walk_id) if policy.sees_walk_concerns(view) else None
    properties = queries.walk_feature(session, walk_id, view)["properties"]
    notes = (
        ["Route trimmed: both ends are hidden for officers of other wards."]
        if (view == "trimmed")
        else []
    )
    if properties["synthetic"]:
        notes.append("Demo data: a synthetic walk, not a real buddy's route.")
    audit.record(session, principal, f"view walk map ({view} route)", str(walk_id))
    session.commit()
    html = render_route_map(
        wkt.loads(wkt_text),
        segments=exposure["segments"],
        concerns=points.concerns,
        reports=points.reports,
        crimes=points.crimes,
        wards=points.wards,
        walk_concerns=own,
        title="Walk route and what was reported",
        within_m=within,
        attribution=_attribution(session, synthetic=properties["synthetic"]),
        asset_url=ASSET_URL,
        tiles=page_tiles(request, session),
        notes=notes,
        found=points.found,
        # Staff come from the walk's page (the public never get this far).
        back=(f"/work/walks/{walk_id}", "The walk"),
        category_labels=LABELS,
    )
    method = [
        "The route is cut into 100 m stretches, each coloured by the reports, walk concerns and "
        f"police.uk crimes within {within:g} m of it, measured on the British National Grid.",
        "Reports are places where someone felt unsafe, not crimes; police.uk crimes are at "
        "anonymised map points.",
        *(
            ["Numbered purple markers are the concerns noted on this walk, in the order noted."]
            if own is not None
            else []
        ),
        "Reports and crimes are drawn in groups that give their count.",
        *notes,
    ]
    period = [
        "Period: every report, concern and police.uk crime held, of any month.",
        f"Showing: within {within:g} m of the {view} route.",
    ]
    return MapSheet(html, "Walk route and what was reported along it", period, method)


def _attribution(session: SessionDep, *, synthetic: bool = False) -> str:
    # Every data set on the map is credited: boundaries, police.uk, and the OpenStreetMap
    # streets that demo walks follow.
    credit = (
        f"{require_active_ward_set(session).attribution}. police.uk: Contains public sector "
        "information licensed under the Open Government Licence v3.0."
    )
    if synthetic:
        credit += " Demo routes: © OpenStreetMap contributors (ODbL)."
    return credit
