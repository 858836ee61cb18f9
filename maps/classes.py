"""Classes for choropleths: where the colour changes, worked out by ``mapclassify``.

A class map says "these areas are alike, those differ". Two things make it lie: classes cut
where the data has no gap (quantiles of a skewed distribution put a ward at 2,189 per km² with
one at 48), and classes narrower than the figures' own precision (a partner's counts are
rounded to 5, so a rate per km² is only known to about 5 / area; a class 2 per km² wide splits
wards that cannot be told apart). So:

* the scheme is ``mapclassify``'s, Fisher-Jenks by default (the optimal "natural breaks": it
  minimises the spread within classes, so an outlier gets a class of its own);
* there are at most ``k`` classes, fewer when there are fewer distinct values;
* a class narrower than ``step`` (the rounding of the values shown) is merged with its
  narrower neighbour until none is;
* the legend names the scheme and the number of classes that remain
  ("Fisher-Jenks natural breaks, 4 classes").

Classes are upper-inclusive, as ``mapclassify``'s are: the first holds ``edges[0]`` to
``edges[1]``, each next one "over ``edges[i]`` to ``edges[i + 1]``".
"""

from __future__ import annotations

import itertools
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import mapclassify
import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = [
    "DEFAULT_SCHEME",
    "SCHEMES",
    "Classes",
    "UnknownScheme",
    "check_scheme",
    "classify",
]

def fisher_jenks_bins(values: NDArray[np.float64], classes: int) -> NDArray[np.float64]:
    """Fisher-Jenks upper bounds of ``classes`` classes of sorted ``values``, as mapclassify's.

    mapclassify's own function is a triple loop meant for numba; without numba (which would
    add about 140 MB and 1.5 s to the service's start) it took half a second per London ward
    map. This is the same arithmetic, in the same float32 and the same order, with the loop
    over a class's possible first values done by numpy: the result is bit for bit the same
    (tests/test_maps_classes.py compares the two), ties included (the last candidate wins).
    """
    n = len(values)
    first = np.zeros((n + 1, classes + 1), dtype=np.int32)  # mapclassify's mat1
    cost = np.zeros((n + 1, classes + 1), dtype=np.float32)  # mat2
    first[1, 1:] = 1
    cost[2:, 1:] = np.inf
    as32 = values.astype(np.float32)
    for last in range(2, n + 1):
        # m = 1 .. last: the class values[last - m .. last - 1], grown backwards.
        grown = as32[:last][::-1]
        s1 = np.cumsum(grown, dtype=np.float32)
        s2 = np.cumsum(grown * grown, dtype=np.float32)
        w = np.arange(1, last + 1, dtype=np.float32)
        v = s2 - (s1 * s1) / w
        before = last - np.arange(1, last)  # i4 for m = 1 .. last - 1 (i4 = 0 is skipped)
        for j in range(2, classes + 1):
            candidates = v[:-1] + cost[before, j - 1]
            best = candidates.min()
            # mapclassify keeps the last m whose candidate is <= the best so far.
            m = int(np.flatnonzero(candidates == best)[-1]) + 1
            first[last, j] = last - m + 1
            cost[last, j] = best
        first[last, 1] = 1
        cost[last, 1] = v[-1]
    bins = np.zeros(classes + 1, dtype=values.dtype)
    bins[classes] = values[n - 1]
    bins[0] = values[0]
    k = n
    for count in range(classes, 1, -1):
        pivot = first[k, count]
        bins[count - 1] = values[int(pivot - 2)]
        k = int(pivot - 1)
    return np.delete(bins, 0)


class FisherJenks(mapclassify.FisherJenks):
    """mapclassify's Fisher-Jenks classifier, its breaks worked out by :func:`fisher_jenks_bins`."""

    def __init__(self, y: ArrayLike, k: int = 5) -> None:
        with warnings.catch_warnings():
            # "Numba not installed. Using slow pure python version": not this one.
            warnings.filterwarnings("ignore", "Numba not installed", UserWarning)
            super().__init__(y, k=k)

    def _set_bins(self) -> None:
        self.bins = fisher_jenks_bins(np.sort(self.y).astype("f8"), self.k)


