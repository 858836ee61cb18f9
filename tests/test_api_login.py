"""Browser sign-in: token → HttpOnly SameSite=Strict cookie, CSRF on changes, sign-out."""

from __future__ import annotations

import re
from collections.abc import Callable

from fastapi.testclient import TestClient

from service.auth import SESSION_COOKIE


def _hidden(html: str, name: str) -> str:
    match = re.search(rf'name="{name}" value="([^"]*)"', html)
    assert match, f"no hidden field {name} in the page"
    return match.group(1)


def _sign_in(client: TestClient, token: str, next_: str = "/") -> object:
    form = client.get("/login", params={"next": next_})
    assert form.status_code == 200
    return client.post(
        "/login",
        data={
            "token": token,
            "csrf_token": _hidden(form.text, "csrf_token"),
            "next": _hidden(form.text, "next"),
        },
        follow_redirects=False,
    )


def test_sign_in_sets_a_strict_httponly_cookie_and_grants_the_role(
    client: TestClient, issue_token: Callable[..., str]
) -> None:
    token = issue_token("supervisor", command_unit="AS", name="Sgt Browser")
    response = _sign_in(client, token, next_="/tokens")
    assert response.status_code == 303  # type: ignore[attr-defined]
    assert response.headers["location"] == "/tokens"  # type: ignore[attr-defined]
    set_cookie = next(
        v
        for k, v in response.headers.multi_items()  # type: ignore[attr-defined]
        if k == "set-cookie" and v.startswith(SESSION_COOKIE)
    )
    assert "HttpOnly" in set_cookie and "SameSite=strict" in set_cookie.replace("Strict", "strict")
    assert token not in set_cookie
    listed = client.get("/tokens")
    assert listed.status_code == 200
    assert [t["name"] for t in listed.json()["tokens"]] == ["Sgt Browser"]
    assert "Sgt Browser" in client.get("/").text


def test_changes_from_a_cookie_session_need_the_csrf_token(
    client: TestClient, issue_token: Callable[..., str]
) -> None:
    _sign_in(client, issue_token("supervisor", command_unit="AS"))
    body = {"role": "partner", "name": "Lambeth Council", "boroughs": ["E09000022"]}
    refused = client.post("/tokens", json=body)
    assert refused.status_code == 403 and "CSRF" in refused.json()["detail"]
    csrf = _hidden(client.get("/").text, "csrf_token")
    assert client.post("/tokens", json=body, headers={"X-CSRF-Token": "wrong"}).status_code == 403
    accepted = client.post("/tokens", json=body, headers={"X-CSRF-Token": csrf})
    assert accepted.status_code == 201


def test_sign_out_needs_csrf_and_ends_the_session(
    client: TestClient, issue_token: Callable[..., str]
) -> None:
    _sign_in(client, issue_token("supervisor", command_unit="AS"))
    assert client.post("/logout", follow_redirects=False).status_code == 403
    csrf = _hidden(client.get("/").text, "csrf_token")
    out = client.post("/logout", data={"csrf_token": csrf}, follow_redirects=False)
    assert out.status_code == 303 and out.headers["location"] == "/login?signed_out=1"
    assert client.get("/tokens").status_code == 403  # public again


def test_bad_tokens_and_forged_forms_do_not_sign_in(
    client: TestClient, issue_token: Callable[..., str]
) -> None:
    wrong = _sign_in(client, "wt_made-up")
    assert wrong.status_code == 401  # type: ignore[attr-defined]
    assert "unknown, revoked or expired" in wrong.text  # type: ignore[attr-defined]
    forged = client.post(
        "/login",
        data={"token": issue_token("partner", boroughs=["E09000022"]), "csrf_token": "guessed"},
        follow_redirects=False,
    )
    assert forged.status_code == 403 and SESSION_COOKIE not in forged.cookies


def test_no_open_redirect_after_sign_in(
    client: TestClient, issue_token: Callable[..., str]
) -> None:
    response = _sign_in(client, issue_token("partner", boroughs=["E09000022"]), "//evil.example")
    assert response.headers["location"] == "/"  # type: ignore[attr-defined]


def test_a_revoked_token_ends_its_browser_sessions(
    client: TestClient, issue_token: Callable[..., str]
) -> None:
    supervisor = issue_token("supervisor", command_unit="AS", name="Sgt Other")
    _sign_in(client, issue_token("supervisor", command_unit="AS", name="Sgt Leaving"))
    assert client.get("/tokens").status_code == 200
    auth = {"Authorization": f"Bearer {supervisor}"}
    leaving = next(
        t["id"]
        for t in client.get("/tokens", headers=auth).json()["tokens"]
        if t["name"] == "Sgt Leaving"
    )
    client.delete(f"/tokens/{leaving}", headers=auth)
    assert client.get("/tokens").status_code == 403
