"""Hot spots and the heatmap of reports: GeoJSON, downloads and map pages, for every role.

Every answer is built from the hexagon counts of ``service.queries.aggregates`` (counted in
PostGIS; no report point leaves the database) and follows the caller's disclosure rule: for
partners, planners, the public and officers, cells under k are suppressed (``count: null,
suppressed: true``, no class), counts are rounded, and Gi* and the heatmap are computed from
those protected values only (see ``geo.hotspots``). Supervisors get exact counts, and their
reads are audited.

Downloads carry the method note where a council GIS officer will find it: a top-level
``method`` member in GeoJSON, the layer description and a ``method_note`` table in the
GeoPackage, and a ``notes`` column on the CSV's first row (a ``#`` comment line would break
spreadsheet and GIS CSV readers).
"""

from __future__ import annotations

import json
import math
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely
from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from geo.disclosure import DisclosureRule, protect
from geo.hexagons import HEX_EDGES_M, check_edge, hex_centres
from geo.hotspots import describe_method, hot_spots
from geo.kde import DensitySurface, kernel_density
from geo.population import METHOD_NOTE as POPULATION_NOTE
from geo.population import rates_per_1000
from maps.heatmap import render_heatmap
from maps.hotspots import render_hot_spot_map
from maps.printing import MapSheet
from service import schemas
from service.auth import PrincipalDep
from service.db import ReadSessionDep
from service.errors import InvalidInput, NotFound
from service.exports import (
    EXPORT_TYPES,
    CsvLayout,
    ExportFormat,
    check_crs,
    download,
    hexagon_wide_csv,
)
from service.method_note import method_note, period_for
from service.page_cache import cached_page
from service.printing import sheet_period
from service.queries import aggregates
from service.queries.population import hexagon_population
from service.queries.wards import wards_frame
from service.routers.aggregate_query import AggregateRequest, Aggregates
from service.routers.emerging import emerging_for_page
from service.routers.maps import ASSET_URL, MAP_SIMPLIFY_M, page_controls, page_tiles

router = APIRouter(tags=["hot spots"])

Edge = Annotated[int, Query(description="hexagon edge in metres: 250, 500, 1000 or 2000")]
WithCrimes = Annotated[
    bool, Query(description="also count police.uk crimes per hexagon (boroughs and months)")
]
Layout = Annotated[
    CsvLayout,
    Query(
        description="CSV layout: long (a row per hexagon and thing counted) or wide (a row "
        "per hexagon, a column per measure)"
    ),
]
Crs = Annotated[int, Query(description="CRS of the CSV's WKT and the GeoPackage: 4326 or 27700")]
Bandwidth = Annotated[
    float | None,
    Query(
        ge=100,
        le=5000,
        description="heatmap smoothing (kernel standard deviation), metres; "
        "default: the hexagons' edge",
    ),
]

POLICE_UK_CREDIT = (
    "police.uk: Contains public sector information licensed under the Open Government Licence v3.0."
)
_DECIMALS = 6  # of a degree, about 0.1 m; of a metre on the British grid it is far finer
#: Ward outlines under the smoothed heatmap are context only: simplified by 10 m they look the
#: same, and all 657 London wards stay under 1 MB of the page's 2 MB.
HEATMAP_SIMPLIFY_M = 10.0


@dataclass(frozen=True)
class HotSpotCells:
    """Every hexagon of the area as the caller may see it, with what the answer says of it."""

    cells: gpd.GeoDataFrame  # i, j, count, suppressed, z, p, p_fdr, class [, crimes...]
    edge_m: int
    filters: list[str]
    note: list[str]
    with_crimes: bool


def _edge(edge: int) -> int:
    try:
        return check_edge(edge)
    except ValueError as exc:
        raise InvalidInput(str(exc)) from None


def _crime_columns(
    session: ReadSessionDep, query: AggregateRequest, cells: gpd.GeoDataFrame, edge: int
) -> pd.DataFrame:
    counted = aggregates.crime_hexagon_counts(session, query.selection, edge_m=edge)
    exact = (
        cells[["i", "j"]]
        .merge(counted, on=["i", "j"], how="left")["crimes"]
        .fillna(0)
        .astype("int64")
    )
    shown, suppressed = protect(exact.to_numpy(), query.rule)
    return pd.DataFrame({"crimes": shown, "crimes_suppressed": suppressed}, index=cells.index)


