"""The bad input corpus (issue 13, item 3): every input path, fed what people really send.

Each case is one bad input on one path — a JSON body, a query string, an uploaded file, a form
post or a command-line file — and asserts three things: a 4xx (or a non-zero exit), words in
the answer that say what was wrong, and every table's row count unchanged.

Not repeated here (see those tests): NUL characters, lone surrogates, deep nesting and the body
size limit in general (tests/test_hardening_service.py); points off the grid in report imports,
garbage uploads and CRLF copies (tests/test_imports_hardening.py); route files that are not a
route on the route page (tests/test_route_upload.py).
"""

from __future__ import annotations

import html
import json
import math
import re
import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import create_engine, text

from service.app import create_app
from service.settings import Settings
from tests.conftest import _temporary_database, make_token
from tests.walks import WATERLOO, auth, make_walk

#: Every table a request or a command could write to (the ward and lookup tables included).
TABLES = (
    "ward_sets", "wards", "ward_parts", "boroughs", "api_tokens", "audit_log", "imports",
    "reports", "crimes", "officers", "buddies", "buddy_contacts", "participation_requests",
    "participation_contacts", "walks", "safeguarding", "officer_surveys", "buddy_surveys",
    "survey_links", "osm_features", "asset_inventories", "assets", "partner_requests",
    "partner_request_events", "partner_request_backing",
)  # fmt: skip
COUNT_ALL = "SELECT " + ", ".join(f"(SELECT count(*) FROM {t}) AS {t}" for t in TABLES)

REPORT = {
    "lon": -0.1136,
    "lat": 51.5033,
    "categories": ["poor_lighting"],
    "date": "2026-11-20",
    "time_band": "evening",
}
LINE = [[-0.1136, 51.5033], [-0.1150, 51.5055], [-0.1100, 51.5075]]
BOWTIE = [[[-0.11, 51.50], [-0.10, 51.51], [-0.10, 51.50], [-0.11, 51.51], [-0.11, 51.50]]]
SQL = "'; DROP TABLE reports; --"
WALK = "{walk}"  # replaced by the corpus walk's id
JSON_TYPE = {"content-type": "application/json"}


def _nan_body(template: dict[str, Any], **raw: str) -> str:
    """JSON text with bare NaN/Infinity tokens (Python's json reads them; browsers never send)."""
    body = json.dumps({**template, **{k: f"@@{k}@@" for k in raw}})
    for key, token in raw.items():
        body = body.replace(f'"@@{key}@@"', token)
    return body


def _line_body(coords: str) -> str:
    return '{"type": "LineString", "coordinates": ' + coords + "}"


@dataclass(frozen=True)
class Case:
    """One bad request: who sends what where, and the words the answer must hold."""

    id: str
    method: str
    path: str
    who: str
    words: tuple[str, ...]
    status: tuple[int, ...] = (422,)
    json: Any = None
    content: str | bytes | None = None
    data: dict[str, Any] | None = None
    files: dict[str, Any] | None = None
    headers: dict[str, str] = field(default_factory=dict)


def _csv(*lines: str, encoding: str = "utf-8") -> bytes:
    return ("\n".join(lines) + "\n").encode(encoding)


#: The plan form filled in right (a patrol needs no buddy), for one wrong field at a time.
PLAN_FORM = {"kind": "patrol", "ward": WATERLOO, "officer": "{officer}", "date": "2027-01-12",
             "time": "18:00", "minutes": "60"}  # fmt: skip
REPORTS_HEADER = "lon,lat,categories,date,time_band"
REPORTS_ROW = "-0.1136,51.5033,poor_lighting,2026-11-02,evening"
REQUESTS_HEADER = "kind,title,lon,lat,partner_borough,partner_team"
REQUESTS_ROW = "lighting,Lamp out by the arches,-0.1136,51.5033,E09000022,Street lighting"

