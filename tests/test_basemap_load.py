"""Storing OpenStreetMap features by COPY: odd names survive, a reload replaces, nothing doubles."""

from __future__ import annotations

import geopandas as gpd
from shapely.geometry import LineString, Point, Polygon
from sqlalchemy import text
from sqlalchemy.orm import Session

from service.queries.osm import store_features

ODD = "O'Brien's \"Row\", Bankside\nEast"


def features(name: str | None, lit: str | None = None) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {
            "osm_type": ["w", "w", "n", "a"],
            "osm_id": [1, 1, 2, 3],  # way 1 twice, as two overlapping extracts would have it
            "kind": ["street", "street", "lamp", "park"],
            "name": [name, name, None, "Pasley Park"],
            "highway": ["residential", "residential", "street_lamp", None],
            "lit": [lit, lit, None, None],
        },
        geometry=[
            LineString([(-0.105, 51.496), (-0.104, 51.497)]),
            LineString([(-0.105, 51.496), (-0.104, 51.497)]),
            Point(-0.1045, 51.4965),
            Polygon([(-0.1, 51.49), (-0.099, 51.49), (-0.099, 51.491), (-0.1, 51.49)]),
        ],
        crs=4326,
    )


def stored(db: Session) -> list[tuple]:
    return [
        tuple(row)
        for row in db.execute(
            text(
                "SELECT osm_type, osm_id, kind, name, highway, lit, source, ST_SRID(geom), "
                "ST_AsText(geom) FROM osm_features ORDER BY osm_type, osm_id"
            )
        )
    ]


def test_names_quotes_commas_newlines_and_missing_values_arrive_as_they_were(db: Session) -> None:
    assert store_features(db, features(ODD, lit="yes"), source="a.osm.pbf") == 3
    rows = stored(db)
    assert [r[:8] for r in rows] == [
        ("a", 3, "park", "Pasley Park", None, None, "a.osm.pbf", 4326),
        ("n", 2, "lamp", None, "street_lamp", None, "a.osm.pbf", 4326),
        ("w", 1, "street", ODD, "residential", "yes", "a.osm.pbf", 4326),
    ]
    assert rows[2][8] == "LINESTRING(-0.105 51.496,-0.104 51.497)"


def test_a_reload_replaces_and_an_empty_name_stays_empty(db: Session) -> None:
    store_features(db, features(ODD, lit="yes"), source="a.osm.pbf")
    store_features(db, features("", lit=None), source="b.osm.pbf")
    rows = stored(db)
    assert len(rows) == 3
    assert rows[2][3:7] == ("", "residential", None, "b.osm.pbf")


def test_nothing_to_store_stores_nothing(db: Session) -> None:
    assert store_features(db, features(None).iloc[0:0], source="empty.osm") == 0
    assert stored(db) == []
