"""Recurring themes over time: category counts by step, area and kind of source, in PostGIS.

Cells are cut by time step (a quarter, or a month), by area (a borough, or a ward), by
category (a group of categories from ``service.taxonomy.CATEGORY_GROUPS``, or each category)
and by kind of source. The routes default to the coarse options, quarter, borough and group,
because the fine ones split a few thousand reports into cells mostly under k = 10, which
partners and the public then see only as suppressed; the fine options stay for supervisors and
for large areas. In a group, a report (or a walk's survey) naming two of its categories counts
once.

Three kinds of source name a category:

``reports``
    Published reports from the public, imports and the synthetic demo (a report with two
    categories counts once in each), by the month and ward of the report.
``walk_concerns``
    Concerns raised on walks (published reports with source ``walk_concern``), likewise.
``survey_themes``
    Walks whose officer's or buddy's survey names the theme, by the walk's ward and the London
    month it started. A theme named in both surveys of one walk counts once: it is one
    conversation, heard twice.
``patrol_themes``
    Patrols (walks without a buddy) whose record names the theme, by the patrol's ward and
    the London month it started; a patrol counts once its record is stored. Patrols talk to
    groups of women rather than walk with one, so their themes are a source of their own.

The answer is the whole grid of (step, area, category, kind) cells, zeros included. Disclosure
control for partners, planners, officers and the public is applied to each cell by
:func:`protect_counts`; listing every cell means that a suppressed cell cannot be told from an
empty one by its presence.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import date
from typing import Any

import pandas as pd
from sqlalchemy import text
from sqlalchemy.orm import Session

from geo.disclosure import DisclosureRule, protect
from service.errors import InvalidInput
from service.queries.aggregates import AggregateFilter, band_of_hour
from service.queries.wards import require_active_ward_set
from service.taxonomy import CATEGORIES, CATEGORY_GROUPS, GROUP_OF

KINDS = ("reports", "walk_concerns", "survey_themes", "patrol_themes")
KIND_LABELS = {
    "reports": "Reports",
    "walk_concerns": "Walk concerns",
    "survey_themes": "Survey themes (walks)",
    "patrol_themes": "Patrol themes",
}
#: Without a month range, the themes cover this many months up to the current one.
DEFAULT_MONTHS = 12
#: The longest range one answer covers: the grid grows with every month.
MAX_MONTHS = 36
#: A walk counts as "in the dark" for the darkness filter when most of it was walked in the dark.
DARK_WALK_SHARE = 0.5

#: Time steps, with the months each spans; areas; category levels. The first is the default.
STEPS = {"quarter": 3, "month": 1}
AREAS = ("borough", "ward")
CATEGORY_LEVELS = ("group", "category")

COLUMNS = [
    "month",
    "area_code",
    "area_name",
    "ward_code",
    "ward_name",
    "borough_code",
    "category",
    "kind",
    "count",
]

# The London month a walk started (its actual start once walked, else the planned one).
_WALK_START = "(coalesce(w.actual_start, w.planned_start) AT TIME ZONE 'Europe/London')"
# The same time bands as reports give, read off the walk's London start hour.
_WALK_BAND = band_of_hour(_WALK_START)
# Survey themes alone with a source filter: nothing to count, but the grid is still answered.
_NOTHING_COUNTED = (
    "SELECT NULL::date AS month, NULL::text AS area_code, NULL::text AS category, "
    "NULL::text AS kind, 0::bigint AS n, 0::bigint AS synthetic WHERE false"
)
_REPORT_KIND = "CASE WHEN r.source = 'walk_concern' THEN 'walk_concerns' ELSE 'reports' END"


def _add_months(month: date, months: int) -> date:
    index = month.year * 12 + month.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def months_between(first: date, last: date) -> int:
    """How many months ``first`` to ``last`` covers, both included (first days of months)."""
    return (last.year - first.year) * 12 + last.month - first.month + 1


def theme_period(selection: AggregateFilter, *, today: date) -> tuple[date, date]:
    """The first and last month the themes cover, checked.

    With no range, the :data:`DEFAULT_MONTHS` months up to ``today``'s; with one end only, the
    range runs from it (or to it) for the same length, never past the current month.

    Raises
    ------
    InvalidInput
        When the range is longer than :data:`MAX_MONTHS`.

    Examples
    --------
    >>> theme_period(AggregateFilter(("E09000022",)), today=date(2026, 12, 3))
    (datetime.date(2026, 1, 1), datetime.date(2026, 12, 1))

    """
    current = today.replace(day=1)
    first, last = selection.month_from, selection.month_to
    if first is None and last is None:
        last = current
    if last is None:
        assert first is not None
        last = max(first, min(current, _add_months(first, DEFAULT_MONTHS - 1)))
    if first is None:
        first = _add_months(last, -(DEFAULT_MONTHS - 1))
    span = months_between(first, last)
    if span > MAX_MONTHS:
        raise InvalidInput(
            f"themes cover at most {MAX_MONTHS} months at a time; {first:%Y-%m} to "
            f"{last:%Y-%m} is {span}: narrow month_from and month_to"
        )
    return first, last


def check_kinds(kinds: list[str] | None) -> tuple[str, ...]:
    """The kinds of source asked for, in their usual order (all when none are named)."""
    if not kinds:
        return KINDS
    unknown = sorted(set(kinds) - set(KINDS))
    if unknown:
        raise InvalidInput(f"unknown kind {', '.join(unknown)}: use any of {', '.join(KINDS)}")
    return tuple(k for k in KINDS if k in kinds)


@dataclass(frozen=True)
class Cut:
    """How the themes are cut into cells: time step, area and category level."""

    step: str = "month"
    area: str = "ward"
    category_level: str = "category"

    @property
    def months(self) -> int:
        """Months in one step."""
        return STEPS[self.step]

    def units(self, categories: tuple[str, ...]) -> list[str]:
        """The category units of the grid, in order, for the categories asked (all if none)."""
        asked = list(categories) or [c.slug for c in CATEGORIES]
        if self.category_level == "category":
            return asked
        return [g.slug for g in CATEGORY_GROUPS if set(g.members) & set(asked)]

    def describe(self, ward_set: str) -> str:
        """The cell in words, for the method note."""
        area = f"one ward ({ward_set})" if self.area == "ward" else "one borough"
        category = "one category" if self.category_level == "category" else "one category group"
        return f"cells of one {self.step}, {area}, {category} and one kind of source"


#: What the routes use unless asked otherwise: the coarse cut that keeps cells above k.
DEFAULT_CUT = Cut(step="quarter", area="borough", category_level="group")


def check_cut(step: str, area: str, category_level: str) -> Cut:
    """The cut asked for, checked."""
    for name, value, offered in (
        ("step", step, tuple(STEPS)),
        ("area", area, AREAS),
        ("category_level", category_level, CATEGORY_LEVELS),
    ):
        if value not in offered:
            raise InvalidInput(
                f"{name} must be one of {', '.join(offered)}, not {value!r}: the default "
                f"{name}={offered[0]} keeps most cells above the disclosure threshold"
            )
    return Cut(step=step, area=area, category_level=category_level)


def step_start(month: date, months: int) -> date:
    """The first month of the step of ``months`` months holding ``month``."""
    return date(month.year, (month.month - 1) // months * months + 1, 1)


@dataclass(frozen=True)
class ThemeCounts:
    """Exact counts for every (step, area, category, kind) cell of the selection.

    ``counts`` has the columns :data:`COLUMNS` (``month`` as the first day of the step;
    ``ward_code`` and ``ward_name`` empty at borough level); ``selection`` carries the month
    range actually covered, ``first_month`` to ``last_month``.
    """

    selection: AggregateFilter
    first_month: date
    last_month: date
    kinds: tuple[str, ...]
    counts: pd.DataFrame
    synthetic_included: bool
    cut: Cut = Cut()


def _unit_map(cut: Cut) -> tuple[list[str], list[str]]:
    """Each category slug and the unit it is counted in (itself, or its group)."""
    slugs = [c.slug for c in CATEGORIES]
    units = slugs if cut.category_level == "category" else [GROUP_OF[s] for s in slugs]
    return slugs, units


def _report_counts(
    selection: AggregateFilter, kinds: tuple[str, ...], cut: Cut
) -> tuple[str, dict[str, Any]]:
    where, params = selection.where("r")
    if selection.categories:
        # A report matching the filter may name other categories too: count only those asked.
        where += " AND c.category = ANY(:agg_categories)"
    area = "r.ward_code" if cut.area == "ward" else "r.borough_code"
    # In a group, a report naming two of its categories is one report of the group.
    n = "count(*)" if cut.category_level == "category" else "count(DISTINCT r.id)"
    sql = (
        f"SELECT date_trunc('{cut.step}', r.occurred_on)::date AS month, {area} AS area_code, "
        f"u.unit AS category, {_REPORT_KIND} AS kind, {n} AS n, "
        f"{n} FILTER (WHERE r.source = 'synthetic' OR w.synthetic) AS synthetic "
        "FROM reports r CROSS JOIN unnest(r.categories) AS c(category) "
        "JOIN unnest(CAST(:unit_slugs AS text[]), CAST(:unit_names AS text[])) AS u(slug, unit) "
        "ON u.slug = c.category "
        "LEFT JOIN walks w ON w.id = r.walk_id "
        f"WHERE {where} AND r.ward_code IS NOT NULL AND {_REPORT_KIND} = ANY(:kinds) "
        "GROUP BY 1, 2, 3, 4"
    )
    return sql, {**params, "kinds": list(kinds)}


def _walk_conditions(selection: AggregateFilter) -> tuple[list[str], dict[str, Any]]:
    """The selection's filters on ``walks AS w`` and a theme ``t.category``."""
    parts = [
        "w.borough_code = ANY(:agg_boroughs)",
        f"{_WALK_START} >= :agg_from",
        f"{_WALK_START} < (:agg_to + interval '1 month')",
    ]
    params: dict[str, Any] = {
        "agg_boroughs": list(selection.boroughs),
        "agg_from": selection.month_from,
        "agg_to": selection.month_to,
    }
    if selection.categories:
        parts.append("t.category = ANY(:agg_categories)")
        params["agg_categories"] = list(selection.categories)
    if selection.dark_only:
        parts.append(f"w.dark_share >= {DARK_WALK_SHARE!r}")
    if selection.time_band is not None:
        parts.append(f"{_WALK_BAND} = :agg_band")
        params["agg_band"] = selection.time_band
    return parts, params


