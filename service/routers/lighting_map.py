"""The planner's lighting map, ``GET /maps/lighting``: requests, evidence, assets and gaps.

Who sees what follows the planners' lists exactly: the requests are those
``GET /lighting/ranking`` gives the caller (``policy.request_scope``), their evidence counts
protected by the same rule (``disclosure_for``: exact only for a supervisor over her own
boroughs), and the gaps and heat surface are those ``GET /lighting/gaps`` and
``/maps/heatmap`` give her (protected hexagon counts; no report point leaves the database).
The street lights, cameras and OpenStreetMap ways are published data (``policy.SEE_ASSETS``).

:func:`lighting_map_sheet` builds the page and the words of its printed sheet; the page route,
its print (``service.routers.printing``) and the bid pack call it.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Annotated

import geopandas as gpd
import pandas as pd
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from shapely.geometry import Point, box, shape

from maps.controls import Option
from maps.lighting import (
    KIND_WORDS,
    STATUS_WORDS,
    LightingControls,
    LightingLayers,
    render_lighting_map,
)
from maps.printing import MapSheet
from service import policy
from service.auth import EVERYONE, Allow, Principal
from service.db import ReadSessionDep
from service.errors import InvalidInput
from service.page_cache import cached_page
from service.printing import sheet_period
from service.queries import assets as asset_queries
from service.queries import osm as osm_queries
from service.queries import requests as request_queries
from service.queries.evidence import protect_evidence, request_evidence
from service.queries.wards import active_borough_names, wards_frame
from service.routers.aggregate_query import AggregateRequest, aggregate_request, disclosure_for
from service.routers.hotspots import heat_surface
from service.routers.lighting import gaps_for, weights
from service.routers.maps import ASSET_URL, MAP_SIMPLIFY_M, page_tiles

router = APIRouter(tags=["maps"], include_in_schema=False)
# The page takes anyone so a signed-out person is sent to sign in; the policy refuses by role.
Anyone = Annotated[Principal, Depends(Allow(*EVERYONE))]
PATH = "/maps/lighting"
#: Metres from a request within which reports count as its evidence (the ranking's default).
WITHIN_M = 50.0
#: The gaps' hexagons (the gaps routes' default) and the heat surface's (the heatmap's).
GAP_EDGE_M = 250
HEAT_EDGE_M = 500
#: The most lights, cameras or ways one page draws: a borough's lamps (Camden's 9,527) fit;
#: past this the layer is left out with a notice saying to choose a borough or a ward.
MAX_ASSETS = 20_000
MAX_WAYS = 15_000
OSM_CREDIT = "© OpenStreetMap contributors, available under the Open Database Licence (ODbL 1.0)"


@dataclass(frozen=True)
class LightingFilters:
    """What the lighting map shows: the page's filters, and a bid pack's choice of requests.

    ``month_from`` and ``month_to`` (``YYYY-MM``) limit the reports counted (the requests'
    evidence, the gaps and the heat surface), not the requests. ``request_ids`` keeps only
    those requests (of those the caller may see); ``bid_reference`` only a bid's.
    """

    kind: str | None = None
    status: str | None = None
    borough: str | None = None
    ward: str | None = None
    month_from: str | None = None
    month_to: str | None = None
    bid_reference: str | None = None
    request_ids: tuple[uuid.UUID, ...] | None = None

    def describe(self) -> list[str]:
        """The request filters in words (the boroughs and months are said by the aggregate)."""
        words = [
            f"requests of kind {KIND_WORDS.get(self.kind, self.kind)}" if self.kind else
            "requests of every kind",
        ]
        if self.status:
            words.append(f"status {STATUS_WORDS.get(self.status, self.status)}")
        if self.ward:
            words.append(f"ward {self.ward}")
        if self.bid_reference:
            words.append(f"bid {self.bid_reference}")
        if self.request_ids is not None:
            words.append(f"{len(self.request_ids)} chosen request(s)")
        return words


def _blank(value: str | None) -> str | None:
    return value.strip() or None if value is not None else None


def lighting_filters(
    kind: Annotated[str | None, Query(max_length=40)] = None,
    status: Annotated[str | None, Query(max_length=40)] = None,
    borough: Annotated[str | None, Query(max_length=100)] = None,
    ward: Annotated[str | None, Query(max_length=100)] = None,
    month_from: Annotated[str | None, Query(max_length=20)] = None,
    month_to: Annotated[str | None, Query(max_length=20)] = None,
    bid_reference: Annotated[str | None, Query(max_length=100)] = None,
) -> LightingFilters:
    """The page's query as filters; a blank field (a form sent without script) is no filter.

    Raises
    ------
    InvalidInput
        A kind or status that is not one of the scheme's, naming the field and the choices.

    """
    chosen = LightingFilters(
        kind=_blank(kind),
        status=_blank(status),
        borough=_blank(borough),
        ward=_blank(ward),
        month_from=_blank(month_from),
        month_to=_blank(month_to),
        bid_reference=_blank(bid_reference),
    )
    if chosen.kind is not None and chosen.kind not in request_queries.KINDS:
        raise InvalidInput(
            f"kind must be one of {', '.join(request_queries.KINDS)}, not {chosen.kind!r}"
        )
    if chosen.status is not None and chosen.status not in request_queries.STATUSES:
        raise InvalidInput(
            f"status must be one of {', '.join(request_queries.STATUSES)}, not {chosen.status!r}"
        )
    return chosen


#: The dependency the page and its print take: ``filters: Filters``.
Filters = Annotated[LightingFilters, Depends(lighting_filters)]


@router.get(PATH, response_class=HTMLResponse, response_model=None)
def lighting_map(
    request: Request, session: ReadSessionDep, principal: Anyone, filters: Filters
) -> Response:
    """The lighting map: requests by evidence and status, lights, cameras, lit ways, gaps."""
    if principal.is_public:
        query = f"?{request.url.query}" if request.url.query else ""
        return RedirectResponse(f"/login?next={PATH}{query}", status_code=303)
    return cached_page(
        request,
        session,
        principal,
        lambda: lighting_map_sheet(request, session, principal, filters).html,
    )


def _aggregate(
    request: Request, session: ReadSessionDep, principal: Principal, filters: LightingFilters
) -> AggregateRequest:
    """The gaps' and heat surface's filter: the borough chosen (else hers) and the months."""
    return aggregate_request(
        request,
        session,
        principal,
        borough=[filters.borough] if filters.borough else None,
        month_from=filters.month_from,
        month_to=filters.month_to,
        category=None,
        dark=False,
        time_band=None,
        source=None,
    )


def _month_end(first: date | None) -> date | None:
    if first is None:
        return None
    return (pd.Timestamp(first) + pd.offsets.MonthEnd(0)).date()


def _requests(
    request: Request,
    session: ReadSessionDep,
    principal: Principal,
    filters: LightingFilters,
    query: AggregateRequest,
) -> tuple[gpd.GeoDataFrame, bool]:
    """The caller's requests with their evidence as she may see it; whether counts are exact."""
    scope = request_queries.RequestScope(**policy.request_scope(principal))
    listed = request_queries.list_requests(
        session,
        scope,
        request_queries.Filters(
            kind=filters.kind,
            status=filters.status,
            borough=filters.borough,
            ward=filters.ward,
            bid_reference=filters.bid_reference,
        ),
    )
    if filters.request_ids is not None:
        wanted = set(filters.request_ids)
        listed = [row for row in listed if row["id"] in wanted]
    found = request_evidence(
        session,
        within=WITHIN_M,
        weights=weights(request),
        request_ids=[row["id"] for row in listed],
        since=query.selection.month_from,
        until=_month_end(query.selection.month_to),
    )
    boroughs = tuple(sorted({str(b) for b in found["borough_code"].dropna()}))
    rule = disclosure_for(request, principal, boroughs)
    shown = protect_evidence(found, rule)
    councils = request_queries.councils(session)
    extra = {row["id"]: row for row in listed}
    frame = gpd.GeoDataFrame(
        {
            "id": shown["id"],
            "reference": shown["reference"],
            "kind": shown["kind"],
            "status": shown["status"],
            "title": [extra[i]["title"] for i in shown["id"]],
            "partner": [
                f"{councils.get(extra[i]['partner_borough'], extra[i]['partner_borough'])}, "
                f"{extra[i]['partner_team']}"
                for i in shown["id"]
            ],
            "raised_at": [extra[i]["raised_at"] for i in shown["id"]],
            "status_at": [extra[i]["status_at"] for i in shown["id"]],
            "bid_reference": [extra[i]["bid_reference"] for i in shown["id"]],
            "installed_on": [extra[i]["installed_on"] for i in shown["id"]],
            "line": [extra[i]["line"] for i in shown["id"]],
            "ward_code": shown["ward_code"],
            "score": shown["score"],
            "rank_in_borough": shown["rank_in_borough"],
            **{name: shown[name] for name in ("total", "lighting", "dark", "months")},
        },
        geometry=[Point(extra[i]["lon"], extra[i]["lat"]) for i in shown["id"]],
        crs=4326,
    )
    return frame, rule is None


