"""Requests to partners as JSON: raise, list (GeoJSON), read with history, move on, import.

Officers raise them from their walks' concerns, supervisors and planners in their boroughs,
planners and supervisors import files of them; the council a request is addressed to moves
it on (sent, accepted, in a bid, funded, installed, or declined). Who sees which is decided
in ``service.policy``; partners and planners see how many reports back a request under the
disclosure rule, never the reports.
"""

from __future__ import annotations

import csv
import io
import json
import uuid
from datetime import date, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request, UploadFile
from fastapi.responses import Response
from pydantic import BaseModel, Field

from geo.disclosure import DisclosureRule, protect
from service import policy, schemas
from service.auth import Allow, Principal
from service.db import SessionDep
from service.errors import InvalidInput, OutsideServiceArea, PayloadTooLarge
from service.queries import audit
from service.queries import requests as queries
from service.queries import walks as walk_queries

router = APIRouter(tags=["requests"])
Raiser = Annotated[Principal, Depends(Allow(*policy.RAISE_REQUESTS))]
Viewer = Annotated[Principal, Depends(Allow(*policy.SEE_REQUESTS))]
Kind = Literal["lighting", "cctv", "vegetation", "other"]
Status = Literal["proposed", "sent", "accepted", "in_bid", "funded", "installed", "declined"]
MAX_UPLOAD_BYTES = 5 * 1024 * 1024
# Not NaN or infinite (JSON from Python may carry them): "should be a finite number" says so,
# where the range check alone would call NaN "greater than 180".
Lon = Annotated[float, Field(ge=-180, le=180, allow_inf_nan=False)]
Lat = Annotated[float, Field(ge=-90, le=90, allow_inf_nan=False)]


class RequestIn(BaseModel):
    """A new request: a point (lon/lat) or a stretch (``line``), its council and team."""

    kind: Kind
    title: str = Field(min_length=1, max_length=200)
    lon: Lon | None = None
    lat: Lat | None = None
    line: list[tuple[Lon, Lat]] | None = Field(default=None, min_length=2, max_length=200)
    partner_borough: str = Field(min_length=1, max_length=100, description="code or name")
    partner_team: str = Field(min_length=1, max_length=100)
    note: str | None = Field(default=None, max_length=1000)
    concern_id: uuid.UUID | None = Field(
        default=None, description="the walk concern it is raised from (backs it; links the walk)"
    )


class RequestOut(BaseModel):
    """A request as its viewer may see it."""

    id: uuid.UUID
    reference: str
    kind: str
    title: str
    lon: float
    lat: float
    ward_code: str | None
    borough_code: str | None
    partner_borough: str
    partner_team: str
    status: str
    status_at: datetime
    decline_reason: str | None
    bid_reference: str | None
    installed_on: date | None
    outcome: str | None
    raised_role: str
    raised_at: datetime
    walk_id: uuid.UUID | None
    synthetic: bool
    backing: int | None = Field(
        description="reports backing it: exact for staff; else null when fewer than k"
    )
    backing_shown: str = Field(description="the backing count in words, as the viewer sees it")
    allowed_next: list[str]


class RequestEvent(BaseModel):
    """A change of status."""

    status: str
    note: str | None
    changed_by: str
    changed_role: str
    changed_at: datetime


class RequestDetail(RequestOut):
    """A request with its history."""

    events: list[RequestEvent]


class RequestFeature(BaseModel):
    """A request as a GeoJSON Feature (its stretch when it has one, else its point)."""

    type: Literal["Feature"] = "Feature"
    id: uuid.UUID
    geometry: dict[str, Any]
    properties: RequestOut


class RequestCollection(BaseModel):
    """Requests as a GeoJSON FeatureCollection."""

    type: Literal["FeatureCollection"] = "FeatureCollection"
    features: list[RequestFeature]
    method: list[str]


class StatusIn(BaseModel):
    """A change of a request's status (or, at the same status, of its bid, date or outcome)."""

    status: Status
    note: str | None = Field(default=None, max_length=1000)
    decline_reason: str | None = Field(default=None, max_length=500)
    bid_reference: str | None = Field(default=None, max_length=100)
    installed_on: date | None = None
    outcome: str | None = Field(default=None, max_length=1000)


class ImportOut(BaseModel):
    """What an import stored."""

    file: str
    already_imported: bool
    stored: int
    references: list[str]


def disclosure_rule(request: Request) -> DisclosureRule:
    """The settings' disclosure rule (k, rounding)."""
    settings = request.app.state.settings
    return DisclosureRule(k=settings.disclosure_k, base=settings.disclosure_rounding)


