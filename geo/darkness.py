"""Was it dark? The sun's elevation for report times, vectorised with numpy.

"Dark" everywhere in this project means the centre of the sun is more than 6 degrees below
the horizon (the end of civil twilight, :data:`DARK_BELOW_DEGREES`). A report carries either
an exact instant, judged by :func:`is_dark`, or a London date plus a time band, judged by
:func:`band_darkness`: the share of the band that was dark, and whether that share is more
than half. For planning a walk, :func:`sun_times` gives the day's civil dawn, sunrise,
sunset and civil dusk at a place, in London clock time.

The sun's position follows the NOAA solar calculator (the NOAA spreadsheet, itself built on
Jean Meeus, *Astronomical Algorithms*, ch. 25 and 28): Julian century, geometric mean
longitude and anomaly, equation of centre, apparent longitude, obliquity, declination,
equation of time, true solar time, hour angle and zenith. Elevations are **geometric** (no
atmospheric refraction) unless ``refraction=True`` is asked for, because civil twilight is
defined on the geometric position; refraction adds only about 0.05 degrees at -6 degrees.
UTC stands in for Terrestrial Time (they differ by about 69 s, which moves the sun by under
0.001 degrees). Over 1950-2050 the formulas agree with Meeus's worked examples to about
0.001 degrees in declination and about a second in the equation of time.

Everything here is pure numpy/pandas: no database, no HTTP, and no per-row Python loop, so a
million-row import is a few array operations.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt
import pandas as pd

__all__ = [
    "DARK_BELOW_DEGREES",
    "LONDON",
    "SUNRISE_ALTITUDE_DEGREES",
    "TIME_BANDS",
    "SunTimes",
    "band_darkness",
    "band_midpoint_utc",
    "band_of",
    "band_window_utc",
    "is_dark",
    "solar_elevation",
    "solar_position",
    "sun_times",
]

DARK_BELOW_DEGREES = -6.0
"""The sun is "dark" below this elevation in degrees: the end of civil twilight."""

LONDON = ZoneInfo("Europe/London")
"""The time zone of time bands and of dates given without a time."""

SUNRISE_ALTITUDE_DEGREES = -0.833
"""Geometric elevation of the sun's centre at published sunrise and sunset, degrees.

Almanacs time sunrise and sunset by the sun's upper limb touching a sea-level horizon: the
centre is then 16' (the sun's semi-diameter) plus 34' (standard refraction at the horizon)
below it, i.e. -0.833 degrees on the geometric elevation this module computes.
"""

TIME_BANDS: dict[str, tuple[int, int]] = {
    "early_morning": (5, 8),
    "daytime": (8, 17),
    "evening": (17, 22),
    "night": (22, 5),  # an end before the start means 05:00 on the next day
}
"""Each band's ``(start hour, end hour)`` in London local time (GMT or BST as in force)."""

_NS_PER_MINUTE = 60 * 10**9
_NS_PER_DAY = 1440 * _NS_PER_MINUTE
# J2000.0 (2000-01-01 12:00 TT), taken as UTC: the ~1 minute TT-UTC gap is below our accuracy.
_J2000 = np.datetime64("2000-01-01T12:00:00", "ns")
_SIN_DARK = np.sin(np.radians(DARK_BELOW_DEGREES))
# Rows per block in band_darkness: 16,384 rows x at most 54 samples keeps each temporary
# near 7 MB (cache-friendly, measured fastest of 4k/16k/64k), so a million rows never needs
# gigabytes, while the block loop runs only ~60 times.
_BLOCK_ROWS = 16_384

ArrayLike = npt.ArrayLike
FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]


def solar_position(when: Any) -> tuple[FloatArray, FloatArray]:
    """The sun's declination and the equation of time at the given instants.

    These two values depend only on the instant, not on the place, which is why
    :func:`band_darkness` can compute them once per distinct date and band.

    Parameters
    ----------
    when : numpy datetime64 array or scalar, pandas DatetimeIndex / Series / Timestamp, datetime
        Instants. Numpy values and naive pandas or ``datetime`` values are read as UTC;
        time-zone-aware values are converted to UTC. NaT gives NaN.

    Returns
    -------
    declination : ndarray of float
        Apparent declination of the sun, degrees (positive north).
    equation_of_time : ndarray of float
        Apparent minus mean solar time, minutes.

    Examples
    --------
    Meeus, *Astronomical Algorithms*, examples 25.a and 28.b (1992 October 13, 0h):
    declination -7.78507 degrees, equation of time +13 min 42.7 s.

    >>> decl, eot = solar_position(np.datetime64("1992-10-13T00:00"))
    >>> round(float(decl), 3), round(float(eot), 2)
    (-7.785, 13.71)

    """
    ns = _as_utc_ns(when)
    decl, eot = _declination_eot(_days_since_j2000(ns))
    return np.degrees(decl), eot


