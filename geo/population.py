"""Resident population for rates per 1,000 residents and per 1,000 women.

The source is the ONS mid-2020 small-area population estimates for London's Lower Layer Super
Output Areas (LSOA 2011), with the LSOA boundaries (bundled in ``data/population``). LSOAs do
not nest in the 2024 wards, in an uploaded area or in a hexagon, so their residents are
**apportioned by area** with ``tobler.area_weighted.area_interpolate`` (PySAL): a unit gets
each LSOA's residents in proportion to the share of the LSOA's area inside it. That assumes
people live evenly across an LSOA, which a park, a railway yard or the river is not: the
honest first method, stated in every method note (:data:`METHOD_NOTE`). A dasymetric method
(residents placed on residential land) would do better and could replace :func:`apportion`.

Rates follow the disclosure rule: a suppressed count gives no rate, a rounded count gives the
rate of the rounded count (:func:`rates_per_1000`), and a unit with fewer than
:data:`MIN_RESIDENTS` residents (a park hexagon) gives none, so rates do not explode.

Pure: files or frames in, frames out; no database.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
from numpy.typing import ArrayLike
from pyproj import CRS
from tobler.area_weighted import area_interpolate

__all__ = [
    "CSV_COLUMNS",
    "METHOD_NOTE",
    "MIN_RESIDENTS",
    "NO_POPULATION",
    "SUPPRESSED",
    "TOO_FEW",
    "PopulationFileError",
    "apportion",
    "rates_per_1000",
    "read_population",
]

#: Columns of the ONS estimates file this service reads, and what it calls them.
CSV_COLUMNS = {
    "LSOA11CD": "code",
    "LSOA11NM": "name",
    "LAD11CD": "district_code",
    "LAD11NM": "district_name",
    "Persons_All-Ages": "persons",
    "Females_All-Ages": "females",
}
#: The boundary file's LSOA code column.
BOUNDARY_CODE = "LSOA11CD"
BRITISH_NATIONAL_GRID = CRS.from_epsg(27700)

#: Below this many residents (apportioned) a unit gets no rate: a few residents would make a
#: handful of reports look like hundreds per 1,000.
MIN_RESIDENTS = 100

#: Why a rate is missing (``rate_withheld``).
SUPPRESSED = "suppressed"
TOO_FEW = "too few residents"
NO_POPULATION = "no population estimates"

#: The method note's sentence on rates (shown wherever a rate is).
METHOD_NOTE = (
    "Rates per 1,000 residents and per 1,000 women: population apportioned from ONS mid-2020 "
    "LSOA estimates by area (each LSOA's residents shared out in proportion to the part of its "
    "area inside the ward, area or hexagon, with tobler's area-weighted interpolation; this "
    "assumes residents spread evenly over an LSOA, so rates in units of parks or rail land are "
    "rough). Rates are worked out from the counts as shown: a suppressed count has no rate, and "
    f"a unit with fewer than {MIN_RESIDENTS} residents (or women) has none either. Source: "
    "Office for National Statistics licensed under the Open Government Licence v3.0. Contains "
    "OS data © Crown copyright and database right (2022)."
)


class PopulationFileError(ValueError):
    """Population files that cannot be used; the message names the file and the fix."""


def _one(folder: Path, pattern: str, what: str) -> Path:
    found = sorted(folder.glob(pattern))
    if len(found) != 1:
        listed = ", ".join(p.name for p in found) or "none"
        raise PopulationFileError(
            f"{folder} must hold exactly one {what} ({pattern}), found {listed}: give the "
            "folder with the ONS estimates CSV and the LSOA boundary shapefile"
        )
    return found[0]


def read_population(folder: Path) -> gpd.GeoDataFrame:
    """LSOA residents and boundaries from a folder, EPSG:27700.

    The folder holds one CSV of ONS estimates (columns :data:`CSV_COLUMNS`) and one
    shapefile of LSOA boundaries with ``LSOA11CD``; codes must match one to one.

    Returns
    -------
    GeoDataFrame
        ``code, name, district_code, district_name, persons, females`` and the polygon,
        one row per LSOA, in code order, on the British National Grid.

    Raises
    ------
    PopulationFileError
        A file missing or unreadable, a column missing, a count that is not a whole number
        of at least 0, codes repeated or not matching, or boundaries not in EPSG:27700.

    """
    if not folder.is_dir():
        raise PopulationFileError(f"{folder} is not a folder: give the population data folder")
    csv_path = _one(folder, "*.csv", "CSV of population estimates")
    shp_path = _one(folder, "*.shp", "LSOA boundary shapefile")
    try:
        table = pd.read_csv(csv_path, dtype=str)
    except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as exc:
        raise PopulationFileError(f"{csv_path.name} is not a readable CSV: {exc}") from None
    missing = [c for c in CSV_COLUMNS if c not in table.columns]
    if missing:
        raise PopulationFileError(
            f"{csv_path.name} lacks the columns {', '.join(missing)}: it must be the ONS "
            "mid-year LSOA estimates with LSOA11CD, LAD11CD, Persons_All-Ages, Females_All-Ages"
        )
    table = table[list(CSV_COLUMNS)].rename(columns=CSV_COLUMNS)
    for column in ("persons", "females"):
        numbers = pd.to_numeric(table[column], errors="coerce")
        bad = table.loc[numbers.isna() | (numbers < 0) | (numbers % 1 != 0), "code"]
        if not bad.empty:
            raise PopulationFileError(
                f"{csv_path.name}: {len(bad)} rows have a {column} count that is not a whole "
                f"number of at least 0 (first: {', '.join(map(str, bad.head(3)))})"
            )
        table[column] = numbers.astype("int64")
    if (table["females"] > table["persons"]).any():
        raise PopulationFileError(f"{csv_path.name}: some LSOAs have more women than residents")
    try:
        shapes = gpd.read_file(shp_path)
    except Exception as exc:  # pyogrio raises several kinds for a broken shapefile
        raise PopulationFileError(f"{shp_path.name} is not a readable shapefile: {exc}") from None
    if BOUNDARY_CODE not in shapes.columns:
        raise PopulationFileError(f"{shp_path.name} has no {BOUNDARY_CODE} column")
    if shapes.crs is None or not CRS.from_user_input(shapes.crs).equals(BRITISH_NATIONAL_GRID):
        raise PopulationFileError(
            f"{shp_path.name} is not in EPSG:27700 (British National Grid), or its .prj is "
            "missing: reproject it or restore the .prj"
        )
    for name, codes in ((csv_path.name, table["code"]), (shp_path.name, shapes[BOUNDARY_CODE])):
        repeated = codes[codes.duplicated()]
        if not repeated.empty:
            raise PopulationFileError(f"{name} repeats LSOA codes: {', '.join(repeated.head(3))}")
    only_csv = sorted(set(table["code"]) - set(shapes[BOUNDARY_CODE]))
    only_shp = sorted(set(shapes[BOUNDARY_CODE]) - set(table["code"]))
    if only_csv or only_shp:
        raise PopulationFileError(
            f"the LSOA codes of {csv_path.name} and {shp_path.name} do not match: "
            f"{len(only_csv)} only in the CSV ({', '.join(only_csv[:3])}), {len(only_shp)} only "
            f"in the boundaries ({', '.join(only_shp[:3])})"
        )
    shapes = shapes[[BOUNDARY_CODE, "geometry"]].rename(columns={BOUNDARY_CODE: "code"})
    shapes["geometry"] = shapes.geometry.make_valid()
    merged = shapes.merge(table, on="code").sort_values("code", ignore_index=True)
    columns = [*CSV_COLUMNS.values(), "geometry"]
    return gpd.GeoDataFrame(merged[columns], geometry="geometry", crs=27700)


def apportion(
    source: gpd.GeoDataFrame,
    targets: gpd.GeoDataFrame,
    *,
    columns: tuple[str, ...] = ("persons", "females"),
) -> pd.DataFrame:
    """Residents of ``source`` zones shared out to ``targets`` by area.

    Parameters
    ----------
    source : GeoDataFrame
        Zones with counts (``columns``), in a projected CRS in metres.
    targets : GeoDataFrame
        Units to apportion to, in the same CRS.
    columns : tuple of str
        Extensive counts to apportion.

    Returns
    -------
    DataFrame
        ``columns`` as floats, one row per target with the targets' index. Each source zone
        gives a target its count times the share of the zone's area inside the target; the
        part of a zone outside every target is not forced in (``allocate_total=False``), so a
        hexagon half over an LSOA gets half its residents, not all of them.

    Examples
    --------
    >>> from shapely.geometry import box
    >>> lsoas = gpd.GeoDataFrame({"persons": [1000], "females": [500]},
    ...     geometry=[box(0, 0, 100, 100)], crs=27700)
    >>> ward = gpd.GeoDataFrame(geometry=[box(0, 0, 50, 100)], crs=27700)
    >>> apportion(lsoas, ward).round(1).to_dict("records")
    [{'persons': 500.0, 'females': 250.0}]

    """
    if source.crs is None or not CRS.from_user_input(source.crs).is_projected:
        raise ValueError("apportion needs zones in a projected CRS in metres, e.g. EPSG:27700")
    if targets.crs is None or not CRS.from_user_input(targets.crs).equals(source.crs):
        raise ValueError("targets must be in the same CRS as the source zones")
    if targets.empty or source.empty:
        return pd.DataFrame(
            {c: np.zeros(len(targets)) for c in columns}, index=targets.index, dtype=float
        )
    with warnings.catch_warnings():
        # scipy warns that tobler's int64 diagonal becomes float64: that is what is wanted.
        warnings.simplefilter("ignore", FutureWarning)
        estimated = area_interpolate(
            source[[*columns, "geometry"]].astype({c: "float64" for c in columns}),
            targets[["geometry"]].reset_index(drop=True),
            extensive_variables=list(columns),
            allocate_total=False,
        )
    out = pd.DataFrame(estimated[list(columns)].to_numpy(dtype=float), columns=list(columns))
    out.index = targets.index
    return out


def rates_per_1000(
    counts: ArrayLike,
    suppressed: ArrayLike,
    persons: ArrayLike,
    females: ArrayLike,
    *,
    decimals: int = 2,
) -> pd.DataFrame:
    """Reports per 1,000 residents and per 1,000 women, from the counts as shown.

    Parameters
    ----------
    counts : array of float
        The counts the viewer sees (rounded for all but supervisors; NaN when suppressed).
    suppressed : array of bool
        Which counts were suppressed.
    persons, females : array of float
        Apportioned residents and women of each unit; NaN when no estimates are loaded.
    decimals : int
        Decimals of the rates.

    Returns
    -------
    DataFrame
        ``reports_per_1000_residents``, ``reports_per_1000_women`` (NaN when withheld) and
        ``rate_withheld``: None, :data:`SUPPRESSED`, :data:`TOO_FEW` (fewer than
        :data:`MIN_RESIDENTS` residents or women) or :data:`NO_POPULATION`.

    Examples
    --------
    >>> rates = rates_per_1000([25, float("nan"), 10, 10], [False, True, False, False],
    ...     [5000, 5000, 60, float("nan")], [2500, 2500, 30, float("nan")])
    >>> rates.loc[0, ["reports_per_1000_residents", "reports_per_1000_women"]].tolist()
    [5.0, 10.0]
    >>> rates["rate_withheld"].tolist()
    [None, 'suppressed', 'too few residents', 'no population estimates']

    """
    shown = np.asarray(counts, dtype=float)
    hidden = np.asarray(suppressed, dtype=bool)
    people = np.asarray(persons, dtype=float)
    women = np.asarray(females, dtype=float)
    unknown = np.isnan(people) | np.isnan(women)
    few = ~unknown & ((people < MIN_RESIDENTS) | (women < MIN_RESIDENTS))
    withheld = np.select(
        [hidden | np.isnan(shown), unknown, few], [SUPPRESSED, NO_POPULATION, TOO_FEW], ""
    )
    usable = withheld == ""
    with np.errstate(divide="ignore", invalid="ignore"):
        per_resident = np.where(usable, shown / people * 1000, np.nan)
        per_woman = np.where(usable, shown / women * 1000, np.nan)
    frame = pd.DataFrame(
        {
            "reports_per_1000_residents": np.round(per_resident, decimals),
            "reports_per_1000_women": np.round(per_woman, decimals),
        }
    )
    # Object dtype keeps None (JSON null) rather than pandas' NaN for "no reason".
    frame["rate_withheld"] = pd.Series([w or None for w in withheld.tolist()], dtype=object)
    return frame