def _survey_counts(selection: AggregateFilter, cut: Cut) -> tuple[str, dict[str, Any]]:
    parts, params = _walk_conditions(selection)
    area = "w.ward_code" if cut.area == "ward" else "w.borough_code"
    sql = (
        f"SELECT date_trunc('{cut.step}', {_WALK_START})::date AS month, {area} AS area_code, "
        "u.unit AS category, 'survey_themes' AS kind, count(DISTINCT w.id) AS n, "
        "count(DISTINCT w.id) FILTER (WHERE w.synthetic) AS synthetic "
        "FROM (SELECT walk_id, unnest(themes) AS category FROM officer_surveys "
        "      UNION SELECT walk_id, unnest(themes) FROM buddy_surveys) t "
        "JOIN unnest(CAST(:unit_slugs AS text[]), CAST(:unit_names AS text[])) AS u(slug, unit) "
        "ON u.slug = t.category "
        "JOIN walks w ON w.id = t.walk_id "
        f"WHERE {' AND '.join(parts)} GROUP BY 1, 2, 3"
    )
    return sql, params


def _patrol_counts(selection: AggregateFilter, cut: Cut) -> tuple[str, dict[str, Any]]:
    parts, params = _walk_conditions(selection)
    area = "w.ward_code" if cut.area == "ward" else "w.borough_code"
    # In a group, a patrol naming two of its themes is one patrol of the group.
    sql = (
        f"SELECT date_trunc('{cut.step}', {_WALK_START})::date AS month, {area} AS area_code, "
        "u.unit AS category, 'patrol_themes' AS kind, count(DISTINCT w.id) AS n, "
        "count(DISTINCT w.id) FILTER (WHERE w.synthetic) AS synthetic "
        "FROM walks w CROSS JOIN unnest(w.patrol_themes) AS t(category) "
        "JOIN unnest(CAST(:unit_slugs AS text[]), CAST(:unit_names AS text[])) AS u(slug, unit) "
        "ON u.slug = t.category "
        "WHERE w.kind = 'patrol' AND w.conversations IS NOT NULL "
        f"AND {' AND '.join(parts)} GROUP BY 1, 2, 3"
    )
    return sql, params


