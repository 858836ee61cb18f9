"""geo.routes: cleaning, measuring, trimming, cutting and darkness of walk routes.

The main fixture is a real walk: Waterloo station, up to the river by the National Theatre,
east along the Queen's Walk and Bankside past the OXO Tower, Tate Modern and the Globe, then
down Clink Street to Borough Market -- about 2.2 km. Its length is checked against the
geodesic length on the WGS84 ellipsoid (pyproj Geod), which the grid length must match to
well within 1 % (the grid's scale factor near London is about 0.9998).

Darkness reference: London, 21 December, civil twilight ends about 16:33-16:34 UTC (HM Nautical
Almanac Office / timeanddate.com); on 21 June the sun is about 62 degrees up at noon.
"""

from __future__ import annotations

import itertools
import math
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pytest
import shapely
from pyproj import Geod, Transformer
from shapely.geometry import (
    LineString,
    MultiLineString,
    Point,
    box,
    mapping,
)

from geo.darkness import DARK_BELOW_DEGREES, solar_elevation
from geo.routes import (
    MAX_LENGTH_M,
    MIN_KEPT_M,
    MIN_LENGTH_M,
    InvalidRoute,
    check_route,
    clean_route,
    darkness_along,
    route_length_m,
    segments,
    trim_route_ends,
)

SOUTH_BANK = [
    (-0.1136, 51.5033),  # Waterloo station
    (-0.1141, 51.5069),  # National Theatre
    (-0.1085, 51.5081),  # OXO Tower
    (-0.1045, 51.5085),  # Blackfriars Bridge, south end
    (-0.0993, 51.5076),  # Tate Modern
    (-0.0972, 51.5081),  # Shakespeare's Globe
    (-0.0940, 51.5078),  # Southwark Bridge, south end
    (-0.0920, 51.5070),  # Clink Street
    (-0.0909, 51.5055),  # Borough Market
]
WATERLOO, BOROUGH_MARKET = SOUTH_BANK[0], SOUTH_BANK[-1]

_GEOD = Geod(ellps="WGS84")
_TO_GRID = Transformer.from_crs("EPSG:4326", "EPSG:27700", always_xy=True)


def geodesic_length(coords: list[tuple[float, float]]) -> float:
    lons, lats = zip(*coords, strict=True)
    return float(_GEOD.line_length(lons, lats))


def north_line(length_m: float, start: tuple[float, float] = WATERLOO) -> LineString:
    """A straight line due north of about ``length_m`` metres (1 degree of latitude ~111.25 km)."""
    lon, lat = start
    return LineString([(lon, lat), (lon, lat + length_m / 111_250.0)])


def to_grid(line: LineString) -> LineString:
    x, y = _TO_GRID.transform(*np.asarray(line.coords).T)
    return LineString(np.column_stack([x, y]))


def line_with_nan(coords: list[tuple[float, float]]) -> LineString:
    with np.errstate(invalid="ignore"):  # GEOS warns about NaN but builds the line
        return LineString(coords)


@pytest.fixture
def route() -> LineString:
    return LineString(SOUTH_BANK)


# --- clean_route ---------------------------------------------------------------------------

JOINED_PARTS = [SOUTH_BANK[:4], SOUTH_BANK[3:]]
GAPPED_PARTS = [SOUTH_BANK[:4], SOUTH_BANK[4:]]  # a gap of about 380 m

