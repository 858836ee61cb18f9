"""Emerging hot spots: the space-time trend of each hexagon's Gi*, in ArcGIS's categories.

Esri's *Emerging Hot Spot Analysis* reads a space-time cube (counts per location per time
step), computes Getis-Ord Gi* for every bin, tests each location's series of Gi* z-scores for a
monotonic trend with the Mann-Kendall test, and names each location by the pattern of its
significant hot and cold bins. This module does the same on the service's hexagons:

1. **Gi* per time step**: the z-score of ``geo.hotspots.gi_star`` (esda's analytical Gi* z)
   on each step's counts, its two-sided p from the normal distribution, as ArcGIS's Gi* gives
   it, and the Benjamini-Hochberg false discovery rate over the cells of that step (as ArcGIS
   Pro corrects the bins). A bin is a *significant hot (cold) bin* when its corrected p is at
   most :data:`BIN_ALPHA` and its z is positive (negative). The hot-spot map's permutation p
   is not used here: with 999 permutations its floor of 0.002 leaves a small cluster among a
   hundred cells short of 95 % after the FDR at almost every step, which would make a trend
   over steps unreadable. The neighbourhood is spatial only (a cell and its six neighbours in
   one step); ArcGIS can add earlier steps to the neighbourhood, this does not.
2. **Mann-Kendall** (``pymannkendall.original_test``'s arithmetic, in numpy over every cell at
   once: :func:`mann_kendall_rows`) on each cell's z series; the trend is
   significant when its p is below :data:`TREND_ALPHA`. A step where Gi* cannot be computed
   (every cell equal, e.g. no reports at all) counts as z = 0, not significant.
3. **Categories**, as ArcGIS defines them (hot side; the cold side mirrors it):

   new
       Significant hot at the final step, never significant hot before.
   consecutive
       One uninterrupted run of at least two significant hot bins ending at the final step,
       never hot before the run, and fewer than 90 % of the bins hot.
   intensifying
       Hot in at least 90 % of the steps, the final one included, and z rising significantly.
   persistent
       Hot in at least 90 % of the steps, with no significant trend in z.
   diminishing
       Hot in at least 90 % of the steps, the final one included, and z falling significantly.
   sporadic
       Hot at the final step, on and off before; fewer than 90 % of the bins hot and none cold.
   oscillating
       Hot at the final step, significant cold at some earlier step; fewer than 90 % hot.
   historical
       Not hot at the final step, but hot in at least 90 % of the steps.
   no pattern
       None of these.

Where ArcGIS's wordings overlap this module takes the more specific reading and says so: a
cell once cold and now hot for the first time is *oscillating* (not *new* or *consecutive*),
since its cold history is the news; a cell hot in at least 90 % of the steps with a
significant trend but not hot at the end is *historical*. With fewer than ten steps "at least
90 %" means every step.

Pure numpy, pandas and esda: no database, no HTTP.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray
from scipy.stats import norm

from geo.hotspots import SEED, benjamini_hochberg, gi_star

__all__ = [
    "BIN_ALPHA",
    "CATEGORIES",
    "MIN_STEPS",
    "NO_PATTERN",
    "SHARE",
    "TREND_ALPHA",
    "Trend",
    "category_label",
    "classify",
    "describe_method",
    "emerging_hot_spots",
    "mann_kendall",
    "step_gi_star",
]

#: A bin is a significant hot or cold bin at this FDR-corrected p (95 % confidence).
BIN_ALPHA = 0.05
#: Permutations asked of ``gi_star``: only its z (analytical) is used, so a few suffice.
_PERMUTATIONS = 99
#: The Mann-Kendall trend of a cell's z series is significant below this p.
TREND_ALPHA = 0.05
#: ArcGIS's "90 percent of the time-step intervals".
SHARE = 0.9
#: Fewer steps cannot give a significant Mann-Kendall trend at 0.05 (five rising values give
#: p = 0.027; four give 0.089).
MIN_STEPS = 5
NO_PATTERN = "no_pattern"
_PATTERNS = (
    "new",
    "consecutive",
    "intensifying",
    "persistent",
    "diminishing",
    "sporadic",
    "oscillating",
    "historical",
)
#: Every category, hot ones first, in ArcGIS's order; then "no pattern".
CATEGORIES: tuple[str, ...] = (
    *(f"{p}_hot" for p in _PATTERNS),
    *(f"{p}_cold" for p in _PATTERNS),
    NO_PATTERN,
)


@dataclass(frozen=True)
class Trend:
    """The Mann-Kendall test of one series: Kendall's tau, the test's z and two-sided p."""

    tau: float
    z: float
    p: float

    @property
    def rising(self) -> bool:
        """Whether the series rises significantly (p below :data:`TREND_ALPHA`)."""
        return self.p < TREND_ALPHA and self.tau > 0

    @property
    def falling(self) -> bool:
        """Whether the series falls significantly."""
        return self.p < TREND_ALPHA and self.tau < 0


def mann_kendall(z: ArrayLike) -> Trend:
    """The Mann-Kendall trend test (``pymannkendall.original_test``) of a series.

    Examples
    --------
    >>> t = mann_kendall([0.5, 1.0, 1.4, 2.2, 2.9, 3.5])
    >>> round(t.tau, 2), round(t.p, 3), t.rising
    (1.0, 0.009, True)

    """
    tau, zz, p = mann_kendall_rows(np.atleast_2d(np.asarray(z, dtype=np.float64)))
    return Trend(tau=float(tau[0]), z=float(zz[0]), p=float(p[0]))


def mann_kendall_rows(
    series: ArrayLike,
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """Kendall's tau, z and two-sided p of the Mann-Kendall test of every row at once.

    The same arithmetic as ``pymannkendall.original_test`` (S from the signs of every later
    minus earlier value, its variance corrected for ties, z with the continuity correction,
    p from the normal distribution), in numpy over all rows: the library tests one series at
    a time in Python and works out Sen's slope besides, which at London's thousands of cells
    was a third of the hot-spot page's time. NaN counts as 0, as in :func:`classify`.
    """
    x = np.nan_to_num(np.asarray(series, dtype=np.float64), nan=0.0)
    if x.ndim != 2:
        raise ValueError(f"series must be 2-d (one row per series), not {x.shape}")
    rows, n = x.shape
    earlier, later = np.triu_indices(n, k=1)
    s = np.sign(x[:, later] - x[:, earlier]).sum(axis=1)
    # Ties: the size t of each group of equal values in a row, summed as t(t - 1)(2t + 5).
    ordered = np.sort(x, axis=1)
    starts = np.ones_like(ordered, dtype=bool)
    starts[:, 1:] = ordered[:, 1:] != ordered[:, :-1]
    sizes = np.zeros((rows, n))
    np.add.at(sizes, (np.repeat(np.arange(rows), n), (np.cumsum(starts, axis=1) - 1).ravel()), 1)
    variance = (
        n * (n - 1) * (2 * n + 5) - (sizes * (sizes - 1) * (2 * sizes + 5)).sum(axis=1)
    ) / 18
    root = np.sqrt(np.where(variance > 0, variance, 1.0))
    z = np.where(s > 0, (s - 1) / root, np.where(s < 0, (s + 1) / root, 0.0))
    p = 2 * (1 - norm.cdf(np.abs(z)))
    return s / (0.5 * n * (n - 1)), z, p


def _final_run(flags: NDArray[np.bool_]) -> int:
    """How many of the last steps are flagged, without a break."""
    run = 0
    for flag in flags[::-1]:
        if not flag:
            break
        run += 1
    return run


def _side(same: NDArray[np.bool_], other: NDArray[np.bool_], trend: Trend, up: bool) -> str:
    """The pattern of a cell whose final bin is significant on the side ``same`` marks."""
    n = len(same)
    rising, falling = (trend.rising, trend.falling) if up else (trend.falling, trend.rising)
    if same.sum() >= SHARE * n:
        if rising:
            return "intensifying"
        if falling:
            return "diminishing"
        return "persistent"
    if other.any():
        return "oscillating"
    run = _final_run(same)
    if same.sum() == 1:
        return "new"
    if run >= 2 and same.sum() == run:
        return "consecutive"
    return "sporadic"


def classify(
    z: ArrayLike, p: ArrayLike, *, alpha: float = BIN_ALPHA, trend: Trend | None = None
) -> tuple[str, Trend]:
    """The emerging hot-spot category of one cell, from its Gi* z and corrected p per step.

    Parameters
    ----------
    z, p : array of float
        The cell's Gi* z-score and FDR-corrected p at each step, oldest first; NaN where Gi*
        could not be computed (counted as z = 0, not significant).
    alpha : float
        The corrected p at which a bin is significant.
    trend : Trend, optional
        The Mann-Kendall test of ``z``, when the caller has tested many series at once
        (:func:`mann_kendall_rows`); tested here otherwise.

    Returns
    -------
    (category, trend)
        One of :data:`CATEGORIES`, and the Mann-Kendall test of the z series.

    Examples
    --------
    >>> classify([0.1, 0.3, -0.2, 0.4, 3.1], [0.9, 0.8, 0.9, 0.7, 0.01])[0]
    'new_hot'
    >>> classify([2.0, 2.5, 3.0, 3.6, 4.1, 4.8], [0.01] * 6)[0]
    'intensifying_hot'

    """
    zz = np.asarray(z, dtype=np.float64)
    pp = np.asarray(p, dtype=np.float64)
    if zz.shape != pp.shape or zz.ndim != 1:
        raise ValueError(f"z and p must be 1-d and of one length, not {zz.shape} and {pp.shape}")
    if len(zz) < MIN_STEPS:
        raise ValueError(f"at least {MIN_STEPS} time steps are needed for a trend, not {len(zz)}")
    significant = np.isfinite(zz) & np.isfinite(pp) & (pp <= alpha)
    hot = significant & (zz > 0)
    cold = significant & (zz < 0)
    trend = trend or mann_kendall(zz)
    if hot[-1]:
        return f"{_side(hot, cold, trend, up=True)}_hot", trend
    if cold[-1]:
        return f"{_side(cold, hot, trend, up=False)}_cold", trend
    n = len(zz)
    if hot.sum() >= SHARE * n:
        return "historical_hot", trend
    if cold.sum() >= SHARE * n:
        return "historical_cold", trend
    return NO_PATTERN, trend


def step_gi_star(
    i: ArrayLike, j: ArrayLike, cube: ArrayLike, *, seed: int = SEED
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Gi* z and FDR-corrected p of every bin of a cube (cells down, steps across).

    Each step is tested on its own and corrected over its own cells; p is two-sided, from
    the normal distribution of z. NaN where Gi* cannot be computed (see ``gi_star``).
    """
    counts = np.asarray(cube, dtype=np.float64)
    if counts.ndim != 2 or counts.shape[0] != np.size(i):
        raise ValueError(f"the cube must be cells x steps, {np.size(i)} cells; got {counts.shape}")
    z = np.full(counts.shape, np.nan)
    p_fdr = np.full(counts.shape, np.nan)
    for step in range(counts.shape[1]):
        z[:, step], _ = gi_star(i, j, counts[:, step], permutations=_PERMUTATIONS, seed=seed)
        p_fdr[:, step] = benjamini_hochberg(2.0 * norm.sf(np.abs(z[:, step])))
    return z, p_fdr


