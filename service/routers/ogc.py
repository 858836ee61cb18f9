"""OGC API - Features (Part 1: Core, GeoJSON): the protected aggregates and the reports, for QGIS.

In QGIS: Layer > Add Layer > Add WFS / OGC API - Features Layer, URL ``…/ogc``, and an
authentication configuration of the kind "API Header" with the header ``Authorization`` and
the value ``Bearer <token>`` (or none, to see what the public sees). Four collections:

- ``hexagons``: report counts per hexagon (``edge`` 250, 500, 1000 or 2000 m);
- ``hotspots``: the same hexagons with their Getis-Ord Gi* z, p and hot-spot class;
- ``ward-summaries``: the ward summary of ``GET /wards/summary``, one feature per ward;
- ``reports``: the exact report points, for officers and supervisors only (the collection list
  shows it to no one else).

The aggregates are the answers of ``/hotspots`` and ``/wards/summary`` themselves (the same
functions, the same ``Aggregates`` filters and disclosure rule): counts under k are
suppressed and the rest rounded for everyone but supervisors over their own boroughs. Paging
(``limit``, ``offset``, ``next`` links) and ``bbox`` only choose which of those protected
features a page carries. As the standard asks, a bad parameter answers 400 with what was
wrong, not 422.
"""

from __future__ import annotations

import dataclasses
import math
import uuid
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any

import geopandas as gpd
import shapely
from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from sqlalchemy import text

from geo.hexagons import check_edge
from service import schemas
from service.auth import EVERYONE, Allow, Principal, Role
from service.db import ReadSessionDep, SessionDep
from service.errors import InvalidInput, InvalidParameter, NotFound, describe_validation
from service.policy import STAFF
from service.queries import reports as queries
from service.queries.wards import require_active_ward_set
from service.routers import hotspots, summaries
from service.routers.aggregate_query import AggregateRequest, Aggregates
from service.routers.hotspots import Edge
from service.routers.reports import GEOJSON, MAX_PAGE, Filters, Staff, list_reports

OPENAPI_TYPE = "application/vnd.oai.openapi+json;version=3.0"
CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
SCHEMA_JSON = "application/schema+json"
#: The collections with a feature schema (the reports' items are typed by GET /reports).
_SCHEMAS = ("hexagons", "hotspots", "ward-summaries")
CONFORMANCE = [
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
]
#: The largest page of aggregate features; a larger ``limit`` is capped, not refused (the
#: standard's advice, so a client with a big page size still works).
MAX_ITEMS = 10_000
DEFAULT_ITEMS = 100
#: Gi* properties: the ``hotspots`` collection has them, the ``hexagons`` one does not.
_GI_STAR = ("z", "p", "p_fdr", "class")
_ITEMS_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {
        "content": {GEOJSON: schemas.content(schemas.FeatureCollection)},
        "description": "a GeoJSON FeatureCollection, one page",
    }
}
_ITEM_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {
        "content": {GEOJSON: schemas.content(schemas.Feature)},
        "description": "a GeoJSON Feature",
    }
}


