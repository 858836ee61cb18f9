"""One walk as files an officer can open elsewhere: GeoJSON, GeoPackage and GPX.

The walk's route and the concerns noted on it are two layers (GeoPackage) or two kinds of
feature (GeoJSON ``layer`` property); GPX carries the route as a track, point concerns as
waypoints and stretch concerns as tracks of their own, so a phone's map app shows them all.
gpxpy writes the GPX (it also reads the files officers upload).
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

import geopandas as gpd
import gpxpy.gpx
import pandas as pd
from shapely.geometry import LineString, MultiLineString, Point


def walk_geojson(route: gpd.GeoDataFrame, concerns: gpd.GeoDataFrame) -> bytes:
    """A FeatureCollection of the route and the concerns, each feature naming its layer."""
    features: list[dict[str, Any]] = []
    for layer, frame in (("route", route), ("concern", concerns)):
        collection = json.loads(_iso_times(frame).to_json(drop_id=True, na="null"))
        for feature in collection["features"]:
            feature["properties"] = {"layer": layer, **feature["properties"]}
            features.append(feature)
    return json.dumps({"type": "FeatureCollection", "features": features}).encode()


def _iso_times(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Times as ISO 8601 text with their offset, as GeoJSON has no time type."""
    frame = frame.copy()
    for column in frame.columns:
        if pd.api.types.is_datetime64_any_dtype(frame[column]):
            frame[column] = frame[column].map(lambda t: None if pd.isna(t) else t.isoformat())
    return frame


def walk_geopackage(route: gpd.GeoDataFrame, concerns: gpd.GeoDataFrame, *, crs: int) -> bytes:
    """A GeoPackage with two layers, ``route`` and ``concerns``, in ``crs``."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "walk.gpkg"
        for layer, frame in (("route", route), ("concerns", concerns)):
            frame.to_crs(crs).to_file(path, layer=layer, driver="GPKG")
        return path.read_bytes()


def walk_gpx(route: gpd.GeoDataFrame, concerns: gpd.GeoDataFrame, *, name: str) -> bytes:
    """A GPX file: the route as a track; concerns as waypoints, or tracks for stretches."""
    gpx = gpxpy.gpx.GPX()
    gpx.creator = "Walk and Talk Maps"
    for geometry in route.geometry:
        gpx.tracks.append(_track(geometry, name))
    for row in concerns.itertuples():
        label = f"Concern: {row.what}" + (f" ({row.note})" if isinstance(row.note, str) else "")
        when = pd.Timestamp(row.at).to_pydatetime() if row.at is not None else None
        if isinstance(row.geometry, Point):
            gpx.waypoints.append(
                gpxpy.gpx.GPXWaypoint(row.geometry.y, row.geometry.x, time=when, name=label)
            )
        elif row.geometry is not None:
            gpx.tracks.append(_track(row.geometry, label))
    return gpx.to_xml().encode()


def _track(geometry: LineString | MultiLineString, name: str) -> gpxpy.gpx.GPXTrack:
    track = gpxpy.gpx.GPXTrack(name=name)
    lines = geometry.geoms if isinstance(geometry, MultiLineString) else [geometry]
    for line in lines:
        segment = gpxpy.gpx.GPXTrackSegment()
        segment.points = [gpxpy.gpx.GPXTrackPoint(lat, lon) for lon, lat in line.coords]
        track.segments.append(segment)
    return track
