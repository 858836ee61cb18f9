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
from maps.classes import DEFAULT_SCHEME, SCHEMES, UnknownScheme, check_scheme
from maps.printing import MapSheet
from maps.summary import render_summary_map
from service import schemas, summary_tables
from service.auth import PrincipalDep
from service.db import ReadSessionDep
from service.errors import InvalidInput, PayloadTooLarge
from service.exports import EXPORT_TYPES, CsvLayout, ExportFormat, check_crs, download
from service.method_note import period_for
from service.page_cache import cached_page
from service.printing import sheet_period
from service.queries import population as population_queries
from service.queries import summaries as queries
from service.queries.wards import require_active_ward_set
from service.routers.aggregate_query import AggregateRequest, Aggregates
from service.routers.maps import ASSET_URL, MAP_SIMPLIFY_M, page_controls, page_tiles

GEOJSON = "application/geo+json"
#: Largest uploaded area body: 10,000 vertices of GeoJSON are about 400 kB.
AREA_BODY_LIMIT = 2_000_000

router = APIRouter(tags=["summaries"])

ClassScheme = Annotated[
    str,
    Query(
        description="how the map classes reports per km²: "
        + ", ".join(SCHEMES)
        + f" (default {DEFAULT_SCHEME}, Fisher-Jenks natural breaks)"
    ),
]

Layout = Annotated[
    CsvLayout,
    Query(
        description="CSV layout: long (a row per ward and measure) or wide (a row per ward, "
        "a column per measure, borough totals last)"
    ),
]
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


def ward_summary_figures(
    session: ReadSessionDep, query: AggregateRequest, simplify_m: float | None
) -> WardSummary:
    """The wards' figures as the caller may see them, with the ward set and method note.

    Shared by the summary's JSON, exports, map page and the ``ward-summaries`` OGC collection,
    so every one of them applies the same disclosure rule.
    """
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


def ward_summary_collection(
    summary: WardSummary, query: AggregateRequest, *, notes: bool
) -> dict[str, Any]:
    """The ward summary as a GeoJSON FeatureCollection (``notes``: the note on every row)."""
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
    responses=schemas.geojson(schemas.FeatureCollection, "RFC 7946 FeatureCollection"),
)
def ward_summary(session: ReadSessionDep, query: Aggregates, simplify: Simplify = None) -> Response:
    """Figures per ward in scope, protected for every role but supervisors.

    Reports (``count``), rate per km², residents and women (apportioned by area from ONS
    LSOA estimates) with rates per 1,000 of each (``rate_withheld`` says why one is null),
    share in the dark, top categories, walks held and concerns raised, as a FeatureCollection
    of the wards. A suppressed figure is ``null``
    with its flag (``suppressed``, ``dark_suppressed``, ``walks_suppressed``,
    ``concerns_suppressed``) true, and nothing is derived from it.
    """
    summary = ward_summary_figures(session, query, simplify)
    body = json.dumps(ward_summary_collection(summary, query, notes=False), allow_nan=False)
    return Response(body, media_type=GEOJSON)


