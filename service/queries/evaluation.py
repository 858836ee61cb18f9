"""The scheme's evaluation for supervisors: walks, reach, darkness, surveys and safeguarding.

Every figure is worked out in PostGIS from the walks a supervisor's boroughs hold. A walk
counts once it is closed (walked, its safeguarding question answered), in the London month it
started; walks planned or not yet closed are counted apart so that none vanish silently.

Nothing here names a buddy, holds her contact details, a route or anything written in a survey:
the evaluation is about the scheme, not about any one woman. Officers are named, because a
supervisor follows up with them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from service.errors import InvalidInput
from service.queries.wards import borough_codes, require_active_ward_set
from service.taxonomy import ACTIONS, LABELS

#: A walk shorter than this was cut short: the scheme asks for at least half an hour.
SCHEME_MINUTES = 30

# When a walk happened: its actual start once walked, in London's calendar.
_WALK_MONTH = (
    "date_trunc('month', coalesce(w.actual_start, w.planned_start) AT TIME ZONE "
    "'Europe/London')::date"
)


@dataclass(frozen=True)
class Period:
    """Whole months, first to last (either open); walks count by the month they started."""

    month_from: date | None = None
    month_to: date | None = None

    def __post_init__(self) -> None:
        if self.month_from and self.month_to and self.month_from > self.month_to:
            raise InvalidInput(
                f"month_from ({self.month_from:%Y-%m}) is after month_to ({self.month_to:%Y-%m})"
            )

    def where(self) -> tuple[str, dict[str, Any]]:
        """SQL conditions on ``walks AS w`` and their parameters."""
        parts: list[str] = ["true"]
        params: dict[str, Any] = {}
        if self.month_from:
            parts.append(f"{_WALK_MONTH} >= :month_from")
            params["month_from"] = self.month_from
        if self.month_to:
            parts.append(f"{_WALK_MONTH} <= :month_to")
            params["month_to"] = self.month_to
        return " AND ".join(parts), params

    def describe(self) -> str:
        """The period in words."""
        if not self.month_from and not self.month_to:
            return "all months"
        first = f"{self.month_from:%B %Y}" if self.month_from else "the first walk"
        last = f"{self.month_to:%B %Y}" if self.month_to else "now"
        return f"{first} to {last}"


def _walked(boroughs: tuple[str, ...], period: Period) -> tuple[str, dict[str, Any]]:
    """The CTE ``walked``: closed walks of the boroughs in the period, with month and minutes."""
    where, params = period.where()
    return (
        "walked AS (SELECT w.id, w.officer_id, w.buddy_id, w.ward_code, w.borough_code, "
        f"w.synthetic, w.dark_share, w.dark_at_start, w.baseline_safety, {_WALK_MONTH} AS month, "
        "w.actual_start, extract(epoch FROM w.actual_end - w.actual_start) / 60 AS minutes "
        "FROM walks w WHERE w.borough_code = ANY(:boroughs) AND w.closed_at IS NOT NULL "
        f"AND w.kind <> 'patrol' AND {where})",
        {**params, "boroughs": list(boroughs)},
    )


def _rows(session: Session, sql: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    return [dict(r._mapping) for r in session.execute(text(sql), params).all()]


def _one(session: Session, sql: str, params: dict[str, Any]) -> dict[str, Any]:
    return dict(session.execute(text(sql), params).one()._mapping)


def _share(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _mean(value: Any) -> float | None:
    return None if value is None else float(value)


def patrols(session: Session, *, boroughs: tuple[str, ...], period: Period) -> dict[str, Any]:
    """The patrols of ``boroughs`` in ``period``, counted apart from the buddy walks.

    A patrol counts once its record is stored (conversations, themes heard), in the London
    month it started; patrols without a record yet are counted apart, as walks not closed are.
    Themes are ranked by the number of patrols that heard them.
    """
    where, params = period.where()
    params = {**params, "boroughs": list(boroughs)}
    patrol_walks = (
        "FROM walks w WHERE w.kind = 'patrol' AND w.borough_code = ANY(:boroughs) "
        f"AND {where}"
    )
    summary = _one(
        session,
        "SELECT count(*) FILTER (WHERE w.conversations IS NOT NULL) AS held, "
        "coalesce(sum(w.conversations), 0) AS conversations, "
        "count(DISTINCT w.officer_id) FILTER (WHERE w.conversations IS NOT NULL) AS officers, "
        "count(DISTINCT w.ward_code) FILTER (WHERE w.conversations IS NOT NULL) AS wards, "
        "count(*) FILTER (WHERE w.conversations IS NOT NULL AND w.synthetic) AS synthetic, "
        "count(*) FILTER (WHERE w.conversations IS NULL) AS not_recorded, "
        "count(*) FILTER (WHERE w.conversations IS NULL AND w.planned_start > now()) "
        f"AS upcoming {patrol_walks}",
        params,
    )
    themes = _rows(
        session,
        "SELECT t.theme, count(*) AS patrols FROM walks w "
        "CROSS JOIN unnest(w.patrol_themes) AS t(theme) WHERE w.kind = 'patrol' "
        f"AND w.conversations IS NOT NULL AND w.borough_code = ANY(:boroughs) AND {where} "
        "GROUP BY t.theme ORDER BY patrols DESC, t.theme",
        params,
    )
    held = summary["held"]
    return {
        "held": held,
        "conversations": summary["conversations"],
        "mean_conversations": _share(summary["conversations"], held),
        "officers_patrolling": summary["officers"],
        "wards_with_patrols": summary["wards"],
        "synthetic_patrols": summary["synthetic"],
        "not_recorded": summary["not_recorded"],
        "upcoming": summary["upcoming"],
        "themes": [
            {
                "theme": r["theme"],
                "label": LABELS.get(r["theme"], r["theme"]),
                "patrols": r["patrols"],
                "share": _share(r["patrols"], held),
            }
            for r in themes
        ],
    }


def evaluation(session: Session, *, boroughs: tuple[str, ...], period: Period) -> dict[str, Any]:
    """Every figure of the evaluation for ``boroughs`` in ``period``.

    Parameters
    ----------
    session : Session
        The caller's transaction.
    boroughs : tuple of str
        The supervisor's boroughs (or some of them).
    period : Period
        Months of the walks counted. The open safeguarding flags are listed whatever the
        period: a flag left open is work to do now, however old the walk.

    Returns
    -------
    dict
        Sections ``walks``, ``walks_per_ward_month``, ``wards_without_walks``,
        ``officers_without_walks``, ``darkness``, ``cut_short``, ``buddy_answers``,
        ``officer_surveys``, ``safeguarding`` and ``patrols`` (walks without a buddy, which
        no other section counts: :func:`patrols`); shares are fractions (0 to 1) with the
        counts they come from, means are on the surveys' 1 to 5 scales.

    """
    active = require_active_ward_set(session)
    walked, params = _walked(boroughs, period)
    params = {**params, "set_id": active.id, "minutes": SCHEME_MINUTES}
    where, _ = period.where()

    summary = _one(
        session,
        f"WITH {walked} SELECT count(*) AS walks, count(DISTINCT buddy_id) AS buddies_reached, "
        "count(DISTINCT officer_id) AS officers_walking, count(DISTINCT ward_code) AS wards, "
        "count(*) FILTER (WHERE synthetic) AS synthetic_walks, "
        "count(dark_share) AS with_route, avg(dark_share) AS mean_dark_share, "
        "count(dark_at_start) AS dark_known, count(*) FILTER (WHERE dark_at_start) AS dark_start, "
        "count(*) FILTER (WHERE minutes < :minutes) AS cut_short FROM walked",
        params,
    )
    not_closed = _one(
        session,
        "SELECT count(*) AS not_closed, count(*) FILTER (WHERE w.planned_start > now()) AS "
        "upcoming FROM walks w WHERE w.borough_code = ANY(:boroughs) AND w.closed_at IS NULL "
        f"AND w.kind <> 'patrol' AND {where}",
        params,
    )
    per_ward_month = _rows(
        session,
        f"WITH {walked} SELECT k.ward_code, coalesce(wd.name, k.ward_code) AS ward_name, "
        "k.month, count(*) AS walks FROM walked k LEFT JOIN wards wd "
        "ON wd.ward_set_id = :set_id AND wd.code = k.ward_code "
        "GROUP BY k.ward_code, wd.name, k.month ORDER BY ward_name, k.month",
        params,
    )
    wards_without = _rows(
        session,
        f"WITH {walked} SELECT wd.code AS ward_code, wd.name AS ward_name, wd.borough_code, "
        "wd.borough_name FROM wards wd WHERE wd.ward_set_id = :set_id "
        "AND wd.borough_code = ANY(:boroughs) "
        "AND NOT EXISTS (SELECT FROM walked k WHERE k.ward_code = wd.code) "
        "ORDER BY wd.borough_name, wd.name",
        params,
    )
    officers_without = _rows(
        session,
        f"WITH {walked} SELECT o.id, o.name, o.shoulder_number, o.ward_codes, o.synthetic "
        "FROM officers o WHERE o.borough_codes && CAST(:boroughs AS text[]) "
        "AND NOT EXISTS (SELECT FROM walked k WHERE k.officer_id = o.id) ORDER BY o.name",
        params,
    )
    cut_short = _rows(
        session,
        f"WITH {walked} SELECT k.id AS walk_id, k.ward_code, coalesce(wd.name, k.ward_code) "
        "AS ward_name, k.actual_start, round(k.minutes)::int AS minutes, k.synthetic "
        "FROM walked k LEFT JOIN wards wd ON wd.ward_set_id = :set_id AND wd.code = k.ward_code "
        "WHERE k.minutes < :minutes ORDER BY k.actual_start",
        params,
    )
    buddy = _one(
        session,
        f"WITH {walked} SELECT count(*) AS surveys, avg(b.police_confidence) AS confidence, "
        "count(*) FILTER (WHERE b.would_recommend) AS recommend, "
        "count(k.baseline_safety) AS paired, avg(k.baseline_safety) AS before, "
        "avg(b.felt_safer) FILTER (WHERE k.baseline_safety IS NOT NULL) AS after, "
        "count(*) FILTER (WHERE b.felt_safer > k.baseline_safety) AS safer, "
        "count(*) FILTER (WHERE b.felt_safer = k.baseline_safety) AS same, "
        "count(*) FILTER (WHERE b.felt_safer < k.baseline_safety) AS less_safe "
        "FROM walked k JOIN buddy_surveys b ON b.walk_id = k.id",
        params,
    )
    officer = _one(
        session,
        f"WITH {walked} SELECT count(*) AS surveys, avg(s.walk_useful) AS useful, "
        "count(*) FILTER (WHERE s.follow_up_walk) AS follow_up, "
        "count(*) FILTER (WHERE cardinality(s.actions) > 0) AS with_actions "
        "FROM walked k JOIN officer_surveys s ON s.walk_id = k.id",
        params,
    )
    actions = {
        r["action"]: r["surveys"]
        for r in _rows(
            session,
            f"WITH {walked} SELECT a.action, count(*) AS surveys FROM walked k "
            "JOIN officer_surveys s ON s.walk_id = k.id CROSS JOIN unnest(s.actions) AS a(action) "
            "GROUP BY a.action",
            params,
        )
    }
    disclosures = _one(
        session,
        f"WITH {walked} SELECT count(*) FILTER (WHERE g.disclosed) AS disclosed "
        "FROM walked k JOIN safeguarding g ON g.walk_id = k.id",
        params,
    )["disclosed"]
    flags = _rows(
        session,
        "SELECT g.walk_id, w.ward_code, coalesce(wd.name, w.ward_code) AS ward_name, "
        "coalesce(w.actual_start, w.planned_start) AS walked_at, g.due_at, "
        "g.reference IS NOT NULL AS has_reference, "
        "(g.reference IS NULL AND g.due_at < now()) AS overdue, w.synthetic "
        "FROM safeguarding g JOIN walks w ON w.id = g.walk_id "
        "LEFT JOIN wards wd ON wd.ward_set_id = :set_id AND wd.code = w.ward_code "
        "WHERE g.disclosed AND g.reviewed_at IS NULL AND g.borough_code = ANY(:boroughs) "
        "ORDER BY overdue DESC, g.due_at",
        params,
    )
    for flag in flags:
        flag["state"] = (
            "overdue: no report reference by the deadline"
            if flag["overdue"]
            else "reference given, awaiting review"
            if flag["has_reference"]
            else "awaiting the report reference"
        )

    names = borough_codes(session)
    walks = summary["walks"]
    return {
        "boroughs": list(boroughs),
        "borough_names": [names.get(code, code) for code in boroughs],
        "period": {
            "month_from": period.month_from.strftime("%Y-%m") if period.month_from else None,
            "month_to": period.month_to.strftime("%Y-%m") if period.month_to else None,
            "described": period.describe(),
        },
        "walks": {
            "walked": walks,
            "buddies_reached": summary["buddies_reached"],
            "officers_walking": summary["officers_walking"],
            "wards_with_walks": summary["wards"],
            "synthetic_walks": summary["synthetic_walks"],
            "not_closed": not_closed["not_closed"],
            "upcoming": not_closed["upcoming"],
        },
        "walks_per_ward_month": [
            {**r, "month": r["month"].strftime("%Y-%m")} for r in per_ward_month
        ],
        "wards_without_walks": wards_without,
        "officers_without_walks": officers_without,
        "darkness": {
            "walks_with_route": summary["with_route"],
            "mean_dark_share": _mean(summary["mean_dark_share"]),
            "walks_dark_known": summary["dark_known"],
            "dark_at_start": summary["dark_start"],
            "dark_at_start_share": _share(summary["dark_start"], summary["dark_known"]),
        },
        "cut_short": {
            "minutes": SCHEME_MINUTES,
            "walks": summary["cut_short"],
            "share": _share(summary["cut_short"], walks),
            "list": cut_short,
        },
        "buddy_answers": {
            "surveys": buddy["surveys"],
            "paired": buddy["paired"],
            "mean_before": _mean(buddy["before"]),
            "mean_after": _mean(buddy["after"]),
            "felt_safer": buddy["safer"],
            "felt_the_same": buddy["same"],
            "felt_less_safe": buddy["less_safe"],
            "felt_safer_share": _share(buddy["safer"], buddy["paired"]),
            "mean_police_confidence": _mean(buddy["confidence"]),
            "would_recommend": buddy["recommend"],
            "would_recommend_share": _share(buddy["recommend"], buddy["surveys"]),
        },
        "officer_surveys": {
            "surveys": officer["surveys"],
            "mean_usefulness": _mean(officer["useful"]),
            "with_actions": officer["with_actions"],
            "actions": [
                {"action": a.slug, "label": a.label, "surveys": actions.get(a.slug, 0)}
                for a in ACTIONS
            ],
            "follow_up_walks": officer["follow_up"],
            "follow_up_share": _share(officer["follow_up"], officer["surveys"]),
        },
        "safeguarding": {
            "disclosures_in_period": disclosures,
            "open": len(flags),
            "overdue": sum(1 for f in flags if f["overdue"]),
            "open_flags": flags,
        },
        "patrols": patrols(session, boroughs=boroughs, period=period),
    }