class OgcRoute(APIRoute):
    """A route whose bad parameters answer 400 (OGC API - Features), not the service's 422."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        """The usual handler, with wrong parameters turned into :class:`InvalidParameter`."""
        handler = super().get_route_handler()
        # Only items are checked: GDAL and QGIS repeat the filters a person put in the items
        # URL on every request they make (landing page, collections), where none is defined.
        strict = self.path.endswith("/items")
        known: set[str] = set()
        dependants = [self.dependant]
        while dependants:  # the route's own parameters and its dependencies' (filters)
            current = dependants.pop()
            known.update(param.alias for param in current.query_params)
            dependants.extend(current.dependencies)

        async def answer(request: Request) -> Response:
            # OGC API - Features (/req/core/query-param-unknown): a parameter the API does
            # not define is a 400, not silently ignored (a client asking for another `crs`
            # would otherwise take CRS84 coordinates for its own).
            unknown = sorted(set(request.query_params) - known)
            if strict and unknown:
                raise InvalidParameter(
                    f"unknown query parameter {', '.join(map(repr, unknown))}: this request "
                    f"takes {', '.join(sorted(known)) or 'no parameters'} (coordinates are "
                    "always CRS84 longitude, latitude)"
                )
            try:
                return await handler(request)
            except RequestValidationError as exc:
                raise InvalidParameter(describe_validation(exc)) from None
            except InvalidParameter:
                raise
            except InvalidInput as exc:
                raise InvalidParameter(exc.detail, **exc.extra) from None

        return answer


router = APIRouter(prefix="/ogc", tags=["OGC API - Features"], route_class=OgcRoute)
Anyone = Depends(Allow(*EVERYONE))
Reader = Annotated[Principal, Anyone]


@dataclass(frozen=True)
class Collection:
    """A feature collection: what it holds and the roles that may read it."""

    id: str
    title: str
    description: str
    roles: tuple[Role, ...]


COLLECTIONS = (
    Collection(
        "hexagons",
        "Unsafe-place reports per hexagon",
        "Reports of places where someone felt unsafe (a feeling, not a crime), counted per "
        "hexagon of the British National Grid (edge 250, 500, 1000 or 2000 m: parameter "
        "`edge`). Protected: a count under k is null with `suppressed` true, the rest rounded "
        "(exact for supervisors over their own boroughs). Filters: month_from, month_to, "
        "category, dark, time_band, borough, source.",
        EVERYONE,
    ),
    Collection(
        "hotspots",
        "Hot spots of unsafe-place reports (Getis-Ord Gi*)",
        "The hexagons with their Getis-Ord Gi* z-score, p-value, FDR-adjusted p-value and "
        "hot-spot class, computed from the protected counts, as GET /hotspots answers.",
        EVERYONE,
    ),
    Collection(
        "ward-summaries",
        "Ward summary of unsafe-place reports",
        "One feature per ward with the measures of GET /wards/summary (reports, rate per km², "
        "share in the dark, top categories, walks and concerns), protected the same way.",
        EVERYONE,
    ),
    Collection(
        "reports",
        "Places where people felt unsafe",
        "Anonymous reports of places where someone felt unsafe (a feeling, not a crime), "
        "with walk concerns; exact points, for officers and supervisors only.",
        STAFF,
    ),
)
_BY_ID = {c.id: c for c in COLLECTIONS}

Limit = Annotated[
    int,
    Query(
        ge=1,
        description=f"features per page, at least 1; more than {MAX_ITEMS} gets {MAX_ITEMS}",
    ),
]
Offset = Annotated[
    int, Query(ge=0, description="features to skip (the `next` link sets it for you)")
]
BBoxText = Annotated[
    str | None,
    Query(
        description="minx,miny,maxx,maxy in WGS84 degrees (CRS84: longitude first); "
        "features that intersect it",
        examples=["-0.125,51.495,-0.085,51.512"],
    ),
]


def _link(request: Request, path: str, rel: str, media: str, title: str) -> dict[str, str]:
    return {
        "href": str(request.base_url).rstrip("/") + path,
        "rel": rel,
        "type": media,
        "title": title,
    }


def parse_bbox(value: str | None) -> tuple[float, float, float, float] | None:
    """A ``bbox`` parameter as (west, south, east, north), or None when not given.

    Four numbers, or six with heights (the heights are ignored), longitude first.

    Examples
    --------
    >>> parse_bbox("-0.12,51.49,-0.08,51.51")
    (-0.12, 51.49, -0.08, 51.51)

    """
    if value is None or value == "":
        return None
    parts = value.split(",")
    how = "send bbox=minx,miny,maxx,maxy in WGS84 degrees, e.g. bbox=-0.125,51.495,-0.085,51.512"
    if len(parts) not in (4, 6):
        raise InvalidParameter(f"bbox has {len(parts)} number(s), not 4 (or 6): {how}")
    try:
        numbers = [float(part) for part in parts]
    except ValueError:
        raise InvalidParameter(
            f"bbox {value!r} holds something that is not a number: {how}"
        ) from None
    if not all(math.isfinite(n) for n in numbers):
        raise InvalidParameter(f"bbox {value!r} holds a number that is not finite: {how}")
    west, south, east, north = numbers if len(numbers) == 4 else [numbers[i] for i in (0, 1, 3, 4)]
    if not (
        -180 <= west <= 180 and -180 <= east <= 180 and -90 <= south <= 90 and -90 <= north <= 90
    ):
        raise InvalidParameter(
            f"bbox {value!r} is outside -180..180 longitude, -90..90 latitude: longitude comes "
            f"first; {how}"
        )
    if south > north:
        raise InvalidParameter(f"bbox {value!r} has its south ({south}) above its north: {how}")
    if west > east:
        raise InvalidParameter(
            f"bbox {value!r} has its west ({west}) east of its east ({east}); a box across the "
            f"antimeridian is not served (London is far from it): {how}"
        )
    return west, south, east, north


def bbox_query(bbox: BBoxText = None) -> tuple[float, float, float, float] | None:
    """The ``bbox`` parameter, checked (the dependency the items routes take)."""
    return parse_bbox(bbox)


BBox = Annotated[tuple[float, float, float, float] | None, Depends(bbox_query)]


def _extent(session: ReadSessionDep) -> list[float]:
    active = require_active_ward_set(session)
    box = session.execute(
        text(
            "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM "
            "(SELECT ST_Extent(geom) AS e FROM wards WHERE ward_set_id = :id) x"
        ),
        {"id": active.id},
    ).one()
    return [round(float(v), 6) for v in box]


def _collection(request: Request, collection: Collection, bbox: list[float]) -> dict[str, Any]:
    base = f"/ogc/collections/{collection.id}"
    return {
        "id": collection.id,
        "title": collection.title,
        "description": collection.description,
        "extent": {"spatial": {"bbox": [bbox], "crs": CRS84}},
        "itemType": "feature",
        "crs": [CRS84],
        "links": [
            _link(request, base, "self", "application/json", "this collection"),
            _link(request, f"{base}/items", "items", GEOJSON, collection.title),
            *(
                [_link(request, f"{base}/schema", "describedby", SCHEMA_JSON, "feature schema")]
                if collection.id in _SCHEMAS
                else []
            ),
        ],
    }


def _readable(role: Role) -> list[Collection]:
    return [c for c in COLLECTIONS if role in c.roles]


@router.get("", operation_id="ogc_landing", dependencies=[Anyone])
def landing(request: Request) -> dict[str, Any]:
    """The landing page: where the API description, conformance and collections are."""
    return {
        "title": "Walk and Talk Maps",
        "description": (
            "Where people feel unsafe in London, on ward boundaries: protected counts per "
            "hexagon, hot spots and ward summaries for everyone; exact reports for officers "
            "and supervisors (OGC API - Features)"
        ),
        "links": [
            _link(request, "/ogc", "self", "application/json", "this document"),
            _link(request, "/openapi.json", "service-desc", OPENAPI_TYPE, "API definition"),
            _link(request, "/docs", "service-doc", "text/html", "API documentation"),
            _link(request, "/ogc/conformance", "conformance", "application/json", "conformance"),
            _link(request, "/ogc/collections", "data", "application/json", "collections"),
        ],
    }


@router.get("/", include_in_schema=False, dependencies=[Anyone])
def landing_with_slash(request: Request) -> dict[str, Any]:
    """The landing page at ``/ogc/`` too: the URL people paste into QGIS often ends in ``/``."""
    return landing(request)


@router.get("/conformance", operation_id="ogc_conformance", dependencies=[Anyone])
def conformance() -> dict[str, list[str]]:
    """The conformance classes this API implements."""
    return {"conformsTo": CONFORMANCE}


@router.get("/collections", operation_id="ogc_collections")
def collections(request: Request, session: ReadSessionDep, principal: Reader) -> dict[str, Any]:
    """The feature collections the caller may read (the reports only for officers, supervisors)."""
    extent = _extent(session)
    return {
        "collections": [_collection(request, c, extent) for c in _readable(principal.role)],
        "links": [_link(request, "/ogc/collections", "self", "application/json", "this")],
    }


@router.get("/collections/{collection_id}", operation_id="ogc_collection")
def collection(
    request: Request,
    session: ReadSessionDep,
    principal: Reader,
    collection_id: str,
) -> dict[str, Any]:
    """One collection's description; 404 for one the caller may not read (as the list says)."""
    found = _BY_ID.get(collection_id)
    if found is None or principal.role not in found.roles:
        offered = ", ".join(c.id for c in _readable(principal.role))
        raise NotFound(f"there is no collection {collection_id!r} for you: you may read {offered}")
    return _collection(request, found, _extent(session))


