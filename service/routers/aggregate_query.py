"""What every aggregate route shares: who may ask, the filters, the scope, disclosure control.

Aggregates are for every role, over any borough of the active ward set; a signed-in caller's
own boroughs are the default (an officer's are those of her wards), the public's are all of
them (``policy.aggregate_boroughs``). Supervisors see exact counts of their own boroughs;
everyone else gets ``geo.disclosure``'s protected ones, whatever the filters.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Annotated

from fastapi import Depends, Query, Request
from sqlalchemy import text
from sqlalchemy.orm import Session

from geo.disclosure import DisclosureRule
from geo.reports import TIME_BANDS
from service import policy
from service.auth import EVERYONE, Allow, Principal
from service.db import ReadSessionDep, primary_session
from service.errors import InvalidInput
from service.queries import audit
from service.queries.aggregates import AggregateFilter
from service.queries.wards import borough_codes, require_active_ward_set
from service.taxonomy import SLUGS, SOURCES

#: Every role may ask for aggregates; what each gets back differs (see ``disclosure_for``).
Viewer = Annotated[Principal, Depends(Allow(*EVERYONE))]

_MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")


def parse_month(value: str | None, name: str) -> date | None:
    """A ``YYYY-MM`` query value as the first day of that month (None when empty).

    Examples
    --------
    >>> parse_month("2026-03", "month_from")
    datetime.date(2026, 3, 1)

    """
    if not value:
        return None
    match = _MONTH.match(value)
    if not match:
        raise InvalidInput(f"{name} must be a month as YYYY-MM (e.g. 2026-03), not {value!r}")
    return date(int(match.group(1)), int(match.group(2)), 1)


def active_boroughs(session: ReadSessionDep) -> tuple[str, ...]:
    """Every borough of the active ward set: the widest scope of an aggregate."""
    active = require_active_ward_set(session)
    rows = session.execute(
        text("SELECT DISTINCT borough_code FROM wards WHERE ward_set_id = :id ORDER BY 1"),
        {"id": active.id},
    ).scalars()
    return tuple(rows)


def disclosure_for(
    request: Request, principal: Principal, boroughs: tuple[str, ...]
) -> DisclosureRule | None:
    """The disclosure rule for this caller and boroughs: None means exact counts."""
    if policy.sees_exact_counts(principal, boroughs):
        return None
    settings = request.app.state.settings
    return DisclosureRule(k=settings.disclosure_k, base=settings.disclosure_rounding)


@dataclass(frozen=True)
class AggregateRequest:
    """A parsed aggregate request: the caller, the filter, and the rule for what they see."""

    principal: Principal
    selection: AggregateFilter
    rule: DisclosureRule | None

    @property
    def exact(self) -> bool:
        """Whether the caller sees exact counts."""
        return self.rule is None

    def audit_exact_read(self, session: Session, what: str, detail: str | None = None) -> None:
        """Record who read exact counts (they can point at people); nothing for protected ones.

        ``detail`` defaults to the filters in words.
        """
        if not self.exact:
            return
        detail = "; ".join(self.selection.describe()) if detail is None else detail
        with primary_session(session) as writer:  # a replica's session cannot write
            audit.record(writer, self.principal, what, detail)


def aggregate_request(
    request: Request,
    session: ReadSessionDep,
    principal: Viewer,
    borough: Annotated[
        list[str] | None,
        Query(description="borough code(s), E09…; default: your own boroughs (public: all)"),
    ] = None,
    month_from: Annotated[str | None, Query(description="first month, YYYY-MM")] = None,
    month_to: Annotated[str | None, Query(description="last month, YYYY-MM")] = None,
    category: Annotated[list[str] | None, Query(description="category slug(s): any of")] = None,
    dark: Annotated[bool, Query(description="only reports made about the dark")] = False,
    time_band: Annotated[
        str | None, Query(description="early_morning, daytime, evening or night")
    ] = None,
    source: Annotated[
        list[str] | None, Query(description="public, imported, walk_concern, synthetic")
    ] = None,
) -> AggregateRequest:
    """Parse and check the filters every aggregate takes."""
    scope = policy.aggregate_boroughs(principal, borough or (), active_boroughs(session))
    first, last = parse_month(month_from, "month_from"), parse_month(month_to, "month_to")
    if first and last and first > last:
        raise InvalidInput(f"month_from ({month_from}) is after month_to ({month_to})")
    unknown = sorted(set(category or ()) - SLUGS)
    if unknown:
        raise InvalidInput(
            f"unknown category {', '.join(unknown)}: see GET /reports/categories for the slugs"
        )
    if time_band is not None and time_band not in TIME_BANDS:
        raise InvalidInput(f"time_band must be one of {', '.join(TIME_BANDS)}, not {time_band!r}")
    bad_sources = sorted(set(source or ()) - set(SOURCES))
    if bad_sources:
        raise InvalidInput(
            f"unknown source {', '.join(bad_sources)}: use any of {', '.join(SOURCES)}"
        )
    names = borough_codes(session)
    return AggregateRequest(
        principal=principal,
        selection=AggregateFilter(
            boroughs=scope,
            month_from=first,
            month_to=last,
            categories=tuple(sorted(set(category or ()))),
            dark_only=dark,
            time_band=time_band,
            sources=tuple(sorted(set(source or ()))),
            borough_names=tuple(names.get(code, code) for code in scope),
        ),
        rule=disclosure_for(request, principal, scope),
    )


#: The dependency routes take: ``query: Aggregates``.
Aggregates = Annotated[AggregateRequest, Depends(aggregate_request)]
