"""/docs: a token can be tried with "Authorize", and a signed-in browser's changes pass CSRF."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from tests.browser import serious_axe_violations, sign_in, watched_page

SHOTS = Path("/tmp/shots/patrols")
WATERLOO = "E05014118"


def test_the_openapi_document_describes_bearer_tokens(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    assert schema["components"]["securitySchemes"]["bearerToken"] == {
        "type": "http",
        "scheme": "bearer",
        "description": "A token from a supervisor (wt_…); without one you are the public.",
    }
    # A token is optional: the public call the open routes without one.
    assert schema["security"] == [{"bearerToken": []}, {}]
    # Only the document changed: a route still refuses the public as before.
    assert client.get("/walks").status_code == 403


def test_the_docs_page_carries_no_csrf_token_without_a_browser_session(
    client: TestClient, issue_token: Any
) -> None:
    public = client.get("/docs").text
    assert '"csrfToken": null' in public and "You are signed in" not in public
    # A bearer token is not a browser session: it needs no CSRF token, and gets none.
    token = issue_token("officer", wards=[WATERLOO], name="PC Docs")
    with_token = client.get("/docs", headers={"Authorization": f"Bearer {token}"}).text
    assert '"csrfToken": null' in with_token
    assert '"csrfHeader": "X-CSRF-Token"' in with_token


def _open_operation(page: Any, tag: str, operation: str) -> Any:
    block = page.locator(f"#operations-{tag}-{operation}")
    block.locator(".opblock-summary-control").click()
    block.get_by_role("button", name="Try it out").click()
    return block


def test_authorize_with_a_token_then_try_get_walks(
    browser: Any, live_server: str, issue_token: Any
) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    token = issue_token("officer", wards=[WATERLOO], name="PC Docs")
    with watched_page(browser, live_server, width=1280, height=800) as page:
        page.goto(f"{live_server}/docs")
        page.locator(".swagger-ui .info .title").wait_for()
        page.locator(".scheme-container").get_by_role("button", name="Authorize").click()
        dialog = page.locator(".modal-ux")
        dialog.get_by_label("auth-bearer-value").fill(token)
        dialog.get_by_role("button", name="Apply credentials").click()
        assert "******" in dialog.inner_text()  # authorized: the token is hidden
        page.screenshot(path=str(SHOTS / "docs-authorize.png"))
        dialog.get_by_role("button", name="Close").first.click()

        block = _open_operation(page, "walks", "list_walks")
        with page.expect_response(lambda r: r.url == f"{live_server}/walks") as answered:
            block.get_by_role("button", name="Execute").click()
        assert answered.value.status == 200
        assert answered.value.request.headers["authorization"] == f"Bearer {token}"
        status = block.locator(".live-responses-table tbody .response-col_status").first
        status.wait_for()
        assert status.inner_text().strip() == "200"
        assert '"walks"' in block.locator(".live-responses-table .microlight").first.inner_text()
        status.scroll_into_view_if_needed()
        page.screenshot(path=str(SHOTS / "docs-get-walks.png"))
        assert page.problems == []


def test_signed_in_by_cookie_a_post_from_docs_is_not_refused_for_csrf(
    browser: Any, live_server: str, issue_token: Any
) -> None:
    token = issue_token("officer", wards=[WATERLOO], name="PC Docs")
    with watched_page(browser, live_server, width=1280, height=800) as page:
        sign_in(page, live_server, token, then="/docs")
        page.locator(".swagger-ui .info .title").wait_for()
        assert "You are signed in as PC Docs" in page.locator(".signed-in").inner_text()
        block = _open_operation(page, "walks", "create_buddy")
        block.locator("textarea.body-param__text").fill(
            '{"code": "B-DOCS-1", "home_ward": "E05014118"}'
        )
        with page.expect_response(lambda r: r.url == f"{live_server}/buddies") as answered:
            block.get_by_role("button", name="Execute").click()
        response = answered.value
        assert response.status == 201, response.text()
        assert response.request.headers.get("authorization") is None  # the cookie signed it
        assert response.request.headers["x-csrf-token"]
        assert response.json()["code"] == "B-DOCS-1"
        status = block.locator(".live-responses-table tbody .response-col_status").first
        status.wait_for()
        assert status.inner_text().strip() == "201"
        status.scroll_into_view_if_needed()
        page.screenshot(path=str(SHOTS / "docs-signed-in-post.png"))
        assert page.problems == []


def test_docs_have_no_serious_axe_violations(browser: Any, live_server: str) -> None:
    """Swagger UI's own markup, with the page's contrast fixes and no deep links.

    axe still reports two moderate findings of Swagger UI's markup (its tag headings skip a
    level; its info block sits outside a landmark).
    """
    with watched_page(browser, live_server, width=1280, height=800) as page:
        page.goto(f"{live_server}/docs")
        page.locator("#operations-walks-list_walks").wait_for()
        assert serious_axe_violations(page) == []
        # And with an operation open, tried out, as a person reads it.
        block = _open_operation(page, "walks", "list_walks")
        block.get_by_role("button", name="Execute").click()
        block.locator(".live-responses-table tbody .response-col_status").first.wait_for()
        assert serious_axe_violations(page) == []
