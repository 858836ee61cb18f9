"""``GET /tiles/{z}/{x}/{y}.mvt``: the base map as vector tiles, for every role.

Streets, parks and water come from the OpenStreetMap extracts loaded with ``walktalk osm load``
(© OpenStreetMap contributors, ODbL); ward and borough lines from the boundary data. Nothing in
a tile is about people: it is the same for everyone and may be cached.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Response

from service.auth import EVERYONE, Allow
from service.db import ReadSessionDep
from service.errors import InvalidInput
from service.queries import osm as queries

router = APIRouter(tags=["maps"])
MVT = "application/vnd.mapbox-vector-tile"


@router.get(
    "/tiles/{z}/{x}/{y}.mvt",
    operation_id="base_map_tile",
    dependencies=[Depends(Allow(*EVERYONE))],
    response_class=Response,
    responses={200: {"content": {MVT: {}}, "description": "a Mapbox Vector Tile"}},
)
def base_map_tile(
    session: ReadSessionDep,
    z: Annotated[int, Path(ge=0, le=queries.MAX_ZOOM)],
    x: Annotated[int, Path(ge=0)],
    y: Annotated[int, Path(ge=0)],
) -> Response:
    """One tile of the base map: layers water, parks, streets, lamps, wards and boroughs."""
    if x >= 2**z or y >= 2**z:
        raise InvalidInput(
            f"tile {z}/{x}/{y} does not exist: at zoom {z}, x and y run from 0 to {2**z - 1}"
        )
    tile = queries.vector_tile(session, z, x, y)
    return Response(tile, media_type=MVT, headers={"Cache-Control": "public, max-age=3600"})