def _note(exact: bool, query: AggregateRequest, weighed: str) -> list[str]:
    period = (
        "Reports counted: every published report and walk concern held."
        if not (query.selection.month_from or query.selection.month_to)
        else "Reports counted: those made in the months chosen (the requests themselves are "
        "shown whenever they were raised)."
    )
    return [
        "Requests to partners, each coloured by the evidence near it: published reports and "
        f"walk concerns within {WITHIN_M:g} m of the request's point, or of its stretch, "
        f"measured on the British National Grid; the {weighed}. Classes by Fisher-Jenks "
        "natural breaks (mapclassify) over the requests shown.",
        period,
        "Evidence counts are exact (a supervisor's own boroughs)." if exact else
        "Evidence counts under 10 are shown as 'fewer than 10'; the others are rounded to "
        "the nearest 5; a request's score and rank are made on exact counts inside, which "
        "they do not reveal.",
        "Street lights and cameras: the councils' inventories as loaded; 'no light here' is "
        "claimed only inside the area an inventory covers (dashed outline). Streets and paths "
        "are OpenStreetMap ways coloured by their lit tag.",
        "No report's own place is shown on this map: the heat surface and the gaps are made "
        "from hexagon counts.",
        "Downloads: the ranking files hold every request you may see of the kind (or bid) "
        "chosen, counted over every report held; the gaps files follow the borough and months "
        "chosen.",
    ]