#: Schemes by the slug a page takes (``?classes=``): (name in the legend, mapclassify class).
#: All deterministic: mapclassify's ``NaturalBreaks`` starts from random seeds, so the same
#: page could draw differently twice; Fisher-Jenks is the exact natural breaks anyway.
SCHEMES: dict[str, tuple[str, type[mapclassify.classifiers.MapClassifier]]] = {
    "fisher_jenks": ("Fisher\u2013Jenks natural breaks", FisherJenks),
    "jenks_caspall": ("Jenks\u2013Caspall natural breaks", mapclassify.JenksCaspall),
    "quantiles": ("Quantiles", mapclassify.Quantiles),
    "equal_interval": ("Equal intervals", mapclassify.EqualInterval),
}
DEFAULT_SCHEME = "fisher_jenks"


class UnknownScheme(ValueError):
    """A classification scheme this module does not offer."""


def check_scheme(scheme: str) -> str:
    """The scheme's slug if it is offered, else :class:`UnknownScheme` naming those that are.

    Examples
    --------
    >>> check_scheme("quantiles")
    'quantiles'

    """
    if scheme not in SCHEMES:
        raise UnknownScheme(
            f"unknown classification scheme {scheme!r}: use one of {', '.join(SCHEMES)} "
            f"(default {DEFAULT_SCHEME})"
        )
    return scheme


@dataclass(frozen=True)
class Classes:
    """Class edges over some values, and how to say them.

    ``edges`` has one more item than there are classes: the lowest value, then each class's
    upper edge (the last is the highest value). No edges: nothing to class.
    """

    scheme: str
    edges: tuple[float, ...]
    counts: tuple[int, ...]
    step: float
    decimals: int = 1

    def __len__(self) -> int:
        # One edge: every value is the same, one class.
        return 1 if len(self.edges) == 1 else max(len(self.edges) - 1, 0)

    @property
    def scheme_name(self) -> str:
        """The scheme as the legend names it, e.g. ``"Fisher-Jenks natural breaks"``."""
        return SCHEMES[self.scheme][0]

    def describe(self) -> str:
        """The scheme and the number of classes, for the legend.

        Examples
        --------
        >>> classify([1, 2, 3, 40, 50, 60, 400], k=3, scheme="quantiles").describe()
        'Quantiles, 3 classes'

        """
        n = len(self)
        return f"{self.scheme_name}, {n} class{'' if n == 1 else 'es'}"

    def labels(self) -> list[str]:
        """Each class's range in words, lowest first.

        Examples
        --------
        >>> classify([1, 2, 3, 40, 50, 60, 400], k=3).labels()
        ['1 to 3', 'over 3 to 60', 'over 60 to 400']

        """
        if len(self.edges) == 1:
            return [self.number(self.edges[0])]
        texts = [self.number(e) for e in self.edges]
        if not texts:
            return []
        # A first class of the lowest value alone is named by that value.
        labels = [texts[0] if texts[0] == texts[1] else f"{texts[0]} to {texts[1]}"]
        labels += [f"over {lo} to {hi}" for lo, hi in itertools.pairwise(texts[1:])]
        return labels

    def number(self, value: float) -> str:
        """A value as the labels write it: thousands separated, no needless decimals."""
        text = f"{value:,.{self.decimals}f}"
        if "." in text:
            text = text.rstrip("0").rstrip(".")
        return text

    def assign(self, values: ArrayLike) -> NDArray[np.int_]:
        """The class of each value as shown (0 = lowest); -1 for NaN (suppressed: no class)."""
        array = np.round(np.asarray(values, dtype=float), self.decimals)
        out = np.full(array.shape, -1, dtype=int)
        if not self.edges:
            return out
        known = ~np.isnan(array)
        # Upper-inclusive: a value equal to an upper edge is in that edge's class.
        uppers = np.asarray(self.edges[1:] or self.edges, dtype=float)
        index = np.searchsorted(uppers, array[known], side="left")
        out[known] = np.clip(index, 0, len(self) - 1)
        return out