def shown_backing(count: int, rule: DisclosureRule | None) -> tuple[int | None, str]:
    """A backing count as a viewer sees it: exact (``rule`` None), rounded, or suppressed."""
    if rule is None:
        return count, f"{count} report{'s' if count != 1 else ''} and walk concerns"
    shown, suppressed = protect([count], rule)
    if suppressed[0]:
        return None, f"fewer than {rule.k} reports"
    return int(shown[0]), f"about {int(shown[0])} reports"


def request_out(
    row: dict[str, Any], principal: Principal, rule: DisclosureRule
) -> dict[str, Any]:
    """A stored request's fields for this viewer (backing protected for non-staff)."""
    exact = policy.sees_backing_reports(principal)
    backing, words = shown_backing(int(row["backing"]), None if exact else rule)
    fields = {k: v for k, v in row.items() if k in RequestOut.model_fields}
    return {
        **fields,
        "backing": backing,
        "backing_shown": words,
        "allowed_next": list(queries.allowed_next(row["status"])),
    }


def scope_filters(
    kind: Kind | None = None,
    status: Status | None = None,
    borough: Annotated[str | None, Query(max_length=20)] = None,
    ward: Annotated[str | None, Query(max_length=20)] = None,
    bid_reference: Annotated[str | None, Query(max_length=100)] = None,
    walk_id: uuid.UUID | None = None,
) -> queries.Filters:
    """A list's filters from the query string."""
    return queries.Filters(kind, status, borough, ward, bid_reference, walk_id)


FiltersDep = Annotated[queries.Filters, Depends(scope_filters)]


def raise_request(
    session: SessionDep, principal: Principal, body: RequestIn
) -> tuple[uuid.UUID, str]:
    """Check and store a new request (shared by the JSON route and the page's form)."""
    walk_id = None
    backing: list[uuid.UUID] = []
    points: list[tuple[float, float]]
    if body.concern_id is not None:
        concern = queries.concern(session, body.concern_id)
        policy.require_full_view(principal, walk_queries.walk_place(session, concern["walk_id"]))
        walk_id, backing = concern["walk_id"], [body.concern_id]
    if body.line:
        points = [(float(x), float(y)) for x, y in body.line]
    elif body.lon is not None and body.lat is not None:
        points = [(body.lon, body.lat)]
    elif body.concern_id is not None and concern["line"]:
        points = [(x, y) for x, y, *_ in json.loads(concern["line"])["coordinates"]]
    elif body.concern_id is not None:
        points = [(concern["lon"], concern["lat"])]
    else:
        raise InvalidInput("give the place: lon and lat, or a line of at least two positions")
    council = queries.council_code(session, body.partner_borough)
    if council is None:
        names = ", ".join(queries.councils(session).values())
        raise InvalidInput(
            f"partner_borough {body.partner_borough!r} is not a borough of the scheme: "
            f"choose from {names}"
        )
    try:
        _, _, ward_code, borough_code = queries.place_of(session, points)
    except OutsideServiceArea:
        raise InvalidInput(
            "that place is outside the wards this scheme covers: choose a place inside them"
        ) from None
    policy.require_raise_request(principal, ward_code, borough_code)
    return queries.create_request(
        session,
        kind=body.kind,
        title=body.title.strip(),
        points=points,
        partner_borough=council,
        partner_team=body.partner_team.strip(),
        raised_by=principal.name,
        raised_role=principal.role.value,
        note=(body.note or "").strip() or None,
        walk_id=walk_id,
        backing=backing,
    )


@router.post(
    "/requests", operation_id="raise_request", status_code=201, response_model=RequestDetail
)
def create(
    request: Request, session: SessionDep, principal: Raiser, body: RequestIn
) -> dict[str, Any]:
    """Raise a request to a partner at a point or along a stretch (at most 500 m)."""
    request_id, reference = raise_request(session, principal, body)
    audit.record(session, principal, "raise request", reference)
    session.commit()
    return _detail(request, session, principal, request_id)


@router.get(
    "/requests", operation_id="list_requests", response_model=RequestCollection
)
def list_all(
    request: Request, session: SessionDep, principal: Viewer, filters: FiltersDep
) -> dict[str, Any]:
    """The requests the caller may see, as GeoJSON, filtered by kind, status, place or bid."""
    rows = queries.list_requests(
        session, queries.RequestScope(**policy.request_scope(principal)), filters
    )
    rule = disclosure_rule(request)
    return {
        "type": "FeatureCollection",
        "features": [_feature(row, principal, rule) for row in rows],
        "method": method_note(principal, rule),
    }


