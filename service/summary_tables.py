"""Bid-ready tables of the ward summary: one row per ward with every measure, borough totals.

Partners quote these in funding bids. Beside what the ward summary shows (reports, their rate,
share after dark, walks, concerns, and any rate columns it gains), a bid asks for counts the
summary only ranks: reports after dark, per category and per time of day. Each of those is a
count of its own and is protected on its own with the caller's rule (``geo.disclosure``).

Borough totals are summed from the *exact* ward figures and then protected with the same
rule, as one unit each. Summing the protected ward figures instead would add up every ward's
rounding and leave out every suppressed ward, so a borough total would understate; rounding
the exact total keeps it within ``base / 2`` of the truth, and, as for any two overlapping
units, the difference between a borough and its shown wards bounds the suppressed wards
only to within the rounding of every term.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from sqlalchemy.orm import Session

from geo.disclosure import DisclosureRule, protect
from geo.reports import TIME_BANDS
from service.exports import wide_csv
from service.method_note import period_for
from service.queries import summaries
from service.queries.aggregates import AggregateFilter, ward_time_bands
from service.queries.wards import require_active_ward_set
from service.taxonomy import CATEGORIES

WARD_NAMES = ("ward_code", "ward_name", "borough_code", "borough_name")
#: Measures of the unit itself, never suppressed with its counts (``service.exports.wide_csv``).
UNIT_FACTS = ("area_km2", "residents", "women")
BOROUGH_NAMES = ("borough_code", "borough_name")

#: The hours of each time band (``service.queries.aggregates.band_of_hour``), for headings.
TIME_BAND_HOURS = {
    "early_morning": "05:00-07:59",
    "daytime": "08:00-16:59",
    "evening": "17:00-21:59",
    "night": "22:00-04:59",
}

#: Counts a bid asks for that the ward summary does not show, one column each.
BREAKDOWNS = (
    "reports_after_dark",
    *(f"reports_{category.slug}" for category in CATEGORIES),
    *(f"reports_{band}" for band in TIME_BANDS),
)

#: Column headings a spreadsheet user reads; other measure columns are headed from their names
#: (``service.exports.heading``), so columns added to the summary later appear too.
HEADINGS: dict[str, str] = {
    "level": "Level",
    "ward_code": "Ward code",
    "ward_name": "Ward name",
    "borough_code": "Borough code",
    "borough_name": "Borough name",
    "area_km2": "Area (km²)",
    "count": "Reports",
    "rate_per_km2": "Reports per km²",
    "reports_after_dark": "Reports after dark",
    "dark_share": "Share of reports after dark (0 to 1)",
    **{f"reports_{c.slug}": f"Reports: {c.label}" for c in CATEGORIES},
    **{
        f"reports_{band}": f"Reports in the {band.replace('_', ' ')} ({hours})"
        for band, hours in TIME_BAND_HOURS.items()
    },
    "walks": "Walks held",
    "concerns": "Concerns raised on walks",
}

#: Sentences added to the method note of the bid-ready tables.
TABLES_NOTE = (
    "Category counts count a report naming two categories in each; time-of-day counts use the "
    "band given, or that of the exact time reported.",
    "Borough totals are counted from the exact ward figures and protected as one unit each, so "
    "they need not equal the sum of the wards shown (that sum leaves out suppressed wards and "
    "adds up their rounding).",
)
#: Sentences added to the note of a wide CSV.
WIDE_NOTE = (
    "Wide layout: one row per ward, one column per measure; borough totals follow the wards, "
    "marked 'Borough total' in the Level column.",
    "An empty cell is suppressed when the row's 'Suppressed (empty) cells' column names it; "
    "otherwise it has no value (such as the share after dark of no reports).",
)


@dataclass(frozen=True)
class BidTables:
    """Protected figures per ward and per borough, one column per measure."""

    wards: pd.DataFrame
    boroughs: pd.DataFrame


def _whole(values: np.ndarray) -> pd.api.extensions.ExtensionArray:
    """Shown counts as nullable integers (NaN, i.e. suppressed, becomes NA)."""
    return pd.Series(values).round().astype("Int64").array


def _per_unit(frame: pd.DataFrame, units: pd.Series, *, key: str, column: str) -> pd.DataFrame:
    """Exact ``reports`` per unit (rows, in ``units`` order) and value of ``column``, 0 filled."""
    table = frame.pivot_table(
        index=key, columns=column, values="reports", aggfunc="sum", fill_value=0
    )
    return table.reindex(index=units.to_numpy(), fill_value=0)


def protect_breakdowns(
    exact: pd.DataFrame,
    categories: pd.DataFrame,
    bands: pd.DataFrame,
    rule: DisclosureRule | None,
    *,
    key: str,
) -> pd.DataFrame:
    """Reports after dark, per category and per time band, protected one count at a time.

    Parameters
    ----------
    exact : DataFrame
        One row per unit: ``key`` and ``dark`` (exact reports after dark).
    categories, bands : DataFrame
        ``key, category, reports`` and ``key, time_band, reports``, exact, pairs with reports.
    rule : DisclosureRule or None
        None for exact figures (supervisors).
    key : str
        The unit's identifying column.

    Returns
    -------
    DataFrame
        ``key``, then each of :data:`BREAKDOWNS` as a nullable integer with its
        ``*_suppressed`` flag; a unit's zero is a count like any other (suppressed under a rule).

    Examples
    --------
    >>> exact = pd.DataFrame({"ward_code": ["A", "B"], "dark": [12, 3]})
    >>> cats = pd.DataFrame({"ward_code": ["A"], "category": ["isolated"], "reports": [23]})
    >>> bands = pd.DataFrame({"ward_code": ["B"], "time_band": ["night"], "reports": [11]})
    >>> shown = protect_breakdowns(exact, cats, bands, DisclosureRule(), key="ward_code")
    >>> shown["reports_isolated"].tolist(), shown["reports_night"].tolist()
    ([25, <NA>], [<NA>, 10])

    """
    units = exact[key].reset_index(drop=True)
    by_category = _per_unit(categories, units, key=key, column="category")
    by_band = _per_unit(bands, units, key=key, column="time_band")
    counts: dict[str, np.ndarray] = {"reports_after_dark": exact["dark"].to_numpy()}
    for category in CATEGORIES:
        column = by_category.get(category.slug)
        counts[f"reports_{category.slug}"] = (
            np.zeros(len(units)) if column is None else column.to_numpy()
        )
    for band in TIME_BANDS:
        column = by_band.get(band)
        counts[f"reports_{band}"] = np.zeros(len(units)) if column is None else column.to_numpy()
    out = pd.DataFrame({key: units})
    for name, values in counts.items():
        shown, suppressed = protect(values, rule)
        out[name] = _whole(shown)
        out[f"{name}_suppressed"] = suppressed
    return out


def bid_tables(
    session: Session,
    selection: AggregateFilter,
    rule: DisclosureRule | None,
    *,
    wards_shown: pd.DataFrame | None = None,
) -> BidTables:
    """The ward summary's figures with the bid's extra counts, and borough totals.

    Parameters
    ----------
    session : Session
        Where the exact figures are counted.
    selection : AggregateFilter
        What is counted (the same as for ``wards_shown``).
    rule : DisclosureRule or None
        The caller's disclosure rule; None for exact figures (supervisors).
    wards_shown : DataFrame, optional
        The ward summary as the caller sees it, if already at hand (its geometry is dropped):
        its every column is kept, so measures added to the summary appear in the tables too.

    """
    exact, categories = summaries.ward_figures(session, selection)
    exact = pd.DataFrame(exact.drop(columns="geometry"))
    if wards_shown is None:
        wards_shown = summaries.protect_summary(exact, categories, rule)
    wards_shown = pd.DataFrame(wards_shown.drop(columns="geometry", errors="ignore"))
    bands = ward_time_bands(session, selection)
    wards = wards_shown.merge(
        protect_breakdowns(exact, categories, bands, rule, key="ward_code"),
        on="ward_code",
        how="left",
        validate="one_to_one",
    )

    borough_of = exact.set_index("ward_code")["borough_code"]
    additive = [c for c in exact.select_dtypes("number").columns if c not in BOROUGH_NAMES]
    # min_count: a total of nothing known (no population loaded) stays unknown, not 0.
    totals = exact.groupby(list(BOROUGH_NAMES), as_index=False, sort=True)[additive].sum(
        min_count=1
    )

    def per_borough(frame: pd.DataFrame, column: str) -> pd.DataFrame:
        frame = frame.assign(borough_code=frame["ward_code"].map(borough_of))
        return frame.groupby(["borough_code", column], as_index=False)["reports"].sum()

    borough_categories = per_borough(categories, "category")
    shown = summaries.protect_summary(totals, borough_categories, rule, key="borough_code")
    boroughs = shown.merge(
        protect_breakdowns(
            totals, borough_categories, per_borough(bands, "time_band"), rule, key="borough_code"
        ),
        on="borough_code",
        how="left",
        validate="one_to_one",
    )
    return BidTables(wards=wards, boroughs=boroughs)


def wide_layout(tables: BidTables, *, with_wards: bool = True) -> pd.DataFrame:
    """Ward rows, then borough-total rows, in one frame with a ``level`` column first.

    Measure columns keep their names here; :func:`service.exports.wide_csv` heads them in
    words. The top-category columns are left out: the per-category counts say more.
    """
    parts = []
    if with_wards:
        parts.append(tables.wards.assign(level="Ward"))
    parts.append(
        tables.boroughs.assign(level="Borough total", ward_code="", ward_name="Borough total")
    )
    frame = pd.concat(parts, ignore_index=True)
    frame = frame.drop(columns=[c for c in frame.columns if c.startswith("top_category_")])
    return frame[["level", *WARD_NAMES, *_measure_order(frame)]]


def _measure_order(frame: pd.DataFrame) -> list[str]:
    """Every other column, the bid's extra counts placed beside what they break down."""
    rest = [c for c in frame.columns if c not in ("level", *WARD_NAMES)]
    extra = [c for c in rest if c.removesuffix("_suppressed") in BREAKDOWNS]
    ordered = [c for c in rest if c not in extra]
    dark = ["reports_after_dark", "reports_after_dark_suppressed"]
    others = [c for c in extra if c not in dark]
    at = ordered.index("dark_share") if "dark_share" in ordered else len(ordered)
    ordered[at:at] = dark
    at = ordered.index("walks") if "walks" in ordered else len(ordered)
    ordered[at:at] = others
    return ordered


