"""Pages in the real headless Chromium, watched for everything that goes wrong."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


@contextmanager
def watched_page(
    browser: Any, server: str, *, width: int = 1200, height: int = 800
) -> Iterator[Any]:
    """A new page in its own context, collecting in ``page.problems`` everything that went wrong.

    Console errors, page errors, failed requests, HTTP errors and any request that left the
    server (data: URLs, which pages make themselves, excepted): a page that works offline has
    none of them.
    """
    context = browser.new_context(viewport={"width": width, "height": height})
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
