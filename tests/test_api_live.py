"""The live walk page: who may open it, what it carries, and `walktalk serve` over HTTPS."""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from service.auth import SESSION_COOKIE
from service.routers.maps import ASSET_URL
from service.taxonomy import CATEGORIES

WATERLOO, BOROUGH_BANKSIDE = "E05014118", "E05011095"
Run = Callable[..., tuple[int, str, str]]


def auth(token: str) -> dict[str, str]:
    """Headers that present a bearer token."""
    return {"Authorization": f"Bearer {token}"}


def plan_walk(api: Any, supervisor: dict[str, str], officer: dict[str, str], **times: str) -> str:
    """Register a Waterloo officer and a buddy and plan their walk, through the API.

    ``api`` is anything with httpx's ``post`` (the TestClient or an httpx client on a live
    server); ``times`` may give ``planned_start`` and ``planned_end``. Returns the walk's id.
    """
    registered = api.post(
        "/officers",
        headers=supervisor,
        json={
            "name": "PC Live",
            "shoulder_number": "AS4242",
            "ward_codes": [WATERLOO],
            "command_unit": "AS",
        },
    )
    assert registered.status_code == 201, registered.text
    buddy = api.post("/buddies", headers=officer, json={"code": "B-LIVE-1", "home_ward": WATERLOO})
    assert buddy.status_code == 201, buddy.text
    walk = api.post(
        "/walks",
        headers=officer,
        json={
            "officer_id": registered.json()["id"],
            "buddy_id": buddy.json()["id"],
            "kind": "commute",
            "planned_start": times.get("planned_start", "2026-12-03T17:00:00+00:00"),
            "planned_end": times.get("planned_end", "2026-12-03T17:45:00+00:00"),
            "consent_keep_route": True,
        },
    )
    assert walk.status_code == 201, walk.text
    return str(walk.json()["id"])


def _hidden(html: str, name: str) -> str:
    match = re.search(rf'name="{name}" value="([^"]*)"', html)
    assert match, f"no hidden field {name} in the page"
    return match.group(1)


def _sign_in(client: TestClient, token: str) -> str:
    """Sign in through /login as a browser does; returns the session's CSRF token."""
    form = client.get("/login").text
    signed_in = client.post(
        "/login",
        data={"token": token, "csrf_token": _hidden(form, "csrf_token"), "next": "/"},
        follow_redirects=False,
    )
    assert signed_in.status_code == 303, signed_in.text
    assert SESSION_COOKIE in client.cookies
    return _hidden(client.get("/").text, "csrf_token")


def _page_config(html: str) -> dict[str, Any]:
    match = re.search(r'<script id="live-config" type="application/json">(.*?)</script>', html)
    assert match, "the page carries no configuration"
    config: dict[str, Any] = json.loads(match.group(1))
    return config


@pytest.fixture
def tokens(client: TestClient, issue_token: Callable[..., str]) -> dict[str, str]:
    return {
        "supervisor": issue_token("supervisor", command_unit="AS"),
        "waterloo": issue_token("officer", wards=[WATERLOO], name="PC Live"),
        "bankside": issue_token("officer", wards=[BOROUGH_BANKSIDE]),
        "partner": issue_token("partner", boroughs=["E09000022"]),
    }


@pytest.fixture
def walk_id(client: TestClient, tokens: dict[str, str]) -> str:
    return plan_walk(client, auth(tokens["supervisor"]), auth(tokens["waterloo"]))