def classify(
    values: ArrayLike,
    *,
    scheme: str = DEFAULT_SCHEME,
    k: int = 5,
    step: float = 0.0,
    decimals: int = 1,
) -> Classes:
    """Class the values with ``mapclassify``, never into classes narrower than ``step``.

    Parameters
    ----------
    values : array of float
        The values as shown (rounded, protected); NaN (suppressed) is left out.
    scheme : str
        A key of :data:`SCHEMES`; Fisher-Jenks by default.
    k : int
        At most this many classes; fewer when there are fewer distinct values, or when classes
        narrower than ``step`` are merged.
    step : float
        The rounding of the values shown: no class's top is less than this above the top of
        the class below. 5 for counts rounded to 5; for a rate, the rounding over the area.
    decimals : int
        Values are rounded to this many decimals, as shown, before they are classed (so a
        value and its class's label agree).

    Returns
    -------
    Classes

    Raises
    ------
    UnknownScheme
        ``scheme`` is not offered.
    ValueError
        ``k`` is under 1 or ``step`` negative.

    Examples
    --------
    A skewed distribution: the outlier gets a class of its own.

    >>> c = classify([35, 37, 39, 43, 48, 55, 61, 70, 2189], k=3)
    >>> c.labels(), c.counts
    (['35 to 48', 'over 48 to 70', 'over 70 to 2,189'], (5, 3, 1))

    Counts rounded to 5 never get classes narrower than 5:

    >>> classify([10, 15, 15, 20, 20, 25, 30, 80], k=5, step=5).labels()
    ['10', 'over 10 to 15', 'over 15 to 20', 'over 20 to 30', 'over 30 to 80']
    >>> classify([10, 11, 12, 13, 14, 90], k=4, step=5).labels()
    ['10 to 14', 'over 14 to 90']

    """
    check_scheme(scheme)
    if k < 1:
        raise ValueError(f"k must be at least 1 class, not {k}")
    if step < 0 or not np.isfinite(step):
        raise ValueError(f"step must be a finite number of at least 0, not {step}")
    array = np.round(np.asarray(values, dtype=float).ravel(), decimals)
    array = array[~np.isnan(array)]
    distinct = np.unique(array)
    if distinct.size == 0:
        return Classes(scheme, (), (), step, decimals)
    if distinct.size == 1:
        return Classes(scheme, (float(distinct[0]),), (int(array.size),), step, decimals)
    n = min(k, int(distinct.size))
    with warnings.catch_warnings():
        # mapclassify warns when it drops duplicate quantile edges (we keep what it returns).
        warnings.simplefilter("ignore")
        bins = SCHEMES[scheme][1](array, k=n).bins
    uppers = sorted({round(float(b), decimals) for b in bins if b >= distinct[0]})
    uppers = [b for b in uppers if b < distinct[-1]] + [float(distinct[-1])]
    edges = _merged([float(distinct[0]), *uppers], step)
    return Classes(scheme, tuple(edges), _counts(edges, array), step, decimals)


def _merged(edges: list[float], step: float) -> list[float]:
    """The edges with classes narrower than ``step`` merged into their narrower neighbour.

    A class's width is how far its top is above the top of the class below: that is the
    distance an edge puts between values it sends to different classes. The first class has
    no class below, so it is never too narrow (a class of the lowest value alone is honest);
    it can still take in a narrow second class.
    """
    edges = list(edges)
    while len(edges) > 2:
        widths = np.diff(edges)
        narrow = [i for i in range(1, len(widths)) if widths[i] < step]
        if not narrow:
            break
        i = min(narrow, key=lambda j: widths[j])
        if i == len(widths) - 1:
            del edges[i]  # merge down: the highest value stays the last edge
        elif widths[i - 1] <= widths[i + 1]:
            del edges[i]  # into the class below, the narrower neighbour
        else:
            del edges[i + 1]  # into the class above
    return edges


def _counts(edges: Sequence[float], array: NDArray[np.float64]) -> tuple[int, ...]:
    index = np.searchsorted(np.asarray(edges[1:]), array, side="left")
    return tuple(int(c) for c in np.bincount(index, minlength=len(edges) - 1))
