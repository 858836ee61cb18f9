"""The live walk page: a phone records the GPS track and concerns as the walk goes on.

The page keeps everything it records in the browser (``localStorage``) and sends it when there
is a connection, so a walk through a signal black spot loses nothing; a service worker keeps the
page itself, so a reload with no signal still opens it. Browsers give location
only to pages served over HTTPS or from localhost; ``walktalk serve --ssl-keyfile/--ssl-certfile``
or a reverse proxy provides the former.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from shapely import wkt
from shapely.geometry import mapping

from geo.routes import MIN_LENGTH_M, drawn_route
from service.auth import EVERYONE, Allow, Principal
from service.db import SessionDep
from service.queries import walks as queries
from service.queries.wards import require_active_ward_set
from service.routers.maps import ASSET_URL, page_tiles
from service.routers.walks import require_walk_officer
from service.taxonomy import CATEGORIES
from service.web import templates

router = APIRouter(tags=["walks"], include_in_schema=False)
# Pages take anyone so the public are sent to sign in, then refuse by role inside.
Anyone = Annotated[Principal, Depends(Allow(*EVERYONE))]
# About 3 m at London's latitude: the ward outline is only there to show where the walk is.
OUTLINE_TOLERANCE_DEG = 0.00003
#: The live page's service worker. Served from /walks/ so that its scope, /walks/, covers every
#: walk's live page without a Service-Worker-Allowed header.
SERVICE_WORKER_URL = "/walks/live-sw.js"
SERVICE_WORKER = Path(__file__).parents[1] / "templates" / "live_sw.js"


@router.get(
    SERVICE_WORKER_URL,
    operation_id="live_walk_service_worker",
    dependencies=[Depends(Allow(*EVERYONE))],
    response_class=Response,
)
def live_walk_service_worker() -> Response:
    """The script that keeps a walk's live page, its assets and tiles seen for use offline.

    It holds no secret (the pages it keeps are fetched with the officer's own session), and the
    browser checks it for updates even after a sign-in has ended, so it is served to everyone.
    ``no-cache`` makes that check reach the service, so a new version is picked up at once.
    """
    return Response(
        SERVICE_WORKER.read_bytes(),
        media_type="application/javascript",
        headers={"Cache-Control": "no-cache"},
    )


@router.get(
    "/walks/{walk_id}/live",
    operation_id="live_walk",
    response_class=HTMLResponse,
    response_model=None,
)
def live_walk(
    request: Request, session: SessionDep, principal: Anyone, walk_id: uuid.UUID
) -> HTMLResponse | RedirectResponse:
    """The page an officer keeps open on the walk: track, Start/Pause/Finish, "Concern here"."""
    if principal.is_public:
        return RedirectResponse(f"/login?next=/walks/{walk_id}/live", status_code=303)
    require_walk_officer(session, principal, walk_id)
    ward, route = queries.editor_context(session, walk_id)
    outline = ward.assign(geometry=ward.geometry.simplify(OUTLINE_TOLERANCE_DEG))
    tiles = page_tiles(request, session)
    config = {
        "walkId": str(walk_id),
        "csrfToken": principal.csrf_token,
        "concernsUrl": f"/walks/{walk_id}/concerns",
        "routeUrl": f"/walks/{walk_id}/route",
        "loginUrl": f"/login?next=/walks/{walk_id}/live",
        "serviceWorkerUrl": SERVICE_WORKER_URL,
        "serviceWorkerScope": "/walks/",
        "tiles": tiles.page_config() if tiles else None,
        "attribution": require_active_ward_set(session).attribution,
        "ward": json.loads(outline[["code", "name", "geometry"]].to_json()),
        "categories": {c.slug: c.label for c in CATEGORIES},
        "minLengthM": MIN_LENGTH_M,
        # The route planned for this walk, simplified as the route page draws it.
        "plannedRoute": dict(mapping(drawn_route(wkt.loads(route)))) if route else None,
    }
    return templates.TemplateResponse(
        request,
        "live.html",
        {
            "ward_name": ward["name"].iloc[0] if len(ward) else "",
            "has_route": route is not None,
            "categories": CATEGORIES,
            "config": config,
            "asset_url": ASSET_URL,
            "back_url": f"/work/walks/{walk_id}",
        },
    )