REFUSED = [
    pytest.param(Point(WATERLOO), "not a Point", id="shapely-point"),
    pytest.param({"type": "Point", "coordinates": list(WATERLOO)}, "not a Point", id="point"),
    pytest.param(mapping(box(-0.12, 51.50, -0.09, 51.51)), "not a Polygon", id="geojson-polygon"),
    pytest.param(box(-0.12, 51.50, -0.09, 51.51), "not a Polygon", id="shapely-polygon"),
    pytest.param(
        shapely.GeometryCollection([LineString(SOUTH_BANK)]),
        "not a GeometryCollection",
        id="collection",
    ),
    pytest.param({"type": "FeatureCollection", "features": []}, "FeatureCollection", id="fc"),
    pytest.param({"coordinates": SOUTH_BANK}, "not an object with type None", id="no-type"),
    pytest.param([WATERLOO, BOROUGH_MARKET], "not list", id="bare-list"),
    pytest.param(LineString(), "empty", id="shapely-empty"),
    pytest.param({"type": "LineString", "coordinates": []}, "empty", id="empty"),
    pytest.param(
        {"type": "LineString", "coordinates": [list(WATERLOO)]}, "two distinct", id="one-point"
    ),
    pytest.param(LineString([WATERLOO, WATERLOO]), "two distinct", id="two-identical"),
    pytest.param(
        {"type": "LineString", "coordinates": [WATERLOO, (math.nan, 51.5), BOROUGH_MARKET]},
        "vertex 1 (counting from 0): longitude nan is not a finite number",
        id="nan",
    ),
    pytest.param(
        line_with_nan([WATERLOO, (-0.1, math.nan), BOROUGH_MARKET]),
        "vertex 1 (counting from 0): latitude nan is not a finite number",
        id="shapely-nan",
    ),
    pytest.param(
        {"type": "LineString", "coordinates": [WATERLOO, BOROUGH_MARKET, (math.inf, 51.5)]},
        "vertex 2 (counting from 0): longitude inf is not a finite number",
        id="inf",
    ),
    pytest.param(
        {"type": "LineString", "coordinates": [WATERLOO, (-0.1, 95.0)]},
        "vertex 1 (counting from 0): latitude 95.0 is outside the valid range [-90, 90]",
        id="lat-95",
    ),
    pytest.param(
        {"type": "LineString", "coordinates": [WATERLOO, ["-0.1", 51.5]]},
        "vertex 1 (counting from 0): longitude '-0.1' is not a number",
        id="string-number",
    ),
    pytest.param(
        {"type": "LineString", "coordinates": [WATERLOO, [-0.1]]},
        "vertex 1 (counting from 0) is [-0.1]",
        id="short-position",
    ),
    pytest.param(
        {"type": "MultiLineString", "coordinates": GAPPED_PARTS},
        "part 1 of the MultiLineString starts 3",
        id="multi-gap",
    ),
    pytest.param(MultiLineString(GAPPED_PARTS), "must join end to end", id="shapely-multi-gap"),
    pytest.param(
        {"type": "MultiLineString", "coordinates": [SOUTH_BANK[:4], [SOUTH_BANK[3]]]},
        "part 1 of the MultiLineString has 1 position",
        id="multi-one-point-part",
    ),
    pytest.param(
        {"type": "MultiLineString", "coordinates": [SOUTH_BANK[:4], [SOUTH_BANK[3], (0, 91)]]},
        "vertex 1 of part 1 (counting from 0): latitude 91.0",
        id="multi-bad-vertex",
    ),
    pytest.param({"type": "Feature", "geometry": None}, "has no geometry", id="feature-empty"),
]


@pytest.mark.parametrize(("geometry", "message"), REFUSED)
def test_clean_route_refuses(geometry: object, message: str) -> None:
    with pytest.raises(InvalidRoute, match=None) as caught:
        clean_route(geometry)  # type: ignore[arg-type]
    assert message in str(caught.value)


ACCEPTED = [
    pytest.param(LineString(SOUTH_BANK), id="shapely-line"),
    pytest.param({"type": "LineString", "coordinates": SOUTH_BANK}, id="geojson-line"),
    pytest.param(
        {"type": "LineString", "coordinates": [[*xy, 12.5] for xy in SOUTH_BANK]}, id="geojson-z"
    ),
    pytest.param(
        {"type": "LineString", "coordinates": [[*xy, 12.5, 1.0] for xy in SOUTH_BANK]},
        id="geojson-zm",
    ),
    pytest.param(LineString([(*xy, 12.5) for xy in SOUTH_BANK]), id="shapely-z"),
    pytest.param({"type": "MultiLineString", "coordinates": JOINED_PARTS}, id="multi-joined"),
    pytest.param(MultiLineString(JOINED_PARTS), id="shapely-multi-joined"),
    pytest.param({"type": "MultiLineString", "coordinates": [SOUTH_BANK]}, id="multi-one-part"),
    pytest.param(
        {
            "type": "Feature",
            "properties": {"walk": 7},
            "geometry": {"type": "LineString", "coordinates": SOUTH_BANK},
        },
        id="feature",
    ),
    pytest.param(
        {"type": "Feature", "properties": {}, "geometry": mapping(MultiLineString(JOINED_PARTS))},
        id="feature-multi",
    ),
]


