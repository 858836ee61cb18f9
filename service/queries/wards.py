"""Ward sets in PostGIS: load (COPY), check, activate, look up, and serve as GeoJSON.

Every function takes the caller's ``Session`` and leaves committing to the caller, so a CLI
command or a route makes one transaction of the whole job: a load that is refused stores nothing.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime

import geopandas as gpd
import shapely
from sqlalchemy import text
from sqlalchemy.orm import Session

from boundaries.bundled import BOROUGHS_ATTRIBUTION, LONDON_BOROUGHS_PATH, PILOT_WARDS
from boundaries.reading import read_boroughs, read_wards
from service.errors import Conflict, InvalidInput, NotFound, OutsideServiceArea

# Vertices per piece for ST_Subdivide: small pieces make point-in-polygon tests cheap, while
# too many pieces bloat the index. 128 is in the range MapIt and PostGIS's docs suggest.
SUBDIVIDE_VERTICES = 128
# Overlaps smaller than this (m²) are digitising slivers between neighbouring wards, not errors.
OVERLAP_TOLERANCE_M2 = 100.0


@dataclass(frozen=True)
class WardAssignedTable:
    """A table whose rows carry the code of the ward their point lies in.

    Activating a ward set re-assigns every such table in the same transaction. Later
    capabilities (reports, crimes, walks) register theirs in ``WARD_ASSIGNED_TABLES``.
    """

    table: str
    geom_column: str = "geom"
    ward_column: str = "ward_code"
    key_column: str = "id"
    # Fact tables carry their area code too, so they can be distributed by borough later.
    borough_column: str | None = "borough_code"


WARD_ASSIGNED_TABLES: tuple[WardAssignedTable, ...] = (
    WardAssignedTable("reports"),
    WardAssignedTable("crimes"),
    WardAssignedTable("assets"),
    # A request along a stretch is placed by its middle (``geom``), as a walk concern is.
    WardAssignedTable("partner_requests"),
)


@dataclass(frozen=True)
class WardCodedTable:
    """A table whose borough code follows from a ward code it stores, not from a point.

    An officer's ward or a buddy's home ward is chosen by a person; the borough it lies in is
    looked up in the active set, so activating a set whose boroughs differ re-derives it.
    """

    table: str
    # SQL over the table's alias ``t`` giving the ward code the borough follows from.
    ward_sql: str = "t.ward_code"
    borough_column: str = "borough_code"


WARD_CODED_TABLES: tuple[WardCodedTable, ...] = (
    WardCodedTable("walks"),
    WardCodedTable("officer_surveys"),
    WardCodedTable("buddy_surveys"),
    # A buddy's borough is her home ward's, else her work ward's (as create_buddy sets it).
    WardCodedTable("buddies", "coalesce(t.home_ward, t.work_ward)"),
    # A take-part request keeps only the ward she chose (not the point she tapped).
    WardCodedTable("participation_requests"),
)

WALK_BOROUGH_TABLES: tuple[str, ...] = ("safeguarding", "survey_links")
"""Tables whose ``borough_code`` is their walk's (``walk_id``), copied for scoping."""

WARD_LIST_TABLES: dict[str, str] = {"officers": "TRUE", "api_tokens": "o.role = 'officer'"}
"""Tables whose ``borough_codes`` are the boroughs of their ``ward_codes``, and which rows
(SQL over the table's alias ``o``).

A supervisor's or partner's token is scoped to boroughs directly: a grant, not derived.
"""

AREA_CODED_TABLES: frozenset[str] = frozenset(
    [e.table for e in WARD_ASSIGNED_TABLES]
    + [e.table for e in WARD_CODED_TABLES]
    + list(WALK_BOROUGH_TABLES)
    + list(WARD_LIST_TABLES)
)
"""Every table (besides ``wards``) with ward or borough codes that activation keeps fresh.

Walks' ``route_wards`` too are re-derived from their routes. A table added with such a column
must be registered above, or it goes stale at the next activation (a test checks the schema).
"""