def _area(
    wards: gpd.GeoDataFrame, requests: gpd.GeoDataFrame
) -> tuple[float, float, float, float]:
    """The box the map's layers are drawn in: the wards shown and every request."""
    shapes = [box(*wards.total_bounds)] if not wards.empty else []
    if not requests.empty:
        shapes.append(box(*requests.total_bounds))
    if not shapes:
        raise InvalidInput("there is nothing to map: choose a borough")
    west, south, east, north = gpd.GeoSeries(shapes, crs=4326).total_bounds
    # About 200 m round the area: the lamps along its edge streets are drawn too.
    return (west - 0.003, south - 0.002, east + 0.003, north + 0.002)


def _assets(
    session: ReadSessionDep, area: tuple[float, float, float, float], notices: list[str]
) -> tuple[list[tuple[float, float]], list[tuple[float, float]], set[str]]:
    """The lights and cameras in the area as (lat, lon), and the inventories they came from."""
    drawn: dict[str, list[tuple[float, float]]] = {}
    sources: set[str] = set()
    for kind, words in (("light", "street lights"), ("camera", "cameras")):
        matched, rows = asset_queries.assets_in_box(session, area, kind=kind, limit=MAX_ASSETS)
        if matched > MAX_ASSETS:
            notices.append(
                f"{matched:,} {words} are in this area, too many to draw: choose a borough "
                "or a ward to see them."
            )
            drawn[kind] = []
            continue
        drawn[kind] = [(float(r["lat"]), float(r["lon"])) for r in rows]
        sources.update(str(r["attribution"]) for r in rows)
    return drawn["light"], drawn["camera"], sources


def _coverage(
    session: ReadSessionDep, area: tuple[float, float, float, float]
) -> tuple[gpd.GeoDataFrame, set[str]]:
    inventories = asset_queries.list_inventories(session)
    frame = gpd.GeoDataFrame(
        {"name": [i.name for i in inventories], "kind": [i.kind for i in inventories],
         "attribution": [i.attribution for i in inventories]},
        geometry=[shape(i.coverage) for i in inventories],
        crs=4326,
    )  # fmt: skip
    shown = frame[frame.intersects(box(*area))]
    return shown, set(shown["attribution"])


def _ways(
    session: ReadSessionDep, area: tuple[float, float, float, float], notices: list[str]
) -> gpd.GeoDataFrame:
    matched, ways = osm_queries.ways_in_box(session, area, limit=MAX_WAYS)
    if matched > MAX_WAYS:
        notices.append(
            f"Only the {MAX_WAYS:,} longest of {matched:,} streets and paths are drawn: "
            "choose a ward to see them all."
        )
    return ways


