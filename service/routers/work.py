"""The officer's day: "My work" (the staff home page), plan a walk, and a walk's own page.

Thin routes: read the form, ask ``service.policy``, call a query, render. A walk's next steps
come from :func:`service.walk_steps.next_steps`, the same on both pages.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any

import shapely
import shapely.geometry
from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.routing import Match

from geo.darkness import LONDON
from geo.walk_files import walk_geojson, walk_geopackage, walk_gpx
from service import policy
from service.auth import EVERYONE, Allow, Principal, Role
from service.db import SessionDep
from service.errors import InvalidInput, NotFound
from service.exports import check_crs
from service.queries import audit
from service.queries import requests as request_queries
from service.queries import walks as walk_queries
from service.queries import work as queries
from service.queries.exposure import route_exposure
from service.queries.wards import require_active_ward_set
from service.routers.maps import ASSET_URL, page_tiles
from service.taxonomy import LABELS
from service.walk_steps import next_steps, stage
from service.web import page, see_other

router = APIRouter(tags=["pages"], include_in_schema=False)
# Pages take anyone so the signed-out are sent to sign in; other roles are refused inside.
Anyone = Annotated[Principal, Depends(Allow(*EVERYONE))]
Staff = Annotated[Principal, Depends(Allow(*policy.STAFF))]
PLAN_PATH = "/work/walks/new"
#: A walk and talk lasts at least this long (as ``POST /walks`` checks).
MIN_MINUTES = 30
MAX_MINUTES = 8 * 60
#: A supervisor's pages, shown on "My work" once each is served (others build them).
SUPERVISION = (
    ("Officers", "/admin/officers"),
    ("Sign-in tokens", "/admin/tokens"),
    ("Imports", "/admin/imports"),
    ("Safeguarding flags", "/admin/safeguarding"),
    ("Moderation of reports", "/admin/moderation"),
    ("Evaluation of the scheme", "/evaluation"),
    ("Audit log", "/audit"),
)
KIND_LABELS = {
    "commute": "Commute",
    "park": "Park",
    "transport_hub": "Transport hub",
    "patrol": "Patrol (no buddy)",
    "other": "Other",
}


def london_time(when: datetime | None, now: datetime | None = None) -> str:
    """A time as London reads it, e.g. "Tue 8 Dec, 07:30" (summer time included).

    The year is added when it is not ``now``'s (default: the clock's): "Mon 4 Jan 2027, 07:30".
    """
    if when is None:
        return ""
    local = when.astimezone(LONDON)
    this_year = (now or datetime.now(UTC)).astimezone(LONDON).year
    year = "" if local.year == this_year else f" {local.year}"
    return f"{local:%a} {local.day} {local:%b}{year}, {local:%H:%M}"


def _sign_in(principal: Principal, path: str) -> RedirectResponse | None:
    if principal.is_public:
        return RedirectResponse(f"/login?next={path}", status_code=303)
    policy.require_staff(principal)
    return None


def my_work(request: Request, session: SessionDep, principal: Principal) -> HTMLResponse:
    """The staff home page: requests to take part, and her walks grouped by what they need."""
    scope = policy.scope_of(principal)
    now = datetime.now(UTC)
    groups: dict[str, list[dict[str, Any]]] = {"in_progress": [], "upcoming": [], "needs": []}
    for state, row in queries.work_walks(session, scope):
        where = stage(state, now)
        if where in groups:
            groups[where].append(
                {**row, "when": london_time(row["planned_start"]), "steps": next_steps(state, now)}
            )
    return page(
        request,
        "work_home.html",
        principal,
        title="My work",
        new_requests=queries.count_new_requests(session, scope),
        groups=groups,
        kinds=KIND_LABELS,
        supervision=_served(request, SUPERVISION) if principal.role is Role.supervisor else [],
    )


def _served(request: Request, links: tuple[tuple[str, str], ...]) -> list[tuple[str, str]]:
    """The links whose page this app serves: no dead link while a page is still being built."""

    def served(path: str) -> bool:
        scope = {"type": "http", "path": path, "method": "GET", "root_path": ""}
        return any(route.matches(scope)[0] is Match.FULL for route in request.app.router.routes)

    return [(label, path) for label, path in links if served(path)]


def _choices(session: SessionDep, principal: Principal) -> dict[str, Any]:
    scope = policy.scope_of(principal)
    officers = [] if principal.officer_id else walk_queries.list_officers(session, scope)
    wards = list(principal.ward_codes) if principal.role is Role.officer else sorted(
        {w for o in walk_queries.list_officers(session, scope) for w in o["ward_codes"]}
    )
    return {
        "buddies": walk_queries.list_buddies(session, scope),
        "officers": officers,
        "wards": wards,
        "ward_names": queries.ward_names(session, wards),
        "kinds": [(k, KIND_LABELS.get(k, k.replace("_", " ").capitalize()))
                  for k in walk_queries.WALK_KINDS],
    }


def _plan_page(
    request: Request,
    session: SessionDep,
    principal: Principal,
    *,
    values: dict[str, Any],
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    tiles = page_tiles(request, session)
    return page(
        request,
        "work_plan.html",
        principal,
        title="Plan a walk",
        status_code=status_code,
        values=values,
        errors=errors or {},
        min_minutes=MIN_MINUTES,
        today=datetime.now(LONDON).date().isoformat(),
        config={
            "tiles": tiles.page_config() if tiles else None,
            "attribution": require_active_ward_set(session).attribution,
            # Her wards drawn on the map, so she finds her patch even before streets load.
            "wards": queries.ward_outlines(session, list(principal.ward_codes)),
        },
        asset_url=ASSET_URL,
        back=("/", "My work"),
        **_choices(session, principal),
    )


def london_instant(day: date, clock: time) -> datetime:
    """The UTC instant of a London wall-clock time; refuse one the clock change skips or repeats.

    Raises
    ------
    ValueError
        The time does not exist (clocks go forward) or happens twice (clocks go back).

    """
    first = datetime.combine(day, clock, tzinfo=LONDON)
    second = first.replace(fold=1)
    if first.astimezone(UTC).astimezone(LONDON).replace(tzinfo=None) != first.replace(tzinfo=None):
        raise ValueError(
            f"{clock:%H:%M} on {day:%-d %B %Y} does not exist, as the clocks go forward an hour "
            "at 01:00: choose a time from 02:00"
        )
    # Past the gap check, two offsets for one wall-clock time mean it happens twice.
    if first.utcoffset() != second.utcoffset():
        raise ValueError(
            f"{clock:%H:%M} on {day:%-d %B %Y} happens twice, as the clocks go back: "
            "choose a time before 01:00 or from 02:00"
        )
    return first.astimezone(UTC)


def read_plan(
    form: FormData, *, choices: dict[str, Any], officer_id: uuid.UUID | None, now: datetime
) -> tuple[dict[str, Any], dict[str, str], dict[str, Any]]:
    """The plan form's values as typed, what is wrong with them, and the walk to store."""
    values: dict[str, Any] = {
        k: str(form.get(k, "")).strip()
        for k in ("buddy", "kind", "ward", "officer", "date", "time", "minutes", "lon", "lat")
    }
    values["consent_keep_route"] = form.get("consent_keep_route") == "yes"
    values["consent_contact"] = form.get("consent_contact") == "yes"
    errors: dict[str, str] = {}
    kinds = {k for k, _ in choices["kinds"]}
    if values["kind"] not in kinds:
        errors["kind"] = "Choose the kind of walk"
    buddies = {str(b["id"]) for b in choices["buddies"]}
    buddy_id: uuid.UUID | None = None
    if values["buddy"]:
        if values["buddy"] not in buddies:
            errors["buddy"] = "Choose a buddy from the list: only your wards' buddies are listed"
        elif values["kind"] == walk_queries.PATROL:
            errors["buddy"] = "A patrol has no buddy: choose “No buddy”, or another kind of walk"
        else:
            buddy_id = uuid.UUID(values["buddy"])
    elif values["kind"] in kinds and values["kind"] != walk_queries.PATROL:
        errors["buddy"] = "Choose the buddy who walks (only a patrol has no buddy)"
    if values["ward"] not in choices["wards"]:
        errors["ward"] = "Choose one of your wards"
    officer = officer_id
    if officer is None:
        officers = {str(o["id"]): o for o in choices["officers"]}
        if values["officer"] not in officers:
            errors["officer"] = "Choose the officer who walks"
        else:
            officer = uuid.UUID(values["officer"])
            if values["ward"] and values["ward"] not in officers[values["officer"]]["ward_codes"]:
                errors.setdefault("ward", "That ward is not one of this officer's wards")
    start = None
    try:
        day = date.fromisoformat(values["date"])
    except ValueError:
        errors["date"] = "Enter the date of the walk, for example 8 December 2026"
        day = None
    try:
        clock = time.fromisoformat(values["time"])
    except ValueError:
        errors["time"] = "Enter the start time, for example 07:30"
        clock = None
    if day and clock:
        try:
            start = london_instant(day, clock)
        except ValueError as exc:
            errors["time"] = str(exc)
        else:
            if start < now:
                errors["date"] = "The walk's start has passed: enter a date and time to come"
    minutes = 0
    try:
        minutes = int(values["minutes"])
    except ValueError:
        errors["minutes"] = "Enter the length in whole minutes, at least 30 minutes"
    else:
        if minutes < MIN_MINUTES:
            errors["minutes"] = f"A walk and talk lasts at least {MIN_MINUTES} minutes"
        elif minutes > MAX_MINUTES:
            errors["minutes"] = "A walk lasts at most 8 hours (480 minutes)"
    meeting = None
    if values["lon"] or values["lat"]:
        try:
            meeting = {"lon": float(values["lon"]), "lat": float(values["lat"])}
        except ValueError:
            errors["map"] = "Tap the map again to choose the meeting point"
    walk: dict[str, Any] = {}
    if not errors and start is not None and officer is not None:
        walk = {
            "officer_id": officer,
            "buddy_id": buddy_id,
            "kind": values["kind"],
            "ward_code": values["ward"],
            "planned_start": start,
            "planned_end": start + timedelta(minutes=minutes),
            "meeting_point": meeting,
            "consent_keep_route": values["consent_keep_route"],
            "consent_contact": values["consent_contact"],
        }
    return values, errors, walk


