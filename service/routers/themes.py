"""Recurring themes over time: category counts by step and area, as JSON, CSV, a chart, a page.

By default the cells are a quarter, a borough and a group of categories (``step``, ``area``
and ``category_level`` ask for months, wards and single categories): the coarse cut keeps most
cells above k, where a month in a ward for one category seldom is.

For every role through the ``Aggregates`` dependency: supervisors see exact counts; everyone
else sees each (month, ward, category, kind) cell protected with their disclosure rule, and
the chart is drawn from those protected counts.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any

import pandas as pd
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from maps.charts import themes_chart, top_category_series
from service import schemas
from service.db import ReadSessionDep
from service.exports import download
from service.method_note import Period, method_note
from service.queries import themes as queries
from service.queries.aggregates import AggregateFilter
from service.queries.wards import require_active_ward_set
from service.routers.aggregate_query import AggregateRequest, Aggregates
from service.taxonomy import CATEGORIES, CATEGORY_GROUPS, GROUP_LABELS, LABELS
from service.web import templates

router = APIRouter(tags=["themes"])
#: Categories drawn per kind of source in the chart (and tabled on the page).
CHART_TOP = 5


def _kinds(
    kind: Annotated[
        list[str] | None,
        Query(
            description="reports, walk_concerns, survey_themes, patrol_themes (any of; "
            "default all)"
        ),
    ] = None,
) -> tuple[str, ...]:
    return queries.check_kinds(kind)


Kinds = Annotated[tuple[str, ...], Depends(_kinds)]
#: Names of categories and of groups of them, for labels.
UNIT_LABELS = {**LABELS, **GROUP_LABELS}


def _cut(
    step: Annotated[
        str, Query(description="time step of a cell: quarter (default) or month")
    ] = "quarter",
    area: Annotated[
        str, Query(description="area of a cell: borough (default) or ward")
    ] = "borough",
    category_level: Annotated[
        str,
        Query(description="group (default: groups of categories) or category (each one)"),
    ] = "group",
) -> queries.Cut:
    return queries.check_cut(step, area, category_level)


CutDep = Annotated[queries.Cut, Depends(_cut)]


@dataclass(frozen=True)
class ThemesAnswer:
    """The counts a caller may see, with what they cover and the note that goes with them."""

    counted: queries.ThemeCounts
    shown: pd.DataFrame
    note: list[str]
    query: AggregateRequest

    @property
    def months(self) -> list[date]:
        """Every month of the period, in order."""
        return sorted(set(self.shown["month"]))

    @property
    def period(self) -> tuple[str, str]:
        """The first and last month covered, as YYYY-MM."""
        return _month(self.counted.first_month), _month(self.counted.last_month)


def _period(asked: AggregateFilter, counted: queries.ThemeCounts) -> Period:
    """The themes' months: those asked for, or the default window (``theme_period``)."""
    if asked.month_from and asked.month_to:
        basis = "the months asked for"
    elif asked.month_from or asked.month_to:
        basis = "the month asked for and the default length of a themes period"
    else:
        basis = f"the latest {queries.DEFAULT_MONTHS} months, as no month was asked for"
    return Period(counted.first_month, counted.last_month, basis)


def _answer(session: ReadSessionDep, query: Aggregates, kinds: Kinds, cut: CutDep) -> ThemesAnswer:
    counted = queries.theme_counts(session, query.selection, kinds=kinds, cut=cut)
    active = require_active_ward_set(session)
    note = method_note(
        counted.selection,
        query.rule,
        unit=cut.describe(active.name),
        synthetic_included=counted.synthetic_included,
        period=_period(query.selection, counted),
    )
    note.insert(
        2,
        "Kinds of source: reports (public, imported and demo reports; a report naming two "
        "categories counts in each), walk concerns (raised on walks), survey themes (walks "
        "whose officer's or buddy's survey names the theme, counted once a walk, by the month "
        "the walk started), and patrol themes (patrols, walks without a buddy, whose record "
        "names the theme, counted once a patrol).",
    )
    if cut.category_level == "group":
        note.append(
            "Category groups: "
            + "; ".join(
                f"{g.label} ({', '.join(LABELS[m] for m in g.members)})" for g in CATEGORY_GROUPS
            )
            + ". A report or walk naming two categories of one group counts once in it."
        )
    if query.selection.sources:
        note.append(
            "Survey and patrol themes have no report source, so a source filter leaves them out."
        )
    elif query.selection.dark_only or query.selection.time_band:
        note.append(
            "For survey and patrol themes, after dark means walks walked at least half in the "
            "dark, and the time of day is that of the walk's start."
        )
    if query.rule is not None:
        note.append(
            f"Each cell is protected on its own: one with fewer than {query.rule.k} is "
            "suppressed, zero included, so an empty cell and a small one look alike."
        )
    return ThemesAnswer(
        counted=counted,
        shown=queries.protect_counts(counted.counts, query.rule),
        note=note,
        query=query,
    )


