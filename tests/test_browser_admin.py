"""The supervisors' officer, token and import pages in Chromium, on a laptop and on a phone.

A supervisor registers an officer, issues her a token from the officer's page, copies it with
the page's button, and the officer signs in with it in a browser of her own; the supervisor
revokes it and the officer's session ends; then she imports a real police.uk CSV.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text

from tests.browser import ON_LAPTOP_AND_PHONE, serious_axe_violations, sign_in, watched_page

SHOTS = Path("/tmp/shots/admin")
CITY_CSV = (
    Path(__file__).parents[1]
    / "data/police_uk/city_of_london_police_2019/2019-03-city-of-london-street.csv"
)


def _scalar(url: str, sql: str, **params: Any) -> Any:
    engine = create_engine(url)
    with engine.connect() as conn:
        value = conn.execute(text(sql), params).scalar()
    engine.dispose()
    return value


def _shot(page: Any, name: str, device: str) -> None:
    assert serious_axe_violations(page) == [], name
    page.screenshot(path=str(SHOTS / f"{name}-{device}.png"), full_page=True)


@ON_LAPTOP_AND_PHONE
def test_a_supervisor_registers_an_officer_issues_revokes_and_imports(
    browser: Any,
    live_server: str,
    app_settings: Any,
    issue_token: Any,
    device: str,
    width: int,
    height: int,
) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    url = str(app_settings.database_url)
    supervisor = issue_token("supervisor", command_unit="AS", name="Sgt Moss")
    officer_name = f"PC Dana Reyes {device}"
    number = f"{width}AS"
    with watched_page(browser, live_server, width=width, height=height) as page:
        page.context.grant_permissions(["clipboard-read", "clipboard-write"])
        sign_in(page, live_server, supervisor, then="/admin/officers")
        assert page.get_by_role("heading", level=1).inner_text() == "Officers"
        _shot(page, "officers", device)

        # A slip first: no ward ticked. The form says so and keeps what she typed.
        page.get_by_label("Name", exact=True).fill(officer_name)
        page.get_by_label("Shoulder number").fill(number)
        page.get_by_role("button", name="Register officer").click()
        assert "Choose at least one ward" in page.get_by_role("alert").inner_text()
        assert page.get_by_label("Shoulder number").input_value() == number
        _shot(page, "officers-error", device)
        page.locator("summary", has_text="Lambeth").click()
        page.get_by_label("Waterloo & South Bank").check()
        page.get_by_role("button", name="Register officer").click()
        assert "Officer registered" in page.get_by_role("status").first.inner_text()
        assert page.get_by_role("heading", level=1).inner_text() == f"{officer_name} ({number})"
        _shot(page, "officer", device)

        # The token for her, prefilled from her page.
        page.get_by_role("link", name="Issue a sign-in token for her").click()
        assert page.get_by_label("Who will hold it").input_value() == officer_name
        assert page.get_by_label("Waterloo & South Bank").is_checked()
        _shot(page, "tokens", device)
        page.get_by_role("button", name="Issue token").click()
        assert page.get_by_role("heading", level=1).inner_text() == "Token issued"
        assert "it will not be shown again" in page.locator("main").inner_text()
        page.get_by_role("button", name="Copy the token").click()
        page.get_by_text("Copied.").wait_for()
        token = page.evaluate("navigator.clipboard.readText()")
        assert token == page.get_by_label(f"{officer_name}'s token").input_value()
        assert len(token) > 20
        _shot(page, "token-issued", device)
        linked = _scalar(
            url,
            "SELECT t.officer_id = o.id FROM api_tokens t, officers o "
            "WHERE t.name = :n AND o.shoulder_number = :s",
            n=officer_name,
            s=number,
        )
        assert linked is True

        # She signs in with it in a browser of her own and lands on her home page.
        with watched_page(browser, live_server, width=width, height=height) as hers:
            sign_in(hers, live_server, token, then="/")
            hers.get_by_role("button", name="Sign out").wait_for()
            signed_in = hers.locator("#signed-in-as").inner_text()
            assert f"{officer_name}, officer" in signed_in
            assert hers.problems == []

            # The supervisor revokes it, confirming first.
            page.get_by_role("link", name="All tokens").click()
            assert token not in page.content()
            row = page.get_by_role("row").filter(has_text=officer_name)
            row.get_by_role("button", name="Revoke").click()
            assert "Tick the box" in page.get_by_role("alert").inner_text()
            row = page.get_by_role("row").filter(has_text=officer_name)
            row.get_by_label(f"Yes, revoke {officer_name}'s token").check()
            row.get_by_role("button", name="Revoke").click()
            assert "The token is revoked" in page.get_by_role("status").first.inner_text()
            _shot(page, "tokens-revoked", device)
            # Her open session ended with the token: the page is the public's again.
            hers.reload()
            assert hers.get_by_role("button", name="Sign out").count() == 0
        revoked = "SELECT revoked_at IS NOT NULL FROM api_tokens WHERE name = :n"
        assert _scalar(url, revoked, n=officer_name) is True

        # A police.uk file of street crimes.
        page.get_by_role("navigation", name="Main").get_by_role("link", name="Imports").click()
        assert page.get_by_role("heading", level=1).inner_text() == "Imports"
        page.get_by_label("police.uk street crimes").check()
        page.get_by_label("File", exact=True).set_input_files(str(CITY_CSV))
        page.get_by_role("button", name="Import the file").click()
        page.wait_for_url(f"{live_server}/admin/imports")
        stored = _scalar(
            url, "SELECT rows_stored FROM imports WHERE file_name = :n", n=CITY_CSV.name
        )
        assert stored > 400
        main = page.locator("main").inner_text()
        assert f"Imported {CITY_CSV.name}" in main
        assert f"{stored:,} rows stored" in main or "imported before" in main
        _shot(page, "import-result", device)
        page.get_by_role("link", name="Import another file").click()
        page.get_by_role("link", name=CITY_CSV.name).first.click()
        assert page.get_by_role("heading", level=1).inner_text() == f"Import of {CITY_CSV.name}"
        _shot(page, "import", device)
        unexpected = [p for p in page.problems if "422" not in p]
        assert unexpected == []