@pytest.mark.parametrize("geometry", ACCEPTED)
def test_clean_route_accepts_lines_as_2d_wgs84(geometry: object) -> None:
    line = clean_route(geometry)  # type: ignore[arg-type]
    assert isinstance(line, LineString)
    assert not line.has_z
    # The joining point shared by two parts appears once: it is a consecutive repeat.
    assert list(line.coords) == SOUTH_BANK


def test_multilinestring_parts_within_a_metre_are_joined() -> None:
    nudged = (SOUTH_BANK[3][0] + 0.000005, SOUTH_BANK[3][1])  # about 0.35 m east
    line = clean_route(MultiLineString([SOUTH_BANK[:4], [nudged, *SOUTH_BANK[4:]]]))
    assert len(line.coords) == len(SOUTH_BANK) + 1
    assert line.coords[0] == WATERLOO and line.coords[-1] == BOROUGH_MARKET


def test_multilinestring_parts_two_metres_apart_are_refused() -> None:
    nudged = (SOUTH_BANK[3][0] + 0.00003, SOUTH_BANK[3][1])  # about 2.1 m east
    with pytest.raises(InvalidRoute, match=r"starts 2 m from where part 0 ends"):
        clean_route(MultiLineString([SOUTH_BANK[:4], [nudged, *SOUTH_BANK[4:]]]))


def test_consecutive_duplicates_are_dropped_but_returns_are_kept() -> None:
    a, b, c = SOUTH_BANK[:3]
    line = clean_route({"type": "LineString", "coordinates": [a, a, b, b, b, c, [*b, 4.0], a, a]})
    # Repeats in a row go (also when only the height differs); coming back to a place stays.
    assert list(line.coords) == [a, b, c, b, a]


def test_clean_route_names_the_shape_it_got_and_the_fix() -> None:
    with pytest.raises(InvalidRoute) as caught:
        clean_route(box(-0.12, 51.50, -0.09, 51.51))
    assert str(caught.value) == (
        "a route must be a LineString (or a MultiLineString whose parts join end to end), "
        "not a Polygon; draw or upload the path that was walked"
    )


# --- length and checks ---------------------------------------------------------------------


def test_route_length_matches_the_geodesic_length(route: LineString) -> None:
    expected = geodesic_length(SOUTH_BANK)
    assert 2_000 < expected < 2_500
    assert route_length_m(route) == pytest.approx(expected, rel=0.01)
    # The grid's scale factor near London is about 0.9998: much closer than 1 %.
    assert route_length_m(route) == pytest.approx(expected, rel=0.001)


def test_route_length_accepts_geojson(route: LineString) -> None:
    assert route_length_m(mapping(route)) == pytest.approx(route_length_m(route), abs=1e-9)


def test_metric_work_refuses_routes_outside_great_britain() -> None:
    swapped = LineString([(lat, lon) for lon, lat in SOUTH_BANK])  # lat, lon: off Somalia
    with pytest.raises(InvalidRoute, match=r"vertex 0 .* outside Great Britain"):
        route_length_m(swapped)


def test_check_route_accepts_the_south_bank_walk(route: LineString) -> None:
    assert check_route(mapping(route)).equals(route)


def test_check_route_refuses_a_300_m_line_saying_its_length() -> None:
    with pytest.raises(InvalidRoute) as caught:
        check_route(north_line(300))
    assert str(caught.value).startswith("the route is 300 m long, shorter than the 500 m")