@router.get(PLAN_PATH, response_class=HTMLResponse, response_model=None)
def plan_form(
    request: Request, session: SessionDep, principal: Anyone, buddy: str = ""
) -> HTMLResponse | RedirectResponse:
    """The form to plan a walk (``?buddy=<id>`` chooses the buddy)."""
    if answer := _sign_in(principal, PLAN_PATH):
        return answer
    wards = list(principal.ward_codes)
    values = {"buddy": buddy, "minutes": "60", "ward": wards[0] if len(wards) == 1 else ""}
    return _plan_page(request, session, principal, values=values)


@router.post(PLAN_PATH, response_class=HTMLResponse, response_model=None)
async def plan_submit(
    request: Request, session: SessionDep, principal: Staff
) -> HTMLResponse | RedirectResponse:
    """Store the planned walk and go to its page, or show the form again with what to fix."""
    form = await request.form()
    # The database work runs off the event loop, as a plain `def` route's would (a refused
    # walk's rollback on the loop was a 500).
    return await run_in_threadpool(_plan_submit, request, session, principal, form)


def _plan_submit(
    request: Request, session: SessionDep, principal: Principal, form: FormData
) -> HTMLResponse | RedirectResponse:
    choices = _choices(session, principal)
    values, errors, walk = read_plan(
        form,
        choices=choices,
        officer_id=principal.officer_id,
        now=datetime.now(UTC),
    )
    if not errors:
        policy.require_ward(principal, walk["ward_code"])
        try:
            walk_id, warning = walk_queries.create_walk(session, **walk)
        except (InvalidInput, NotFound) as exc:
            session.rollback()
            errors = {"map" if "meeting" in str(exc.detail) else "kind": str(exc.detail)}
        else:
            audit.record(session, principal, "create walk", str(walk_id))
            session.commit()
            # An unusual pairing is allowed; the walk's page says why it is unusual.
            return see_other(f"/work/walks/{walk_id}?planned=1{'&unusual=1' if warning else ''}")
    return _plan_page(
        request, session, principal, values=values, errors=errors, status_code=422
    )


