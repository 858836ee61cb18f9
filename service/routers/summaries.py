"""Ward and area summaries: per ward (JSON, CSV, GeoJSON, GeoPackage, a map), per uploaded area.

Every role may ask; supervisors get exact figures, everyone else the protected ones
(``service.queries.summaries.protect_summary``). Registered before the wards router, so
``/wards/summary`` is not taken for a ward code.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Annotated, Any

import geopandas as gpd
import pandas as pd
from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import HTMLResponse, JSONResponse
from shapely.geometry import mapping

from geo.areas import InvalidArea, check_coverage, parse_area
from maps.summary import render_summary_map
from service.db import SessionDep
from service.errors import InvalidInput, PayloadTooLarge
from service.exports import EXPORT_TYPES, ExportFormat, check_crs, download
from service.method_note import period_for
from service.queries import summaries as queries
from service.queries.wards import require_active_ward_set
from service.routers.aggregate_query import AggregateRequest, Aggregates
from service.routers.maps import ASSET_URL, MAP_SIMPLIFY_M, page_controls

GEOJSON = "application/geo+json"
#: Largest uploaded area body: 10,000 vertices of GeoJSON are about 400 kB.
AREA_BODY_LIMIT = 2_000_000

router = APIRouter(tags=["summaries"])

Simplify = Annotated[
    float | None,
    Query(gt=0, le=1000, allow_inf_nan=False, description="simplify outlines by metres"),
]


@dataclass(frozen=True)
class WardSummary:
    """Protected figures per ward with their polygons, and what goes with them."""

    wards: gpd.GeoDataFrame
    note: list[str]
    ward_set: str
    attribution: str


def _ward_summary(
    session: SessionDep, query: AggregateRequest, simplify_m: float | None
) -> WardSummary:
    active = require_active_ward_set(session)
    exact, categories = queries.ward_figures(session, query.selection, simplify_m=simplify_m)
    shown = queries.protect_summary(exact.drop(columns="geometry"), categories, query.rule)
    wards = gpd.GeoDataFrame(shown, geometry=exact.geometry.values, crs=4326)
    note = queries.summary_note(
        query.selection,
        query.rule,
        unit=f"wards ({active.name})",
        synthetic=queries.synthetic_counted(session, query.selection),
        period=period_for(session, query.selection),
    )
    query.audit_exact_read(session, "read exact ward summary")
    return WardSummary(wards, note, active.name, active.attribution)


def _disclosure(query: AggregateRequest) -> dict[str, Any]:
    if query.rule is None:
        return {"exact": True}
    return {
        "exact": False,
        "k": query.rule.k,
        "rounding": query.rule.base,
        "suppressed_marker": "the count is null and its *suppressed flag is true",
    }


def _collection(summary: WardSummary, query: AggregateRequest, *, notes: bool) -> dict[str, Any]:
    frame = queries.rounded_geometry(summary.wards)
    if notes:
        frame = frame.assign(notes=" ".join(summary.note))
    collection = frame.to_geo_dict(na="null", drop_id=True)
    for feature, code in zip(collection["features"], frame["ward_code"], strict=True):
        feature["id"] = code
    # Foreign members (RFC 7946 section 6.1): what a program needs to read the figures right.
    collection.update(
        ward_set=summary.ward_set,
        attribution=summary.attribution,
        filters=query.selection.describe(),
        disclosure=_disclosure(query),
        method_note=summary.note,
    )
    return collection


@router.get(
    "/wards/summary",
    operation_id="ward_summary",
    response_class=Response,
    responses={200: {"content": {GEOJSON: {}}, "description": "RFC 7946 FeatureCollection"}},
)
def ward_summary(session: SessionDep, query: Aggregates, simplify: Simplify = None) -> Response:
    """Figures per ward in scope, protected for every role but supervisors.

    Reports (``count``), rate per km², share in the dark, top categories, walks held and
    concerns raised, as a FeatureCollection of the wards. A suppressed figure is ``null``
    with its flag (``suppressed``, ``dark_suppressed``, ``walks_suppressed``,
    ``concerns_suppressed``) true, and nothing is derived from it.
    """
    summary = _ward_summary(session, query, simplify)
    body = json.dumps(_collection(summary, query, notes=False), allow_nan=False)
    return Response(body, media_type=GEOJSON)


@router.get(
    "/wards/summary.{fmt}",
    operation_id="export_ward_summary",
    response_class=Response,
    responses={200: {"content": {t: {} for t in EXPORT_TYPES.values()}}},
)
def export_ward_summary(
    session: SessionDep,
    query: Aggregates,
    fmt: ExportFormat,
    crs: Annotated[int, Query(description="GeoPackage CRS: 4326 or 27700")] = 4326,
    simplify: Simplify = None,
) -> Response:
    """Download the ward summary: long-format CSV, GeoJSON or GeoPackage (4326 or 27700).

    The CSV has one row per ward and measure, a suppressed value an empty ``value`` with
    ``suppressed`` true. Every file carries the method note: a ``notes`` column (on the CSV's
    first row, on each feature of the GeoJSON and GeoPackage), and in the GeoPackage also a
    ``method_note`` table.
    """
    check_crs(crs)
    if crs != 4326 and fmt != "gpkg":
        raise InvalidInput(
            f"crs={crs} is for the GeoPackage: GeoJSON is always WGS84 (RFC 7946) and the CSV "
            "has no geometry (join it on ward_code)"
        )
    summary = _ward_summary(session, query, simplify)
    notes = " ".join(summary.note)
    if fmt == "csv":
        table = queries.long_table(summary.wards, exact=query.exact, notes=notes)
        body = table.to_csv(index=False).encode()
    elif fmt == "geojson":
        body = json.dumps(_collection(summary, query, notes=True), allow_nan=False).encode()
    else:
        frame = summary.wards.assign(notes=notes)
        body = queries.summary_geopackage(frame, summary.note, crs=crs)
    return download(body, fmt, name="ward-summary")


async def _uploaded_area(request: Request) -> Any:
    """The request body as JSON, refused when too large or not JSON."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > AREA_BODY_LIMIT:
        raise PayloadTooLarge(
            f"an area may be at most {AREA_BODY_LIMIT:,} bytes of GeoJSON: simplify it first"
        )
    body = await request.body()
    if len(body) > AREA_BODY_LIMIT:
        raise PayloadTooLarge(
            f"an area may be at most {AREA_BODY_LIMIT:,} bytes of GeoJSON: simplify it first"
        )
    try:
        return json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise InvalidInput(
            "the body is not JSON: send the area as a GeoJSON Polygon, MultiPolygon or Feature"
        ) from None


