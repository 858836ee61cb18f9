"""Emerging hot spots: each hexagon's Gi* trend over time steps, as GeoJSON, CSV and GeoPackage.

The cube is counted in PostGIS (``service.queries.emerging``) on the hot-spot map's hexagons
with the same filters; the statistics are ``geo.emerging`` (Gi* per step, Mann-Kendall per
hexagon, Esri's categories). Disclosure follows ``geo.hotspots``: for partners, planners, the
public and officers every bin is protected on its own (under k suppressed, the rest rounded) and
Gi* runs on those protected values only (suppressed bins as 0), so nothing published is worked
out from a count they may not see. A hexagon gets a category, trend and p only when its total
over all steps reaches k; per-step counts under k are never shown. Supervisors get exact counts,
and their reads are audited.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse, Response

from geo.disclosure import DisclosureRule, protect
from geo.emerging import MIN_STEPS, category_label, describe_method, emerging_hot_spots
from geo.hexagons import check_edge
from maps.emerging import EmergingLayer
from service import schemas
from service.db import ReadSessionDep
from service.errors import InvalidInput
from service.exports import EXPORT_TYPES, ExportFormat, check_crs, download, geopackage
from service.method_note import Period, method_note
from service.queries import aggregates
from service.queries import emerging as cube_queries
from service.routers.aggregate_query import AggregateRequest, Aggregates

router = APIRouter(tags=["hot spots"])

Edge = Annotated[int, Query(description="hexagon edge in metres: 250, 500, 1000 or 2000")]
Step = Annotated[str, Query(description="time step of the cube: quarter (default) or month")]
Crs = Annotated[int, Query(description="CRS of the CSV's WKT and the GeoPackage: 4326 or 27700")]

_DECIMALS = 6  # of a degree, about 0.1 m
#: Per-hexagon columns of every answer, in order.
COLUMNS = [
    "i",
    "j",
    "total",
    "total_suppressed",
    "category",
    "trend_tau",
    "trend_z",
    "trend_p",
    "hot_steps",
    "cold_steps",
]


@dataclass(frozen=True)
class EmergingCells:
    """Every hexagon as the caller may see it, its per-step counts, and the method note."""

    cells: gpd.GeoDataFrame  # COLUMNS and the polygon
    step_counts: np.ndarray  # cells x steps, NaN where suppressed
    steps: list[str]
    step: str
    edge_m: int
    filters: list[str]
    note: list[str]
    #: The note's sentences on the emerging hot spots alone (the rest is every aggregate's).
    method: list[str]


def _edge(edge: int) -> int:
    try:
        return check_edge(edge)
    except ValueError as exc:
        raise InvalidInput(str(exc)) from None


def emerging_cells(
    session: ReadSessionDep, query: AggregateRequest, *, step: str, edge_m: int
) -> EmergingCells:
    """Count, protect, test and classify the area's hexagons for this caller."""
    edge = _edge(edge_m)
    cube = cube_queries.space_time_cube(session, query.selection, step=step, edge_m=edge)
    shown, suppressed = protect(cube.counts, query.rule)
    # The only values the statistic ever sees: a protected viewer's own, per bin.
    tested = np.where(suppressed, 0, shown).astype(np.int64)
    spots = emerging_hot_spots(cube.cells["i"], cube.cells["j"], tested)
    total, total_suppressed = protect(cube.counts.sum(axis=1), query.rule)
    spots["total"] = total
    spots["total_suppressed"] = total_suppressed
    # A hexagon under k over the whole period says nothing about its trend to anyone but a
    # supervisor: no category, no trend.
    hidden = ["category", "trend_tau", "trend_z", "trend_p", "hot_steps", "cold_steps"]
    for column in hidden:
        spots[column] = spots[column].astype(object).where(~total_suppressed, None)
    frame = gpd.GeoDataFrame(spots[COLUMNS], geometry=cube.cells.geometry.array, crs=cube.cells.crs)
    period = Period(
        cube.first_month,
        cube.last_month,
        "the whole steps holding the months asked for"
        if query.selection.month_from or query.selection.month_to
        else f"the latest {len(cube.steps)} {step}s, as no month was asked for",
    )
    labels = cube.labels
    method = [
        *describe_method(len(labels), step, labels[0], labels[-1]),
        "Disclosure: each hexagon's count in each step is protected on its own and Gi* runs on "
        "the protected counts (suppressed ones as 0); a hexagon gets a category only when its "
        "total over all steps reaches k."
        if query.rule
        else "Gi* runs on the exact counts (supervisor view).",
    ]
    note = [
        *method_note(
            query.selection,
            query.rule,
            unit=f"{edge} m hexagons on the British National Grid, one count per {step}",
            synthetic_included=aggregates.counts_synthetic(session, query.selection),
            period=period,
        ),
        *method,
    ]
    query.audit_exact_read(session, "view emerging hot spots (exact counts)")
    return EmergingCells(
        cells=frame,
        step_counts=shown,
        steps=labels,
        step=step,
        edge_m=edge,
        filters=query.selection.describe(),
        note=note,
        method=method,
    )


