"""Ward and area summaries: reports, their rate and darkness, top categories, walks and concerns.

Counting happens in PostGIS and is exact (``service.queries.aggregates`` and the queries here);
:func:`protect_summary` then applies the caller's disclosure rule to every figure at once, so
no figure shown to a partner, planner, officer or the public is derived from an exact count:
rates and shares are worked out from the protected counts, and a suppressed unit carries none.

What the figures count:

- **count**: published reports in the unit matching every filter;
- **dark_share**: the share of them made about the dark (sun below -6°);
- **top categories**: the three commonest reasons given (a report with two counts in both);
- **walks**: walk-and-talk walks held (closed) in the ward, by the walk's ward and month; never
  their routes. For an uploaded area, the walks of the wards at least half inside it;
- **concerns**: reports raised on walks (source ``walk_concern``), with the month, category,
  darkness and time filters (the source filter picks the reports, not the concerns).
"""

from __future__ import annotations

import math
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely
from numpy.typing import NDArray
from shapely.geometry import MultiPolygon
from sqlalchemy import text
from sqlalchemy.orm import Session

from geo.disclosure import DisclosureRule, protect
from geo.population import METHOD_NOTE as POPULATION_NOTE
from geo.population import rates_per_1000
from service.method_note import Period, method_note
from service.queries.aggregates import AggregateFilter, area_counts, ward_categories, ward_counts
from service.queries.population import ward_population
from service.queries.wards import require_active_ward_set
from service.taxonomy import LABELS

#: How many categories a summary names per unit.
TOP_CATEGORIES = 3

#: A ward is one of an uploaded area's wards (for the walks held there) when at least this share
#: of it lies inside the area. Walks are counted by ward, never by where their routes ran.
AREA_WARD_SHARE = 0.5

#: The measures of the long-format CSV, in the order each ward lists them.
MEASURES = (
    "count",
    "rate_per_km2",
    "residents",
    "women",
    "reports_per_1000_residents",
    "reports_per_1000_women",
    "dark_share",
    "top_category",
    "walks",
    "concerns",
)

#: Rates per resident beside the rate per km² (``geo.population``), and why one is null.
POPULATION_COLUMNS = (
    "residents",
    "women",
    "reports_per_1000_residents",
    "reports_per_1000_women",
    "rate_withheld",
)

#: The per-unit columns of a protected summary (after the unit's own name columns).
FIGURE_COLUMNS = (
    "area_km2",
    "count",
    "suppressed",
    "rate_per_km2",
    *POPULATION_COLUMNS,
    "dark_share",
    "dark_suppressed",
    *(
        f"top_category_{n}{suffix}"
        for n in range(1, TOP_CATEGORIES + 1)
        for suffix in ("", "_label", "_count")
    ),
    "walks",
    "walks_suppressed",
    "concerns",
    "concerns_suppressed",
)

WARD_COLUMNS = ("ward_code", "ward_name", "borough_code", "borough_name")

#: Sentences added to the method note of every summary.
SUMMARY_NOTE = (
    "Rate per km² and share in the dark are worked out from the counts as shown; a suppressed "
    "ward or area has neither. Top categories are the three commonest reasons given (a report "
    "can give two); where counts are protected, only categories with a shown count are named.",
    "Walks are walk-and-talk walks held (closed) in the ward, by the walk's ward and month; "
    "other filters apply to reports only, and no route is used. Concerns are reports raised on "
    "walks (source walk_concern), filtered like reports except by source.",
    POPULATION_NOTE,
)


def concern_selection(selection: AggregateFilter) -> AggregateFilter:
    """The same filter, counting only concerns raised on walks."""
    return replace(selection, sources=("walk_concern",))


def _walk_conditions(selection: AggregateFilter) -> tuple[str, dict[str, Any]]:
    """SQL conditions on ``walks AS w``: held (closed), in the boroughs and months."""
    parts = ["w.closed_at IS NOT NULL", "w.borough_code = ANY(:walk_boroughs)"]
    params: dict[str, Any] = {"walk_boroughs": list(selection.boroughs)}
    # The month a walk was held in, on the London calendar.
    held_on = "(w.actual_start AT TIME ZONE 'Europe/London')::date"
    if selection.month_from is not None:
        parts.append(f"{held_on} >= :walk_from")
        params["walk_from"] = selection.month_from
    if selection.month_to is not None:
        parts.append(f"{held_on} < (:walk_to + interval '1 month')::date")
        params["walk_to"] = selection.month_to
    return " AND ".join(parts), params


