"""The scheme's evaluation, for supervisors only: a page, its JSON and a CSV file.

Within the supervisor's boroughs (or some of them) and an optional month range. Partners,
planners and officers are refused; the public are sent to sign in first from the page.
"""

from __future__ import annotations

import csv
import io
from datetime import datetime
from typing import Annotated, Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Query, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from service import policy, schemas
from service.auth import EVERYONE, Allow, Principal, Role
from service.db import SessionDep
from service.errors import Forbidden
from service.exports import download
from service.queries import audit
from service.queries import evaluation as queries
from service.routers.aggregate_query import parse_month
from service.web import templates

router = APIRouter(tags=["evaluation"])
Supervisor = Annotated[Principal, Depends(Allow(Role.supervisor))]
# The page takes anyone so that the public are sent to sign in; other roles are refused inside.
Anyone = Annotated[Principal, Depends(Allow(*EVERYONE))]
LONDON = ZoneInfo("Europe/London")
PAGE_PATH = "/evaluation"


def _period(
    month_from: Annotated[str | None, Query(description="first month, YYYY-MM")] = None,
    month_to: Annotated[str | None, Query(description="last month, YYYY-MM")] = None,
) -> queries.Period:
    return queries.Period(parse_month(month_from, "month_from"), parse_month(month_to, "month_to"))


def _borough_filter(
    borough: Annotated[
        list[str] | None, Query(description="borough code(s), E09…; default: all of yours")
    ] = None,
) -> tuple[str, ...]:
    return tuple(sorted(set(borough or ())))


PeriodDep = Annotated[queries.Period, Depends(_period)]
BoroughsDep = Annotated[tuple[str, ...], Depends(_borough_filter)]


def _scope(principal: Principal, asked: tuple[str, ...]) -> tuple[str, ...]:
    policy.require_boroughs(principal, asked, "the evaluation asked for")
    return asked or tuple(sorted(principal.borough_codes))


def _evaluate(
    session: SessionDep, principal: Principal, boroughs: tuple[str, ...], period: queries.Period
) -> dict[str, Any]:
    scope = _scope(principal, boroughs)
    result = queries.evaluation(session, boroughs=scope, period=period)
    # Officers' names and safeguarding flags are in it: reading it is audited.
    audit.record(session, principal, "read evaluation", f"{','.join(scope)} {period.describe()}")
    session.commit()
    return result


@router.get("/evaluation.json", operation_id="evaluation")
def evaluation_json(
    session: SessionDep, principal: Supervisor, boroughs: BoroughsDep, period: PeriodDep
) -> Any:
    """Every figure of the evaluation (supervisors): walks, reach, darkness, surveys, flags.

    Shares are fractions from 0 to 1, given with the counts they come from; means are on the
    surveys' 1 to 5 scales. Walks count once closed, by the London month they started.
    """
    return _evaluate(session, principal, boroughs, period)


_CSV_COLUMNS = (
    "section",
    "measure",
    "ward_code",
    "ward_name",
    "month",
    "walk_id",
    "officer",
    "due_at",
    "value",
    "n",
    "notes",
)


def evaluation_csv_rows(result: dict[str, Any]) -> list[dict[str, Any]]:
    """The evaluation in long format: one figure a row, ``n`` its denominator where it has one.

    The first row's ``notes`` says what was counted, so the file explains itself.
    """
    rows: list[dict[str, Any]] = []

    def add(section: str, measure: str, value: Any, **more: Any) -> None:
        rows.append({"section": section, "measure": measure, "value": value, **more})

    walks = result["walks"]
    for measure in (
        "walked",
        "buddies_reached",
        "officers_walking",
        "wards_with_walks",
        "synthetic_walks",
        "not_closed",
        "upcoming",
    ):
        add("walks", measure, walks[measure])
    for r in result["walks_per_ward_month"]:
        add(
            "walks_per_ward_month",
            "walks",
            r["walks"],
            ward_code=r["ward_code"],
            ward_name=r["ward_name"],
            month=r["month"],
        )
    for r in result["wards_without_walks"]:
        add("wards_without_walks", "walks", 0, ward_code=r["ward_code"], ward_name=r["ward_name"])
    for r in result["officers_without_walks"]:
        add(
            "officers_without_walks",
            "walks",
            0,
            officer=f"{r['name']} ({r['shoulder_number']})",
            ward_code=" ".join(r["ward_codes"]),
        )
    dark = result["darkness"]
    add("darkness", "mean_dark_share", dark["mean_dark_share"], n=dark["walks_with_route"])
    add("darkness", "dark_at_start_share", dark["dark_at_start_share"], n=dark["walks_dark_known"])
    short = result["cut_short"]
    add("cut_short", f"walks_under_{short['minutes']}_minutes", short["walks"], n=walks["walked"])
    for r in short["list"]:
        add(
            "cut_short",
            "minutes_walked",
            r["minutes"],
            walk_id=r["walk_id"],
            ward_code=r["ward_code"],
            ward_name=r["ward_name"],
        )
    buddy = result["buddy_answers"]
    for measure, n in (
        ("mean_before", "paired"),
        ("mean_after", "paired"),
        ("felt_safer_share", "paired"),
        ("mean_police_confidence", "surveys"),
        ("would_recommend_share", "surveys"),
    ):
        add("buddy_answers", measure, buddy[measure], n=buddy[n])
    officer = result["officer_surveys"]
    add("officer_surveys", "mean_usefulness", officer["mean_usefulness"], n=officer["surveys"])
    add("officer_surveys", "follow_up_share", officer["follow_up_share"], n=officer["surveys"])
    for a in officer["actions"]:
        add("officer_surveys", f"action:{a['action']}", a["surveys"], n=officer["surveys"])
    guard = result["safeguarding"]
    for measure in ("disclosures_in_period", "open", "overdue"):
        add("safeguarding", measure, guard[measure])
    for f in guard["open_flags"]:
        add(
            "safeguarding",
            "open_flag",
            f["state"],
            walk_id=f["walk_id"],
            ward_code=f["ward_code"],
            ward_name=f["ward_name"],
            due_at=f["due_at"].isoformat() if f["due_at"] else "",
        )
    patrols = result["patrols"]
    for measure in (
        "held",
        "conversations",
        "officers_patrolling",
        "wards_with_patrols",
        "synthetic_patrols",
        "not_recorded",
        "upcoming",
    ):
        add("patrols", measure, patrols[measure])
    for t in patrols["themes"]:
        add("patrols", f"theme:{t['theme']}", t["patrols"], n=patrols["held"])
    synthetic = walks["synthetic_walks"]
    rows[0]["notes"] = (
        f"Boroughs {', '.join(result['boroughs'])}; {result['period']['described']}. Walks count "
        "once closed, by the London month they started; shares are fractions of n. "
        "Open safeguarding flags are listed whatever the period. Patrols (no buddy) count "
        "apart, in section patrols, once their record is stored."
        + (f" Includes {synthetic} synthetic demo walks." if synthetic else "")
    )
    return rows


