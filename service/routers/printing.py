"""Every map page as an A4 PNG or PDF: ``GET <page>.png`` and ``GET <page>.pdf``.

Each print route takes the query its page takes, lets in whom its page lets in, and builds the
page with the very function the page route calls; ``service.printing`` lays it out on an A4
sheet and draws it in Chromium. So a print shows exactly what that caller's page shows: the
public's protected counts, an officer of another ward the trimmed route, and the walk map sends
the public to sign in. Registered before the page routers, so ``/maps/walks/<id>.pdf`` is not
taken for a walk id.
"""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import RedirectResponse, Response

from maps.classes import DEFAULT_SCHEME
from maps.printing import MapSheet
from service.auth import EVERYONE, Allow
from service.db import SessionDep
from service.exports import PrintFormat, print_download
from service.printing import Printer, database_tiles
from service.routers.aggregate_query import Aggregates
from service.routers.hotspots import Bandwidth, Edge, WithCrimes, heat_map_sheet, hot_spot_sheet
from service.routers.lighting_map import PATH as LIGHTING_MAP
from service.routers.lighting_map import Filters as LightingFilters
from service.routers.lighting_map import lighting_map_sheet
from service.routers.maps import ward_map_sheet
from service.routers.summaries import ClassScheme, ward_summary_sheet
from service.routers.walks import Anyone, Within, walk_map_sheet

router = APIRouter(tags=["maps"], include_in_schema=False)

Format = Annotated[PrintFormat, Path(description="png (A4, 2246 by 1588 px) or pdf (one A4 page)")]


def _printed(
    request: Request,
    session: SessionDep,
    sheet: MapSheet,
    fmt: PrintFormat,
    *,
    page: str,
    name: str,
) -> Response:
    # The page is built; release its connection while Chromium draws (seconds, not
    # milliseconds). Tiles bring sessions of their own.
    session.close()
    printer: Printer = request.app.state.printer
    body = printer.print(
        sheet,
        fmt,
        path=page,
        query=request.url.query,
        assets_dir=request.app.state.assets_dir,
        tiles=database_tiles(request.app.state.engine),
    )
    return print_download(body, fmt, name=name)


@router.get(
    "/maps/wards.{fmt}",
    operation_id="print_ward_map",
    response_class=Response,
    dependencies=[Depends(Allow(*EVERYONE))],
)
def print_ward_map(
    request: Request,
    session: SessionDep,
    fmt: Format,
    borough: Annotated[str | None, Query(max_length=100)] = None,
) -> Response:
    """The ward map on an A4 sheet."""
    sheet = ward_map_sheet(request, session, borough)
    return _printed(request, session, sheet, fmt, page="/maps/wards", name="wards")


@router.get(
    "/maps/wards/summary.{fmt}", operation_id="print_ward_summary_map", response_class=Response
)
def print_ward_summary_map(
    request: Request,
    session: SessionDep,
    query: Aggregates,
    fmt: Format,
    classes: ClassScheme = DEFAULT_SCHEME,
) -> Response:
    """The ward summary choropleth on an A4 sheet."""
    sheet = ward_summary_sheet(request, session, query, classes=classes)
    return _printed(
        request, session, sheet, fmt, page="/maps/wards/summary", name="ward-summary-map"
    )


@router.get("/maps/hotspots.{fmt}", operation_id="print_hot_spot_map", response_class=Response)
def print_hot_spot_map(
    request: Request,
    session: SessionDep,
    query: Aggregates,
    fmt: Format,
    edge: Edge = 500,
    crimes: WithCrimes = False,
) -> Response:
    """The hot-spot map on an A4 sheet."""
    sheet = hot_spot_sheet(request, session, query, edge, crimes)
    return _printed(request, session, sheet, fmt, page="/maps/hotspots", name="hot-spot-map")


@router.get("/maps/heatmap.{fmt}", operation_id="print_heatmap", response_class=Response)
def print_heatmap(
    request: Request,
    session: SessionDep,
    query: Aggregates,
    fmt: Format,
    edge: Edge = 500,
    bandwidth: Bandwidth = None,
    crimes: WithCrimes = False,
) -> Response:
    """The heatmap on an A4 sheet."""
    sheet = heat_map_sheet(request, session, query, edge, bandwidth, crimes)
    return _printed(request, session, sheet, fmt, page="/maps/heatmap", name="heatmap")


@router.get(
    LIGHTING_MAP + ".{fmt}",
    operation_id="print_lighting_map",
    response_class=Response,
    response_model=None,
)
def print_lighting_map(
    request: Request, session: SessionDep, principal: Anyone, fmt: Format, filters: LightingFilters
) -> Response | RedirectResponse:
    """The lighting map on an A4 sheet, for those who may see the page (the public sign in)."""
    if principal.is_public:
        query = f"?{request.url.query}" if request.url.query else ""
        return RedirectResponse(f"/login?next={LIGHTING_MAP}.{fmt}{query}", status_code=303)
    sheet = lighting_map_sheet(request, session, principal, filters)
    return _printed(request, session, sheet, fmt, page=LIGHTING_MAP, name="lighting-map")


@router.get(
    "/maps/walks/{walk_id}.{fmt}",
    operation_id="print_walk_map",
    response_class=Response,
    response_model=None,
)
def print_walk_map(
    request: Request,
    session: SessionDep,
    principal: Anyone,
    walk_id: uuid.UUID,
    fmt: Format,
    within: Within = 50,
) -> Response | RedirectResponse:
    """The walk map on an A4 sheet, for those who may see the page (the public sign in first)."""
    if principal.is_public:
        return RedirectResponse(f"/login?next=/maps/walks/{walk_id}.{fmt}", status_code=303)
    sheet = walk_map_sheet(request, session, principal, walk_id, within)
    page = f"/maps/walks/{walk_id}"
    return _printed(request, session, sheet, fmt, page=page, name=f"walk-{walk_id}")
