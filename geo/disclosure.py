"""Disclosure control for counts shown to partners, planners and the public.

A count of reports in a small area can point at the one woman who made them. So, in every
answer those roles get, a unit with fewer than ``k`` reports is suppressed (no count, no
class) and every count shown is rounded to a multiple of ``base``. Rounding is what stops
differencing: two overlapping answers (a ward and its hexagons, an area and a slightly larger
one) each carry up to ``base / 2`` of error, so their difference cannot pin down a suppressed
count exactly.

What remains: a determined user can still learn that a unit holds *some* reports (it is
suppressed rather than zero-and-shown: zero is shown as suppressed too, so that much is not
revealed either), and bounds on counts from many overlapping queries. The public documentation
says so.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = ["DisclosureRule", "protect"]


@dataclass(frozen=True)
class DisclosureRule:
    """Suppress counts under ``k``; round the rest to a multiple of ``base``."""

    k: int = 10
    base: int = 5

    def __post_init__(self) -> None:
        if self.k < 1 or self.base < 1:
            raise ValueError(f"k and base must be at least 1, not {self.k} and {self.base}")

    def describe(self) -> str:
        """The rule in words, for method notes."""
        return (
            f"areas with fewer than {self.k} reports are suppressed (no count shown); other "
            f"counts are rounded to the nearest {self.base}"
        )


def protect(
    counts: ArrayLike, rule: DisclosureRule | None
) -> tuple[NDArray[np.float64], NDArray[np.bool_]]:
    """The counts a viewer may see, and which were suppressed.

    Parameters
    ----------
    counts : array of int
        Exact counts, one per unit.
    rule : DisclosureRule or None
        None for viewers who may see exact counts (supervisors).

    Returns
    -------
    (shown, suppressed)
        ``shown`` as floats with NaN where suppressed; halves round up (12.5 → 15), so the
        same count always shows the same way.

    Examples
    --------
    >>> shown, suppressed = protect([0, 9, 10, 12, 13, 101], DisclosureRule())
    >>> shown.tolist(), suppressed.tolist()
    ([nan, nan, 10.0, 10.0, 15.0, 100.0], [True, True, False, False, False, False])

    """
    exact = np.asarray(counts, dtype=np.float64)
    if exact.size and (np.any(exact < 0) or np.any(exact != np.floor(exact))):
        raise ValueError("counts must be whole numbers of at least 0")
    if rule is None:
        return exact, np.zeros(exact.shape, dtype=bool)
    suppressed = exact < rule.k
    shown = np.floor(exact / rule.base + 0.5) * rule.base
    return np.where(suppressed, np.nan, shown), suppressed