def walks_per_ward(session: Session, selection: AggregateFilter) -> pd.DataFrame:
    """Walks held per ward of the boroughs, in the months chosen: ``ward_code, walks``.

    Only wards with walks are listed.
    """
    where, params = _walk_conditions(selection)
    rows = session.execute(
        text(
            f"SELECT w.ward_code, count(*) AS walks FROM walks w WHERE {where} "
            "GROUP BY w.ward_code ORDER BY w.ward_code"
        ),
        params,
    ).all()
    return pd.DataFrame(rows, columns=["ward_code", "walks"]).astype({"walks": "int64"})


def ward_figures(
    session: Session, selection: AggregateFilter, *, simplify_m: float | None = None
) -> tuple[gpd.GeoDataFrame, pd.DataFrame]:
    """Exact figures per active ward of the boroughs, and their categories.

    Returns
    -------
    (wards, categories)
        ``wards``: ``ward_code, ward_name, borough_code, borough_name, area_km2, reports,
        dark, walks, concerns, persons, females`` (residents apportioned by area; NaN when no
        population is loaded) and the ward polygon (EPSG:4326, simplified by ``simplify_m``
        metres if given), one row per ward, empty ones too. ``categories``: ``ward_code,
        category, reports`` for the pairs with reports.

    """
    counts = ward_counts(session, selection).rename(columns={"name": "ward_name"})
    concerns = ward_counts(session, concern_selection(selection))[["ward_code", "reports"]]
    walks = walks_per_ward(session, selection)
    frame = counts.merge(
        concerns.rename(columns={"reports": "concerns"}), on="ward_code", how="left"
    ).merge(walks, on="ward_code", how="left")
    frame[["walks", "concerns"]] = frame[["walks", "concerns"]].fillna(0).astype("int64")
    frame = frame.astype({"reports": "int64", "dark": "int64"})

    active = require_active_ward_set(session)
    frame = frame.merge(ward_population(session, active.id), on="ward_code", how="left")
    geometry = "geom"
    if simplify_m:
        geometry = (
            "ST_Transform(ST_SimplifyPreserveTopology(ST_Transform(geom, 27700), "
            "%(simplify)s), 4326)"
        )
    shapes = gpd.read_postgis(
        f"SELECT code AS ward_code, borough_name, {geometry} AS geometry FROM wards "
        "WHERE ward_set_id = %(set_id)s AND borough_code = ANY(%(boroughs)s) ORDER BY code",
        session.connection(),
        geom_col="geometry",
        params={"set_id": active.id, "boroughs": list(selection.boroughs), "simplify": simplify_m},
    )
    merged = shapes.merge(frame, on="ward_code", how="inner")
    columns = [*WARD_COLUMNS, "area_km2", "reports", "dark", "walks", "concerns"]
    columns += ["persons", "females", "geometry"]
    wards = gpd.GeoDataFrame(merged[columns], geometry="geometry", crs=4326)
    return wards, ward_categories(session, selection)


@dataclass(frozen=True)
class AreaFigures:
    """Exact figures for an uploaded area (before protection)."""

    area_km2: float
    scope_km2: float
    reports: int
    dark: int
    concerns: int
    walks: int
    walk_wards: tuple[str, ...]
    categories: pd.DataFrame


def area_coverage(
    session: Session, area: MultiPolygon, boroughs: tuple[str, ...]
) -> tuple[float, float]:
    """km² of an area inside the active wards, and inside the wards of ``boroughs``."""
    active = require_active_ward_set(session)
    row = session.execute(
        text(
            "WITH a AS (SELECT ST_GeomFromText(:area, 4326) AS g), "
            "parts AS (SELECT w.borough_code, ST_Area(ST_Intersection("
            "  ST_Transform(w.geom, 27700), ST_Transform(a.g, 27700))) / 1e6 AS km2 "
            "  FROM a JOIN wards w ON w.ward_set_id = :set_id AND ST_Intersects(w.geom, a.g)) "
            "SELECT coalesce(sum(km2), 0) AS service_km2, "
            "coalesce(sum(km2) FILTER (WHERE borough_code = ANY(:boroughs)), 0) AS scope_km2 "
            "FROM parts"
        ),
        {"area": area.wkt, "set_id": active.id, "boroughs": list(boroughs)},
    ).one()
    return float(row.service_km2), float(row.scope_km2)


