"""Roles and tokens: every route declares its roles; tokens expire, are revoked, stay in scope."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from starlette.routing import BaseRoute, Mount

from service.app import create_app
from service.auth import Allow, Role
from service.settings import Settings

LAMBETH, SOUTHWARK = "E09000022", "E09000028"


def _declared_roles(route: APIRoute) -> set[Role]:
    found: set[Role] = set()
    stack = [route.dependant]
    while stack:
        dependant = stack.pop()
        if isinstance(dependant.call, Allow):
            found |= dependant.call.roles
        stack.extend(dependant.dependencies)
    return found


def _all_routes(routes: Sequence[BaseRoute]) -> Iterator[BaseRoute]:
    # Newer FastAPI keeps included routers as one node that wraps the original router.
    for route in routes:
        inner = getattr(route, "original_router", None)
        if inner is not None:
            yield from _all_routes(inner.routes)
        elif isinstance(route, Mount):
            yield from _all_routes(route.routes)
        else:
            yield route


def test_every_route_declares_the_roles_that_may_call_it(app_settings: Settings) -> None:
    app = create_app(app_settings)
    undeclared = []
    paths = set()
    for route in _all_routes(app.router.routes):
        assert isinstance(route, APIRoute), (
            f"{route} is not an APIRoute, so it cannot declare roles"
        )
        paths.add(route.path)
        if not _declared_roles(route):
            undeclared.append(f"{sorted(route.methods)} {route.path}")
    assert undeclared == []
    # The walk really saw the app: the routes this issue promises are all there.
    assert {
        "/healthz",
        "/wards",
        "/wards/{code}",
        "/wards/lookup",
        "/tokens",
        "/login",
        "/logout",
        "/maps/wards",
        "/docs",
        "/openapi.json",
        "/audit",
    } <= paths


def test_a_route_without_roles_is_caught(app_settings: Settings) -> None:
    app = create_app(app_settings)

    @app.get("/undeclared")
    def undeclared() -> dict[str, str]:
        return {}

    missing = [
        r.path
        for r in _all_routes(app.router.routes)
        if isinstance(r, APIRoute) and not _declared_roles(r)
    ]
    assert missing == ["/undeclared"]


def test_tokens_route_is_for_supervisors_only(
    client: TestClient, issue_token: Callable[..., str]
) -> None:
    supervisor = issue_token("supervisor", command_unit="AS")
    partner = issue_token("partner", boroughs=[LAMBETH], name="Lambeth Council")
    officer = issue_token("officer", wards=["E05014118"])
    assert client.get("/tokens").status_code == 403
    assert "send a token" in client.get("/tokens").json()["detail"]
    for token in (partner, officer):
        response = client.get("/tokens", headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 403
        assert "supervisor role" in response.json()["detail"]
    response = client.get("/tokens", headers={"Authorization": f"Bearer {supervisor}"})
    assert response.status_code == 200
    listed = response.json()["tokens"]
    assert {t["role"] for t in listed} == {"supervisor", "partner", "officer"}
    assert all("token" not in t for t in listed)


def test_unknown_malformed_revoked_and_expired_tokens_are_401(
    client: TestClient, issue_token: Callable[..., str], app_settings: Settings
) -> None:
    def status(header: str) -> tuple[int, str]:
        response = client.get("/healthz", headers={"Authorization": header})
        return response.status_code, response.json().get("detail", "")

    assert status("Bearer wt_not-a-real-token")[0] == 401
    assert status("Basic dXNlcjpwYXNz") == (
        401,
        "the Authorization header must be `Bearer <token>`",
    )
    supervisor = issue_token("supervisor", command_unit="AS")
    partner = issue_token("partner", boroughs=[LAMBETH], name="Lambeth Council")
    assert status(f"Bearer {partner}")[0] == 200

    tokens = client.get("/tokens", headers={"Authorization": f"Bearer {supervisor}"}).json()
    partner_id = next(t["id"] for t in tokens["tokens"] if t["role"] == "partner")
    revoked = client.delete(
        f"/tokens/{partner_id}", headers={"Authorization": f"Bearer {supervisor}"}
    )
    assert revoked.json()["state"] == "revoked"
    code, detail = status(f"Bearer {partner}")
    assert code == 401 and "revoked" in detail

    officer = issue_token("officer", wards=["E05014118"], name="PC Expired")
    engine = create_engine(app_settings.database_url or "")
    with engine.begin() as conn:
        conn.execute(
            text(
                "UPDATE api_tokens SET expires_at = now() - interval '1 minute' "
                "WHERE name = 'PC Expired'"
            )
        )
    engine.dispose()
    code, detail = status(f"Bearer {officer}")
    assert code == 401 and "expired" in detail


def test_tokens_are_stored_only_as_keyed_hashes(
    client: TestClient, issue_token: Callable[..., str], app_settings: Settings
) -> None:
    raw = issue_token("partner", boroughs=[LAMBETH])
    assert len(raw) >= 3 + 43  # prefix + 256 bits in URL-safe base64
    engine = create_engine(app_settings.database_url or "")
    with engine.connect() as conn:
        dump = conn.execute(text("SELECT api_tokens::text FROM api_tokens")).scalars().all()
        hashes = conn.execute(text("SELECT token_hash FROM api_tokens")).scalars().all()
    engine.dispose()
    assert not any(raw in row or raw[3:] in row for row in dump)
    assert [len(h) for h in hashes] == [32]


def test_supervisor_creates_and_revokes_within_their_command_unit(
    client: TestClient, issue_token: Callable[..., str]
) -> None:
    auth = {"Authorization": f"Bearer {issue_token('supervisor', command_unit='AS')}"}
    created = client.post(
        "/tokens",
        headers=auth,
        json={"role": "partner", "name": "Southwark Council", "boroughs": ["Southwark"]},
    )
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["borough_codes"] == [SOUTHWARK] and body["token"].startswith("wt_")
    new_auth = {"Authorization": f"Bearer {body['token']}"}
    assert client.get("/healthz", headers=new_auth).status_code == 200
    assert client.get("/tokens", headers=new_auth).status_code == 403

    outside = client.post(
        "/tokens",
        headers=auth,
        json={"role": "partner", "name": "Westminster", "boroughs": ["E09000033"]},
    )
    assert outside.status_code == 403 and "E09000033" in outside.json()["detail"]
    officer = client.post(
        "/tokens",
        headers=auth,
        json={"role": "officer", "name": "PC Waterloo", "wards": ["E05014118"]},
    )
    assert officer.json()["borough_codes"] == [LAMBETH]
    assert client.delete(f"/tokens/{body['id']}", headers=auth).json()["state"] == "revoked"
    assert client.get("/healthz", headers=new_auth).status_code == 401


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"role": "officer", "name": "PC", "boroughs": [LAMBETH]}, "scoped to wards"),
        ({"role": "officer", "name": "PC", "wards": ["E05000644"]}, "unknown ward code"),
        ({"role": "partner", "name": "X"}, "needs a scope"),
        ({"role": "partner", "name": "X", "boroughs": ["Narnia"]}, "unknown borough"),
        ({"role": "public", "name": "X"}, "need no token"),
        (
            {"role": "partner", "name": "X", "boroughs": [LAMBETH], "expires": "soon"},
            "not understood",
        ),
        ({"role": "supervisor", "name": "X", "command_unit": "ZZ"}, "AS (Central South)"),
    ],
)
def test_bad_token_requests_say_what_to_fix(
    client: TestClient, issue_token: Callable[..., str], body: dict, message: str
) -> None:
    auth = {"Authorization": f"Bearer {issue_token('supervisor', command_unit='AS')}"}
    response = client.post("/tokens", headers=auth, json=body)
    assert response.status_code == 422, response.text
    assert message in response.json()["detail"]


def test_reading_tokens_is_audited(client: TestClient, issue_token: Callable[..., str]) -> None:
    auth = {"Authorization": f"Bearer {issue_token('supervisor', command_unit='AS', name='Sgt A')}"}
    client.get("/tokens", headers=auth)
    entries = client.get("/audit", headers=auth).json()["entries"]
    actions = [(e["actor"], e["action"]) for e in entries]
    assert actions[:2] == [("Sgt A", "read audit log"), ("Sgt A", "list tokens")]
    partner = issue_token("partner", boroughs=[LAMBETH])
    assert client.get("/audit", headers={"Authorization": f"Bearer {partner}"}).status_code == 403