def _population_columns(
    session: ReadSessionDep, query: AggregateRequest, cells: gpd.GeoDataFrame, edge: int
) -> pd.DataFrame:
    """Residents and women of each cell in scope, and reports per 1,000 of each as shown."""
    people = hexagon_population(
        session, cells["i"], cells["j"], edge_m=edge, boroughs=query.selection.boroughs
    )
    rates = rates_per_1000(
        cells["count"], cells["suppressed"], people["persons"], people["females"]
    )
    columns = pd.DataFrame(
        {"residents": people["persons"].round(), "women": people["females"].round()}
    ).join(rates)
    columns.index = cells.index
    return columns


def _crime_note(rule: DisclosureRule | None) -> str:
    protection = f"; {rule.describe()}" if rule else ""
    return (
        "Police.uk crimes: counted per hexagon for the same boroughs and months (the other "
        f"filters describe reports and do not apply to crimes){protection}. Crimes are "
        "recorded offences at police.uk's anonymised map points, a different thing from reports."
    )


def _report_counts(
    session: ReadSessionDep, query: AggregateRequest, edge: int
) -> tuple[gpd.GeoDataFrame, np.ndarray]:
    """Every cell of the area (EPSG:4326) and its exact report count, in the same order."""
    cells = aggregates.hexagon_cells(session, query.selection.boroughs, edge_m=edge)
    counts = aggregates.hexagon_counts(session, query.selection, edge_m=edge)
    exact = (
        cells[["i", "j"]]
        .merge(counts[["i", "j", "reports"]], on=["i", "j"], how="left")["reports"]
        .fillna(0)
        .astype("int64")
        .to_numpy()
    )
    return cells, exact


def _note(
    session: ReadSessionDep, query: AggregateRequest, edge: int, *, extra: list[str]
) -> list[str]:
    return [
        *method_note(
            query.selection,
            query.rule,
            unit=f"{edge} m hexagons on the British National Grid",
            synthetic_included=aggregates.counts_synthetic(session, query.selection),
            period=period_for(session, query.selection),
        ),
        *extra,
    ]


def hot_spot_cells(
    session: ReadSessionDep, query: AggregateRequest, edge_m: int, *, with_crimes: bool
) -> HotSpotCells:
    """Count, protect and test the area's hexagons for this caller (the routes' one call)."""
    edge = _edge(edge_m)
    cells, exact = _report_counts(session, query, edge)
    spots = hot_spots(cells["i"], cells["j"], exact, query.rule)
    frame = gpd.GeoDataFrame(spots, geometry=cells.geometry.array, crs=cells.crs)
    extra = describe_method(len(frame), query.rule)
    frame = frame.join(_population_columns(session, query, frame, edge))
    extra.append(POPULATION_NOTE)
    if with_crimes:
        frame = frame.join(_crime_columns(session, query, cells, edge))
        extra.append(_crime_note(query.rule))
    query.audit_exact_read(session, "view hot spots (exact counts)")
    return HotSpotCells(
        cells=frame,
        edge_m=edge,
        filters=query.selection.describe(),
        note=_note(session, query, edge, extra=extra),
        with_crimes=with_crimes,
    )


@dataclass(frozen=True)
class HeatSurface:
    """The heatmap's surface for this caller, with the crimes layer and the method note."""

    surface: DensitySurface
    crimes: gpd.GeoDataFrame | None
    edge_m: int
    note: list[str]
    #: The hexagons whose counts are suppressed (polygons): the map hatches them.
    suppressed: gpd.GeoDataFrame | None = None


def heat_surface(
    session: ReadSessionDep,
    query: AggregateRequest,
    edge_m: int,
    *,
    bandwidth_m: float | None,
    with_crimes: bool,
) -> HeatSurface:
    """Kernel density of the hexagon counts the caller may see (suppressed cells weigh 0)."""
    edge = _edge(edge_m)
    cells, exact = _report_counts(session, query, edge)
    if cells.empty:
        raise NotFound(
            "there is nothing to map: none of the active wards is in the boroughs you may "
            f"see ({', '.join(query.selection.boroughs) or 'none'}); ask a supervisor to "
            "check your token's scope"
        )
    shown, suppressed = protect(exact, query.rule)
    x, y = hex_centres(cells["i"], cells["j"], edge)
    # One edge (0.58 of the distance between centres): the sum of the cells' kernels is smooth,
    # no cell shows as a dot, and a hot spot keeps about the size of its cells.
    sigma = bandwidth_m or float(edge)
    surface = kernel_density(x, y, np.where(suppressed, 0.0, shown), bandwidth_m=sigma)
    weighed = "exact counts" if query.rule is None else "protected counts, suppressed cells as 0"
    extra = [
        f"Heatmap: a Gaussian kernel density (standard deviation {sigma:.0f} m) of the "
        f"hexagons' centres weighted by their {weighed}; it shows where reports concentrate, "
        "smoothed, not where any report was made."
    ]
    crime_cells = None
    if with_crimes:
        crime_cells = cells[["i", "j", "geometry"]].join(
            _crime_columns(session, query, cells, edge)
        )
        extra.append(_crime_note(query.rule))
    query.audit_exact_read(session, "view heatmap (exact counts)")
    return HeatSurface(
        surface=surface,
        crimes=crime_cells,
        edge_m=edge,
        note=_note(session, query, edge, extra=extra),
        suppressed=cells.loc[suppressed, ["geometry"]] if query.rule is not None else None,
    )


