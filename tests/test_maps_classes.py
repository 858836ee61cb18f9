"""Choropleth classes (maps/classes.py): mapclassify's schemes, never narrower than the rounding."""

from __future__ import annotations

import numpy as np
import pytest
from mapclassify.classifiers import _fisher_jenks_means

from maps.classes import (
    DEFAULT_SCHEME,
    SCHEMES,
    UnknownScheme,
    check_scheme,
    classify,
    fisher_jenks_bins,
)

#: Reports per km² of a pilot's wards, as a partner sees them: most in the thirties and forties,
#: Waterloo & South Bank (the station, the river walk) far above the rest.
WATERLOO_SKEW = [35, 37, 39, 43, 48, 52, 56, 61, 66, 74, 80, 95, 110, 130, 160, 2189]


def test_fisher_jenks_gives_waterloo_a_class_of_its_own() -> None:
    classes = classify(WATERLOO_SKEW)
    assert classes.scheme == DEFAULT_SCHEME == "fisher_jenks"
    assert len(classes) == 5
    assert classes.counts[-1] == 1
    assert classes.assign([2189.0]).tolist() == [4]
    # The ward at 160 is in the class below: Waterloo does not share its class with anyone.
    assert classes.assign([160.0]).tolist() == [3]
    assert classes.labels()[-1] == "over 160 to 2,189"
    assert classes.describe() == "Fisher\u2013Jenks natural breaks, 5 classes"


def test_quantiles_of_the_same_values_put_waterloo_with_others() -> None:
    # What the page did before: the point of the default scheme.
    classes = classify(WATERLOO_SKEW, scheme="quantiles")
    assert classes.counts[-1] > 1
    assert classes.describe() == "Quantiles, 5 classes"


@pytest.mark.parametrize("scheme", sorted(SCHEMES))
@pytest.mark.parametrize("step", [0.0, 2.0, 5.0, 40.0])
def test_no_class_is_narrower_than_the_rounding(scheme: str, step: float) -> None:
    rng = np.random.default_rng(7)
    values = np.round(rng.lognormal(3.6, 0.9, 300), 1)
    classes = classify(values, scheme=scheme, step=step)
    widths = np.diff(classes.edges)
    # Each class's top at least a rounding step above the top of the class below.
    assert (widths[1:] >= step).all(), (scheme, step, classes.edges)
    assert classes.edges[0] == values.min() and classes.edges[-1] == values.max()
    assert sum(classes.counts) == len(values)
    assert np.bincount(classes.assign(values), minlength=len(classes)).tolist() == list(
        classes.counts
    )


def test_counts_rounded_to_five_are_never_split_finer_than_five() -> None:
    # Quantiles of such counts would cut at 12.5, 17.5...: edges between values nobody sees.
    counts = [10, 10, 15, 15, 15, 20, 20, 25, 30, 35, 40, 40, 45, 60, 90, 250]
    for scheme in SCHEMES:
        classes = classify(counts, scheme=scheme, step=5)
        assert all(e % 5 == 0 for e in classes.edges[:-1] if scheme != "equal_interval")
        assert (np.diff(classes.edges)[1:] >= 5).all(), (scheme, classes.edges)


def test_classes_narrower_than_the_step_are_merged() -> None:
    # Five classes of values 1 apart cannot stand when the values are only known to 5.
    classes = classify([10, 11, 12, 13, 14, 90], k=4, step=5)
    assert classes.labels() == ["10 to 14", "over 14 to 90"]
    assert classes.counts == (5, 1)
    assert classes.describe() == "Fisher\u2013Jenks natural breaks, 2 classes"


def test_fewer_distinct_values_than_classes() -> None:
    classes = classify([20.0, 20.0, 40.0, 40.0, 40.0])
    assert len(classes) == 2
    assert classes.labels() == ["20", "over 20 to 40"]
    assert classes.counts == (2, 3)


def test_one_value_is_one_class_and_nothing_is_none() -> None:
    one = classify([25.0, 25.0, float("nan")])
    assert len(one) == 1 and one.labels() == ["25"] and one.counts == (2,)
    assert one.assign([25.0, float("nan")]).tolist() == [0, -1]
    assert one.describe() == "Fisher\u2013Jenks natural breaks, 1 class"
    empty = classify([float("nan")])
    assert len(empty) == 0 and empty.labels() == []
    assert empty.assign([1.0, float("nan")]).tolist() == [-1, -1]


def test_suppressed_values_have_no_class() -> None:
    classes = classify([float("nan"), 30.0, 45.0, 2000.0])
    assert classes.assign([float("nan"), 30.0, 2000.0]).tolist() == [-1, 0, len(classes) - 1]
    assert sum(classes.counts) == 3


def test_values_are_classed_as_shown() -> None:
    # 48.04 shows as 48 (one decimal), so it goes where a 48 goes.
    classes = classify([35.0, 48.0, 48.04, 2189.0], k=2)
    assert classes.assign([48.0, 48.04]).tolist() == [0, 0]
    assert classes.labels() == ["35 to 48", "over 48 to 2,189"]


@pytest.mark.parametrize("name", ["jenks", "Quantiles", "", "natural_breaks; drop"])
def test_an_unknown_scheme_is_refused_with_the_ones_offered(name: str) -> None:
    with pytest.raises(UnknownScheme, match="use one of fisher_jenks, jenks_caspall"):
        check_scheme(name)
    with pytest.raises(ValueError, match=f"unknown classification scheme {name!r}"):
        classify([1.0, 2.0], scheme=name)


def test_bad_class_counts_and_steps_are_refused() -> None:
    with pytest.raises(ValueError, match="at least 1 class"):
        classify([1.0, 2.0], k=0)
    with pytest.raises(ValueError, match="step must be"):
        classify([1.0, 2.0], step=-1)


def _samples() -> list[np.ndarray]:
    """Sorted values as pages class them.

    Skewed rates, counts rounded to 5 (many ties), rates to 3 decimals, one value over and
    over, and two values.
    """
    out = []
    for seed in range(100):
        rng = np.random.default_rng(seed)
        n = int(rng.integers(2, 200))
        kind = seed % 4
        if kind == 0:
            values = np.round(rng.lognormal(2, 1, n), 1)
        elif kind == 1:
            values = np.round(rng.integers(0, 60, n) / 5) * 5
        elif kind == 2:
            values = rng.normal(0, 1, n).round(3)
        else:
            values = np.full(n, 3.0)
        out.append(np.sort(values).astype("f8"))
    out.append(np.array([1.0, 2.0]))
    return out


@pytest.mark.parametrize("k", [1, 2, 3, 5, 7])
def test_fisher_jenks_bins_equal_mapclassifys_own_on_every_sample(k: int) -> None:
    """Bit for bit, ties included.

    Counts rounded to 5 tie often, and the last candidate wins in both (a first-wins rule
    fails this test).
    """
    for values in _samples():
        ours = fisher_jenks_bins(values, k)
        theirs = _fisher_jenks_means(values, classes=k)
        assert np.array_equal(ours, theirs), (values.tolist(), k, ours, theirs)


def test_the_fisher_jenks_scheme_uses_the_fast_bins() -> None:
    values = np.round(np.random.default_rng(3).lognormal(2, 1, 657), 1)
    classifier = SCHEMES["fisher_jenks"][1](values, k=5)
    assert np.array_equal(classifier.bins, _fisher_jenks_means(np.sort(values), classes=5))
    assert classifier.yb.max() == 4  # mapclassify's own assignment to the bins still works
