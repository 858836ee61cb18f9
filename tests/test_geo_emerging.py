"""Emerging hot spots: ArcGIS's categories on hand-made z series, and on a made cube."""

from __future__ import annotations

import doctest

import numpy as np
import pymannkendall
import pytest
from scipy.stats import norm

import geo.emerging
from geo.emerging import (
    CATEGORIES,
    MIN_STEPS,
    NO_PATTERN,
    category_label,
    classify,
    emerging_hot_spots,
    mann_kendall,
    mann_kendall_rows,
    step_gi_star,
)
from geo.hotspots import benjamini_hochberg, gi_star

HOT, COLD, QUIET = 0.01, 0.01, 0.8  # corrected p of a significant bin, and of a quiet one


def series(*bins: str) -> tuple[list[float], list[float]]:
    """The z and p of a cell from its bins: ``H`` hot, ``C`` cold, ``.`` not significant."""
    z = [{"H": 3.0, "C": -3.0, ".": 0.2}[b] for b in bins]
    p = [HOT if b == "H" else COLD if b == "C" else QUIET for b in bins]
    return z, p


@pytest.mark.parametrize(
    ("bins", "expected"),
    [
        ("......H", "new_hot"),
        ("......C", "new_cold"),
        ("....HHH", "consecutive_hot"),
        ("....CCC", "consecutive_cold"),
        ("H.H..HH", "sporadic_hot"),  # on and off, never cold: the last run is not the only one
        ("C..C.CC", "sporadic_cold"),
        ("..C...H", "oscillating_hot"),  # cold before, hot now: never hot before, but it swung
        ("H..C.CC", "oscillating_cold"),
        ("HHHHHHHHHH.", "historical_hot"),  # 10 of 11 (90.9 %) hot, not at the end
        ("CCCCCCCCCC.", "historical_cold"),
        ("...H...", NO_PATTERN),  # hot once in the middle, not at the end: no pattern
        (".......", NO_PATTERN),
        ("HHHHH.", NO_PATTERN),  # 5 of 6 is under 90 %, and the end is not hot
    ],
)
def test_categories_from_the_pattern_of_significant_bins(bins: str, expected: str) -> None:
    z, p = series(*bins)
    assert classify(z, p)[0] == expected


def test_intensifying_persistent_and_diminishing_hot_spots_follow_the_trend() -> None:
    rising = [2.0, 2.4, 2.9, 3.3, 3.8, 4.4, 5.0, 5.5]
    level = [3.1, 2.9, 3.2, 2.8, 3.0, 3.3, 2.9, 3.1]
    always = [HOT] * 8
    category, trend = classify(rising, always)
    assert (category, trend.rising) == ("intensifying_hot", True)
    assert trend.p < 0.001 and trend.tau == pytest.approx(1.0)
    category, trend = classify(level, always)
    assert category == "persistent_hot" and trend.p > 0.05
    assert classify(rising[::-1], always)[0] == "diminishing_hot"


def test_cold_spots_mirror_the_trend() -> None:
    deepening = [-2.0, -2.4, -2.9, -3.3, -3.8, -4.4, -5.0, -5.5]
    always = [COLD] * 8
    assert classify(deepening, always)[0] == "intensifying_cold"
    assert classify(deepening[::-1], always)[0] == "diminishing_cold"
    assert classify([-3.1, -2.9, -3.2, -2.8, -3.0, -3.3, -2.9, -3.1], always)[0] == (
        "persistent_cold"
    )


def test_ninety_percent_allows_one_quiet_step_in_ten_but_not_in_nine() -> None:
    z10, p10 = series(*"HH.HHHHHHH")
    assert classify(z10, p10)[0] == "persistent_hot"
    z9, p9 = series(*"HH.HHHHHH")
    assert classify(z9, p9)[0] == "sporadic_hot"


def test_significance_is_the_corrected_p_at_alpha_and_untested_steps_count_as_quiet() -> None:
    z = [0.1, 0.2, 0.1, 0.3, 2.5]
    assert classify(z, [0.9, 0.9, 0.9, 0.9, 0.05])[0] == "new_hot"
    assert classify(z, [0.9, 0.9, 0.9, 0.9, 0.06])[0] == NO_PATTERN
    assert classify(z, [0.9, 0.9, 0.9, 0.9, 0.05], alpha=0.01)[0] == NO_PATTERN
    nan = float("nan")
    assert classify([nan, nan, 0.1, 0.2, 2.5], [nan, nan, 0.9, 0.9, 0.01])[0] == "new_hot"


def test_mann_kendall_matches_the_textbook_case() -> None:
    # 8 strictly rising values: S = 28, var(S) = 8 * 7 * 21 / 18, z = (28 - 1) / sqrt(var).
    trend = mann_kendall(np.arange(8.0))
    assert trend.z == pytest.approx(27 / np.sqrt(8 * 7 * 21 / 18))
    assert trend.p == pytest.approx(0.000837, abs=1e-6)
    flat = mann_kendall([1.0] * 6)
    assert (flat.tau, flat.p, flat.rising, flat.falling) == (0.0, 1.0, False, False)


