"""Statistical hot spots: Getis-Ord Gi* on hexagon counts, corrected for many tests.

Each hexagon's count plus its six neighbours' is compared with what the same number of cells
drawn at random from the area would hold (esda's ``G_Local`` with ``star=True``: 999 conditional
permutations, a fixed seed, so the same counts always give the same map). With hundreds of
cells, some would pass a 95 % test by chance alone, so the pseudo p-values are corrected with
Benjamini and Hochberg's false discovery rate (FDR) before any cell is called hot or cold.

What the statistic runs on, by viewer
-------------------------------------
z is linear in the counts of a cell's neighbourhood, so publishing z computed from exact counts
next to protected ones would let anyone solve the system back for the exact counts of the
suppressed cells. :func:`hot_spots` therefore takes the exact counts *and* the viewer's
disclosure rule, and for protected viewers (partners, planners, the public, officers) runs
Gi* on the protected values: the rounded counts, with every suppressed cell taken as 0. Its
results are then a function of what the viewer is shown anyway and reveal nothing more.
Suppressed cells get no z, p or class. Supervisors (no rule) get Gi* on the exact counts.

Two choices, both conservative:

* **Two-sided p.** A cell is tested for being hot *or* cold, so ``p`` is twice the smaller
  tail of its permutation distribution (capped at 1), with ties counted in both tails.
  (esda's own ``p_sim`` takes the smaller tail once and counts ties only upwards, which gives
  an all-zero neighbourhood p = 0.001 however common zero neighbourhoods are.)
* **The FDR family is every cell of the area**, suppressed ones included, for every viewer.

A consequence worth knowing: with 999 permutations the smallest possible ``p`` is 0.002, so
after FDR over ``n`` cells the 99 % class needs at least ``n / 5`` cells at that floor, the
95 % class ``n / 25`` and the 90 % class ``n / 50``. Small clusters in a large area therefore
reach 90 % or 95 % at most; that is what 999 permutations can support, not a fault.

Pure numpy, scipy, libpysal and esda: no database, no HTTP.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from esda import G_Local
from libpysal.weights import W
from numpy.typing import ArrayLike, NDArray
from scipy.stats import false_discovery_control

from geo.disclosure import DisclosureRule, protect

__all__ = [
    "CLASSES",
    "CONFIDENCE_LEVELS",
    "NOT_SIGNIFICANT",
    "PERMUTATIONS",
    "SEED",
    "benjamini_hochberg",
    "class_label",
    "describe_method",
    "gi_star",
    "hex_neighbours",
    "hex_weights",
    "hot_spots",
]

#: Conditional permutations per cell, as esda's default and ArcGIS's "999 permutations".
PERMUTATIONS = 999
#: Fixed, so the same counts always give the same p-values and the same map.
SEED = 20_260_105
#: Confidence (per cent) and the FDR-adjusted p a cell must reach for it, strictest first.
CONFIDENCE_LEVELS = ((99, 0.01), (95, 0.05), (90, 0.10))
NOT_SIGNIFICANT = "not_significant"
#: Every class, hottest first.
CLASSES = (
    *(f"hot_{level}" for level, _ in CONFIDENCE_LEVELS),
    NOT_SIGNIFICANT,
    *(f"cold_{level}" for level, _ in reversed(CONFIDENCE_LEVELS)),
)

# The six neighbours of a flat-topped hexagon (i, j) in PostGIS's layout (see geo.hexagons):
# same column j +/- 1, and in each adjacent column rows j and j - 1 when i is even, j and j + 1
# when i is odd (odd columns sit half a cell higher).
_SAME_COLUMN = ((0, -1), (0, 1))
_EVEN_SIDES = ((-1, 0), (-1, -1), (1, 0), (1, -1))
_ODD_SIDES = ((-1, 0), (-1, 1), (1, 0), (1, 1))


def hex_neighbours(i: ArrayLike, j: ArrayLike) -> dict[int, list[int]]:
    """Which of the given cells touch which: positions into ``i``/``j``, six at most each.

    Worked out from the indices alone (no polygons), so thousands of cells take milliseconds.

    Examples
    --------
    >>> hex_neighbours([0, 1, 1, 2, 5], [0, 0, -1, 0, 5])
    {0: [1, 2], 1: [0, 2, 3], 2: [0, 1, 3], 3: [1, 2], 4: []}

    """
    ii = np.asarray(i, dtype=np.int64)
    jj = np.asarray(j, dtype=np.int64)
    if ii.shape != jj.shape or ii.ndim != 1:
        raise ValueError(f"i and j must be 1-d and of one length, not {ii.shape} and {jj.shape}")
    position = {(a, b): n for n, (a, b) in enumerate(zip(ii.tolist(), jj.tolist(), strict=True))}
    if len(position) != len(ii):
        raise ValueError("cells (i, j) must be distinct; some appear twice")
    neighbours: dict[int, list[int]] = {}
    for n, (a, b) in enumerate(zip(ii.tolist(), jj.tolist(), strict=True)):
        offsets = _SAME_COLUMN + (_ODD_SIDES if a % 2 else _EVEN_SIDES)
        found = (position.get((a + da, b + db)) for da, db in offsets)
        neighbours[n] = sorted(m for m in found if m is not None)
    return neighbours


def hex_weights(i: ArrayLike, j: ArrayLike) -> W:
    """Binary contiguity weights of the cells (six neighbours each, fewer at the area's edge)."""
    neighbours = hex_neighbours(i, j)
    # A cell with no neighbour in the area (an island) is legitimate; gi_star leaves it
    # untested.
    return W(neighbours, silence_warnings=True)


def benjamini_hochberg(p: ArrayLike) -> NDArray[np.float64]:
    """Benjamini-Hochberg adjusted p-values (q-values); NaN (untested) stays NaN.

    A cell is significant at false discovery rate ``q`` when its adjusted p is at most ``q``.

    Examples
    --------
    >>> benjamini_hochberg([0.01, 0.04, 0.03, float("nan"), 0.5]).round(3).tolist()
    [0.04, 0.053, 0.053, nan, 0.5]

    """
    values = np.asarray(p, dtype=np.float64)
    adjusted = np.full(values.shape, np.nan)
    tested = np.isfinite(values)
    if tested.any():
        adjusted[tested] = false_discovery_control(values[tested], method="bh")
    return adjusted


def gi_star(
    i: ArrayLike,
    j: ArrayLike,
    values: ArrayLike,
    *,
    permutations: int = PERMUTATIONS,
    seed: int = SEED,
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Getis-Ord Gi* z-scores and two-sided pseudo p-values of whole-number cell values.

    Parameters
    ----------
    i, j : array of int
        The cells, every cell of the area (empty ones too: they are what "not hot" looks like).
    values : array of int
        What to test, one per cell: counts, or a viewer's protected counts.
    permutations : int
        Conditional permutations per cell.
    seed : int
        Seed of the permutations.

    Returns
    -------
    (z, p)
        ``z`` is esda's ``Zs`` (positive: more than expected around the cell); ``p`` is
        ``2 * (min(#sims >= observed, #sims <= observed) + 1) / (permutations + 1)``, at most
        1. Both are NaN where nothing can be tested: everywhere when there are fewer than two
        cells or every value is the same (e.g. no reports at all), and at a cell with no
        neighbour in the area.

    """
    y = np.asarray(values, dtype=np.float64)
    n = len(y)
    if y.shape != np.shape(i):
        raise ValueError(f"one value per cell is needed: {len(y)} values for {np.size(i)} cells")
    if n and (np.any(~np.isfinite(y)) or np.any(y < 0) or np.any(y != np.floor(y))):
        raise ValueError("cell values must be whole numbers of at least 0 (counts)")
    untested = np.full(n, np.nan), np.full(n, np.nan)
    if n < 2 or np.all(y == y[0]):
        return untested
    weights = hex_weights(i, j)
    with warnings.catch_warnings(), np.errstate(divide="ignore", invalid="ignore"):
        # esda warns that its default p-value will change; the p used here is computed below
        # from the simulations themselves, so the warning does not apply. Islands are dealt
        # with below, so libpysal's note that the area falls apart is not news either.
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.filterwarnings("ignore", "The weights matrix is not fully connected")
        result = G_Local(
            y,
            weights,
            transform="B",
            star=True,
            permutations=permutations,
            seed=seed,
            # In-process: a web request must not fork a pool of workers.
            n_jobs=1,
            keep_simulations=True,
        )
    total = y.sum()
    # Neighbourhood sums are whole numbers; comparing them as such makes ties exact where the
    # observed and simulated G were computed along different floating-point paths.
    observed = np.rint(np.asarray(result.Gs) * total)
    simulated = np.rint(np.asarray(result.rGs) * total)
    upper = (simulated >= observed[:, None]).sum(axis=1)
    lower = (simulated <= observed[:, None]).sum(axis=1)
    p = np.minimum(1.0, 2.0 * (np.minimum(upper, lower) + 1) / (permutations + 1))
    z = np.asarray(result.Zs, dtype=np.float64)
    # A cell with no neighbour in the area has a neighbourhood of itself alone: there is
    # nothing to test (esda would simulate it as empty and call any count extreme).
    islands = np.array([not weights.neighbors[n] for n in range(n)])
    z[islands] = np.nan
    p[islands] = np.nan
    return z, p


def _classes(z: NDArray[np.float64], p_fdr: NDArray[np.float64]) -> NDArray[np.object_]:
    classes = np.full(len(z), NOT_SIGNIFICANT, dtype=object)
    # Loosest level first, so the strictest level a cell reaches is the one that stays.
    for level, alpha in reversed(CONFIDENCE_LEVELS):
        reached = np.isfinite(p_fdr) & (p_fdr <= alpha)
        classes[reached & (z > 0)] = f"hot_{level}"
        classes[reached & (z < 0)] = f"cold_{level}"
    return classes


def hot_spots(
    i: ArrayLike,
    j: ArrayLike,
    counts: ArrayLike,
    rule: DisclosureRule | None,
    *,
    permutations: int = PERMUTATIONS,
    seed: int = SEED,
) -> pd.DataFrame:
    """Hot and cold spots of one area's cells, as the viewer with ``rule`` may see them.

    Parameters
    ----------
    i, j : array of int
        Every cell of the area (``service.queries.aggregates.hexagon_cells``), zeros included.
    counts : array of int
        The *exact* count of each cell.
    rule : DisclosureRule or None
        The viewer's disclosure rule; None for supervisors, who see exact counts. With a rule,
        Gi* runs on the protected counts (suppressed cells as 0), never on the exact ones.
    permutations, seed
        As :func:`gi_star`.

    Returns
    -------
    DataFrame
        One row per cell, in the order given: ``i, j, count`` (what the viewer sees; NaN when
        suppressed), ``suppressed``, ``z``, ``p`` (two-sided pseudo p), ``p_fdr``
        (Benjamini-Hochberg over all cells), ``class`` (one of :data:`CLASSES`, or None when
        suppressed). A suppressed cell's ``z``, ``p`` and ``p_fdr`` are NaN.

    Examples
    --------
    A few busy cells in a quiet 13 x 13 block, as a supervisor sees them (``rule=None``):
    the busiest is far beyond chance (z above 11), but 999 permutations and 169 tests
    support 90 % confidence at most (see the module's notes).

    >>> ii, jj = np.meshgrid(np.arange(13), np.arange(13))
    >>> busy = (abs(ii - 6) <= 1) & (abs(jj - 6) <= 1)
    >>> spots = hot_spots(ii.ravel(), jj.ravel(), np.where(busy, 60, 2).ravel(), None)
    >>> centre = spots[(spots["i"] == 6) & (spots["j"] == 6)].iloc[0]
    >>> f"z {centre['z']:.1f}, p {centre['p']:.3f}, FDR p {centre['p_fdr']:.4f}: {centre['class']}"
    'z 11.4, p 0.002, FDR p 0.0845: hot_90'

    """
    exact = np.asarray(counts)
    shown, suppressed = protect(exact, rule)
    # The only values the statistic ever sees: a protected viewer's own.
    tested = np.where(suppressed, 0.0, shown)
    z, p = gi_star(i, j, tested, permutations=permutations, seed=seed)
    p_fdr = benjamini_hochberg(p)
    classes = _classes(z, p_fdr)
    classes[suppressed] = None
    return pd.DataFrame(
        {
            "i": np.asarray(i, dtype=np.int64),
            "j": np.asarray(j, dtype=np.int64),
            "count": shown,
            "suppressed": suppressed,
            "z": np.where(suppressed, np.nan, z),
            "p": np.where(suppressed, np.nan, p),
            "p_fdr": np.where(suppressed, np.nan, p_fdr),
            "class": classes,
        }
    )


def class_label(name: str | None) -> str:
    """A class as a person reads it.

    Examples
    --------
    >>> class_label("hot_95")
    'Hot spot, 95 % confidence'
    >>> class_label(None)
    'No class (suppressed)'

    """
    if name is None:
        return "No class (suppressed)"
    if name == NOT_SIGNIFICANT:
        return "Not significant"
    kind, _, level = name.partition("_")
    if kind not in ("hot", "cold") or name not in CLASSES:
        raise ValueError(f"unknown hot-spot class {name!r}: one of {', '.join(CLASSES)}")
    return f"{kind.capitalize()} spot, {level} % confidence"


def describe_method(cells: int, rule: DisclosureRule | None) -> list[str]:
    """The sentences a hot-spot answer adds to its method note."""
    on_what = (
        "the exact counts"
        if rule is None
        else "the protected counts (suppressed cells taken as 0), so that z and p reveal "
        "nothing the counts shown do not; suppressed cells get no class"
    )
    return [
        f"Hot spots: Getis-Ord Gi* of each hexagon with its six neighbours, run on {on_what}.",
        f"Significance: {PERMUTATIONS} conditional permutations (fixed seed {SEED}), two-sided "
        f"pseudo p-values, corrected with the Benjamini-Hochberg false discovery rate over all "
        f"{cells} cells; hot or cold at 90, 95 or 99 % confidence when the corrected p is at "
        "most 0.10, 0.05 or 0.01.",
    ]
