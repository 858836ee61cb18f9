"""The role matrix on the bodies of the routes issues 11 to 13 added.

``tests/test_role_matrix.py`` calls every route as every caller with the parameters it needs and
searches every answer for the two secrets. This module adds what that walk cannot see: every
file format of the ranking, the gaps and the requests, the OGC items, the assets, the pages of
the scheme, the walk files (GPX, GeoPackage) and a base-map tile over the report (decoded, not
searched as bytes), with a request to the council 25 m from the report so that its evidence
counts are 1, and the bid pack it is in (its zip opened, each member searched). For each
caller, what the body must never hold (the route's ends, the report's exact point and text, the
buddy and the take-part contact, a count between 1 and 9 for a protected reader, a walk or a
take-part request of another ward for an officer), and what it must hold when allowed.
"""

from __future__ import annotations

import csv
import io
import json
import re
import tempfile
import zipfile
from pathlib import Path
from typing import Any

import mapbox_vector_tile
import pyogrio
import pytest
from fastapi.testclient import TestClient

from tests.test_role_matrix import (  # noqa: F401
    REPORT_LAT,
    REPORT_LON,
    ROUTE_ENDS,
    _secrets_for,
    world,
)

PROTECTED = ("partner", "planner", "public")
CALLERS = ("public", "officer_ward", "officer_other", "supervisor", "supervisor_other",
           "partner", "planner")
# Keys whose value counts reports; a protected reader may see 0, a suppressed cell or >= 10.
COUNT_KEYS = re.compile(
    r"^(count|counts|total|lighting|dark|months|reports|backing|n_reports|report_count|"
    r"reports_count|value|reports and concerns|about lighting|in the dark|distinct months|"
    r"dark_lighting|unanswered|backing_shown)$"
)
# The report's point on the British National Grid (files for councils are in EPSG:27700), to 1 m.
REPORT_BNG = re.compile(
    r"53073[89](\.\d*)?[^\d.]{1,4}17982[12](\.\d*)?|17982[12](\.\d*)?[^\d.]{1,4}53073[89]"
)
# The report's 500 m cell sits in this tile at zoom 16 (computed from REPORT_LON/LAT).
REPORT_TILE = "/tiles/16/32746/21793.mvt"

# Paths checked for every caller ({name} filled from the world's params).
PATHS = (
    "/lighting/ranking",
    "/lighting/ranking.csv",
    "/lighting/ranking.geojson",
    "/lighting/gaps",
    "/lighting/gaps.csv",
    "/lighting/gaps.geojson",
    "/maps/lighting",
    "/requests",
    "/requests.csv",
    "/requests/{partner_request_id}",
    "/requests/{near_request_id}",
    "/lighting/requests",
    "/lighting/requests/{near_request_id}",
    "/assets?bbox=-0.125,51.495,-0.105,51.51",
    "/assets/inventories",
    "/ogc/collections",
    "/ogc/collections/hexagons/items",
    "/ogc/collections/hexagons/items?limit=1000",
    "/ogc/collections/hotspots/items?limit=1000",
    "/ogc/collections/ward-summaries/items",
    "/ogc/collections/reports/items",
    "/ogc/collections/reports/items/{report_id}",
    "/take-part",
    "/work/requests",
    "/work/requests/{request_id}",
    "/work/buddies",
    "/work/walks/{walk_id}",
    "/admin/officers",
    "/admin/moderation",
    "/",
    "/walks",
    "/walks.csv",
    "/walks.geojson",
    "/walks.gpkg",
    "/work/walks/{walk_id}/export.gpx",
    "/work/walks/{walk_id}/export.gpkg",
    "/lighting/ranking.gpkg",
    "/lighting/gaps.gpkg",
    REPORT_TILE,
)
# Her own work and the walk lists: an officer of another ward gets nothing of this ward's walk
# or take-part request from them (the walk's own page shows her its trimmed view, by design).
OFFICERS_OWN = ("/", "/work/requests", "/work/buddies", "/work/walks/new", "/walks", "/walks.csv",
                "/walks.geojson")


def _counts(value: Any) -> list[tuple[str, Any]]:
    """Every (key, value) under a counting key, anywhere in a decoded JSON body."""
    found: list[tuple[str, Any]] = []
    if isinstance(value, dict):
        for key, inner in value.items():
            if COUNT_KEYS.match(str(key)) and not isinstance(inner, (dict, list)):
                found.append((key, inner))
            found.extend(_counts(inner))
    elif isinstance(value, list):
        for inner in value:
            found.extend(_counts(inner))
    return found