Answer = Annotated[ThemesAnswer, Depends(_answer)]


def _month(value: date) -> str:
    return value.strftime("%Y-%m")


def _step_label(value: date, step: str) -> str:
    if step == "quarter":
        return f"{value.year}-Q{(value.month - 1) // 3 + 1}"
    return _month(value)


def _rows(shown: pd.DataFrame, step: str) -> list[dict[str, Any]]:
    return [
        {
            "month": _month(r.month),
            "period": _step_label(r.month, step),
            "area_code": r.area_code,
            "ward_code": r.ward_code,
            "category": r.category,
            "kind": r.kind,
            "count": None if r.suppressed else int(r.count),
            "suppressed": bool(r.suppressed),
        }
        for r in shown.itertuples(index=False)
    ]


@router.get(
    "/themes",
    operation_id="themes",
    response_class=JSONResponse,
    response_model=schemas.ThemeCounts,
)
def themes(answer: Answer) -> JSONResponse:
    """Category counts by step, area and kind of source (long format, every cell listed).

    Cells are a quarter, a borough and a group of categories unless ``step=month``,
    ``area=ward`` or ``category_level=category`` ask for finer ones. Each row has ``month``
    (the step's first month), ``period`` (``2026-Q2`` or ``2026-05``), ``area_code``,
    ``ward_code`` (null at borough level), ``category`` (a group's or a category's slug),
    ``kind``, ``count`` and ``suppressed``. Kinds: ``reports`` (published public, imported and
    demo reports), ``walk_concerns``, ``survey_themes`` (walks whose surveys name the
    theme) and ``patrol_themes`` (patrols whose record names it). Protected cells have
    ``count`` null and ``suppressed`` true. Area and category
    names are given once, in ``areas`` (and ``wards`` at ward level) and ``categories``
    (``category_groups`` lists each group's categories), not on each of the rows.
    """
    rule = answer.query.rule
    selection = answer.counted.selection
    cut = answer.counted.cut
    areas = answer.shown.drop_duplicates("area_code")
    wards = areas if cut.area == "ward" else areas.iloc[:0]
    units = dict.fromkeys(answer.shown["category"])
    body = {
        "period": dict(zip(("month_from", "month_to"), answer.period, strict=True)),
        "boroughs": list(selection.boroughs),
        "kinds": list(answer.counted.kinds),
        "exact": rule is None,
        "disclosure": {"k": rule.k, "rounded_to": rule.base} if rule else None,
        "synthetic_included": answer.counted.synthetic_included,
        "step": cut.step,
        "area": cut.area,
        "category_level": cut.category_level,
        "categories": {c.slug: c.label for c in CATEGORIES}
        if cut.category_level == "category"
        else {u: UNIT_LABELS[u] for u in units},
        "category_groups": {g.slug: list(g.members) for g in CATEGORY_GROUPS},
        "areas": {
            a.area_code: {"name": a.area_name, "borough_code": a.borough_code}
            for a in areas.itertuples(index=False)
        },
        "wards": {
            w.ward_code: {"name": w.ward_name, "borough_code": w.borough_code}
            for w in wards.itertuples(index=False)
        },
        "cells": len(answer.shown),
        "suppressed_cells": int(answer.shown["suppressed"].sum()),
        "counts": _rows(answer.shown, cut.step),
        "method_note": answer.note,
    }
    # Plain values only, so the generic encoder's walk over every row can be skipped.
    return JSONResponse(body)


def themes_csv_body(answer: ThemesAnswer) -> bytes:
    """The long-format CSV: one row per cell, the method note in the first row's ``notes``.

    The note rides in a column, not in comment lines, so the file stays one rectangular
    table that spreadsheets and ``pandas.read_csv`` open without options; it is written once,
    not on every row, to keep the file small.
    """
    shown = answer.shown
    frame = pd.DataFrame(
        {
            "month": shown["month"].map(_month),
            "period": shown["month"].map(lambda m: _step_label(m, answer.counted.cut.step)),
            "area_code": shown["area_code"],
            "area_name": shown["area_name"],
            "ward_code": shown["ward_code"],
            "ward_name": shown["ward_name"],
            "borough_code": shown["borough_code"],
            "category": shown["category"],
            "category_label": shown["category"].map(UNIT_LABELS),
            "kind": shown["kind"],
            # The one suppressed marker: the count left empty and ``suppressed`` true.
            "count": shown["count"].astype("Int64"),
            "suppressed": shown["suppressed"].map({True: "true", False: "false"}),
            # No rows, no note row: an empty file stays one rectangular (empty) table.
            "notes": ([" ".join(answer.note)] + [""] * (len(shown) - 1))[: len(shown)],
        }
    )
    return frame.to_csv(index=False).encode()