# --- items ---------------------------------------------------------------------------------


def _limit(limit: int) -> int:
    return min(limit, MAX_ITEMS)


def _within(frame: gpd.GeoDataFrame, bbox: tuple[float, float, float, float] | None) -> Any:
    """The rows of ``frame`` (EPSG:4326) whose geometry meets ``bbox``."""
    if bbox is None:
        return frame
    return frame[frame.geometry.intersects(shapely.box(*bbox))]


def _links(
    request: Request, collection_id: str, *, limit: int, offset: int, matched: int
) -> list[dict[str, str]]:
    links = [
        {"rel": "self", "type": GEOJSON, "href": str(request.url), "title": "this page"},
        _link(
            request,
            f"/ogc/collections/{collection_id}",
            "collection",
            "application/json",
            "the collection",
        ),
    ]
    if offset + limit < matched:
        links.append(
            {
                "rel": "next",
                "type": GEOJSON,
                "title": "next page",
                "href": str(request.url.include_query_params(offset=offset + limit, limit=limit)),
            }
        )
    if offset > 0:
        links.append(
            {
                "rel": "prev",
                "type": GEOJSON,
                "title": "previous page",
                "href": str(
                    request.url.include_query_params(offset=max(offset - limit, 0), limit=limit)
                ),
            }
        )
    return links


