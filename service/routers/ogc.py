"""OGC API - Features (Part 1: Core, GeoJSON) over the reports, so QGIS can add them as a layer.

In QGIS: Layer > Add Layer > Add WFS / OGC API - Features Layer, URL ``…/ogc``, with an
authentication configuration that sends ``Authorization: Bearer <token>`` (officers and
supervisors only: these are exact points).
"""

from __future__ import annotations

import dataclasses
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from sqlalchemy import text

from service.auth import EVERYONE, Allow
from service.db import SessionDep
from service.errors import NotFound
from service.queries import reports as queries
from service.queries.wards import require_active_ward_set
from service.routers.reports import GEOJSON, MAX_PAGE, Filters, Staff, list_reports

router = APIRouter(prefix="/ogc", tags=["OGC API - Features"])
Anyone = Depends(Allow(*EVERYONE))
OPENAPI_TYPE = "application/vnd.oai.openapi+json;version=3.0"
CONFORMANCE = [
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
]


def _link(request: Request, path: str, rel: str, media: str, title: str) -> dict[str, str]:
    return {
        "href": str(request.base_url).rstrip("/") + path,
        "rel": rel,
        "type": media,
        "title": title,
    }


def _collection(request: Request, bbox: list[float]) -> dict[str, Any]:
    return {
        "id": "reports",
        "title": "Places where people felt unsafe",
        "description": (
            "Anonymous reports of places where someone felt unsafe (a feeling, not a crime), "
            "with walk concerns; exact points, for officers and supervisors only."
        ),
        "extent": {
            "spatial": {"bbox": [bbox], "crs": "http://www.opengis.net/def/crs/OGC/1.3/CRS84"}
        },
        "itemType": "feature",
        "crs": ["http://www.opengis.net/def/crs/OGC/1.3/CRS84"],
        "links": [
            _link(request, "/ogc/collections/reports", "self", "application/json", "this"),
            _link(request, "/ogc/collections/reports/items", "items", GEOJSON, "reports"),
        ],
    }


def _extent(session: SessionDep) -> list[float]:
    active = require_active_ward_set(session)
    box = session.execute(
        text(
            "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM "
            "(SELECT ST_Extent(geom) AS e FROM wards WHERE ward_set_id = :id) x"
        ),
        {"id": active.id},
    ).one()
    return [round(float(v), 6) for v in box]


@router.get("", operation_id="ogc_landing", dependencies=[Anyone])
def landing(request: Request) -> dict[str, Any]:
    """The landing page: where the API description, conformance and collections are."""
    return {
        "title": "Walk and Talk Maps",
        "description": "Unsafe-place reports on London ward boundaries (OGC API - Features)",
        "links": [
            _link(request, "/ogc", "self", "application/json", "this document"),
            _link(request, "/openapi.json", "service-desc", OPENAPI_TYPE, "API definition"),
            _link(request, "/docs", "service-doc", "text/html", "API documentation"),
            _link(request, "/ogc/conformance", "conformance", "application/json", "conformance"),
            _link(request, "/ogc/collections", "data", "application/json", "collections"),
        ],
    }


@router.get("/conformance", operation_id="ogc_conformance", dependencies=[Anyone])
def conformance() -> dict[str, list[str]]:
    """The conformance classes this API implements."""
    return {"conformsTo": CONFORMANCE}


@router.get("/collections", operation_id="ogc_collections", dependencies=[Anyone])
def collections(request: Request, session: SessionDep) -> dict[str, Any]:
    """The feature collections."""
    return {
        "collections": [_collection(request, _extent(session))],
        "links": [_link(request, "/ogc/collections", "self", "application/json", "this")],
    }


@router.get("/collections/reports", operation_id="ogc_collection", dependencies=[Anyone])
def collection(request: Request, session: SessionDep) -> dict[str, Any]:
    """The reports collection."""
    return _collection(request, _extent(session))


@router.get(
    "/collections/reports/items",
    operation_id="ogc_items",
    response_class=Response,
    responses={200: {"content": {GEOJSON: {}}}},
)
def items(
    request: Request,
    session: SessionDep,
    principal: Staff,
    selection: Filters,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 100,
    after: uuid.UUID | None = None,
) -> Response:
    """Reports as GeoJSON items, with ``next`` links (same filters as ``GET /reports``)."""
    return list_reports(request, session, principal, selection, limit=limit, after=after)


@router.get(
    "/collections/reports/items/{report_id}",
    operation_id="ogc_item",
    response_class=Response,
    responses={200: {"content": {GEOJSON: {}}}},
)
def item(session: SessionDep, selection: Filters, report_id: uuid.UUID) -> Response:
    """One report in the caller's scope."""
    one = dataclasses.replace(selection, report_id=report_id)
    features, _ = queries.report_features(session, one, limit=1)
    if not features:
        raise NotFound(f"no report {report_id} in your scope")
    return Response(features[0], media_type=GEOJSON)
