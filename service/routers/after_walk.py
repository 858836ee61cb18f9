"""After the walk: close it with its real times, the safeguarding answer, the officer's survey.

Pages for the walk's ward officers and their supervisors (``policy.require_full_view``). Each
form works without script; a wrong value answers the same page with what to correct (422,
nothing stored); a stored step goes back to the walk's page (303) which shows the next one.
The storing is the JSON API's own (``service.queries.safeguarding``, ``...surveys``).
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.datastructures import FormData

from geo.darkness import LONDON
from service import policy
from service.auth import EVERYONE, Allow, Principal
from service.db import SessionDep
from service.queries import audit, safeguarding
from service.queries import surveys as survey_queries
from service.queries import walks as walk_queries
from service.queries import work as work_queries
from service.routers.work import MIN_MINUTES, london_instant, london_time
from service.taxonomy import ACTIONS, CATEGORIES
from service.web import page, see_other

router = APIRouter(tags=["pages"], include_in_schema=False)
Anyone = Annotated[Principal, Depends(Allow(*EVERYONE))]
Staff = Annotated[Principal, Depends(Allow(*policy.STAFF))]
#: Actual times further than this from the planned ones are asked to be confirmed.
FAR_FROM_PLAN = timedelta(hours=2)
REFERENCE_MIN, REFERENCE_MAX = 3, 60
USEFUL_LABELS = {
    1: "1: not at all",
    2: "2",
    3: "3",
    4: "4",
    5: "5: a great deal",
}


async def _form(request: Request) -> FormData:
    # Read on the event loop as a dependency, so that the route (and its database work)
    # runs in a worker thread (``service.db`` refuses database work on the loop).
    return await request.form()


Form = Annotated[FormData, Depends(_form)]


def _guard(session: SessionDep, principal: Principal, walk_id: uuid.UUID, step: str) -> Any:
    """Send the signed-out to sign in; refuse anyone but the walk's officers and supervisors."""
    if principal.is_public:
        return RedirectResponse(f"/login?next=/work/walks/{walk_id}/{step}", status_code=303)
    policy.require_full_view(principal, walk_queries.walk_place(session, walk_id))
    return None


def _back(walk_id: uuid.UUID) -> tuple[str, str]:
    return (f"/work/walks/{walk_id}", "The walk")


# --- Close ---------------------------------------------------------------------------------


def _local_fields(when: datetime) -> tuple[str, str]:
    local = when.astimezone(LONDON)
    return local.date().isoformat(), f"{local:%H:%M}"


def read_closing(
    form: FormData, *, planned_start: datetime, planned_end: datetime, now: datetime
) -> tuple[dict[str, Any], dict[str, str], list[str], tuple[datetime, datetime] | None]:
    """The closing form's values, its errors, its warnings and (when valid) the UTC times.

    Errors refuse (a time in the future, an end before the start, a date that is not one);
    warnings (far from the plan, shorter than the scheme's minimum) ask her to confirm.
    """
    keys = ("start_date", "start_time", "end_date", "end_time", "disclosed", "reference")
    values: dict[str, Any] = {k: str(form.get(k) or "").strip() for k in keys}
    values["confirm"] = form.get("confirm") == "yes"
    errors: dict[str, str] = {}
    instants: dict[str, datetime] = {}
    for which, label in (("start", "start"), ("end", "end")):
        try:
            day = date.fromisoformat(values[f"{which}_date"])
        except ValueError:
            errors[f"{which}_date"] = (
                f"Enter the date the walk {'started' if which == 'start' else 'ended'}, "
                "for example 8 December 2026"
            )
            continue
        try:
            clock = time.fromisoformat(values[f"{which}_time"])
        except ValueError:
            errors[f"{which}_time"] = f"Enter the {label} time as hours and minutes, e.g. 07:30"
            continue
        try:
            instants[which] = london_instant(day, clock)
        except ValueError as exc:
            errors[f"{which}_time"] = str(exc)
    for which in ("start", "end"):
        if which in instants and instants[which] > now + safeguarding.CLOCK_SLACK:
            errors[f"{which}_time"] = (
                f"The {which} is in the future: enter when the walk really "
                f"{'started' if which == 'start' else 'ended'}"
            )
    start, end = instants.get("start"), instants.get("end")
    if start and end and "end_time" not in errors and end <= start:
        errors["end_time"] = "The end must be after the start: check the times and the dates"
    warnings: list[str] = []
    if not errors and start and end:
        for instant, planned, what in ((start, planned_start, "start"), (end, planned_end, "end")):
            local, plan = instant.astimezone(LONDON), planned.astimezone(LONDON)
            if abs(instant - planned) > FAR_FROM_PLAN or local.date() != plan.date():
                warnings.append(
                    f"The {what}, {london_time(instant)}, is far from the planned "
                    f"{london_time(planned)}"
                )
        minutes = (end - start) / timedelta(minutes=1)
        if minutes < MIN_MINUTES:
            warnings.append(
                f"The walk lasted {round(minutes)} minutes, under the scheme's "
                f"{MIN_MINUTES}: it is kept, and counted as a short walk"
            )
    times = (start, end) if start and end and not errors else None
    return values, errors, warnings, times


