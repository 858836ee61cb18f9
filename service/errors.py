"""The service's one exception family, mapped to HTTP problem responses once.

Domain code raises these (or plain ``ValueError`` from ``geo``/``boundaries``, which callers
wrap); ``register_error_handlers`` turns them into ``application/problem+json`` bodies
(RFC 9457: type, title, status, detail) so every error a client sees has one shape.
"""

from __future__ import annotations

from typing import Any, ClassVar

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

PROBLEM_JSON = "application/problem+json"


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
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def _describe_validation(exc: RequestValidationError) -> str:
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
        return problem(422, "Invalid input", _describe_validation(exc), "invalid-input")

    async def on_http_error(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        title = {404: "Not found", 405: "Method not allowed"}.get(exc.status_code, "Error")
        return problem(exc.status_code, title, exc.detail, title.lower().replace(" ", "-"))

    app.add_exception_handler(WalkTalkError, on_domain_error)
    app.add_exception_handler(RequestValidationError, on_validation_error)
    app.add_exception_handler(StarletteHTTPException, on_http_error)