def _small(value: Any) -> bool:
    """A count from 1 to 9 (as a number or as digits in a CSV cell)."""
    if isinstance(value, bool):
        return False
    if isinstance(value, (int, float)):
        return 1 <= value <= 9
    # "1 report and walk concerns" tells as much as 1.
    small = r"[1-9](\.0+)?( report.*)?"
    return isinstance(value, str) and re.fullmatch(small, value.strip()) is not None


def _gpkg_text(data: bytes) -> str:
    """Every row of every layer of a GeoPackage, geometries as WKT, as one text (read by GDAL)."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "answer.gpkg"
        path.write_bytes(data)
        parts: list[str] = []
        for layer, _ in pyogrio.list_layers(path):
            frame = pyogrio.read_dataframe(path, layer=layer)
            for row in frame.itertuples(index=False):
                parts.extend(
                    cell.wkt if hasattr(cell, "wkt") else str(cell) for cell in row
                )
        return "\n".join(parts)


def _decoded(answer: Any) -> tuple[str, list[tuple[str, Any]]]:
    """The body as searchable text, and the counts it holds."""
    kind = answer.headers.get("content-type", "")
    if "vector-tile" in kind:
        tile = mapbox_vector_tile.decode(answer.content)
        return json.dumps(tile), _counts(tile)
    if "zip" in kind:
        texts, counts = [], []
        with zipfile.ZipFile(io.BytesIO(answer.content)) as pack:
            for member in pack.namelist():
                data = pack.read(member)
                if member.endswith(".gpkg"):
                    texts.append(_gpkg_text(data))
                elif member.endswith((".csv", ".json", ".geojson", ".txt", ".md", ".html")):
                    texts.append(data.decode("utf-8"))
                    if member.endswith((".json", ".geojson")):
                        counts.extend(_counts(json.loads(data)))
                    elif member.endswith(".csv"):
                        table = csv.DictReader(io.StringIO(data.decode("utf-8")))
                        counts.extend((k, v) for row in table for k, v in row.items()
                                      if COUNT_KEYS.match(k or ""))
        assert texts, f"a bid pack with nothing to read: {pack.namelist()}"
        return "\n".join(texts), counts
    if "geopackage" in kind:
        return _gpkg_text(answer.content), []
    text = answer.text
    if "xml" in kind:
        # GPX writes lat="…" lon="…" apart; put each pair as "lon lat" so the patterns see it.
        pairs = re.findall(r'lat="([-\d.]+)"\s+lon="([-\d.]+)"', text)
        return text + "\n".join(f"{lon} {lat}" for lat, lon in pairs), []
    if "json" in kind:
        return text, _counts(json.loads(text))
    if "csv" in kind:
        rows = list(csv.DictReader(io.StringIO(text)))
        return text, [(k, v) for row in rows for k, v in row.items() if COUNT_KEYS.match(k or "")]
    return text, []


@pytest.fixture
def bodies(client: TestClient, world: dict[str, Any]) -> dict[str, Any]:  # noqa: F811
    """The matrix's world, with a council request about 25 m from the report.

    Within the 50 m that backs a request, so its counts are 1; not on the report's point, which
    a staff member raising a request by hand would not copy.
    """
    near = client.post(
        "/requests",
        headers=world["callers"]["supervisor"],
        json={"kind": "lighting", "title": "Dark arches by the stairs", "lon": REPORT_LON + 0.00018,
              "lat": REPORT_LAT + 0.00018, "partner_borough": "E09000022",
              "partner_team": "Street lighting"},
    )
    assert near.status_code == 201, near.text
    in_bid = client.post(
        f"/requests/{near.json()['id']}/status",
        headers=world["callers"]["partner"],
        json={"status": "in_bid", "bid_reference": "MATRIX-BID-1"},
    )
    assert in_bid.status_code == 200, in_bid.text
    params = {**world["params"], "near_request_id": near.json()["id"]}
    return {**world, "params": params, "near": near.json()}


def test_bodies_hold_nothing_a_caller_may_not_see(
    client: TestClient, bodies: dict[str, Any]
) -> None:
    params = bodies["params"]
    leaks: list[str] = []
    served = 0
    for template in PATHS:
        path = template.format(**params)
        for caller in CALLERS:
            answer = client.get(path, headers=bodies["callers"][caller], follow_redirects=False)
            where = f"GET {template} as {caller}: {answer.status_code}"
            if answer.status_code >= 500:
                leaks.append(f"{where} {answer.text[:200]}")
                continue
            text, counts = _decoded(answer)
            served += answer.status_code == 200
            secrets = _secrets_for(caller, bodies["buddy"])
            for secret in (*secrets, REPORT_BNG) if caller in PROTECTED else secrets:
                if secret.search(text) and not secret.search(path):
                    leaks.append(f"{where} carries {secret.pattern!r}")
            if caller in PROTECTED:
                small = [(k, v) for k, v in counts if _small(v)]
                if small:
                    leaks.append(f"{where} shows counts under 10: {small[:5]}")
            if caller == "officer_other" and template in OFFICERS_OWN:
                for name in ("walk_id", "request_id"):
                    if params[name] in text:
                        leaks.append(f"{where} carries this ward's {name}")
    # The bid pack draws maps (seconds each): read once, by the council it is for and a planner.
    for caller in ("partner", "planner"):
        pack = client.get("/lighting/bid-pack.zip?bid_reference=MATRIX-BID-1",
                          headers=bodies["callers"][caller])
        where = f"GET /lighting/bid-pack.zip as {caller}: {pack.status_code}"
        assert pack.status_code < 500, where
        text, counts = _decoded(pack) if pack.status_code == 200 else (pack.text, [])
        if caller == "partner":
            assert pack.status_code == 200 and bodies["near"]["reference"] in text, where
        for secret in (*_secrets_for(caller, bodies["buddy"]), REPORT_BNG):
            if secret.search(text):
                leaks.append(f"{where} carries {secret.pattern!r}")
        small = [(k, v) for k, v in counts if _small(v)]
        if small:
            leaks.append(f"{where} shows counts under 10: {small[:5]}")
    assert leaks == [], "\n".join(leaks)
    assert served >= 80  # the walk really read bodies, not only refusals


def test_the_exact_counts_are_there_for_the_supervisor(
    client: TestClient, bodies: dict[str, Any]
) -> None:
    # Without this the small-count check could pass on bodies that never counted the report.
    ref = bodies["near"]["reference"]

    def row(caller: str) -> dict[str, Any]:
        ranking = client.get("/lighting/ranking", headers=bodies["callers"][caller])
        assert ranking.status_code == 200, ranking.text
        found = [f["properties"] for f in ranking.json()["features"]
                 if f["properties"]["reference"] == ref]
        assert len(found) == 1, (caller, ranking.text[:300])
        return found[0]

    exact = row("supervisor")
    assert exact["total"] == 1 and exact["lighting"] == 1
    protected = row("partner")
    assert protected["total"] == "fewer than 10" and protected["lighting"] == "fewer than 10"
    near = f"/requests/{bodies['params']['near_request_id']}"
    assert client.get(near, headers=bodies["callers"]["supervisor"]).json()["backing"] == 1
    assert client.get(near, headers=bodies["callers"]["partner"]).json()["backing"] is None
    # The report's 500 m hexagon: 1 for the supervisor, suppressed for the public.
    cell = f"/ogc/collections/hexagons/items/{bodies['params']['cell_id']}"
    assert client.get(cell, headers=bodies["callers"]["supervisor"]).json()["properties"][
        "count"] == 1
    public_cell = client.get(cell).json()["properties"]
    assert public_cell["count"] is None and public_cell["suppressed"] is True
    # The officer of the ward sees the take-part contact; she of the other ward, nothing of it.
    request_page = f"/work/requests/{bodies['params']['request_id']}"
    mine = client.get(request_page, headers=bodies["callers"]["officer_ward"])
    assert mine.status_code == 200 and "matrix-take-part@example.org" in mine.text
    other = client.get(request_page, headers=bodies["callers"]["officer_other"])
    assert other.status_code in {403, 404} and "matrix-take-part" not in other.text
    # The walk lists hold the walk for her, so their emptiness for the other ward's officer tells.
    for listing in ("/walks", "/walks.csv", "/walks.geojson"):
        mine_listed = client.get(listing, headers=bodies["callers"]["officer_ward"]).text
        assert bodies["params"]["walk_id"] in mine_listed, listing
    # The decoders find what they must: the ward's officer's files of the walk hold its ends.
    for fmt in ("gpx", "gpkg"):
        own = client.get(f"/work/walks/{bodies['params']['walk_id']}/export.{fmt}",
                         headers=bodies["callers"]["officer_ward"])
        assert own.status_code == 200, own.text[:200]
        assert all(end.search(_decoded(own)[0]) for end in ROUTE_ENDS), fmt
    # The tile over the report is the base map only: no layer about people.
    tile = mapbox_vector_tile.decode(client.get(REPORT_TILE).content)
    assert tile and set(tile) <= {"water", "parks", "streets", "lamps", "wards", "boroughs"}
