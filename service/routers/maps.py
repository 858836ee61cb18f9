"""Map pages, the map assets the service serves itself, and the API docs.

Pages load Leaflet and its plugins from ``/static/vendor`` (installed from the npm registry by
the project's set-up), so they work on networks that cannot reach a CDN.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Query, Request
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse

from geo.reports import TIME_BANDS
from maps.assets import MissingAsset, UnknownAsset, resolve_asset
from maps.classes import SCHEMES
from maps.controls import MapControls, Option, time_band_options
from maps.printing import MapSheet
from maps.tiles import LOCAL, TileSource
from maps.wards import render_ward_map
from service import schemas
from service.auth import CSRF_HEADER, EVERYONE, Allow, Principal
from service.db import ReadSessionDep
from service.errors import NotFound, ServiceUnavailable
from service.queries.osm import streets_loaded
from service.queries.wards import active_borough_names, wards_frame
from service.taxonomy import CATEGORIES
from service.web import templates

ASSET_URL = "/static/vendor"
# Ward outlines simplified by this many metres keep the page small and are visually identical
# at the zoom levels a ward map is read at.
MAP_SIMPLIFY_M = 3.0

router = APIRouter(dependencies=[Depends(Allow(*EVERYONE))], include_in_schema=False)


def page_tiles(request: Request, session: ReadSessionDep) -> TileSource | None:
    """The base map a page draws: the setting's, marked as street-less before `osm load`."""
    tiles: TileSource | None = request.app.state.tiles
    if tiles is not None and tiles.url == LOCAL.url and not streets_loaded(session):
        return dataclasses.replace(tiles, streets=False)
    return tiles


def page_controls(
    request: Request,
    session: ReadSessionDep,
    *,
    edges: Sequence[int] = (),
    schemes: bool = False,
    export_path: str | None = None,
    filters: bool = True,
    printable: bool = True,
) -> MapControls:
    """The controls panel of the map page ``request`` asked for, pre-filled from its query.

    The boroughs offered are those of the active ward set (every borough an aggregate may
    count); the categories and time bands are the taxonomy's. With ``schemes``, a choropleth
    page also offers the classification schemes of :mod:`maps.classes` (the default first).
    """
    return MapControls.for_page(
        request.url.path,
        request.query_params.multi_items(),
        boroughs=[
            Option(code, f"{name} ({code})") for code, name in active_borough_names(session).items()
        ],
        categories=[Option(c.slug, c.label) for c in CATEGORIES] if filters else (),
        time_bands=time_band_options(TIME_BANDS) if filters else (),
        edges=edges,
        schemes=[Option(slug, name) for slug, (name, _) in SCHEMES.items()] if schemes else (),
        export_path=export_path,
        filters=filters,
        printable=printable,
    )


@router.get("/maps/wards", response_class=HTMLResponse, operation_id="ward_map")
def ward_map(
    request: Request,
    session: ReadSessionDep,
    borough: Annotated[str | None, Query(max_length=100)] = None,
) -> HTMLResponse:
    """A map of the active wards with tooltips, legend, layer control and attribution."""
    return HTMLResponse(ward_map_sheet(request, session, borough).html)


def ward_map_sheet(request: Request, session: ReadSessionDep, borough: str | None) -> MapSheet:
    """The ward map page and the words of its printed sheet (the page and print call it)."""
    active, frame = wards_frame(session, borough=borough, simplify_m=MAP_SIMPLIFY_M)
    html = render_ward_map(
        frame,
        ward_set=active.name,
        attribution=active.attribution,
        asset_url=ASSET_URL,
        tiles=page_tiles(request, session),
        # The ward map takes one borough (code or name); there is nothing else to filter.
        controls=page_controls(request, session, filters=False),
    )
    # Boundaries have no period of their own: the sheet names the ward set they come from.
    shown = f"borough {borough}" if borough else "every borough of the ward set"
    return MapSheet(
        html,
        f"Wards of the {active.name} ward set, by borough",
        [f"Boundaries: the {active.name} ward set in force.", f"Showing: {shown}."],
        [
            f"Ward boundaries of the active ward set ({active.name}), each ward filled in "
            f"its borough's colour; {len(frame)} wards shown. Outlines are simplified by "
            f"{MAP_SIMPLIFY_M:g} m for drawing, which cannot be seen at this scale.",
            "No reports are counted on this map.",
        ],
    )


@router.get(ASSET_URL + "/{path:path}", operation_id="vendor_asset")
def vendor_asset(request: Request, path: str) -> FileResponse:
    """A Leaflet/plugin file installed by ``npm ci --prefix maps/vendor``."""
    try:
        file = resolve_asset(path, request.app.state.assets_dir)
    except UnknownAsset as exc:
        raise NotFound(str(exc)) from None
    except MissingAsset as exc:
        # The install step was skipped: the service is broken, not the request.
        raise ServiceUnavailable(str(exc)) from None
    # Versioned package paths never change content, so browsers may keep them a day.
    return FileResponse(file, headers={"Cache-Control": "public, max-age=86400"})


@router.get("/openapi.json", operation_id="openapi")
def openapi(request: Request) -> JSONResponse:
    """The OpenAPI description of this API."""
    return JSONResponse(request.app.openapi())


#: The OpenAPI security scheme /docs' "Authorize" button fills in.
BEARER_SCHEME = "bearerToken"


def document_bearer_auth(app: FastAPI) -> None:
    """Describe the service's bearer tokens in ``app``'s OpenAPI document.

    Only the document changes (``components.securitySchemes`` and a global ``security`` in
    which a token is optional, as the public need none); who may call what is still decided
    by ``service.auth``. Swagger UI shows an "Authorize" button for the scheme.
    """
    plain = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = plain()
        schema.setdefault("components", {}).setdefault("securitySchemes", {})[BEARER_SCHEME] = {
            "type": "http",
            "scheme": "bearer",
            "description": "A token from a supervisor (wt_…); without one you are the public.",
        }
        schema["security"] = [{BEARER_SCHEME: []}, {}]
        return schemas.document_problems(schema)

    app.openapi = openapi  # type: ignore[method-assign]


@router.get("/docs", response_class=HTMLResponse, operation_id="docs")
def docs(request: Request, principal: Annotated[Principal, Depends(Allow(*EVERYONE))]) -> Any:
    """Swagger UI from the service's own swagger-ui-dist, with "Authorize" for a token.

    For a signed-in browser the page carries its CSRF token, which Swagger UI sends with each
    request, so "Try it out" works for changes too.
    """
    return templates.TemplateResponse(
        request,
        "api_docs.html",
        {
            "title": f"{request.app.title} - API",
            "asset_url": ASSET_URL,
            "signed_in": principal.csrf_token is not None,
            "principal_name": principal.name,
            "role": principal.role.value,
            "config": {
                "openapiUrl": "/openapi.json",
                "csrfHeader": CSRF_HEADER,
                "csrfToken": principal.csrf_token,
            },
        },
    )