def test_check_route_refuses_a_30_km_line_saying_its_length() -> None:
    line = LineString([(-0.5, 51.5), (-0.3, 51.52), (-0.068, 51.5)])
    measured = route_length_m(line)
    assert 29_500 < measured < 31_000
    with pytest.raises(InvalidRoute) as caught:
        check_route(line)
    message = str(caught.value)
    assert f"{measured:,.0f} m ({measured / 1000:.1f} km)" in message
    assert "longer than the 25 km limit" in message


def test_check_route_limits_are_inclusive() -> None:
    assert MIN_LENGTH_M == 500 and MAX_LENGTH_M == 25_000
    check_route(north_line(505))
    with pytest.raises(InvalidRoute, match="shorter than"):
        check_route(north_line(495))


def test_check_route_refuses_a_route_entirely_outside_the_service_area(route: LineString) -> None:
    manchester = box(-2.30, 53.45, -2.20, 53.50)
    with pytest.raises(InvalidRoute, match="entirely outside the service area"):
        check_route(route, service_area=manchester)


def test_check_route_accepts_a_route_partly_inside_the_service_area(route: LineString) -> None:
    west_of_blackfriars = box(-0.13, 51.49, -0.105, 51.52)
    assert not west_of_blackfriars.contains(route)
    assert check_route(route, service_area=west_of_blackfriars).equals(route)
    lambeth_and_southwark = shapely.MultiPolygon(
        [west_of_blackfriars, box(-0.1, 51.49, -0.08, 51.52)]
    )
    assert check_route(route, service_area=lambeth_and_southwark).equals(route)


def test_check_route_wants_a_polygon_for_service_area(route: LineString) -> None:
    with pytest.raises(TypeError, match="not Point"):
        check_route(route, service_area=Point(WATERLOO))  # type: ignore[arg-type]


# --- trimming ------------------------------------------------------------------------------


def cut_lengths(original: LineString, trimmed: LineString) -> tuple[float, float]:
    """Metres removed at each end, measured along the original line on the grid."""
    grid, trimmed_grid = to_grid(original), to_grid(trimmed)
    first = grid.project(Point(trimmed_grid.coords[0]))
    last = grid.length - grid.project(Point(trimmed_grid.coords[-1]))
    return first, last


def test_trim_is_the_same_for_the_same_seed(route: LineString) -> None:
    first = trim_route_ends(route, seed="walk-1f3a")
    again = trim_route_ends(mapping(route), seed="walk-1f3a")
    assert first is not None and again is not None
    assert list(first.coords) == list(again.coords)


def test_an_int_seed_and_its_string_trim_alike(route: LineString) -> None:
    assert trim_route_ends(route, seed=42) == trim_route_ends(route, seed="42")


def test_trim_differs_between_seeds(route: LineString) -> None:
    cuts = set()
    for seed in range(20):
        trimmed = trim_route_ends(route, seed=seed)
        assert trimmed is not None
        cuts.add(tuple(round(c, 3) for c in cut_lengths(route, trimmed)))
    assert len(cuts) == 20


@pytest.mark.parametrize("seed", [0, 1, 7, 12345, "walk-a", "walk-b", "0c9e-uuid"])
def test_each_end_is_cut_between_300_and_450_m_along_the_line(
    route: LineString, seed: int | str
) -> None:
    trimmed = trim_route_ends(route, seed=seed)
    assert trimmed is not None
    first, last = cut_lengths(route, trimmed)
    assert 300 <= first < 450
    assert 300 <= last < 450
    assert route_length_m(trimmed) == pytest.approx(route_length_m(route) - first - last, abs=0.01)
    # Nothing of the original ends survives, not even as a vertex.
    assert WATERLOO not in trimmed.coords and BOROUGH_MARKET not in trimmed.coords
    grid, trimmed_grid = to_grid(route), to_grid(trimmed)
    along = [grid.project(Point(xy)) for xy in trimmed_grid.coords]
    assert min(along) >= 300 - 1e-6 and max(along) <= grid.length - 300 + 1e-6
    # This route does not wind back on itself, so the ends are far off as the crow flies too.
    assert trimmed_grid.distance(Point(grid.coords[0])) > 250
    assert trimmed_grid.distance(Point(grid.coords[-1])) > 250


