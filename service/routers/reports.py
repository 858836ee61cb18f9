"""Anonymous unsafe-place reports: submit (public), list for officers and supervisors, moderate.

``POST /reports`` stores nothing that identifies the reporter and logs neither the place nor
the words: the log line is the one the server writes for every request (method, path, status).
"""

from __future__ import annotations

import json
import math
import uuid
from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import BaseModel, Field

from geo.reports import RowProblem, parse_report_object
from service import policy, schemas
from service.auth import EVERYONE, Allow, Principal, Role
from service.db import SessionDep
from service.errors import InvalidInput, NotFound, PayloadTooLarge
from service.exports import EXPORT_TYPES, ExportFormat, check_crs, download, geopackage
from service.queries import audit
from service.queries import reports as queries
from service.ratelimit import client_address
from service.taxonomy import CATEGORIES, SLUGS, SOURCES, STATUSES

router = APIRouter(tags=["reports"])
GEOJSON = "application/geo+json"
MAX_PAGE = 1000
Staff = Annotated[Principal, Depends(Allow(Role.officer, Role.supervisor))]
Supervisor = Annotated[Principal, Depends(Allow(Role.supervisor))]


class CategoryPublic(BaseModel):
    """One category of the taxonomy."""

    slug: str
    label: str


class ReportAccepted(BaseModel):
    """The answer to a submission: only its id and status, nothing echoed back."""

    id: uuid.UUID
    status: str


class ModerationDecision(BaseModel):
    """A supervisor's decision on a pending report."""

    action: Literal["publish", "hide"]
    reason: str = Field(min_length=3, max_length=500)
    redact_text: bool = False


def _problems(problems: tuple[RowProblem, ...] | list[RowProblem]) -> str:
    return "; ".join(p.reason for p in problems)


@router.get(
    "/reports/categories",
    operation_id="report_categories",
    dependencies=[Depends(Allow(*EVERYONE))],
    response_model=list[CategoryPublic],
)
def report_categories() -> list[CategoryPublic]:
    """The categories a report may carry (slug and label)."""
    return [CategoryPublic(slug=c.slug, label=c.label) for c in CATEGORIES]


async def _report_body(request: Request) -> bytes:
    """The report's body, read on the event loop (the route's database work is not)."""
    limit = request.app.state.settings.report_body_limit
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"a report body may be at most {limit} bytes")
    body = await request.body()
    if len(body) > limit:
        raise PayloadTooLarge(f"a report body may be at most {limit} bytes")
    return body


ReportBody = Annotated[bytes, Depends(_report_body)]


@router.post(
    "/reports",
    operation_id="submit_report",
    status_code=201,
    response_model=ReportAccepted,
    dependencies=[Depends(Allow(*EVERYONE))],
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {
                    "schema": {"type": "object"},
                    "example": {
                        "lon": -0.1136,
                        "lat": 51.5033,
                        "categories": ["poor_lighting"],
                        "date": "2026-11-20",
                        "time_band": "evening",
                        "text": "The path under the bridge has no lights.",
                    },
                }
            },
        }
    },
)
def submit_report(request: Request, session: SessionDep, body: ReportBody) -> ReportAccepted:
    """Submit an anonymous report: a GeoJSON Feature or a flat object with lon and lat.

    The report waits for a supervisor to publish it before it counts anywhere.
    """
    # Counted only once the body is readable, keyed on the address in memory only.
    request.app.state.report_limiter.check(
        client_address(
            request.client.host if request.client else None,
            request.headers.get("x-forwarded-for"),
            trusted=request.app.state.settings.trusted_proxies,
        )
    )
    try:
        submitted = json.loads(body)
    except UnicodeDecodeError:
        raise InvalidInput(
            "the body is not UTF-8 text (it may be Latin-1 or Windows-1252): save or send it "
            "as UTF-8 JSON"
        ) from None
    except json.JSONDecodeError:
        raise InvalidInput(
            "the body is not JSON: send a GeoJSON Feature or a JSON object"
        ) from None
    if not isinstance(submitted, dict):
        raise InvalidInput("the body must be a JSON object (a GeoJSON Feature or lon/lat fields)")
    parsed = parse_report_object(submitted, categories=SLUGS, for_public=True)
    if parsed.problems:
        # Each is a sentence of its own in plain words (see parse_report_object); a script
        # sending NaN or metres for degrees also needs the rule's own words: `problems`.
        exact = parse_report_object(submitted, categories=SLUGS)
        raise InvalidInput(
            " ".join(p.reason for p in parsed.problems),
            problems=[p.reason for p in exact.problems] or [p.reason for p in parsed.problems],
        )
    result = queries.store_reports(
        session, parsed.frame, source="public", status="pending", for_public=True
    )
    if result.outside:
        raise InvalidInput(_problems(result.outside))
    session.commit()
    return ReportAccepted(id=result.ids[0], status="pending")


def _bbox(value: str | None) -> tuple[float, float, float, float] | None:
    if value is None:
        return None
    try:
        x0, y0, x1, y1 = (float(v) for v in value.split(","))
    except ValueError:
        raise InvalidInput(
            f"bbox {value!r} must be four numbers: min lon, min lat, max lon, max lat"
        ) from None
    if not all(math.isfinite(v) for v in (x0, y0, x1, y1)):
        raise InvalidInput(
            f"bbox {value!r} holds a number that is not finite (NaN or infinity): give four "
            "numbers in degrees, e.g. bbox=-0.125,51.495,-0.085,51.512"
        )
    if not all(-180 <= x <= 180 for x in (x0, x1)) or not all(-90 <= y <= 90 for y in (y0, y1)):
        raise InvalidInput(
            f"bbox {value!r} is not in degrees: longitudes run -180 to 180 and latitudes -90 to "
            "90 (WGS84; British National Grid metres are not taken here)"
        )
    if not (x0 < x1 and y0 < y1):
        raise InvalidInput(
            f"bbox {value!r} is not a lon/lat box with min < max: give min lon, min lat, "
            "max lon, max lat"
        )
    return x0, y0, x1, y1


