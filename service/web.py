"""The pages people use: one template set, each role's navigation, forms that work without script.

Every page extends ``templates/base.html``: a skip link, the service's name, the navigation of
the caller's role (:func:`navigation`), a heading saying where you are, and a way back. Forms are
plain HTML POSTs answered with a redirect (303, so a reload does not post twice) or, when a
value is wrong, the same page again with an error summary at the top and the message beside the
field (the GOV.UK Design System's pattern), status 422 and nothing stored.
"""

from __future__ import annotations

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
    ("Hot spots", "/maps/hotspots"),
]
_SUPERVISOR = [
    *_OFFICER,
    ("Evaluation", "/evaluation"),
    ("Officers", "/admin/officers"),
    ("Tokens", "/admin/tokens"),
    ("Imports", "/admin/imports"),
]
#: By role name (``service.auth.Role``'s values).
NAVIGATION: dict[str, list[tuple[str, str]]] = {
    "public": _PUBLIC,
    "officer": _OFFICER,
    "supervisor": _SUPERVISOR,
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
    """Render template ``name`` for ``principal`` under ``title`` (the tab's and the heading's)."""
    return templates.TemplateResponse(
        request,
        name,
        {"title": title, "principal": principal, **context},
        status_code=status_code,
    )


def see_other(path: str) -> RedirectResponse:
    """After a form's POST: go to ``path`` with GET, so a reload does not send it again."""
    if not path.startswith("/") or path.startswith("//"):
        raise ValueError(f"a page redirects only to a path on this site, not {path!r}")
    return RedirectResponse(path, status_code=303)
