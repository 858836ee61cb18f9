"""The service's one exception family, mapped to HTTP problem responses once.

Domain code raises these (or plain ``ValueError`` from ``geo``/``boundaries``, which callers
wrap); ``register_error_handlers`` turns them into ``application/problem+json`` bodies
(RFC 9457: type, title, status, detail) so every error a client sees has one shape.

A person in a browser gets the same status as an HTML page instead (``templates/error.html``):
the message in plain words, the values to fix in a form to try again, and the way home. The
test is the request's ``Accept`` header (:func:`wants_html`): browsers ask for ``text/html``
first when they open a page; API clients ask for JSON, or for anything (``*/*``: curl,
scripts, ``fetch``), and keep getting problem+json.
"""

from __future__ import annotations

import logging
import re
import traceback
import uuid
from typing import Any, ClassVar

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from sqlalchemy import exc as sa_exc
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from geo.grid import GridMissing
from service.web import templates

PROBLEM_JSON = "application/problem+json"
log = logging.getLogger("walktalk")
# Seconds a client is asked to wait when the database is down or every connection is busy.
RETRY_AFTER_S = 5

#: Paths that are APIs whatever a browser asks for: OGC API Features (QGIS reads its errors),
#: vector tiles and the map assets.
API_PATHS = ("/ogc", "/tiles/", "/static/", "/openapi.json")
_JSON_TYPES = ("application/json", "application/problem+json", "application/geo+json")
#: What the map pages' query parameters are called on the pages' forms (error pages name both).
_FIELD_LABELS = {
    "month_from": "From month",
    "month_to": "To month",
    "category": "Category",
    "time_band": "Time of day",
    "dark": "After dark only",
    "edge": "Hexagon size (edge in metres)",
    "borough": "Borough",
    "crimes": "Show police.uk crimes",
    "bandwidth": "Smoothing (metres)",
}
#: What an error page's heading says, by status: plain words, not HTTP's.
_HEADINGS = {
    400: "The request could not be read",
    401: "Please sign in",
    403: "This is not open to you",
    404: "Not found",
    405: "Not found",
    409: "That clashes with what is stored",
    410: "This link no longer works",
    413: "That is too large",
    422: "Some values need fixing",
    429: "Too many requests: please wait a moment",
    500: "Something went wrong on our side",
    503: "The service is busy or down: try again shortly",
}


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


def _accept_quality(accept: str, media_type: str) -> float:
    """How much an ``Accept`` header wants ``media_type`` (its most specific match's q)."""
    kind = media_type.split("/")[0]
    best, quality = -1, 0.0
    for part in accept.split(","):
        name, *params = (p.strip() for p in part.split(";"))
        specificity = {media_type: 2, f"{kind}/*": 1, "*/*": 0}.get(name.lower(), -1)
        if specificity <= best:
            continue
        q = 1.0
        for param in params:
            key, _, value = param.partition("=")
            if key.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        best, quality = specificity, q
    return quality


#: What an HTML form sends (``enctype``).
_FORM_TYPES = frozenset({"application/x-www-form-urlencoded", "multipart/form-data"})


def wants_html(request: Request) -> bool:
    """Whether to answer an error as an HTML page: a browser opening a page or sending a form.

    A ``GET`` (or ``HEAD``), or a ``POST`` of an HTML form, off the API paths whose ``Accept``
    header ranks ``text/html`` above JSON, as browsers' page requests do. ``*/*`` ranks them
    equal: JSON.

    Examples
    --------
    >>> browser = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
    >>> _accept_quality(browser, "text/html") > _accept_quality(browser, "application/json")
    True

    """
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    form = request.method == "POST" and kind in _FORM_TYPES
    if (request.method not in {"GET", "HEAD"} and not form) or request.url.path.startswith(
        API_PATHS
    ):
        return False
    accept = request.headers.get("accept", "")
    html = _accept_quality(accept, "text/html")
    return html > max(_accept_quality(accept, t) for t in _JSON_TYPES)


def _fields_to_fix(request: Request, detail: str, named: set[str]) -> set[str]:
    """The query parameters an error is about: those it names, or its message mentions."""
    given = {name for name, _ in request.query_params.multi_items()}
    mentioned = {n for n in given if re.search(rf"\b{re.escape(n)}\b", detail)}
    return (named & given) | mentioned


