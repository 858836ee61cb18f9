"""The planners' lists: requests ranked by their evidence, and the gaps nobody has asked about.

``GET /lighting/ranking`` and ``GET /lighting/gaps``, as GeoJSON, and as CSV, GeoJSON or
GeoPackage files (``.csv``, ``.geojson``, ``.gpkg``; ``?crs=27700`` for the National Grid),
each with its method note. Counts follow the disclosure rule of the caller (exact for
supervisors over their own boroughs): below k a count is "fewer than k"; the ranking itself is
made on exact counts inside, which a rank does not reveal.
"""

from __future__ import annotations

import json
from typing import Annotated, Literal

import geopandas as gpd
import pandas as pd
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse, Response
from shapely.geometry import Point

from geo.disclosure import DisclosureRule
from service import policy, schemas
from service.auth import Allow, Principal
from service.db import ReadSessionDep
from service.errors import InvalidInput
from service.exports import EXPORT_TYPES, ExportFormat, check_crs, download, geopackage
from service.queries import requests as request_queries
from service.queries.evidence import EvidenceWeights, protect_evidence, request_evidence
from service.queries.gaps import lighting_gaps
from service.routers.aggregate_query import AggregateRequest, Aggregates, disclosure_for
from service.routers.hotspots import hot_spot_cells

router = APIRouter(tags=["lighting"])
Viewer = Annotated[Principal, Depends(Allow(*policy.SEE_REQUESTS))]
Within = Annotated[
    float, Query(gt=0, le=500, description="metres from a request or a report (default 50)")
]
Crs = Annotated[int, Query(description="CRS of the CSV's WKT and the GeoPackage: 4326 or 27700")]
Edge = Annotated[int, Query(description="hexagon edge in metres: 250, 500, 1000 or 2000")]
Kind = Literal["lighting", "cctv", "vegetation", "other"]
#: The evidence counts, as their columns are headed in files.
COUNT_LABELS = {
    "total": "reports and concerns",
    "lighting": "about lighting",
    "dark": "in the dark",
    "months": "distinct months",
}


def weights(request: Request) -> EvidenceWeights:
    """The score's weights, from settings."""
    s = request.app.state.settings
    return EvidenceWeights(
        total=s.evidence_weight_total,
        lighting=s.evidence_weight_lighting,
        dark=s.evidence_weight_dark,
        months=s.evidence_weight_months,
    )


def ranking_frame(
    request: Request,
    session: ReadSessionDep,
    principal: Principal,
    within: float,
    kind: str | None,
    bid_reference: str | None,
) -> tuple[gpd.GeoDataFrame, list[str]]:
    """The caller's requests with their evidence, as she may see it, and the method note."""
    scope = request_queries.RequestScope(**policy.request_scope(principal))
    listed = request_queries.list_requests(
        session, scope, request_queries.Filters(kind=kind, bid_reference=bid_reference)
    )
    ids = [row["id"] for row in listed]
    scoring = weights(request)
    found = request_evidence(session, within=within, weights=scoring, request_ids=ids)
    boroughs = tuple(sorted({str(b) for b in found["borough_code"].dropna()}))
    rule = disclosure_for(request, principal, boroughs)
    shown = protect_evidence(found, rule)
    places = {row["id"]: Point(row["lon"], row["lat"]) for row in listed}
    extra = {row["id"]: row for row in listed}
    shown["title"] = [extra[i]["title"] for i in shown["id"]]
    shown["partner"] = [extra[i]["partner_team"] for i in shown["id"]]
    shown["ward"] = [extra[i]["ward_name"] for i in shown["id"]]
    frame = gpd.GeoDataFrame(
        shown.drop(columns=["id"]),
        geometry=[places[i] for i in shown["id"]],
        crs=4326,
    )
    return frame, _ranking_note(within, scoring, rule)


def _ranking_note(within: float, w: EvidenceWeights, rule: DisclosureRule | None) -> list[str]:
    return [
        "Requests to partners ranked by the evidence near each: published reports and walk "
        f"concerns within {within:g} m of the request's point, or of its stretch, measured on "
        "the British National Grid.",
        f"The {w.describe()}; ranks are within the request's borough and its ward (1 is the "
        "strongest) and are made on exact counts.",
        "Period: every published report and walk concern held, of any date.",
        "Counts are exact (a supervisor's own boroughs)." if rule is None else
        f"Counts under {rule.k} are shown as 'fewer than {rule.k}'; the others are rounded "
        f"to the nearest {rule.base}.",
    ]


@router.get(
    "/lighting/ranking",
    operation_id="lighting_ranking",
    response_class=Response,
    responses=schemas.geojson(
        schemas.FeatureCollection,
        "GeoJSON FeatureCollection of streets, with the method",
    ),
)
def get_ranking(
    request: Request,
    session: ReadSessionDep,
    principal: Viewer,
    within: Within = 50,
    kind: Kind | None = None,
    bid_reference: Annotated[str | None, Query(max_length=100)] = None,
) -> JSONResponse:
    """The caller's requests ranked by their evidence (GeoJSON; ``method`` says how)."""
    frame, note = ranking_frame(request, session, principal, within, kind, bid_reference)
    body = json.loads(_geojson(frame))
    return JSONResponse({**body, "method": note}, media_type="application/geo+json")