def _page(
    request: Request,
    collection_id: str,
    answer: dict[str, Any],
    *,
    limit: int,
    offset: int,
    matched: int,
) -> JSONResponse:
    """One page: the FeatureCollection ``answer`` with OGC's counts and links put in front."""
    features = answer.pop("features")
    answer.pop("type", None)
    body = {
        "type": "FeatureCollection",
        "numberMatched": matched,
        "numberReturned": len(features),
        "timeStamp": datetime.now(UTC).isoformat(timespec="seconds"),
        "links": _links(request, collection_id, limit=limit, offset=offset, matched=matched),
        **answer,
        "features": features,
    }
    return JSONResponse(body, media_type=GEOJSON)


def _cell_id(edge: int, i: int, j: int) -> str:
    return f"{edge}-{i}-{j}"


def _hexagon_features(
    answer: hotspots.HotSpotCells, query: AggregateRequest, *, gi_star: bool
) -> dict[str, Any]:
    """``/hotspots``'s FeatureCollection of these cells, with ids (and without Gi* if asked)."""
    collection = hotspots.feature_collection(answer, query.rule)
    for feature in collection["features"]:
        properties = feature["properties"]
        feature["id"] = _cell_id(answer.edge_m, properties["i"], properties["j"])
        properties["edge_m"] = answer.edge_m
        if not gi_star:
            for name in _GI_STAR:
                properties.pop(name, None)
    return collection


def _hexagon_page(
    request: Request,
    session: ReadSessionDep,
    query: AggregateRequest,
    *,
    collection_id: str,
    edge: int,
    bbox: tuple[float, float, float, float] | None,
    limit: int,
    offset: int,
) -> JSONResponse:
    # Gi* is computed over every cell of the area, then the page is cut: a bbox chooses
    # which cells are shown, never which cells a hot spot is tested against.
    answer = hotspots.hot_spot_cells(session, query, edge, with_crimes=False)
    chosen = _within(answer.cells, bbox)
    limit = _limit(limit)
    page = dataclasses.replace(answer, cells=chosen.iloc[offset : offset + limit])
    collection = _hexagon_features(page, query, gi_star=collection_id == "hotspots")
    return _page(
        request, collection_id, collection, limit=limit, offset=offset, matched=len(chosen)
    )


