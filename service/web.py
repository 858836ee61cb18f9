"""The pages people use: one template set, each role's navigation, forms that work without script.

Every page extends ``templates/base.html``: a skip link, the service's name, the navigation of
the caller's role (:func:`navigation`), a heading saying where you are, and a way back. Forms are
plain HTML POSTs answered with a redirect (303, so a reload does not post twice) or, when a
value is wrong, the same page again with an error summary at the top and the message beside the
field (the GOV.UK Design System's pattern), status 422 and nothing stored.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.templating import Jinja2Templates

if TYPE_CHECKING:  # service.auth raises service.errors' errors, whose pages use these templates
    from service.auth import Principal

templates = Jinja2Templates(directory=Path(__file__).parent / "templates")

#: Each role's navigation: (label, path). The first item is that role's start page. Each page
#: that people use is added here when it is built.
_PUBLIC = [
    ("Home", "/"),
    ("Report a place", "/report"),
    ("Take part in a walk", "/take-part"),
    ("Hot spots", "/maps/hotspots"),
]
_MAPS = [
    ("Hot spots", "/maps/hotspots"),
    ("Ward summaries", "/maps/wards/summary"),
    ("Themes", "/themes/page"),
]
_OFFICER = [
    ("My work", "/"),
    ("Plan a walk", "/work/walks/new"),
    ("Requests", "/work/requests"),
    ("Buddies", "/work/buddies"),
    ("Council requests", "/lighting/requests"),
    ("Hot spots", "/maps/hotspots"),
]
#: The planner's map of requests, their evidence and the lights and cameras already there.
_LIGHTING_MAP = ("Lighting map", "/maps/lighting")
_SUPERVISOR = [
    *_OFFICER,
    _LIGHTING_MAP,
    ("Evaluation", "/evaluation"),
    ("Officers", "/admin/officers"),
    ("Tokens", "/admin/tokens"),
    ("Imports", "/admin/imports"),
    ("Safeguarding", "/admin/safeguarding"),
    ("Moderation", "/admin/moderation"),
]
#: By role name (``service.auth.Role``'s values).
NAVIGATION: dict[str, list[tuple[str, str]]] = {
    "public": _PUBLIC,
    "officer": _OFFICER,
    "supervisor": _SUPERVISOR,
    "partner": [("Home", "/"), ("Requests", "/lighting/requests"), _LIGHTING_MAP, *_MAPS],
    "planner": [("Home", "/"), ("Requests", "/lighting/requests"), _LIGHTING_MAP, *_MAPS],
}


def navigation(principal: Principal) -> list[tuple[str, str]]:
    """The links the role's pages show at the top; partners and planners get the maps."""
    return NAVIGATION.get(principal.role.value, [("Home", "/"), *_MAPS])


templates.env.globals["navigation"] = navigation


def page(
    request: Request,
    name: str,
    principal: Principal,
    *,
    title: str,
    status_code: int = 200,
    **context: Any,
) -> HTMLResponse:
    """Render template ``name`` for ``principal`` under ``title`` (the tab's and the heading's).

    Supervisors' pages also carry ``safeguarding_attention`` (base.html's banner): the flags of
    their boroughs due soon or overdue.
    """
    return templates.TemplateResponse(
        request,
        name,
        {
            "title": title,
            "principal": principal,
            "safeguarding_attention": _attention(request, principal),
            **context,
        },
        status_code=status_code,
    )


def _attention(request: Request, principal: Principal) -> Any:
    """A supervisor's due-soon and overdue safeguarding counts; None for anyone else.

    One small query on its own short session, so every supervisor page shows the banner
    without each route passing it; a database fault leaves the page without the banner. An
    ``async`` route renders on the event loop, where the database must not be touched: its
    page shows the counts last seen for those boroughs instead.
    """
    if getattr(principal.role, "value", None) != "supervisor" or not principal.borough_codes:
        return None
    engine = getattr(request.app.state, "engine", None)
    if engine is None:
        return None
    boroughs = tuple(principal.borough_codes)
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        pass  # a worker thread: query below
    else:
        return _last_attention.get(boroughs)
    from sqlalchemy.exc import SQLAlchemyError
    from sqlalchemy.orm import Session

    from service.queries.queues import attention

    hours = request.app.state.settings.safeguarding_due_soon_hours
    try:
        with Session(engine) as session:
            counts = attention(session, boroughs, hours)
    except SQLAlchemyError:
        return None
    shown = counts if counts.total else None
    _last_attention[boroughs] = shown
    return shown


#: The banner's counts last computed per set of boroughs (for pages rendered on the event loop).
_last_attention: dict[tuple[str, ...], Any] = {}


def see_other(path: str) -> RedirectResponse:
    """After a form's POST: go to ``path`` with GET, so a reload does not send it again."""
    if not path.startswith("/") or path.startswith("//"):
        raise ValueError(f"a page redirects only to a path on this site, not {path!r}")
    return RedirectResponse(path, status_code=303)