@dataclass(frozen=True)
class WardSetSummary:
    """A stored ward set as the CLI and ``/healthz`` describe it."""

    id: int
    name: str
    wards: int
    boroughs: int
    is_active: bool
    loaded_at: datetime
    activated_at: datetime | None
    source: str
    attribution: str


@dataclass(frozen=True)
class WardSetCheck:
    """What checking a loaded set found; ``problems`` block activation, ``warnings`` do not."""

    wards: int
    parts: int
    problems: tuple[str, ...]
    warnings: tuple[str, ...]


@dataclass(frozen=True)
class WardHit:
    """The ward a point falls in."""

    code: str
    name: str
    borough_code: str
    borough_name: str
    ward_set: str


def _hex_ewkb(geoms: gpd.GeoSeries) -> list[str]:
    with_srid = shapely.set_srid(geoms.values, 4326)
    return list(shapely.to_wkb(with_srid, hex=True, include_srid=True))


def load_ward_set(
    session: Session,
    wards: gpd.GeoDataFrame,
    *,
    name: str,
    source: str,
    attribution: str,
    description: str = "",
) -> int:
    """Store a new ward set with COPY and subdivide it for lookups; return its id.

    ``wards`` has the columns ``code, name, borough_code, borough_name, geometry`` in
    EPSG:4326, as ``boundaries.reading.read_wards`` returns them.
    """
    if not name.strip():
        raise InvalidInput("a ward set needs a name: pass --set NAME")
    if wards.empty:
        raise InvalidInput(f"ward set {name!r} has no wards")
    taken = session.execute(
        text("SELECT 1 FROM ward_sets WHERE name = :name"), {"name": name}
    ).first()
    if taken:
        raise Conflict(
            f"a ward set named {name!r} is already loaded: choose another --set NAME "
            "(ward sets are generations; load a new one beside the old)"
        )
    set_id = session.execute(
        text(
            "INSERT INTO ward_sets (name, description, source, attribution) "
            "VALUES (:name, :description, :source, :attribution) RETURNING id"
        ),
        {"name": name, "description": description, "source": source, "attribution": attribution},
    ).scalar_one()

    rows = zip(
        wards["code"],
        wards["name"],
        wards["borough_code"],
        wards["borough_name"],
        _hex_ewkb(wards.geometry),
        strict=True,
    )
    raw = session.connection().connection.driver_connection
    assert raw is not None
    with (
        raw.cursor() as cursor,
        cursor.copy(
            "COPY wards (ward_set_id, code, name, borough_code, borough_name, geom) FROM STDIN"
        ) as copy,
    ):
        for code, ward_name, borough_code, borough_name, geom in rows:
            copy.write_row((set_id, code, ward_name, borough_code, borough_name, geom))

    session.execute(
        text(
            "INSERT INTO ward_parts (ward_id, ward_set_id, geom) "
            "SELECT id, ward_set_id, ST_Subdivide(geom, :vertices) "
            "FROM wards WHERE ward_set_id = :set_id"
        ),
        {"set_id": set_id, "vertices": SUBDIVIDE_VERTICES},
    )
    return int(set_id)


def check_ward_set(session: Session, set_id: int) -> WardSetCheck:
    """Check a loaded set in PostGIS before it may be activated."""
    counts = session.execute(
        text(
            "SELECT count(*) AS wards, "
            "       count(*) FILTER (WHERE NOT ST_IsValid(geom)) AS invalid, "
            "       count(*) FILTER (WHERE ST_IsEmpty(geom)) AS empty, "
            "       (SELECT count(*) FROM ward_parts WHERE ward_set_id = :id) AS parts "
            "FROM wards WHERE ward_set_id = :id"
        ),
        {"id": set_id},
    ).one()
    problems = []
    if counts.wards == 0:
        problems.append("the set has no wards")
    if counts.invalid:
        problems.append(f"{counts.invalid} ward polygons are invalid in PostGIS")
    if counts.empty:
        problems.append(f"{counts.empty} ward polygons are empty")
    overlaps = session.execute(
        text(
            "SELECT a.code, b.code AS other, "
            "       ST_Area(ST_Intersection(ST_Transform(a.geom, 27700), "
            "                               ST_Transform(b.geom, 27700))) AS m2 "
            "FROM wards a JOIN wards b "
            "  ON a.ward_set_id = b.ward_set_id AND a.id < b.id "
            " AND ST_Intersects(a.geom, b.geom) AND NOT ST_Touches(a.geom, b.geom) "
            "WHERE a.ward_set_id = :id"
        ),
        {"id": set_id},
    ).all()
    warnings = tuple(
        f"wards {row.code} and {row.other} overlap by {row.m2:.0f} m²"
        for row in overlaps
        if row.m2 > OVERLAP_TOLERANCE_M2
    )
    return WardSetCheck(
        wards=counts.wards, parts=counts.parts, problems=tuple(problems), warnings=warnings
    )