def _scope(scope: policy.Scope) -> dict[str, Any]:
    if scope.ward_codes is not None:
        return {"ward_codes": scope.ward_codes}
    return {"borough_codes": scope.borough_codes}


def report_filter(
    principal: Staff,
    bbox: Annotated[str | None, Query(description="minLon,minLat,maxLon,maxLat")] = None,
    ward: Annotated[str | None, Query(max_length=20)] = None,
    borough: Annotated[str | None, Query(max_length=20)] = None,
    category: Annotated[list[str] | None, Query(description="repeat for any of several")] = None,
    date_from: date | None = None,
    date_to: date | None = None,
    dark: bool | None = None,
    source: Annotated[str | None, Query()] = None,
    status: Annotated[str | None, Query()] = None,
) -> queries.ReportFilter:
    """The filters of ``GET /reports`` and its exports, checked, within the caller's scope."""
    unknown = sorted(set(category or ()) - SLUGS)
    if unknown:
        raise InvalidInput(f"unknown category {', '.join(unknown)}: see GET /reports/categories")
    if source is not None and source not in SOURCES:
        raise InvalidInput(f"source must be one of {', '.join(SOURCES)}")
    if status is not None and status not in STATUSES:
        raise InvalidInput(f"status must be one of {', '.join(STATUSES)}")
    if date_from and date_to and date_from > date_to:
        raise InvalidInput("date_from is after date_to")
    return queries.ReportFilter(
        **_scope(policy.scope_of(principal)),
        bbox=_bbox(bbox),
        ward=ward,
        borough=borough,
        categories=tuple(category or ()),
        date_from=date_from,
        date_to=date_to,
        dark=dark,
        source=source,
        status=status,
    )


Filters = Annotated[queries.ReportFilter, Depends(report_filter)]


@router.get(
    "/reports",
    operation_id="list_reports",
    response_class=Response,
    responses=schemas.geojson(schemas.FeatureCollection, "GeoJSON FeatureCollection"),
)
def list_reports(
    request: Request,
    session: SessionDep,
    principal: Staff,
    selection: Filters,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 100,
    after: uuid.UUID | None = None,
) -> Response:
    """Reports in the caller's scope as GeoJSON, a page at a time (follow the ``next`` link)."""
    features, last = queries.report_features(session, selection, limit=limit, after=after)
    matched = queries.count_reports(session, selection)
    links = [{"rel": "self", "type": GEOJSON, "href": str(request.url)}]
    if last is not None:
        links.append(
            {
                "rel": "next",
                "type": GEOJSON,
                "href": str(request.url.include_query_params(after=str(last), limit=limit)),
            }
        )
    audit.record(session, principal, "list reports", f"{len(features)} of {matched}")
    session.commit()
    body = (
        '{"type": "FeatureCollection", "numberMatched": '
        + str(matched)
        + ', "numberReturned": '
        + str(len(features))
        + ', "links": '
        + json.dumps(links)
        + ', "features": ['
        + ",".join(features)
        + "]}"
    )
    return Response(body, media_type=GEOJSON)


@router.get(
    "/moderation",
    operation_id="list_pending_reports",
    response_class=Response,
    responses=schemas.geojson(schemas.FeatureCollection, "GeoJSON FeatureCollection"),
)
def list_pending(
    request: Request,
    session: SessionDep,
    principal: Supervisor,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 100,
    after: uuid.UUID | None = None,
) -> Response:
    """Public reports waiting for a decision, in the supervisor's boroughs."""
    selection = queries.ReportFilter(
        borough_codes=principal.borough_codes, source="public", status="pending"
    )
    return list_reports(request, session, principal, selection, limit=limit, after=after)


@router.post("/moderation/{report_id}", operation_id="moderate_report")
def moderate_report(
    session: SessionDep, principal: Supervisor, report_id: uuid.UUID, decision: ModerationDecision
) -> dict[str, Any]:
    """Publish or hide a report, with a reason; optionally remove its free text."""
    status = "published" if decision.action == "publish" else "hidden"
    changed = queries.moderate(
        session,
        report_id,
        status=status,
        reason=decision.reason,
        redact_text=decision.redact_text,
        moderator=principal.name,
        boroughs=principal.borough_codes,
    )
    if changed is None:
        raise NotFound(f"no report {report_id} in your boroughs")
    audit.record(session, principal, f"moderate report: {status}", str(report_id))
    session.commit()
    return {**changed, "id": str(changed["id"])}


@router.get(
    "/reports.{fmt}",
    operation_id="export_reports",
    response_class=Response,
    responses={200: {"content": schemas.export_content(EXPORT_TYPES)}},
)
def export_reports(
    session: SessionDep,
    principal: Supervisor,
    selection: Filters,
    fmt: ExportFormat,
    crs: Annotated[int, Query(description="GeoPackage CRS: 4326 or 27700")] = 4326,
) -> Response:
    """Download the selected reports as CSV, GeoJSON or GeoPackage (supervisors)."""
    check_crs(crs)
    if fmt == "csv":
        # Collected before answering: the session belongs to this request only.
        body = b"".join(queries.export_csv(session, selection))
    else:
        frame = queries.export_frame(session, selection)
        if fmt == "geojson":
            body = frame.to_json(drop_id=True).encode()
        else:
            body = geopackage(frame, layer="reports", crs=crs)
    audit.record(session, principal, f"export reports as {fmt}", f"{len(body)} bytes")
    session.commit()
    return download(body, fmt, name="reports")