# The areas of the grid: the active set's wards, or their boroughs.
_WARD_AREAS = (
    "SELECT w.code AS area_code, w.name AS area_name, w.code AS ward_code, "
    "w.name AS ward_name, w.borough_code FROM wards w "
    "WHERE w.ward_set_id = :set_id AND w.borough_code = ANY(:grid_boroughs)"
)
_BOROUGH_AREAS = (
    "SELECT DISTINCT w.borough_code AS area_code, w.borough_name AS area_name, "
    "NULL::text AS ward_code, NULL::text AS ward_name, w.borough_code FROM wards w "
    "WHERE w.ward_set_id = :set_id AND w.borough_code = ANY(:grid_boroughs)"
)


def theme_counts(
    session: Session,
    selection: AggregateFilter,
    *,
    kinds: tuple[str, ...] = KINDS,
    today: date | None = None,
    cut: Cut | None = None,
) -> ThemeCounts:
    """Count categories by step, area and kind of source, every cell of the grid included.

    Parameters
    ----------
    session : Session
        The caller's transaction.
    selection : AggregateFilter
        Boroughs, months and the other filters. They apply to survey themes where they mean
        something for a walk: boroughs, months and categories; ``dark_only`` keeps walks walked
        mostly in the dark; ``time_band`` is the band of the walk's start. A ``sources`` filter
        picks reports by source: survey and patrol themes have none, so they are left out
        when it is set.
    kinds : tuple of str
        Which of :data:`KINDS` to count.
    today : datetime.date, optional
        Fixes the default month range (see :func:`theme_period`); the current date if None.
    cut : Cut, optional
        Step, area and category level; by month, ward and category when None (the finest).
        The month range is widened to whole steps.

    Returns
    -------
    ThemeCounts
        Exact counts; protect them with :func:`protect_counts` before showing them to anyone
        but a supervisor.

    """
    cut = cut or Cut()
    first, last = theme_period(selection, today=today or date.today())
    first = step_start(first, cut.months)
    last = _add_months(step_start(last, cut.months), cut.months - 1)
    selection = dataclasses.replace(selection, month_from=first, month_to=last)
    slugs, units = _unit_map(cut)
    parts: list[str] = []
    params: dict[str, Any] = {"unit_slugs": slugs, "unit_names": units}
    if {"reports", "walk_concerns"} & set(kinds):
        sql, report_params = _report_counts(selection, kinds, cut)
        parts.append(sql)
        params.update(report_params)
    if "survey_themes" in kinds and not selection.sources:
        sql, survey_params = _survey_counts(selection, cut)
        parts.append(sql)
        params.update(survey_params)
    if "patrol_themes" in kinds and not selection.sources:
        sql, patrol_params = _patrol_counts(selection, cut)
        parts.append(sql)
        params.update(patrol_params)
    counted = " UNION ALL ".join(parts) or _NOTHING_COUNTED
    active = require_active_ward_set(session)
    areas = _WARD_AREAS if cut.area == "ward" else _BOROUGH_AREAS
    rows = session.execute(
        text(
            f"WITH counted AS ({counted}), "
            "grid AS (SELECT m::date AS month, a.area_code, a.area_name, a.ward_code, "
            "a.ward_name, a.borough_code, c.category, c.n AS category_order, k.kind, "
            "k.n AS kind_order "
            "FROM generate_series(CAST(:grid_from AS date), CAST(:grid_last_step AS date), "
            f"interval '{cut.months} months') AS m, ({areas}) a, "
            "unnest(CAST(:grid_categories AS text[])) WITH ORDINALITY AS c(category, n), "
            "unnest(CAST(:grid_kinds AS text[])) WITH ORDINALITY AS k(kind, n)) "
            "SELECT g.month, g.area_code, g.area_name, g.ward_code, g.ward_name, "
            "g.borough_code, g.category, g.kind, "
            "coalesce(c.n, 0) AS count, coalesce(c.synthetic, 0) AS synthetic "
            "FROM grid g LEFT JOIN counted c ON c.month = g.month "
            "AND c.area_code = g.area_code AND c.category = g.category AND c.kind = g.kind "
            # Codes in byte order: a locale-aware sort of names costs more than the whole count.
            'ORDER BY g.month, g.area_code COLLATE "C", g.kind_order, g.category_order'
        ),
        {
            **params,
            "grid_from": first,
            "grid_last_step": step_start(last, cut.months),
            "grid_categories": cut.units(selection.categories),
            "grid_kinds": list(kinds),
            "grid_boroughs": list(selection.boroughs),
            "set_id": active.id,
        },
    ).all()
    frame = pd.DataFrame(rows, columns=[*COLUMNS, "synthetic"])
    frame = frame.astype({"count": "int64", "synthetic": "int64"})
    return ThemeCounts(
        selection=selection,
        first_month=first,
        last_month=last,
        kinds=kinds,
        counts=frame[COLUMNS],
        synthetic_included=bool(frame["synthetic"].sum() > 0),
        cut=cut,
    )


def protect_counts(counts: pd.DataFrame, rule: DisclosureRule | None) -> pd.DataFrame:
    """The counts as the caller may see them: ``count`` (NaN if suppressed) and ``suppressed``.

    Each (step, area, category, kind) cell is protected on its own, with the caller's rule;
    None (supervisors) leaves the counts exact.
    """
    shown, suppressed = protect(counts["count"].to_numpy(), rule)
    return counts.assign(count=shown, suppressed=suppressed)