def test_the_two_cuts_are_drawn_independently(route: LineString) -> None:
    pairs = []
    for seed in range(10):
        trimmed = trim_route_ends(route, seed=seed)
        assert trimmed is not None
        pairs.append(cut_lengths(route, trimmed))
    assert any(abs(first - last) > 10 for first, last in pairs)


def test_trim_keeps_interior_vertices(route: LineString) -> None:
    trimmed = trim_route_ends(route, seed="walk-9")
    assert trimmed is not None
    # The route's own vertices come through untouched (no grid round trip).
    assert list(trimmed.coords)[1:-1] == SOUTH_BANK[2:-2]


@pytest.mark.parametrize("seed", range(10))
def test_a_700_m_route_is_too_short_to_trim(seed: int) -> None:
    # Both cuts take at least 600 m, leaving at most 100 m = MIN_KEPT_M: nothing is kept.
    assert MIN_KEPT_M == 100.0
    assert trim_route_ends(north_line(700), seed=seed) is None


@pytest.mark.parametrize("seed", range(10))
def test_a_1100_m_route_always_keeps_its_middle(seed: int) -> None:
    trimmed = trim_route_ends(north_line(1100), seed=seed)
    assert trimmed is not None
    assert 200 - 0.01 < route_length_m(trimmed) <= 500


def test_trim_with_fixed_cuts_and_custom_bounds() -> None:
    line = north_line(2000)
    trimmed = trim_route_ends(line, seed=3, min_m=500, max_m=500)
    assert trimmed is not None
    assert route_length_m(trimmed) == pytest.approx(route_length_m(line) - 1000, abs=0.01)


@pytest.mark.parametrize(
    ("min_m", "max_m"), [(0.0, 450.0), (-1.0, 450.0), (450.0, 300.0), (300.0, math.inf)]
)
def test_trim_refuses_bad_bounds(route: LineString, min_m: float, max_m: float) -> None:
    with pytest.raises(ValueError, match="0 < min_m <= max_m"):
        trim_route_ends(route, seed=1, min_m=min_m, max_m=max_m)


@pytest.mark.parametrize("seed", [None, 1.5, True, b"walk"])
def test_trim_refuses_other_seeds(route: LineString, seed: object) -> None:
    with pytest.raises(TypeError, match="seed must be an int or str"):
        trim_route_ends(route, seed=seed)  # type: ignore[arg-type]


def test_trim_validates_the_route() -> None:
    with pytest.raises(InvalidRoute, match="not a Point"):
        trim_route_ends(Point(WATERLOO), seed=1)


# --- segments ------------------------------------------------------------------------------


def test_segments_are_100_m_except_the_last_and_sum_to_the_whole(route: LineString) -> None:
    pieces = segments(route)
    lengths = np.array([route_length_m(piece) for piece in pieces])
    whole = route_length_m(route)
    assert len(pieces) == math.ceil(whole / 100)
    np.testing.assert_allclose(lengths[:-1], 100.0, atol=1e-2)
    assert 0 < lengths[-1] <= 100.0
    assert lengths.sum() == pytest.approx(whole, abs=1e-3)


def test_segments_follow_each_other_from_start_to_end(route: LineString) -> None:
    pieces = segments(route, every_m=250.0)
    assert pieces[0].coords[0] == WATERLOO
    assert pieces[-1].coords[-1] == BOROUGH_MARKET
    for before, after in itertools.pairwise(pieces):
        assert after.coords[0] == before.coords[-1]
    # Every vertex of the route is in exactly one piece, exactly as it was.
    inner = [xy for piece in pieces for xy in piece.coords[1:-1]]
    assert [xy for xy in inner if xy in SOUTH_BANK] == SOUTH_BANK[1:-1]
    # Together the pieces trace the route itself.
    joined = shapely.line_merge(MultiLineString(pieces))
    assert joined.hausdorff_distance(route) < 1e-7