def _set_id(session: Session, name: str) -> int:
    found = session.execute(
        text("SELECT id FROM ward_sets WHERE name = :name"), {"name": name}
    ).scalar_one_or_none()
    if found is None:
        raise _no_such_set(session, name)
    return int(found)


def _no_such_set(session: Session, name: str) -> NotFound:
    known = ", ".join(s.name for s in list_ward_sets(session)) or "none loaded"
    return NotFound(f"no ward set named {name!r} (known: {known}); see `walktalk wards list`")


def activate_ward_set(
    session: Session,
    name: str,
    *,
    tables: Sequence[WardAssignedTable] = WARD_ASSIGNED_TABLES,
) -> dict[str, int]:
    """Make ``name`` the active set and re-derive every stored ward and borough code from it.

    Rows of ``tables`` are re-assigned to the ward their point lies in, with its borough; then
    every code that follows from a ward code (see ``AREA_CODED_TABLES``) and walks' route wards
    are re-derived. A code changes when the new set says otherwise, even when the ward code stays
    the same: a set that fixes only the boroughs must move rows to them.

    Returns the number of rows changed per table: every table of ``tables``, and the other
    tables where rows changed. All of it happens in the caller's transaction, so lookups never
    see a half-switched service area.
    """
    set_id = _set_id(session, name)
    check = check_ward_set(session, set_id)
    if check.problems:
        raise InvalidInput(f"ward set {name!r} cannot be activated: " + "; ".join(check.problems))
    session.execute(text("UPDATE ward_sets SET is_active = false WHERE is_active"))
    session.execute(
        text("UPDATE ward_sets SET is_active = true, activated_at = now() WHERE id = :id"),
        {"id": set_id},
    )
    changed = {entry.table: assign_wards(session, entry, set_id=set_id) for entry in tables}
    for table, count in rederive_area_codes(session, set_id=set_id).items():
        if count:
            changed[table] = changed.get(table, 0) + count
    return changed


