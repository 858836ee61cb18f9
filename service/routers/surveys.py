"""Surveys: the buddy's baseline, the officer's survey, and the buddy's own through a one-time link.

The buddy's pages need no sign-in: the link's secret is the only key, shown once as a URL and a
QR code for her to scan from the officer's phone. Those pages send no referrer and are not
cached, and the secret is masked in the access log (``service.access_log``).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Annotated, Any

import segno
from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from pydantic import BaseModel, Field, ValidationError

from service import schemas
from service.auth import EVERYONE, Allow, Principal, Role
from service.db import SessionDep
from service.errors import InvalidInput, WalkTalkError
from service.queries import audit
from service.queries import surveys as queries
from service.routers.walks import require_walk_officer
from service.routers.work import london_time
from service.taxonomy import ACTIONS, CATEGORIES
from service.web import page, see_other, templates

router = APIRouter(tags=["surveys"])
Staff = Annotated[Principal, Depends(Allow(Role.officer, Role.supervisor))]
# The buddy's pages are for anyone holding the link; staff pages send the public to sign in.
Anyone = Annotated[Principal, Depends(Allow(*EVERYONE))]
OneToFive = Annotated[int, Field(ge=1, le=5)]
_PRIVATE_PAGE = {"Referrer-Policy": "no-referrer", "Cache-Control": "no-store"}


class BaselineIn(BaseModel):
    """Before the walk: how safe does she feel on this route? 1 very unsafe, 5 very safe."""

    safety: OneToFive


class OfficerSurveyIn(BaseModel):
    """The officer's survey after the walk."""

    walk_useful: OneToFive = Field(
        description="how much the walk showed where and why she feels unsafe, 1 to 5"
    )
    themes: list[str] = Field(default_factory=list, description="category slugs raised")
    actions: list[str] = Field(default_factory=list, description="action slugs to take")
    follow_up_walk: bool = Field(description="another walk with her is planned")
    notes: str | None = Field(default=None, max_length=2000)


class BuddySurveyIn(BaseModel):
    """The buddy's answers after the walk."""

    felt_safer: OneToFive = Field(description="I feel safer on this route now, 1 to 5")
    police_confidence: OneToFive = Field(description="confidence in local police, 1 to 5")
    would_recommend: bool
    themes: list[str] = Field(default_factory=list)
    comments: str | None = Field(default=None, max_length=2000)


def _survey_url(request: Request, secret: str) -> str:
    return str(request.url_for("buddy_survey_form", secret=secret))


def _qr_svg(url: str) -> str:
    # Error correction M survives a scratched or dim phone screen; the SVG scales crisply.
    return str(segno.make(url, error="m").svg_inline(scale=6, border=2, title="Survey link"))


@router.get("/surveys/options", operation_id="survey_options")
def survey_options(_: Staff) -> Any:
    """The themes (the reports' categories) and the actions a survey may name."""
    return {
        "themes": [{"slug": c.slug, "label": c.label} for c in CATEGORIES],
        "actions": [{"slug": a.slug, "label": a.label} for a in ACTIONS],
    }


@router.post("/walks/{walk_id}/surveys/baseline", operation_id="record_baseline")
def record_baseline(
    session: SessionDep, principal: Staff, walk_id: uuid.UUID, body: BaselineIn
) -> Any:
    """Record the buddy's baseline: how safe she feels on this route before the walk."""
    require_walk_officer(session, principal, walk_id)
    answer = queries.record_baseline(session, walk_id, safety=body.safety)
    audit.record(session, principal, "record baseline survey", str(walk_id))
    session.commit()
    return answer


@router.post(
    "/walks/{walk_id}/surveys/officer", operation_id="record_officer_survey", status_code=201
)
def record_officer_survey(
    session: SessionDep, principal: Staff, walk_id: uuid.UUID, body: OfficerSurveyIn
) -> Any:
    """The officer's survey after the walk (once per walk)."""
    require_walk_officer(session, principal, walk_id)
    survey = queries.record_officer_survey(session, walk_id, by=principal.name, **body.model_dump())
    audit.record(session, principal, "record officer survey", str(walk_id))
    session.commit()
    return survey


