"""Charts as PNG images: the recurring themes over time.

Drawn with matplotlib's object API on the Agg canvas: no display, no pyplot state shared
between requests, so two charts drawn at once in the service's threads cannot mix.
"""

from __future__ import annotations

import io
import textwrap
from collections.abc import Mapping, Sequence
from datetime import date

import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

__all__ = ["CATEGORY_COLOURS", "themes_chart", "top_category_series"]

#: One colour per category, the same in every panel and every chart: Okabe and Ito's
#: colour-blind-safe eight, then four more that stay apart from them.
CATEGORY_COLOURS: dict[str, str] = dict(
    zip(
        (
            "poor_lighting",
            "isolated",
            "hidden_corners",
            "loitering",
            "verbal_harassment",
            "followed",
            "no_cctv",
            "underpass_alley_park_path",
            "bus_stop_station",
            "neglected",
            "drug_alcohol_use",
            "other",
        ),
        (
            "#E69F00",
            "#56B4E9",
            "#009E73",
            "#D55E00",
            "#CC79A7",
            "#0072B2",
            "#000000",
            "#8C6D31",
            "#7F7F7F",
            "#6A3D9A",
            "#B2182B",
            "#BBBBBB",
        ),
        strict=True,
    )
)
_MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*")


def top_category_series(counts: pd.DataFrame, *, top: int = 5) -> pd.DataFrame:
    """Monthly totals of each kind's top categories, from the counts as the viewer sees them.

    Parameters
    ----------
    counts : pandas.DataFrame
        Columns ``kind``, ``month``, ``category`` and ``count``, one row per cell (e.g. per
        ward), with ``count`` NaN where the cell was suppressed.
    top : int
        How many categories to keep per kind: those with the largest totals (ties go to the
        slug first in the alphabet). Categories with nothing shown are left out.

    Returns
    -------
    pandas.DataFrame
        Columns ``kind, month, category, count``: every month of ``counts`` for each kept
        category, the cells summed. A suppressed cell adds nothing, so for protected viewers
        a total is a lower bound and never reveals what was suppressed.

    Examples
    --------
    >>> cells = pd.DataFrame({
    ...     "kind": ["reports"] * 4, "month": ["2026-01", "2026-01", "2026-02", "2026-02"],
    ...     "category": ["isolated", "isolated", "isolated", "other"],
    ...     "count": [10.0, float("nan"), 15.0, float("nan")]})
    >>> top_category_series(cells).to_dict("list")["count"]
    [10.0, 15.0]

    """
    if top < 1:
        raise ValueError(f"top must be at least 1, not {top}")
    shown = counts.assign(count=counts["count"].fillna(0.0).astype("float64"))
    months = sorted(shown["month"].unique())
    pieces = []
    for kind, cells in shown.groupby("kind", sort=False):
        totals = cells.groupby("category")["count"].sum()
        totals = totals[totals > 0]
        kept = sorted(totals.index, key=lambda c: (-totals[c], c))[:top]
        if not kept:
            continue
        monthly = (
            cells[cells["category"].isin(kept)]
            .groupby(["category", "month"])["count"]
            .sum()
            .reindex(pd.MultiIndex.from_product([kept, months], names=["category", "month"]))
            .fillna(0.0)
            .reset_index()
        )
        pieces.append(monthly.assign(kind=kind))
    if not pieces:
        return pd.DataFrame({"kind": [], "month": [], "category": [], "count": []})
    return pd.concat(pieces, ignore_index=True)[["kind", "month", "category", "count"]]


def _month_labels(months: Sequence[date]) -> list[str]:
    # The year only where it changes, so twelve ticks stay short enough to read level.
    labels, year = [], None
    for month in months:
        labels.append(month.strftime("%b") + (f"\n{month.year}" if month.year != year else ""))
        year = month.year
    return labels


def themes_chart(
    series: pd.DataFrame,
    *,
    months: Sequence[date],
    kinds: Sequence[str],
    kind_labels: Mapping[str, str],
    category_labels: Mapping[str, str],
    title: str,
    subtitle: str,
    footnote: str,
    empty_reason: str = "nothing to show for these filters",
) -> bytes:
    """A PNG of monthly lines, one panel per kind of source, each with its top categories.

    Parameters
    ----------
    series : pandas.DataFrame
        What :func:`top_category_series` returns; ``month`` values among ``months``.
    months : sequence of datetime.date
        The x axis: every month of the period, in order.
    kinds : sequence of str
        The panels, top to bottom (a kind with no series gets a panel that says so).
    kind_labels, category_labels : mapping
        What people read for each kind and category slug.
    title, subtitle, footnote : str
        The heading, the filters under it, and the disclosure rule at the foot.
    empty_reason : str
        Said in a panel with nothing to draw.

    Returns
    -------
    bytes
        The PNG file, 1,100 pixels wide.

    """
    if not kinds:
        raise ValueError("a themes chart needs at least one kind of source")
    positions = np.arange(len(months))
    # Panels shrink a little past three kinds, so the chart still fits a screen (10 in).
    height = 1.6 + min(2.5, 8.0 / len(kinds)) * len(kinds)
    figure = Figure(figsize=(11, height), dpi=100)
    FigureCanvasAgg(figure)
    axes = figure.subplots(len(kinds), 1, sharex=True, squeeze=False)[:, 0]
    index = {month: i for i, month in enumerate(months)}
    for ax, kind in zip(axes, kinds, strict=True):
        drawn = series[series["kind"] == kind]
        for number, (category, lines) in enumerate(drawn.groupby("category", sort=False)):
            lines = lines.sort_values("month")
            ax.plot(
                [index[m] for m in lines["month"]],
                lines["count"].to_numpy(),
                color=CATEGORY_COLOURS.get(str(category), "#444444"),
                marker=_MARKERS[number % len(_MARKERS)],
                linewidth=2,
                markersize=5,
                # Wrapped: the longest label would otherwise run off the image.
                label=textwrap.fill(category_labels.get(str(category), str(category)), 30),
            )
        ax.set_ylabel(kind_labels.get(kind, kind))
        ax.set_ylim(bottom=0)
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))  # counts: no half reports
        ax.grid(axis="y", color="#dddddd", linewidth=0.8)
        ax.spines[["top", "right"]].set_visible(False)
        if drawn.empty:
            ax.set_ylim(0, 1)
            ax.set_yticks([])
            ax.text(
                0.5,
                0.5,
                f"{kind_labels.get(kind, kind)}: {empty_reason}",
                transform=ax.transAxes,
                ha="center",
                va="center",
                color="#555555",
            )
        else:
            ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False, fontsize=9)
    axes[-1].set_xticks(positions, _month_labels(months))
    axes[-1].set_xlabel("Month (reports by the day reported; surveys by the walk's start)")
    if len(months):
        axes[-1].set_xlim(-0.5, len(months) - 0.5)
    figure.suptitle(title, x=0.01, ha="left", fontsize=14, fontweight="bold")
    figure.text(0.01, 1 - 0.62 / height, subtitle, ha="left", fontsize=9.5, color="#333333")
    figure.text(0.01, 0.12 / height, footnote, ha="left", fontsize=8.5, color="#333333", wrap=True)
    figure.subplots_adjust(
        left=0.07, right=0.7, top=1 - 0.95 / height, bottom=1.05 / height, hspace=0.25
    )
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", metadata={"Title": title, "Description": footnote})
    return buffer.getvalue()