def solar_elevation(
    lon: ArrayLike, lat: ArrayLike, when: Any, *, refraction: bool = False
) -> FloatArray:
    """The sun's elevation above the horizon, in degrees, by the NOAA formulas.

    ``lon``, ``lat`` and ``when`` broadcast against each other like any numpy operands.

    Parameters
    ----------
    lon, lat : array_like of float
        Longitude (degrees east) and latitude (degrees north), WGS84.
    when : numpy datetime64 array or scalar, pandas DatetimeIndex / Series / Timestamp, datetime
        Instants. Numpy values and naive pandas or ``datetime`` values are read as UTC;
        time-zone-aware values are converted to UTC. NaT gives NaN.
    refraction : bool, default False
        Add NOAA's approximate atmospheric refraction (apparent elevation). Off by default
        because civil twilight, and so :data:`DARK_BELOW_DEGREES`, is geometric.

    Returns
    -------
    ndarray of float
        Elevation in degrees, -90 to 90; the broadcast shape of the inputs.

    Examples
    --------
    Midday at Charing Cross on the June solstice, and just after a December sunset:

    >>> round(float(solar_elevation(-0.12, 51.5, np.datetime64("2026-06-21T12:02"))), 1)
    61.9
    >>> float(solar_elevation(-0.12, 51.5, np.datetime64("2026-12-21T16:10"))) < 0
    True

    """
    ns = _as_utc_ns(when)
    days = _days_since_j2000(ns)
    decl, eot = _declination_eot(days)
    lon_a = np.asarray(lon, dtype=float)
    lat_r = np.radians(np.asarray(lat, dtype=float))
    cos_hour_angle = _cos_hour_angle(_utc_minutes(ns) + eot, lon_a)
    sin_elev = np.sin(lat_r) * np.sin(decl) + np.cos(lat_r) * np.cos(decl) * cos_hour_angle
    # Rounding can push the sine a hair past +-1 at the poles or at the subsolar point.
    elevation: FloatArray = np.degrees(np.arcsin(np.clip(sin_elev, -1.0, 1.0)))
    if refraction:
        elevation = elevation + _refraction(elevation)
    return elevation


def is_dark(lon: ArrayLike, lat: ArrayLike, when: Any) -> BoolArray:
    """Whether the sun is below :data:`DARK_BELOW_DEGREES` (geometric) at each instant.

    Parameters
    ----------
    lon, lat : array_like of float
        Longitude and latitude in degrees, WGS84.
    when : numpy datetime64 array or scalar, or pandas datetimes
        Instants, as for :func:`solar_elevation`. NaT gives False.

    Returns
    -------
    ndarray of bool
        True where it was dark; the broadcast shape of the inputs.

    Examples
    --------
    On the December solstice in London the sun sets near 15:53 UTC, but civil twilight
    lasts until about 16:33:

    >>> is_dark(-0.12, 51.5, np.array(["2026-12-21T16:10", "2026-12-21T17:00"], "M8[ns]"))
    array([False,  True])

    """
    return np.asarray(solar_elevation(lon, lat, when) < DARK_BELOW_DEGREES)


def band_window_utc(
    dates: ArrayLike | Sequence[Any], bands: ArrayLike | Sequence[Any]
) -> tuple[npt.NDArray[np.datetime64], npt.NDArray[np.datetime64]]:
    """Each row's band as a UTC interval ``[start, end)``.

    The band's hours are London wall-clock times on the row's date (``night`` ends at 05:00
    the next morning), so the interval is DST-aware: ``evening`` is 17:00-22:00 UTC in winter
    and 16:00-21:00 UTC in summer, and the ``night`` that spans the clocks going forward lasts
    six hours while the one spanning them going back lasts eight.

    Parameters
    ----------
    dates : array_like
        London dates: ``datetime.date`` objects, ``datetime64`` values or ISO strings. Any
        time of day is dropped; time-zone-aware values are first put into London time.
    bands : array_like of str
        Band names, keys of :data:`TIME_BANDS`; the same length as ``dates``.

    Returns
    -------
    start, end : ndarray of datetime64[ns]
        Naive UTC instants, one per row.

    Raises
    ------
    ValueError
        If a band is not a key of :data:`TIME_BANDS` (naming it and the valid ones), a date
        is missing or unreadable, or the lengths differ.

    Examples
    --------
    >>> start, end = band_window_utc(["2026-10-24"], ["night"])
    >>> str(start[0]), str(end[0])
    ('2026-10-24T21:00:00.000000000', '2026-10-25T05:00:00.000000000')

    """
    codes, start, end = _band_windows(dates, bands)
    return start[codes], end[codes]