# --- answers -------------------------------------------------------------------------------


def _number(value: Any, digits: int | None = None) -> Any:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return None
    if digits is None:
        return int(value)
    return round(float(value), digits)


def _properties(row: Any, with_crimes: bool) -> dict[str, Any]:
    properties = {
        "i": int(row["i"]),
        "j": int(row["j"]),
        "count": _number(row["count"]),
        "suppressed": bool(row["suppressed"]),
        "z": _number(row["z"], 4),
        "p": _number(row["p"], 4),
        "p_fdr": _number(row["p_fdr"], 4),
        # A missing class comes back from pandas as NaN; it is null in JSON.
        "class": row["class"] if isinstance(row["class"], str) else None,
        "residents": _number(row["residents"]),
        "women": _number(row["women"]),
        "reports_per_1000_residents": _number(row["reports_per_1000_residents"], 2),
        "reports_per_1000_women": _number(row["reports_per_1000_women"], 2),
        "rate_withheld": row["rate_withheld"] if isinstance(row["rate_withheld"], str) else None,
    }
    if with_crimes:
        properties["crimes"] = _number(row["crimes"])
        properties["crimes_suppressed"] = bool(row["crimes_suppressed"])
    return properties


def feature_collection(answer: HotSpotCells, rule: DisclosureRule | None) -> dict[str, Any]:
    """The hexagons as a GeoJSON FeatureCollection (WGS84), with the method note."""
    geometries = shapely.transform(answer.cells.geometry.array, lambda xy: np.round(xy, _DECIMALS))
    features = [
        {
            "type": "Feature",
            "geometry": shapely.geometry.mapping(geometry),
            "properties": _properties(row, answer.with_crimes),
        }
        for (_, row), geometry in zip(answer.cells.iterrows(), geometries, strict=True)
    ]
    return {
        "type": "FeatureCollection",
        "edge_m": answer.edge_m,
        "disclosure": None
        if rule is None
        else {"suppressed_below": rule.k, "rounded_to": rule.base},
        "filters": answer.filters,
        "method": answer.note,
        "features": features,
    }


def _long_csv(answer: HotSpotCells, crs: int) -> bytes:
    """One row per hexagon and thing counted; suppressed counts empty with suppressed=true."""
    cells = answer.cells
    wkt = shapely.to_wkt(
        (cells.geometry.to_crs(crs) if crs != 4326 else cells.geometry).array,
        rounding_precision=_DECIMALS if crs == 4326 else 2,
    )
    base = pd.DataFrame({"i": cells["i"], "j": cells["j"], "edge_m": answer.edge_m})
    reports = base.assign(
        counted="reports",
        count=pd.array(cells["count"].round(), dtype="Int64"),
        suppressed=cells["suppressed"],
        z=cells["z"].round(4),
        p=cells["p"].round(4),
        p_fdr=cells["p_fdr"].round(4),
        **{"class": cells["class"]},
        residents=pd.array(cells["residents"], dtype="Int64"),
        women=pd.array(cells["women"], dtype="Int64"),
        reports_per_1000_residents=cells["reports_per_1000_residents"],
        reports_per_1000_women=cells["reports_per_1000_women"],
        rate_withheld=cells["rate_withheld"],
        wkt=wkt,
    )
    parts = [reports]
    if answer.with_crimes:
        parts.append(
            base.assign(
                counted="police_uk_crimes",
                count=pd.array(cells["crimes"].round(), dtype="Int64"),
                suppressed=cells["crimes_suppressed"],
                z=np.nan,
                p=np.nan,
                p_fdr=np.nan,
                **{"class": None},
                residents=pd.array(cells["residents"], dtype="Int64"),
                women=pd.array(cells["women"], dtype="Int64"),
                reports_per_1000_residents=np.nan,
                reports_per_1000_women=np.nan,
                rate_withheld=None,
                wkt=wkt,
            )
        )
    table = pd.concat(parts, ignore_index=True)
    table["suppressed"] = table["suppressed"].map({True: "true", False: "false"})
    table["notes"] = ""
    if not table.empty:
        table.loc[0, "notes"] = " ".join(
            [*answer.note, f"The wkt column holds each hexagon in EPSG:{crs}."]
        )
    columns = ["counted", "i", "j", "edge_m", "count", "suppressed", "z", "p", "p_fdr", "class"]
    columns += ["residents", "women", "reports_per_1000_residents", "reports_per_1000_women"]
    columns += ["rate_withheld"]
    return bytes(table[[*columns, "wkt", "notes"]].to_csv(index=False).encode())