@router.get(
    "/evaluation.csv",
    operation_id="evaluation_csv",
    response_class=Response,
    responses=schemas.file_response(schemas.CSV),
)
def evaluation_csv(
    session: SessionDep, principal: Supervisor, boroughs: BoroughsDep, period: PeriodDep
) -> Response:
    """The evaluation as a CSV file, one figure a row (supervisors)."""
    rows = evaluation_csv_rows(_evaluate(session, principal, boroughs, period))
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=_CSV_COLUMNS, restval="")
    writer.writeheader()
    writer.writerows(jsonable_encoder(rows))
    return download(buffer.getvalue().encode(), "csv", name="evaluation")


def _share(share: float | None, part: int, whole: int) -> str:
    return "none yet (n = 0)" if share is None else f"{share:.0%} ({part:,} of {whole:,})"


def _mean(value: float | None) -> str:
    return "none yet" if value is None else f"{value:.1f}"


def _london(when: datetime | None) -> str:
    return "" if when is None else when.astimezone(LONDON).strftime("%a %-d %b %Y, %H:%M %Z")


def _ward_month_table(result: dict[str, Any]) -> dict[str, Any]:
    """Walks per ward and month as a grid: wards down, months across, with totals."""
    per = result["walks_per_ward_month"]
    months = sorted({r["month"] for r in per})
    wards: dict[tuple[str, str], dict[str, int]] = {}
    for r in per:
        wards.setdefault((r["ward_name"], r["ward_code"]), {})[r["month"]] = r["walks"]
    return {
        "months": [(m, datetime.strptime(m, "%Y-%m").strftime("%b %Y")) for m in months],
        "rows": [
            (name, code, [counts.get(m, 0) for m in months], sum(counts.values()))
            for (name, code), counts in sorted(wards.items())
        ],
        "totals": [sum(r["walks"] for r in per if r["month"] == m) for m in months],
    }


@router.get(
    PAGE_PATH,
    operation_id="evaluation_page",
    response_class=HTMLResponse,
    response_model=None,
    include_in_schema=False,
)
def evaluation_page(
    request: Request,
    session: SessionDep,
    principal: Anyone,
    boroughs: BoroughsDep,
    period: PeriodDep,
) -> HTMLResponse | RedirectResponse:
    """The evaluation page: tables a supervisor and a screen reader can read."""
    if principal.is_public:
        target = PAGE_PATH + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/login?next={quote(target, safe='/')}", status_code=303)
    if principal.role is not Role.supervisor:
        raise Forbidden(f"the evaluation is for supervisors; you are {principal.role.value}")
    result = _evaluate(session, principal, boroughs, period)
    return templates.TemplateResponse(
        request,
        "evaluation.html",
        {
            "title": "Evaluation",
            "principal": principal,
            "e": result,
            "grid": _ward_month_table(result),
            "month_from": period.month_from.strftime("%Y-%m") if period.month_from else "",
            "month_to": period.month_to.strftime("%Y-%m") if period.month_to else "",
            "query": request.url.query,
            "share": _share,
            "mean": _mean,
            "london": _london,
        },
    )
