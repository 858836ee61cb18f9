"""The boundary data shipped with the package, and the Met's command units.

Sources, licences and vintages are in ``data/ATTRIBUTION.md``. The attribution
lines here must be shown with any map or export made from the data.
"""

from __future__ import annotations

import csv
import functools
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "BOROUGHS_ATTRIBUTION",
    "LONDON_BOROUGHS_PATH",
    "LONDON_WARDS_2018",
    "PILOT_WARDS",
    "WARD_SETS",
    "BundledWardSet",
    "CommandUnit",
    "UnknownCommandUnit",
    "command_units",
    "find_command_unit",
]

DATA_DIR = Path(__file__).parent / "data"
COMMAND_UNITS_PATH = DATA_DIR / "met_command_units.csv"


@dataclass(frozen=True)
class BundledWardSet:
    """A ward boundary file shipped with the package, readable with ``read_wards``."""

    name: str
    path: Path
    description: str
    attribution: str


PILOT_WARDS = BundledWardSet(
    name="pilot-2024",
    path=DATA_DIR
    / "lambeth_southwark_wards_2024"
    / "LambethSouthwarkandAdjoiningAreas_Wards_highdef_Dec2024.geojson",
    description=(
        "Lambeth and Southwark wards, December 2024 (48 wards: the wards in force today), "
        "ONS full-resolution boundaries, EPSG:4326"
    ),
    attribution=(
        "Source: Office for National Statistics licensed under the Open Government Licence "
        "v3.0. Contains OS data © Crown copyright and database right 2024"
    ),
)

LONDON_WARDS_2018 = BundledWardSet(
    name="london-2018",
    path=DATA_DIR / "london_wards_2018" / "London_Ward.tab",
    description=(
        "All London wards as at 2018 (657 wards, City of London wards separate; Lambeth's "
        "pre-2022 wards), GLA London Datastore, MapInfo TAB, EPSG:27700"
    ),
    attribution=(
        "Contains National Statistics data © Crown copyright and database right 2018; "
        "Contains Ordnance Survey data © Crown copyright and database right 2018"
    ),
)

WARD_SETS: dict[str, BundledWardSet] = {s.name: s for s in (PILOT_WARDS, LONDON_WARDS_2018)}
"""The bundled ward sets by name."""

LONDON_BOROUGHS_PATH = DATA_DIR / "london_boroughs" / "London_Borough_Excluding_MHW.shp"
"""The 33 London boroughs (City of London included), shapefile with an ESRI BNG .prj."""

BOROUGHS_ATTRIBUTION = (
    "Contains National Statistics data © Crown copyright and database right 2012; "
    "Contains Ordnance Survey data © Crown copyright and database right 2012"
)


@dataclass(frozen=True)
class CommandUnit:
    """A Metropolitan Police Basic Command Unit and the GSS codes of its boroughs."""

    code: str
    name: str
    borough_codes: tuple[str, ...]


class UnknownCommandUnit(ValueError):
    """No command unit has the given code or name."""


def command_units() -> dict[str, CommandUnit]:
    """Return the Met's 12 Basic Command Units, keyed by code.

    The City of London is in none of them: it has its own police force.

    Returns
    -------
    dict of str to CommandUnit
        A fresh dict on every call, in file order.

    Examples
    --------
    >>> units = command_units()
    >>> len(units), units["AS"].name, units["AS"].borough_codes
    (12, 'Central South', ('E09000022', 'E09000028'))

    """
    return dict(_load_command_units())


def find_command_unit(code_or_name: str) -> CommandUnit:
    """Find a command unit by its code or its name, ignoring case and outer spaces.

    Parameters
    ----------
    code_or_name : str
        A code such as ``"AS"`` or a name such as ``"Central South"``.

    Returns
    -------
    CommandUnit
        The matching unit.

    Raises
    ------
    UnknownCommandUnit
        If nothing matches; the message lists the known units.

    Examples
    --------
    >>> find_command_unit("central south").code
    'AS'

    """
    wanted = code_or_name.strip().casefold()
    units = _load_command_units()
    for unit in units.values():
        if wanted in (unit.code.casefold(), unit.name.casefold()):
            return unit
    known = ", ".join(f"{u.code} ({u.name})" for u in units.values())
    raise UnknownCommandUnit(
        f"no command unit {code_or_name!r}; give one of these codes or names: {known}"
    )


@functools.cache
def _load_command_units() -> dict[str, CommandUnit]:
    boroughs: dict[str, list[str]] = {}
    names: dict[str, str] = {}
    with COMMAND_UNITS_PATH.open(newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            names[row["code"]] = row["name"]
            boroughs.setdefault(row["code"], []).append(row["borough_code"])
    return {code: CommandUnit(code, names[code], tuple(boroughs[code])) for code in names}