@router.get(
    "/themes.csv",
    operation_id="themes_csv",
    response_class=Response,
    responses=schemas.file_response(schemas.CSV),
)
def themes_csv(answer: Answer) -> Response:
    """The same counts as ``GET /themes`` as a CSV file, with the method note."""
    return download(themes_csv_body(answer), "csv", name="themes")


def _chart_parts(answer: ThemesAnswer) -> dict[str, Any]:
    rule = answer.query.rule
    cut = answer.counted.cut
    filters = "; ".join(answer.counted.selection.describe())
    unit = "category" if cut.category_level == "category" else "category group"
    protection = (
        f"Disclosure control: {rule.describe()}; here each {cut.step}, {cut.area}, {unit} and "
        "kind is a cell. Suppressed cells add nothing to these lines: totals are lower bounds."
        if rule
        else "Exact counts (supervisor view): small counts are not protected, so share the "
        "chart partners see rather than this one."
    )
    if answer.counted.synthetic_included:
        protection += " Includes synthetic demo data."
    return {
        "series": top_category_series(answer.shown, top=CHART_TOP),
        "subtitle": f"Top {CHART_TOP} {unit}s of each kind of source, all {cut.area}s summed. "
        f"Filters: {filters}.",
        "footnote": protection,
        "empty_reason": (
            f"every cell is under {rule.k} or empty, so nothing can be shown"
            if rule
            else "nothing counted for these filters"
        ),
    }


@router.get(
    "/themes.png",
    operation_id="themes_chart",
    response_class=Response,
    responses=schemas.file_response("image/png"),
)
def themes_png(answer: Answer) -> Response:
    """A chart of the themes by step (PNG), drawn from the counts the caller may see."""
    parts = _chart_parts(answer)
    png = themes_chart(
        parts["series"],
        months=answer.months,
        kinds=answer.counted.kinds,
        kind_labels=queries.KIND_LABELS,
        category_labels=UNIT_LABELS,
        title=f"Recurring themes by {answer.counted.cut.step}",
        subtitle=parts["subtitle"],
        footnote=parts["footnote"],
        empty_reason=parts["empty_reason"],
    )
    return Response(png, media_type="image/png")


def _tables(answer: ThemesAnswer, series: pd.DataFrame) -> list[dict[str, Any]]:
    """Per kind: the chart's lines as a table (steps down, categories across)."""
    tables = []
    quarters = answer.counted.cut.step == "quarter"
    for kind in answer.counted.kinds:
        lines = series[series["kind"] == kind]
        categories = list(dict.fromkeys(lines["category"]))
        wide = lines.pivot_table(index="month", columns="category", values="count", aggfunc="sum")
        tables.append(
            {
                "kind": kind,
                "label": queries.KIND_LABELS[kind],
                "categories": [(c, UNIT_LABELS.get(c, c)) for c in categories],
                "rows": [
                    (
                        f"Q{(month.month - 1) // 3 + 1} {month.year}"
                        if quarters
                        else month.strftime("%B %Y"),
                        [int(wide.at[month, c]) for c in categories],
                    )
                    for month in answer.months
                ]
                if categories
                else [],
            }
        )
    return tables


@router.get(
    "/themes/page",
    operation_id="themes_page",
    response_class=HTMLResponse,
    include_in_schema=False,
)
def themes_page(request: Request, answer: Answer) -> HTMLResponse:
    """The chart with its numbers in tables and the method note, and a form for the filters."""
    parts = _chart_parts(answer)
    return templates.TemplateResponse(
        request,
        "themes.html",
        {
            "title": "Recurring themes",
            "principal": answer.query.principal,
            "query": request.url.query,
            "month_from": answer.period[0],
            "month_to": answer.period[1],
            "kinds": [
                (k, label, k in answer.counted.kinds) for k, label in queries.KIND_LABELS.items()
            ],
            "dark": answer.counted.selection.dark_only,
            "cut": answer.counted.cut,
            "choices": [
                ("step", "Time step", [("quarter", "Quarter"), ("month", "Month")]),
                ("area", "Area", [("borough", "Borough"), ("ward", "Ward")]),
                (
                    "category_level",
                    "Categories",
                    [("group", "Groups of categories"), ("category", "Each category")],
                ),
            ],
            "tables": _tables(answer, parts["series"]),
            "footnote": parts["footnote"],
            "empty_reason": parts["empty_reason"],
            "note": answer.note,
        },
    )