def emerging_hot_spots(
    i: ArrayLike,
    j: ArrayLike,
    cube: ArrayLike,
    *,
    alpha: float = BIN_ALPHA,
    seed: int = SEED,
) -> pd.DataFrame:
    """Classify every cell of a space-time cube of whole-number values.

    Parameters
    ----------
    i, j : array of int
        Every cell of the area, zeros included.
    cube : 2-d array of int
        Values per cell (rows, in the order of ``i, j``) and step (columns, oldest first):
        exact counts for supervisors, a protected viewer's protected counts otherwise (the
        statistic must see only what the viewer may).
    alpha, seed
        As :func:`classify` and ``geo.hotspots.gi_star``.

    Returns
    -------
    DataFrame
        One row per cell: ``i, j, category, trend_tau, trend_z, trend_p, hot_steps,
        cold_steps, final_z``.

    """
    values = np.asarray(cube)
    if values.ndim != 2 or values.shape[1] < MIN_STEPS:
        raise ValueError(
            f"the cube needs at least {MIN_STEPS} time steps for a trend; "
            f"it has shape {values.shape}"
        )
    z, p_fdr = step_gi_star(i, j, values, seed=seed)
    taus, zs, ps = mann_kendall_rows(z)
    rows = []
    for cell in range(values.shape[0]):
        tested = Trend(tau=float(taus[cell]), z=float(zs[cell]), p=float(ps[cell]))
        category, trend = classify(z[cell], p_fdr[cell], alpha=alpha, trend=tested)
        significant = np.isfinite(p_fdr[cell]) & (p_fdr[cell] <= alpha)
        rows.append(
            {
                "category": category,
                "trend_tau": trend.tau,
                "trend_z": trend.z,
                "trend_p": trend.p,
                "hot_steps": int((significant & (z[cell] > 0)).sum()),
                "cold_steps": int((significant & (z[cell] < 0)).sum()),
                "final_z": float(z[cell, -1]),
            }
        )
    frame = pd.DataFrame(
        rows,
        columns=[
            "category",
            "trend_tau",
            "trend_z",
            "trend_p",
            "hot_steps",
            "cold_steps",
            "final_z",
        ],
    )
    frame.insert(0, "j", np.asarray(j, dtype=np.int64))
    frame.insert(0, "i", np.asarray(i, dtype=np.int64))
    return frame