def rederive_area_codes(session: Session, *, set_id: int) -> dict[str, int]:
    """Re-derive, from set ``set_id``, every code that follows from a stored ward code.

    Rows naming a ward the set lacks keep their codes: the ward was chosen by a person, and
    only they can say which ward of the new set is meant. Returns rows changed per table.
    """
    changed: dict[str, int] = {}

    def count(table: str, result: object) -> None:
        changed[table] = changed.get(table, 0) + int(result.rowcount)  # type: ignore[attr-defined]

    quote = session.get_bind().dialect.identifier_preparer.quote
    for entry in WARD_CODED_TABLES:
        table, borough = quote(entry.table), quote(entry.borough_column)
        count(
            entry.table,
            session.execute(
                text(
                    f"UPDATE {table} AS t SET {borough} = w.borough_code FROM wards w "
                    f"WHERE w.ward_set_id = :id AND w.code = {entry.ward_sql} "
                    f"AND t.{borough} IS DISTINCT FROM w.borough_code"
                ),
                {"id": set_id},
            ),
        )
    # After walks: these copy their walk's borough.
    for name in WALK_BOROUGH_TABLES:
        count(
            name,
            session.execute(
                text(
                    f"UPDATE {quote(name)} AS t SET borough_code = k.borough_code FROM walks k "
                    "WHERE k.id = t.walk_id AND t.borough_code IS DISTINCT FROM k.borough_code"
                )
            ),
        )
    for name, which in WARD_LIST_TABLES.items():
        # Sorted bytewise, as Python's sorted() made them; only when every ward is in the set.
        count(
            name,
            session.execute(
                text(
                    f"UPDATE {quote(name)} AS t SET borough_codes = d.codes FROM ("
                    '  SELECT o.id, array_agg(DISTINCT w.borough_code COLLATE "C" '
                    '    ORDER BY w.borough_code COLLATE "C") AS codes '
                    f"  FROM {quote(name)} o JOIN wards w "
                    "    ON w.ward_set_id = :id AND w.code = ANY(o.ward_codes) "
                    f"  WHERE {which} GROUP BY o.id "
                    "  HAVING count(DISTINCT w.code) = "
                    "    (SELECT count(DISTINCT c) FROM unnest(o.ward_codes) c)) d "
                    "WHERE d.id = t.id AND t.borough_codes IS DISTINCT FROM d.codes"
                ),
                {"id": set_id},
            ),
        )
    # The wards a walk's route crosses, as store_route lists them. A route removed under the
    # retention rule leaves its trimmed copy, the best geometry left to place it with.
    count(
        "walks",
        session.execute(
            text(
                "UPDATE walks AS t SET route_wards = r.codes FROM ("
                "  SELECT k.id, coalesce(array_agg(DISTINCT w.code ORDER BY w.code) "
                "    FILTER (WHERE w.code IS NOT NULL), '{}') AS codes "
                "  FROM walks k "
                "  LEFT JOIN ward_parts p ON p.ward_set_id = :id "
                "    AND ST_Intersects(p.geom, coalesce(k.route, k.route_trimmed)) "
                "  LEFT JOIN wards w ON w.id = p.ward_id "
                "  WHERE coalesce(k.route, k.route_trimmed) IS NOT NULL GROUP BY k.id) r "
                "WHERE r.id = t.id AND t.route_wards IS DISTINCT FROM r.codes"
            ),
            {"id": set_id},
        ),
    )
    return changed


def delete_ward_set(session: Session, name: str) -> int:
    """Delete an inactive ward set with its wards and lookup pieces; return the wards deleted.

    Refuses the active set (lookups would find no wards) and a set that rows of another table
    still point to (a foreign key to ``ward_sets`` or ``wards``), naming them and what to do.
    The set's row is locked first, so nobody can activate it while it is being deleted.
    """
    row = session.execute(
        text("SELECT id, is_active FROM ward_sets WHERE name = :name FOR UPDATE"),
        {"name": name},
    ).first()
    if row is None:
        raise _no_such_set(session, name)
    if row.is_active:
        raise Conflict(
            f"ward set {name!r} is the active set and cannot be deleted: activate another "
            "first (`walktalk wards activate NAME`; `walktalk wards list` shows them), then "
            "delete this one"
        )
    users = _ward_set_references(session, int(row.id))
    if users:
        raise Conflict(
            f"ward set {name!r} is still referenced by "
            + ", ".join(f"{n} rows of {where}" for where, n in users.items())
            + ": delete those rows or point them at another set, then delete it"
        )
    deleted = session.execute(
        text("DELETE FROM wards WHERE ward_set_id = :id"), {"id": row.id}
    ).rowcount  # type: ignore[attr-defined]
    # Its ward_parts go with the wards and the set (ON DELETE CASCADE).
    session.execute(text("DELETE FROM ward_sets WHERE id = :id"), {"id": row.id})
    return int(deleted)


def _ward_set_references(session: Session, set_id: int) -> dict[str, int]:
    """Rows of other tables whose foreign keys point at set ``set_id`` or its wards.

    Read from the catalogue, so a table added later that points at a set is counted too.
    """
    keys = session.execute(
        text(
            "SELECT c.conrelid::regclass::text AS tbl, a.attname AS col, "
            "       c.confrelid = 'ward_sets'::regclass AS to_set "
            "FROM pg_constraint c "
            "JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1] "
            "WHERE c.contype = 'f' AND cardinality(c.conkey) = 1 "
            "  AND c.confrelid IN ('ward_sets'::regclass, 'wards'::regclass) "
            "  AND c.conrelid NOT IN ('wards'::regclass, 'ward_parts'::regclass) "
            "ORDER BY 1, 2"
        )
    ).all()
    quote = session.get_bind().dialect.identifier_preparer.quote
    found: dict[str, int] = {}
    for key in keys:
        # regclass text is already quoted where a name needs it.
        target = ":id" if key.to_set else "ANY(ARRAY(SELECT id FROM wards WHERE ward_set_id = :id))"
        count = session.execute(
            text(f"SELECT count(*) FROM {key.tbl} WHERE {quote(key.col)} = {target}"),
            {"id": set_id},
        ).scalar_one()
        if count:
            found[f"{key.tbl}.{key.col}"] = int(count)
    return found


