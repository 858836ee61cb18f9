"""The buddy's survey in a real headless Chromium.

The officer shows a QR code, the buddy scans it on her own phone (no sign-in), answers once,
and the link then stops working.
"""

from __future__ import annotations

import io
from typing import Any

import httpx2 as httpx
import pytest
import zxingcpp
from PIL import Image
from sqlalchemy import create_engine, text

pytestmark = pytest.mark.browser


def _watch(page: Any, problems: list[str], server: str) -> None:
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.on(
        "request",
        lambda r: problems.append(f"off-server {r.url}") if not r.url.startswith(server) else None,
    )


def test_the_buddy_scans_the_qr_code_and_answers_once(
    browser: Any, live_server: str, app_settings: Any, issue_token: Any
) -> None:
    supervisor = {"Authorization": f"Bearer {issue_token('supervisor', command_unit='AS')}"}
    officer_token = issue_token("officer", wards=["E05014118"], name="PC Survey")
    with httpx.Client(base_url=live_server, headers=supervisor) as api:
        officer = api.post(
            "/officers",
            json={
                "name": "PC Survey",
                "shoulder_number": "AS88",
                "ward_codes": ["E05014118"],
                "command_unit": "AS",
            },
        ).json()
        walk = api.post(
            "/walks",
            json={
                "officer_id": officer["id"],
                "buddy_id": api.post(
                    "/buddies", json={"code": "B-QR-1", "home_ward": "E05014118"}
                ).json()["id"],
                "kind": "transport_hub",
                "planned_start": "2026-11-26T07:00:00+00:00",
                "planned_end": "2026-11-26T07:45:00+00:00",
            },
        ).json()

    problems: list[str] = []
    # The officer's phone, signed in.
    officer_phone = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    page = officer_phone.new_page()
    _watch(page, problems, live_server)
    page.goto(f"{live_server}/walks/{walk['id']}/buddy-survey-link")  # sends to sign in first
    page.get_by_label("Token").fill(officer_token)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("button", name="Make her survey link").click()
    qr = page.locator("#survey-qr svg")
    qr.wait_for()
    assert "works once" in page.locator("main").inner_text()
    # Read the code off the screen as the buddy's camera would.
    shot = Image.open(io.BytesIO(qr.screenshot()))
    (decoded,) = zxingcpp.read_barcodes(shot)
    assert decoded.format == zxingcpp.BarcodeFormat.QRCode
    url = decoded.text
    assert url == page.locator("#survey-url").get_attribute("href")
    assert url.startswith(f"{live_server}/survey/sv_")

    # The buddy's own phone: no cookie, no token.
    buddy_phone = browser.new_context(viewport={"width": 360, "height": 740}, is_mobile=True)
    form = buddy_phone.new_page()
    _watch(form, problems, live_server)
    form.goto(url)
    assert form.evaluate("document.documentElement.scrollWidth") <= 360
    # Every answer is reached through its label, as a screen reader announces it.
    scale = form.get_by_role("group", name="After the walk, how safe do you feel")
    scale.get_by_label("4").check()
    form.get_by_role("group", name="confidence do you have in your local police").get_by_label(
        "5"
    ).check()
    form.get_by_label("Yes").check()
    form.get_by_label("Poor or no street lighting").check()
    form.get_by_label("Anything else you want to tell us?").fill("The underpass felt better.")
    form.get_by_role("button", name="Send my answers").click()
    form.get_by_text("Thank you. Your answers are in").wait_for()

    # Scanning the code again: the link has been used.
    again = form.goto(url)
    assert again.status == 410
    assert "has been used already" in form.get_by_role("alert").inner_text()

    engine = create_engine(app_settings.database_url)
    with engine.connect() as conn:
        row = conn.execute(
            text(
                "SELECT felt_safer, police_confidence, would_recommend, themes, comments "
                "FROM buddy_surveys WHERE walk_id = :id"
            ),
            {"id": walk["id"]},
        ).one()
    engine.dispose()
    assert tuple(row) == (4, 5, True, ["poor_lighting"], "The underpass felt better.")
    # The only failed load is the deliberate second visit (410).
    assert [p for p in problems if "410" not in p] == []
    officer_phone.close()
    buddy_phone.close()