def _briefing_post(route_wkt: str | None, row: Any) -> dict[str, Any] | None:
    """The fields the route briefing's form takes, for this walk's route and planned times."""
    if not route_wkt or row["planned_start"] is None or row["planned_end"] is None:
        return None
    minutes = round((row["planned_end"] - row["planned_start"]).total_seconds() / 60)
    return {
        "route": json.dumps(shapely.geometry.mapping(shapely.from_wkt(route_wkt))),
        "planned_start": row["planned_start"].astimezone(UTC).isoformat(),
        "minutes": max(minutes, 1),
    }


@router.get("/work/walks/{walk_id}", response_class=HTMLResponse, response_model=None)
def walk_page(
    request: Request, session: SessionDep, principal: Anyone, walk_id: uuid.UUID
) -> HTMLResponse | RedirectResponse:
    """A walk: its summary, next steps, concerns, map, surveys and exports."""
    if answer := _sign_in(principal, f"/work/walks/{walk_id}"):
        return answer
    view = policy.route_view(principal, walk_queries.walk_place(session, walk_id))
    state, row = queries.work_walk(session, walk_id)
    full = view == "full"
    now = datetime.now(UTC)
    concerns = [
        {**c, "when": london_time(c["at"]), "labels": [LABELS.get(s, s) for s in c["categories"]]}
        for c in (queries.walk_concerns(session, walk_id) if full else [])
    ]
    # The briefing for the planned time: what was reported along the route before, and dark.
    route_wkt = (
        walk_queries.walk_route_wkt(session, walk_id, view) if state.has_route and full else None
    )
    briefing = (
        route_exposure(session, route_wkt, within=50, besides_walk=walk_id) if route_wkt else None
    )
    # Requests to partners raised from its concerns: what became of them.
    raised = (
        request_queries.list_requests(
            session,
            request_queries.RequestScope(**policy.request_scope(principal)),
            request_queries.Filters(walk_id=walk_id),
        )
        if full
        else []
    )
    audit.record(session, principal, f"read walk page ({view} route)", str(walk_id))
    session.commit()
    kind = KIND_LABELS.get(row["kind"], row["kind"])
    return page(
        request,
        "work_walk.html",
        principal,
        # A trimmed view names no time: with the ward it could tell another ward the buddy's.
        title=f"{kind} walk, {london_time(row['planned_start'])}"
        if full
        else f"Walk in {row['ward_name']}",
        full=full,
        walk=row,
        state=state,
        steps=next_steps(state, now) if full else [],
        concerns=concerns,
        raised=raised,
        request_statuses=request_queries.STATUS_LABELS,
        briefing=briefing,
        # The full briefing page, with the better-lit way, is posted the walk's own route:
        # only to those who see it whole (``briefing`` is None for a trimmed view).
        briefing_post=_briefing_post(route_wkt, row) if briefing else None,
        route_wards=list(queries.ward_names(session, list(row["route_wards"] or [])).values()),
        kinds=KIND_LABELS,
        files=WALK_FILES,
        times={k: london_time(row[k]) for k in ("planned_start", "planned_end", "actual_start",
                                                "actual_end", "closed_at")},
        planned=request.query_params.get("planned") == "1",
        unusual=request.query_params.get("unusual") == "1",
        done=request.query_params.get("done", ""),
        back=("/", "My work"),
    )