def ward_wide_csv(
    session: Session,
    selection: AggregateFilter,
    rule: DisclosureRule | None,
    *,
    wards_shown: pd.DataFrame,
    note: list[str],
) -> bytes:
    """The ward summary as a wide CSV: a row per ward, then a borough-total row per borough.

    ``wards_shown`` and ``note`` are the ward summary's, as the caller sees them.
    """
    tables = bid_tables(session, selection, rule, wards_shown=wards_shown)
    return wide_csv(
        wide_layout(tables),
        names=("level", *WARD_NAMES),
        headings=HEADINGS,
        notes=" ".join([*note, *TABLES_NOTE, *WIDE_NOTE]),
        facts=UNIT_FACTS,
    )


@dataclass(frozen=True)
class BoroughSummary:
    """Protected figures per borough in scope, and their method note."""

    boroughs: pd.DataFrame
    note: list[str]


def borough_summary(
    session: Session, selection: AggregateFilter, rule: DisclosureRule | None
) -> BoroughSummary:
    """Borough totals of the ward summary's figures, protected as one unit per borough."""
    active = require_active_ward_set(session)
    note = summaries.summary_note(
        selection,
        rule,
        unit=f"boroughs, as totals of their wards ({active.name})",
        synthetic=summaries.synthetic_counted(session, selection),
        period=period_for(session, selection),
    )
    return BoroughSummary(bid_tables(session, selection, rule).boroughs, [*note, *TABLES_NOTE])


def borough_csv(summary: BoroughSummary) -> bytes:
    """The borough summary as a wide CSV: one row per borough, one column per measure."""
    frame = wide_layout(
        BidTables(wards=summary.boroughs.iloc[:0], boroughs=summary.boroughs), with_wards=False
    )
    frame = frame.drop(columns=["ward_code", "ward_name"])
    return wide_csv(
        frame,
        names=("level", *BOROUGH_NAMES),
        headings=HEADINGS,
        notes=" ".join([*summary.note, WIDE_NOTE[1]]),
        facts=UNIT_FACTS,
    )