# Planner settings for joining a few thousand ward pieces to many points (measured in
# bench/ward_lookup.py): the pieces are too few for the planner to split them over parallel
# workers by default, and JIT compilation costs more than it saves on this plan.
_POLYGON_JOIN_SETTINGS = {
    "jit": "off",
    "parallel_setup_cost": "0",
    "parallel_tuple_cost": "0",
    "min_parallel_table_scan_size": "0",
    "work_mem": "256MB",
}


@contextmanager
def _polygon_join_plan(session: Session) -> Iterator[None]:
    names = list(_POLYGON_JOIN_SETTINGS)
    before = {
        name: session.execute(text("SELECT current_setting(:n)"), {"n": name}).scalar_one()
        for name in names
    }
    for name, value in _POLYGON_JOIN_SETTINGS.items():
        session.execute(text("SELECT set_config(:n, :v, true)"), {"n": name, "v": value})
    try:
        yield
    finally:
        for name in names:
            session.execute(text("SELECT set_config(:n, :v, true)"), {"n": name, "v": before[name]})


def compute_ward_hits(
    session: Session, entry: WardAssignedTable, *, set_id: int, into: str = "ward_hits"
) -> int:
    """Work out, in PostGIS, the ward of every row of ``entry``'s table; return rows placed.

    The result goes to a temporary table ``into`` (``key``, ``code``, ``borough_code``) that the
    caller drops.
    The ward pieces drive the join: each piece probes the points' GiST index and is tested
    against the points inside its box one after another, so PostGIS reuses its prepared
    geometry instead of rebuilding it per point (about 10x faster than a lookup per point). A
    point on a shared boundary gets the lowest code, as ``lookup_ward`` gives it.
    """
    quote = session.get_bind().dialect.identifier_preparer.quote
    table, geom = quote(entry.table), quote(entry.geom_column)
    key, target = quote(entry.key_column), quote(into)
    with _polygon_join_plan(session):
        result = session.execute(
            text(
                f"CREATE TEMP TABLE {target} AS "
                "SELECT h.key, h.code, w.borough_code FROM ("
                f" SELECT t.{key} AS key, min(w.code) AS code "
                " FROM ward_parts p JOIN wards w ON w.id = p.ward_id "
                f" JOIN {table} t ON ST_Intersects(p.geom, t.{geom}) "
                f" WHERE p.ward_set_id = :id GROUP BY t.{key}) h "
                "JOIN wards w ON w.ward_set_id = :id AND w.code = h.code"
            ),
            {"id": set_id},
        )
    return int(result.rowcount)  # type: ignore[attr-defined]