def band_midpoint_utc(
    dates: ArrayLike | Sequence[Any], bands: ArrayLike | Sequence[Any]
) -> npt.NDArray[np.datetime64]:
    """The UTC instant halfway through each row's band, as a representative time.

    Callers store the sun's elevation at this instant next to the band's darkness verdict.
    The midpoint is taken on the real (UTC) interval, so on the nights the clocks change it
    is halfway through the six or eight hours that actually passed.

    Parameters
    ----------
    dates, bands : array_like
        As for :func:`band_window_utc`.

    Returns
    -------
    ndarray of datetime64[ns]
        Naive UTC instants, one per row.

    Examples
    --------
    >>> str(band_midpoint_utc(["2026-12-21"], ["evening"])[0])
    '2026-12-21T19:30:00.000000000'
    >>> str(band_midpoint_utc(["2026-06-21"], ["night"])[0])
    '2026-06-22T00:30:00.000000000'

    """
    codes, start, end = _band_windows(dates, bands)
    mid = start + (end - start) // 2
    return mid[codes]


def band_darkness(
    lon: ArrayLike,
    lat: ArrayLike,
    dates: ArrayLike | Sequence[Any],
    bands: ArrayLike | Sequence[Any],
    *,
    step_minutes: int = 10,
) -> tuple[FloatArray, BoolArray]:
    """The share of each row's time band that was dark, and whether most of it was.

    The band (see :func:`band_window_utc`; London local time on the row's date, DST-aware)
    is sampled every ``step_minutes`` at the middle of each step -- 17:05, 17:15, ... 21:55
    for ``evening`` -- because mid-step samples do not favour either end of the band. On the
    nights the clocks change the band is sampled over the time that actually passed.

    The computation is an (n rows x k samples) array: the sun's declination and equation of
    time are worked out once per distinct (date, band) and sample, and only the hour angle,
    which needs the row's longitude, is per row. Rows are taken in blocks of 16,384 so that
    a million rows needs megabytes rather than gigabytes (about a second for a million).

    Parameters
    ----------
    lon, lat : array_like of float
        Longitude and latitude in degrees, WGS84; one per row (scalars are broadcast).
    dates : array_like
        London dates, as for :func:`band_window_utc`.
    bands : array_like of str
        Keys of :data:`TIME_BANDS`.
    step_minutes : int, default 10
        Sampling step, 1 to 60 minutes.

    Returns
    -------
    share : ndarray of float
        Share of the band's samples when the sun was below :data:`DARK_BELOW_DEGREES`, 0-1.
    mostly_dark : ndarray of bool
        ``share > 0.5``.

    Raises
    ------
    ValueError
        For an unknown band (named, with the valid ones), a missing or unreadable date,
        inputs of different lengths, or a step outside 1-60 minutes.

    Examples
    --------
    A summer evening in London is light; a winter evening is dark throughout:

    >>> share, dark = band_darkness(
    ...     [-0.12, -0.12], [51.5, 51.5], ["2026-06-21", "2026-12-21"], ["evening", "evening"]
    ... )
    >>> share.round(2), dark
    (array([0., 1.]), array([False,  True]))

    """
    if not 1 <= int(step_minutes) <= 60:
        raise ValueError(f"step_minutes must be between 1 and 60, not {step_minutes}")
    codes, start, end = _band_windows(dates, bands)
    n = codes.shape[0]
    lon_a, lat_a = (np.broadcast_to(np.asarray(v, dtype=float), (n,)) for v in (lon, lat))

    # Samples per distinct window, (u, k): mid-step instants, masked past each window's end
    # (bands differ in length, and DST makes one night 6 h and another 8 h).
    step_ns = int(step_minutes) * _NS_PER_MINUTE
    k = int(-(-int((end - start).astype(np.int64).max(initial=0)) // step_ns))
    offsets = (np.arange(k, dtype=np.int64) * step_ns + step_ns // 2).astype("m8[ns]")
    samples = start[:, None] + offsets[None, :]
    valid = samples < end[:, None]
    decl, eot = _declination_eot(_days_since_j2000(samples))
    # Hour angle = a + longitude, with a fixed per sample. Expanding cos(a + lon) lets the
    # per-element work be multiply-adds on per-sample and per-row factors, with no trig on
    # the (rows x samples) array:
    #   sin(elev) = sin(lat) sin(decl) - cos(lat) cos(decl) (cos a cos lon - sin a sin lon)
    a = np.radians((_utc_minutes(samples) + eot) / 4.0)
    sin_decl = np.sin(decl)
    cos_decl_cos_a = np.cos(decl) * np.cos(a)
    cos_decl_sin_a = np.cos(decl) * np.sin(a)
    # Samples past a window's end can never count as dark: their threshold is -inf.
    threshold = np.where(valid, _SIN_DARK, -np.inf)

    lat_r, lon_r = np.radians(lat_a), np.radians(lon_a)
    sin_lat, cos_lat = np.sin(lat_r)[:, None], np.cos(lat_r)[:, None]
    cos_lon, sin_lon = np.cos(lon_r)[:, None], np.sin(lon_r)[:, None]
    dark_count = np.zeros(n, dtype=np.int64)
    # A loop over row *blocks* (about 60 for a million rows) to bound memory; within a
    # block everything is one vectorised (rows x samples) expression.
    for first in range(0, n, _BLOCK_ROWS):
        rows = slice(first, first + _BLOCK_ROWS)
        c = codes[rows]
        cos_ha = cos_lon[rows] * cos_decl_cos_a[c] - sin_lon[rows] * cos_decl_sin_a[c]
        sin_elev = sin_lat[rows] * sin_decl[c] - cos_lat[rows] * cos_ha
        # sin is increasing on [-90, 90], so comparing sines is comparing elevations.
        dark_count[rows] = np.count_nonzero(sin_elev < threshold[c], axis=1)
    share: FloatArray = dark_count / valid.sum(axis=1)[codes]
    return share, share > 0.5


def band_of(when_local_hours: ArrayLike) -> npt.NDArray[np.str_]:
    """The time band that London local times fall in.

    Parameters
    ----------
    when_local_hours : array_like of float
        Hours since local midnight, 0 <= h < 24 (e.g. 17.5 for 17:30).

    Returns
    -------
    ndarray of str
        Band names, keys of :data:`TIME_BANDS`; bands include their start hour.

    Raises
    ------
    ValueError
        If an hour is NaN or outside [0, 24).

    Examples
    --------
    >>> band_of([4.99, 5.0, 12.0, 17.0, 22.0, 0.5]).tolist()
    ['night', 'early_morning', 'daytime', 'evening', 'night', 'night']

    """
    hours = np.asarray(when_local_hours, dtype=float)
    bad = ~((hours >= 0.0) & (hours < 24.0))
    if bad.any():
        raise ValueError(
            f"local hour {float(hours[bad].flat[0])!r} is not in [0, 24); give hours since midnight"
        )
    conditions = [
        (hours >= low) & (hours < high)
        for low, high in TIME_BANDS.values()
        if low < high  # night wraps midnight and is the default below
    ]
    names = [name for name, (low, high) in TIME_BANDS.items() if low < high]
    return np.select(conditions, names, default="night").astype("<U13")


@dataclass(frozen=True)
class SunTimes:
    """When the sun crosses civil twilight and the horizon on one London date at one place.

    Each time is time-zone-aware, in Europe/London (GMT or BST as in force), or None when the
    sun does not cross that elevation on that date -- which never happens at London's
    latitude, only nearer the poles.
    """

    civil_dawn: datetime | None
    """Morning: the sun's centre rises through :data:`DARK_BELOW_DEGREES`; dark before it."""
    sunrise: datetime | None
    """Morning: the centre rises through :data:`SUNRISE_ALTITUDE_DEGREES` (published sunrise)."""
    sunset: datetime | None
    """Evening: the centre sets through :data:`SUNRISE_ALTITUDE_DEGREES` (published sunset)."""
    civil_dusk: datetime | None
    """Evening: the centre sets through :data:`DARK_BELOW_DEGREES`; dark after it."""


def sun_times(lon: float, lat: float, day: date | str) -> SunTimes:
    """Civil dawn, sunrise, sunset and civil dusk at a place on a London date.

    The sun's geometric elevation (:func:`solar_elevation`, the NOAA formulas) is computed for
    every minute of the London day -- midnight to midnight local time, so 23 or 25 hours on
    the days the clocks change -- as one numpy array, and each crossing is placed between its
    two minutes by linear interpolation (the elevation is smooth, so this is good to well
    under a second; the formulas themselves are good to about a minute).

    Conventions: civil dawn and dusk are the centre of the sun at -6 degrees geometric, the
    project's "dark" (:data:`DARK_BELOW_DEGREES`), so :func:`is_dark` is true exactly between
    civil dusk and the next civil dawn. Sunrise and sunset are the almanac convention, the
    upper limb on the horizon with standard refraction, which is the centre at
    :data:`SUNRISE_ALTITUDE_DEGREES` (-0.833 degrees) geometric; the module's own
    ``refraction=True`` is not used. A place at sea level with a flat horizon is assumed.

    Parameters
    ----------
    lon, lat : float
        Longitude (degrees east) and latitude (degrees north), WGS84.
    day : datetime.date, datetime or ISO date string
        The London date. A time-zone-aware datetime is first put into London time; a naive
        one is taken as London wall-clock time.

    Returns
    -------
    SunTimes
        The four times, aware, in Europe/London, to the second. Where the sun crosses an
        elevation more than once on the date (near the poles), the first rising and the
        last setting crossing are given; where it does not cross it, None.

    Raises
    ------
    ValueError
        If a coordinate is not a finite number in range (naming it), or the day cannot be
        read as a date.

    Examples
    --------
    The December solstice at Charing Cross (almanacs, to the minute: 08:04 and 15:53 GMT):

    >>> from datetime import date
    >>> times = sun_times(-0.12, 51.5, date(2026, 12, 21))
    >>> times.sunrise.strftime("%H:%M:%S %Z"), times.sunset.strftime("%H:%M:%S %Z")
    ('08:03:41 GMT', '15:53:26 GMT')

    """
    lon_f = _checked_degrees(lon, "longitude", 180.0)
    lat_f = _checked_degrees(lat, "latitude", 90.0)
    local_day = _london_date(day)
    start = datetime.combine(local_day, time(0), tzinfo=LONDON).astimezone(UTC)
    end = datetime.combine(local_day + timedelta(days=1), time(0), tzinfo=LONDON).astimezone(UTC)
    minutes = (end - start) // timedelta(minutes=1)
    start_ns = np.datetime64(start.replace(tzinfo=None), "ns")
    offsets = np.arange(minutes + 1, dtype=np.int64) * _NS_PER_MINUTE
    samples = start_ns + offsets.astype("m8[ns]")
    elevation = solar_elevation(lon_f, lat_f, samples)

    # Rows: dark threshold, then the horizon; columns: the minute each step starts at.
    thresholds = np.array([DARK_BELOW_DEGREES, SUNRISE_ALTITUDE_DEGREES])
    above = elevation[None, :] > thresholds[:, None]
    rising = ~above[:, :-1] & above[:, 1:]
    setting = above[:, :-1] & ~above[:, 1:]
    # The first rise and the last set through each threshold, as (dawn, sunrise, dusk, sunset).
    step = np.concatenate(
        [rising.argmax(axis=1), rising.shape[1] - 1 - setting[:, ::-1].argmax(axis=1)]
    )
    found = np.concatenate([rising.any(axis=1), setting.any(axis=1)])
    altitude = np.tile(thresholds, 2)
    before, after = elevation[step], elevation[step + 1]
    fraction = np.where(found, (altitude - before) / np.where(found, after - before, 1.0), 0.0)
    seconds = np.rint((offsets[step] + fraction * _NS_PER_MINUTE) / 1e9)
    dawn, sunrise, dusk, sunset = (
        (start + timedelta(seconds=float(s))).astimezone(LONDON) if ok else None
        for s, ok in zip(seconds, found, strict=True)
    )
    return SunTimes(civil_dawn=dawn, sunrise=sunrise, sunset=sunset, civil_dusk=dusk)


# --- internals ---------------------------------------------------------------------------


def _as_utc_ns(when: Any) -> npt.NDArray[np.datetime64]:
    """Instants as naive UTC datetime64[ns] (numpy, naive pandas and naive datetimes are UTC)."""
    if isinstance(when, pd.Series):
        if isinstance(when.dtype, pd.DatetimeTZDtype):
            when = when.dt.tz_convert("UTC").dt.tz_localize(None)
        return np.asarray(when.to_numpy(dtype="datetime64[ns]"))
    if isinstance(when, pd.DatetimeIndex):
        if when.tz is not None:
            when = when.tz_convert("UTC").tz_localize(None)
        return np.asarray(when.to_numpy(dtype="datetime64[ns]"))
    if isinstance(when, datetime):  # includes pd.Timestamp
        stamp = pd.Timestamp(when)
        if stamp.tzinfo is not None:
            stamp = stamp.tz_convert("UTC").tz_localize(None)
        return np.asarray(stamp.to_datetime64(), dtype="datetime64[ns]")
    return np.asarray(when, dtype="datetime64[ns]")


def _days_since_j2000(ns: npt.NDArray[np.datetime64]) -> FloatArray:
    days: FloatArray = (ns - _J2000) / np.timedelta64(1, "D")  # NaT -> NaN
    return days


def _utc_minutes(ns: npt.NDArray[np.datetime64]) -> FloatArray:
    """Minutes past UTC midnight, from exact integer nanoseconds (no float rounding of dates)."""
    as_int = ns.astype(np.int64)
    minutes: FloatArray = (as_int % _NS_PER_DAY) / _NS_PER_MINUTE
    return np.where(np.isnat(ns), np.nan, minutes)


def _declination_eot(days: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Declination (radians) and equation of time (minutes): the NOAA spreadsheet's columns."""
    t = days / 36525.0  # Julian century
    mean_lon = np.radians(np.mod(280.46646 + t * (36000.76983 + t * 0.0003032), 360.0))
    mean_anom = np.radians(357.52911 + t * (35999.05029 - 0.0001537 * t))
    ecc = 0.016708634 - t * (0.000042037 + 0.0000001267 * t)
    centre = (
        np.sin(mean_anom) * (1.914602 - t * (0.004817 + 0.000014 * t))
        + np.sin(2 * mean_anom) * (0.019993 - 0.000101 * t)
        + np.sin(3 * mean_anom) * 0.000289
    )
    true_lon = np.degrees(mean_lon) + centre
    omega = np.radians(125.04 - 1934.136 * t)  # longitude of the Moon's node: nutation
    apparent_lon = np.radians(true_lon - 0.00569 - 0.00478 * np.sin(omega))
    mean_obliq = (
        23.0 + (26.0 + (21.448 - t * (46.815 + t * (0.00059 - t * 0.001813))) / 60.0) / 60.0
    )
    obliq = np.radians(mean_obliq + 0.00256 * np.cos(omega))
    declination = np.arcsin(np.sin(obliq) * np.sin(apparent_lon))
    y = np.tan(obliq / 2) ** 2
    eot_rad = (
        y * np.sin(2 * mean_lon)
        - 2 * ecc * np.sin(mean_anom)
        + 4 * ecc * y * np.sin(mean_anom) * np.cos(2 * mean_lon)
        - 0.5 * y * y * np.sin(4 * mean_lon)
        - 1.25 * ecc * ecc * np.sin(2 * mean_anom)
    )
    return declination, 4.0 * np.degrees(eot_rad)


def _cos_hour_angle(utc_minutes_plus_eot: FloatArray, lon: FloatArray) -> FloatArray:
    """cos(hour angle) where true solar time = UTC minutes + EoT + 4 * longitude.

    Hour angle = true solar time / 4 - 180 degrees, and cos(x - 180) = -cos(x); the NOAA
    sheet's wrap of true solar time into 0-1440 minutes does not change a cosine.
    """
    cos_ha: FloatArray = -np.cos(np.radians(utc_minutes_plus_eot / 4.0 + lon))
    return cos_ha


def _refraction(elevation: FloatArray) -> FloatArray:
    """NOAA's approximate atmospheric refraction, degrees, for a geometric elevation."""
    e = np.asarray(elevation, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        tan_e = np.tan(np.radians(e))
        arcsec = np.select(
            [e > 85.0, e > 5.0, e > -0.575],
            [
                np.zeros_like(e),
                58.1 / tan_e - 0.07 / tan_e**3 + 0.000086 / tan_e**5,
                1735.0 + e * (-518.2 + e * (103.4 + e * (-12.79 + e * 0.711))),
            ],
            default=-20.772 / tan_e,
        )
    correction: FloatArray = arcsec / 3600.0
    return correction


def _band_windows(
    dates: ArrayLike | Sequence[Any], bands: ArrayLike | Sequence[Any]
) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.datetime64], npt.NDArray[np.datetime64]]:
    """Row codes into distinct (date, band) windows, and each window's UTC start and end.

    Distinct values are found by hashing (pd.factorize), so a million rows that share a few
    thousand dates convert only those few thousand dates through the time zone rules.
    """
    date_values = np.asarray(dates, dtype=object).ravel()
    band_values = np.asarray(bands, dtype=object).ravel()
    if date_values.shape != band_values.shape:
        raise ValueError(
            f"dates and bands differ in length ({date_values.size} and {band_values.size})"
        )
    band_codes, band_names = pd.factorize(band_values)
    # A missing band (None/NaN) gets code -1 and is named as None.
    unknown = [None] if (band_codes < 0).any() else []
    unknown += [b for b in band_names if b not in TIME_BANDS]
    if unknown:
        raise ValueError(
            f"unknown time band {unknown[0]!r}; valid bands are {', '.join(TIME_BANDS)}"
        )
    date_codes, date_uniques = pd.factorize(date_values, use_na_sentinel=False)
    try:
        days = pd.to_datetime(pd.Series(date_uniques, dtype=object))
    except (ValueError, TypeError) as exc:
        raise ValueError(f"unreadable date among {list(date_uniques[:5])!r}: {exc}") from exc
    if isinstance(days.dtype, pd.DatetimeTZDtype):
        days = days.dt.tz_convert(LONDON).dt.tz_localize(None)
    if days.isna().any():
        raise ValueError("a date is missing; every banded row needs a London date")
    day_ns = days.dt.normalize().to_numpy(dtype="datetime64[ns]")

    combined = date_codes.astype(np.int64) * len(band_names) + band_codes
    codes, combos = pd.factorize(combined)
    combo_day = day_ns[combos // max(len(band_names), 1)]
    hours = np.array([TIME_BANDS[str(b)] for b in band_names], dtype=np.int64)
    start_h, end_h = hours.reshape(-1, 2)[combos % max(len(band_names), 1)].T
    end_day = np.where(end_h <= start_h, 1, 0)  # night: 05:00 the next morning
    hour = np.timedelta64(1, "h")
    local_start = combo_day + start_h * hour
    local_end = combo_day + end_day * np.timedelta64(1, "D") + end_h * hour
    # Band edges (05, 08, 17, 22 h) never fall in London's skipped or repeated hour
    # (01:00-02:00), so "raise" can only fire if TIME_BANDS is edited to do so.
    start = _london_to_utc(local_start)
    end = _london_to_utc(local_end)
    return np.asarray(codes, dtype=np.intp), start, end


def _london_to_utc(local: npt.NDArray[np.datetime64]) -> npt.NDArray[np.datetime64]:
    index = pd.DatetimeIndex(local).tz_localize(LONDON, ambiguous="raise", nonexistent="raise")
    return np.asarray(index.tz_convert("UTC").tz_localize(None).to_numpy(dtype="datetime64[ns]"))


def _checked_degrees(value: object, name: str, limit: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | np.floating | np.integer):
        raise ValueError(f"{name} must be a number of degrees, not {type(value).__name__}")
    degrees = float(value)
    if not (math.isfinite(degrees) and -limit <= degrees <= limit):
        raise ValueError(f"{name} {value!r} is not between -{limit:g} and {limit:g} degrees")
    return degrees


def _london_date(day: object) -> date:
    """The London calendar date of a date, a datetime (aware: converted) or an ISO string."""
    if isinstance(day, datetime):  # before date: a datetime is a date too
        if day.tzinfo is not None and day.utcoffset() is not None:
            return day.astimezone(LONDON).date()
        return day.date()
    if isinstance(day, date):
        return day
    if isinstance(day, str):
        try:
            return date.fromisoformat(day.strip())
        except ValueError:
            raise ValueError(f"day {day!r} is not an ISO date like 2026-12-21") from None
    raise ValueError(f"day must be a date, a datetime or an ISO date string, not {day!r}")
