"""Pages in the real headless Chromium, watched for everything that goes wrong."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

#: A page tried on a laptop and on a phone: ``@ON_LAPTOP_AND_PHONE`` gives a test ``device``,
#: ``width`` and ``height``.
ON_LAPTOP_AND_PHONE = pytest.mark.parametrize(
    ("device", "width", "height"), [("laptop", 1280, 800), ("phone", 390, 844)]
)


@contextmanager
def watched_page(
    browser: Any, server: str, *, width: int = 1200, height: int = 800, **options: Any
) -> Iterator[Any]:
    """A new page in its own context, collecting in ``page.problems`` everything that went wrong.

    Console errors, page errors, failed requests, HTTP errors and any request that left the
    server (data: URLs, which pages make themselves, excepted): a page that works offline has
    none of them. ``options`` go to the browser context (a phone's touch, its location).
    """
    context = browser.new_context(viewport={"width": width, "height": height}, **options)
    opened = context.new_page()
    problems: list[str] = []
    opened.problems = problems

    def on_console(msg: Any) -> None:
        if msg.type == "error":
            problems.append(f"console {msg.type}: {msg.text}")

    def on_request(req: Any) -> None:
        if not req.url.startswith((server, "data:")):
            problems.append(f"off-server request: {req.url}")

    def on_response(res: Any) -> None:
        if res.status >= 400:
            problems.append(f"HTTP {res.status}: {res.url}")

    opened.on("console", on_console)
    opened.on("pageerror", lambda exc: problems.append(f"page error: {exc}"))
    opened.on("request", on_request)
    opened.on("requestfailed", lambda req: problems.append(f"failed: {req.url}"))
    opened.on("response", on_response)
    try:
        yield opened
    finally:
        context.close()


#: axe-core, installed from npm by the project's set-up (``npm ci --prefix maps/vendor``).
AXE = Path(__file__).parents[1] / "maps" / "vendor" / "node_modules" / "axe-core" / "axe.min.js"


def sign_in(page: Any, server: str, token: str, *, then: str = "/") -> None:
    """Sign in through the login page as a person does, and land on ``then``."""
    page.goto(f"{server}/login?next={then}")
    page.get_by_label("Token").fill(token)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{server}{then}")


def serious_axe_violations(page: Any) -> list[tuple[str, str, list[Any]]]:
    """axe-core's serious and critical violations on the page now: (rule, impact, where)."""
    if not AXE.is_file():
        pytest.fail(
            f"axe-core is not installed at {AXE}: run `npm ci --prefix maps/vendor` (make does)",
            pytrace=False,
        )
    page.add_script_tag(path=str(AXE))
    found = page.evaluate("() => axe.run(document).then(r => r.violations)")
    return [
        (v["id"], v["impact"], [n["target"] for n in v["nodes"]])
        for v in found
        if v["impact"] in ("serious", "critical")
    ]
