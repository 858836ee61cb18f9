"""The short method note that goes with every aggregate: on its page and in its exports.

A count of reports is easily misread as a count of crimes, or as exact. The note says what a
report is, how counts were protected, which period and filters they cover, and what data is in.
"""

from __future__ import annotations

from geo.disclosure import DisclosureRule
from service.queries.aggregates import AggregateFilter

WHAT_A_REPORT_IS = (
    "A report is a place where someone told us they felt unsafe, with why and when: a feeling, "
    "not a crime, and not checked as fact. Counts show where people feel unsafe, not how much "
    "crime there is."
)


def method_note(
    selection: AggregateFilter,
    rule: DisclosureRule | None,
    *,
    unit: str,
    synthetic_included: bool,
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

    """
    note = [WHAT_A_REPORT_IS, f"Counted in {unit}; published reports only."]
    note.append(
        f"Disclosure control: {rule.describe()}." if rule else "Exact counts (supervisor view)."
    )
    note.append("Filters: " + "; ".join(selection.describe()) + ".")
    if synthetic_included:
        note.append(
            "Includes synthetic demo reports (source 'synthetic'): not real people's reports."
        )
    return note