@router.get(
    "/wards/summary.{fmt}",
    operation_id="export_ward_summary",
    response_class=Response,
    responses={200: {"content": schemas.export_content(EXPORT_TYPES)}},
)
def export_ward_summary(
    session: ReadSessionDep,
    query: Aggregates,
    fmt: ExportFormat,
    crs: Annotated[int, Query(description="GeoPackage CRS: 4326 or 27700")] = 4326,
    simplify: Simplify = None,
    layout: Layout = "long",
) -> Response:
    """Download the ward summary: CSV (long or wide), GeoJSON or GeoPackage (4326 or 27700).

    The long CSV has one row per ward and measure, a suppressed value an empty ``value`` with
    ``suppressed`` true. The wide CSV (``layout=wide``) has one row per ward and one column
    per measure (with counts after dark, per category and per time of day), then a
    ``Borough total`` row per borough; a suppressed cell is empty and named in the row's
    ``Suppressed (empty) cells``. Every file carries the method note: a ``notes`` column (on
    the CSV's first row, on each feature of the GeoJSON and GeoPackage), and in the GeoPackage
    also a ``method_note`` table.
    """
    check_crs(crs)
    if layout != "long" and fmt != "csv":
        raise InvalidInput(f"layout={layout} is for the CSV: leave it out for {fmt}")
    if crs != 4326 and fmt != "gpkg":
        raise InvalidInput(
            f"crs={crs} is for the GeoPackage: GeoJSON is always WGS84 (RFC 7946) and the CSV "
            "has no geometry (join it on ward_code)"
        )
    summary = ward_summary_figures(session, query, simplify)
    notes = " ".join(summary.note)
    if fmt == "csv" and layout == "wide":
        body = summary_tables.ward_wide_csv(
            session, query.selection, query.rule, wards_shown=summary.wards, note=summary.note
        )
    elif fmt == "csv":
        table = queries.long_table(summary.wards, exact=query.exact, notes=notes)
        body = table.to_csv(index=False).encode()
    elif fmt == "geojson":
        collection = ward_summary_collection(summary, query, notes=True)
        body = json.dumps(collection, allow_nan=False).encode()
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
    response_model=schemas.Feature,
    openapi_extra={"requestBody": _AREA_BODY},
)
def area_summary(
    session: ReadSessionDep,
    query: Aggregates,
    uploaded: Annotated[Any, Depends(_uploaded_area)],
) -> JSONResponse:
    """The ward summary's figures for an uploaded area (e.g. a funding-bid area).

    The area must be a GeoJSON Polygon or MultiPolygon (or a Feature of one) in WGS84, of
    0.05 to 100 km², at most 10,000 vertices, mostly within the service area's wards and
    partly within your scope. An outline that crosses itself is repaired and the answer says
    so (``repaired``, ``warnings``) and carries the repaired outline. Only reports inside your
    scope are counted; the rate is per km² of the part inside it, and the rates per 1,000
    residents and women per the residents of that part (apportioned by area from ONS LSOA
    estimates). Walks are those of the wards at least half inside the area.
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
    # Residents of the part in scope, as only the reports there are counted.
    persons, females = population_queries.area_population(
        session, area.geometry, query.selection.boroughs
    )
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
                "persons": persons,
                "females": females,
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
def ward_summary_map(
    request: Request,
    session: ReadSessionDep,
    principal: PrincipalDep,
    query: Aggregates,
    classes: ClassScheme = DEFAULT_SCHEME,
) -> Response:
    """The ward summary as a choropleth of reports per km², with the filters and method note."""
    return cached_page(
        request,
        session,
        principal,
        lambda: ward_summary_sheet(request, session, query, classes=classes).html,
    )


def ward_summary_sheet(
    request: Request,
    session: ReadSessionDep,
    query: AggregateRequest,
    *,
    classes: str = DEFAULT_SCHEME,
) -> MapSheet:
    """The ward summary map page and the words of its printed sheet (page and print call it)."""
    try:
        check_scheme(classes)
    except UnknownScheme as exc:
        raise InvalidInput(f"classes: {exc}") from None
    summary = ward_summary_figures(session, query, MAP_SIMPLIFY_M)
    page = render_summary_map(
        summary.wards,
        ward_set=summary.ward_set,
        attribution=summary.attribution,
        filters=query.selection.describe(),
        method_note=summary.note,
        k=None if query.rule is None else query.rule.k,
        asset_url=ASSET_URL,
        tiles=page_tiles(request, session),
        controls=page_controls(request, session, schemes=True, export_path="/wards/summary"),
        classes=classes,
        rounding=None if query.rule is None else query.rule.base,
    )
    title = f"Ward summary: unsafe-place reports by ward ({summary.ward_set})"
    return MapSheet(page, title, sheet_period(session, query.selection), summary.note)


@router.get(
    "/boroughs/summary",
    operation_id="borough_summary",
    response_class=JSONResponse,
    response_model=schemas.BoroughSummary,
)
def borough_summary(session: ReadSessionDep, query: Aggregates) -> JSONResponse:
    """Borough totals of the ward summary, protected for every role but supervisors.

    One object per borough in scope: the ward summary's figures (``count``, rates, share in
    the dark, top categories, walks, concerns) and counts after dark, per category
    (``reports_<category>``) and per time of day (``reports_<time band>``), each with its
    ``*_suppressed`` flag. A borough is counted from its wards' exact figures and protected
    as one unit, so it need not equal the sum of its wards as shown.
    """
    answer = summary_tables.borough_summary(session, query.selection, query.rule)
    query.audit_exact_read(session, "read exact borough summary")
    return JSONResponse(
        {
            "boroughs": json.loads(answer.boroughs.to_json(orient="records")),
            "filters": query.selection.describe(),
            "disclosure": _disclosure(query),
            "method_note": answer.note,
        }
    )


@router.get(
    "/boroughs/summary.csv",
    operation_id="export_borough_summary",
    response_class=Response,
    responses={200: {"content": {EXPORT_TYPES["csv"]: {}}}},
)
def export_borough_summary(session: ReadSessionDep, query: Aggregates) -> Response:
    """Download the borough totals as a CSV: one row per borough, one column per measure."""
    answer = summary_tables.borough_summary(session, query.selection, query.rule)
    query.audit_exact_read(session, "read exact borough summary")
    return download(summary_tables.borough_csv(answer), "csv", name="borough-summary")
