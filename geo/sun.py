"""The sun's elevation at a place and time, and whether it was dark there (vectorised numpy).

"Dark" everywhere in this project means the sun is more than 6° below the horizon (civil
twilight has ended). Elevation follows NOAA's solar position equations (after Meeus), good to
about 0.1° for years 1900-2100, with no refraction correction: the -6° line lies below the
horizon, where refraction does not apply.
"""

from __future__ import annotations

from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt
import pandas as pd

DARK_BELOW_DEGREES = -6.0
LONDON = ZoneInfo("Europe/London")
# Local Europe/London hours of each time band; night runs past midnight into the next day.
TIME_BANDS: dict[str, tuple[int, int]] = {
    "early_morning": (5, 8),
    "daytime": (8, 17),
    "evening": (17, 22),
    "night": (22, 29),
}


def _utc_ns(when: Any) -> npt.NDArray[np.int64]:
    stamps = pd.to_datetime(when, utc=True)
    if isinstance(stamps, pd.Timestamp):
        stamps = pd.DatetimeIndex([stamps])
    return np.asarray(pd.DatetimeIndex(stamps).as_unit("ns").asi8, dtype=np.int64)


def solar_elevation(lon: Any, lat: Any, when: Any) -> npt.NDArray[np.float64]:
    """The sun's elevation in degrees above the horizon, element by element.

    Parameters
    ----------
    lon, lat : array-like
        WGS84 degrees.
    when : array-like of datetimes
        Instants; naive values are taken as UTC, aware ones are converted.

    Examples
    --------
    >>> round(float(solar_elevation(-0.12, 51.5, ["2026-06-21T12:00Z"])[0]), 1)
    61.9

    """
    ns = _utc_ns(when)
    lon_deg = np.asarray(lon, dtype=float)
    lat_rad = np.radians(np.asarray(lat, dtype=float))
    julian_day = ns / 86_400e9 + 2_440_587.5
    t = (julian_day - 2_451_545.0) / 36_525.0  # Julian centuries since J2000
    mean_long = np.radians((280.46646 + t * (36_000.76983 + t * 0.0003032)) % 360)
    mean_anom = np.radians(357.52911 + t * (35_999.05029 - 0.0001537 * t))
    eccent = 0.016708634 - t * (0.000042037 + 0.0000001267 * t)
    centre = np.radians(
        np.sin(mean_anom) * (1.914602 - t * (0.004817 + 0.000014 * t))
        + np.sin(2 * mean_anom) * (0.019993 - 0.000101 * t)
        + np.sin(3 * mean_anom) * 0.000289
    )
    true_long = mean_long + centre
    omega = np.radians(125.04 - 1934.136 * t)
    apparent_long = true_long - np.radians(0.00569 + 0.00478 * np.sin(omega))
    mean_obliq = 23 + (26 + (21.448 - t * (46.815 + t * (0.00059 - t * 0.001813))) / 60) / 60
    obliq = np.radians(mean_obliq + 0.00256 * np.cos(omega))
    declination = np.arcsin(np.sin(obliq) * np.sin(apparent_long))
    y = np.tan(obliq / 2) ** 2
    eq_time_min = 4 * np.degrees(
        y * np.sin(2 * mean_long)
        - 2 * eccent * np.sin(mean_anom)
        + 4 * eccent * y * np.sin(mean_anom) * np.cos(2 * mean_long)
        - 0.5 * y * y * np.sin(4 * mean_long)
        - 1.25 * eccent * eccent * np.sin(2 * mean_anom)
    )
    minutes_of_day = (ns % 86_400_000_000_000) / 60e9
    true_solar_min = (minutes_of_day + eq_time_min + 4 * lon_deg) % 1440
    hour_angle = np.radians(true_solar_min / 4 - 180)
    cos_zenith = np.sin(lat_rad) * np.sin(declination) + np.cos(lat_rad) * np.cos(
        declination
    ) * np.cos(hour_angle)
    return np.asarray(90 - np.degrees(np.arccos(np.clip(cos_zenith, -1, 1))), dtype=float)


def is_dark(lon: Any, lat: Any, when: Any) -> npt.NDArray[np.bool_]:
    """Whether the sun was below -6° (civil twilight over) at each place and instant."""
    return solar_elevation(lon, lat, when) < DARK_BELOW_DEGREES


def _band_hours(bands: Any) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    names = np.asarray(bands, dtype=object)
    unknown = sorted({str(b) for b in names} - set(TIME_BANDS))
    if unknown:
        raise ValueError(
            f"unknown time band {', '.join(unknown)}: use one of {', '.join(TIME_BANDS)}"
        )
    start = np.array([TIME_BANDS[b][0] for b in names], dtype=float)
    end = np.array([TIME_BANDS[b][1] for b in names], dtype=float)
    return start, end


def _local_to_utc(dates: Any, hours: npt.NDArray[np.float64]) -> pd.DatetimeIndex:
    # Local wall-clock times on each date (hours may pass 24 into the next day), made aware in
    # Europe/London; an hour skipped or repeated at a clock change is shifted or taken first.
    days = pd.DatetimeIndex(pd.to_datetime(pd.Series(dates).astype(str))).as_unit("ns")
    naive = days + pd.to_timedelta(hours, unit="h")
    local = naive.tz_localize(
        LONDON, ambiguous=np.ones(len(naive), dtype=bool), nonexistent="shift_forward"
    )
    return local.tz_convert("UTC")


def band_midpoint_utc(dates: Any, bands: Any) -> pd.DatetimeIndex:
    """The middle of each row's time band on its date, as UTC instants."""
    start, end = _band_hours(bands)
    return _local_to_utc(dates, (start + end) / 2)


def band_darkness(
    lon: Any, lat: Any, dates: Any, bands: Any, *, step_minutes: int = 10
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.bool_]]:
    """Share of each row's time band that was dark, and whether most of it was.

    The band is sampled every ``step_minutes`` of local time on its date (rows x samples in
    one array operation). Returns ``(share_dark, mostly_dark)``.

    Examples
    --------
    >>> share, mostly = band_darkness([-0.12], [51.5], [date(2026, 12, 21)], ["evening"])
    >>> bool(mostly[0]), float(share[0]) > 0.9
    (True, True)

    """
    lon_a = np.asarray(lon, dtype=float)
    lat_a = np.asarray(lat, dtype=float)
    start, end = _band_hours(bands)
    rows = len(start)
    if rows == 0:
        return np.zeros(0), np.zeros(0, dtype=bool)
    longest = float((end - start).max())
    offsets = np.arange(step_minutes / 2, longest * 60, step_minutes) / 60  # sample mid-steps
    hours = start[:, None] + offsets[None, :]
    inside = hours < end[:, None]
    repeated_dates = np.repeat(np.asarray(pd.Series(dates).astype(str)), len(offsets))
    instants = _local_to_utc(repeated_dates, hours.ravel())
    elevation = solar_elevation(
        np.repeat(lon_a, len(offsets)), np.repeat(lat_a, len(offsets)), instants
    ).reshape(rows, len(offsets))
    dark = (elevation < DARK_BELOW_DEGREES) & inside
    share = dark.sum(axis=1) / inside.sum(axis=1)
    return share, share > 0.5


def as_dates(values: Any) -> list[date]:
    """Coerce date-like values to ``datetime.date`` (helper for callers and tests)."""
    return [pd.Timestamp(v).date() for v in values]