def _geopackage(answer: HotSpotCells, crs: int) -> bytes:
    """The hexagons as a GeoPackage layer, the method note as its description and a table."""
    layer = answer.cells.assign(
        edge_m=answer.edge_m, count=pd.array(answer.cells["count"].round(), dtype="Int64")
    )
    if answer.with_crimes:
        layer["crimes"] = pd.array(layer["crimes"].round(), dtype="Int64")
    layer = layer.to_crs(crs) if crs != 4326 else layer
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "hot_spots.gpkg"
        layer.to_file(
            path,
            layer="hot_spots",
            driver="GPKG",
            layer_options={"DESCRIPTION": " ".join(answer.note)},
        )
        # A table QGIS lists beside the layer: the note stays with the data it describes.
        pyogrio.write_dataframe(
            pd.DataFrame({"line": range(1, len(answer.note) + 1), "text": answer.note}),
            path,
            layer="method_note",
            driver="GPKG",
        )
        return path.read_bytes()


@router.get(
    "/hotspots",
    operation_id="hot_spots",
    response_class=Response,
    responses=schemas.geojson(
        schemas.FeatureCollection,
        "GeoJSON FeatureCollection of hexagons, with the method and disclosure",
    ),
)
def get_hot_spots(
    request: Request,
    session: ReadSessionDep,
    principal: PrincipalDep,
    query: Aggregates,
    edge: Edge = 500,
    crimes: WithCrimes = False,
) -> Response:
    """Hexagons of the area with their counts and Getis-Ord Gi* hot-spot class (GeoJSON).

    Each feature has ``i, j, count, suppressed, z, p, p_fdr, class``, the cell's residents
    and women in scope (apportioned by area from ONS LSOA estimates) with
    ``reports_per_1000_residents``, ``reports_per_1000_women`` and ``rate_withheld`` (and
    ``crimes, crimes_suppressed`` with ``crimes=true``); suppressed cells have ``count``,
    ``z``, ``p``, ``p_fdr``, ``class`` and the rates null. The top-level ``method`` says how
    it was made.
    """

    def draw() -> bytes:
        answer = hot_spot_cells(session, query, edge, with_crimes=crimes)
        return bytes(JSONResponse(feature_collection(answer, query.rule)).body)

    # Kept as the map pages are (service/page_cache.py): London's takes seconds to work out.
    return cached_page(request, session, principal, draw, media_type="application/geo+json")


@router.get(
    "/hotspots.{fmt}",
    operation_id="export_hot_spots",
    response_class=Response,
    responses={200: {"content": schemas.export_content(EXPORT_TYPES)}},
)
def export_hot_spots(
    session: ReadSessionDep,
    query: Aggregates,
    fmt: ExportFormat,
    edge: Edge = 500,
    crimes: WithCrimes = False,
    crs: Crs = 4326,
    layout: Layout = "long",
) -> Response:
    """Download the hot spots: CSV (WKT; long or wide), GeoJSON (always WGS84) or GeoPackage.

    The long CSV has a row per hexagon and thing counted; the wide one (``layout=wide``) a row
    per hexagon, a column per measure, a suppressed cell empty and named in the row's
    ``Suppressed (empty) cells``.
    """
    check_crs(crs)
    if layout != "long" and fmt != "csv":
        raise InvalidInput(f"layout={layout} is for the CSV: leave it out for {fmt}")
    answer = hot_spot_cells(session, query, edge, with_crimes=crimes)
    if fmt == "csv" and layout == "wide":
        body = hexagon_wide_csv(answer.cells, edge_m=answer.edge_m, note=answer.note, crs=crs)
    elif fmt == "csv":
        body = _long_csv(answer, crs)
    elif fmt == "geojson":
        body = json.dumps(feature_collection(answer, query.rule)).encode()
    else:
        body = _geopackage(answer, crs)
    return download(body, fmt, name=f"hot-spots-{answer.edge_m}m")