def category_label(name: str | None) -> str:
    """A category as a person reads it.

    Examples
    --------
    >>> category_label("intensifying_hot")
    'Intensifying hot spot'
    >>> category_label(None)
    'No category (total under k)'

    """
    if name is None:
        return "No category (total under k)"
    if name == NO_PATTERN:
        return "No pattern detected"
    if name not in CATEGORIES:
        raise ValueError(f"unknown emerging hot-spot category {name!r}: one of {CATEGORIES}")
    pattern, _, side = name.rpartition("_")
    return f"{pattern.capitalize()} {side} spot"


def describe_method(steps: int, step_name: str, first: str, last: str) -> list[str]:
    """The sentences an emerging hot-spot answer adds to its method note."""
    share = math.ceil(SHARE * steps)
    return [
        f"Emerging hot spots: a space-time cube of {steps} {step_name} steps ({first} to "
        f"{last}); Getis-Ord Gi* of each hexagon with its six neighbours at each step, its p "
        "from the normal distribution of the z-score, corrected with the Benjamini-Hochberg "
        "false discovery rate over the cells of the step; a bin is a significant hot or cold "
        f"bin at a corrected p of at most {BIN_ALPHA:.2f} (95 % confidence).",
        f"Trend: the Mann-Kendall test of each hexagon's series of Gi* z-scores, significant "
        f"at p < {TREND_ALPHA:.2f}. Categories as Esri's Emerging Hot Spot Analysis names them "
        f"(new, consecutive, intensifying, persistent, diminishing, sporadic, oscillating, "
        f"historical; 90 % of the steps here means {share} of {steps}).",
    ]