def assign_wards(session: Session, entry: WardAssignedTable, *, set_id: int) -> int:
    """Store the ward and borough of every row of ``entry``'s table; return how many changed.

    Only rows whose ward or borough changes are written (rewriting a row also rewrites its
    index entries, the slow part); rows outside every ward get no ward and no borough. The
    borough is compared too: a set may keep a ward's code and correct its borough.
    """
    quote = session.get_bind().dialect.identifier_preparer.quote
    table, ward, key = quote(entry.table), quote(entry.ward_column), quote(entry.key_column)
    clear, place = f"{ward} = NULL", f"{ward} = h.code"
    stale, placed_stale = f"t.{ward} IS NOT NULL", f"t.{ward} IS DISTINCT FROM h.code"
    if entry.borough_column:
        borough = quote(entry.borough_column)
        clear += f", {borough} = NULL"
        place += f", {borough} = h.borough_code"
        stale += f" OR t.{borough} IS NOT NULL"
        placed_stale += f" OR t.{borough} IS DISTINCT FROM h.borough_code"
    compute_ward_hits(session, entry, set_id=set_id, into="ward_hits")
    # Index and analyse the hits, so neither UPDATE can fall back to scanning them per row:
    # statistics of the table taken before an earlier assignment in the same transaction (or
    # before autovacuum caught up) say "no row has a ward", and the planner then picked a
    # nested-loop anti-join over unindexed hits (200k points: 35 s instead of 1 s; 1M: hours).
    session.execute(text("CREATE INDEX ON ward_hits (key)"))
    session.execute(text("ANALYZE ward_hits"))
    cleared = session.execute(
        text(
            f"UPDATE {table} AS t SET {clear} WHERE ({stale}) "
            f"AND NOT EXISTS (SELECT FROM ward_hits h WHERE h.key = t.{key})"
        )
    )
    placed = session.execute(
        text(
            f"UPDATE {table} AS t SET {place} FROM ward_hits h "
            f"WHERE h.key = t.{key} AND ({placed_stale})"
        )
    )
    session.execute(text("DROP TABLE ward_hits"))
    return int(cleared.rowcount) + int(placed.rowcount)  # type: ignore[attr-defined]


def list_ward_sets(session: Session) -> list[WardSetSummary]:
    """Every stored ward set, newest first."""
    return _ward_sets(session, active_only=False)


def _ward_sets(session: Session, *, active_only: bool) -> list[WardSetSummary]:
    rows = session.execute(
        text(
            "SELECT s.id, s.name, s.is_active, s.loaded_at, s.activated_at, s.source, "
            "       s.attribution, count(w.id) AS wards, "
            "       count(DISTINCT w.borough_code) AS boroughs "
            "FROM ward_sets s LEFT JOIN wards w ON w.ward_set_id = s.id "
            # A condition the planner sees (not a parameter), so it counts one set's wards.
            + ("WHERE s.is_active " if active_only else "")
            + "GROUP BY s.id ORDER BY s.loaded_at DESC, s.id DESC"
        )
    ).all()
    return [
        WardSetSummary(
            id=r.id,
            name=r.name,
            wards=r.wards,
            boroughs=r.boroughs,
            is_active=r.is_active,
            loaded_at=r.loaded_at,
            activated_at=r.activated_at,
            source=r.source,
            attribution=r.attribution,
        )
        for r in rows
    ]


def active_ward_set(session: Session) -> WardSetSummary | None:
    """The set lookups use now, or None before any set is activated."""
    # Only the active set's wards are counted: every map and aggregate route asks for it.
    return next(iter(_ward_sets(session, active_only=True)), None)


def _no_active_ward_set() -> NotFound:
    return NotFound(
        "no ward set is active yet: load the bundled wards with `walktalk wards bundled` "
        "or `walktalk wards load FILE --activate`"
    )


def require_active_ward_set(session: Session) -> WardSetSummary:
    """The active set, or a clear error naming the command that activates one."""
    active = active_ward_set(session)
    if active is None:
        raise _no_active_ward_set()
    return active


def lookup_ward(session: Session, lon: float, lat: float) -> WardHit:
    """The active-set ward containing (lon, lat); points on a shared edge get the lower code.

    One statement: the public report form and ``/wards/lookup`` ask it for every point.
    """
    row = session.execute(
        text(
            "SELECT s.name AS ward_set, hit.code, hit.name, hit.borough_code, hit.borough_name "
            "FROM ward_sets s LEFT JOIN LATERAL ("
            "  SELECT w.code, w.name, w.borough_code, w.borough_name "
            "  FROM ward_parts p JOIN wards w ON w.id = p.ward_id "
            "  WHERE p.ward_set_id = s.id "
            "    AND ST_Intersects(p.geom, ST_SetSRID(ST_MakePoint(:lon, :lat), 4326)) "
            "  ORDER BY w.code LIMIT 1"
            ") hit ON true "
            "WHERE s.is_active"
        ),
        {"lon": lon, "lat": lat},
    ).first()
    if row is None:
        raise _no_active_ward_set()
    if row.code is None:
        raise OutsideServiceArea(
            f"the point lon={lon}, lat={lat} is outside every ward of the active ward set "
            f"{row.ward_set!r}: this service covers only those wards (see GET /wards)"
        )
    return WardHit(
        code=row.code,
        name=row.name,
        borough_code=row.borough_code,
        borough_name=row.borough_name,
        ward_set=row.ward_set,
    )


