"""The short method note that goes with every aggregate: on its page and in its exports.

A count of reports is easily misread as a count of crimes, or as exact. The note says what a
report is, how counts were protected, which period and filters they cover, and what data is in.
The period is always stated, in months, even when no month was asked for: a funding bid quotes
"January 2025 to November 2026", never "all time".
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy.orm import Session

from geo.disclosure import DisclosureRule
from service.queries.aggregates import AggregateFilter, months_held

WHAT_A_REPORT_IS = (
    "A report is a place where someone told us they felt unsafe, with why and when: a feeling, "
    "not a crime, and not checked as fact. Counts show where people feel unsafe, not how much "
    "crime there is."
)


@dataclass(frozen=True)
class Period:
    """The months an aggregate covers, and how they were chosen (for the note's words)."""

    first: date | None
    last: date | None
    basis: str

    def sentence(self) -> str:
        """The note's period sentence.

        Examples
        --------
        >>> Period(date(2025, 1, 1), date(2026, 11, 1), "all reports held").sentence()
        'Period: January 2025 to November 2026 (all reports held).'

        """
        if self.first is None or self.last is None:
            return f"Period: {self.basis}."
        return f"Period: {self.first:%B %Y} to {self.last:%B %Y} ({self.basis})."


def period_of(selection: AggregateFilter, held: tuple[date, date] | None) -> Period:
    """The period counted: the months asked for, an open end closed by the reports held.

    Parameters
    ----------
    selection : AggregateFilter
        Its ``month_from`` and ``month_to`` are what was asked for (either may be None).
    held : (date, date) or None
        The first and last month of the published reports held in the selection's boroughs
        (:func:`service.queries.aggregates.months_held`), None when there are none.

    Examples
    --------
    >>> borough = ("E09000022",)
    >>> period_of(AggregateFilter(borough), (date(2025, 1, 1), date(2026, 11, 1))).sentence()
    'Period: January 2025 to November 2026 (all reports held).'
    >>> period_of(AggregateFilter(borough, month_from=date(2026, 3, 1)),
    ...     (date(2025, 1, 1), date(2026, 11, 1))).sentence()
    'Period: March 2026 to November 2026 (from the month asked for to the latest report held).'

    """
    first, last = selection.month_from, selection.month_to
    if first is not None and last is not None:
        return Period(first, last, "the months asked for")
    if first is None and last is None:
        if held is None:
            return Period(None, None, "all reports held, and none are held yet")
        return Period(held[0], held[1], "all reports held")
    if first is not None:
        if held is None or held[1] < first:
            return Period(None, None, f"from {first:%B %Y}; no reports are held since")
        return Period(first, held[1], "from the month asked for to the latest report held")
    assert last is not None
    if held is None or held[0] > last:
        return Period(None, None, f"up to {last:%B %Y}; no reports are held before it")
    return Period(held[0], last, "from the earliest report held to the month asked for")


def period_for(session: Session, selection: AggregateFilter) -> Period:
    """The period an aggregate of ``selection`` covers, open ends closed by the reports held."""
    return period_of(selection, months_held(session, selection.boroughs))


def method_note(
    selection: AggregateFilter,
    rule: DisclosureRule | None,
    *,
    unit: str,
    synthetic_included: bool,
    period: Period,
) -> list[str]:
    """The note's sentences, in order.

    Parameters
    ----------
    selection : AggregateFilter
        What was counted.
    rule : DisclosureRule or None
        How counts were protected; None for the exact counts supervisors see.
    unit : str
        What was counted in, e.g. ``"250 m hexagons"`` or ``"wards (pilot-2024)"``.
    synthetic_included : bool
        Whether flagged synthetic demo reports are among those counted.
    period : Period
        The months counted (:func:`period_for`); always stated, second in the note.

    """
    note = [WHAT_A_REPORT_IS, period.sentence(), f"Counted in {unit}; published reports only."]
    note.append(
        f"Disclosure control: {rule.describe()}." if rule else "Exact counts (supervisor view)."
    )
    note.append("Filters: " + "; ".join(selection.describe()) + ".")
    if synthetic_included:
        note.append(
            "Includes synthetic demo reports (source 'synthetic'): not real people's reports."
        )
    return note