def _hexagon_item(
    request: Request,
    session: ReadSessionDep,
    query: AggregateRequest,
    *,
    collection_id: str,
    cell_id: str,
) -> JSONResponse:
    try:
        edge, i, j = (int(part) for part in cell_id.split("-"))
        check_edge(edge)
    except ValueError:
        raise NotFound(
            f"no hexagon {cell_id!r}: a hexagon's id is edge-i-j, e.g. 500-1061-191, as the "
            "items' `id` says"
        ) from None
    answer = hotspots.hot_spot_cells(session, query, edge, with_crimes=False)
    cells = answer.cells
    one = cells[(cells["i"] == i) & (cells["j"] == j)]
    if one.empty:
        raise NotFound(
            f"no hexagon {cell_id!r} in the boroughs asked for "
            f"({', '.join(query.selection.boroughs) or 'none'}): pass borough= to look elsewhere"
        )
    collection = _hexagon_features(
        dataclasses.replace(answer, cells=one), query, gi_star=collection_id == "hotspots"
    )
    return _item(request, collection_id, collection["features"][0])


def _item(request: Request, collection_id: str, feature: dict[str, Any]) -> JSONResponse:
    base = f"/ogc/collections/{collection_id}"
    feature["links"] = [
        {"rel": "self", "type": GEOJSON, "href": str(request.url), "title": "this feature"},
        _link(request, base, "collection", "application/json", "the collection"),
    ]
    return JSONResponse(feature, media_type=GEOJSON)


@router.get(
    "/collections/hexagons/items",
    operation_id="ogc_hexagons",
    response_class=Response,
    responses=_ITEMS_RESPONSE,
)
def hexagon_items(
    request: Request,
    session: ReadSessionDep,
    query: Aggregates,
    bbox: BBox,
    edge: Edge = 500,
    limit: Limit = DEFAULT_ITEMS,
    offset: Offset = 0,
) -> JSONResponse:
    """Protected report counts per hexagon (``/hotspots``'s cells without Gi*), a page at a time."""
    return _hexagon_page(
        request,
        session,
        query,
        collection_id="hexagons",
        edge=edge,
        bbox=bbox,
        limit=limit,
        offset=offset,
    )


@router.get(
    "/collections/hexagons/items/{cell_id}",
    operation_id="ogc_hexagon",
    response_class=Response,
    responses=_ITEM_RESPONSE,
)
def hexagon_item(
    request: Request, session: ReadSessionDep, query: Aggregates, cell_id: str
) -> JSONResponse:
    """One hexagon by its id ``edge-i-j``, with the same filters as the items."""
    return _hexagon_item(request, session, query, collection_id="hexagons", cell_id=cell_id)


@router.get(
    "/collections/hotspots/items",
    operation_id="ogc_hot_spots",
    response_class=Response,
    responses=_ITEMS_RESPONSE,
)
def hot_spot_items(
    request: Request,
    session: ReadSessionDep,
    query: Aggregates,
    bbox: BBox,
    edge: Edge = 500,
    limit: Limit = DEFAULT_ITEMS,
    offset: Offset = 0,
) -> JSONResponse:
    """Hexagons with their Gi* z, p, p_fdr and hot-spot class, as ``/hotspots``, paged."""
    return _hexagon_page(
        request,
        session,
        query,
        collection_id="hotspots",
        edge=edge,
        bbox=bbox,
        limit=limit,
        offset=offset,
    )


@router.get(
    "/collections/hotspots/items/{cell_id}",
    operation_id="ogc_hot_spot",
    response_class=Response,
    responses=_ITEM_RESPONSE,
)
def hot_spot_item(
    request: Request, session: ReadSessionDep, query: Aggregates, cell_id: str
) -> JSONResponse:
    """One hot-spot hexagon by its id ``edge-i-j``, with the same filters as the items."""
    return _hexagon_item(request, session, query, collection_id="hotspots", cell_id=cell_id)