HTTP_CASES = [
    # -- JSON bodies: POST /reports (the public) ----------------------------------------------
    Case("report-lon-nan", "post", "/reports", "public", ("could not read the place", "longitude"),
         content=_nan_body(REPORT, lon="NaN"), headers=JSON_TYPE),
    Case("report-lat-infinity", "post", "/reports", "public", ("latitude", "finite"),
         content=_nan_body(REPORT, lat="Infinity"), headers=JSON_TYPE),
    Case("report-lon-minus-infinity", "post", "/reports", "public", ("longitude", "finite"),
         content=_nan_body(REPORT, lon="-Infinity"), headers=JSON_TYPE),
    Case("report-metres-as-degrees", "post", "/reports", "public", ("longitude", "530500"),
         json={**REPORT, "lon": 530500, "lat": 179800}),
    Case("report-in-paris", "post", "/reports", "public", ("outside",),
         json={**REPORT, "lon": 2.35, "lat": 48.85}),
    Case("report-feature-linestring", "post", "/reports", "public",
         ("not supported", "give a point"),
         json={"type": "Feature", "geometry": {"type": "LineString", "coordinates": LINE},
               "properties": {k: v for k, v in REPORT.items() if k not in ("lon", "lat")}}),
    Case("report-feature-collection-geometry", "post", "/reports", "public",
         ("not supported", "give a point"),
         json={"type": "Feature",
               "geometry": {"type": "GeometryCollection", "geometries": []},
               "properties": {k: v for k, v in REPORT.items() if k not in ("lon", "lat")}}),
    Case("report-feature-empty-point", "post", "/reports", "public", ("[longitude, latitude]",),
         json={"type": "Feature", "geometry": {"type": "Point", "coordinates": []},
               "properties": {k: v for k, v in REPORT.items() if k not in ("lon", "lat")}}),
    Case("report-lon-text", "post", "/reports", "public", ("longitude", "west of the bridge"),
         json={**REPORT, "lon": "west of the bridge"}),
    Case("report-sql-category", "post", "/reports", "public", ("not one we know", "category"),
         json={**REPORT, "categories": [SQL]}),
    Case("report-json-array", "post", "/reports", "public", ("object",), json=[REPORT]),
    Case("report-json-string", "post", "/reports", "public", ("object",), json="a report"),
    Case("report-latin1-bytes", "post", "/reports", "public", ("utf-8",),
         content=json.dumps({**REPORT, "text": "caf@"}).replace("@", "\xe9").encode("latin-1"),
         headers=JSON_TYPE),
    Case("report-xml-content-type", "post", "/reports", "public", ("json",),
         content=b"<report><lon>-0.11</lon></report>",
         headers={"content-type": "application/xml"}),
    Case("report-form-content-type", "post", "/reports", "public", ("json",),
         data={"lon": "-0.1136", "lat": "51.5033"}),
    Case("report-oversized", "post", "/reports", "public", ("bytes",), status=(413,),
         json={**REPORT, "text": "x" * 20_000}),
    # -- JSON bodies: walks, routes and concerns (an officer of Waterloo) --------------------
    Case("walk-sql-officer-id", "post", "/walks", "waterloo", ("officer_id",),
         json={"officer_id": SQL, "buddy_id": SQL, "kind": "commute",
               "planned_start": "2026-12-01T17:00:00+00:00",
               "planned_end": "2026-12-01T18:00:00+00:00"}),
    Case("walk-form-content-type", "post", "/walks", "waterloo",
         ("must be a json object", "content-type: application/json"),
         data={"kind": "commute"}),
    Case("walk-extra-nested", "post", "/walks", "waterloo", ("officer_id",),
         json={"kind": "commute", "extra": {"a": [[[[1]]]]}}),
    Case("route-nan", "put", f"/walks/{WALK}/route", "waterloo", ("not a finite number",),
         content=_line_body("[[NaN, 51.5], [-0.11, 51.51]]"), headers=JSON_TYPE),
    Case("route-infinity", "put", f"/walks/{WALK}/route", "waterloo", ("not a finite number",),
         content=_line_body("[[-0.11, Infinity], [-0.11, 51.51]]"), headers=JSON_TYPE),
    Case("route-empty", "put", f"/walks/{WALK}/route", "waterloo", ("two",),
         json={"type": "LineString", "coordinates": []}),
    Case("route-metres-as-degrees", "put", f"/walks/{WALK}/route", "waterloo",
         ("longitude 530500.0 is outside the valid range",),
         json={"type": "LineString", "coordinates": [[530500, 179800], [530600, 179900]]}),
    Case("route-swapped", "put", f"/walks/{WALK}/route", "waterloo",
         ("longitude comes before latitude",),
         json={"type": "LineString", "coordinates": [[51.5033, -0.1136], [51.5055, -0.115]]}),
    Case("route-geometry-collection", "put", f"/walks/{WALK}/route", "waterloo",
         ("linestring",), json={"type": "GeometryCollection", "geometries": [
             {"type": "LineString", "coordinates": LINE}]}),
    Case("route-polygon", "put", f"/walks/{WALK}/route", "waterloo", ("linestring",),
         json={"type": "Polygon", "coordinates": BOWTIE}),
    Case("route-million-vertices", "put", f"/walks/{WALK}/route", "waterloo", ("bytes",),
         status=(413,), content=_line_body(json.dumps(
             [[-0.11 + i * 1e-9, 51.5] for i in range(1_000_000)])), headers=JSON_TYPE),
    Case("route-gpx-xxe", "put", f"/walks/{WALK}/route", "waterloo", ("gpx",),
         content=b'<?xml version="1.0"?><!DOCTYPE gpx [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
         b'<gpx version="1.1"><trk><name>&x;</name><trkseg><trkpt lat="51.5" lon="-0.11"/>'
         b'<trkpt lat="51.51" lon="-0.11"/></trkseg></trk></gpx>',
         headers={"content-type": "application/gpx+xml"}),
    Case("route-gpx-billion-laughs", "put", f"/walks/{WALK}/route", "waterloo", ("gpx",),
         content=b'<?xml version="1.0"?><!DOCTYPE gpx [<!ENTITY a "aaaaaaaaaa">'
         + b"".join(b'<!ENTITY %s "%s">' % (bytes([98 + i]), (b"&%s;" % bytes([97 + i])) * 10)
                    for i in range(8))
         + b']><gpx version="1.1"><trk><name>&i;</name></trk></gpx>',
         headers={"content-type": "application/gpx+xml"}),
    Case("route-gpx-utf16", "put", f"/walks/{WALK}/route", "waterloo", ("gpx",),
         content='<?xml version="1.0" encoding="utf-8"?><gpx><trk><trkseg>'
         '<trkpt lat="51.5" lon="-0.11"/><trkpt lat="51.51" lon="-0.11"/></trkseg></trk>'
         "</gpx>".encode("utf-16"),
         headers={"content-type": "application/gpx+xml"}),
    Case("route-plain-text", "put", f"/walks/{WALK}/route", "waterloo", ("geojson",),
         content=b"from the station to the market", headers={"content-type": "text/plain"}),
    Case("concern-lon-nan", "post", f"/walks/{WALK}/concerns", "waterloo", ("not a finite number",),
         content=_nan_body({"categories": ["poor_lighting"], "lat": 51.5033}, lon="NaN"),
         headers=JSON_TYPE),
    Case("concern-lat-infinity", "post", f"/walks/{WALK}/concerns", "waterloo",
         ("not a finite number",),
         content=_nan_body({"categories": ["poor_lighting"], "lon": -0.1136}, lat="Infinity"),
         headers=JSON_TYPE),
    Case("concern-in-paris", "post", f"/walks/{WALK}/concerns", "waterloo", ("outside",),
         json={"categories": ["poor_lighting"], "lon": 2.35, "lat": 48.85}),
    Case("concern-line-nan", "post", f"/walks/{WALK}/concerns", "waterloo",
         ("not a finite number",),
         content='{"categories": ["poor_lighting"], "line": '
         + _line_body("[[-0.11, NaN], [-0.11, 51.5]]") + "}", headers=JSON_TYPE),
    Case("concern-line-collection", "post", f"/walks/{WALK}/concerns", "waterloo",
         ("linestring",), json={"categories": ["poor_lighting"], "line": {
             "type": "GeometryCollection", "geometries": []}}),
    Case("concern-no-categories", "post", f"/walks/{WALK}/concerns", "waterloo",
         ("categories",), json={"categories": [], "lon": -0.1136, "lat": 51.5033}),
    Case("concern-sql-category", "post", f"/walks/{WALK}/concerns", "waterloo", ("categor",),
         json={"categories": [SQL], "lon": -0.1136, "lat": 51.5033}),
    Case("exposure-nan", "post", "/routes/exposure", "waterloo", ("not a finite number",),
         content=_line_body("[[NaN, NaN], [-0.11, 51.5]]"), headers=JSON_TYPE),
    Case("exposure-self-crossing-polygon", "post", "/routes/exposure", "waterloo",
         ("linestring",), json={"type": "Polygon", "coordinates": BOWTIE}),
    Case("exposure-in-new-york", "post", "/routes/exposure", "waterloo", ("britain",),
         json={"type": "LineString", "coordinates": [[-74.0, 40.7], [-74.01, 40.71]]}),
    Case("exposure-within-negative", "post", "/routes/exposure?within=-5", "waterloo",
         ("within", "greater than 0"), json={"type": "LineString", "coordinates": LINE}),
    Case("exposure-within-nan", "post", "/routes/exposure?within=nan", "waterloo",
         ("within", "finite number"), json={"type": "LineString", "coordinates": LINE}),
    Case("snap-empty-object", "post", "/routes/snap", "waterloo", ("linestring",), json={}),
    Case("snap-point", "post", "/routes/snap", "waterloo", ("linestring",),
         json={"type": "Point", "coordinates": [-0.11, 51.5]}),
    Case("snap-infinity", "post", "/routes/snap", "waterloo", ("not a finite number",),
         content=_line_body("[[-Infinity, 51.5], [-0.11, 51.5]]"), headers=JSON_TYPE),
    Case("area-twenty-thousand-vertices", "post", "/areas/summary", "supervisor",
         ("10,000 vertices",), json={"type": "Polygon", "coordinates": [[
             [-0.1 + 0.01 * math.cos(i * math.tau / 20_000),
              51.5 + 0.006 * math.sin(i * math.tau / 20_000)] for i in range(20_000)]
             + [[-0.09, 51.5]]]}),
    Case("area-empty", "post", "/areas/summary", "supervisor", ("polygon",),
         json={"type": "Polygon", "coordinates": []}),
    Case("area-collection", "post", "/areas/summary", "supervisor", ("polygon",),
         json={"type": "GeometryCollection", "geometries": []}),
    Case("area-nan", "post", "/areas/summary", "supervisor", ("not a finite number",),
         content='{"type": "Polygon", "coordinates": [[[NaN, 51.5], [-0.1, 51.51], '
         "[-0.1, 51.5], [NaN, 51.5]]]}", headers=JSON_TYPE),
    Case("area-in-paris", "post", "/areas/summary", "supervisor", ("outside",),
         json={"type": "Polygon", "coordinates": [
             [[2.3, 48.8], [2.4, 48.8], [2.4, 48.9], [2.3, 48.8]]]}),
    Case("request-lon-nan", "post", "/requests", "waterloo", ("lon", "finite number"),
         content=_nan_body({"kind": "lighting", "title": "Lamp out", "lat": 51.5033,
                            "partner_borough": "E09000022", "partner_team": "Lighting"},
                           lon="NaN"), headers=JSON_TYPE),
    Case("request-line-one-point", "post", "/requests", "waterloo", ("line",),
         json={"kind": "lighting", "title": "Lamp out", "line": [[-0.11, 51.5]],
               "partner_borough": "E09000022", "partner_team": "Lighting"}),
    Case("request-sql-council", "post", "/requests", "waterloo",
         ("is not a borough of the scheme", "lambeth"),
         json={"kind": "lighting", "title": "Lamp out", "lon": -0.1136, "lat": 51.5033,
               "partner_borough": SQL, "partner_team": "Lighting"}),
    Case("request-swapped", "post", "/requests", "waterloo", ("outside",),
         json={"kind": "lighting", "title": "Lamp out", "lon": 51.5033, "lat": -0.1136,
               "partner_borough": "E09000022", "partner_team": "Lighting"}),
    Case("officer-survey-out-of-range", "post", f"/walks/{WALK}/surveys/officer", "waterloo",
         ("walk_useful",), json={"walk_useful": 99, "follow_up_walk": False}),
    Case("officer-sql-ward", "post", "/officers", "supervisor", ("ward",),
         json={"name": "PC Bobby", "shoulder_number": "AS999",
               "ward_codes": ["E05014118' OR '1'='1"], "command_unit": "AS"}),
    Case("buddy-traversal-ward", "post", "/buddies", "waterloo", ("ward",),
         json={"code": "B-x", "home_ward": "../../etc/passwd"}),
    Case("token-unknown-role", "post", "/tokens", "supervisor", ("role",),
         json={"name": "qgis", "role": "root", "boroughs": ["E09000022"]}),
    # -- query strings ------------------------------------------------------------------------
    Case("bbox-words", "get", "/reports?bbox=a,b,c,d", "supervisor", ("must be four numbers",)),
    Case("bbox-three-numbers", "get", "/reports?bbox=-0.1,51.5,-0.09", "supervisor",
         ("must be four numbers",)),
    Case("bbox-nan", "get", "/reports?bbox=nan,nan,nan,nan", "supervisor", ("not finite",)),
    Case("bbox-inverted", "get", "/reports?bbox=-0.09,51.51,-0.1,51.5", "supervisor",
         ("min < max",)),
    Case("bbox-metres", "get", "/reports?bbox=530000,179000,531000,180000", "supervisor",
         ("not in degrees", "metres")),
    Case("assets-bbox-infinite", "get", "/assets?bbox=-inf,51.5,inf,51.6", "supervisor",
         ("not finite",)),
    Case("ogc-bbox-words", "get", "/ogc/collections/hexagons/items?bbox=x,y,z,w", "public",
         ("not a number",), status=(400,)),
    Case("ogc-crs-traversal", "get",
         "/ogc/collections/hexagons/items?crs=../../etc/passwd", "public", ("crs",),
         status=(400,)),
    Case("ogc-unknown-collection-sql", "get", f"/ogc/collections/{SQL}/items", "public",
         ("no collection", "you may read hexagons"), status=(404,)),
    Case("lookup-nan", "get", "/wards/lookup?lon=nan&lat=nan", "public", ("finite number",)),
    Case("lookup-infinity", "get", "/wards/lookup?lon=-0.11&lat=inf", "public",
         ("lat", "finite number")),
    Case("lookup-metres", "get", "/wards/lookup?lon=530500&lat=179800", "public",
         ("less than or equal to 180",)),
    Case("hotspots-edge-negative", "get", "/hotspots?edge=-500", "public",
         ("edge", "250, 500, 1000, 2000")),
    Case("hotspots-edge-nan", "get", "/hotspots?edge=nan", "public", ("edge", "valid integer")),
    Case("hotspots-month-13", "get", "/hotspots?month_from=2026-13", "public", ("month",)),
    Case("hotspots-sql-borough", "get", f"/hotspots?borough={SQL}", "public", ("borough",)),
    Case("hotspots-unknown-category", "get", "/hotspots?category=../../etc", "public",
         ("categor",)),
    Case("walk-exposure-within-zero", "get", f"/walks/{WALK}/exposure?within=0", "waterloo",
         ("within", "greater than 0")),
    Case("ranking-sql-kind", "get", f"/lighting/ranking?kind={SQL}", "supervisor",
         ("kind", "lighting")),
    Case("tile-zoom-99", "get", "/tiles/99/0/0.mvt", "public", ("z:", "less than")),
    Case("tile-x-off-the-world", "get", "/tiles/3/9/0.mvt", "public", ("does not exist",)),
    # -- uploaded files -----------------------------------------------------------------------
    Case("import-utf16-csv", "post", "/imports", "supervisor", ("utf-16", "csv utf-8"),
         files={"file": ("r.csv", _csv(REPORTS_HEADER, REPORTS_ROW, encoding="utf-16"))}),
    Case("import-latin1-bad-bytes", "post", "/imports", "supervisor",
         ("not utf-8", "csv utf-8"),
         files={"file": ("r.csv", _csv(REPORTS_HEADER + ",text",
         REPORTS_ROW + ",caf") + b"\xe9\xff")}),
    Case("import-missing-lat-column", "post", "/imports", "supervisor",
         ("no location columns", "'lat'"),
         files={"file": ("r.csv", _csv("lon,categories,date,time_band",
                                       "-0.1136,poor_lighting,2026-11-02,evening"))}),
    Case("import-extra-cells", "post", "/imports", "supervisor",
         ("expected 5 fields in line 2, saw 7",),
         files={"file": ("r.csv", _csv(REPORTS_HEADER, REPORTS_ROW + ",surplus,cells"))}),
    Case("import-nan-coordinates", "post", "/imports", "supervisor",
         ('"line":2', "not a finite number"),
         files={"file": ("r.csv", _csv(REPORTS_HEADER,
                                       "nan,inf,poor_lighting,2026-11-02,evening"))}),
    Case("import-metres-as-degrees", "post", "/imports", "supervisor", ("outside",),
         files={"file": ("r.csv", _csv(REPORTS_HEADER,
                                       "530500,179800,poor_lighting,2026-11-02,evening"))}),
    Case("import-geojson-polygons", "post", "/imports", "supervisor", ("not supported", "point"),
         files={"file": ("r.geojson", json.dumps({"type": "FeatureCollection", "features": [
             {"type": "Feature", "geometry": {"type": "Polygon", "coordinates": BOWTIE},
              "properties": {"categories": "poor_lighting", "date": "2026-11-02"}}]}).encode())}),
    Case("import-geojson-empty", "post", "/imports", "supervisor", ("holds no reports",),
         files={"file": ("r.geojson", b'{"type": "FeatureCollection", "features": []}')}),
    Case("import-traversal-name", "post", "/imports", "supervisor",
         ('"detail":"x.csv: 1 bad rows', '"line":2', "unknown category"),
         files={"file": ("../../../../etc/cron.d/x.csv",
                         _csv(REPORTS_HEADER, f"-0.1136,51.5033,{SQL},2026-11-02,evening"))}),
    Case("import-json-not-multipart", "post", "/imports", "supervisor", ("file",),
         json={"file": "r.csv"}),
    Case("requests-import-missing-columns", "post", "/requests/import", "supervisor",
         ("partner",), files={"file": ("q.csv", _csv("kind,title,lon,lat",
                                                     "street_light,Lamp,-0.1136,51.5033"))}),
    Case("requests-import-sql-kind", "post", "/requests/import", "supervisor", ("kind",),
         files={"file": ("q.csv", _csv(REQUESTS_HEADER, REQUESTS_ROW.replace(
             "lighting", SQL.replace(",", ""), 1)))}),
    Case("requests-import-nan", "post", "/requests/import", "supervisor",
         ("line 2", "not a finite number"),
         files={"file": ("q.csv", _csv(REQUESTS_HEADER, REQUESTS_ROW.replace(
             "-0.1136,51.5033", "NaN,Infinity")))}),
    Case("requests-import-extra-cells", "post", "/requests/import", "supervisor",
         ("expected 6 fields in line 2, saw 8",),
         files={"file": ("q.csv", _csv(REQUESTS_HEADER, REQUESTS_ROW + ",surplus,cells"))}),
    Case("requests-import-utf16", "post", "/requests/import", "supervisor",
         ("utf-16", "csv utf-8"),
         files={"file": ("q.csv", _csv(REQUESTS_HEADER, REQUESTS_ROW, encoding="utf-16"))}),
    Case("route-upload-nan", "post", f"/walks/{WALK}/route/edit", "waterloo",
         ("file was not used", "not a finite number"),
         files={"route_file": ("r.geojson", _line_body("[[NaN, 51.5], [-0.11, 51.5]]").encode())}),
    Case("route-upload-traversal-name", "post", f"/walks/{WALK}/route/edit", "waterloo",
         ("neither gpx nor geojson",),
         files={"route_file": ("../../../etc/passwd", b"root:x:0:0")}),
    # -- HTML form posts ----------------------------------------------------------------------
    Case("take-part-nan", "post", "/take-part", "public", ("outside the wards",),
         data={"lon": "nan", "lat": "nan", "availability": ["weekday_evening"],
               "contact": "07700 900123", "consent": "yes"},
         headers={"accept": "text/html"}),
    Case("take-part-sql-ward", "post", "/take-part", "public", ("choose your ward",),
         data={"ward": SQL, "availability": ["weekday_evening"], "contact": "07700 900123",
               "consent": "yes"}, headers={"accept": "text/html"}),
    Case("take-part-json", "post", "/take-part", "public", ("choose your ward", "tick the box"),
         json={"ward": WATERLOO, "contact": "07700 900123", "consent": "yes"},
         headers={"accept": "text/html"}),
    Case("lighting-form-infinity", "post", "/lighting/requests/new", "waterloo",
         ("tap the map",), data={"kind": "lighting", "title": "Lamp out",
         "partner_borough": "E09000022",
               "partner_team": "Street lighting", "lon": "inf", "lat": "-inf"},
         headers={"accept": "text/html"}),
    Case("lighting-form-nan", "post", "/lighting/requests/new", "waterloo",
         ("tap the map",), data={"kind": "lighting", "title": "Lamp out",
         "partner_borough": "E09000022",
               "partner_team": "Street lighting", "lon": "nan", "lat": "nan"},
         headers={"accept": "text/html"}),
    Case("lighting-form-sql-council", "post", "/lighting/requests/new", "waterloo",
         ("choose the council",), data={"kind": "lighting", "title": "Lamp out",
                             "partner_borough": SQL, "partner_team": "Street lighting",
                             "lon": "-0.1136", "lat": "51.5033"},
         headers={"accept": "text/html"}),
    Case("plan-form-nan-meeting-point", "post", "/work/walks/new", "waterloo",
         ("tap the map",), data={**PLAN_FORM, "lon": "nan", "lat": "nan"},
         headers={"accept": "text/html"}),
    Case("plan-form-metres-meeting-point", "post", "/work/walks/new", "waterloo",
         ("tap the map",), data={**PLAN_FORM, "lon": "530500", "lat": "179800"},
         headers={"accept": "text/html"}),
    Case("plan-form-sql-date", "post", "/work/walks/new", "waterloo",
         ("enter the date of the walk",), data={**PLAN_FORM, "date": SQL},
         headers={"accept": "text/html"}),
    Case("admin-officer-form-sql-ward", "post", "/admin/officers", "supervisor", ("ward",),
         data={"name": "PC Bobby", "shoulder_number": "AS998", "wards": [SQL]},
         headers={"accept": "text/html"}),
    Case("login-sql-token", "post", "/login", "public", ("token",), status=(401,),
         data={"token": "' OR 1=1 --", "csrf_token": "corpus", "next": "//evil.example"},
         headers={"accept": "text/html", "cookie": "walktalk_login_csrf=corpus"}),
    Case("login-no-form-token", "post", "/login", "public", ("csrf_token", "required"),
         data={"token": "' OR 1=1 --"}, headers={"accept": "text/html"}),
    Case("survey-traversal-secret", "post", "/survey/..%2F..%2Fetc%2Fpasswd", "public",
         ("no page at",), status=(404, 410), data={"felt_safer": "5"},
         headers={"accept": "text/html"}),
]  # fmt: skip