#: One walk's files: (media type, what the page calls it).
WALK_FILES = {
    "geojson": ("application/geo+json", "GeoJSON"),
    "gpkg": ("application/geopackage+sqlite3", "GeoPackage"),
    "gpx": ("application/gpx+xml", "GPX, for a phone's map app"),
}


@router.get("/work/walks/{walk_id}/export.{fmt}", response_class=Response, response_model=None)
def walk_file(
    session: SessionDep, principal: Staff, walk_id: uuid.UUID, fmt: str, crs: int = 4326
) -> Response:
    """A walk's route and concerns as a file: for its ward's officers and supervisors only."""
    if fmt not in WALK_FILES:
        raise InvalidInput(
            f"no {fmt!r} file of a walk: choose one of " + ", ".join(f".{k}" for k in WALK_FILES)
        )
    check_crs(crs)
    policy.require_full_view(principal, walk_queries.walk_place(session, walk_id))
    route, concerns = queries.walk_export_frames(session, walk_id)
    if route.empty:
        raise NotFound("this walk has no route yet: draw it first, then download its files")
    concerns["what"] = [", ".join(LABELS.get(c, c) for c in cs) for cs in concerns["categories"]]
    concerns = concerns[["what", "note", "at", "geometry"]]
    if fmt == "geojson":
        body = walk_geojson(route, concerns)
    elif fmt == "gpkg":
        body = walk_geopackage(route, concerns, crs=crs)
    else:
        body = walk_gpx(route, concerns, name=f"Walk {walk_id}")
    audit.record(session, principal, f"export walk as {fmt}", str(walk_id))
    session.commit()
    name = f"walk-{str(walk_id)[:8]}.{fmt}"
    return Response(
        body,
        media_type=WALK_FILES[fmt][0],
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