def emerging_for_page(
    session: ReadSessionDep, query: AggregateRequest, edge_m: int
) -> tuple[EmergingLayer | None, list[str]]:
    """The hot-spot page's emerging layer and the note's sentences on it.

    By quarter; by month when the period holds too few quarters for a trend; no layer (and a
    sentence saying why) when it holds too few months too.
    """
    today = date.today()
    for step in cube_queries.STEP_MONTHS:
        try:
            cube_queries.cube_steps(query.selection, step, today=today)
        except InvalidInput:
            continue
        answer = emerging_cells(session, query, step=step, edge_m=edge_m)
        return EmergingLayer(answer.cells, answer.steps, step), answer.method
    return None, [
        f"Emerging hot spots are not drawn: a trend needs at least {MIN_STEPS} months; choose "
        "a longer period."
    ]


def _number(value: Any, digits: int | None = None) -> Any:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return None
    return int(value) if digits is None else round(float(value), digits)


def _properties(row: Any, counts: np.ndarray) -> dict[str, Any]:
    category = row["category"] if isinstance(row["category"], str) else None
    return {
        "i": int(row["i"]),
        "j": int(row["j"]),
        "total": _number(row["total"]),
        "total_suppressed": bool(row["total_suppressed"]),
        "category": category,
        "category_label": category_label(category),
        "trend_tau": _number(row["trend_tau"], 4),
        "trend_z": _number(row["trend_z"], 4),
        "trend_p": _number(row["trend_p"], 4),
        "hot_steps": _number(row["hot_steps"]),
        "cold_steps": _number(row["cold_steps"]),
        "counts": [_number(float(c)) for c in counts],
    }


def feature_collection(answer: EmergingCells, rule: DisclosureRule | None) -> dict[str, Any]:
    """The hexagons as a GeoJSON FeatureCollection (WGS84), with the steps and method note."""
    geometries = shapely.transform(answer.cells.geometry.array, lambda xy: np.round(xy, _DECIMALS))
    features = [
        {
            "type": "Feature",
            "geometry": shapely.geometry.mapping(geometry),
            "properties": _properties(row, counts),
        }
        for (_, row), geometry, counts in zip(
            answer.cells.iterrows(), geometries, answer.step_counts, strict=True
        )
    ]
    return {
        "type": "FeatureCollection",
        "edge_m": answer.edge_m,
        "step": answer.step,
        "steps": answer.steps,
        "disclosure": None
        if rule is None
        else {"suppressed_below": rule.k, "rounded_to": rule.base},
        "filters": answer.filters,
        "method": answer.note,
        "features": features,
    }


