"""The share of suppressed theme cells on demo data, before and after the coarse defaults.

Demo-like data: what ``walktalk demo seed`` stores (5,000 synthetic reports over the last year,
40 walks with their concerns and surveys), counted for a Lambeth partner (k = 10, rounding to
5) over the default twelve months. Run with ``-s`` to see the figures.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy.orm import Session

from geo.disclosure import DisclosureRule
from service.queries import demo, themes
from service.queries.aggregates import AggregateFilter
from service.queries.demo_walks import seed_walks

LAMBETH = "E09000022"
RULE = DisclosureRule(k=10, base=5)


def suppressed_shares(session: Session, cut: themes.Cut) -> dict[str, float]:
    """The share of a Lambeth partner's cells that are suppressed, by kind and overall."""
    counted = themes.theme_counts(session, AggregateFilter((LAMBETH,)), cut=cut, today=date.today())
    shown = themes.protect_counts(counted.counts, RULE)
    shares = shown.groupby("kind")["suppressed"].mean().round(3).to_dict()
    return {**shares, "all": round(float(shown["suppressed"].mean()), 3)}


def test_on_demo_data_the_default_cut_shows_most_report_cells(db: Session) -> None:
    """The measurement behind the defaults, on what ``walktalk demo seed`` makes."""
    seed_walks(db, key=b"d" * 32, count=40, seed=3, streets=None)
    demo.seed_reports(db, 5000, seed=7)
    shares = {
        name: suppressed_shares(db, cut)
        for name, cut in {
            "month, ward, category (before)": themes.Cut(),
            "quarter, ward, group": themes.Cut("quarter", "ward", "group"),
            "quarter, borough, category": themes.Cut("quarter", "borough", "category"),
            "quarter, borough, group (default)": themes.DEFAULT_CUT,
        }.items()
    }
    for name, by_kind in shares.items():
        print(f"suppressed share, {name}: {by_kind}")
    before = shares["month, ward, category (before)"]
    after = shares["quarter, borough, group (default)"]
    # Reports: almost every cell was suppressed; now almost none is.
    assert before["reports"] > 0.9 and after["reports"] < 0.1
    # Forty walks a year cannot fill cells of k for walk concerns and survey themes at any
    # cut offered: those stay suppressed (said in the report, not hidden by the measure).
    assert after["all"] < before["all"]