def test_the_walks_officer_gets_the_page_with_its_controls(
    client: TestClient, tokens: dict[str, str], walk_id: str
) -> None:
    csrf = _sign_in(client, tokens["waterloo"])
    page = client.get(f"/walks/{walk_id}/live")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    html = page.text
    for control, label in [
        ("start", "Start"),
        ("pause", "Pause"),
        ("finish", "Finish"),
        ("concern-here", "Concern here"),
    ]:
        assert re.search(rf'<button type="button" id="{control}"[^>]*>{label}</button>', html)
    for category in CATEGORIES:  # one chip per reason in the taxonomy
        assert f'data-slug="{category.slug}">{category.label}<' in html
    assert 'role="status" aria-live="polite"' in html
    assert '<label for="concern-note">' in html
    assert "Waterloo &amp; South Bank ward" in html
    assert "{{" not in html and "{%" not in html  # the included script was rendered whole

    config = _page_config(html)
    assert config["walkId"] == walk_id
    assert config["csrfToken"] == csrf
    assert config["concernsUrl"] == f"/walks/{walk_id}/concerns"
    assert config["routeUrl"] == f"/walks/{walk_id}/route"
    assert config["tiles"] is None  # WALKTALK_TILES=none in the tests
    assert config["categories"] == {c.slug: c.label for c in CATEGORIES}
    assert [f["properties"]["code"] for f in config["ward"]["features"]] == [WATERLOO]
    assert config["ward"]["features"][0]["geometry"]["type"] in {"Polygon", "MultiPolygon"}

    # Leaflet comes from the service itself; nothing is loaded from anywhere else.
    assert f'src="{ASSET_URL}/leaflet/dist/leaflet.js"' in html
    external = re.findall(r'(?:src|href)="(https?:[^"]*)"', html)
    assert external == []

    # The token the page carries is the one its requests must send.
    sent = client.post(
        config["concernsUrl"],
        json={"lon": -0.1136, "lat": 51.5033, "categories": ["other"], "note": None},
        headers={"X-CSRF-Token": config["csrfToken"]},
    )
    assert sent.status_code == 201, sent.text


def test_a_supervisor_of_the_borough_may_open_it(
    client: TestClient, tokens: dict[str, str], walk_id: str
) -> None:
    page = client.get(f"/walks/{walk_id}/live", headers=auth(tokens["supervisor"]))
    assert page.status_code == 200
    assert _page_config(page.text)["walkId"] == walk_id


@pytest.mark.parametrize(
    ("who", "says"),
    [
        ("bankside", f"only officers of ward {WATERLOO} and their supervisors"),
        ("partner", "for officers and their supervisors only"),
    ],
)
def test_officers_of_other_wards_and_partners_are_refused(
    client: TestClient, tokens: dict[str, str], walk_id: str, who: str, says: str
) -> None:
    _sign_in(client, tokens[who])
    refused = client.get(f"/walks/{walk_id}/live")
    assert refused.status_code == 403
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert says in refused.json()["detail"]


