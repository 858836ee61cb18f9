"""Checks on single longitude/latitude pairs before they become geometries."""

from __future__ import annotations

import math

__all__ = ["InvalidCoordinates", "check_lon_lat"]

_LON_RANGE = (-180.0, 180.0)
_LAT_RANGE = (-90.0, 90.0)


class InvalidCoordinates(ValueError):
    """A longitude or latitude that cannot be a WGS84 (EPSG:4326) position."""


def check_lon_lat(lon: float, lat: float) -> tuple[float, float]:
    """Return ``(lon, lat)`` as floats if they are a valid WGS84 position.

    Longitude must lie in [-180, 180] and latitude in [-90, 90]; NaN and
    infinities are refused. The order is longitude first, as in GeoJSON and
    Shapely, so a swapped pair from a ``lat, lon`` source fails loudly whenever
    the latitude is outside [-90, 90] -- though not for places near the equator
    and prime meridian, where both orders are in range.

    Parameters
    ----------
    lon : float
        Longitude in degrees east.
    lat : float
        Latitude in degrees north.

    Returns
    -------
    tuple of (float, float)
        The same position as ``(lon, lat)`` floats.

    Raises
    ------
    InvalidCoordinates
        If either value is not a finite number or lies outside its range; the
        message names the value and the valid range.

    Examples
    --------
    >>> check_lon_lat(-0.1136, 51.5033)
    (-0.1136, 51.5033)
    >>> check_lon_lat(51.5033, -190.0)
    Traceback (most recent call last):
    ...
    geo.coordinates.InvalidCoordinates: latitude -190.0 is outside the valid range [-90, 90]

    """
    return _check_axis("longitude", lon, _LON_RANGE), _check_axis("latitude", lat, _LAT_RANGE)


def _check_axis(label: str, value: float, valid: tuple[float, float]) -> float:
    low, high = valid
    range_text = f"[{low:g}, {high:g}]"
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise InvalidCoordinates(
            f"{label} {value!r} is not a number; give a number in {range_text}"
        ) from None
    if not math.isfinite(number):
        raise InvalidCoordinates(
            f"{label} {number} is not a finite number; give a number in {range_text}"
        )
    if not low <= number <= high:
        raise InvalidCoordinates(f"{label} {number} is outside the valid range {range_text}")
    return number