@router.get(
    "/requests.csv",
    operation_id="requests_csv",
    response_class=Response,
    responses=schemas.file_response(schemas.CSV),
)
def list_csv(
    request: Request, session: SessionDep, principal: Viewer, filters: FiltersDep
) -> Response:
    """The requests the caller may see as CSV (WGS84), the method note in the Notes column."""
    rows = queries.list_requests(
        session, queries.RequestScope(**policy.request_scope(principal)), filters
    )
    rule = disclosure_rule(request)
    columns = [
        "reference", "kind", "title", "lon", "lat", "ward_code", "borough_code",
        "partner_borough", "partner_team", "status", "status_at", "bid_reference",
        "installed_on", "decline_reason", "outcome", "backing_shown",
    ]  # fmt: skip
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([*columns, "Notes"])
    note = " ".join(method_note(principal, rule))
    for i, row in enumerate(rows):
        shown = request_out(row, principal, rule)
        writer.writerow([shown.get(c, row.get(c)) for c in columns] + [note if i == 0 else ""])
    if not rows:
        writer.writerow([""] * len(columns) + [note])
    return Response(
        out.getvalue(),
        media_type="text/csv",
        headers={"Content-Disposition": f'attachment; filename="requests-{date.today()}.csv"'},
    )


@router.post(
    "/requests/import", operation_id="import_requests", status_code=201, response_model=ImportOut
)
def import_file(session: SessionDep, principal: Raiser, file: UploadFile) -> dict[str, Any]:
    """Import a CSV or GeoJSON of requests whole, or nothing with each bad row named (422)."""
    boroughs = policy.import_boroughs(principal)
    data = file.file.read(MAX_UPLOAD_BYTES + 1)
    if len(data) > MAX_UPLOAD_BYTES:
        raise PayloadTooLarge("request files are limited to 5 MB: split the file")
    outcome = queries.import_requests(
        session,
        data,
        file.filename or "requests.csv",
        by=principal.name,
        role=principal.role.value,
        boroughs=boroughs,
    )
    audit.record(session, principal, "import requests", f"{outcome.file_name}: {outcome.stored}")
    session.commit()
    return {
        "file": outcome.file_name,
        "already_imported": outcome.already_imported,
        "stored": outcome.stored,
        "references": list(outcome.references),
    }


@router.get(
    "/requests/{partner_request_id}", operation_id="get_request", response_model=RequestDetail
)
def read(
    request: Request, session: SessionDep, principal: Viewer, partner_request_id: uuid.UUID
) -> dict[str, Any]:
    """A request the caller may see, with the history of its status."""
    policy.require_request_view(principal, queries.place(session, partner_request_id))
    return _detail(request, session, principal, partner_request_id)


@router.post(
    "/requests/{partner_request_id}/status", operation_id="change_request_status",
    response_model=RequestDetail,
)  # fmt: skip
def change(
    request: Request,
    session: SessionDep,
    principal: Viewer,
    partner_request_id: uuid.UUID,
    body: StatusIn,
) -> dict[str, Any]:
    """The addressed council moves a request on; a refused move says what is allowed next."""
    policy.require_request_partner(principal, queries.place(session, partner_request_id))
    queries.change_status(
        session,
        partner_request_id,
        by=principal.name,
        role=principal.role.value,
        **body.model_dump(),
    )
    audit.record(session, principal, f"request status {body.status}", str(partner_request_id))
    session.commit()
    return _detail(request, session, principal, partner_request_id)


def _detail(
    request: Request, session: SessionDep, principal: Principal, request_id: uuid.UUID
) -> dict[str, Any]:
    row = queries.get_request(session, request_id)
    events = row["events"]
    if not policy.sees_backing_reports(principal):
        # Partners and planners learn which role raised or moved it, not which officer.
        events = [
            e if e["changed_role"] == "partner" else {**e, "changed_by": e["changed_role"]}
            for e in events
        ]
    return {**request_out(row, principal, disclosure_rule(request)), "events": events}


def _feature(row: dict[str, Any], principal: Principal, rule: DisclosureRule) -> dict[str, Any]:
    geometry = (
        json.loads(row["line"])
        if row["line"]
        else {"type": "Point", "coordinates": [row["lon"], row["lat"]]}
    )
    return {
        "type": "Feature",
        "id": row["id"],
        "geometry": geometry,
        "properties": request_out(row, principal, rule),
    }


def method_note(principal: Principal, rule: DisclosureRule) -> list[str]:
    """How the requests were chosen and their backing counted, for the downloads."""
    backing = (
        "Backing: the reports and walk concerns linked to each request (those it was raised "
        f"from, and published reports and walk concerns within {queries.BACKING_WITHIN_M:.0f} "
        "m of its place when raised); exact counts (staff view)."
    )
    if not policy.sees_backing_reports(principal):
        backing = backing.replace("exact counts (staff view)", f"{rule.describe()}")
    return [
        "Requests to partners (lighting, CCTV, vegetation, other) the caller may see: "
        + {
            "officer": "those in your wards or raised from your wards' walks.",
            "partner": "those addressed to your council(s).",
        }.get(principal.role.value, "those in your boroughs."),
        "Places in WGS84 (EPSG:4326); a stretch's point is its middle.",
        backing,
    ]
