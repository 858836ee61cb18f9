"""Routes along streets: a drawn line taken onto the loaded street network.

``POST /routes/snap`` answers the route editor's "Follow the streets": the line the officer
drew, as the walk along the streets from its start through its bends to its end, for her to
check before she saves it. Staff only: a drawn route is a buddy's way home.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Depends
from pydantic import BaseModel, Field

from geo.routes import InvalidRoute, check_route, route_length_m
from service import policy
from service.auth import Allow
from service.db import SessionDep
from service.errors import InvalidInput
from service.queries import routing as queries

router = APIRouter(tags=["walks"], dependencies=[Depends(Allow(*policy.STAFF))])

_EXAMPLE = {
    "type": "LineString",
    "coordinates": [[-0.1104, 51.4956], [-0.1060, 51.4952], [-0.1008, 51.4949]],
}


class LineStringGeometry(BaseModel):
    """A GeoJSON LineString, WGS84 longitude then latitude."""

    type: Literal["LineString"] = "LineString"
    coordinates: list[tuple[float, float]]


class SnapFigures(BaseModel):
    """How long the line is along the streets, and as it was drawn."""

    length_m: float = Field(description="the line along the streets, metres")
    drawn_length_m: float = Field(description="the line as drawn, metres")


class SnappedRoute(BaseModel):
    """The drawn line along the streets, as a GeoJSON Feature."""

    type: Literal["Feature"] = "Feature"
    geometry: LineStringGeometry
    properties: SnapFigures


@router.post(
    "/routes/snap",
    operation_id="snap_route",
    response_model=SnappedRoute,
    responses={422: {"description": "not a route, or no street near it or joining it up"}},
)
def snap_route(
    session: SessionDep,
    drawn: Annotated[
        dict[str, Any],
        Body(
            description="the drawn line: a GeoJSON LineString, or a Feature with one",
            examples=[_EXAMPLE],
        ),
    ],
) -> SnappedRoute:
    """The drawn line taken onto the streets, for the officer to check before saving it.

    Each end goes to the nearest street within 100 m, each bend between them likewise, and
    the shortest walk along the streets joins them in order. Nothing is stored. A line that is
    not a route, or has no street near an end, or whose streets do not join up, is refused
    with what to do (draw nearer a street, or keep the line as drawn).
    """
    try:
        line = check_route(drawn)
    except InvalidRoute as exc:
        raise InvalidInput(str(exc)) from None
    snapped = queries.snap_route(session, line)
    return SnappedRoute(
        geometry=LineStringGeometry(
            coordinates=[(round(x, 7), round(y, 7)) for x, y, *_ in snapped.coords]
        ),
        properties=SnapFigures(
            length_m=round(route_length_m(snapped), 1),
            drawn_length_m=round(route_length_m(line), 1),
        ),
    )