_AREA_BODY = {
    "required": True,
    "content": {
        "application/json": {
            "schema": {
                "type": "object",
                "description": "a GeoJSON Polygon or MultiPolygon (WGS84), or a Feature of one",
            },
            "example": {
                "type": "Polygon",
                "coordinates": [
                    [
                        [-0.120, 51.499],
                        [-0.105, 51.499],
                        [-0.105, 51.509],
                        [-0.120, 51.509],
                        [-0.120, 51.499],
                    ]
                ],
            },
        }
    },
}


@router.post(
    "/areas/summary",
    operation_id="area_summary",
    response_class=JSONResponse,
    openapi_extra={"requestBody": _AREA_BODY},
)
def area_summary(
    session: SessionDep,
    query: Aggregates,
    uploaded: Annotated[Any, Depends(_uploaded_area)],
) -> JSONResponse:
    """The ward summary's figures for an uploaded area (e.g. a funding-bid area).

    The area must be a GeoJSON Polygon or MultiPolygon (or a Feature of one) in WGS84, of
    0.05 to 100 km², at most 10,000 vertices, mostly within the service area's wards and
    partly within your scope. An outline that crosses itself is repaired and the answer says
    so (``repaired``, ``warnings``) and carries the repaired outline. Only reports inside your
    scope are counted; the rate is per km² of the part inside it. Walks are those of the wards
    at least half inside the area.
    """
    try:
        area = parse_area(uploaded)
        service_km2, scope_km2 = queries.area_coverage(
            session, area.geometry, query.selection.boroughs
        )
        warnings = check_coverage(
            area,
            service_km2=service_km2,
            scope_km2=scope_km2,
            scope=query.selection.boroughs,
        )
    except InvalidArea as exc:
        raise InvalidInput(str(exc)) from None
    figures = queries.area_figures(session, query.selection, area.geometry, scope_km2=scope_km2)
    exact = pd.DataFrame(
        [
            {
                "unit": "area",
                "area_km2": figures.area_km2,
                "scope_km2": figures.scope_km2,
                "reports": figures.reports,
                "dark": figures.dark,
                "walks": figures.walks,
                "concerns": figures.concerns,
            }
        ]
    )
    shown = queries.protect_summary(
        exact, figures.categories, query.rule, key="unit", rate_km2="scope_km2"
    )
    properties = json.loads(shown.drop(columns="unit").to_json(orient="records"))[0]
    properties.update(
        area_in_scope_km2=round(figures.scope_km2, 4),
        walk_wards=list(figures.walk_wards),
        repaired=area.repaired,
        warnings=[*area.warnings, *warnings],
    )
    properties.pop("scope_km2", None)
    note = queries.summary_note(
        query.selection,
        query.rule,
        unit="an uploaded area",
        synthetic=queries.synthetic_counted(session, query.selection),
        period=period_for(session, query.selection),
    )
    query.audit_exact_read(session, "read exact area summary", f"{figures.area_km2:.3f} km²")
    return JSONResponse(
        {
            "type": "Feature",
            "geometry": mapping(area.geometry),
            "properties": properties,
            "filters": query.selection.describe(),
            "disclosure": _disclosure(query),
            "method_note": note,
        }
    )


@router.get(
    "/maps/wards/summary",
    response_class=HTMLResponse,
    operation_id="ward_summary_map",
    include_in_schema=False,
)
def ward_summary_map(request: Request, session: SessionDep, query: Aggregates) -> HTMLResponse:
    """The ward summary as a choropleth of reports per km², with the filters and method note."""
    summary = _ward_summary(session, query, MAP_SIMPLIFY_M)
    page = render_summary_map(
        summary.wards,
        ward_set=summary.ward_set,
        attribution=summary.attribution,
        filters=query.selection.describe(),
        method_note=summary.note,
        k=None if query.rule is None else query.rule.k,
        asset_url=ASSET_URL,
        tiles=request.app.state.tiles,
        controls=page_controls(request, session, export_path="/wards/summary"),
    )
    return HTMLResponse(page)