def _ward_page(
    session: ReadSessionDep,
    query: AggregateRequest,
    simplify: float | None,
    choose: Callable[[gpd.GeoDataFrame], gpd.GeoDataFrame],
    cut: slice = slice(None),
) -> tuple[dict[str, Any], int]:
    """``/wards/summary``'s FeatureCollection of the wards ``choose`` keeps, cut to a page.

    Also how many wards ``choose`` kept, before the cut (``numberMatched``).
    """
    # /wards/summary's own functions: the same measures, the same protection.
    summary = summaries.ward_summary_figures(session, query, simplify)
    chosen = choose(summary.wards)
    collection = summaries.ward_summary_collection(
        dataclasses.replace(summary, wards=chosen.iloc[cut]), query, notes=False
    )
    return collection, len(chosen)


@router.get(
    "/collections/ward-summaries/items",
    operation_id="ogc_ward_summaries",
    response_class=Response,
    responses=_ITEMS_RESPONSE,
)
def ward_summary_items(
    request: Request,
    session: ReadSessionDep,
    query: Aggregates,
    bbox: BBox,
    limit: Limit = DEFAULT_ITEMS,
    offset: Offset = 0,
    simplify: summaries.Simplify = None,
) -> JSONResponse:
    """The ward summary (``/wards/summary``), one feature per ward, a page at a time."""
    limit = _limit(limit)
    collection, matched = _ward_page(
        session, query, simplify, lambda wards: _within(wards, bbox), slice(offset, offset + limit)
    )
    return _page(request, "ward-summaries", collection, limit=limit, offset=offset, matched=matched)


@router.get(
    "/collections/ward-summaries/items/{code}",
    operation_id="ogc_ward_summary",
    response_class=Response,
    responses=_ITEM_RESPONSE,
)
def ward_summary_item(
    request: Request, session: ReadSessionDep, query: Aggregates, code: str
) -> JSONResponse:
    """One ward's summary by its ward code, with the same filters as the items."""
    collection, found = _ward_page(
        session, query, None, lambda wards: wards[wards["ward_code"] == code]
    )
    if not found:
        raise NotFound(
            f"no ward {code!r} in the boroughs asked for "
            f"({', '.join(query.selection.boroughs) or 'none'}): pass borough= to look elsewhere"
        )
    return _item(request, "ward-summaries", collection["features"][0])


# --- feature schemas ------------------------------------------------------------------------

_JSON_TYPES: tuple[tuple[type, str], ...] = (
    (bool, "boolean"),  # before int: a bool is an int to Python
    (int, "integer"),
    (float, "number"),
    (str, "string"),
    (list, "array"),
)


def _json_type(values: list[Any]) -> dict[str, Any]:
    """The JSON Schema type of a property from the values it takes (null where suppressed)."""
    present = [v for v in values if v is not None]
    if not present:
        return {"type": "number"}  # always null here (e.g. all suppressed): a measure
    if all(isinstance(v, int) and not isinstance(v, bool) for v in present):
        return {"type": "integer"}
    if all(isinstance(v, int | float) and not isinstance(v, bool) for v in present):
        return {"type": "number"}
    for kind, name in _JSON_TYPES:
        if isinstance(present[0], kind):
            if name == "array":
                return {"type": "array", "items": {"type": "string"}}
            return {"type": name}
    return {"type": "string"}