def area_figures(
    session: Session, selection: AggregateFilter, area: MultiPolygon, *, scope_km2: float
) -> AreaFigures:
    """Exact figures for an uploaded area (WGS84), counted in the selection's boroughs."""
    counted = area_counts(session, selection, area)
    concerns = area_counts(session, concern_selection(selection), area)
    where, params = selection.where()
    categories = pd.DataFrame(
        session.execute(
            text(
                "SELECT 'area' AS unit, c.category, count(*) AS reports FROM reports r, "
                "unnest(r.categories) AS c(category) "
                f"WHERE ST_Intersects(ST_GeomFromText(:area, 4326), r.geom) AND {where} "
                "GROUP BY c.category ORDER BY reports DESC, c.category"
            ),
            {**params, "area": area.wkt},
        ).all(),
        columns=["unit", "category", "reports"],
    )
    active = require_active_ward_set(session)
    walk_where, walk_params = _walk_conditions(selection)
    held = session.execute(
        text(
            "WITH a AS (SELECT ST_GeomFromText(:area, 4326) AS g), "
            "covered AS (SELECT w.code FROM a JOIN wards w ON w.ward_set_id = :set_id "
            "  AND w.borough_code = ANY(:walk_boroughs) AND ST_Intersects(w.geom, a.g) "
            "  WHERE ST_Area(ST_Intersection(ST_Transform(w.geom, 27700), "
            "    ST_Transform(a.g, 27700))) >= :share * ST_Area(ST_Transform(w.geom, 27700))) "
            "SELECT coalesce(array_agg(c.code ORDER BY c.code), '{}') AS wards, "
            f"(SELECT count(*) FROM walks w WHERE {walk_where} "
            "  AND w.ward_code IN (SELECT code FROM covered)) AS walks FROM covered c"
        ),
        {**walk_params, "area": area.wkt, "set_id": active.id, "share": AREA_WARD_SHARE},
    ).one()
    return AreaFigures(
        area_km2=counted["area_km2"],
        scope_km2=scope_km2,
        reports=counted["reports"],
        dark=counted["dark"],
        concerns=concerns["reports"],
        walks=int(held.walks),
        walk_wards=tuple(held.wards),
        categories=categories.astype({"reports": "int64"}),
    )


def synthetic_counted(session: Session, selection: AggregateFilter) -> bool:
    """Whether any synthetic demo report, concern or walk is among those a summary counts."""
    where, params = selection.where()
    # Concerns ignore the source filter; the parameters are the same apart from the sources.
    concern_where, concern_params = replace(selection, sources=()).where("c")
    walk_where, walk_params = _walk_conditions(selection)
    return bool(
        session.execute(
            text(
                f"SELECT EXISTS (SELECT FROM reports r WHERE {where} AND r.source = 'synthetic') "
                f"OR EXISTS (SELECT FROM walks w WHERE {walk_where} AND w.synthetic) "
                "OR EXISTS (SELECT FROM reports c JOIN walks cw ON cw.id = c.walk_id "
                f"  WHERE {concern_where} AND c.source = 'walk_concern' AND cw.synthetic)"
            ),
            {**concern_params, **params, **walk_params},
        ).scalar_one()
    )


# --- protection: pure, on the exact figures ----------------------------------------------------


