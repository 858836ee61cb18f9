"""Street lights and cameras already on the ground: inventories, their coverage, and lookups.

An inventory is one council file (`geo.assets.read_assets`), stored whole or not at all, once
per file content (its SHA-256). Each asset gets the ward and borough of the active ward set,
as reports do (rows outside every ward get neither). The inventory records the area it lists
every asset of (``coverage``): "no light here" may be claimed only inside it
(`inside_coverage`). Nothing here decides who may see what: assets are public council data,
and ``service.policy`` says which roles read them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd
import shapely
from sqlalchemy import text
from sqlalchemy.orm import Session

from boundaries.bundled import LONDON_BOROUGHS_PATH
from boundaries.reading import read_boroughs
from geo.assets import KINDS, AssetFileError, AssetRows, boroughs_containing, read_assets
from service.errors import Conflict, InvalidInput, NotFound
from service.queries.bulk import Progress, copy_frame, ewkt_points
from service.queries.imports import file_sha256
from service.queries.wards import WardAssignedTable, assign_wards, require_active_ward_set

__all__ = [
    "MIN_BOROUGH_SHARE",
    "AssetImport",
    "InventorySummary",
    "assets_in_box",
    "assets_within",
    "delete_inventory",
    "import_assets",
    "inside_coverage",
    "list_inventories",
]

#: Without ``--covers``, a borough is taken as covered when it holds at least this share of the
#: file's points: a council's file has a few lamps over its border, and those do not make it
#: the neighbour's full inventory.
MIN_BOROUGH_SHARE = 0.2
_BOROUGH_CODE = re.compile(r"^E09\d{6}$")
_WARD_CODE = re.compile(r"^E05\d{6}$")
_ASSETS = WardAssignedTable("assets")
# One degree of latitude is at least 110.5 km; a degree of longitude is that times cos(lat).
# The box around a shape is widened by a little more, so the index never drops a true hit.
_METRES_PER_DEGREE = 110_000.0


@dataclass(frozen=True)
class AssetImport:
    """What importing one asset file did."""

    name: str
    file_name: str
    already_loaded: bool
    stored: int = 0
    rows_read: int = 0
    rows_skipped: int = 0
    in_wards: int = 0
    coverage_note: str = ""
    location: str = ""
    skipped: AssetRows | None = None


@dataclass(frozen=True)
class InventorySummary:
    """One stored inventory, with its coverage as GeoJSON (a dict)."""

    name: str
    kind: str
    file_name: str
    assets: int
    rows_skipped: int
    in_wards: int
    attribution: str
    coverage_note: str
    coverage: dict[str, Any]
    loaded_at: Any
    loaded_by: str


def import_assets(
    session: Session,
    data: bytes,
    file_name: str,
    *,
    kind: str,
    name: str | None = None,
    covers: Sequence[str] = (),
    attribution: str | None = None,
    loaded_by: str,
    progress: Progress | None = None,
) -> AssetImport:
    """Read, check and store a file of street lights or cameras in the caller's transaction.

    The same file content again adds nothing (``already_loaded``). Coverage is the union of
    ``covers`` (borough codes E09… from the bundled London boroughs, ward codes E05… from the
    active ward set); without it, the bundled London boroughs holding at least
    `MIN_BOROUGH_SHARE` of the points. ``coverage_note`` says which rule was used.

    Raises
    ------
    InvalidInput
        A file that cannot be read, an unknown kind or code, or no borough to cover.
    Conflict
        Another file is already stored under ``name``.
    NotFound
        No ward set is active (assets are placed in wards as reports are).

    """
    if kind not in KINDS:
        raise InvalidInput(f"kind {kind!r} is not known: give one of {', '.join(KINDS)}")
    digest = file_sha256(data)
    before = session.execute(
        text("SELECT name FROM asset_inventories WHERE sha256 = :sha"), {"sha": digest}
    ).scalar_one_or_none()
    if before is not None:
        return AssetImport(name=before, file_name=file_name, already_loaded=True)
    name = (name or file_name.rsplit(".", 1)[0]).strip()
    if not name or len(name) > 100:
        raise InvalidInput("give the inventory a name of 1 to 100 characters with --name")
    clash = session.execute(
        text("SELECT file_name FROM asset_inventories WHERE name = :name"), {"name": name}
    ).scalar_one_or_none()
    if clash is not None:
        raise Conflict(
            f"an inventory called {name!r} is already loaded (from {clash}, other content): "
            f"give this one another --name, or delete that one with `walktalk assets delete "
            f"{name}` first"
        )
    active = require_active_ward_set(session)
    try:
        rows = read_assets(data, file_name)
    except AssetFileError as exc:
        raise InvalidInput(str(exc)) from None
    coverage, note = _coverage(session, rows, covers, active_set=active.id)
    inventory_id = session.execute(
        text(
            "INSERT INTO asset_inventories (kind, name, file_name, sha256, attribution, coverage, "
            " coverage_note, assets, rows_skipped, loaded_by) VALUES (:kind, :name, :file, :sha, "
            " :attribution, ST_Multi(ST_CollectionExtract(ST_MakeValid("
            "  ST_GeomFromWKB(decode(:coverage, 'hex'), 4326)), 3)), "
            " :note, :assets, :skipped, :by) "
            "RETURNING id"
        ),
        {
            "kind": kind,
            "name": name,
            "file": file_name,
            "sha": digest,
            "attribution": attribution or f"{file_name} (no attribution given)",
            "coverage": shapely.to_wkb(coverage, hex=True),
            "note": note,
            "assets": len(rows.frame),
            "skipped": rows.rows_skipped,
            "by": loaded_by,
        },
    ).scalar_one()
    frame = pd.DataFrame(
        {
            "inventory_id": inventory_id,
            "kind": kind,
            "ref": rows.frame["ref"],
            "properties": rows.frame["properties"].map(
                lambda props: json.dumps(props, ensure_ascii=False)
            ),
            "geom": ewkt_points(rows.frame["lon"], rows.frame["lat"]),
        }
    )
    copy_frame(session, "assets", frame, progress=progress)
    assign_wards(session, _ASSETS, set_id=active.id)
    in_wards = session.execute(
        text("SELECT count(ward_code) FROM assets WHERE inventory_id = :id"), {"id": inventory_id}
    ).scalar_one()
    return AssetImport(
        name=name,
        file_name=file_name,
        already_loaded=False,
        stored=len(rows.frame),
        rows_read=rows.rows_read,
        rows_skipped=rows.rows_skipped,
        in_wards=int(in_wards),
        coverage_note=note,
        location=rows.location,
        skipped=rows,
    )


def _coverage(
    session: Session, rows: AssetRows, covers: Sequence[str], *, active_set: int
) -> tuple[Any, str]:
    """The area the file lists every asset of, and a note saying how it was decided."""
    boroughs = read_boroughs(LONDON_BOROUGHS_PATH)
    names = dict(zip(boroughs["code"], boroughs["name"], strict=True))
    codes = [code.strip().upper() for code in covers if code.strip()]
    if codes:
        bad = [c for c in codes if not (_BOROUGH_CODE.match(c) or _WARD_CODE.match(c))]
        if bad:
            raise InvalidInput(
                f"--covers {', '.join(bad)}: give borough codes (E09 and six digits, e.g. "
                "E09000022 for Lambeth) or ward codes (E05 and six digits)"
            )
        borough_codes = [c for c in codes if c.startswith("E09")]
        ward_codes = [c for c in codes if c.startswith("E05")]
        unknown = [c for c in borough_codes if c not in names]
        if unknown:
            raise InvalidInput(
                f"--covers {', '.join(unknown)}: not a London borough of the bundled "
                "boundaries (E09000001 to E09000033)"
            )
        shapes = list(boroughs.loc[boroughs["code"].isin(borough_codes), "geometry"])
        if ward_codes:
            found = session.execute(
                text(
                    "SELECT code, name, ST_AsText(geom) AS wkt FROM wards "
                    "WHERE ward_set_id = :id AND code = ANY(:codes) ORDER BY code"
                ),
                {"id": active_set, "codes": ward_codes},
            ).all()
            missing = sorted(set(ward_codes) - {r.code for r in found})
            if missing:
                raise InvalidInput(
                    f"--covers {', '.join(missing)}: no such ward in the active ward set"
                )
            shapes += [shapely.from_wkt(r.wkt) for r in found]
        parts = [f"{names[c]} ({c})" for c in borough_codes] + ward_codes
        note = "covers what --covers named: " + ", ".join(parts)
        return shapely.union_all(shapes), note
    counts = boroughs_containing(rows.frame["lon"], rows.frame["lat"], boroughs)
    total = len(rows.frame)
    chosen = [c for c, n in counts.items() if n >= MIN_BOROUGH_SHARE * total]
    if not chosen:
        raise InvalidInput(
            "none of the London boroughs holds a fifth of the file's points, so the area it "
            "covers cannot be guessed: name it with --covers CODE (borough E09… or ward E05…)"
        )
    left = [f"{names[c]} {n:,}" for c, n in counts.items() if c not in chosen]
    note = (
        "no --covers given: the London boroughs holding at least "
        f"{MIN_BOROUGH_SHARE:.0%} of its points, "
        + ", ".join(f"{names[c]} ({c}, {counts[c]:,} points)" for c in chosen)
    )
    if left:
        note += "; points in " + ", ".join(left) + " lie outside the coverage (too few to count)"
    shapes = list(boroughs.loc[boroughs["code"].isin(chosen), "geometry"])
    return shapely.union_all(shapes), note


def list_inventories(session: Session) -> list[InventorySummary]:
    """Every stored inventory, lights first, then by name."""
    rows = session.execute(
        text(
            "SELECT i.name, i.kind, i.file_name, i.assets, i.rows_skipped, i.attribution, "
            " i.coverage_note, ST_AsGeoJSON(i.coverage, 6) AS coverage, i.loaded_at, "
            " i.loaded_by, (SELECT count(ward_code) FROM assets a WHERE a.inventory_id = i.id) "
            " AS in_wards FROM asset_inventories i ORDER BY i.kind DESC, i.name"
        )
    ).all()
    return [
        InventorySummary(
            name=r.name,
            kind=r.kind,
            file_name=r.file_name,
            assets=r.assets,
            rows_skipped=r.rows_skipped,
            in_wards=int(r.in_wards),
            attribution=r.attribution,
            coverage_note=r.coverage_note,
            coverage=json.loads(r.coverage),
            loaded_at=r.loaded_at,
            loaded_by=r.loaded_by,
        )
        for r in rows
    ]


def delete_inventory(session: Session, name: str) -> int:
    """Delete an inventory and its assets; return how many assets went. NotFound if none."""
    deleted = session.execute(
        text("DELETE FROM asset_inventories WHERE name = :name RETURNING assets"), {"name": name}
    ).scalar_one_or_none()
    if deleted is None:
        known = session.execute(text("SELECT name FROM asset_inventories ORDER BY name")).scalars()
        listed = ", ".join(repr(n) for n in known) or "none is loaded"
        raise NotFound(f"no asset inventory called {name!r}: the loaded ones are {listed}")
    return int(deleted)


def assets_in_box(
    session: Session,
    box: tuple[float, float, float, float],
    *,
    kind: str | None = None,
    limit: int,
) -> tuple[int, list[dict[str, Any]]]:
    """How many assets lie in ``box`` (west, south, east, north) and up to ``limit`` of them.

    Each is a dict: ``id``, ``kind``, ``ref``, ``inventory`` (its name), ``attribution``
    (its inventory's), ``ward_code``, ``borough_code``, ``properties``, ``lon``, ``lat``.
    """
    params = {"w": box[0], "s": box[1], "e": box[2], "n": box[3], "kind": kind, "limit": limit}
    where = (
        "a.geom && ST_MakeEnvelope(:w, :s, :e, :n, 4326) "
        "AND (CAST(:kind AS text) IS NULL OR a.kind = :kind)"
    )
    matched = session.execute(
        text(f"SELECT count(*) FROM assets a WHERE {where}"), params
    ).scalar_one()
    rows = session.execute(
        text(
            "SELECT a.id, a.kind, a.ref, i.name AS inventory, i.attribution, a.ward_code, "
            " a.borough_code, a.properties, ST_X(a.geom) AS lon, ST_Y(a.geom) AS lat "
            f"FROM assets a JOIN asset_inventories i ON i.id = a.inventory_id WHERE {where} "
            "ORDER BY a.id LIMIT :limit"
        ),
        params,
    ).mappings()
    return int(matched), [dict(r) for r in rows]


def assets_within(
    session: Session, geometry_wkt: str, metres: float, kind: str | None = None
) -> dict[str, int]:
    """Count the assets within ``metres`` of a shape (WKT, EPSG:4326), per kind.

    Distances are true metres on the ellipsoid (geography), found through the assets' index.
    Both kinds are always in the answer; with ``kind`` the other one counts 0.

    Examples
    --------
    ``assets_within(session, "POINT(-0.1136 51.5033)", 50)`` →
    ``{"light": 3, "camera": 1}``; ``assets_within(session, line_wkt, 50, "light")`` counts
    the lights along a street stretch.

    """
    if kind is not None and kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, not {kind!r}")
    if not metres >= 0:
        raise ValueError(f"metres must be a number >= 0, not {metres!r}")
    rows = session.execute(
        text(
            "WITH g AS (SELECT ST_GeomFromText(:wkt, 4326) AS g) "
            "SELECT a.kind, count(*) AS n FROM assets a, g "
            f"WHERE a.geom && {_widened('g.g')} "
            " AND ST_DWithin(a.geom::geography, g.g::geography, :m) "
            " AND (CAST(:kind AS text) IS NULL OR a.kind = :kind) GROUP BY a.kind"
        ),
        {"wkt": geometry_wkt, "m": float(metres), "kind": kind},
    ).all()
    counts = dict.fromkeys(KINDS, 0)
    counts.update({r.kind: int(r.n) for r in rows})
    return counts


def inside_coverage(session: Session, wkt: str, kind: str) -> bool:
    """Whether a shape (WKT, EPSG:4326) lies wholly inside the coverage of ``kind``'s inventories.

    Only there may "no light here" (or "no camera here") be claimed: outside, nothing is
    known. A shape across two inventories' areas counts as inside when their union covers it.
    """
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, not {kind!r}")
    return bool(
        session.execute(
            text(
                "WITH g AS (SELECT ST_GeomFromText(:wkt, 4326) AS g) "
                "SELECT EXISTS (SELECT FROM asset_inventories i, g "
                "  WHERE i.kind = :kind AND ST_Covers(i.coverage, g.g)) "
                " OR coalesce((SELECT ST_Covers(ST_Union(i.coverage), g.g) "
                "  FROM asset_inventories i, g WHERE i.kind = :kind "
                "  AND ST_Intersects(i.coverage, g.g) GROUP BY g.g), false)"
            ),
            {"wkt": wkt, "kind": kind},
        ).scalar_one()
    )


def _widened(shape: str) -> str:
    """SQL for ``shape``'s box widened by ``:m`` metres each way (in degrees, generously)."""
    return (
        f"ST_Expand({shape}, :m / ({_METRES_PER_DEGREE} * "
        f"cos(radians(least(greatest(abs(ST_YMax({shape})), abs(ST_YMin({shape}))), 89)))) "
        "+ 1e-6, "
        f":m / {_METRES_PER_DEGREE} + 1e-6)"
    )