@dataclass
class World:
    """The corpus's app, its database and the people who send things."""

    client: TestClient
    url: str
    people: dict[str, dict[str, str]]
    walk_id: str
    officer_id: str


@pytest.fixture(scope="module")
def world(
    server_url: str, template_db: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[World]:
    """One database and app for every HTTP case (each checks the counts before and after)."""
    with _temporary_database(server_url, "walktalk_corpus", template_db) as url:
        settings = Settings(
            database_url=url,
            home=tmp_path_factory.mktemp("corpus"),
            secret_key=SecretStr(secrets.token_urlsafe(48)),
            tiles="none",
            report_rate_limit=100_000,
        )
        with TestClient(create_app(settings)) as client:
            people = {
                "supervisor": auth(make_token(settings, "supervisor", command_unit="AS")),
                "waterloo": auth(make_token(settings, "officer", wards=[WATERLOO])),
                "public": {},
            }
            walk = make_walk(
                client,
                people,
                start="2026-12-01T17:00:00+00:00",
                end="2026-12-01T17:45:00+00:00",
                buddy_ward=WATERLOO,
            )
            engine = create_engine(url)
            with engine.connect() as conn:
                officer_id = conn.execute(
                    text("SELECT officer_id FROM walks WHERE id = :id"), {"id": walk["id"]}
                ).scalar_one()
            engine.dispose()
            yield World(client, url, people, walk["id"], str(officer_id))
        client.app.state.engine.dispose()  # type: ignore[attr-defined]


def _counts(url: str) -> dict[str, int]:
    engine = create_engine(url)
    with engine.connect() as conn:
        row = conn.execute(text(COUNT_ALL)).one()
    engine.dispose()
    return dict(row._mapping)


def _said(body: str, content_type: str) -> str:
    """What the answer says was wrong, lower case, HTML entities and JSON escapes undone.

    For a page: only its error messages (the error summary, a field's error, an error page's
    detail), so that a word of the page's own labels cannot pass for a message.
    """
    if content_type.startswith("text/html"):
        found = re.findall(r'role="alert"[^>]*>(.*?)</(?:div|p|span)>', body, re.S)
        found += re.findall(r'class="(?:error|field-error)"[^>]*>(.*?)</(?:p|span)>', body, re.S)
        body = " ".join(re.sub(r"<[^>]+>", " ", part) for part in found)
    return " ".join(html.unescape(body).replace("\\u2019", "'").lower().split())


def _filled(data: dict[str, Any] | None, world: World) -> dict[str, Any] | None:
    """Form fields with the corpus officer's id put in."""
    if data is None:
        return None
    return {k: v.replace("{officer}", world.officer_id) if isinstance(v, str) else v
            for k, v in data.items()}  # fmt: skip


@pytest.mark.parametrize("case", HTTP_CASES, ids=[c.id for c in HTTP_CASES])
def test_bad_input_over_http_is_refused_and_stores_nothing(world: World, case: Case) -> None:
    before = _counts(world.url)
    answer = world.client.request(
        case.method,
        case.path.replace(WALK, world.walk_id),
        headers={**world.people[case.who], **case.headers},
        json=case.json,
        content=case.content,
        data=_filled(case.data, world),
        files=case.files,
        follow_redirects=False,
    )
    said = _said(answer.text, answer.headers.get("content-type", ""))
    assert answer.status_code in case.status, (answer.status_code, said[:600])
    for word in case.words:
        assert word.lower() in said, (word, said[:1200])
    assert "traceback" not in said and "internal" not in said
    assert _counts(world.url) == before


# -- files read by the command line ------------------------------------------------------------

Run = Callable[..., tuple[int, str, str]]
SQUARE = [[[-0.11, 51.50], [-0.10, 51.50], [-0.10, 51.51], [-0.11, 51.51], [-0.11, 51.50]]]


def _wards(*features: dict[str, Any]) -> bytes:
    return json.dumps({"type": "FeatureCollection", "features": list(features)}).encode()


def _ward(geometry: dict[str, Any], code: str = "E05999999") -> dict[str, Any]:
    return {
        "type": "Feature",
        "geometry": geometry,
        "properties": {"WD24CD": code, "WD24NM": "Test ward", "LAD24CD": "E09000022"},
    }


OSM_HEAD = b'<?xml version="1.0" encoding="UTF-8"?><osm version="0.6">'


@dataclass(frozen=True)
class CliCase:
    """A file given to a `walktalk` command, and the words its error must hold."""

    id: str
    args: tuple[str, ...]
    name: str
    data: bytes | None
    words: tuple[str, ...]


CLI_CASES = [
    CliCase("wards-metres-as-degrees", ("wards", "load"), "w.geojson", _wards(_ward(
        {"type": "Polygon", "coordinates": [[[530000, 179000], [531000, 179000],
                                             [531000, 180000], [530000, 179000]]]})),
            ("metres",)),
    CliCase("wards-empty-geometry", ("wards", "load"), "w.geojson",
            _wards(_ward({"type": "Polygon", "coordinates": []})), ("empty",)),
    CliCase("wards-points", ("wards", "load"), "w.geojson",
            _wards(_ward({"type": "Point", "coordinates": [-0.11, 51.5]})), ("polygon",)),
    CliCase("wards-no-features", ("wards", "load"), "w.geojson", _wards(), ("has no features",)),
    CliCase("wards-no-code-column", ("wards", "load"), "w.geojson", json.dumps({
        "type": "FeatureCollection", "features": [{"type": "Feature", "properties": {"x": 1},
        "geometry": {"type": "Polygon", "coordinates": SQUARE}}]}).encode(), ("code",)),
    CliCase("wards-outside-britain", ("wards", "load"), "w.geojson", _wards(_ward(
        {"type": "Polygon", "coordinates": [[[2.3, 48.8], [2.4, 48.8], [2.4, 48.9],
                                             [2.3, 48.8]]]})), ("outside",)),
    CliCase("wards-missing-file-traversal", ("wards", "load"), "../../../../no/such.geojson",
            None, ("no such",)),
    CliCase("wards-utf16", ("wards", "load"), "w.geojson",
            _wards(_ward({"type": "Polygon", "coordinates": SQUARE})).decode().encode(
                "utf-16"), ("read",)),
    CliCase("osm-not-xml", ("osm", "load"), "x.osm", b"this is not an OSM file", ("osm",)),
    CliCase("osm-empty", ("osm", "load"), "x.osm", b"", ("empty",)),
    CliCase("osm-latin1-bad-bytes", ("osm", "load"), "x.osm",
            OSM_HEAD + b'<node id="1" lat="51.5" lon="-0.11"><tag k="name" v="caf\xe9\xff"/>'
            b"</node></osm>", ("not well-formed", "line 1")),
    CliCase("osm-nan-node", ("osm", "load"), "x.osm",
            OSM_HEAD + b'<node id="1" lat="NaN" lon="-0.11"><tag k="highway" v="street_lamp"/>'
            b"</node></osm>", ("no usable place", "nan")),
    CliCase("osm-missing-file", ("osm", "load"), "../../no/such.osm", None, ("no such",)),
    CliCase("assets-missing-columns", ("assets", "import", "--kind", "light"), "a.csv",
            _csv("id,name", "1,Lamp"), ("column",)),
    CliCase("assets-nan", ("assets", "import", "--kind", "light"), "a.csv",
            _csv("id,lon,lat", "1,nan,nan"), ("line 2",)),
    CliCase("assets-outside-britain", ("assets", "import", "--kind", "light"), "a.csv",
            _csv("id,lon,lat", "1,2.35,48.85"), ("outside",)),
    CliCase("assets-latin1", ("assets", "import", "--kind", "camera"), "a.csv",
            _csv("id,lon,lat,name", "1,-0.11,51.5,caf") + b"\xe9\xff", ("not utf-8", "csv utf-8")),
    CliCase("assets-geojson-lines", ("assets", "import", "--kind", "light"), "a.geojson",
            json.dumps({"type": "FeatureCollection", "features": [{"type": "Feature",
                "properties": {"id": "1"}, "geometry": {"type": "LineString",
                                                        "coordinates": LINE}}]}).encode(),
            ("is not a point",)),
    CliCase("reports-utf16", ("reports", "import"), "r.csv",
            _csv(REPORTS_HEADER, REPORTS_ROW, encoding="utf-16"), ("utf-16", "csv utf-8")),
    CliCase("reports-geometry-collection", ("reports", "import"), "r.geojson",
            json.dumps({"type": "FeatureCollection", "features": [{"type": "Feature",
                "properties": {"categories": "poor_lighting"},
                "geometry": {"type": "GeometryCollection", "geometries": []}}]}).encode(),
            ("geometrycollection",)),
]  # fmt: skip


@pytest.mark.parametrize("case", CLI_CASES, ids=[c.id for c in CLI_CASES])
def test_bad_files_on_the_command_line_exit_non_zero_and_store_nothing(
    walktalk: Run, fresh_db: str, tmp_path: Path, case: CliCase
) -> None:
    path = tmp_path / case.name
    if case.data is not None:
        path.write_bytes(case.data)
    before = _counts(fresh_db)
    code, out, err = walktalk(*case.args, str(path))
    said = (out + err).lower()
    assert code != 0, said
    for word in case.words:
        assert word.lower() in said, (word, said[:1200])
    assert "traceback" not in said
    assert _counts(fresh_db) == before
