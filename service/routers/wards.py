"""Ward boundaries of the active set: list, one, and point lookup (everyone may read them)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response
from pydantic import BaseModel

from service import schemas
from service.auth import EVERYONE, Allow
from service.db import SessionDep
from service.queries import wards as queries

GEOJSON = "application/geo+json"
router = APIRouter(tags=["wards"], dependencies=[Depends(Allow(*EVERYONE))])

Longitude = Annotated[
    float, Query(ge=-180, le=180, allow_inf_nan=False, description="WGS84 longitude")
]
Latitude = Annotated[float, Query(ge=-90, le=90, allow_inf_nan=False, description="WGS84 latitude")]


class WardLookup(BaseModel):
    """The ward a point lies in."""

    code: str
    name: str
    borough_code: str
    borough_name: str
    ward_set: str


@router.get(
    "/wards",
    operation_id="list_wards",
    response_class=Response,
    responses=schemas.geojson(schemas.FeatureCollection, "RFC 7946 FeatureCollection"),
)
def list_wards(
    session: SessionDep,
    borough: Annotated[
        str | None, Query(description="borough GSS code (E09…) or name", max_length=100)
    ] = None,
    simplify: Annotated[
        float | None,
        Query(gt=0, le=1000, allow_inf_nan=False, description="tolerance in metres"),
    ] = None,
) -> Response:
    """The active wards as GeoJSON, optionally one borough's, optionally simplified."""
    body = queries.wards_geojson(session, borough=borough, simplify_m=simplify)
    return Response(body, media_type=GEOJSON)


@router.get("/wards/lookup", operation_id="lookup_ward", response_model=WardLookup)
def lookup_ward(session: SessionDep, lon: Longitude, lat: Latitude) -> WardLookup:
    """The active-set ward containing a point; 404 outside every ward."""
    hit = queries.lookup_ward(session, lon, lat)
    return WardLookup(**hit.__dict__)


@router.get(
    "/wards/{code}",
    operation_id="get_ward",
    response_class=Response,
    responses=schemas.geojson(schemas.Feature, "RFC 7946 Feature"),
)
def get_ward(session: SessionDep, code: str) -> Response:
    """One active ward as a GeoJSON Feature, with its area in hectares."""
    return Response(queries.ward_geojson(session, code), media_type=GEOJSON)