@pytest.mark.parametrize("steps", [5, 6, 9, 12, 24])
def test_mann_kendall_rows_equal_pymannkendall_on_every_row(steps: int) -> None:
    # Rows with many ties (small counts), none (floats), some NaN (counted as 0), flat ones,
    # and z-like values: tau, z and p the library's, row by row.
    rng = np.random.default_rng(steps)
    rows = np.vstack(
        [
            rng.integers(0, 3, (40, steps)).astype(float),
            rng.normal(0, 2, (40, steps)),
            np.where(rng.random((20, steps)) < 0.3, np.nan, rng.integers(-2, 3, (20, steps))),
            np.full((3, steps), 1.5),
            np.round(np.cumsum(rng.normal(0.3, 1, (20, steps)), axis=1), 1),
        ]
    )
    tau, z, p = mann_kendall_rows(rows)
    for row, got in zip(rows, zip(tau, z, p, strict=True), strict=True):
        want = pymannkendall.original_test(np.nan_to_num(row, nan=0.0))
        assert got == pytest.approx((want.Tau, want.z, want.p), abs=1e-12), row


def test_mann_kendall_rows_refuses_a_single_series() -> None:
    with pytest.raises(ValueError, match="2-d"):
        mann_kendall_rows([1.0, 2.0, 3.0, 4.0, 5.0])


def test_too_few_steps_or_mismatched_series_are_refused() -> None:
    with pytest.raises(ValueError, match=f"at least {MIN_STEPS} time steps"):
        classify([3.0] * 4, [0.01] * 4)
    with pytest.raises(ValueError, match="one length"):
        classify([3.0] * 6, [0.01] * 5)
    with pytest.raises(ValueError, match="at least 5 time steps"):
        emerging_hot_spots([0, 1], [0, 0], np.ones((2, 3), dtype=int))


def block(columns: int, rows: int) -> tuple[np.ndarray, np.ndarray]:
    """A block of cells at a central London position."""
    ii, jj = np.meshgrid(np.arange(700, 700 + columns), np.arange(208, 208 + rows), indexing="ij")
    return ii.ravel(), jj.ravel()


def background(cells: int, steps: int) -> np.ndarray:
    """About two reports a cell and step, at random (the same every run)."""
    return np.random.default_rng(3).poisson(2, size=(cells, steps))


def test_a_cluster_that_grows_against_a_steady_background_is_an_intensifying_hot_spot() -> None:
    i, j = block(11, 11)
    steps = 8
    cube = background(len(i), steps)
    centre = (abs(i - 705) <= 1) & (abs(j - 213) <= 1)
    # Busy from the start and busier every step: hot throughout, clustering ever stronger.
    # (Gi*'s z saturates once a cluster dwarfs the rest, so the growth starts near the
    # background: 8, 10, ... 22 against about 2 a cell.)
    cube[centre] = np.array([8 + 2 * step for step in range(steps)])
    spots = emerging_hot_spots(i, j, cube)
    assert list(spots.columns) == [
        "i",
        "j",
        "category",
        "trend_tau",
        "trend_z",
        "trend_p",
        "hot_steps",
        "cold_steps",
        "final_z",
    ]
    middle = spots[(spots["i"] == 705) & (spots["j"] == 213)].iloc[0]
    assert middle["category"] == "intensifying_hot"
    assert middle["hot_steps"] == steps and middle["trend_p"] < 0.05 and middle["trend_tau"] > 0
    # The background has no pattern: noise seldom passes the FDR at the final step.
    quiet = spots[~((abs(i - 705) <= 2) & (abs(j - 213) <= 2))]
    assert (quiet["category"] == NO_PATTERN).mean() > 0.9
    assert set(spots["category"]) <= set(CATEGORIES)


def test_a_cluster_that_appears_in_the_final_step_is_a_new_hot_spot() -> None:
    i, j = block(11, 11)
    cube = background(len(i), 8)
    ring = (abs(i - 701) <= 1) & (abs(j - 209) <= 1)
    cube[ring, -1] = 60
    spots = emerging_hot_spots(i, j, cube)
    new = spots[(spots["i"] == 701) & (spots["j"] == 209)].iloc[0]
    assert (new["category"], new["hot_steps"], new["cold_steps"]) == ("new_hot", 1, 0)
    assert new["final_z"] > 5


def test_labels() -> None:
    assert category_label("oscillating_cold") == "Oscillating cold spot"
    assert category_label(NO_PATTERN) == "No pattern detected"
    with pytest.raises(ValueError, match="unknown emerging"):
        category_label("warm")


def test_doctests() -> None:
    assert doctest.testmod(geo.emerging).failed == 0


def test_bins_are_tested_on_gi_star_z_with_normal_p_and_fdr_per_step() -> None:
    i, j = block(9, 9)
    cube = background(len(i), 6)
    cube[(abs(i - 704) <= 1) & (abs(j - 212) <= 1), 2] = 30
    z, p_fdr = step_gi_star(i, j, cube)
    for step in range(cube.shape[1]):
        expected_z, _ = gi_star(i, j, cube[:, step])
        np.testing.assert_allclose(z[:, step], expected_z)
        expected_p = benjamini_hochberg(2 * norm.sf(np.abs(expected_z)))
        np.testing.assert_allclose(p_fdr[:, step], expected_p)
    with pytest.raises(ValueError, match="cells x steps"):
        step_gi_star(i, j, cube[:5])