def _table(answer: EmergingCells) -> pd.DataFrame:
    """One row per hexagon: the columns, the category in words, a count column per step."""
    cells = answer.cells
    table = pd.DataFrame(cells[COLUMNS]).assign(edge_m=answer.edge_m)
    table.insert(5, "category_label", [category_label(c) for c in cells["category"]])
    table["total"] = pd.array(cells["total"].round(), dtype="Int64")
    for column in ("trend_tau", "trend_z", "trend_p"):
        table[column] = pd.to_numeric(table[column]).astype("float64")
    for column in ("hot_steps", "cold_steps"):
        table[column] = pd.array(table[column].to_list(), dtype="Int64")
    for n, label in enumerate(answer.steps):
        table[f"count_{label.replace('-', '_')}"] = pd.array(
            np.round(answer.step_counts[:, n]), dtype="Int64"
        )
    return table


def _csv(answer: EmergingCells, crs: int) -> bytes:
    cells = answer.cells
    table = _table(answer)
    table["total_suppressed"] = table["total_suppressed"].map({True: "true", False: "false"})
    table["wkt"] = shapely.to_wkt(
        (cells.geometry.to_crs(crs) if crs != 4326 else cells.geometry).array,
        rounding_precision=_DECIMALS if crs == 4326 else 2,
    )
    table["notes"] = ""
    if not table.empty:
        table.loc[table.index[0], "notes"] = " ".join(
            [*answer.note, f"The wkt column holds each hexagon in EPSG:{crs}."]
        )
    return bytes(table.to_csv(index=False).encode())


@router.get(
    "/hotspots/emerging",
    operation_id="emerging_hot_spots",
    response_class=Response,
    responses=schemas.geojson(
        schemas.FeatureCollection,
        "GeoJSON FeatureCollection of hexagons, with the method and disclosure",
    ),
)
def get_emerging_hot_spots(
    session: ReadSessionDep, query: Aggregates, step: Step = "quarter", edge: Edge = 500
) -> JSONResponse:
    """Emerging hot spots: each hexagon's Gi* trend over quarters or months (GeoJSON).

    Top level: ``edge_m``, ``step``, ``steps`` (labels, oldest first), ``disclosure``,
    ``filters``, ``method`` (the method note: steps, tests, significance levels). Each
    feature's properties: ``i, j, total, total_suppressed, category`` (one of
    ``geo.emerging.CATEGORIES``, e.g. ``intensifying_hot``; null when the total is under k),
    ``category_label, trend_tau, trend_z, trend_p`` (Mann-Kendall of the z series),
    ``hot_steps, cold_steps`` (significant bins) and ``counts`` (one per step, null where
    suppressed).
    """
    answer = emerging_cells(session, query, step=step, edge_m=edge)
    return JSONResponse(feature_collection(answer, query.rule), media_type="application/geo+json")


@router.get(
    "/hotspots/emerging.{fmt}",
    operation_id="export_emerging_hot_spots",
    response_class=Response,
    responses={200: {"content": schemas.export_content(EXPORT_TYPES)}},
)
def export_emerging_hot_spots(
    session: ReadSessionDep,
    query: Aggregates,
    fmt: ExportFormat,
    step: Step = "quarter",
    edge: Edge = 500,
    crs: Crs = 4326,
) -> Response:
    """Download the emerging hot spots: CSV (one row per hexagon, WKT), GeoJSON or GeoPackage."""
    check_crs(crs)
    answer = emerging_cells(session, query, step=step, edge_m=edge)
    if fmt == "csv":
        body = _csv(answer, crs)
    elif fmt == "geojson":
        body = json.dumps(feature_collection(answer, query.rule)).encode()
    else:
        layer = gpd.GeoDataFrame(_table(answer), geometry=answer.cells.geometry, crs=4326)
        body = geopackage(layer, layer="emerging_hot_spots", crs=crs, note=answer.note)
    return download(body, fmt, name=f"emerging-hot-spots-{answer.step}-{answer.edge_m}m")