@router.get("/walks/{walk_id}/surveys", operation_id="walk_surveys")
def walk_surveys(session: SessionDep, principal: Staff, walk_id: uuid.UUID) -> Any:
    """The baseline, the officer's and the buddy's answers, and whether her link was used."""
    require_walk_officer(session, principal, walk_id)
    surveys = queries.walk_surveys(session, walk_id)
    audit.record(session, principal, "read walk surveys", str(walk_id))
    session.commit()
    return surveys


async def _link_form(request: Request) -> dict[str, str] | None:
    # The officer's page posts a form; the API posts nothing. Read on the event loop, so the
    # route's database work runs in a worker thread.
    if not request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        return None
    return {k: str(v) for k, v in (await request.form()).items()}


@router.post(
    "/walks/{walk_id}/buddy-survey-link",
    operation_id="make_buddy_survey_link",
    status_code=201,
    response_model=None,
    responses={
        201: {"content": {schemas.JSON: schemas.content(schemas.SurveyLink)}},
        200: {
            "description": "a form post: the link page, asking before it replaces a working link",
            "content": {"text/html": {}},
        },
    },
)
def make_buddy_survey_link(
    request: Request,
    session: SessionDep,
    principal: Staff,
    walk_id: uuid.UUID,
    form: Annotated[dict[str, str] | None, Depends(_link_form)],
) -> Response:
    """Make the buddy's one-time survey link (a URL and its QR code); a new one retires the old.

    A form post from the officer's page goes back to that page (303), which shows the link
    again on every visit while it works; replacing a link that still works asks first. Any
    other caller gets JSON with ``url``, ``expires_at`` and ``qr_svg``.
    """
    settings = request.app.state.settings
    require_walk_officer(session, principal, walk_id)
    key = request.app.state.secret_key
    is_form = form is not None
    if form is not None:
        current = queries.current_link(session, walk_id, key=key)
        if current is not None and current.secret and form.get("confirm") != "yes":
            # A working QR code may already be on her phone: say what replacing it does.
            return _link_page(request, session, principal, walk_id, confirm=True)
    link = queries.create_survey_link(
        session, walk_id, key=key, days=settings.survey_link_days, by=principal.name
    )
    audit.record(session, principal, "make buddy survey link", str(walk_id))
    session.commit()
    if is_form:
        return see_other(f"/walks/{walk_id}/buddy-survey-link?done=made")
    url = _survey_url(request, link.secret)
    return JSONResponse(
        {
            "walk_id": str(walk_id),
            "url": url,
            "expires_at": link.expires_at.isoformat(),
            "qr_svg": _qr_svg(url),
        },
        status_code=201,
        headers=_PRIVATE_PAGE,
    )


def _link_page(
    request: Request,
    session: SessionDep,
    principal: Principal,
    walk_id: uuid.UUID,
    *,
    confirm: bool = False,
    done: str = "",
) -> HTMLResponse:
    link = queries.current_link(session, walk_id, key=request.app.state.secret_key)
    url = _survey_url(request, link.secret) if link and link.secret else None
    response = page(
        request,
        "survey_link.html",
        principal,
        title="The buddy's survey",
        back=(f"/work/walks/{walk_id}", "The walk"),
        walk_id=walk_id,
        link=link,
        url=url,
        qr_svg=_qr_svg(url) if url else "",
        confirm=confirm,
        done=done,
        london=london_time,
    )
    response.headers.update(_PRIVATE_PAGE)
    return response


@router.get(
    "/walks/{walk_id}/buddy-survey-link",
    operation_id="buddy_survey_link_page",
    response_class=HTMLResponse,
    response_model=None,
    include_in_schema=False,
)
def buddy_survey_link_page(
    request: Request, session: SessionDep, principal: Anyone, walk_id: uuid.UUID
) -> HTMLResponse | RedirectResponse:
    """The officer's page: the buddy's link and QR code (the same on every visit) and its state."""
    if principal.is_public:
        return RedirectResponse(f"/login?next=/walks/{walk_id}/buddy-survey-link", 303)
    require_walk_officer(session, principal, walk_id)  # partners and planners: the usual 403
    done = "made" if request.query_params.get("done") == "made" else ""
    return _link_page(request, session, principal, walk_id, done=done)


def _buddy_page(
    request: Request,
    principal: Principal,
    *,
    secret: str,
    status: int = 200,
    error: str = "",
    done: bool = False,
    closed: str = "",
) -> HTMLResponse:
    return templates.TemplateResponse(
        request,
        "buddy_survey.html",
        {
            "secret": secret,
            "themes": CATEGORIES,
            "csrf_token": principal.csrf_token,
            "error": error,
            "done": done,
            "closed": closed,
        },
        status_code=status,
        headers=_PRIVATE_PAGE,
    )