def _map_context(
    session: ReadSessionDep,
    query: AggregateRequest,
    *,
    with_crimes: bool,
    simplify_m: float = MAP_SIMPLIFY_M,
) -> tuple[gpd.GeoDataFrame, str]:
    active, wards = wards_frame(session, simplify_m=simplify_m)
    wards = wards[wards["borough_code"].isin(query.selection.boroughs)]
    credit = active.attribution
    if with_crimes:
        credit = f"{credit.rstrip('. ')}. {POLICE_UK_CREDIT}"
    return wards, credit


@router.get(
    "/maps/hotspots",
    operation_id="hot_spot_map",
    response_class=HTMLResponse,
    include_in_schema=False,
)
def hot_spot_map(
    request: Request,
    session: ReadSessionDep,
    principal: PrincipalDep,
    query: Aggregates,
    edge: Edge = 500,
    crimes: WithCrimes = False,
) -> Response:
    """The hot-spot map: hexagons by Gi* class, ward outlines, optional crimes, method note."""
    return cached_page(
        request,
        session,
        principal,
        lambda: hot_spot_sheet(request, session, query, edge, crimes).html,
    )


def hot_spot_sheet(
    request: Request, session: ReadSessionDep, query: AggregateRequest, edge: int, crimes: bool
) -> MapSheet:
    """The hot-spot map page and the words of its printed sheet (the page and print call it)."""
    answer = hot_spot_cells(session, query, edge, with_crimes=crimes)
    title = f"Hot spots of unsafe-place reports, {answer.edge_m} m hexagons"
    wards, credit = _map_context(session, query, with_crimes=crimes)
    crime_cells = answer.cells if crimes else None
    emerging, emerging_note = emerging_for_page(session, query, answer.edge_m)
    html = render_hot_spot_map(
        answer.cells,
        edge_m=answer.edge_m,
        k=None if query.rule is None else query.rule.k,
        wards=wards,
        crimes=crime_cells,
        title=title,
        filters=answer.filters,
        note=[*answer.note, *emerging_note],
        attribution=credit,
        asset_url=ASSET_URL,
        tiles=page_tiles(request, session),
        controls=page_controls(request, session, edges=HEX_EDGES_M, export_path="/hotspots"),
        emerging=emerging,
    )
    return MapSheet(html, title, sheet_period(session, query.selection), answer.note)


@router.get(
    "/maps/heatmap", operation_id="heatmap", response_class=HTMLResponse, include_in_schema=False
)
def heatmap(
    request: Request,
    session: ReadSessionDep,
    principal: PrincipalDep,
    query: Aggregates,
    edge: Edge = 500,
    bandwidth: Bandwidth = None,
    crimes: WithCrimes = False,
) -> Response:
    """The heatmap: a kernel density of the hexagon counts the caller may see."""
    return cached_page(
        request,
        session,
        principal,
        lambda: heat_map_sheet(request, session, query, edge, bandwidth, crimes).html,
    )


def heat_map_sheet(
    request: Request,
    session: ReadSessionDep,
    query: AggregateRequest,
    edge: int,
    bandwidth: float | None,
    crimes: bool,
) -> MapSheet:
    """The heatmap page and the words of its printed sheet (the page and print call it)."""
    heat = heat_surface(session, query, edge, bandwidth_m=bandwidth, with_crimes=crimes)
    title = f"Heatmap of unsafe-place reports ({heat.edge_m} m hexagons, smoothed)"
    wards, credit = _map_context(session, query, with_crimes=crimes, simplify_m=HEATMAP_SIMPLIFY_M)
    html = render_heatmap(
        heat.surface,
        wards=wards,
        crimes=heat.crimes,
        suppressed=heat.suppressed,
        k=None if query.rule is None else query.rule.k,
        title=title,
        filters=query.selection.describe(),
        note=heat.note,
        attribution=credit,
        asset_url=ASSET_URL,
        tiles=page_tiles(request, session),
        # The heatmap is smoothed from the hexagon counts; those are what it downloads.
        controls=page_controls(request, session, edges=HEX_EDGES_M, export_path="/hotspots"),
    )
    return MapSheet(html, title, sheet_period(session, query.selection), heat.note)