def feature_schema(title: str, features: list[dict[str, Any]]) -> dict[str, Any]:
    """A JSON Schema of the features, their property types read off the features themselves.

    GDAL's OAPIF driver (and so QGIS through GDAL) types a layer's fields from the schema its
    collection is ``describedby``; without one it guesses from the first page, where a
    property that is null on every feature of the page (all suppressed) becomes text. The
    shape is a GeoJSON Feature, as GDAL reads it; one type per property (GDAL reads no type
    lists), a suppressed value being null whatever its type.
    """
    names: dict[str, list[Any]] = {}
    for feature in features:
        for name, value in feature["properties"].items():
            names.setdefault(name, []).append(value)
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": title,
        "description": "A feature; a suppressed figure is null, with its *suppressed flag true.",
        "type": "object",
        "required": ["type", "geometry", "properties"],
        "properties": {
            "type": {"type": "string", "enum": ["Feature"]},
            "id": {"type": "string"},
            "geometry": {"type": "object", "description": "GeoJSON Polygon or MultiPolygon"},
            "properties": {
                "type": "object",
                "properties": {name: _json_type(values) for name, values in names.items()},
            },
        },
    }


def _schema(collection_id: str, features: list[dict[str, Any]]) -> JSONResponse:
    return JSONResponse(
        feature_schema(_BY_ID[collection_id].title, features), media_type=SCHEMA_JSON
    )


@router.get(
    "/collections/hexagons/schema",
    operation_id="ogc_hexagons_schema",
    response_class=Response,
    responses={
        200: {
            "content": {SCHEMA_JSON: schemas.content(schemas.JsonSchemaDocument)},
            "description": "a JSON Schema",
        }
    },
)
def hexagon_schema(session: ReadSessionDep, query: Aggregates, edge: Edge = 500) -> JSONResponse:
    """The JSON Schema of the hexagons' features (for the same filters)."""
    answer = hotspots.hot_spot_cells(session, query, edge, with_crimes=False)
    return _schema("hexagons", _hexagon_features(answer, query, gi_star=False)["features"])


@router.get(
    "/collections/hotspots/schema",
    operation_id="ogc_hot_spots_schema",
    response_class=Response,
    responses={
        200: {
            "content": {SCHEMA_JSON: schemas.content(schemas.JsonSchemaDocument)},
            "description": "a JSON Schema",
        }
    },
)
def hot_spot_schema(session: ReadSessionDep, query: Aggregates, edge: Edge = 500) -> JSONResponse:
    """The JSON Schema of the hot spots' features (for the same filters)."""
    answer = hotspots.hot_spot_cells(session, query, edge, with_crimes=False)
    return _schema("hotspots", _hexagon_features(answer, query, gi_star=True)["features"])


@router.get(
    "/collections/ward-summaries/schema",
    operation_id="ogc_ward_summaries_schema",
    response_class=Response,
    responses={
        200: {
            "content": {SCHEMA_JSON: schemas.content(schemas.JsonSchemaDocument)},
            "description": "a JSON Schema",
        }
    },
)
def ward_summary_schema(
    session: ReadSessionDep, query: Aggregates, simplify: summaries.Simplify = 100
) -> JSONResponse:
    """The JSON Schema of the ward summaries' features (for the same filters)."""
    collection, _ = _ward_page(session, query, simplify, lambda wards: wards)
    return _schema("ward-summaries", collection["features"])


@router.get(
    "/collections/reports/items",
    operation_id="ogc_items",
    response_class=Response,
    responses=_ITEMS_RESPONSE,
)
def items(
    request: Request,
    session: SessionDep,  # exact reports, audited: on the primary
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
    responses=_ITEM_RESPONSE,
)
def item(session: SessionDep, selection: Filters, report_id: uuid.UUID) -> Response:
    """One report in the caller's scope."""
    one = dataclasses.replace(selection, report_id=report_id)
    features, _ = queries.report_features(session, one, limit=1)
    if not features:
        raise NotFound(f"no report {report_id} in your scope")
    return Response(features[0], media_type=GEOJSON)


@router.get("/collections/{collection_id}/items", include_in_schema=False)
def unknown_items(principal: Reader, collection_id: str) -> None:
    """Items of a collection that is not one of these: 404 naming the ones the caller may read.

    Registered after every real collection's items, so only an unknown id reaches it.
    """
    offered = ", ".join(c.id for c in _readable(principal.role))
    raise NotFound(f"there is no collection {collection_id!r} for you: you may read {offered}")
