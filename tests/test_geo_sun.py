"""The sun and darkness: known times and places, time bands across clock changes, vectorised."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest

from geo.sun import (
    DARK_BELOW_DEGREES,
    band_darkness,
    band_midpoint_utc,
    is_dark,
    solar_elevation,
)

LON, LAT = -0.12, 51.50


def test_the_issues_reference_times() -> None:
    when = ["2026-12-21T16:10Z", "2026-12-21T17:00Z", "2026-06-21T12:00Z"]
    elevation = solar_elevation([LON] * 3, [LAT] * 3, when)
    assert -DARK_BELOW_DEGREES > 0
    assert DARK_BELOW_DEGREES < elevation[0] < 0  # after sunset, not yet dark
    assert elevation[1] < DARK_BELOW_DEGREES  # dark
    assert elevation[2] > 55  # light
    assert list(is_dark([LON] * 3, [LAT] * 3, when)) == [False, True, False]


@pytest.mark.parametrize(
    ("day", "expected"),
    [("2026-06-21", 90 - 51.5 + 23.44), ("2026-12-21", 90 - 51.5 - 23.44)],
)
def test_noon_elevation_at_the_solstices(day: str, expected: float) -> None:
    # Solar noon in London is within a few minutes of 12:00 UTC on the solstices; the highest
    # elevation of the day is 90 - latitude +/- the sun's declination.
    minutes = pd.date_range(f"{day}T11:30Z", f"{day}T12:30Z", freq="1min")
    highest = solar_elevation(np.full(len(minutes), LON), np.full(len(minutes), 51.5), minutes)
    assert highest.max() == pytest.approx(expected, abs=0.2)


def _crossing(day: str, rising: bool) -> pd.Timestamp:
    minutes = pd.date_range(f"{day}T00:00Z", f"{day}T23:59Z", freq="1min")
    # Sunrise/sunset as almanacs give them: the sun's centre at -0.833 degrees (refraction
    # and the sun's radius).
    above = solar_elevation(np.full(len(minutes), LON), np.full(len(minutes), LAT), minutes)
    above = above > -0.833
    change = np.flatnonzero(np.diff(above.astype(int)) == (1 if rising else -1))
    return minutes[change[0] + 1]


def test_sunrise_and_sunset_in_london_on_the_winter_solstice() -> None:
    # Almanac (HM Nautical Almanac Office) times for London, 21 December: 08:04 and 15:53 UTC.
    assert abs(_crossing("2026-12-21", True) - pd.Timestamp("2026-12-21T08:04Z")) <= pd.Timedelta(
        "3min"
    )
    assert abs(_crossing("2026-12-21", False) - pd.Timestamp("2026-12-21T15:53Z")) <= pd.Timedelta(
        "3min"
    )


@pytest.mark.parametrize(
    ("day", "band", "mostly_dark"),
    [
        (date(2026, 6, 21), "evening", False),  # 17-22 BST is light until ~21:50
        (date(2026, 12, 21), "evening", True),
        (date(2026, 6, 21), "night", True),
        (date(2026, 12, 21), "night", True),
        (date(2026, 6, 21), "early_morning", False),
        (date(2026, 12, 21), "early_morning", True),
        (date(2026, 6, 21), "daytime", False),
        (date(2026, 3, 29), "night", True),  # the night the clocks go forward
        # The clocks go back on 25 October: 05-08 is 04-07 UTC the day before (mostly before
        # civil dawn at ~06:10 UTC) but 05-08 UTC that morning (mostly after it).
        (date(2026, 10, 24), "early_morning", True),
        (date(2026, 10, 25), "early_morning", False),
    ],
)
def test_time_bands(day: date, band: str, mostly_dark: bool) -> None:
    share, mostly = band_darkness([LON], [LAT], [day], [band])
    assert bool(mostly[0]) is mostly_dark
    assert 0.0 <= share[0] <= 1.0


def test_december_early_morning_is_dark_until_civil_dawn() -> None:
    share, _ = band_darkness([LON], [LAT], [date(2026, 12, 21)], ["early_morning"])
    # Civil dawn in London on 21 December is about 07:24 UTC: 05:00-07:24 of 05:00-08:00.
    assert share[0] == pytest.approx((7.4 - 5) / 3, abs=0.07)


def test_band_midpoints_follow_british_summer_time() -> None:
    mids = band_midpoint_utc([date(2026, 6, 21), date(2026, 12, 21)], ["evening", "evening"])
    assert [str(m) for m in mids] == ["2026-06-21 18:30:00+00:00", "2026-12-21 19:30:00+00:00"]
    night = band_midpoint_utc([date(2026, 1, 10)], ["night"])
    assert str(night[0]) == "2026-01-11 01:30:00+00:00"


def test_unknown_band_is_named() -> None:
    with pytest.raises(ValueError, match="unknown time band midnight: use one of early_morning"):
        band_darkness([LON], [LAT], [date(2026, 1, 1)], ["midnight"])


def test_a_million_rows_in_one_call_match_row_by_row() -> None:
    rng = np.random.default_rng(3)
    n = 1_000_000
    lon = rng.uniform(-0.5, 0.3, n)
    lat = rng.uniform(51.3, 51.7, n)
    when = pd.to_datetime("2026-01-01", utc=True) + pd.to_timedelta(
        rng.integers(0, 365 * 24 * 3600, n), unit="s"
    )
    elevation = solar_elevation(lon, lat, when)
    assert elevation.shape == (n,)
    for i in rng.integers(0, n, 20):
        alone = solar_elevation([lon[i]], [lat[i]], [when[i]])[0]
        assert elevation[i] == pytest.approx(alone, abs=1e-9)
    # The deepest and highest the sun gets at these latitudes: 90 - 51.3 + 23.44 = 62.14 degrees.
    assert elevation.min() > -62.2
    assert elevation.max() < 62.2