def _geometry_sql(simplify_m: float | None) -> str:
    # RFC 7946 wants exterior rings counter-clockwise; simplification is done in metres (BNG).
    geom = "geom"
    if simplify_m:
        geom = (
            "ST_Transform(ST_SimplifyPreserveTopology(ST_Transform(geom, 27700), "
            "CAST(:simplify AS float8)), 4326)"
        )
    return f"ST_AsGeoJSON(ST_ForcePolygonCCW({geom}), 6)::json"


def _borough_filter(borough: str | None) -> str:
    return (
        "AND (borough_code = :borough OR lower(borough_name) = lower(:borough))" if borough else ""
    )


def _checked_borough(session: Session, active: WardSetSummary, borough: str | None) -> str | None:
    """Return ``borough`` stripped, or refuse a blank one or one the active set lacks.

    Both refusals list the boroughs there are, so the caller can pick one.
    """
    if borough is None:
        return None
    wanted = borough.strip()
    if (
        wanted
        and session.execute(
            text(
                "SELECT 1 FROM wards WHERE ward_set_id = :set_id "
                + _borough_filter(wanted)
                + " LIMIT 1"
            ),
            {"set_id": active.id, "borough": wanted},
        ).first()
    ):
        return wanted
    boroughs = ", ".join(
        session.execute(
            text(
                "SELECT DISTINCT borough_code || ' (' || borough_name || ')' FROM wards "
                "WHERE ward_set_id = :set_id ORDER BY 1"
            ),
            {"set_id": active.id},
        ).scalars()
    )
    if not wanted:
        raise InvalidInput(
            f"borough is empty: give a code or name from {boroughs}, or leave borough out "
            "for every ward"
        )
    raise NotFound(
        f"no borough {borough!r} in the active ward set {active.name!r}; "
        f"use a code or name from: {boroughs}"
    )


def wards_geojson(
    session: Session, *, borough: str | None = None, simplify_m: float | None = None
) -> str:
    """The active wards as an RFC 7946 FeatureCollection, serialised by PostGIS.

    Raises InvalidInput for a blank ``borough`` and NotFound for one the active set lacks.
    """
    active = require_active_ward_set(session)
    borough = _checked_borough(session, active, borough)
    return str(
        session.execute(
            text(
                "SELECT json_build_object('type', 'FeatureCollection', "
                "  'features', coalesce(json_agg(f.feature ORDER BY f.code), '[]'::json))::text "
                "FROM (SELECT code, json_build_object('type', 'Feature', 'id', code, "
                f"  'geometry', {_geometry_sql(simplify_m)}, "
                "  'properties', json_build_object('code', code, 'name', name, "
                "    'borough_code', borough_code, 'borough_name', borough_name, "
                "    'ward_set', CAST(:set_name AS text))) AS feature "
                "  FROM wards WHERE ward_set_id = :set_id " + _borough_filter(borough) + ") f"
            ),
            {
                "set_id": active.id,
                "set_name": active.name,
                "borough": borough,
                "simplify": simplify_m,
            },
        ).scalar_one()
    )


def ward_geojson(session: Session, code: str) -> str:
    """One active ward as a GeoJSON Feature."""
    active = require_active_ward_set(session)
    feature = session.execute(
        text(
            "SELECT json_build_object('type', 'Feature', 'id', code, "
            f"  'geometry', {_geometry_sql(None)}, "
            "  'properties', json_build_object('code', code, 'name', name, "
            "    'borough_code', borough_code, 'borough_name', borough_name, "
            "    'ward_set', CAST(:set_name AS text), "
            "    'area_ha', "
            "    round((ST_Area(ST_Transform(geom, 27700)) / 10000)::numeric, 2)))::text "
            "FROM wards WHERE ward_set_id = :set_id AND code = :code"
        ),
        {"set_id": active.id, "set_name": active.name, "code": code},
    ).scalar_one_or_none()
    if feature is None:
        raise NotFound(
            f"no ward {code!r} in the active ward set {active.name!r}; ward codes look like "
            "E05014118 (see GET /wards)"
        )
    return str(feature)