def protect_summary(
    exact: pd.DataFrame,
    categories: pd.DataFrame,
    rule: DisclosureRule | None,
    *,
    key: str = "ward_code",
    rate_km2: str = "area_km2",
) -> pd.DataFrame:
    """The figures a caller may see, from exact ones, one row per unit.

    Parameters
    ----------
    exact : DataFrame
        One row per unit: ``key``, ``rate_km2`` (the area rates are per), ``reports``,
        ``dark``, ``walks``, ``concerns``, optionally ``persons`` and ``females`` (residents
        apportioned to the unit, for rates per 1,000), and any name columns (kept as they are).
    categories : DataFrame
        ``key, category, reports``: exact reports per unit and category.
    rule : DisclosureRule or None
        None for exact figures (supervisors).
    key : str
        The unit's identifying column.
    rate_km2 : str
        The column of km² the rate is per.

    Returns
    -------
    DataFrame
        The name columns, then :data:`FIGURE_COLUMNS`. Counts are nullable integers: under a
        rule, a count below ``k`` is null with its ``*suppressed`` flag true, and everything
        worked out from it (rate, share, categories) is null too. Rates and shares come from
        the counts as shown. Categories under ``k`` are not named. Rates per 1,000 residents
        and women come from the count as shown too, and are null with ``rate_withheld``
        saying why (suppressed, too few residents, no population estimates).

    Examples
    --------
    >>> exact = pd.DataFrame({"ward_code": ["A", "B"], "area_km2": [2.0, 1.0],
    ...     "reports": [23, 4], "dark": [12, 4], "walks": [0, 11], "concerns": [3, 0]})
    >>> cats = pd.DataFrame({"ward_code": ["A", "A", "B"],
    ...     "category": ["isolated", "followed", "isolated"], "reports": [14, 9, 4]})
    >>> shown = protect_summary(exact, cats, DisclosureRule())
    >>> shown["count"].tolist(), shown["suppressed"].tolist()
    ([25, <NA>], [False, True])
    >>> shown["rate_per_km2"].tolist(), shown["dark_share"].tolist()
    ([12.5, nan], [0.4, nan])
    >>> shown["top_category_1"].tolist(), shown["walks"].tolist()
    (['isolated', None], [<NA>, 10])

    """
    population = ["persons", "females"]
    out = exact.drop(columns=["reports", "dark", "walks", "concerns", *population], errors="ignore")
    out = out.copy()
    out["area_km2"] = exact["area_km2"].round(4)
    count, suppressed = protect(exact["reports"].to_numpy(), rule)
    dark, dark_hidden = protect(exact["dark"].to_numpy(), rule)
    km2 = exact[rate_km2].to_numpy(dtype=float)
    out["count"] = _counts(count)
    out["suppressed"] = suppressed
    with np.errstate(divide="ignore", invalid="ignore"):
        out["rate_per_km2"] = np.round(np.where(suppressed, np.nan, count / km2), 1)
    # Rates per resident from the count as shown, like the rate per km² (geo.population).
    people = exact.reindex(columns=population).to_numpy(dtype=float)
    rates = rates_per_1000(count, suppressed, people[:, 0], people[:, 1])
    out["residents"] = _counts(people[:, 0])
    out["women"] = _counts(people[:, 1])
    for column in rates.columns:
        out[column] = rates[column].to_numpy()
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.where(suppressed | dark_hidden | (count == 0), np.nan, dark / count)
    out["dark_share"] = np.round(share, 3 if rule is None else 2)
    out["dark_suppressed"] = suppressed | dark_hidden
    top = _top_categories(categories, rule, key=key)
    named = [
        f"top_category_{n}{suffix}"
        for n in range(1, TOP_CATEGORIES + 1)
        for suffix in ("", "_label", "_count")
    ]
    for column in named:
        values = out[key].map(top.get(column, {}))
        if column.endswith("_count"):
            out[column] = _counts(values.to_numpy(dtype=float))
        else:
            out[column] = values.astype(object).where(values.notna(), None)
    # Nothing is named for a suppressed unit, not even its commonest category.
    out.loc[suppressed, named] = None
    for measure in ("walks", "concerns"):
        shown, hidden = protect(exact[measure].to_numpy(), rule)
        out[measure] = _counts(shown)
        out[f"{measure}_suppressed"] = hidden
    return out


def _counts(values: NDArray[np.float64]) -> Any:
    """Whole counts as a nullable integer array (NaN, i.e. suppressed, becomes NA)."""
    return pd.Series(values).round().astype("Int64").array


def _top_categories(
    categories: pd.DataFrame, rule: DisclosureRule | None, *, key: str
) -> dict[str, dict[Any, Any]]:
    """``top_category_<n>[_label|_count]`` columns as ``{column: {unit: value}}``."""
    if categories.empty:
        return {}
    shown, hidden = protect(categories["reports"].to_numpy(), rule)
    frame = categories.assign(shown=shown)[~hidden]
    # Ranked by the counts as shown (then name), so the order itself reveals nothing finer.
    frame = frame.sort_values([key, "shown", "category"], ascending=[True, False, True])
    frame = frame.assign(rank=frame.groupby(key).cumcount() + 1)
    frame = frame[frame["rank"] <= TOP_CATEGORIES]
    columns: dict[str, dict[Any, Any]] = {}
    for row in frame.itertuples(index=False):
        unit, rank = getattr(row, key), row.rank
        columns.setdefault(f"top_category_{rank}", {})[unit] = row.category
        columns.setdefault(f"top_category_{rank}_label", {})[unit] = LABELS.get(
            row.category, row.category
        )
        columns.setdefault(f"top_category_{rank}_count", {})[unit] = row.shown
    return columns


# --- files -------------------------------------------------------------------------------------


