"""Walks set up through the API, shared by the walk, survey, live-page and briefing tests.

``people`` (in conftest.py) holds the request headers of a supervisor of Central South, an
officer of Waterloo & South Bank, one of Borough & Bankside, a Lambeth partner and the public.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from fastapi.testclient import TestClient
from pyproj import Geod

WATERLOO, BOROUGH_BANKSIDE, DULWICH = "E05014118", "E05011095", "E05011100"
# Waterloo station, along the South Bank, to Borough Market: about 2.2 km.
ROUTE = {
    "type": "LineString",
    "coordinates": [
        [-0.1136, 51.5033],
        [-0.1150, 51.5055],
        [-0.1100, 51.5075],
        [-0.1030, 51.5080],
        [-0.0980, 51.5078],
        [-0.0930, 51.5068],
        [-0.0909, 51.5055],
    ],
}
GEOD = Geod(ellps="WGS84")


def auth(token: str) -> dict[str, str]:
    """The headers that present a bearer token."""
    return {"Authorization": f"Bearer {token}"}


def make_walk(client: TestClient, people: dict, *, start: str, end: str, buddy_ward: str) -> dict:
    """Register an officer of Waterloo, a buddy of ``buddy_ward`` and plan their walk."""
    officer = client.post(
        "/officers",
        headers=people["supervisor"],
        json={
            "name": "PC Example",
            "shoulder_number": f"AS{buddy_ward[-3:]}{start[5:7]}{start[8:10]}{start[11:13]}",
            "ward_codes": [WATERLOO],
            "command_unit": "AS",
        },
    )
    assert officer.status_code == 201, officer.text
    buddy = client.post(
        "/buddies",
        headers=people["waterloo"],
        json={
            "code": f"B-{buddy_ward}-{start[:10]}",
            "home_ward": buddy_ward,
            "contact": "07700 900123",
        },
    )
    assert buddy.status_code == 201, buddy.text
    assert "contact" not in buddy.json()
    walk = client.post(
        "/walks",
        headers=people["waterloo"],
        json={
            "officer_id": officer.json()["id"],
            "buddy_id": buddy.json()["id"],
            "kind": "commute",
            "planned_start": start,
            "planned_end": end,
            "consent_keep_route": True,
        },
    )
    assert walk.status_code == 201, walk.text
    return walk.json()


def walk_with_route(
    client: TestClient,
    people: dict,
    *,
    start: str = "2026-12-01T17:00:00+00:00",
    route: dict | None = None,
) -> dict:
    """A 45-minute evening walk in Waterloo (1 December by default), its route stored.

    The route is the South Bank one (``ROUTE``) unless another is given.
    """
    end = (datetime.fromisoformat(start) + timedelta(minutes=45)).isoformat()
    walk = make_walk(client, people, start=start, end=end, buddy_ward=WATERLOO)
    stored = client.put(
        f"/walks/{walk['id']}/route", headers=people["waterloo"], json=route or ROUTE
    )
    assert stored.status_code == 200, stored.text
    return walk
