"""Synthetic demo requests and street lights, flagged so they never pass for real ones.

The bundled street-light inventory (Camden's) lies outside the pilot wards, so a demo of the
planner's page would show no light and no gap near the pilot's reports. ``demo seed`` adds:

- a light inventory named :data:`DEMO_LIGHTS` covering the wards that hold the most reports of
  poor lighting in the dark and the wards next to them, with a light on a jittered
  :data:`LIGHT_SPACING_M`-metre grid over them (the bundled street clips do not reach those
  wards, so the lights cannot follow streets), leaving out the ground round a few of those
  places — so that the gaps page has something true to its rule to find, in the demo;
- requests (``synthetic = true``) at the other places where people reported poor lighting in
  the dark, spread over every status, so that a planner sees a ranking and a request's life.

``demo purge`` removes both.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import numpy as np
from sqlalchemy import Row, text
from sqlalchemy.orm import Session

from service.queries.assets import import_assets
from service.queries.evidence import LIGHTING_CATEGORIES
from service.queries.requests import PATH, change_status, create_request

#: The inventory ``demo seed`` makes; ``demo purge`` deletes it by this name.
DEMO_LIGHTS = "synthetic-demo-street-lights"
DEMO_LIGHTS_ATTRIBUTION = (
    "Synthetic street lights on a grid, made by `walktalk demo seed`: not a council's inventory"
)
LIGHT_SPACING_M = 35.0
_JITTER_M = 12.0
#: Metres round a place left dark: more than the evidence radius, so its reports stay unanswered.
DARK_RADIUS_M = 120.0
#: Places where people reported poor lighting in the dark, found on a grid of this many metres.
PLACE_CELL_M = 100.0
DEMO_BID = "Safer Streets Fund round 6 (demo)"
DEMO_RAISER = "Demo planner"

# The demo's requests, in the order the places rank: how far each got, and its kind.
_LIVES: tuple[tuple[str, str], ...] = (
    ("in_bid", "lighting"),
    ("installed", "lighting"),
    ("sent", "lighting"),
    ("accepted", "cctv"),
    ("funded", "lighting"),
    ("proposed", "lighting"),
    ("declined", "vegetation"),
    ("in_bid", "lighting"),
    ("sent", "cctv"),
    ("proposed", "lighting"),
    ("installed", "lighting"),
    ("proposed", "other"),
)
_WHAT = {
    "lighting": "More street lighting",
    "cctv": "A CCTV camera",
    "vegetation": "Cut back the trees over the footway",
    "other": "Look again at this corner",
}
_TEAMS = {
    "lighting": "Street lighting",
    "cctv": "Community safety CCTV",
    "vegetation": "Parks and open spaces",
    "other": "Community safety",
}

_PLACES_SQL = """
SELECT ST_X(c) AS lon, ST_Y(c) AS lat, n, ward_code
  FROM (SELECT ST_Transform(ST_Centroid(ST_Collect(ST_Transform(geom, 27700))), 4326) AS c,
               count(*) AS n, mode() WITHIN GROUP (ORDER BY ward_code) AS ward_code
          FROM reports
         WHERE status = 'published' AND is_dark AND ward_code IS NOT NULL
           AND categories && CAST(:lighting AS text[])
         GROUP BY ST_SnapToGrid(ST_Transform(geom, 27700), :cell)) cells
 WHERE n >= 2
 ORDER BY n DESC, lon, lat
 LIMIT :limit
"""

_LIGHTS_SQL = """
WITH area AS (
    SELECT ST_Transform(ST_Union(geom), 27700) AS g FROM wards
     WHERE code = ANY(CAST(:wards AS text[]))
       AND ward_set_id = (SELECT id FROM ward_sets WHERE is_active)
), grid AS (
    SELECT (ST_SquareGrid(:spacing, a.g)).geom AS cell, a.g FROM area a
), lights AS (
    -- Jittered off the grid's regular rows, as real columns stand.
    SELECT ST_Translate(ST_Centroid(cell), :jitter * (random() - 0.5),
                        :jitter * (random() - 0.5)) AS p, g
      FROM grid
)
SELECT ST_X(ST_Transform(p, 4326)) AS lon, ST_Y(ST_Transform(p, 4326)) AS lat FROM lights
 WHERE ST_Contains(g, p) AND NOT EXISTS (
    SELECT FROM unnest(CAST(:dark_lon AS float8[]), CAST(:dark_lat AS float8[])) AS d(lon, lat)
     WHERE ST_DWithin(p, ST_Transform(ST_SetSRID(ST_MakePoint(d.lon, d.lat), 4326), 27700),
                      :dark))
 ORDER BY lon, lat
"""


@dataclass(frozen=True)
class PlanningSeeded:
    """What ``demo seed`` stored for the planner's pages."""

    requests: int
    lights: int
    dark_places: int


