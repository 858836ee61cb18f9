"""Input no route can use, refused before any route sees it.

PostgreSQL cannot store the NUL character, UTF-8 cannot encode a lone surrogate, and a body
nested thousands of levels deep exhausts Python's recursion before any route's own checks run.
Each of those used to reach the database or the parser and come back as a 500; here they are
answered 422 with what to fix, whatever the route. Bodies (all but multipart uploads, which the
import routes bound themselves) are also capped at one size, so no route can be handed 10 MB of
JSON to parse.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Annotated, Any
from urllib.parse import parse_qsl

from fastapi import Depends, Request, Response

from service.errors import error_page, problem, wants_html

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

MAX_DEPTH = 64
NUL_HINT = "text may not contain the NUL character (\\u0000, %00): remove it and send again"


class RefusedInput(ValueError):
    """A value no route can use; its message says what to change."""


def check_text(value: str, where: str) -> None:
    """Refuse text PostgreSQL or UTF-8 cannot hold: a NUL character or a lone surrogate."""
    if "\x00" in value:
        raise RefusedInput(f"{where}: {NUL_HINT}")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise RefusedInput(
            f"{where}: the text holds a lone UTF-16 surrogate (such as \\ud800), which is not "
            "a character: send the text as valid UTF-8"
        ) from None


def check_json(value: Any, max_depth: int = MAX_DEPTH) -> None:
    """Walk a parsed JSON value (without recursion) and refuse bad text or deep nesting."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, str):
            check_text(item, "a text value")
            continue
        if not isinstance(item, dict | list):
            continue
        if depth > max_depth:
            raise RefusedInput(
                f"the JSON is nested more than {max_depth} levels deep; no request needs that"
            )
        if isinstance(item, dict):
            for key, inner in item.items():
                check_text(key, "a JSON key")
                stack.append((inner, depth + 1))
        else:
            stack.extend((inner, depth + 1) for inner in item)


def parse_checked_json(body: bytes) -> Any | None:
    """The body's JSON, checked; ``None`` when it is not JSON (the route says what it wants)."""
    try:
        value = json.loads(body)
    except RecursionError:
        raise RefusedInput(
            f"the JSON is nested more than {MAX_DEPTH} levels deep; no request needs that"
        ) from None
    except ValueError:
        return None
    check_json(value)
    return value


def _check_target(scope: Scope) -> None:
    check_text(scope.get("path", ""), "the path")
    query = scope.get("query_string", b"").decode("latin-1")
    for name, value in parse_qsl(query, keep_blank_values=True):
        check_text(name, "a query parameter's name")
        check_text(value, f"query parameter {name!r}")


def _header(scope: Scope, name: bytes) -> str:
    for key, value in scope.get("headers", ()):
        if key.lower() == name:
            return str(value.decode("latin-1"))
    return ""


def _is_json(content_type: str) -> bool:
    kind = content_type.split(";", 1)[0].strip().lower()
    return kind == "application/json" or kind.endswith("+json")


def _looks_like_json(text: bytes | str) -> bool:
    return text.lstrip()[:1] in (b"{", b"[", "{", "[")


def _check_body(body: bytes, content_type: str) -> None:
    # Routes read JSON whatever the declared type (curl -d sends a form type), and the
    # planning page posts its route as GeoJSON text inside a form field: check all of those.
    if not body:
        return
    if _is_json(content_type) or _looks_like_json(body):
        parse_checked_json(body)
    elif content_type.lower().startswith("application/x-www-form-urlencoded"):
        form = body.decode("utf-8", errors="replace")
        for name, value in parse_qsl(form, keep_blank_values=True):
            check_text(value, f"form field {name!r}")
            if _looks_like_json(value):
                parse_checked_json(value.encode())


class InputGuard:
    """ASGI middleware: 422 for NUL, lone surrogates and deep nesting; 413 past ``body_limit``."""

    def __init__(self, app: ASGIApp, *, body_limit: int) -> None:
        self.app = app
        self.body_limit = body_limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Check the request line, then (multipart apart) read, check and replay the body."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        content_type = _header(scope, b"content-type")
        try:
            _check_target(scope)
            if content_type.lower().startswith("multipart/"):
                await self.app(scope, receive, send)
                return
            body = await self._read_body(scope, receive)
            if body is None:
                await self._refuse(scope, send, 413, self._too_large())
                return
            _check_body(body, content_type)
        except RefusedInput as exc:
            await self._refuse(scope, send, 422, str(exc))
            return
        await self.app(scope, _replay(body, receive), send)

    def _too_large(self) -> str:
        return (
            f"the request body is larger than {self.body_limit:,} bytes: simplify it first (a "
            "line or an area), or import a file with `walktalk reports import`"
        )

    async def _read_body(self, scope: Scope, receive: Receive) -> bytes | None:
        declared = _header(scope, b"content-length")
        if declared.isdigit() and int(declared) > self.body_limit:
            return None
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.body_limit:
                return None
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        return b"".join(chunks)

    async def _refuse(self, scope: Scope, send: Send, status: int, detail: str) -> None:
        title, slug = {
            413: ("Request too large", "payload-too-large"),
            422: ("Invalid input", "invalid-input"),
        }[status]
        request = Request(scope)
        # A browser's form gets a page it can read; API clients get problem+json.
        if wants_html(request):
            if status == 413:
                detail = (
                    f"the form sent more than {self.body_limit:,} bytes: shorten what you typed, "
                    "go back and send it again"
                )
            response: Response = error_page(request, status, title, detail)
        else:
            response = problem(status, title, detail, slug)

        async def nothing() -> Message:
            return {"type": "http.disconnect"}

        await response(scope, nothing, send)


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


async def request_body(request: Request) -> bytes:
    """The whole body (already size-checked), read on the event loop.

    A route that takes it can be a plain ``def``, so its database work runs in a worker
    thread and never on the loop.
    """
    return await request.body()


RequestBody = Annotated[bytes, Depends(request_body)]