def wards_frame(
    session: Session, *, borough: str | None = None, simplify_m: float | None = None
) -> tuple[WardSetSummary, gpd.GeoDataFrame]:
    """The active wards as a GeoDataFrame in EPSG:4326 for the map renderers.

    Raises InvalidInput for a blank ``borough`` and NotFound for one the active set lacks.
    """
    active = require_active_ward_set(session)
    borough = _checked_borough(session, active, borough)
    geom = "geom"
    if simplify_m:
        geom = (
            "ST_Transform(ST_SimplifyPreserveTopology(ST_Transform(geom, 27700), "
            "%(simplify)s), 4326)"
        )
    query = (
        f"SELECT code, name, borough_code, borough_name, {geom} AS geometry FROM wards "
        "WHERE ward_set_id = %(set_id)s "
        + (
            "AND (borough_code = %(borough)s OR lower(borough_name) = lower(%(borough)s)) "
            if borough
            else ""
        )
        + "ORDER BY code"
    )
    frame = gpd.read_postgis(
        query,
        session.connection(),
        geom_col="geometry",
        params={"set_id": active.id, "borough": borough, "simplify": simplify_m},
    )
    # read_postgis finds the SRID in the rows: with none, the frame would have no CRS at all.
    return active, frame if frame.crs is not None else frame.set_crs(4326)


def load_boroughs(session: Session, boroughs: gpd.GeoDataFrame, *, attribution: str) -> int:
    """Insert or replace borough polygons (``code, name, geometry`` in EPSG:4326)."""
    for code, name, geom in zip(
        boroughs["code"], boroughs["name"], _hex_ewkb(boroughs.geometry), strict=True
    ):
        session.execute(
            text(
                "INSERT INTO boroughs (code, name, attribution, geom) "
                "VALUES (:code, :name, :attribution, ST_GeomFromEWKB(decode(:geom, 'hex'))) "
                "ON CONFLICT (code) DO UPDATE SET name = excluded.name, "
                "  attribution = excluded.attribution, geom = excluded.geom"
            ),
            {"code": code, "name": name, "attribution": attribution, "geom": geom},
        )
    return len(boroughs)


def borough_codes(session: Session) -> dict[str, str]:
    """Known borough codes and names (from the boroughs table and every ward set)."""
    rows = session.execute(
        text(
            "SELECT code, name FROM boroughs "
            "UNION SELECT DISTINCT borough_code, borough_name FROM wards WHERE borough_code <> ''"
        )
    ).all()
    return {r.code: r.name for r in rows}


def active_borough_names(session: Session) -> dict[str, str]:
    """The boroughs of the active ward set, code to name, in name order (for choosing one)."""
    active = require_active_ward_set(session)
    rows = session.execute(
        text(
            "SELECT DISTINCT borough_code AS code, borough_name AS name FROM wards "
            "WHERE ward_set_id = :id AND borough_code <> '' ORDER BY 2, 1"
        ),
        {"id": active.id},
    ).all()
    return {r.code: r.name for r in rows}


def load_pilot(session: Session) -> None:
    """The bundled London boroughs and pilot wards, the pilot made the active set.

    What tests and benchmarks start from; ``walktalk wards bundled`` does the same for a user,
    with all London's wards as well.
    """
    load_boroughs(session, read_boroughs(LONDON_BOROUGHS_PATH), attribution=BOROUGHS_ATTRIBUTION)
    load_ward_set(
        session,
        read_wards(PILOT_WARDS.path).wards,
        name=PILOT_WARDS.name,
        source=str(PILOT_WARDS.path),
        attribution=PILOT_WARDS.attribution,
    )
    activate_ward_set(session, PILOT_WARDS.name)