def test_the_public_are_sent_to_sign_in_and_back(client: TestClient, walk_id: str) -> None:
    response = client.get(f"/walks/{walk_id}/live", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == f"/login?next=/walks/{walk_id}/live"
    assert (
        f'name="next" value="/walks/{walk_id}/live"'
        in client.get(response.headers["location"]).text
    )


def test_an_unknown_walk_is_not_found(client: TestClient, tokens: dict[str, str]) -> None:
    missing = "00000000-0000-4000-8000-000000000000"
    response = client.get(f"/walks/{missing}/live", headers=auth(tokens["waterloo"]))
    assert response.status_code == 404
    assert missing in response.json()["detail"]


# -- walktalk serve over HTTPS ---------------------------------------------------------------


def _self_signed(folder: Path) -> tuple[Path, Path]:
    """A key and a self-signed certificate for 127.0.0.1, made as the README says."""
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.fail("openssl is not installed: run `sudo apt-get install openssl`", pytrace=False)
    key, cert = folder / "key.pem", folder / "cert.pem"
    subprocess.run(
        [
            openssl,
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=walktalk test",
            "-addext",
            "subjectAltName=IP:127.0.0.1,DNS:localhost",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    return key, cert


@pytest.fixture
def uvicorn_runs(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """Stand in for uvicorn.run: record what it was asked to serve instead of serving."""
    import uvicorn

    calls: list[dict[str, Any]] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **options: calls.append(options))
    return calls


def test_serve_hands_the_key_and_certificate_to_uvicorn(
    walktalk: Run, uvicorn_runs: list[dict[str, Any]], tmp_path: Path
) -> None:
    key, cert = _self_signed(tmp_path)
    code, out, err = walktalk(
        "serve",
        "--host",
        "0.0.0.0",  # noqa: S104 - what a phone on the network needs
        "--port",
        "8443",
        "--ssl-keyfile",
        str(key),
        "--ssl-certfile",
        str(cert),
    )
    assert code == 0, err
    assert len(uvicorn_runs) == 1
    options = uvicorn_runs[0]
    assert (options["ssl_keyfile"], options["ssl_certfile"]) == (str(key), str(cert))
    assert (options["host"], options["port"]) == ("0.0.0.0", 8443)  # noqa: S104
    assert "Walk and Talk Maps on https://0.0.0.0:8443" in out
    assert "live walk: https://0.0.0.0:8443/walks/<walk id>/live" in out
    assert re.search(r"on a phone on this network: https://\S+:8443/walks/<walk id>/live", out)
    assert "http://" not in out
    assert "WALKTALK_SECURE_COOKIES=true" in err


def test_serve_without_tls_stays_plain_http(
    walktalk: Run, uvicorn_runs: list[dict[str, Any]]
) -> None:
    code, out, err = walktalk("serve", "--port", "8001")
    assert code == 0, err
    assert (uvicorn_runs[0]["ssl_keyfile"], uvicorn_runs[0]["ssl_certfile"]) == (None, None)
    assert "Walk and Talk Maps on http://127.0.0.1:8001" in out
    assert "https://" not in out


def test_serve_prints_the_pages_a_new_user_opens_and_each_answers(
    walktalk: Run, uvicorn_runs: list[dict[str, Any]], client: Any
) -> None:
    code, out, err = walktalk("serve")
    assert code == 0, err
    paths = re.findall(r"http://127\.0\.0\.1:8000(/\S*)", out)
    for page in ("/docs", "/maps/wards", "/maps/hotspots", "/maps/heatmap", "/report", "/login"):
        assert page in paths, out
    for path in paths:  # as the public, who open them first (signed-in pages redirect)
        answer = client.get(path, follow_redirects=False)
        assert answer.status_code in (200, 303), (path, answer.status_code)


@pytest.mark.parametrize(
    ("given", "says"),
    [
        (["--ssl-keyfile", "KEY"], "needs both --ssl-keyfile and --ssl-certfile"),
        (["--ssl-certfile", "CERT"], "needs both --ssl-keyfile and --ssl-certfile"),
        (["--ssl-keyfile", "KEY", "--ssl-certfile", "missing.pem"], "no such file: missing.pem"),
    ],
    ids=["key-only", "certificate-only", "missing-file"],
)
def test_serve_refuses_half_a_tls_setup(
    walktalk: Run,
    uvicorn_runs: list[dict[str, Any]],
    tmp_path: Path,
    given: list[str],
    says: str,
) -> None:
    key, cert = _self_signed(tmp_path)
    argv = [{"KEY": str(key), "CERT": str(cert)}.get(a, a) for a in given]
    code, _, err = walktalk("serve", *argv)
    assert code == 1
    assert says in err
    assert uvicorn_runs == []


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_serve_really_answers_over_https(fresh_db: str, tmp_path: Path) -> None:
    import httpx2 as httpx

    key, cert = _self_signed(tmp_path)
    port = _free_port()
    env = {
        **os.environ,
        "DATABASE_URL": fresh_db,
        "WALKTALK_HOME": str(tmp_path / "home"),
        "WALKTALK_TILES": "none",
        "WALKTALK_SECURE_COOKIES": "true",
    }
    walktalk = Path(sys.executable).with_name("walktalk")
    server = subprocess.Popen(
        [
            str(walktalk),
            "serve",
            "--port",
            str(port),
            "--ssl-keyfile",
            str(key),
            "--ssl-certfile",
            str(cert),
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    trusted = ssl.create_default_context(cafile=str(cert))
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                health = httpx.get(f"https://127.0.0.1:{port}/healthz", verify=trusted)
                break
            except httpx.TransportError:
                if server.poll() is not None or time.monotonic() > deadline:
                    server.kill()
                    said, _ = server.communicate(timeout=20)
                    pytest.fail(f"walktalk serve did not answer over HTTPS:\n{said}")
                time.sleep(0.2)
        assert health.status_code == 200
        assert health.json()["database"] == "reachable"
        # Plain HTTP on the same port is not served.
        with pytest.raises(httpx.TransportError):
            httpx.get(f"http://127.0.0.1:{port}/healthz")
    finally:
        server.terminate()
        out, _ = server.communicate(timeout=20)
    assert f"Walk and Talk Maps on https://127.0.0.1:{port}" in out