def test_segments_of_an_exact_multiple_have_no_dust_at_the_end() -> None:
    line = north_line(300)
    length = route_length_m(line)
    pieces = segments(line, every_m=length / 3)
    assert len(pieces) == 3
    assert all(isinstance(piece, LineString) and piece.length > 0 for piece in pieces)


def test_a_route_shorter_than_one_step_is_one_segment() -> None:
    line = north_line(80)
    pieces = segments(line)
    assert len(pieces) == 1
    assert route_length_m(pieces[0]) == pytest.approx(route_length_m(line), abs=1e-6)


@pytest.mark.parametrize("every_m", [0.0, -100.0, math.nan, math.inf, 0.01])
def test_segments_refuse_bad_steps(route: LineString, every_m: float) -> None:
    with pytest.raises(ValueError, match="every_m"):
        segments(route, every_m=every_m)


# --- darkness ------------------------------------------------------------------------------


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


def test_a_june_midday_walk_is_in_daylight(route: LineString) -> None:
    share, dark = darkness_along(route, utc(2026, 6, 21, 12, 0), utc(2026, 6, 21, 12, 40))
    assert share == 0.0
    assert dark.dtype == np.bool_ and len(dark) == len(segments(route))
    assert not dark.any()


def test_a_december_evening_walk_is_dark_throughout(route: LineString) -> None:
    share, dark = darkness_along(route, utc(2026, 12, 21, 17, 30), utc(2026, 12, 21, 18, 10))
    assert share == 1.0
    assert dark.all()


def test_a_walk_across_civil_dusk_is_partly_dark(route: LineString) -> None:
    start, end = utc(2026, 12, 21, 16, 10), utc(2026, 12, 21, 16, 50)
    share, dark = darkness_along(route, start, end)
    assert 0.0 < share < 1.0
    # Light first, then dark: once dusk has passed it stays dark.
    first_dark = int(np.argmax(dark))
    assert not dark[:first_dark].any() and dark[first_dark:].all()
    # Dusk at mid-route is about 16:34 UTC, so about (16:50 - 16:34) / 40 min of the walk.
    minutes = np.arange(0, 40 * 60) / 60.0
    when = np.datetime64("2026-12-21T16:10") + (minutes * 60).astype("m8[s]")
    lon, lat = route.centroid.x, route.centroid.y
    dusk_share = float(np.mean(solar_elevation(lon, lat, when) < DARK_BELOW_DEGREES))
    assert 0.3 < dusk_share < 0.5
    assert share == pytest.approx(dusk_share, abs=0.06)


def test_darkness_share_is_weighted_by_segment_length() -> None:
    line = north_line(250)  # pieces of 100, 100 and about 50 m
    share, dark = darkness_along(line, utc(2026, 12, 21, 18, 0), utc(2026, 12, 21, 18, 3))
    assert dark.tolist() == [True, True, True] and share == 1.0
    lengths = [route_length_m(piece) for piece in segments(line)]
    assert lengths[-1] == pytest.approx(50, abs=1)


def test_darkness_accepts_london_times(route: LineString) -> None:
    london = ZoneInfo("Europe/London")
    start = datetime(2026, 12, 21, 16, 10, tzinfo=london)  # GMT in winter: same as UTC
    in_utc = darkness_along(route, utc(2026, 12, 21, 16, 10), utc(2026, 12, 21, 16, 50))
    in_london = darkness_along(route, start, start + timedelta(minutes=40))
    assert in_london[0] == in_utc[0]
    np.testing.assert_array_equal(in_london[1], in_utc[1])


def test_darkness_refuses_naive_or_backwards_times(route: LineString) -> None:
    with pytest.raises(ValueError, match="has no time zone"):
        darkness_along(route, datetime(2026, 12, 21, 16, 10), utc(2026, 12, 21, 16, 50))
    with pytest.raises(ValueError, match="must end after it starts"):
        darkness_along(route, utc(2026, 12, 21, 16, 50), utc(2026, 12, 21, 16, 10))
