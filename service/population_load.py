"""``walktalk population load [DIR]``: ONS LSOA estimates into PostGIS, in one transaction.

Reads the folder (``geo.population.read_population``; the bundled ``data/population`` when
none is given), replaces every stored LSOA and apportions the residents to the wards of every
stored ward set (``service.queries.population``). All or nothing: a bad file stores nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from geo.grid import GridMissing, to_wgs84
from geo.population import PopulationFileError, read_population
from service.errors import WalkTalkError
from service.queries import population as population_queries
from service.queries.bulk import Progress

#: The bundled estimates (ONS mid-2020, OGL v3.0; see its ATTRIBUTION.md).
BUNDLED_DIR = Path(__file__).resolve().parents[1] / "data" / "population"


@dataclass(frozen=True)
class PopulationLoad:
    """What a load stored."""

    folder: Path
    lsoas: int
    persons: int
    females: int
    wards: dict[str, int]


def load_population(
    engine: Engine, folder: Path | None = None, *, progress: Progress | None = None
) -> PopulationLoad:
    """Replace the stored LSOA estimates with a folder's, and the wards' shares; one transaction.

    Raises
    ------
    WalkTalkError
        The files cannot be used (the message says why and that nothing was loaded), or the
        OSTN15 grid needed to put the boundaries in WGS84 is missing.

    """
    folder = folder or BUNDLED_DIR
    try:
        lsoas = read_population(folder)
        to_wgs84()  # refuses when the OSTN15 grid is missing: GeoPandas would silently not use it
    except (PopulationFileError, GridMissing) as exc:
        raise WalkTalkError(f"{exc}: nothing was loaded") from None
    stored = lsoas.to_crs(4326)
    with Session(engine) as session, session.begin():
        count = population_queries.store_lsoas(
            session, stored, source=folder.name, progress=progress
        )
        wards = population_queries.store_all_ward_populations(session)
    return PopulationLoad(
        folder=folder,
        lsoas=count,
        persons=int(lsoas["persons"].sum()),
        females=int(lsoas["females"].sum()),
        wards=wards,
    )