def lighting_map_sheet(
    request: Request,
    session: ReadSessionDep,
    principal: Principal,
    filters: LightingFilters,
    *,
    title: str | None = None,
) -> MapSheet:
    """The lighting map page and the words of its printed sheet, as ``principal`` may see them.

    Parameters
    ----------
    request, session
        The caller's request (settings, the page's URL and query) and transaction.
    principal : Principal
        Who is asking: her requests (``policy.request_scope``) and her disclosure rule.
    filters : LightingFilters
        Kind, status, borough, ward, months; ``bid_reference`` or ``request_ids`` to draw
        only a bid's or a chosen set of requests (the bid pack prints "the requests of bid X
        over the evidence" with ``LightingFilters(bid_reference="X")``).
    title : str, optional
        The sheet's title; by default it says what is drawn.

    Raises
    ------
    Forbidden
        The caller's role sees no requests (the public).
    InvalidInput
        A month, borough or ward that is not one of the choices, naming the field.

    """
    policy.request_scope(principal)  # refuses a role that sees no requests
    query = _aggregate(request, session, principal, filters)
    boroughs = query.selection.boroughs
    active, every_ward = wards_frame(session, simplify_m=MAP_SIMPLIFY_M)
    wards = every_ward[every_ward["borough_code"].isin(boroughs)]
    if filters.ward is not None and filters.ward not in set(wards["code"]):
        names = ", ".join(query.selection.borough_names or boroughs)
        raise InvalidInput(
            f"ward {filters.ward!r} is not a ward of {names}: choose one from the list "
            "(ward codes start E05), or leave ward blank"
        )
    requests, exact = _requests(request, session, principal, filters, query)
    shown_wards = wards[wards["code"] == filters.ward] if filters.ward else wards
    area = _area(shown_wards, requests)

    notices: list[str] = []
    lights, cameras, sources = _assets(session, area, notices)
    coverage, covered_by = _coverage(session, area)
    ways = _ways(session, area, notices)
    gaps, gaps_note = gaps_for(session, query, WITHIN_M, GAP_EDGE_M)
    if filters.ward is not None and not gaps.empty:
        gaps = gaps[gaps.intersects(shown_wards.union_all())]
    heat = heat_surface(session, query, HEAT_EDGE_M, bandwidth_m=None, with_crimes=False)

    scoring = weights(request).describe()
    note = [*_note(exact, query, scoring), *gaps_note[-1:], *heat.note[-1:]]
    words = [*query.selection.describe(), *filters.describe()]
    credits = [active.attribution.rstrip(". ") + "."]
    # The base map credits OpenStreetMap itself; the ways need it said only without one.
    if not ways.empty and page_tiles(request, session) is None:
        credits.append(OSM_CREDIT + ".")
    credits += sorted(s.rstrip(". ") + "." for s in sources | covered_by)
    heading = title or (
        f"Requests of bid {filters.bid_reference} over the evidence"
        if filters.bid_reference
        else "Lighting and CCTV requests, their evidence, and what is already there"
    )
    html = render_lighting_map(
        LightingLayers(
            requests=requests,
            within_m=WITHIN_M,
            lights=lights,
            cameras=cameras,
            coverage=coverage,
            ways=ways,
            gaps=gaps,
            heat=heat.surface,
            wards=shown_wards,
            area=area,
            notices=notices,
        ),
        title=heading,
        filters=words,
        note=note,
        attribution=" ".join(credits),
        asset_url=ASSET_URL,
        tiles=page_tiles(request, session),
        controls=_controls(request, session, wards, principal),
    )
    period = sheet_period(session, query.selection)
    period.append("Requests: " + "; ".join(filters.describe()) + ".")
    # Paper has no download links to explain.
    return MapSheet(html, heading, period, [n for n in note if not n.startswith("Downloads:")])


def _controls(
    request: Request, session: ReadSessionDep, wards: gpd.GeoDataFrame, principal: Principal
) -> LightingControls:
    may_raise = principal.role in policy.RAISE_REQUESTS
    return LightingControls(
        path=PATH,
        raise_href="/lighting/requests/new" if may_raise else None,
        query=tuple(request.query_params.multi_items()),
        borough_options=tuple(
            Option(code, f"{name} ({code})") for code, name in active_borough_names(session).items()
        ),
        kind_options=_options(request_queries.KIND_LABELS),
        status_options=_options(request_queries.STATUS_LABELS),
        ward_options=tuple(
            Option(str(c), f"{n} ({c})")
            for c, n in sorted(zip(wards["code"], wards["name"], strict=True), key=lambda x: x[1])
        ),
    )


def _options(labels: dict[str, str]) -> tuple[Option, ...]:
    return tuple(Option(value, label) for value, label in labels.items())


__all__: Sequence[str] = ("LightingFilters", "lighting_filters", "lighting_map_sheet", "router")
