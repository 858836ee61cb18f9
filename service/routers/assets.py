"""Street lights and cameras already on the ground, as JSON for maps.

``GET /assets`` gives the assets in a box (a map's view) as GeoJSON; ``GET /assets/inventories``
the files they came from, each with the area it covers (where "no light here" may be said)
and the attribution to show with them. Who may read them is ``policy.SEE_ASSETS``.
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field

from geo.assets import GB_BOUNDS
from service import policy
from service.auth import Allow
from service.db import SessionDep
from service.errors import InvalidInput, InvalidParameter
from service.queries import assets as queries
from service.routers.ogc import parse_bbox

router = APIRouter(tags=["assets"], dependencies=[Depends(Allow(*policy.SEE_ASSETS))])

#: The widest box served, in km each way: a few wards, enough for a planner's street view.
MAX_BOX_KM = 10.0
#: The most assets one answer holds; a denser box is refused (zoom in) rather than cut short,
#: so a map never shows a street as dark because its lamps fell past a limit.
MAX_ASSETS = 20_000
_KM_PER_DEGREE = 111.32
Kind = Literal["light", "camera"]


class PointGeometry(BaseModel):
    """A GeoJSON Point, WGS84 longitude then latitude."""

    type: Literal["Point"] = "Point"
    coordinates: tuple[float, float]


class AssetProperties(BaseModel):
    """What is known of one street light or camera."""

    kind: Kind
    ref: str | None = Field(description="the council's id, or street and postcode")
    inventory: str = Field(description="the inventory (file) it came from")
    ward_code: str | None = Field(description="its ward in the active set; null outside them")
    borough_code: str | None
    properties: dict[str, str | int | float] = Field(
        description="the other columns of the council's file, as written"
    )


class AssetFeature(BaseModel):
    """One asset as a GeoJSON Feature."""

    type: Literal["Feature"] = "Feature"
    id: int
    geometry: PointGeometry
    properties: AssetProperties


class AssetCollection(BaseModel):
    """The assets in a box, as a GeoJSON FeatureCollection."""

    type: Literal["FeatureCollection"] = "FeatureCollection"
    features: list[AssetFeature]
    numberMatched: int  # noqa: N815 - the OGC API Features name
    numberReturned: int  # noqa: N815
    attribution: list[str] = Field(description="lines to show with a map of these assets")


class InventoryProperties(BaseModel):
    """One inventory: where its assets came from, how many, and what it covers."""

    name: str
    kind: Kind
    file_name: str
    assets: int
    in_wards: int = Field(description="assets inside the active wards")
    rows_skipped: int
    attribution: str
    coverage_note: str = Field(description="how the covered area was decided")
    loaded_at: datetime
    loaded_by: str


class InventoryFeature(BaseModel):
    """An inventory as a GeoJSON Feature whose geometry is the area it covers."""

    type: Literal["Feature"] = "Feature"
    geometry: dict[str, Any] = Field(description="the covered area, a GeoJSON MultiPolygon")
    properties: InventoryProperties


class InventoryCollection(BaseModel):
    """Every inventory, as a GeoJSON FeatureCollection of the areas they cover."""

    type: Literal["FeatureCollection"] = "FeatureCollection"
    features: list[InventoryFeature]


def asset_box(
    bbox: Annotated[
        str,
        Query(
            max_length=200,
            description="minlon,minlat,maxlon,maxlat in WGS84 degrees, at most "
            f"{MAX_BOX_KM:g} km each way",
            examples=["-0.125,51.495,-0.085,51.512"],
        ),
    ],
) -> tuple[float, float, float, float]:
    """The ``bbox`` parameter, checked as the OGC routes check theirs, and not too large."""
    try:
        box = parse_bbox(bbox)
    except InvalidParameter as exc:
        raise InvalidInput(exc.detail) from None
    if box is None:
        raise InvalidInput("bbox is empty: send bbox=minlon,minlat,maxlon,maxlat in degrees")
    west, south, east, north = box
    gb_west, gb_south, gb_east, gb_north = GB_BOUNDS
    if east < gb_west or west > gb_east or north < gb_south or south > gb_north:
        raise InvalidInput(
            f"bbox {bbox!r} lies outside Great Britain, where every asset is: longitude comes "
            "first (minlon,minlat,maxlon,maxlat), e.g. bbox=-0.125,51.495,-0.085,51.512"
        )
    middle = math.radians((south + north) / 2)
    wide = (east - west) * _KM_PER_DEGREE * math.cos(middle)
    high = (north - south) * _KM_PER_DEGREE
    if max(wide, high) > MAX_BOX_KM:
        raise InvalidInput(
            f"bbox {bbox!r} is {wide:,.1f} km by {high:,.1f} km: at most {MAX_BOX_KM:g} km "
            "each way is served; zoom in"
        )
    return box


@router.get("/assets", operation_id="list_assets", response_model=AssetCollection)
def list_assets(
    session: SessionDep,
    box: Annotated[tuple[float, float, float, float], Depends(asset_box)],
    kind: Kind | None = None,
) -> AssetCollection:
    """Street lights and cameras in a box (a map's view), as GeoJSON."""
    matched, rows = queries.assets_in_box(session, box, kind=kind, limit=MAX_ASSETS)
    if matched > MAX_ASSETS:
        raise InvalidInput(
            f"the box holds {matched:,} assets, more than {MAX_ASSETS:,} are served at once: "
            "zoom in, or ask for one kind"
        )
    return AssetCollection(
        features=[
            AssetFeature(
                id=r["id"],
                geometry=PointGeometry(coordinates=(r["lon"], r["lat"])),
                properties=AssetProperties(**r),
            )
            for r in rows
        ],
        numberMatched=matched,
        numberReturned=len(rows),
        attribution=sorted({r["attribution"] for r in rows}),
    )


@router.get(
    "/assets/inventories", operation_id="list_asset_inventories", response_model=InventoryCollection
)
def list_asset_inventories(session: SessionDep) -> InventoryCollection:
    """Every inventory of street lights and cameras, with the area it covers."""
    return InventoryCollection(
        features=[
            InventoryFeature(
                geometry=i.coverage,
                properties=InventoryProperties(
                    **{k: v for k, v in i.__dict__.items() if k != "coverage"}
                ),
            )
            for i in queries.list_inventories(session)
        ]
    )
