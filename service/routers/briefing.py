"""The briefing for a planned route: before a walk exists, what the officer should expect.

``GET /maps/routes/briefing`` is the planning page (draw the line, set the start and the
duration); ``POST /maps/routes/briefing`` answers the briefing page for the route and times
posted, as a form from that page or as a GeoJSON Feature from a script. Officers and
supervisors only; the public are sent to sign in, partners and planners are refused (the
briefing shows exact points and a route).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from shapely.geometry import LineString
from sqlalchemy.orm import Session

from geo.darkness import LONDON, is_dark, sun_times
from geo.routes import MIN_LENGTH_M, InvalidRoute, check_route, darkness_along
from maps.briefing import (
    DEFAULT_MINUTES,
    MIN_MINUTES,
    BetterLitWay,
    render_briefing,
    render_briefing_planner,
)
from service.auth import EVERYONE, Allow, Principal, Role
from service.db import SessionDep
from service.errors import Forbidden, InvalidInput
from service.queries import audit
from service.queries.exposure import nearby_points, route_exposure
from service.queries.routing import LitWeights, NoStreetRoute, better_lit_route
from service.queries.wards import require_active_ward_set, wards_frame
from service.routers.maps import ASSET_URL, MAP_SIMPLIFY_M, page_tiles
from service.settings import Settings
from service.taxonomy import LABELS

router = APIRouter(tags=["walks"])
Staff = Annotated[Principal, Depends(Allow(Role.officer, Role.supervisor))]
# The page takes anyone so the public are sent to sign in, then refuses by role inside.
Anyone = Annotated[Principal, Depends(Allow(*EVERYONE))]
Within = Annotated[
    float, Query(gt=0, le=500, description="metres either side of the route (JSON bodies)")
]

PAGE_PATH = "/maps/routes/briefing"
_FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
_MAX_WITHIN_M = 500.0

_BODY_SCHEMA: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "description": (
                        "A GeoJSON Feature with a LineString geometry; properties.planned_start "
                        "(ISO 8601; without an offset it is London time) and optionally "
                        f"properties.planned_end (default {DEFAULT_MINUTES} minutes later)."
                    ),
                    "example": {
                        "type": "Feature",
                        "geometry": {
                            "type": "LineString",
                            "coordinates": [[-0.1136, 51.5033], [-0.1100, 51.5075]],
                        },
                        "properties": {"planned_start": "2026-12-03T17:00:00+00:00"},
                    },
                }
            },
            "application/x-www-form-urlencoded": {
                "schema": {
                    "type": "object",
                    "required": ["route", "planned_start"],
                    "properties": {
                        "route": {"type": "string", "description": "the line, as GeoJSON text"},
                        "planned_start": {"type": "string", "description": "London time"},
                        "minutes": {"type": "integer", "default": DEFAULT_MINUTES},
                        "within": {"type": "number", "default": 50},
                        "csrf_token": {"type": "string"},
                    },
                }
            },
        },
    }
}


@dataclass(frozen=True)
class _Plan:
    """A planned route and when it will be walked, as posted and checked."""

    line: LineString
    start: datetime
    end: datetime
    within: float


@router.get(
    PAGE_PATH,
    operation_id="route_briefing_planner",
    response_class=HTMLResponse,
    response_model=None,
    include_in_schema=False,
)
def briefing_planner(
    request: Request, session: SessionDep, principal: Anyone
) -> HTMLResponse | RedirectResponse:
    """The planning page: draw a route, set its start and duration, and ask for the briefing."""
    if principal.is_public:
        return RedirectResponse(f"/login?next={PAGE_PATH}", status_code=303)
    if principal.role not in (Role.officer, Role.supervisor):
        raise Forbidden(
            f"the route briefing is for officers and supervisors; you are {principal.role.value}"
        )
    active, wards = wards_frame(session, simplify_m=MAP_SIMPLIFY_M)
    # Open on the caller's own wards (an officer's, or a supervisor's boroughs').
    own = (
        wards["code"].isin(principal.ward_codes)
        if principal.role is Role.officer
        else wards["borough_code"].isin(principal.borough_codes)
    )
    html = render_briefing_planner(
        wards=wards[own] if own.any() else wards,
        action_url=PAGE_PATH,
        csrf_token=principal.csrf_token,
        default_start=_next_half_hour(datetime.now(UTC)),
        min_length_m=MIN_LENGTH_M,
        title="Plan a walk: route briefing - Walk and Talk Maps",
        attribution=active.attribution,
        asset_url=ASSET_URL,
        tiles=page_tiles(request, session),
    )
    return HTMLResponse(html)


# --- reading what was posted ---------------------------------------------------------------


async def _read_plan(request: Request, within: Within = 50) -> _Plan:
    """The route, times and distance from a form post or a GeoJSON Feature, checked.

    A dependency, read on the event loop, so that the briefing route itself is a plain
    ``def`` and its database work runs in a worker thread.
    """
    if request.headers.get("content-type", "").startswith(_FORM_TYPES):
        form = await request.form()
        route_text = _text_field(form.get("route"), "route")
        try:
            geometry = json.loads(route_text)
        except ValueError:
            raise InvalidInput(
                "the route field must be the drawn line as GeoJSON text; draw the route again"
            ) from None
        start = _planned_time(
            _text_field(form.get("planned_start"), "planned_start"), "planned_start"
        )
        minutes = _number(form.get("minutes"), "minutes", default=DEFAULT_MINUTES)
        end = start + timedelta(minutes=minutes)
        within = _number(form.get("within"), "within", default=within)
    else:
        try:
            geometry = await request.json()
        except ValueError:
            raise InvalidInput(
                "send a GeoJSON Feature (a LineString with properties.planned_start) or the "
                "planning page's form"
            ) from None
        properties = geometry.get("properties") if isinstance(geometry, dict) else None
        if not isinstance(properties, dict) or "planned_start" not in properties:
            raise InvalidInput(
                "send the route as a GeoJSON Feature whose properties carry planned_start "
                "(ISO 8601, e.g. 2026-12-03T17:00:00+00:00; without an offset, London time)"
            )
        start = _planned_time(properties["planned_start"])
        end = (
            _planned_time(properties["planned_end"], name="planned_end")
            if properties.get("planned_end") is not None
            else start + timedelta(minutes=DEFAULT_MINUTES)
        )
    if not 0 < within <= _MAX_WITHIN_M:
        raise InvalidInput(
            f"within must be more than 0 and at most {_MAX_WITHIN_M:g} metres, not {within:g}"
        )
    minutes = (end - start).total_seconds() / 60
    if minutes < MIN_MINUTES:
        raise InvalidInput(
            f"a walk and talk lasts at least {MIN_MINUTES} minutes; this one is planned for "
            f"{minutes:.0f}: give a later planned_end or more minutes"
        )
    try:
        line = check_route(geometry)
    except InvalidRoute as exc:
        raise InvalidInput(str(exc)) from None
    return _Plan(line=line, start=start, end=end, within=within)


def _text_field(value: object, name: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput(f"the form has no {name}; fill it in and send it again")
    return value.strip()


def _number(value: object, name: str, *, default: float) -> float:
    if value is None or (isinstance(value, str) and not value.strip()):
        return float(default)
    try:
        number = float(str(value))
    except ValueError:
        raise InvalidInput(f"{name} must be a number, not {value!r}") from None
    if not math.isfinite(number):
        raise InvalidInput(f"{name} must be a finite number, not {value!r}")
    return number


def _planned_time(value: object, name: str = "planned_start") -> datetime:
    """An ISO 8601 time; without an offset it is London wall-clock time (GMT or BST)."""
    if not isinstance(value, str):
        raise InvalidInput(f"{name} must be an ISO 8601 text like 2026-12-03T17:00, not {value!r}")
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        raise InvalidInput(
            f"{name} {value!r} is not an ISO 8601 time like 2026-12-03T17:00 or "
            "2026-12-03T17:00:00+00:00"
        ) from None
    # UTC from here on: Python adds and subtracts times in one zone by the wall clock, which
    # is an hour out across a clock change.
    if moment.tzinfo is not None:
        return moment.astimezone(UTC)
    utc = moment.replace(tzinfo=LONDON).astimezone(UTC)
    # An hour that the clocks skip in spring does not exist: say so rather than guess. (In
    # the hour they repeat in autumn, the first, BST, is meant.)
    if utc.astimezone(LONDON).replace(tzinfo=None) != moment:
        raise InvalidInput(
            f"{name} {value!r} does not exist in London: the clocks go forward that night "
            "(from 01:00 GMT to 02:00 BST); choose a time before or after the change"
        )
    return utc


def _next_half_hour(now: datetime) -> datetime:
    """The next :00 or :30 after ``now``: what the planning page offers as the start.

    Done in UTC, where adding minutes is never an hour out; London's offset is whole hours,
    so :00 and :30 are the same in both.
    """
    rounded = now.replace(second=0, microsecond=0)
    return rounded + timedelta(minutes=30 - rounded.minute % 30)


PlanDep = Annotated[_Plan, Depends(_read_plan)]


@router.post(
    PAGE_PATH,
    operation_id="route_briefing",
    response_class=HTMLResponse,
    openapi_extra=_BODY_SCHEMA,
)
def route_briefing(
    request: Request, session: SessionDep, principal: Staff, plan: PlanDep
) -> HTMLResponse:
    """The briefing page for a planned route: light and dark, and what was reported along it.

    Send the planning page's form (``route`` as GeoJSON text, ``planned_start`` in London
    time, ``minutes``, ``within``, ``csrf_token``), or a GeoJSON LineString Feature whose
    properties carry ``planned_start`` (ISO 8601 with an offset; without one it is London
    time) and optionally ``planned_end`` (else 45 minutes later), with ``?within=`` metres.
    """
    wkt = plan.line.wkt
    exposure = route_exposure(session, wkt, within=plan.within)
    concerns, reports, crimes, wards = nearby_points(session, wkt, within=plan.within)
    lon, lat = plan.line.coords[0]
    dark_share, _ = darkness_along(plan.line, plan.start, plan.end)
    better_lit, better_lit_note = _better_lit(session, plan.line, request.app.state.settings)
    # The wards, not the route: the route's ends are a buddy's secret, not an audit detail.
    audit.record(
        session,
        principal,
        "view planned route briefing",
        ",".join(sorted(str(code) for code in wards["code"])),
    )
    session.commit()
    html = render_briefing(
        plan.line,
        planned_start=plan.start,
        planned_end=plan.end,
        sun=sun_times(lon, lat, plan.start),
        dark_at_start=bool(is_dark(lon, lat, plan.start)),
        dark_share=dark_share,
        exposure=exposure,
        concerns=concerns,
        reports=reports,
        crimes=crimes,
        wards=wards,
        category_labels=LABELS,
        attribution=(
            f"{require_active_ward_set(session).attribution}. police.uk: Contains public "
            "sector information licensed under the Open Government Licence v3.0."
        ),
        asset_url=ASSET_URL,
        tiles=page_tiles(request, session),
        plan_url=PAGE_PATH,
        better_lit=better_lit,
        better_lit_note=better_lit_note,
    )
    return HTMLResponse(html)


def _better_lit(
    session: Session, line: LineString, settings: Settings
) -> tuple[BetterLitWay | None, str | None]:
    """The better-lit way between the route's ends, or why there is none to show.

    The caller drew this route, so it is shown whole (``policy.RouteView`` "full"): the way
    shares its ends, and is shown only where the route itself is.
    """
    weights = LitWeights(unlit=settings.route_weight_unlit, reports=settings.route_weight_reports)
    try:
        found = better_lit_route(session, line, weights)
    except NoStreetRoute as exc:
        return None, f"No better-lit way to suggest: {exc.detail}"
    return (
        BetterLitWay(
            line=found.alternative.line,
            length_m=found.alternative.length_m,
            unlit_share=found.alternative.unlit_share,
            drawn_length_m=found.drawn.length_m,
            drawn_unlit_share=found.drawn.unlit_share,
        ),
        None,
    )
