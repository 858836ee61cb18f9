import math

import pytest

from geo.coordinates import InvalidCoordinates, check_lon_lat


@pytest.mark.parametrize(
    ("lon", "lat"),
    [
        (-0.1136, 51.5033),  # Waterloo station
        (-180.0, -90.0),
        (180.0, 90.0),
        (0.0, 0.0),
        (1, 2),
    ],
)
def test_valid_positions_come_back_as_floats(lon: float, lat: float) -> None:
    result = check_lon_lat(lon, lat)
    assert result == (float(lon), float(lat))
    assert all(type(v) is float for v in result)


@pytest.mark.parametrize(
    ("lon", "lat", "expected"),
    [
        (math.nan, 51.5, r"longitude nan is not a finite number; give a number in \[-180, 180\]"),
        (-0.1, math.nan, r"latitude nan is not a finite number; give a number in \[-90, 90\]"),
        (math.inf, 51.5, r"longitude inf is not a finite number"),
        (-0.1, -math.inf, r"latitude -inf is not a finite number"),
        (180.5, 51.5, r"longitude 180.5 is outside the valid range \[-180, 180\]"),
        (-180.0001, 51.5, r"longitude -180.0001 is outside the valid range \[-180, 180\]"),
        (-0.1, 90.01, r"latitude 90.01 is outside the valid range \[-90, 90\]"),
        # lat, lon swapped from a source that writes latitude first
        (51.5, -190.0, r"latitude -190.0 is outside the valid range \[-90, 90\]"),
        ("west", 51.5, r"longitude 'west' is not a number"),
    ],
)
def test_invalid_positions_name_value_and_range(lon: float, lat: float, expected: str) -> None:
    with pytest.raises(InvalidCoordinates, match=expected):
        check_lon_lat(lon, lat)


def test_invalid_coordinates_is_a_value_error() -> None:
    with pytest.raises(ValueError, match=r"latitude 91\.0"):
        check_lon_lat(0.0, 91.0)
