"""A bid pack: one download with what a council officer pastes into a funding bid.

``GET /lighting/bid-pack.zip?bid_reference=…`` holds, for the caller's requests of that bid:
the requests and their evidence as a GeoPackage on the British National Grid, the same as a
CSV with its method note, and the lighting map of those requests over the evidence on an A4
sheet, as a PNG and a PDF (legend, scale bar, north arrow, credits). Counts follow the caller's
disclosure rule, as on the ranking and the map: a partner or a planner gets protected counts.
"""

from __future__ import annotations

import io
import re
import zipfile
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from service import policy
from service.auth import Allow, Principal
from service.db import SessionDep
from service.errors import NotFound
from service.printing import Printer, database_tiles
from service.routers.lighting import export_file, ranking_frame
from service.routers.lighting_map import PATH as LIGHTING_MAP
from service.routers.lighting_map import LightingFilters, lighting_map_sheet

router = APIRouter(tags=["lighting"])
Viewer = Annotated[Principal, Depends(Allow(*policy.SEE_REQUESTS))]
#: The British National Grid: what a council's GIS and a bid's maps are drawn on.
BNG = 27700
WITHIN_M = 50.0


def pack_name(bid_reference: str) -> str:
    """The files' common name: the bid's reference with anything but letters and digits dashed.

    >>> pack_name("Safer Streets Fund round 6 (demo)")
    'bid-safer-streets-fund-round-6-demo'
    """
    return "bid-" + (re.sub(r"[^a-z0-9]+", "-", bid_reference.lower()).strip("-") or "pack")


@router.get(
    "/lighting/bid-pack.zip",
    operation_id="lighting_bid_pack",
    response_class=Response,
    responses={200: {"content": {"application/zip": {}}}},
)
def bid_pack(
    request: Request,
    session: SessionDep,
    principal: Viewer,
    bid_reference: Annotated[
        str, Query(min_length=1, max_length=100, description="the bid's reference, as stored")
    ],
) -> Response:
    """A zip of the bid's requests: GeoPackage (EPSG:27700), CSV with its note, A4 PNG and PDF."""
    frame, note = ranking_frame(request, session, principal, WITHIN_M, None, bid_reference)
    if frame.empty:
        raise NotFound(
            f"none of the requests you can see is in the bid {bid_reference!r}: give the "
            "reference exactly as the requests show it (a request joins a bid when it is "
            "marked 'in a bid')"
        )
    frame["bid_reference"] = bid_reference
    name = pack_name(bid_reference)
    sheet = lighting_map_sheet(
        request, session, principal, LightingFilters(bid_reference=bid_reference)
    )
    # The files are built; release the connection while Chromium draws the two prints.
    session.close()
    printer: Printer = request.app.state.printer
    # The two prints at once: the printer draws as many as it has slots (two by default).
    with ThreadPoolExecutor(max_workers=2) as pool:
        drawing = {
            fmt: pool.submit(
                printer.print,
                sheet,
                fmt,
                path=LIGHTING_MAP,
                query=urlencode({"bid_reference": bid_reference}),
                assets_dir=request.app.state.assets_dir,
                tiles=database_tiles(request.app.state.engine),
            )
            for fmt in ("png", "pdf")
        }
        prints = {fmt: job.result() for fmt, job in drawing.items()}
    files = {
        f"{name}-requests.gpkg": export_file(frame, "gpkg", BNG, note, layer="requests"),
        f"{name}-requests.csv": export_file(frame, "csv", BNG, note, layer="requests"),
        f"{name}-map.png": prints["png"],
        f"{name}-map.pdf": prints["pdf"],
        "README.txt": _readme(bid_reference, len(frame), note, name).encode(),
    }
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as pack:
        for file_name, body in files.items():
            pack.writestr(file_name, body)
    return Response(
        buffer.getvalue(),
        media_type="application/zip",
        headers={
            "Content-Disposition": f'attachment; filename="{name}-{date.today().isoformat()}.zip"'
        },
    )


def _readme(bid_reference: str, count: int, note: list[str], name: str) -> str:
    lines = [
        f"Bid pack: {bid_reference}",
        f"Made by Walk and Talk Maps on {date.today():%d %B %Y}: {count} request(s).",
        "",
        f"{name}-requests.gpkg  the requests and their evidence, British National Grid "
        "(EPSG:27700); open in QGIS or ArcGIS",
        f"{name}-requests.csv   the same rows; the wkt column is on the British National Grid",
        f"{name}-map.png / .pdf  the requests over the evidence on an A4 sheet",
        "",
        "How the evidence was counted:",
        *(f"- {line}" for line in note),
    ]
    return "\n".join(lines) + "\n"
