"""Who may see what: every access decision of the service, made here and nowhere else.

DESIGN.md's two secrets are a buddy's route ends and a reporter's exact point. The rules:

- **Roles per route** are declared on each route with ``Allow(...)`` from the role groups
  below; ``tests/test_role_matrix.py`` reads them and calls every route as every kind of caller.
- **Scope**: an officer's answers are limited to her wards, everyone else's to their boroughs
  (:func:`scope_of`).
- **Routes**: officers of the walk's ward and supervisors of its borough see the full route
  and everything of the walk; officers of other wards see the trimmed route and only what the
  trimmed route shows (:func:`route_view`, :func:`walk_view_fields`); partners, planners and
  the public see no walk at all.
- **Counts**: supervisors see exact aggregate counts of their own boroughs; everyone else, and
  a supervisor looking beyond her boroughs, gets counts protected by the disclosure rule
  (:func:`sees_exact_counts`).
- **Aggregates add to the public's**: protected aggregates of every borough the public may
  see are open to every signed-in role too; a caller's own boroughs are only the default
  (:func:`aggregate_boroughs`).

Query modules take the plain values these functions return (a :class:`Scope`, a route view,
a tuple of boroughs); they never see the caller.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal, Protocol

from service.auth import Principal, Role
from service.errors import Forbidden, InvalidInput

RouteView = Literal["full", "trimmed"]

STAFF = (Role.officer, Role.supervisor)
"""Roles that work with walks, routes, buddies and individual reports."""
SUPERVISORS = (Role.supervisor,)
"""The role that runs the scheme: officers, tokens, moderation, imports, evaluation."""
SEE_ASSETS = (Role.officer, Role.supervisor, Role.partner, Role.planner)
"""Roles that read the street lights and cameras already there (all of them, any borough).

They are councils' published data, so no scope narrows them; still, no public page needs
them, and a public map of cameras beside places reported unsafe would be read as a promise of
watching that the (possibly TfL road) cameras do not keep, so the public is not served them.
"""

# What a trimmed view of a walk may show. The full route's length, darkness and times would
# let a reader of another ward work out where the trimmed-off ends lie, and the officer's id
# and the buddy's are the people; so a trimmed view carries only what the trimmed line shows.
TRIMMED_WALK_FIELDS = frozenset(
    {"kind", "ward_code", "borough_code", "route_wards", "length_m", "synthetic", "route_view"}
)


@dataclass(frozen=True)
class Scope:
    """The places a caller's answers are limited to.

    ``ward_codes`` is set for officers (their wards); ``None`` means limited by borough only.
    """

    borough_codes: tuple[str, ...]
    ward_codes: tuple[str, ...] | None = None


class WalkPlace(Protocol):
    """Where a walk belongs: all a route-view decision needs to know of it."""

    @property
    def ward_code(self) -> str:
        """The walk's ward."""
        ...

    @property
    def borough_code(self) -> str:
        """The ward's borough."""
        ...


def scope_of(principal: Principal) -> Scope:
    """The caller's scope: an officer's wards, or anyone else's boroughs."""
    if principal.role is Role.officer:
        return Scope(borough_codes=principal.borough_codes, ward_codes=principal.ward_codes)
    return Scope(borough_codes=principal.borough_codes)


def route_view(principal: Principal, walk: WalkPlace) -> RouteView:
    """Which of a walk's routes the caller may see; refuse those who may see none."""
    if principal.role is Role.supervisor:
        if walk.borough_code in principal.borough_codes:
            return "full"
        raise Forbidden(f"that walk is in borough {walk.borough_code}, outside your boroughs")
    if principal.role is Role.officer:
        return "full" if walk.ward_code in principal.ward_codes else "trimmed"
    raise Forbidden("walks and their routes are for officers and their supervisors only")


def require_full_view(principal: Principal, walk: WalkPlace) -> None:
    """Refuse anyone but the walk's ward officers and their supervisors."""
    if route_view(principal, walk) != "full":
        raise Forbidden(f"only officers of ward {walk.ward_code} and their supervisors may do this")


def sees_walk_concerns(view: RouteView) -> bool:
    """Whether a walk's map draws the walk's own concerns, wherever they lie: full view only.

    The walk's ward officers and their supervisors see them all, pending ones too and those
    in other wards. Beside a trimmed route, concerns noted near its hidden ends would show
    where the buddy's route begins and ends, so a trimmed map draws none of them.
    """
    return view == "full"


def require_staff(principal: Principal) -> None:
    """Refuse anyone but officers and supervisors (the staff pages' gate)."""
    if principal.role not in STAFF:
        raise Forbidden("this page is for ward officers and their supervisors only")


def require_request_staff(principal: Principal, ward_code: str, borough_code: str) -> None:
    """A request to take part, and how to reach her, belong to its ward's officers.

    Routed by place, as a walk is: officers whose wards include the request's ward and
    supervisors of its borough; nobody else sees it or her contact.
    """
    if principal.role is Role.supervisor and borough_code in principal.borough_codes:
        return
    if principal.role is Role.officer and ward_code in principal.ward_codes:
        return
    raise Forbidden(
        f"that request to take part is for the officers of ward {ward_code} "
        "and their supervisors"
    )


def walk_view_fields(view: RouteView, fields: Iterable[str]) -> set[str]:
    """The walk properties a view may carry, out of ``fields``."""
    return set(fields) if view == "full" else set(fields) & TRIMMED_WALK_FIELDS


def export_view(principal: Principal, asked: RouteView) -> RouteView:
    """The route an export may carry: trimmed, or full for supervisors who ask for it."""
    if asked == "full" and principal.role is not Role.supervisor:
        raise Forbidden("exports carry trimmed routes; only supervisors may export full routes")
    return asked