def seed_planning(
    session: Session, *, seed: int, dark_places: int = 3, today: date | None = None
) -> PlanningSeeded:
    """Store the demo's synthetic street lights and requests (see the module's note).

    Nothing is stored when no published report is about poor lighting in the dark.
    """
    today = today or date.today()
    rng = np.random.default_rng(seed)
    places = session.execute(
        text(_PLACES_SQL),
        {"lighting": list(LIGHTING_CATEGORIES), "cell": PLACE_CELL_M,
         "limit": dark_places + len(_LIVES)},
    ).all()
    if not places:
        return PlanningSeeded(requests=0, lights=0, dark_places=0)
    dark, asked = places[:dark_places], places[dark_places:]
    lights = _seed_lights(session, dark, rng)
    for number, (place, (status, kind)) in enumerate(zip(asked, _LIVES, strict=False), 1):
        _seed_request(session, place, status, kind, number, rng, today)
    return PlanningSeeded(requests=len(asked), lights=lights, dark_places=len(dark))


def _seed_lights(session: Session, dark: Sequence[Row[Any]], rng: np.random.Generator) -> int:
    # Their wards and the wards next to them: a hot spot on a ward's edge is then covered too.
    wards = list(
        session.execute(
            text(
                "SELECT DISTINCT n.code FROM wards w JOIN wards n "
                "ON n.ward_set_id = w.ward_set_id AND ST_Intersects(n.geom, w.geom) "
                "WHERE w.code = ANY(:codes) "
                "AND w.ward_set_id = (SELECT id FROM ward_sets WHERE is_active) ORDER BY 1"
            ),
            {"codes": sorted({place.ward_code for place in dark})},
        ).scalars()
    )
    # The same seed makes the same lights.
    session.execute(text("SELECT setseed(:s)"), {"s": float(rng.uniform(-1, 1))})
    found = session.execute(
        text(_LIGHTS_SQL),
        {
            "wards": wards,
            "spacing": LIGHT_SPACING_M,
            "jitter": _JITTER_M,
            "dark_lon": [p.lon for p in dark],
            "dark_lat": [p.lat for p in dark],
            "dark": DARK_RADIUS_M,
        },
    ).all()
    if not found:
        return 0
    # Through the importer, as a council's file would come: the same checks and ward placing.
    collection = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {"unit_id": f"DEMO-{n:05d}", "synthetic": True},
                "geometry": {"type": "Point", "coordinates": [round(r.lon, 7), round(r.lat, 7)]},
            }
            for n, r in enumerate(found, 1)
        ],
    }
    result = import_assets(
        session,
        json.dumps(collection).encode(),
        "synthetic-demo-street-lights.geojson",
        kind="light",
        name=DEMO_LIGHTS,
        covers=wards,
        attribution=DEMO_LIGHTS_ATTRIBUTION,
        loaded_by="walktalk demo seed",
    )
    return result.stored


def _seed_request(
    session: Session,
    place: Row[Any],
    status: str,
    kind: str,
    number: int,
    rng: np.random.Generator,
    today: date,
) -> None:
    # A few metres off the place's middle: a request is placed by a person, not a centroid.
    lon = float(place.lon) + float(rng.normal(0, 0.00005))
    lat = float(place.lat) + float(rng.normal(0, 0.00003))
    borough = session.execute(
        text(
            "SELECT borough_code FROM wards WHERE code = :c "
            "AND ward_set_id = (SELECT id FROM ward_sets WHERE is_active)"
        ),
        {"c": place.ward_code},
    ).scalar_one()
    request_id, _ = create_request(
        session,
        kind=kind,
        title=f"Demo request {number}: {_WHAT[kind]} where people reported it dark",
        points=[(lon, lat)],
        partner_borough=borough,
        partner_team=_TEAMS[kind],
        raised_by=DEMO_RAISER,
        raised_role="planner",
        note="Synthetic request made by walktalk demo seed",
        synthetic=True,
    )
    steps = (*PATH[1 : PATH.index(status) + 1],) if status != "declined" else ("sent", "declined")
    installed_on = today - timedelta(days=182)
    for step in steps:
        change_status(
            session,
            request_id,
            status=step,
            by="Demo council officer" if step != "sent" else DEMO_RAISER,
            role="partner" if step != "sent" else "planner",
            decline_reason="Private land: the owner has been written to"
            if step == "declined"
            else None,
            bid_reference=DEMO_BID if step == "in_bid" else None,
            installed_on=installed_on if step == "installed" else None,
            outcome="Two new LED columns" if step == "installed" else None,
        )


def purge_planning(session: Session) -> tuple[int, int]:
    """Delete the demo's synthetic requests and light inventory; return how many of each."""
    deleted = session.execute(text("DELETE FROM partner_requests WHERE synthetic RETURNING id"))
    requests = len(deleted.all())
    lights = session.execute(
        text("DELETE FROM asset_inventories WHERE name = :n RETURNING assets"), {"n": DEMO_LIGHTS}
    ).scalar_one_or_none()
    return requests, int(lights or 0)


def has_requests(session: Session) -> bool:
    """Whether any request is stored (``demo seed --if-empty`` then adds none)."""
    return bool(session.execute(text("SELECT EXISTS (SELECT FROM partner_requests)")).scalar_one())