@router.get(
    "/survey/{secret}",
    operation_id="buddy_survey_form",
    response_class=HTMLResponse,
    include_in_schema=False,
)
def buddy_survey_form(
    request: Request, session: SessionDep, principal: Anyone, secret: str
) -> HTMLResponse:
    """The buddy's survey, on her own phone, with no sign-in."""
    try:
        queries.open_survey_link(session, secret, key=request.app.state.secret_key)
    except WalkTalkError as exc:
        return _buddy_page(request, principal, secret="", status=exc.status, closed=exc.detail)
    return _buddy_page(request, principal, secret=secret)


@dataclass(frozen=True)
class _BuddyAnswers:
    """What the buddy sent: checked answers, or what to put right; and whether by form."""

    is_form: bool
    answers: BuddySurveyIn | None
    error: str = ""


async def _buddy_answers(request: Request) -> _BuddyAnswers:
    # Read on the event loop as a dependency, so that the route (and its database work)
    # runs in a worker thread.
    is_form = request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    )
    try:
        answers = BuddySurveyIn.model_validate(
            _form_answers(await request.form()) if is_form else await request.json()
        )
    except (ValidationError, ValueError) as exc:
        detail = _plain_problems(exc)
        if not is_form:
            raise InvalidInput(detail) from None
        return _BuddyAnswers(is_form=True, answers=None, error=detail)
    return _BuddyAnswers(is_form=is_form, answers=answers)


@router.post(
    "/survey/{secret}",
    operation_id="answer_buddy_survey",
    status_code=201,
    response_model=None,
    responses={
        201: {
            "description": "stored: JSON for a JSON body, the thank-you page for a form",
            "content": {
                schemas.JSON: schemas.content(schemas.SurveyStored),
                "text/html": {},
            },
        }
    },
)
def answer_buddy_survey(
    request: Request,
    session: SessionDep,
    principal: Anyone,
    secret: str,
    sent: Annotated[_BuddyAnswers, Depends(_buddy_answers)],
) -> Response:
    """Store the buddy's answers (the form's, or JSON); the link then stops working."""
    if sent.answers is None:
        return _buddy_page(request, principal, secret=secret, status=422, error=sent.error)
    try:
        walk_id = queries.record_buddy_survey(
            session, secret, key=request.app.state.secret_key, **sent.answers.model_dump()
        )
    except WalkTalkError as exc:
        if not sent.is_form:
            raise
        session.rollback()
        if isinstance(exc, InvalidInput):
            return _buddy_page(request, principal, secret=secret, status=422, error=exc.detail)
        return _buddy_page(request, principal, secret="", status=exc.status, closed=exc.detail)
    session.commit()
    if sent.is_form:
        return _buddy_page(request, principal, secret="", status=201, done=True)
    return JSONResponse({"walk_id": str(walk_id), "stored": True}, status_code=201)


def _form_answers(form: Any) -> dict[str, Any]:
    # Radio buttons and checkboxes arrive as strings; absent checkboxes do not arrive at all.
    return {
        "felt_safer": form.get("felt_safer"),
        "police_confidence": form.get("police_confidence"),
        "would_recommend": form.get("would_recommend"),
        "themes": form.getlist("themes"),
        "comments": form.get("comments") or None,
    }


_QUESTIONS = {
    "felt_safer": "how safe you feel on this route now",
    "police_confidence": "your confidence in the local police",
    "would_recommend": "whether you would recommend a walk",
    "comments": "your comments",
}


def _plain_problems(exc: Exception) -> str:
    if not isinstance(exc, ValidationError):
        return "send the answers as a form or as a JSON object"
    missing = []
    for error in exc.errors():
        field = str(error["loc"][0]) if error["loc"] else ""
        question = _QUESTIONS.get(field, field)
        if error["type"] in ("missing", "int_type", "bool_type", "int_parsing", "bool_parsing"):
            missing.append(f"please answer {question}")
        elif error["type"] == "string_too_long":
            missing.append(f"please shorten {question}")
        else:
            missing.append(f"please check {question}")
    return "; ".join(dict.fromkeys(missing))