def require_boroughs(principal: Principal, boroughs: Iterable[str], what: str = "that") -> None:
    """Refuse when any of ``boroughs`` is outside the caller's boroughs."""
    outside = sorted(set(boroughs) - set(principal.borough_codes))
    if outside:
        own = ", ".join(principal.borough_codes) or "none"
        raise Forbidden(f"{what} is in borough(s) {', '.join(outside)}, outside your scope ({own})")


def require_ward(principal: Principal, ward_code: str) -> None:
    """An officer may act only in her own wards (supervisors are checked by borough)."""
    if principal.role is Role.officer and ward_code not in principal.ward_codes:
        raise Forbidden(f"ward {ward_code} is not one of your wards")


def aggregate_boroughs(
    principal: Principal, asked: Iterable[str], every_borough: Iterable[str]
) -> tuple[str, ...]:
    """The boroughs an aggregate counts: those asked for, else the caller's own, else all.

    The public's aggregates cover every borough of the active ward set, and signing in adds
    to what a person may see, never takes away: a partner may ask for a neighbouring
    borough's protected figures as the public may. Her own boroughs are the default because
    they are what her work is about.

    Raises
    ------
    InvalidInput
        A borough asked for is not in the active ward set.

    """
    every = tuple(sorted(set(every_borough)))
    wanted = tuple(sorted(set(asked)))
    unknown = sorted(set(wanted) - set(every))
    if unknown:
        raise InvalidInput(
            f"borough(s) {', '.join(unknown)} are not in the active ward set; "
            f"choose from {', '.join(every)}"
        )
    if wanted:
        return wanted
    own = tuple(code for code in every if code in principal.borough_codes)
    return own if (own and principal.role is not Role.public) else every


def sees_exact_counts(principal: Principal, boroughs: Iterable[str] = ()) -> bool:
    """Exact aggregate counts: for supervisors, and only over their own boroughs.

    Everyone else, and a supervisor looking at another command unit's boroughs, sees counts
    protected by the disclosure rule.
    """
    return principal.role is Role.supervisor and set(boroughs) <= set(principal.borough_codes)


# --- requests to partners (issue 12) ---------------------------------------------------------


class RequestPlaceLike(Protocol):
    """Where a request to a partner belongs: all its access decisions need to know."""

    @property
    def ward_code(self) -> str | None:
        """The request's ward (of its point, or its stretch's middle)."""
        ...

    @property
    def borough_code(self) -> str | None:
        """The ward's borough."""
        ...

    @property
    def partner_borough(self) -> str:
        """The council it is addressed to."""
        ...

    @property
    def walk_ward_code(self) -> str | None:
        """The ward of the walk it was raised from, if any."""
        ...


RAISE_REQUESTS = (Role.officer, Role.supervisor, Role.planner)
"""Roles that raise requests to partners (officers from walk concerns, planners on the map)."""
SEE_REQUESTS = (Role.officer, Role.supervisor, Role.planner, Role.partner)
"""Roles that see requests to partners (each within its scope: :func:`request_scope`)."""


def request_scope(principal: Principal) -> dict[str, tuple[str, ...]]:
    """Which requests a caller's lists hold, as ``RequestScope`` keyword arguments.

    Officers: those in their wards or raised from walks of their wards. Supervisors and
    planners: those in their boroughs. Partners: those addressed to their councils. The
    public: none (refused).
    """
    if principal.role is Role.officer:
        return {"wards": principal.ward_codes}
    if principal.role in (Role.supervisor, Role.planner):
        return {"boroughs": principal.borough_codes}
    if principal.role is Role.partner:
        return {"partner_boroughs": principal.borough_codes}
    raise Forbidden("requests to partners are for officers, supervisors, planners and partners")


def require_request_view(principal: Principal, request: RequestPlaceLike) -> None:
    """Refuse a caller whose scope (:func:`request_scope`) does not hold this request."""
    scope = request_scope(principal)
    wards = scope.get("wards", ())
    if request.ward_code in wards or request.walk_ward_code in wards:
        return
    if request.borough_code in scope.get("boroughs", ()):
        return
    if request.partner_borough in scope.get("partner_boroughs", ()):
        return
    raise Forbidden(
        f"that request is in ward {request.ward_code}, addressed to {request.partner_borough}: "
        "outside your scope"
    )


def require_raise_request(principal: Principal, ward_code: str, borough_code: str) -> None:
    """Officers raise requests in their wards; supervisors and planners in their boroughs."""
    if principal.role not in RAISE_REQUESTS:
        raise Forbidden("requests to partners are raised by officers, supervisors and planners")
    if principal.role is Role.officer:
        if ward_code not in principal.ward_codes:
            raise Forbidden(f"that place is in ward {ward_code}, not one of your wards")
        return
    require_boroughs(principal, [borough_code], "that place")


def require_request_partner(principal: Principal, request: RequestPlaceLike) -> None:
    """Only the council a request is addressed to changes its status and outcome."""
    if principal.role is Role.partner and request.partner_borough in principal.borough_codes:
        return
    raise Forbidden(
        f"only the council the request is addressed to ({request.partner_borough}) may change "
        "its status"
    )


def may_change_request(principal: Principal, request: RequestPlaceLike) -> bool:
    """Whether the request's page offers this caller the status form."""
    return principal.role is Role.partner and request.partner_borough in principal.borough_codes


def sees_backing_reports(principal: Principal) -> bool:
    """Officers and supervisors see which reports back a request; others only a count."""
    return principal.role in STAFF


def import_boroughs(principal: Principal) -> tuple[str, ...]:
    """The boroughs a caller may import requests into: planners' and supervisors' own."""
    if principal.role not in (Role.planner, Role.supervisor):
        raise Forbidden("requests are imported by planners and supervisors")
    return principal.borough_codes
