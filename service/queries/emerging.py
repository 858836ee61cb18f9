"""The space-time cube of emerging hot spots: reports per hexagon per time step, in PostGIS.

The cube's locations are the hot-spot map's own hexagons (``aggregates.hexagon_cells``: every
cell touching the boroughs' active wards, empty ones included) and each step's counts are
``aggregates.hexagon_counts`` for the months of that step, so a cube's step holds exactly what
``GET /hotspots`` would count for those months, with the same filters. Counts are exact;
the caller protects them by role.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import date

import geopandas as gpd
import numpy as np
from numpy.typing import NDArray
from sqlalchemy.orm import Session

from geo.emerging import MIN_STEPS
from service.errors import InvalidInput
from service.queries.aggregates import AggregateFilter, hexagon_cells, hexagon_counts

#: Time steps offered, with the months each spans.
STEP_MONTHS = {"quarter": 3, "month": 1}
#: Steps a cube covers when no month range is asked for, ending with the current step.
DEFAULT_STEPS = {"quarter": 8, "month": 12}
#: The most steps one answer covers: each step is one Gi* run of 999 permutations.
MAX_STEPS = 36


def check_step(step: str) -> str:
    """Refuse a time step the cube does not offer."""
    if step not in STEP_MONTHS:
        raise InvalidInput(
            f"step must be one of {', '.join(STEP_MONTHS)}, not {step!r}: "
            "use step=quarter (the default) or step=month"
        )
    return step


def _add_months(month: date, months: int) -> date:
    index = month.year * 12 + month.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def step_start(month: date, step: str) -> date:
    """The first day of the step holding ``month``.

    Examples
    --------
    >>> step_start(date(2026, 5, 1), "quarter"), step_start(date(2026, 5, 1), "month")
    (datetime.date(2026, 4, 1), datetime.date(2026, 5, 1))

    """
    size = STEP_MONTHS[step]
    return date(month.year, (month.month - 1) // size * size + 1, 1)


def step_label(start: date, step: str) -> str:
    """A step as people write it: ``2026-Q2`` or ``2026-05``."""
    if step == "quarter":
        return f"{start.year}-Q{(start.month - 1) // 3 + 1}"
    return f"{start:%Y-%m}"


def cube_steps(selection: AggregateFilter, step: str, *, today: date) -> list[date]:
    """The first day of each step the cube covers, oldest first, checked.

    Whole steps: a range asked for in months is widened to the quarters holding its ends.
    Without a range, the :data:`DEFAULT_STEPS` steps up to today's; with one end only, that
    many steps from (or to) it, never past the current step.

    Raises
    ------
    InvalidInput
        When the range holds fewer than ``geo.emerging.MIN_STEPS`` steps (no trend can be
        significant) or more than :data:`MAX_STEPS`.

    Examples
    --------
    >>> selection = AggregateFilter(("E09000022",), month_from=date(2025, 2, 1))
    >>> [step_label(s, "quarter") for s in cube_steps(selection, "quarter", today=date(2026, 5, 3))]
    ['2025-Q1', '2025-Q2', '2025-Q3', '2025-Q4', '2026-Q1', '2026-Q2']

    """
    size = STEP_MONTHS[step]
    count = DEFAULT_STEPS[step]
    current = step_start(today.replace(day=1), step)
    first = step_start(selection.month_from, step) if selection.month_from else None
    last = step_start(selection.month_to, step) if selection.month_to else None
    if first is None and last is None:
        last = current
    if last is None:
        assert first is not None
        last = max(first, min(current, _add_months(first, size * (count - 1))))
    if first is None:
        first = _add_months(last, -size * (count - 1))
    steps: list[date] = []
    start = first
    while start <= last and len(steps) <= MAX_STEPS:
        steps.append(start)
        start = _add_months(start, size)
    if len(steps) > MAX_STEPS:
        raise InvalidInput(
            f"emerging hot spots cover at most {MAX_STEPS} steps at a time; {first:%Y-%m} to "
            f"{last:%Y-%m} is more {step}s than that: narrow month_from and month_to"
        )
    if len(steps) < MIN_STEPS:
        raise InvalidInput(
            f"emerging hot spots need at least {MIN_STEPS} time steps for a trend test, and "
            f"{first:%Y-%m} to {last:%Y-%m} holds {len(steps)} {step}(s): widen month_from and "
            "month_to, or use step=month"
        )
    return steps


@dataclass(frozen=True)
class SpaceTimeCube:
    """Exact report counts per hexagon (rows, in the order of ``cells``) and step (columns)."""

    cells: gpd.GeoDataFrame  # i, j, area_km2, geometry (EPSG:4326)
    counts: NDArray[np.int64]
    steps: list[date]
    step: str
    edge_m: int

    @property
    def first_month(self) -> date:
        """The first month the cube covers."""
        return self.steps[0]

    @property
    def last_month(self) -> date:
        """The last month the cube covers."""
        return _add_months(self.steps[-1], STEP_MONTHS[self.step] - 1)

    @property
    def labels(self) -> list[str]:
        """The steps as people write them."""
        return [step_label(s, self.step) for s in self.steps]


def space_time_cube(
    session: Session,
    selection: AggregateFilter,
    *,
    step: str,
    edge_m: int,
    today: date | None = None,
) -> SpaceTimeCube:
    """Count published reports per hexagon and step (exact), every cell and step included.

    ``selection``'s months choose the steps (:func:`cube_steps`); its other filters apply to
    every step. One ``GROUP BY`` in PostGIS per step.
    """
    steps = cube_steps(selection, check_step(step), today=today or date.today())
    cells = hexagon_cells(session, selection.boroughs, edge_m=edge_m)
    position = {(i, j): n for n, (i, j) in enumerate(zip(cells["i"], cells["j"], strict=True))}
    counts = np.zeros((len(cells), len(steps)), dtype=np.int64)
    size = STEP_MONTHS[step]
    for column, start in enumerate(steps):
        months = dataclasses.replace(
            selection, month_from=start, month_to=_add_months(start, size - 1)
        )
        counted = hexagon_counts(session, months, edge_m=edge_m)
        for i, j, reports in zip(counted["i"], counted["j"], counted["reports"], strict=True):
            # A report in a borough's ward lies in a cell touching that ward, so every
            # counted cell is one of the area's; the guard keeps a stray one from failing.
            row = position.get((int(i), int(j)))
            if row is not None:
                counts[row, column] = int(reports)
    return SpaceTimeCube(cells=cells, counts=counts, steps=steps, step=step, edge_m=edge_m)