def long_table(summary: pd.DataFrame, *, exact: bool, notes: str) -> pd.DataFrame:
    """One row per ward and measure, as spreadsheets and pivot tables like it.

    Columns ``ward_code, ward_name, borough_code, borough_name, measure, rank, category,
    value, suppressed, notes``. A suppressed value is an empty ``value`` with ``suppressed``
    ``true``; nothing else is ever empty in ``value`` except a ``top_category`` rank a ward has
    no category for (under exact counts; under protected counts that row is marked suppressed,
    since the category may be one with too few reports to name), and a rate per 1,000 residents
    or women that is withheld, whose ``category`` then says why (``suppressed``, ``too few
    residents``, ``no population estimates``; residents and women are empty only in the last
    case). ``notes`` carries the method
    note on the first row only, as the hot-spot and themes CSVs do: on every row it would be
    most of the file (about 1 KB a row, 5 MB for all London's wards).
    """
    rows: list[dict[str, Any]] = []
    for ward in summary.to_dict("records"):
        names = {c: ward[c] for c in WARD_COLUMNS}
        measures: list[tuple[str, Any, bool, Any, Any]] = [
            ("count", ward["count"], ward["suppressed"], "", ""),
            ("rate_per_km2", ward["rate_per_km2"], ward["suppressed"], "", ""),
            ("residents", ward["residents"], False, "", ""),
            ("women", ward["women"], False, "", ""),
        ]
        # A rate withheld for too few residents is not a suppressed count: its reason is the
        # row's category, so the empty value is not read as zero.
        withheld = ward["rate_withheld"] if isinstance(ward["rate_withheld"], str) else ""
        for rate in ("reports_per_1000_residents", "reports_per_1000_women"):
            measures.append((rate, ward[rate], ward["suppressed"], "", withheld))
        measures += [
            ("dark_share", ward["dark_share"], ward["dark_suppressed"], "", ""),
        ]
        for n in range(1, TOP_CATEGORIES + 1):
            category = ward[f"top_category_{n}"]
            value = ward[f"top_category_{n}_count"]
            measures.append(("top_category", value, category is None and not exact, n, category))
        measures.append(("walks", ward["walks"], ward["walks_suppressed"], "", ""))
        measures.append(("concerns", ward["concerns"], ward["concerns_suppressed"], "", ""))
        for measure, value, hidden, rank, category in measures:
            rows.append(
                {
                    **names,
                    "measure": measure,
                    "rank": rank,
                    "category": category or "",
                    "value": "" if hidden or _missing(value) else _text(value),
                    "suppressed": "true" if hidden else "false",
                    "notes": "" if rows else notes,
                }
            )
    return pd.DataFrame(
        rows,
        columns=[
            *WARD_COLUMNS,
            "measure",
            "rank",
            "category",
            "value",
            "suppressed",
            "notes",
        ],
    )


def _missing(value: Any) -> bool:
    return value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value))


def _text(value: Any) -> str:
    if isinstance(value, float | np.floating) and not float(value).is_integer():
        return f"{float(value):g}"
    return str(int(value))


def summary_geopackage(
    summary: gpd.GeoDataFrame, note: list[str], *, crs: int, layer: str = "ward_summary"
) -> bytes:
    """A GeoPackage: the summary layer (with a ``notes`` column) and a ``method_note`` table.

    The table is a plain attribute table (one sentence per row), which QGIS lists beside the
    layer and ArcGIS opens as a standalone table.
    """
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"{layer}.gpkg"
        frame = summary.to_crs(crs) if crs != 4326 else summary
        frame.to_file(path, layer=layer, driver="GPKG")
        table = pd.DataFrame({"line": range(1, len(note) + 1), "text": note})
        pyogrio.write_dataframe(table, path, layer="method_note", driver="GPKG")
        return path.read_bytes()


def rounded_geometry(frame: gpd.GeoDataFrame, decimals: int = 6) -> gpd.GeoDataFrame:
    """The frame with coordinates rounded (six decimals of a degree is about 0.1 m)."""
    return frame.set_geometry(
        gpd.GeoSeries(
            shapely.transform(frame.geometry.array, lambda xy: np.round(xy, decimals)),
            index=frame.index,
            crs=frame.crs,
        )
    )


def summary_note(
    selection: AggregateFilter,
    rule: DisclosureRule | None,
    *,
    unit: str,
    synthetic: bool,
    period: Period,
) -> list[str]:
    """The method note of a summary: the shared note, then what the summary's figures are."""
    note = method_note(selection, rule, unit=unit, synthetic_included=synthetic, period=period)
    note.extend(SUMMARY_NOTE)
    if rule is not None:
        note.append(
            f"Walks, concerns and category counts are protected the same way (fewer than "
            f"{rule.k} suppressed, others rounded to the nearest {rule.base})."
        )
    return note