def _close_page(
    request: Request,
    principal: Principal,
    walk: dict[str, Any],
    *,
    values: dict[str, Any],
    errors: dict[str, str] | None = None,
    warnings: list[str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    return page(
        request,
        "work_close.html",
        principal,
        title="Close the walk",
        status_code=status_code,
        back=_back(walk["id"]),
        walk=walk,
        values=values,
        errors=errors or {},
        warnings=warnings or [],
        london=london_time,
        hours=request.app.state.settings.safeguarding_hours,
    )


@router.get("/work/walks/{walk_id}/close", response_class=HTMLResponse, response_model=None)
def close_form(
    request: Request, session: SessionDep, principal: Anyone, walk_id: uuid.UUID
) -> Response:
    """The closing form, filled with the planned times in London time; or that it is closed."""
    if (sent := _guard(session, principal, walk_id, "close")) is not None:
        return sent
    state, walk = work_queries.work_walk(session, walk_id)
    start_date, start_time = _local_fields(walk["actual_start"] or walk["planned_start"])
    end_date, end_time = _local_fields(walk["actual_end"] or walk["planned_end"])
    values = {
        "start_date": start_date,
        "start_time": start_time,
        "end_date": end_date,
        "end_time": end_time,
        "disclosed": "",
        "reference": "",
        "confirm": False,
    }
    walk = {**walk, "safeguarding_answered": state.safeguarding_answered}
    return _close_page(request, principal, walk, values=values)


@router.post("/work/walks/{walk_id}/close", response_class=HTMLResponse, response_model=None)
def close_submit(
    request: Request, session: SessionDep, principal: Staff, walk_id: uuid.UUID, form: Form
) -> Response:
    """Close the walk (answering the safeguarding question first if it is not yet answered)."""
    policy.require_full_view(principal, walk_queries.walk_place(session, walk_id))
    state, walk = work_queries.work_walk(session, walk_id)
    walk = {**walk, "safeguarding_answered": state.safeguarding_answered}
    if walk["closed_at"] is not None:
        return see_other(f"/work/walks/{walk_id}/close")
    values, errors, warnings, times = read_closing(
        form,
        planned_start=walk["planned_start"],
        planned_end=walk["planned_end"],
        now=datetime.now(UTC),
    )
    if not state.safeguarding_answered:
        errors.update(_safeguarding_errors(values))
    if errors or times is None:
        return _close_page(
            request, principal, walk, values=values, errors=errors, status_code=422
        )
    if warnings and not values["confirm"]:
        # Not a refusal: she may have walked on another day; ask her to say so.
        return _close_page(request, principal, walk, values=values, warnings=warnings)
    if not state.safeguarding_answered:
        _answer_safeguarding(request, session, principal, walk_id, values)
    safeguarding.close_walk(session, walk_id, actual_start=times[0], actual_end=times[1])
    audit.record(session, principal, "close walk", str(walk_id))
    session.commit()
    return see_other(f"/work/walks/{walk_id}?done=close")


# --- Safeguarding --------------------------------------------------------------------------


def _reference_error(reference: str) -> str | None:
    if not REFERENCE_MIN <= len(reference) <= REFERENCE_MAX:
        return (
            f"Enter the report's reference, {REFERENCE_MIN} to {REFERENCE_MAX} characters, "
            "for example CAD 1234/05DEC or a CRIS number"
        )
    return None


def _safeguarding_errors(values: dict[str, Any]) -> dict[str, str]:
    errors: dict[str, str] = {}
    if values["disclosed"] not in ("yes", "no"):
        errors["disclosed"] = "Answer yes or no: was a crime or intelligence disclosed?"
    elif values["disclosed"] == "no" and values["reference"]:
        errors["reference"] = "Nothing was disclosed, so leave the reference empty (or answer yes)"
    elif values["disclosed"] == "yes" and values["reference"]:
        problem = _reference_error(values["reference"])
        if problem is not None:
            errors["reference"] = problem
    return errors


def _answer_safeguarding(
    request: Request,
    session: SessionDep,
    principal: Principal,
    walk_id: uuid.UUID,
    values: dict[str, Any],
) -> None:
    safeguarding.answer(
        session,
        walk_id,
        disclosed=values["disclosed"] == "yes",
        reference=values["reference"] or None,
        by=principal.name,
        hours=request.app.state.settings.safeguarding_hours,
    )
    audit.record(session, principal, "answer safeguarding", str(walk_id))


def _record(session: SessionDep, walk_id: uuid.UUID) -> dict[str, Any] | None:
    state, _ = work_queries.work_walk(session, walk_id)
    return safeguarding.get(session, walk_id) if state.safeguarding_answered else None


def _safeguarding_page(
    request: Request,
    principal: Principal,
    walk_id: uuid.UUID,
    record: dict[str, Any] | None,
    *,
    values: dict[str, Any],
    errors: dict[str, str] | None = None,
    status_code: int = 200,
    done: bool = False,
) -> HTMLResponse:
    return page(
        request,
        "work_safeguarding.html",
        principal,
        title="Safeguarding",
        status_code=status_code,
        back=_back(walk_id),
        walk_id=walk_id,
        record=record,
        done=done,
        values=values,
        errors=errors or {},
        london=london_time,
        hours=request.app.state.settings.safeguarding_hours,
    )


@router.get(
    "/work/walks/{walk_id}/safeguarding", response_class=HTMLResponse, response_model=None
)
def safeguarding_form(
    request: Request, session: SessionDep, principal: Anyone, walk_id: uuid.UUID
) -> Response:
    """The question (or its answer), and a field for a reference that is still due."""
    if (sent := _guard(session, principal, walk_id, "safeguarding")) is not None:
        return sent
    record = _record(session, walk_id)
    values = {"disclosed": "", "reference": ""}
    done = request.query_params.get("done") == "safeguarding"
    return _safeguarding_page(request, principal, walk_id, record, values=values, done=done)


@router.post(
    "/work/walks/{walk_id}/safeguarding", response_class=HTMLResponse, response_model=None
)
def safeguarding_submit(
    request: Request, session: SessionDep, principal: Staff, walk_id: uuid.UUID, form: Form
) -> Response:
    """Answer the question, or add the reference a disclosure still needs."""
    policy.require_full_view(principal, walk_queries.walk_place(session, walk_id))
    record = _record(session, walk_id)
    values = {k: str(form.get(k) or "").strip() for k in ("disclosed", "reference")}
    if record is None:
        errors = _safeguarding_errors(values)
        if errors:
            return _safeguarding_page(
                request, principal, walk_id, None, values=values, errors=errors, status_code=422
            )
        _answer_safeguarding(request, session, principal, walk_id, values)
        done = "safeguarding"
        if values["disclosed"] == "yes" and not values["reference"]:
            # The reference is still due: stay where she can add it, and say by when.
            session.commit()
            return see_other(f"/work/walks/{walk_id}/safeguarding?done=safeguarding")
    elif record["disclosed"] and not record["reference"]:
        problem = _reference_error(values["reference"])
        if problem is not None:
            return _safeguarding_page(
                request,
                principal,
                walk_id,
                record,
                values=values,
                errors={"reference": problem},
                status_code=422,
            )
        safeguarding.give_reference(session, walk_id, values["reference"])
        audit.record(session, principal, "give safeguarding reference", str(walk_id))
        done = "reference"
    else:
        return see_other(f"/work/walks/{walk_id}/safeguarding")
    session.commit()
    return see_other(f"/work/walks/{walk_id}?done={done}")


# --- The officer's survey ------------------------------------------------------------------


def read_officer_survey(form: FormData) -> tuple[dict[str, Any], dict[str, str]]:
    """The survey form's values and what to correct (the API's model, read from a form)."""
    values: dict[str, Any] = {
        "walk_useful": str(form.get("walk_useful") or ""),
        "themes": [str(v) for v in form.getlist("themes")],
        "actions": [str(v) for v in form.getlist("actions")],
        "follow_up_walk": str(form.get("follow_up_walk") or ""),
        "notes": str(form.get("notes") or "").strip(),
    }
    errors: dict[str, str] = {}
    if values["walk_useful"] not in {str(n) for n in USEFUL_LABELS}:
        errors["walk_useful"] = "Choose how much the walk showed where and why, from 1 to 5"
    if set(values["themes"]) - {c.slug for c in CATEGORIES}:
        errors["themes"] = "Choose themes from the list only"
    if set(values["actions"]) - {a.slug for a in ACTIONS}:
        errors["actions"] = "Choose actions from the list only"
    if values["follow_up_walk"] not in ("yes", "no"):
        errors["follow_up_walk"] = "Answer yes or no: is another walk with her planned?"
    if len(values["notes"]) > survey_queries.NOTES_LIMIT:
        errors["notes"] = (
            f"Your notes are {len(values['notes']):,} characters long: keep them to "
            f"{survey_queries.NOTES_LIMIT:,}"
        )
    return values, errors


def _survey_page(
    request: Request,
    principal: Principal,
    walk_id: uuid.UUID,
    survey: dict[str, Any] | None,
    *,
    values: dict[str, Any],
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    return page(
        request,
        "work_officer_survey.html",
        principal,
        title="Your survey of the walk",
        status_code=status_code,
        back=_back(walk_id),
        walk_id=walk_id,
        survey=survey,
        values=values,
        errors=errors or {},
        themes=CATEGORIES,
        actions=ACTIONS,
        theme_labels={c.slug: c.label for c in CATEGORIES},
        action_labels={a.slug: a.label for a in ACTIONS},
        useful_labels=USEFUL_LABELS,
        notes_limit=survey_queries.NOTES_LIMIT,
        london=london_time,
    )


_EMPTY_SURVEY: dict[str, Any] = {
    "walk_useful": "",
    "themes": [],
    "actions": [],
    "follow_up_walk": "",
    "notes": "",
}


@router.get(
    "/work/walks/{walk_id}/officer-survey", response_class=HTMLResponse, response_model=None
)
def officer_survey_form(
    request: Request, session: SessionDep, principal: Anyone, walk_id: uuid.UUID
) -> Response:
    """The officer's survey as a form, or what she answered."""
    if (sent := _guard(session, principal, walk_id, "officer-survey")) is not None:
        return sent
    survey = survey_queries.officer_survey(session, walk_id)
    return _survey_page(request, principal, walk_id, survey, values=dict(_EMPTY_SURVEY))


@router.post(
    "/work/walks/{walk_id}/officer-survey", response_class=HTMLResponse, response_model=None
)
def officer_survey_submit(
    request: Request, session: SessionDep, principal: Staff, walk_id: uuid.UUID, form: Form
) -> Response:
    """Store the survey once (as ``POST /walks/{id}/surveys/officer``), or say what to correct."""
    policy.require_full_view(principal, walk_queries.walk_place(session, walk_id))
    if survey_queries.officer_survey(session, walk_id) is not None:
        return see_other(f"/work/walks/{walk_id}/officer-survey")
    values, errors = read_officer_survey(form)
    if errors:
        return _survey_page(
            request, principal, walk_id, None, values=values, errors=errors, status_code=422
        )
    survey_queries.record_officer_survey(
        session,
        walk_id,
        by=principal.name,
        walk_useful=int(values["walk_useful"]),
        themes=values["themes"],
        actions=values["actions"],
        follow_up_walk=values["follow_up_walk"] == "yes",
        notes=values["notes"] or None,
    )
    audit.record(session, principal, "record officer survey", str(walk_id))
    session.commit()
    return see_other(f"/work/walks/{walk_id}?done=officer_survey")
