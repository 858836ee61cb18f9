"""Routes along streets: the network built from OSM ways, snapping, and the better-lit way.

On a real PostGIS with pgRouting; the SE1 extracts (``data/osm``) are loaded by the loader
``walktalk osm load`` uses (``geo.osm.read_osm_features`` then ``store_features``, which
rebuilds the network).
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from datetime import date
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
import shapely
from fastapi.testclient import TestClient
from pyproj import Geod
from shapely.geometry import LineString, Point
from sqlalchemy import text
from sqlalchemy.orm import Session

from geo.osm import read_osm_features
from service.queries.osm import store_features
from service.queries.reports import store_reports
from service.queries.routing import (
    LitWeights,
    NoStreetRoute,
    better_lit_route,
    network_loaded,
    rebuild_street_network,
    route_figures,
    snap_route,
)
from tests.walks import walk_with_route

OSM = sorted((Path(__file__).parents[1] / "data" / "osm").glob("*.osm"))
GEOD = Geod(ellps="WGS84")


def metres(line: LineString) -> float:
    return float(GEOD.geometry_length(line))


def apart(a: tuple[float, float], b: tuple[float, float]) -> float:
    return float(GEOD.inv(a[0], a[1], b[0], b[1])[2])


@pytest.fixture
def se1(db: Session) -> Session:
    for path in OSM:
        store_features(db, read_osm_features(path), source=path.name)
    return db


def streets_near(db: Session, point: tuple[float, float], within_m: float) -> float:
    """Metres from a point to the nearest OSM street or path."""
    found = db.scalar(
        text(
            "SELECT min(ST_Distance(geom::geography, "
            "ST_SetSRID(ST_MakePoint(:x, :y), 4326)::geography)) FROM osm_features "
            "WHERE kind IN ('street', 'path') AND ST_DWithin(geom::geography, "
            "ST_SetSRID(ST_MakePoint(:x, :y), 4326)::geography, :within)"
        ),
        {"x": point[0], "y": point[1], "within": within_m},
    )
    return float("inf") if found is None else float(found)


def shortest(db: Session, source: int, target: int) -> LineString:
    """The shortest path between two vertices, straight from pgRouting (for comparisons)."""
    wkb = db.scalar(
        text(
            "SELECT ST_AsBinary(ST_LineMerge(ST_Collect(e.geom ORDER BY p.seq))) FROM "
            "pgr_dijkstra('SELECT id, source, target, length_m AS cost FROM street_edges', "
            ":s, :t, directed => false) p JOIN street_edges e ON e.id = p.edge"
        ),
        {"s": source, "t": target},
    )
    line = shapely.from_wkb(bytes(wkb))
    assert isinstance(line, LineString), "the shortest path should merge into one line"
    return line


# --- the network --------------------------------------------------------------------------


def test_ways_are_split_where_they_cross_mid_way(db: Session) -> None:
    # Two ways crossing at a shared node in the middle of each, and a motorway nobody walks.
    ways = gpd.GeoDataFrame(
        {
            "osm_type": ["w", "w", "w"],
            "osm_id": [1, 2, 3],
            "kind": ["street", "path", "street"],
            "name": ["East Street", "North Path", "Motorway"],
            "highway": ["residential", "footway", "motorway"],
            "lit": ["yes", None, "yes"],
        },
        geometry=[
            LineString([(-0.102, 51.5), (-0.101, 51.5), (-0.100, 51.5)]),
            LineString([(-0.101, 51.499), (-0.101, 51.5), (-0.101, 51.501)]),
            LineString([(-0.103, 51.502), (-0.099, 51.502)]),
        ],
        crs=4326,
    )
    store_features(db, ways, source="cross.osm")
    vertices = db.execute(text("SELECT count(*) FROM street_vertices")).scalar_one()
    edges = db.execute(
        text("SELECT osm_id, lit, round(length_m) FROM street_edges ORDER BY osm_id, id")
    ).all()
    assert vertices == 5  # four ends and the crossing
    assert [(e[0], e[1]) for e in edges] == [(1, "yes"), (1, "yes"), (2, "unknown"), (2, "unknown")]
    # 0.001 degrees of longitude at 51.5° N is 69 m; of latitude, 111 m.
    assert [int(e[2]) for e in edges] == [69, 69, 111, 111]
    crossing = db.execute(
        text(
            "SELECT count(*) FROM street_edges e JOIN street_vertices v "
            "ON v.id IN (e.source, e.target) "
            "WHERE ST_Equals(v.geom, ST_SetSRID(ST_MakePoint(-0.101, 51.5), 4326))"
        )
    ).scalar_one()
    assert crossing == 4


def test_the_se1_network_is_built_by_the_loader_and_every_edge_joins_its_vertices(
    se1: Session,
) -> None:
    vertices, edges = se1.execute(
        text("SELECT (SELECT count(*) FROM street_vertices), count(*) FROM street_edges")
    ).one()
    ways = se1.scalar(text("SELECT count(*) FROM osm_features WHERE kind IN ('street', 'path')"))
    assert edges > ways > 100  # ways are split at junctions
    assert vertices > 100
    loose = se1.scalar(
        text(
            "SELECT count(*) FROM street_edges e "
            "JOIN street_vertices s ON s.id = e.source JOIN street_vertices t ON t.id = e.target "
            "WHERE NOT ST_Equals(ST_StartPoint(e.geom), s.geom) "
            "OR NOT ST_Equals(ST_EndPoint(e.geom), t.geom)"
        )
    )
    assert loose == 0
    # A rebuild gives the same network, not a doubled one.
    assert rebuild_street_network(se1) == (vertices, edges)


# --- snapping a drawn line ----------------------------------------------------------------


def drawn_beside(db: Session, seed: int) -> tuple[LineString, LineString]:
    """A street path of 400-1,500 m in SE1, and a line drawn 6 m beside it with few points."""
    rng = random.Random(seed)
    ids = [row[0] for row in db.execute(text("SELECT id FROM street_vertices ORDER BY id"))]
    while True:
        source, target = rng.sample(ids, 2)
        try:
            path = shortest(db, source, target)
        except (AssertionError, TypeError):
            continue
        if 400 < metres(path) < 1500:
            break
    # Shifted about 6 m north-east, and thinned as a hand would draw it.
    drawn = shapely.affinity.translate(path, xoff=0.00006, yoff=0.00004)
    drawn = drawn.simplify(0.0002)
    return path, drawn


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_line_drawn_beside_se1_streets_snaps_onto_them(se1: Session, seed: int) -> None:
    _, drawn = drawn_beside(se1, seed)
    snapped = snap_route(se1, drawn)
    assert isinstance(snapped, LineString) and snapped.is_valid
    for x, y in snapped.coords:
        assert streets_near(se1, (x, y), 5) <= 1.0, f"({x}, {y}) is off the streets"
    assert apart(snapped.coords[0], drawn.coords[0]) < 100
    assert apart(snapped.coords[-1], drawn.coords[-1]) < 100
    assert 0.6 < metres(snapped) / metres(drawn) < 1.8


def test_a_line_far_from_any_street_is_refused_with_what_to_do(se1: Session) -> None:
    # Mid-river, off the SE1 extracts' streets by far more than 100 m.
    lonely = LineString([(-0.30, 51.40), (-0.299, 51.401)])
    with pytest.raises(NoStreetRoute, match="draw the start nearer a street, or keep the line"):
        snap_route(se1, lonely)


def test_no_network_loaded_is_a_clear_answer(db: Session) -> None:
    assert not network_loaded(db)
    line = LineString([(-0.105, 51.5), (-0.104, 51.501)])
    with pytest.raises(NoStreetRoute, match=r"no streets are loaded.*walktalk osm load"):
        snap_route(db, line)
    with pytest.raises(NoStreetRoute, match="no streets are loaded"):
        better_lit_route(db, line)


# --- the better-lit way -------------------------------------------------------------------

A = (-0.1000, 51.5000)
B = (-0.1000, 51.5009)  # 100 m north of A
C = (-0.0990, 51.50045)  # east of both: the lit detour A-C-B, about 160 m


def built_square(db: Session) -> None:
    """A dark short cut A-B beside a lit detour A-C-B, inserted as edges."""
    db.execute(
        text(
            "INSERT INTO street_vertices (id, geom) VALUES "
            "(1, ST_SetSRID(ST_MakePoint(:ax, :ay), 4326)), "
            "(2, ST_SetSRID(ST_MakePoint(:bx, :by), 4326)), "
            "(3, ST_SetSRID(ST_MakePoint(:cx, :cy), 4326))"
        ),
        {"ax": A[0], "ay": A[1], "bx": B[0], "by": B[1], "cx": C[0], "cy": C[1]},
    )
    for edge_id, (source, target, a, b, lit) in enumerate(
        [(1, 2, A, B, "no"), (1, 3, A, C, "yes"), (3, 2, C, B, "yes")], start=1
    ):
        db.execute(
            text(
                "INSERT INTO street_edges (id, source, target, osm_id, highway, lit, length_m, "
                "component, geom) SELECT :id, :s, :t, :id, 'residential', :lit, "
                "ST_Length(g::geography), 1, g FROM (SELECT ST_SetSRID(ST_MakeLine("
                "ST_MakePoint(:ax, :ay), ST_MakePoint(:bx, :by)), 4326) AS g) l"
            ),
            {"id": edge_id, "s": source, "t": target, "lit": lit, "ax": a[0], "ay": a[1],
             "bx": b[0], "by": b[1]},
        )  # fmt: skip


def test_a_lit_detour_beats_a_dark_short_cut(db: Session) -> None:
    built_square(db)
    drawn = LineString([A, B])
    answer = better_lit_route(db, drawn, LitWeights(unlit=1.0, reports=0.25))
    assert answer.alternative.unlit_share == 0.0
    assert answer.alternative.length_m == pytest.approx(
        apart(A, C) + apart(C, B), rel=1e-3
    )
    assert Point(C).distance(answer.alternative.line) < 1e-9  # it goes by C
    assert answer.drawn.length_m == pytest.approx(apart(A, B), rel=1e-3)
    assert answer.drawn.unlit_share == pytest.approx(1.0)


def test_with_no_weight_on_the_dark_the_short_cut_is_the_way(db: Session) -> None:
    built_square(db)
    answer = better_lit_route(db, LineString([A, B]), LitWeights(unlit=0.0, reports=0.0))
    assert answer.alternative.unlit_share == 1.0
    assert answer.alternative.length_m == pytest.approx(apart(A, B), rel=1e-3)


def test_on_se1_the_better_lit_way_is_never_darker_than_the_shortest(se1: Session) -> None:
    rng = random.Random(7)
    ids = [row[0] for row in se1.execute(text("SELECT id FROM street_vertices ORDER BY id"))]
    compared = 0
    while compared < 8:
        source, target = rng.sample(ids, 2)
        try:
            path = shortest(se1, source, target)
        except (AssertionError, TypeError):
            continue  # not joined up, or a path that does not merge into one line
        if metres(path) < 300:
            continue
        answer = better_lit_route(se1, LineString([path.coords[0], path.coords[-1]]))
        dark = se1.scalar(
            text(
                "SELECT coalesce(sum(e.length_m) FILTER (WHERE e.lit <> 'yes'), 0) "
                "/ sum(e.length_m) FROM pgr_dijkstra("
                "'SELECT id, source, target, length_m AS cost FROM street_edges', "
                ":s, :t, directed => false) p JOIN street_edges e ON e.id = p.edge"
            ),
            {"s": source, "t": target},
        )
        assert answer.alternative.unlit_share <= float(dark) + 1e-9
        assert answer.alternative.length_m >= metres(path) * 0.999
        compared += 1


def test_figures_of_a_drawn_line_count_stretches_off_the_streets_as_unlit(db: Session) -> None:
    built_square(db)
    # Half along the lit A-C, half out over nothing.
    beyond = (C[0] + (C[0] - A[0]), C[1] + (C[1] - A[1]))
    figures = route_figures(db, LineString([A, C, beyond]))
    assert figures.length_m == pytest.approx(2 * apart(A, C), rel=1e-2)
    # The first 20 m past C still lie within 20 m of its lit streets; the rest is unlit.
    off = apart(A, C) - 20
    assert figures.unlit_share == pytest.approx(off / (2 * apart(A, C)), abs=0.05)


# --- in the briefing ----------------------------------------------------------------------

# West to east across the St George's extract (Lambeth Road towards Borough): about 680 m.
SE1_ROUTE = {
    "type": "LineString",
    "coordinates": [[-0.1104, 51.4956], [-0.1060, 51.4952], [-0.1008, 51.4949]],
}


def briefing(client: TestClient, people: dict) -> str:
    answer = client.post(
        "/maps/routes/briefing",
        headers=people["waterloo"],
        json={
            "type": "Feature",
            "geometry": SE1_ROUTE,
            "properties": {"planned_start": "2026-12-21T17:00:00+00:00"},
        },
    )
    assert answer.status_code == 200, answer.text
    return answer.text


def test_the_briefing_shows_the_better_lit_way_beside_the_drawn_route(
    client: TestClient, people: dict, walktalk: Callable[..., tuple[int, str, str]]
) -> None:
    assert walktalk("osm", "load", *map(str, OSM))[0] == 0
    page = briefing(client, people)
    summary = re.search(
        r'<p id="better-lit-summary"><strong>Better-lit way: ([\d.]+) (k?m), (\d+)% unlit '
        r"\(drawn: ([\d.]+) (k?m), (\d+)% unlit\)</strong></p>",
        page,
    )
    assert summary, "the panel should give both ways' length and unlit share"
    drawn_m = float(summary[4]) * (1000 if summary[5] == "km" else 1)
    assert drawn_m == pytest.approx(metres(LineString(SE1_ROUTE["coordinates"])), rel=0.1)
    assert float(summary[3]) < float(summary[6])  # lit streets exist here: it is better lit
    # Its own layer in the layer list, dashed blue, and a legend of its own.
    assert re.search(r'"Better-lit way" : feature_group_\w+', page)
    assert re.search(r'"color": "#1d70b8",[^}]*"dashArray": "10 8"', page)
    assert 'map-legend-title\\"\\u003eBetter-lit way' in page  # in the legend's script text


def test_with_no_streets_loaded_the_briefing_says_why_there_is_no_better_lit_way(
    client: TestClient, people: dict
) -> None:
    page = briefing(client, people)
    assert 'id="better-lit-none"' in page
    assert "No better-lit way to suggest: no streets are loaded" in page
    assert '"dashArray": "10 8"' not in page


def test_only_those_who_see_the_route_whole_are_offered_its_full_briefing(
    client: TestClient, people: dict
) -> None:
    walk = walk_with_route(client, people, start="2026-12-21T17:00:00+00:00", route=SE1_ROUTE)
    own = client.get(f"/work/walks/{walk['id']}", headers=people["waterloo"])
    assert own.status_code == 200
    assert 'id="full-briefing"' in own.text
    assert 'name="planned_start" value="2026-12-21T17:00:00+00:00"' in own.text
    # An officer of another ward sees the trimmed route only: no form carrying its ends.
    other = client.get(f"/work/walks/{walk['id']}", headers=people["bankside"])
    assert other.status_code == 200
    assert 'id="full-briefing"' not in other.text
    assert "-0.1104" not in other.text and "better-lit" not in other.text


# --- POST /routes/snap (the route editor's "Follow the streets") ---------------------------


def test_snap_answers_the_line_along_the_streets(
    client: TestClient, people: dict, walktalk: Callable[..., tuple[int, str, str]]
) -> None:
    assert walktalk("osm", "load", *map(str, OSM))[0] == 0
    answer = client.post("/routes/snap", headers=people["waterloo"], json=SE1_ROUTE)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["type"] == "Feature" and body["geometry"]["type"] == "LineString"
    snapped = LineString(body["geometry"]["coordinates"])
    assert body["properties"]["drawn_length_m"] == pytest.approx(
        metres(LineString(SE1_ROUTE["coordinates"])), rel=0.01
    )
    assert body["properties"]["length_m"] == pytest.approx(metres(snapped), rel=0.01)
    assert 0.6 < body["properties"]["length_m"] / body["properties"]["drawn_length_m"] < 1.8
    assert snapped.is_simple  # no stretch walked twice: the spur to a bend's corner is cut
    # A Feature is taken as well as a bare LineString, by a supervisor as by an officer.
    feature = {"type": "Feature", "geometry": SE1_ROUTE, "properties": {}}
    again = client.post("/routes/snap", headers=people["supervisor"], json=feature)
    assert again.status_code == 200 and again.json()["geometry"] == body["geometry"]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"type": "Point", "coordinates": [-0.1, 51.5]}, "LineString"),
        ({"type": "LineString", "coordinates": [[-0.1, 51.5]]}, "point"),
        ({"type": "LineString", "coordinates": [[-0.1, 51.5], [-0.1, 51.5005]]}, "500 m"),
        ({"type": "LineString", "coordinates": "nowhere"}, "coordinates"),
        ({"nothing": "here"}, "LineString"),
    ],
)
def test_snap_refuses_what_is_not_a_route_with_a_reason(
    client: TestClient, people: dict, body: dict, message: str
) -> None:
    answer = client.post("/routes/snap", headers=people["waterloo"], json=body)
    assert answer.status_code == 422, answer.text
    assert message.lower() in answer.json()["detail"].lower()


def test_snap_far_from_the_streets_or_with_none_loaded_says_what_to_do(
    client: TestClient, people: dict, walktalk: Callable[..., tuple[int, str, str]]
) -> None:
    answer = client.post("/routes/snap", headers=people["waterloo"], json=SE1_ROUTE)
    assert answer.status_code == 422
    assert "no streets are loaded" in answer.json()["detail"]
    assert walktalk("osm", "load", *map(str, OSM))[0] == 0
    # Kennington, well south-west of the SE1 extracts' streets.
    far = {"type": "LineString", "coordinates": [[-0.1190, 51.4850], [-0.1120, 51.4880]]}
    answer = client.post("/routes/snap", headers=people["waterloo"], json=far)
    assert answer.status_code == 422
    assert answer.json()["detail"] == (
        "the route's start is more than 100 m from any street or path: draw the start nearer "
        "a street, or keep the line as drawn"
    )


@pytest.mark.parametrize(("who", "status"), [("partner", 403), ("public", 403)])
def test_snap_is_for_officers_and_supervisors(
    client: TestClient, people: dict, who: str, status: int
) -> None:
    answer = client.post("/routes/snap", headers=people[who], json=SE1_ROUTE)
    assert answer.status_code == status


def test_a_bend_drawn_by_a_short_dead_end_leaves_no_spur(db: Session) -> None:
    # A street west-east through M, and a 30 m dead end north from M.
    west, middle, east = (-0.1010, 51.5), (-0.1000, 51.5), (-0.0990, 51.5)
    dead_end = (-0.1000, 51.50027)
    for vertex, (x, y) in {1: west, 2: middle, 3: east, 4: dead_end}.items():
        db.execute(
            text(
                "INSERT INTO street_vertices VALUES "
                "(:id, ST_SetSRID(ST_MakePoint(:x, :y), 4326))"
            ),
            {"id": vertex, "x": x, "y": y},
        )
    for edge, (source, target) in enumerate([(1, 2), (2, 3), (2, 4)], start=1):
        db.execute(
            text(
                "INSERT INTO street_edges (id, source, target, osm_id, highway, lit, length_m, "
                "component, geom) SELECT :id, :s, :t, :id, 'residential', 'yes', "
                "ST_Length(g::geography), 1, g FROM (SELECT ST_MakeLine(a.geom, b.geom) AS g "
                "FROM street_vertices a, street_vertices b WHERE a.id = :s AND b.id = :t) l"
            ),
            {"id": edge, "s": source, "t": target},
        )
    # The bend is drawn just east of the dead end's tip: its nearest street is the dead end.
    drawn = LineString([(-0.10098, 51.50003), (-0.09996, 51.50029), (-0.09902, 51.50003)])
    snapped = snap_route(db, drawn)
    assert list(snapped.coords) == [west, middle, east]


def test_reports_along_the_lit_detour_weigh_against_it(db: Session) -> None:
    built_square(db)
    # Ten published reports beside each half of the lit detour, none by the short cut.
    points = [
        (a[0] + (b[0] - a[0]) * f + 0.00005, a[1] + (b[1] - a[1]) * f)
        for a, b in ((A, C), (C, B))
        for f in (0.2, 0.3, 0.4, 0.5, 0.5, 0.5, 0.6, 0.6, 0.7, 0.8)
    ]
    rows = pd.DataFrame(
        {
            "line": range(1, len(points) + 1),
            "lon": [p[0] for p in points],
            "lat": [p[1] for p in points],
            "categories": [["poor_lighting"]] * len(points),
            "occurred_at": pd.Series([pd.NaT] * len(points), dtype="datetime64[ns, UTC]"),
            "occurred_on": [date(2026, 11, 3)] * len(points),
            "time_band": ["evening"] * len(points),
            "text": [None] * len(points),
        }
    )
    assert store_reports(db, rows, source="synthetic", status="published").stored == len(points)
    drawn = LineString([A, B])
    unweighted = better_lit_route(db, drawn, LitWeights(unlit=1.0, reports=0.0))
    assert unweighted.alternative.unlit_share == 0.0  # the lit detour, reports aside
    weighted = better_lit_route(db, drawn, LitWeights(unlit=1.0, reports=1.0))
    assert weighted.alternative.unlit_share == 1.0  # the short cut, away from the reports
    assert weighted.alternative.length_m == pytest.approx(apart(A, B), rel=1e-3)
