"""Which transformation the database server uses between lon/lat and the British National Grid.

PostGIS's ``ST_Transform`` between EPSG:4326 and 27700 uses OSTN15 only when the server's own
PROJ finds the grid; otherwise it falls back, silently, to a Helmert transformation 2-5 m off,
and every metric query (route buffers, ward areas, hexagon cells) disagrees with Python's.
The embedded cluster gets the grid at start (``service.cluster``); another server must be given
it. The check transforms one of OS's published test points and compares.
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.orm import Session

from geo.grid import CHECK_POINT_LONLAT, GRID_NAME, OSTN15, grid_file, transformation_of

__all__ = ["server_transformation"]


def server_transformation(session: Session) -> str:
    """``"OSTN15"`` when the server's ST_Transform uses OSTN15, else how far off and the fix."""
    easting, northing = session.execute(
        text(
            "SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_Transform("
            "ST_SetSRID(ST_MakePoint(:lon, :lat), 4326), 27700) AS p) AS checked"
        ),
        {"lon": CHECK_POINT_LONLAT[0], "lat": CHECK_POINT_LONLAT[1]},
    ).one()
    verdict = transformation_of(float(easting), float(northing))
    if verdict == OSTN15:
        return verdict
    return (
        f"{verdict}: the database server's PROJ does not find {GRID_NAME}. Restart the "
        "embedded cluster (`walktalk db down`, then `walktalk db up`), which hands it a copy; "
        f"for another server, copy {grid_file()} into a folder on the server's PROJ_DATA "
        "search path and restart it"
    )
