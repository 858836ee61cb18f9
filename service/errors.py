"""The service's one exception family, mapped to HTTP problem responses once.

Domain code raises these (or plain ``ValueError`` from ``geo``/``boundaries``, which callers
wrap); ``register_error_handlers`` turns them into ``application/problem+json`` bodies
(RFC 9457: type, title, status, detail) so every error a client sees has one shape.
"""

from __future__ import annotations

import logging
import traceback
import uuid
from typing import Any, ClassVar

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy import exc as sa_exc
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from geo.grid import GridMissing

PROBLEM_JSON = "application/problem+json"
log = logging.getLogger("walktalk")
# Seconds a client is asked to wait when the database is down or every connection is busy.
RETRY_AFTER_S = 5


class WalkTalkError(Exception):
    """Base of every error the service reports to a client."""

    status: ClassVar[int] = 500
    title: ClassVar[str] = "Internal error"
    slug: ClassVar[str] = "internal-error"

    def __init__(self, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extra = extra


class InvalidInput(WalkTalkError):
    """The request was understood but its values are wrong."""

    status = 422
    title = "Invalid input"
    slug = "invalid-input"


class InvalidParameter(InvalidInput):
    """A query parameter is wrong where a standard asks for 400 (OGC API - Features)."""

    status = 400
    title = "Invalid parameter"
    slug = "invalid-parameter"


class Unauthorized(WalkTalkError):
    """A token was given but is unknown, revoked or expired."""

    status = 401
    title = "Not signed in"
    slug = "unauthorized"


class Forbidden(WalkTalkError):
    """The caller's role or scope may not do this."""

    status = 403
    title = "Forbidden"
    slug = "forbidden"


class NotFound(WalkTalkError):
    """No such thing."""

    status = 404
    title = "Not found"
    slug = "not-found"


class OutsideServiceArea(NotFound):
    """A place outside every ward of the active ward set."""

    title = "Outside the service area"
    slug = "outside-service-area"


class Conflict(WalkTalkError):
    """The request clashes with what is stored."""

    status = 409
    title = "Conflict"
    slug = "conflict"


class Gone(WalkTalkError):
    """It existed, and will never work again (a used or expired one-time link)."""

    status = 410
    title = "Gone"
    slug = "gone"


class PayloadTooLarge(WalkTalkError):
    """The request body is bigger than this endpoint takes."""

    status = 413
    title = "Request too large"
    slug = "payload-too-large"


class TooManyRequests(WalkTalkError):
    """The client sent too many requests in a short time."""

    status = 429
    title = "Too many requests"
    slug = "too-many-requests"


class ServiceUnavailable(WalkTalkError):
    """The database cannot be reached or is not ready."""

    status = 503
    title = "Service unavailable"
    slug = "service-unavailable"


def problem(status: int, title: str, detail: Any, slug: str, **extra: Any) -> JSONResponse:
    """Build one problem+json response."""
    body = {"type": f"/problems/{slug}", "title": title, "status": status, "detail": detail}
    body.update(extra)
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else {}
    if "retry_after" in extra:
        headers["Retry-After"] = str(extra["retry_after"])
    elif status == 503:
        headers["Retry-After"] = str(RETRY_AFTER_S)
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def describe_validation(exc: RequestValidationError) -> str:
    """FastAPI's validation errors in one line: each bad parameter and what was wrong."""
    parts = []
    for error in exc.errors():
        where = ".".join(str(p) for p in error.get("loc", ()) if p != "body") or "request"
        parts.append(f"{where}: {error.get('msg', 'invalid')}")
    return "; ".join(parts)


def register_error_handlers(app: FastAPI) -> None:
    """Map the exception family, validation errors and routing errors to problem+json."""

    async def on_domain_error(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, WalkTalkError)
        return problem(exc.status, exc.title, exc.detail, exc.slug, **exc.extra)

    async def on_validation_error(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        return problem(422, "Invalid input", describe_validation(exc), "invalid-input")

    async def on_http_error(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        title = {404: "Not found", 405: "Method not allowed"}.get(exc.status_code, "Error")
        return problem(exc.status_code, title, exc.detail, title.lower().replace(" ", "-"))

    async def on_database_unavailable(_: Request, exc: Exception) -> JSONResponse:
        # Down, restarting, or every pooled connection busy: nothing was stored; try again.
        busy = isinstance(exc, sa_exc.TimeoutError)
        log.warning("database %s: %s", "busy" if busy else "unreachable", type(exc).__name__)
        return problem(
            503,
            ServiceUnavailable.title,
            (
                "the service is busy: every database connection is in use; try again shortly"
                if busy
                else "the database cannot be reached just now; nothing was stored; try again "
                "shortly (the operator restarts it with `walktalk db up`)"
            ),
            ServiceUnavailable.slug,
            retry_after=RETRY_AFTER_S,
        )

    async def on_grid_missing(_: Request, exc: Exception) -> JSONResponse:
        # An installation fault, not the caller's: without OSTN15 places would be 2-5 m off.
        log.error("OSTN15 grid missing: %s", exc)
        return problem(503, ServiceUnavailable.title, str(exc), ServiceUnavailable.slug)

    app.add_exception_handler(GridMissing, on_grid_missing)
    app.add_exception_handler(sa_exc.OperationalError, on_database_unavailable)
    app.add_exception_handler(sa_exc.InterfaceError, on_database_unavailable)
    app.add_exception_handler(sa_exc.TimeoutError, on_database_unavailable)
    app.add_exception_handler(WalkTalkError, on_domain_error)
    app.add_exception_handler(RequestValidationError, on_validation_error)
    app.add_exception_handler(StarletteHTTPException, on_http_error)


def describe_for_log(exc: BaseException) -> str:
    """An exception as the error log may keep it: type, place and SQL, never the values.

    Database errors' messages quote the values that failed (a moderation reason, a name, a
    buddy's contact details), so for those only the SQL state and the statement are kept.
    """
    frames = "".join(traceback.format_tb(exc.__traceback__))
    if isinstance(exc, sa_exc.StatementError):
        original = getattr(exc, "orig", None)
        state = getattr(original, "sqlstate", None)
        what = f"{type(exc).__name__} ({type(original).__name__}, SQLSTATE {state})"
        return f"{what} in statement: {exc.statement}\n{frames}"
    return f"{type(exc).__name__}: {exc}\n{frames}"


class ProblemOnCrash:
    """ASGI middleware: an unexpected error becomes a problem+json 500 with an incident id.

    Without it Starlette answers ``Internal Server Error`` as plain text and logs the raw
    exception, SQL parameters and all. The log gets :func:`describe_for_log` and the id.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request on; answer 500 if it fails before a response started."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def watch(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, watch)
        except Exception as exc:
            incident = uuid.uuid4().hex[:12]
            route = getattr(scope.get("route"), "path", "an unrouted path")
            log.error(
                "incident %s: %s %s failed: %s",
                incident,
                scope.get("method"),
                route,
                describe_for_log(exc),
            )
            if started:
                raise
            response = problem(
                500,
                WalkTalkError.title,
                f"something went wrong on our side (incident {incident}); try again, and if "
                "it happens again tell the scheme's administrator the incident number",
                WalkTalkError.slug,
                incident=incident,
            )
            await response(scope, receive, send)