def error_page(
    request: Request,
    status: int,
    title: str,
    detail: Any,
    *,
    fields: set[str] | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    """An error as a person reads it: the message, the values to fix, the way back.

    The page repeats the request's query as a form (the values to fix marked) that sends it
    to the same page again, links the page with no filters, and links home; for 401 and 403
    it links the sign-in page too.
    """
    text = detail if isinstance(detail, str) else str(detail)
    if status == 404 and text == "Not Found":
        # Starlette's words for a path no route serves.
        text = f"there is no page at {request.url.path}; start again from the home page"
    bad = _fields_to_fix(request, text, fields or set())
    query = [
        {"name": name, "label": _FIELD_LABELS.get(name), "value": value, "bad": name in bad}
        for name, value in request.query_params.multi_items()
    ]
    return templates.TemplateResponse(
        request,
        "error.html",
        {
            "title": _HEADINGS.get(status, title),
            "status": status,
            "detail": text,
            "fields": sorted(bad),
            "query": query,
            "path": request.url.path,
        },
        status_code=status,
        headers=headers,
    )


def _answer(
    request: Request,
    status: int,
    title: str,
    detail: Any,
    slug: str,
    *,
    fields: set[str] | None = None,
    **extra: Any,
) -> Response:
    """problem+json for API clients, an HTML page for a browser (see :func:`wants_html`)."""
    response = problem(status, title, detail, slug, **extra)
    if not wants_html(request):
        return response
    kept = {k: v for k, v in response.headers.items() if k in {"www-authenticate", "retry-after"}}
    return error_page(request, status, title, detail, fields=fields, headers=kept)


def describe_validation(exc: RequestValidationError) -> str:
    """FastAPI's validation errors in one line: each bad parameter and what was wrong."""
    parts = []
    for error in exc.errors():
        where = ".".join(str(p) for p in error.get("loc", ()) if p != "body") or "request"
        if tuple(error.get("loc", ())) == ("body",) and error.get("type") in _NOT_AN_OBJECT:
            # The whole body was a form, a list or text: pydantic's words name no field.
            parts.append(
                "the body must be a JSON object: send it as JSON with the header "
                "Content-Type: application/json (a form, a list or plain text cannot be read)"
            )
            continue
        parts.append(f"{where}: {error.get('msg', 'invalid')}")
    return "; ".join(parts)


#: Pydantic's error types for a whole body that is not a JSON object.
_NOT_AN_OBJECT = frozenset({"model_attributes_type", "dict_type", "model_type", "missing"})


def register_error_handlers(app: FastAPI) -> None:
    """Map the exception family, validation errors and routing errors to problem+json.

    A browser opening a page gets each as an HTML page with the same status (:func:`_answer`).
    """

    async def on_domain_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, WalkTalkError)
        return _answer(request, exc.status, exc.title, exc.detail, exc.slug, **exc.extra)

    async def on_validation_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        named = {
            str(e["loc"][1])
            for e in exc.errors()
            if len(e.get("loc", ())) > 1 and e["loc"][0] == "query"
        }
        detail = describe_validation(exc)
        return _answer(request, 422, "Invalid input", detail, "invalid-input", fields=named)

    async def on_http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        title = {404: "Not found", 405: "Method not allowed"}.get(exc.status_code, "Error")
        return _answer(
            request, exc.status_code, title, exc.detail, title.lower().replace(" ", "-")
        )

    async def on_database_unavailable(request: Request, exc: Exception) -> Response:
        # Down, restarting, or every pooled connection busy: nothing was stored; try again.
        busy = isinstance(exc, sa_exc.TimeoutError)
        log.warning("database %s: %s", "busy" if busy else "unreachable", type(exc).__name__)
        return _answer(
            request,
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

    async def on_grid_missing(request: Request, exc: Exception) -> Response:
        # An installation fault, not the caller's: without OSTN15 places would be 2-5 m off.
        log.error("OSTN15 grid missing: %s", exc)
        return _answer(request, 503, ServiceUnavailable.title, str(exc), ServiceUnavailable.slug)

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
