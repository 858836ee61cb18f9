"""``GET /healthz``: is the database there, which PostGIS, which ward set is active."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from geo.grid import OSTN15, python_transformation
from maps.assets import INSTALL_COMMAND, check_assets_installed
from service.auth import EVERYONE, Allow
from service.db import SessionDep
from service.errors import ServiceUnavailable
from service.queries.transformation import server_transformation
from service.queries.wards import active_ward_set

router = APIRouter(tags=["service"])


@router.get(
    "/healthz",
    operation_id="health",
    dependencies=[Depends(Allow(*EVERYONE))],
    summary="Database reachable, PostGIS version, active ward set",
)
def health(request: Request, session: SessionDep) -> dict[str, Any]:
    """Report what a monitor or a person setting up needs to know first."""
    try:
        postgis = session.execute(text("SELECT postgis_lib_version()")).scalar_one()
        active = active_ward_set(session)
        # OSTN15 or a sentence on what is wrong: lon/lat <-> National Grid, in each engine.
        transformation = {
            "python": python_transformation(),
            "database": server_transformation(session),
        }
    except SQLAlchemyError as exc:
        raise ServiceUnavailable(
            f"the database is not reachable ({type(exc).__name__}); start it with "
            "`walktalk db up` or check DATABASE_URL"
        ) from exc
    missing_assets = check_assets_installed(request.app.state.assets_dir)
    return {
        # Degraded, not down: the API answers, but map pages would load without Leaflet, or
        # points would land metres off on the grid.
        "status": "degraded"
        if missing_assets or set(transformation.values()) != {OSTN15}
        else "ok",
        "map_assets": (
            f"missing {len(missing_assets)} files: run `{INSTALL_COMMAND}`"
            if missing_assets
            else "installed"
        ),
        "database": "reachable",
        "postgis_version": postgis,
        "bng_transformation": transformation,
        "active_ward_set": (
            {
                "name": active.name,
                "wards": active.wards,
                "boroughs": active.boroughs,
                "activated_at": active.activated_at,
            }
            if active
            else None
        ),
    }
