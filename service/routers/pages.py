"""Browser pages: home, sign in (token → HttpOnly session cookie) and sign out."""

from __future__ import annotations

import hmac
import secrets
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from geo.darkness import LONDON
from service.auth import EVERYONE, SESSION_COOKIE, Allow, Principal
from service.db import SessionDep
from service.errors import Unauthorized
from service.policy import STAFF
from service.queries import tokens as queries
from service.queries.wards import require_active_ward_set
from service.routers import work
from service.routers.maps import ASSET_URL, page_tiles
from service.taxonomy import CATEGORIES
from service.web import templates

router = APIRouter(tags=["pages"], include_in_schema=False)
Anyone = Annotated[Principal, Depends(Allow(*EVERYONE))]
# Guards the sign-in form itself (login CSRF) before any session exists.
LOGIN_CSRF_COOKIE = "walktalk_login_csrf"


# A map pin in the scheme's purple; browsers ask for /favicon.ico on every page.
FAVICON_SVG = (
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16">'
    '<path d="M8 0a5 5 0 0 0-5 5c0 4 5 11 5 11s5-7 5-11a5 5 0 0 0-5-5z" fill="#5b2a86"/>'
    '<circle cx="8" cy="5" r="2" fill="#fff"/></svg>'
)


def _safe_next(target: str) -> str:
    # Only same-site paths: an open redirect after sign-in is a phishing aid.
    return target if target.startswith("/") and not target.startswith("//") else "/"


def _set_cookie(request: Request, response: Response, name: str, value: str, max_age: int) -> None:
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        httponly=True,
        samesite="strict",
        path="/",
        secure=request.app.state.settings.secure_cookies,
    )


@router.get("/favicon.ico", operation_id="favicon", dependencies=[Depends(Allow(*EVERYONE))])
def favicon() -> Response:
    """The site icon."""
    return Response(
        FAVICON_SVG, media_type="image/svg+xml", headers={"Cache-Control": "max-age=86400"}
    )


@router.get("/", response_class=HTMLResponse, operation_id="home")
def home(request: Request, session: SessionDep, principal: Anyone) -> HTMLResponse:
    """Staff: "My work" (their walks and what each needs next); anyone else: the maps."""
    if principal.role in STAFF:
        return work.my_work(request, session, principal)
    return templates.TemplateResponse(
        request, "home.html", {"title": "Home", "principal": principal}
    )


@router.get("/report", response_class=HTMLResponse, operation_id="report_form")
def report_form(request: Request, session: SessionDep, principal: Anyone) -> HTMLResponse:
    """The public page to report, anonymously, a place where someone felt unsafe."""
    tiles = page_tiles(request, session)
    active = require_active_ward_set(session)
    config = {
        "tiles": tiles.page_config() if tiles else None,
        "attribution": active.attribution,
    }
    return templates.TemplateResponse(
        request,
        "report.html",
        {
            "categories": CATEGORIES,
            # London's date, as the form's API checks it, not the server clock's zone.
            "today": datetime.now(LONDON).date().isoformat(),
            "config": config,
            "asset_url": ASSET_URL,
        },
    )


def _login_page(
    request: Request,
    principal: Principal,
    *,
    next_: str,
    error: str = "",
    status: int = 200,
    signed_out: bool = False,
) -> HTMLResponse:
    csrf = secrets.token_urlsafe(32)
    response = templates.TemplateResponse(
        request,
        "login.html",
        {
            "title": "Sign in",
            "principal": principal,
            "csrf_token": csrf,
            "next": _safe_next(next_),
            "error": error,
            "signed_out": signed_out,
        },
        status_code=status,
    )
    _set_cookie(request, response, LOGIN_CSRF_COOKIE, csrf, max_age=3600)
    return response


@router.get("/login", response_class=HTMLResponse, operation_id="login_form")
def login_form(
    request: Request, principal: Anyone, next: str = "/", signed_out: bool = False
) -> HTMLResponse:
    """The sign-in form (after signing out, it says so and forgets the kept live pages)."""
    return _login_page(request, principal, next_=next, signed_out=signed_out)


@router.post("/login", operation_id="login", response_model=None)
def login(
    request: Request,
    session: SessionDep,
    principal: Anyone,
    token: Annotated[str, Form()],
    csrf_token: Annotated[str, Form()],
    next: Annotated[str, Form()] = "/",
) -> Response:
    """Exchange a token for an HttpOnly, SameSite=Strict session cookie."""
    expected = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not expected or not hmac.compare_digest(expected, csrf_token):
        return _login_page(
            request,
            principal,
            next_=next,
            status=403,
            error="The sign-in form had expired. Please paste your token again.",
        )
    settings = request.app.state.settings
    try:
        cookie, _csrf = queries.start_browser_session(
            session,
            key=request.app.state.secret_key,
            raw_token=token,
            hours=settings.session_hours,
        )
    except Unauthorized as exc:
        return _login_page(request, principal, next_=next, error=exc.detail, status=401)
    session.commit()
    response = RedirectResponse(_safe_next(next), status_code=303)
    _set_cookie(request, response, SESSION_COOKIE, cookie, max_age=settings.session_hours * 3600)
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/")
    return response


@router.post("/logout", operation_id="logout")
def logout(request: Request, session: SessionDep, principal: Anyone) -> RedirectResponse:
    """End this browser's session (the CSRF token is checked by the principal dependency)."""
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        queries.end_browser_session(session, key=request.app.state.secret_key, cookie=cookie)
        session.commit()
    # The sign-in page then drops the live walk pages this browser kept for use without
    # signal: they carry a planned route, and the phone may be handed to someone else.
    response = RedirectResponse("/login?signed_out=1", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response
