"""The role matrix: every route, called by every kind of caller, checked on status and body.

Callers: the public, an officer of the walk's ward, an officer of another ward, a supervisor of
the walk's command unit, a supervisor of another, a partner, a planner, and an expired and a
revoked token. The rules come from the routes' own ``Allow(...)`` declarations and from
``service.policy``; the bodies are searched for the two secrets (DESIGN.md): a buddy's route
ends (and her route in full) and a reporter's exact point, and for a report's free text and a
buddy's identity. None of those may reach a partner, a planner, the public or a supervisor of
another command unit; route ends and the buddy may not reach an officer of another ward.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text

from service.auth import Role
from service.settings import Settings
from tests.test_api_roles import _all_routes, _declared_roles
from tests.walks import WATERLOO, auth, make_walk

# A route along the South Bank whose ends are used by nothing else in the service, so that
# finding them in an answer can only mean the route leaked.
ROUTE = {
    "type": "LineString",
    "coordinates": [
        [-0.114417, 51.503911],
        [-0.1150, 51.5055],
        [-0.1100, 51.5075],
        [-0.103033, 51.508044],
        [-0.0980, 51.5078],
        [-0.0930, 51.5068],
        [-0.092389, 51.505617],
    ],
}


def _pair(lon: str, lat: str) -> re.Pattern[str]:
    """A place written in any order and format (JSON, WKT, Leaflet's lat/lon, CSV columns).

    Coordinates alone are not enough: ward outlines hold millions of digits.
    """
    lon_, lat_ = re.escape(lon), re.escape(lat)
    return re.compile(rf"{lon_}\d*[^\d.]{{1,4}}{lat_}|{lat_}\d*[^\d.]{{1,4}}{lon_}")


ROUTE_ENDS = (_pair("-0.11441", "51.50391"), _pair("-0.09238", "51.50561"))
ROUTE_MIDDLE = (_pair("-0.10303", "51.50804"),)  # a vertex a trimmed route keeps
REPORT_LON, REPORT_LAT = -0.117777, 51.502222
REPORT_POINT = (_pair("-0.11777", "51.50222"),)  # to 1 m, in any rounding that tells
REPORT_TEXT = re.compile("MATRIX-MARKER")
BUDDY_CONTACT = "07700 900123"  # tests/walks.py's buddy
TAKE_PART_CONTACT = "matrix-take-part@example.org"  # a request to take part in Waterloo

OUTSIDERS = ("public", "partner", "planner", "supervisor_other")
BAD_TOKENS = ("expired", "revoked")


def _backdate(url: str, token_name: str, column: str) -> None:
    """Set a token's ``expires_at`` or ``revoked_at`` to yesterday."""
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(
            text(f"UPDATE api_tokens SET {column} = now() - interval '1 day' WHERE name = :n"),
            {"n": token_name},
        )
    engine.dispose()


@pytest.fixture
def world(
    client: TestClient,
    people: dict[str, dict[str, str]],
    issue_token: Callable[..., str],
    app_settings: Settings,
) -> dict[str, Any]:
    """A walk with its route, a published report with text, a survey link, and the callers."""
    today = datetime.now(UTC).date().isoformat()
    walk = make_walk(
        client,
        people,
        start=f"{today}T17:00:00+00:00",
        end=f"{today}T17:45:00+00:00",
        buddy_ward=WATERLOO,
    )
    stored = client.put(f"/walks/{walk['id']}/route", headers=people["waterloo"], json=ROUTE)
    assert stored.status_code == 200, stored.text
    report = client.post(
        "/reports",
        json={
            "lon": REPORT_LON,
            "lat": REPORT_LAT,
            "categories": ["poor_lighting"],
            "date": today,
            "time_band": "evening",
            "text": "MATRIX-MARKER the stairs by the arches",
        },
    )
    assert report.status_code == 201, report.text
    published = client.post(
        f"/moderation/{report.json()['id']}",
        headers=people["supervisor"],
        json={"action": "publish", "reason": "a real place"},
    )
    assert published.status_code == 200, published.text
    link = client.post(f"/walks/{walk['id']}/buddy-survey-link", headers=people["waterloo"])
    assert link.status_code == 201, link.text
    asked = client.post(
        "/take-part",
        data={"ward": WATERLOO, "availability": "evening", "contact": TAKE_PART_CONTACT,
              "consent": "yes"},
        follow_redirects=False,
    )
    assert asked.status_code == 303, asked.text
    reference = asked.headers["location"].rsplit("/", 1)[1]
    engine = create_engine(app_settings.database_url or "")
    with engine.connect() as conn:
        request_id = conn.execute(
            text("SELECT id FROM participation_requests WHERE reference = :r"), {"r": reference}
        ).scalar_one()
        buddy_id, buddy_code = conn.execute(
            text("SELECT b.id, b.code FROM buddies b JOIN walks w ON w.buddy_id = b.id")
        ).one()
    engine.dispose()
    # A request to the Lambeth council, away from the report's point (its count backs it).
    partner_request = client.post(
        "/requests",
        headers=people["waterloo"],
        json={"kind": "lighting", "title": "Lamp out on Lower Marsh", "lon": -0.1136,
              "lat": 51.4995, "partner_borough": "E09000022", "partner_team": "Street lighting"},
    )
    assert partner_request.status_code == 201, partner_request.text
    issue_token("planner", boroughs=["E09000028"], name="matrix throwaway")  # to be deleted
    callers = {
        **{k: v for k, v in people.items() if k != "waterloo" and k != "bankside"},
        "officer_ward": people["waterloo"],
        "officer_other": people["bankside"],
        "planner": auth(issue_token("planner", boroughs=["E09000028"])),
        "supervisor_other": auth(issue_token("supervisor", boroughs=["E09000033"])),
        "expired": auth(issue_token("partner", boroughs=["E09000022"], name="matrix expired")),
        "revoked": auth(issue_token("supervisor", command_unit="AS", name="matrix revoked")),
    }
    _backdate(str(app_settings.database_url), "matrix expired", "expires_at")
    _backdate(str(app_settings.database_url), "matrix revoked", "revoked_at")
    engine = create_engine(app_settings.database_url or "")
    with engine.connect() as conn:
        throwaway_id = conn.execute(
            text("SELECT id FROM api_tokens WHERE name = 'matrix throwaway'")
        ).scalar_one()
        officer_id = conn.execute(
            text("SELECT officer_id FROM walks WHERE id = :id"), {"id": walk["id"]}
        ).scalar_one()
    with engine.begin() as conn:
        import_id = conn.execute(
            text(
                "INSERT INTO imports (kind, sha256, file_name, rows_stored, rows_skipped, "
                "imported_by) VALUES ('reports', 'matrix', 'matrix.csv', 0, 0, 'matrix') "
                "RETURNING id"
            )
        ).scalar_one()
    engine.dispose()
    return {
        "callers": callers,
        "params": {
            "walk_id": walk["id"],
            "report_id": report.json()["id"],
            "buddy_id": str(buddy_id),
            "request_id": str(request_id),
            "reference": reference,
            "token_id": str(throwaway_id),
            "officer_id": str(officer_id),
            "import_id": str(import_id),
            "partner_request_id": partner_request.json()["id"],
            "secret": link.json()["url"].rsplit("/", 1)[1],
            "code": WATERLOO,
            "fmt": "geojson",
            "path": "leaflet/dist/leaflet.js",
            "collection_id": "hexagons",
            "cell_id": "500-708-208",  # the 500 m hexagon of the report
            # A base-map tile over Borough High Street (zoom 16).
            "z": "16",
            "x": "32751",
            "y": "21793",
        },
        "buddy": tuple(
            re.compile(re.escape(v))
            for v in (str(buddy_id), buddy_code, BUDDY_CONTACT, TAKE_PART_CONTACT)
        ),
    }


def _role_of(caller: str) -> Role | None:
    return {
        "public": Role.public,
        "officer_ward": Role.officer,
        "officer_other": Role.officer,
        "supervisor": Role.supervisor,
        "supervisor_other": Role.supervisor,
        "partner": Role.partner,
        "planner": Role.planner,
    }.get(caller)


def _secrets_for(caller: str, buddy: tuple[re.Pattern[str], ...]) -> tuple[re.Pattern[str], ...]:
    """What this caller must never receive."""
    if caller in OUTSIDERS:
        return (*ROUTE_ENDS, *ROUTE_MIDDLE, *REPORT_POINT, REPORT_TEXT, *buddy)
    if caller == "officer_other":
        return (*ROUTE_ENDS, *buddy)
    return ()


def test_every_route_as_every_caller(client: TestClient, world: dict[str, Any]) -> None:
    routes = [r for r in _all_routes(client.app.router.routes) if isinstance(r, APIRoute)]  # type: ignore[attr-defined]
    checked: set[tuple[str, str]] = set()
    leaks: list[str] = []
    wrong: list[str] = []
    # Supervisors act last: a DELETE /tokens/{id} of theirs must not run before the others.
    order = [c for c in world["callers"] if c != "supervisor"] + ["supervisor"]
    for route in routes:
        path = route.path
        for name, value in world["params"].items():
            path = path.replace(f"{{{name}:path}}", value).replace(f"{{{name}}}", value)
        assert "{" not in path, f"no value for a parameter of {route.path}"
        allowed = _declared_roles(route)
        for method in sorted(route.methods - {"HEAD"}):
            for caller in order:
                headers = world["callers"][caller]
                body = {} if method in {"POST", "PUT"} else None
                answer = client.request(
                    method, path, headers=headers, json=body, follow_redirects=False
                )
                where = f"{method} {route.path} as {caller}: {answer.status_code}"
                checked.add((method, route.path))
                if answer.status_code >= 500:
                    wrong.append(f"{where} {answer.text[:200]}")
                role = _role_of(caller)
                if caller in BAD_TOKENS:
                    if answer.status_code != 401:
                        wrong.append(f"{where}, expected 401")
                elif role not in allowed and answer.status_code != 403:
                    wrong.append(f"{where}, expected 403 (route allows {sorted(allowed)})")
                for secret in _secrets_for(caller, world["buddy"]):
                    # An id the caller put in the path may come back in the refusal.
                    if secret.search(answer.text) and not secret.search(path):
                        leaks.append(f"{where} carries {secret.pattern!r}")
    assert leaks == [], "\n".join(leaks)
    assert wrong == [], "\n".join(wrong)
    # The matrix really walked the app: every route, every method.
    assert len(checked) == sum(len(r.methods - {"HEAD"}) for r in routes) >= 75


def test_the_secrets_are_there_for_those_who_may_see_them(
    client: TestClient, world: dict[str, Any]
) -> None:
    # Without this the matrix could pass on answers that never carried anything.
    walk = f"/walks/{world['params']['walk_id']}"
    full = client.get(walk, headers=world["callers"]["officer_ward"]).text
    assert all(end.search(full) for end in ROUTE_ENDS) and world["buddy"][0].search(full)
    reports = client.get("/reports", headers=world["callers"]["supervisor"]).text
    assert REPORT_POINT[0].search(reports) and REPORT_TEXT.search(reports)
    contact = client.get(
        f"/buddies/{world['params']['buddy_id']}/contact", headers=world["callers"]["supervisor"]
    ).text
    assert BUDDY_CONTACT in contact


def test_a_trimmed_walk_tells_nothing_of_the_full_route_or_the_people(
    client: TestClient, world: dict[str, Any]
) -> None:
    walk = f"/walks/{world['params']['walk_id']}"
    full = client.get(walk, headers=world["callers"]["officer_ward"]).json()["properties"]
    trimmed = client.get(walk, headers=world["callers"]["officer_other"]).json()["properties"]
    assert trimmed["route_view"] == "trimmed"
    # Before: the full route's length and darkness, the officer's id and the planned times.
    for hidden in ("officer_id", "buddy_id", "planned_start", "planned_end", "dark_share"):
        assert full[hidden] is not None, hidden
        assert trimmed[hidden] is None, hidden
    assert full["length_m"] - trimmed["length_m"] >= 600 - 5  # its own, shorter length
    assert uuid.UUID(str(full["officer_id"]))