@router.get(
    "/lighting/ranking.{fmt}",
    operation_id="export_lighting_ranking",
    response_class=Response,
    responses={200: {"content": schemas.export_content(EXPORT_TYPES)}},
)
def export_ranking(
    request: Request,
    session: ReadSessionDep,
    principal: Viewer,
    fmt: ExportFormat,
    within: Within = 50,
    kind: Kind | None = None,
    bid_reference: Annotated[str | None, Query(max_length=100)] = None,
    crs: Crs = 4326,
) -> Response:
    """Download the ranking: CSV (with its method note), GeoJSON or GeoPackage."""
    check_crs(crs)
    frame, note = ranking_frame(request, session, principal, within, kind, bid_reference)
    body = export_file(frame, fmt, crs, note, layer="ranking")
    return download(body, fmt, name="lighting-ranking")


@router.get(
    "/lighting/gaps",
    operation_id="lighting_gaps",
    response_class=Response,
    responses=schemas.geojson(
        schemas.FeatureCollection,
        "GeoJSON FeatureCollection of unlit stretches, with the method",
    ),
)
def get_gaps(
    session: ReadSessionDep,
    query: Aggregates,
    principal: Viewer,
    within: Within = 50,
    edge: Edge = 250,
) -> JSONResponse:
    """Hot spots with lighting reports in the dark that nothing answers (GeoJSON)."""
    frame, note = gaps_for(session, query, within, edge)
    body = json.loads(_geojson(frame))
    return JSONResponse({**body, "method": note}, media_type="application/geo+json")


@router.get(
    "/lighting/gaps.{fmt}",
    operation_id="export_lighting_gaps",
    response_class=Response,
    responses={200: {"content": schemas.export_content(EXPORT_TYPES)}},
)
def export_gaps(
    session: ReadSessionDep,
    query: Aggregates,
    principal: Viewer,
    fmt: ExportFormat,
    within: Within = 50,
    edge: Edge = 250,
    crs: Crs = 4326,
) -> Response:
    """Download the gaps: CSV (with its method note), GeoJSON or GeoPackage."""
    check_crs(crs)
    frame, note = gaps_for(session, query, within, edge)
    return download(export_file(frame, fmt, crs, note, layer="gaps"), fmt, name="lighting-gaps")


def gaps_for(
    session: ReadSessionDep, query: AggregateRequest, within: float, edge: int
) -> tuple[gpd.GeoDataFrame, list[str]]:
    """The gaps among the caller's hot spots, their counts as she may see them, and the note.

    The gaps routes' one call, and the lighting map's (``service.routers.lighting_map``).
    """
    cells = hot_spot_cells(session, query, edge, with_crimes=False)
    hot = cells.cells[cells.cells["class"].fillna("").str.startswith("hot")]
    found = lighting_gaps(session, hot[["i", "j", "geometry"]], within=within)
    counts = ("dark_lighting", "unanswered", "near_light", "near_lit_way", "near_request")
    shown = protect_evidence(found, query.rule, counts)
    note = [
        *cells.note,
        "Gaps: hot-spot hexagons wholly inside a street-light inventory's coverage holding "
        "published reports about poor lighting made in the dark, of which some have no street "
        f"light, lamp or lit way (OpenStreetMap) and no open lighting request within {within:g} "
        "m. Outside every inventory's coverage no gap is claimed.",
    ]
    return gpd.GeoDataFrame(shown, geometry="geometry", crs=4326), note


def _geojson(frame: gpd.GeoDataFrame) -> str:
    plain = frame.copy()
    for column in plain.columns:
        if pd.api.types.is_datetime64_any_dtype(plain[column]):
            plain[column] = plain[column].astype(str)
    return str(plain.to_json(drop_id=True, na="null"))


def export_file(
    frame: gpd.GeoDataFrame, fmt: str, crs: int, note: list[str], *, layer: str
) -> bytes:
    """``frame`` as a GeoJSON, GeoPackage or CSV file in ``crs``, carrying its method note."""
    if fmt == "geojson":
        return json.dumps({**json.loads(_geojson(frame)), "method": note}).encode()
    if fmt == "gpkg":
        return geopackage(frame, layer=layer, crs=crs, note=note)
    if fmt == "csv":
        table = frame.to_crs(crs) if crs != 4326 else frame
        out = pd.DataFrame(table.drop(columns="geometry"))
        out["wkt"] = table.geometry.to_wkt()
        out["notes"] = [" ".join(note)] + [""] * (len(out) - 1) if len(out) else []
        return str(out.rename(columns=COUNT_LABELS).to_csv(index=False)).encode()
    raise InvalidInput(f"no {fmt} file: choose .csv, .geojson or .gpkg")
