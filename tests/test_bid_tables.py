"""The wide CSV, the borough breakdowns and the period sentence, as pure functions (no database).

The API tests (``test_bid_exports.py``) read the files the routes write; these pin down the
rules on frames made by hand: what is blank, what is named as suppressed, how a column no one
planned for is headed, how an open period is closed.
"""

from __future__ import annotations

import csv
import doctest
import io
from datetime import date
from types import ModuleType

import numpy as np
import pandas as pd
import pytest

import service.exports
import service.method_note
import service.summary_tables
from geo.disclosure import DisclosureRule
from service.exports import SUPPRESSED_CELLS, heading, suppression_flag, wide_csv
from service.method_note import period_of
from service.queries.aggregates import AggregateFilter
from service.summary_tables import BREAKDOWNS, protect_breakdowns

LAMBETH = ("E09000022",)


@pytest.mark.parametrize("module", [service.exports, service.method_note, service.summary_tables])
def test_the_examples_in_the_docstrings_hold(module: ModuleType) -> None:
    result = doctest.testmod(module)
    assert result.attempted >= 1 and result.failed == 0


def _rows(body: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(body.decode())))


def test_a_suppressed_cell_is_empty_and_named_even_if_its_maker_left_a_value() -> None:
    frame = pd.DataFrame(
        {
            "ward_code": ["A", "B"],
            "area_km2": [2.0, 1.5],
            "count": pd.array([25, None], dtype="Int64"),
            "suppressed": [False, True],
            # A rate someone forgot to blank for the suppressed ward: it must not show.
            "reports_per_1000_women": [3.2, 7.7],
            "walks": pd.array([None, 10], dtype="Int64"),
            "walks_suppressed": [True, False],
        }
    )
    rows = _rows(wide_csv(frame, names=("ward_code",), headings={"count": "Reports"}, notes="N"))
    assert list(rows[0]) == [
        "Ward code",
        "Area km²",
        "Reports",
        "Reports per 1,000 women",
        "Walks",
        SUPPRESSED_CELLS,
        "Notes",
    ]
    a, b = rows
    assert (a["Reports"], a["Reports per 1,000 women"], a["Walks"]) == ("25", "3.2", "")
    assert a[SUPPRESSED_CELLS] == "Walks"
    assert (b["Reports"], b["Reports per 1,000 women"], b["Walks"]) == ("", "", "10")
    assert b[SUPPRESSED_CELLS] == "Reports; Reports per 1,000 women"
    # The area is a fact of the ward, not a count: shown for the suppressed ward too.
    assert b["Area km²"] == "1.5"
    assert (a["Notes"], b["Notes"]) == ("N", "")


def test_an_exact_table_marks_nothing_and_keeps_its_zeros() -> None:
    frame = pd.DataFrame(
        {
            "ward_code": ["A"],
            "count": pd.array([0], dtype="Int64"),
            "suppressed": [False],
            "dark_share": [np.nan],
            "dark_suppressed": [False],
        }
    )
    (row,) = _rows(wide_csv(frame, names=("ward_code",), headings={}, notes=""))
    assert row["Count"] == "0"
    # A share of no reports has no value, and is not called suppressed.
    assert row["Dark share"] == "" and row[SUPPRESSED_CELLS] == ""


def test_columns_are_headed_in_words() -> None:
    assert heading("reports_per_1000_residents", {}) == "Reports per 1,000 residents"
    assert heading("rate_per_km2", {}) == "Rate per km²"
    flags = ["suppressed", "dark_suppressed", "reports_after_dark_suppressed"]
    assert suppression_flag("reports_after_dark", flags) == "reports_after_dark_suppressed"
    assert suppression_flag("dark_share", flags) == "dark_suppressed"
    assert suppression_flag("reports_per_1000_women", flags) == "suppressed"
    assert suppression_flag("anything", []) is None


def test_breakdowns_protect_each_count_on_its_own_zeros_included() -> None:
    exact = pd.DataFrame({"borough_code": ["L", "S"], "dark": [40, 0]})
    categories = pd.DataFrame(
        {
            "borough_code": ["L", "L", "S"],
            "category": ["followed", "isolated", "isolated"],
            "reports": [12, 9, 30],
        }
    )
    bands = pd.DataFrame(
        {"borough_code": ["L", "S"], "time_band": ["night", "evening"], "reports": [52, 30]}
    )
    rule = DisclosureRule(k=10, base=5)
    shown = protect_breakdowns(exact, categories, bands, rule, key="borough_code")
    assert list(shown.columns) == ["borough_code"] + [
        c for b in BREAKDOWNS for c in (b, f"{b}_suppressed")
    ]
    lambeth, southwark = shown.to_dict("records")
    assert (lambeth["reports_after_dark"], lambeth["reports_followed"]) == (40, 10)
    assert pd.isna(lambeth["reports_isolated"]) and lambeth["reports_isolated_suppressed"]
    assert lambeth["reports_night"] == 50 and lambeth["reports_poor_lighting_suppressed"]
    # Zero is suppressed like any small count, so an empty cell and a small one look alike.
    assert pd.isna(southwark["reports_after_dark"]) and southwark["reports_after_dark_suppressed"]
    exact_view = protect_breakdowns(exact, categories, bands, None, key="borough_code")
    assert exact_view.loc[1, "reports_after_dark"] == 0
    assert exact_view.loc[0, "reports_isolated"] == 9


@pytest.mark.parametrize(
    ("first", "last", "held", "sentence"),
    [
        (None, None, None, "Period: all reports held, and none are held yet."),
        (
            date(2026, 3, 1),
            None,
            (date(2025, 1, 1), date(2026, 2, 1)),
            "Period: from March 2026; no reports are held since.",
        ),
        (
            None,
            date(2025, 6, 1),
            (date(2025, 1, 1), date(2026, 2, 1)),
            "Period: January 2025 to June 2025 (from the earliest report held to the month "
            "asked for).",
        ),
        (
            date(2024, 1, 1),
            date(2024, 12, 1),
            None,
            "Period: January 2024 to December 2024 (the months asked for).",
        ),
    ],
)
def test_the_period_sentence(
    first: date | None,
    last: date | None,
    held: tuple[date, date] | None,
    sentence: str,
) -> None:
    selection = AggregateFilter(LAMBETH, month_from=first, month_to=last)
    assert period_of(selection, held).sentence() == sentence
