"""Requests to partners: a point or a street stretch, its council and team, and its life.

A request is placed in a ward as a report is (its point, or its stretch's middle) and
addressed to a council (``partner_borough``) and team. Its status moves forward only --
proposed, sent, accepted, in a bid, funded, installed -- or to declined from any open state;
every change is an event (who, role, when, note). It stands on reports and walk concerns
(``partner_request_backing``): given ones, and those within 50 m.

Functions take plain values; who may see or change which request is decided by
``service.policy`` (the :class:`RequestScope` it hands in limits the lists).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from geo.reports import RowProblem
from geo.requests_file import KINDS, STATUSES, RequestRow, read_requests
from service.errors import Conflict, InvalidInput, NotFound, OutsideServiceArea
from service.pseudonyms import new_code
from service.queries.imports import file_sha256
from service.queries.wards import lookup_ward, require_active_ward_set

__all__ = [
    "KINDS",
    "STATUSES",
    "RequestScope",
    "allowed_next",
    "change_status",
    "create_request",
    "get_request",
    "import_requests",
]

KIND_LABELS = {
    "lighting": "Street lighting",
    "cctv": "CCTV",
    "vegetation": "Vegetation",
    "other": "Other",
}
STATUS_LABELS = {
    "proposed": "Proposed",
    "sent": "Sent",
    "accepted": "Accepted",
    "in_bid": "In a bid",
    "funded": "Funded",
    "installed": "Installed",
    "declined": "Declined",
}
#: The forward path; a request may move to any later step (a council may accept and install
#: without a bid), or be declined while open. Installed and declined are final.
PATH = ("proposed", "sent", "accepted", "in_bid", "funded", "installed")
FINAL = ("installed", "declined")
BACKING_WITHIN_M = 50.0
STRETCH_LIMIT_M = 500.0
#: How far a request raised from a walk stays from the route's hidden ends (see create_request).
ROUTE_END_MARGIN_M = 50.0
#: Concern categories that say which kind of fix a concern asks for.
KIND_OF_CATEGORY = {
    "poor_lighting": "lighting",
    "no_cctv": "cctv",
    "hidden_corners": "vegetation",
}


@dataclass(frozen=True)
class RequestScope:
    """Which requests a caller's lists hold (decided by ``service.policy.request_scope``).

    ``wards``: requests in these wards or raised from walks of these wards (officers);
    ``boroughs``: requests in these boroughs (supervisors, planners); ``partner_boroughs``:
    requests addressed to these councils (partners). A None part adds nothing.
    """

    wards: tuple[str, ...] | None = None
    boroughs: tuple[str, ...] | None = None
    partner_boroughs: tuple[str, ...] | None = None


@dataclass(frozen=True)
class RequestPlace:
    """Where a request belongs: what access decisions need to know of it."""

    ward_code: str | None
    borough_code: str | None
    partner_borough: str
    walk_ward_code: str | None


@dataclass(frozen=True)
class Filters:
    """A list's filters; None means any."""

    kind: str | None = None
    status: str | None = None
    borough: str | None = None
    ward: str | None = None
    bid_reference: str | None = None
    walk_id: uuid.UUID | None = None


def allowed_next(status: str) -> tuple[str, ...]:
    """The statuses a request in ``status`` may move to.

    >>> allowed_next("sent")
    ('accepted', 'in_bid', 'funded', 'installed', 'declined')
    >>> allowed_next("installed")
    ()
    """
    if status in FINAL:
        return ()
    return (*PATH[PATH.index(status) + 1 :], "declined")


def councils(session: Session) -> dict[str, str]:
    """The active ward set's boroughs, code to name: the councils a request may address."""
    active = require_active_ward_set(session)
    rows = session.execute(
        text(
            "SELECT DISTINCT borough_code, coalesce(borough_name, borough_code) AS name "
            "FROM wards WHERE ward_set_id = :id ORDER BY name"
        ),
        {"id": active.id},
    ).all()
    return {r.borough_code: r.name for r in rows}


def ward_codes_of(session: Session, boroughs: Sequence[str]) -> list[str]:
    """The active ward set's ward codes in these boroughs (to draw them on a map)."""
    active = require_active_ward_set(session)
    return list(
        session.execute(
            text(
                "SELECT code FROM wards WHERE ward_set_id = :id AND borough_code = ANY(:b) "
                "ORDER BY code"
            ),
            {"id": active.id, "b": list(boroughs)},
        ).scalars()
    )


def council_code(session: Session, given: str) -> str | None:
    """A council's borough code from its code or name (any case), or None if unknown."""
    wanted = given.strip().lower()
    for code, name in councils(session).items():
        if wanted in (code.lower(), name.lower(), f"{name.lower()} council"):
            return code
    return None


def _new_reference(session: Session) -> str:
    while True:
        reference = new_code("RQ-")
        taken = session.execute(
            text("SELECT 1 FROM partner_requests WHERE reference = :r"), {"r": reference}
        ).first()
        if not taken:
            return reference


def place_of(
    session: Session, points: Sequence[tuple[float, float]]
) -> tuple[str, str | None, str, str]:
    """The point's or stretch's middle's WKT, the stretch's WKT, and its ward and borough.

    Raises
    ------
    InvalidInput
        A stretch longer than 500 m.
    OutsideServiceArea
        The place is outside every ward of the active set.

    """
    if len(points) > 1:
        line = "LINESTRING(" + ", ".join(f"{x!r} {y!r}" for x, y in points) + ")"
        middle, length = session.execute(
            text(
                "SELECT ST_AsText(ST_LineInterpolatePoint(g, 0.5)), "
                "ST_Length(g::geography) FROM (SELECT ST_GeomFromText(:w, 4326) AS g) s"
            ),
            {"w": line},
        ).one()
        if length > STRETCH_LIMIT_M:
            raise InvalidInput(
                f"the stretch is {length:,.0f} m long: a request covers at most "
                f"{STRETCH_LIMIT_M:.0f} m of street; split it into shorter stretches"
            )
        lon, lat = (float(v) for v in middle[6:-1].split())
    else:
        (lon, lat), line = points[0], None
    ward = lookup_ward(session, lon, lat)
    return f"POINT({lon!r} {lat!r})", line, ward.code, ward.borough_code


def create_request(
    session: Session,
    *,
    kind: str,
    title: str,
    points: Sequence[tuple[float, float]],
    partner_borough: str,
    partner_team: str,
    raised_by: str,
    raised_role: str,
    note: str | None = None,
    walk_id: uuid.UUID | None = None,
    backing: Sequence[uuid.UUID] = (),
    import_id: int | None = None,
    status: str = "proposed",
    bid_reference: str | None = None,
    installed_on: date | None = None,
    decline_reason: str | None = None,
    outcome: str | None = None,
    synthetic: bool = False,
) -> tuple[uuid.UUID, str]:
    """Store a request with its first event and its backing; return its id and reference.

    It stands on the ``backing`` reports given (e.g. the walk concern it was raised from) and
    on the published reports and walk concerns within 50 m of its place.
    """
    if kind not in KINDS:
        raise InvalidInput(f"kind {kind!r} is not one of {', '.join(KINDS)}")
    point, line, ward_code, borough_code = place_of(session, points)
    if walk_id is not None:
        _away_from_route_ends(session, walk_id, line or point)
    reference = _new_reference(session)
    request_id = session.execute(
        text(
            "INSERT INTO partner_requests (reference, kind, title, geom, line, ward_code, "
            "borough_code, partner_borough, partner_team, status, decline_reason, "
            "bid_reference, installed_on, outcome, raised_by, raised_role, walk_id, import_id, "
            "synthetic) VALUES (:ref, :kind, :title, ST_GeomFromText(:point, 4326), "
            "ST_GeomFromText(:line, 4326), :ward, :borough, :partner, :team, :status, "
            ":decline, :bid, :installed, :outcome, :by, :role, :walk, :import, :synthetic) "
            "RETURNING id"
        ),
        {
            "ref": reference,
            "kind": kind,
            "title": title,
            "point": point,
            "line": line,
            "ward": ward_code,
            "borough": borough_code,
            "partner": partner_borough,
            "team": partner_team,
            "status": status,
            "decline": decline_reason,
            "bid": bid_reference,
            "installed": installed_on,
            "outcome": outcome,
            "by": raised_by,
            "role": raised_role,
            "walk": walk_id,
            "import": import_id,
            "synthetic": synthetic,
        },
    ).scalar_one()
    _event(session, request_id, status, note or "Raised", raised_by, raised_role)
    link_backing(session, request_id, backing)
    return request_id, reference


def _away_from_route_ends(session: Session, walk_id: uuid.UUID, place_wkt: str) -> None:
    """Refuse a place near the hidden ends of the walk a request is raised from.

    The council sees a request's place; the first and last few hundred metres of a buddy's
    route (what the trimmed route leaves out, all of it when nothing is left) are known only
    to her ward's officers, and may show where she lives or works.
    """
    near = session.execute(
        text(
            "SELECT ST_DWithin(ST_Transform(ST_GeomFromText(:place, 4326), 27700), "
            "  ST_Transform(CASE WHEN w.route_trimmed IS NULL THEN w.route "
            "    ELSE ST_Difference(w.route, ST_Buffer(w.route_trimmed::geography, 1)::geometry) "
            "  END, 27700), :margin) "
            "FROM walks w WHERE w.id = :walk AND w.route IS NOT NULL"
        ),
        {"place": place_wkt, "walk": walk_id, "margin": ROUTE_END_MARGIN_M},
    ).scalar_one_or_none()
    if near:
        raise InvalidInput(
            "that place is near where the walk starts or ends, which only its ward's officers "
            "may know, and the council would see it: tap a public place (a junction, a "
            f"station) at least {ROUTE_END_MARGIN_M:.0f} m from the walk's first and last few "
            "hundred metres"
        )


def link_backing(
    session: Session, request_id: uuid.UUID, report_ids: Sequence[uuid.UUID] = ()
) -> int:
    """Link the given reports, and published reports and walk concerns within 50 m.

    Returns how many reports the request stands on now.
    """
    if report_ids:
        session.execute(
            text(
                "INSERT INTO partner_request_backing (request_id, report_id) "
                "SELECT :id, r.id FROM reports r WHERE r.id = ANY(:ids) ON CONFLICT DO NOTHING"
            ),
            {"id": request_id, "ids": list(report_ids)},
        )
    session.execute(
        text(
            "INSERT INTO partner_request_backing (request_id, report_id) "
            "SELECT q.id, r.id FROM partner_requests q JOIN reports r ON "
            "  ST_DWithin(coalesce(q.line, q.geom)::geography, r.geom::geography, :d) "
            "WHERE q.id = :id AND (r.status = 'published' OR r.walk_id IS NOT NULL) "
            "ON CONFLICT DO NOTHING"
        ),
        {"id": request_id, "d": BACKING_WITHIN_M},
    )
    return int(
        session.execute(
            text("SELECT count(*) FROM partner_request_backing WHERE request_id = :id"),
            {"id": request_id},
        ).scalar_one()
    )


def _event(
    session: Session, request_id: uuid.UUID, status: str, note: str | None, by: str, role: str
) -> None:
    session.execute(
        text(
            "INSERT INTO partner_request_events (request_id, status, note, changed_by, "
            "changed_role) VALUES (:id, :status, :note, :by, :role)"
        ),
        {"id": request_id, "status": status, "note": note, "by": by, "role": role},
    )


_COLUMNS = (
    "q.id, q.reference, q.kind, q.title, q.ward_code, q.borough_code, q.partner_borough, "
    "q.partner_team, q.status, q.status_at, q.decline_reason, q.bid_reference, q.installed_on, "
    "q.outcome, q.raised_by, q.raised_role, q.raised_at, q.walk_id, q.synthetic, "
    "ST_X(q.geom) AS lon, ST_Y(q.geom) AS lat, ST_AsGeoJSON(q.line, 7) AS line, "
    "wk.ward_code AS walk_ward_code, coalesce(w.name, q.ward_code) AS ward_name, "
    "(SELECT count(*) FROM partner_request_backing b WHERE b.request_id = q.id) AS backing"
)
_FROM = (
    "FROM partner_requests q LEFT JOIN walks wk ON wk.id = q.walk_id "
    "LEFT JOIN wards w ON w.code = q.ward_code "
    "  AND w.ward_set_id = (SELECT id FROM ward_sets WHERE is_active) "
)


def place(session: Session, request_id: uuid.UUID) -> RequestPlace:
    """Where a request belongs, for the access decision; NotFound when there is none."""
    row = session.execute(
        text(
            "SELECT q.ward_code, q.borough_code, q.partner_borough, wk.ward_code AS walk_ward "
            "FROM partner_requests q LEFT JOIN walks wk ON wk.id = q.walk_id WHERE q.id = :id"
        ),
        {"id": request_id},
    ).first()
    if row is None:
        raise NotFound(f"no request {request_id}")
    return RequestPlace(row.ward_code, row.borough_code, row.partner_borough, row.walk_ward)


def get_request(session: Session, request_id: uuid.UUID) -> dict[str, Any]:
    """A request with its events (oldest first)."""
    row = session.execute(text(f"SELECT {_COLUMNS} {_FROM} WHERE q.id = :id"), {"id": request_id})
    found = row.mappings().first()
    if found is None:
        raise NotFound(f"no request {request_id}")
    events = session.execute(
        text(
            "SELECT status, note, changed_by, changed_role, changed_at "
            "FROM partner_request_events WHERE request_id = :id ORDER BY changed_at, id"
        ),
        {"id": request_id},
    ).mappings()
    return {**found, "events": [dict(e) for e in events]}


def list_requests(session: Session, scope: RequestScope, filters: Filters) -> list[dict[str, Any]]:
    """The requests in ``scope`` matching ``filters``, newest first."""
    parts: list[str] = []
    params: dict[str, Any] = {}
    if scope.wards is not None:
        parts.append("q.ward_code = ANY(:wards) OR wk.ward_code = ANY(:wards)")
        params["wards"] = list(scope.wards)
    if scope.boroughs is not None:
        parts.append("q.borough_code = ANY(:boroughs)")
        params["boroughs"] = list(scope.boroughs)
    if scope.partner_boroughs is not None:
        parts.append("q.partner_borough = ANY(:partners)")
        params["partners"] = list(scope.partner_boroughs)
    where = ["(" + " OR ".join(f"({p})" for p in parts) + ")" if parts else "false"]
    for name, column in (
        ("kind", "q.kind"),
        ("status", "q.status"),
        ("ward", "q.ward_code"),
        ("bid_reference", "q.bid_reference"),
        ("walk_id", "q.walk_id"),
    ):
        value = getattr(filters, name)
        if value is not None:
            where.append(f"{column} = :{name}")
            params[name] = value
    if filters.borough is not None:
        where.append("(q.borough_code = :borough OR q.partner_borough = :borough)")
        params["borough"] = filters.borough
    rows = session.execute(
        text(f"SELECT {_COLUMNS} {_FROM} WHERE {' AND '.join(where)} ORDER BY q.raised_at DESC"),
        params,
    ).mappings()
    return [dict(r) for r in rows]


def bid_references(session: Session, scope: RequestScope) -> list[str]:
    """The bid references of the requests in ``scope``, in order (a bid pack is made of each)."""
    found = {
        str(row["bid_reference"])
        for row in list_requests(session, scope, Filters())
        if row["bid_reference"]
    }
    return sorted(found)


def change_status(
    session: Session,
    request_id: uuid.UUID,
    *,
    status: str,
    by: str,
    role: str,
    note: str | None = None,
    decline_reason: str | None = None,
    bid_reference: str | None = None,
    installed_on: date | None = None,
    outcome: str | None = None,
) -> dict[str, Any]:
    """Move a request on (or, at the same status, update its bid, date or outcome).

    Raises
    ------
    Conflict
        The move is not allowed from the request's status; the message says what is.
    InvalidInput
        Declined without a reason, installed without a date (or a date in the future).

    """
    current = session.execute(
        text("SELECT status, bid_reference FROM partner_requests WHERE id = :id FOR UPDATE"),
        {"id": request_id},
    ).first()
    if current is None:
        raise NotFound(f"no request {request_id}")
    if status not in STATUSES:
        raise InvalidInput(f"status {status!r} is not one of {', '.join(STATUSES)}")
    allowed = allowed_next(current.status)
    if status != current.status and status not in allowed:
        then = (
            f"it may move to {', '.join(allowed)}"
            if allowed
            else "it is final and cannot change"
        )
        raise Conflict(
            f"a request that is {current.status!r} cannot become {status!r}: {then}",
            allowed=list(allowed),
        )
    if status == "declined" and current.status == "declined":
        raise Conflict("a declined request is final and cannot change", allowed=[])
    if status == "declined" and not (decline_reason or "").strip():
        raise InvalidInput("give the reason the request is declined")
    if status == "installed" and installed_on is None:
        raise InvalidInput("give the date it was installed (YYYY-MM-DD)")
    if installed_on is not None and installed_on > date.today():
        raise InvalidInput(f"the install date {installed_on} is in the future: give the day it "
                           "was installed")
    if status == "in_bid" and not (bid_reference or current.bid_reference):
        raise InvalidInput("give the bid's reference (e.g. the Safer Streets round)")
    session.execute(
        text(
            "UPDATE partner_requests SET status = :status, "
            "status_at = CASE WHEN status = :status THEN status_at ELSE now() END, "
            "decline_reason = coalesce(:decline, decline_reason), "
            "bid_reference = coalesce(:bid, bid_reference), "
            "installed_on = coalesce(:installed, installed_on), "
            "outcome = coalesce(:outcome, outcome) WHERE id = :id"
        ),
        {
            "id": request_id,
            "status": status,
            "decline": (decline_reason or "").strip() or None,
            "bid": (bid_reference or "").strip() or None,
            "installed": installed_on,
            "outcome": (outcome or "").strip() or None,
        },
    )
    said = [part for part in (note, decline_reason, outcome) if part and part.strip()]
    _event(session, request_id, status, "; ".join(s.strip() for s in said) or None, by, role)
    return get_request(session, request_id)


def backing_reports(session: Session, request_id: uuid.UUID) -> list[dict[str, Any]]:
    """The reports and walk concerns a request stands on (for staff: categories and date)."""
    rows = session.execute(
        text(
            "SELECT r.id, r.categories, r.occurred_on, r.walk_id IS NOT NULL AS concern "
            "FROM partner_request_backing b JOIN reports r ON r.id = b.report_id "
            "WHERE b.request_id = :id ORDER BY r.occurred_on DESC, r.id"
        ),
        {"id": request_id},
    ).mappings()
    return [dict(r) for r in rows]


def concern(session: Session, report_id: uuid.UUID) -> dict[str, Any]:
    """A walk concern's place, categories, note and walk, to raise a request from it."""
    row = session.execute(
        text(
            "SELECT r.id, r.categories, r.text AS note, r.walk_id, ST_X(r.geom) AS lon, "
            "ST_AsGeoJSON(r.concern_line, 7) AS line, "
            "ST_Y(r.geom) AS lat, wk.ward_code AS walk_ward_code, wk.borough_code AS "
            "walk_borough_code FROM reports r JOIN walks wk ON wk.id = r.walk_id "
            "WHERE r.id = :id"
        ),
        {"id": report_id},
    ).mappings().first()
    if row is None:
        raise NotFound(f"no walk concern {report_id}")
    return dict(row)


def walk_concern_ids(session: Session, walk_id: uuid.UUID) -> list[uuid.UUID]:
    """A walk's concerns' ids, in the order the walk's page lists them (when noted)."""
    return list(
        session.execute(
            text("SELECT id FROM reports WHERE walk_id = :id ORDER BY occurred_at, id"),
            {"id": walk_id},
        ).scalars()
    )


@dataclass(frozen=True)
class ImportOutcome:
    """What importing a request file did."""

    file_name: str
    already_imported: bool
    stored: int
    references: tuple[str, ...] = ()


def import_requests(
    session: Session, data: bytes, file_name: str, *, by: str, role: str, boroughs: Sequence[str]
) -> ImportOutcome:
    """Import a CSV or GeoJSON file of requests whole, or nothing with every bad row named.

    ``boroughs`` are those the importer may place requests in (the policy's answer); a row
    outside them is a bad row like any other.

    Raises
    ------
    InvalidInput
        The file cannot be read, or has bad rows (``problems``: line and reason for each).

    """
    digest = file_sha256(data)
    if session.execute(
        text("SELECT 1 FROM imports WHERE kind = 'requests' AND sha256 = :s"), {"s": digest}
    ).first():
        return ImportOutcome(file_name, already_imported=True, stored=0)
    try:
        read = read_requests(data, file_name)
    except ValueError as exc:
        # The report importer's hint names its command-line options, which a file here lacks.
        reason = str(exc).split(". Name the columns with")[0]
        raise InvalidInput(f"{file_name}: {reason}") from None
    problems = list(read.problems)
    placed: list[tuple[RequestRow, str]] = []
    for row in read.rows:
        code = council_code(session, row.partner_borough)
        if code is None:
            problems.append(RowProblem(row.line, f"partner_borough {row.partner_borough!r} is "
                                                 "not a borough of the active ward set: give "
                                                 "its code (e.g. E09000022) or name"))
            continue
        try:
            _, _, _, borough = place_of(session, row.points)
        except OutsideServiceArea:
            problems.append(RowProblem(row.line, "the place is outside the wards this scheme "
                                                 "covers"))
            continue
        except InvalidInput as exc:
            problems.append(RowProblem(row.line, exc.detail))
            continue
        if borough not in boroughs:
            problems.append(RowProblem(row.line, f"the place is in borough {borough}, outside "
                                                 f"yours ({', '.join(boroughs) or 'none'})"))
            continue
        placed.append((row, code))
    if problems or not read.rows_read:
        problems.sort(key=lambda p: p.line)
        if not read.rows_read:
            raise InvalidInput(f"{file_name}: the file has no requests in it")
        bad = len({p.line for p in problems})
        raise InvalidInput(
            f"{file_name}: {bad} bad row{'s' if bad != 1 else ''}, nothing stored (of "
            f"{read.rows_read} rows); fix them and import the file again. "
            + " ".join(f"Line {p.line}: {p.reason}." for p in problems[:20]),
            problems=[{"line": p.line, "reason": p.reason} for p in problems],
        )
    import_id = session.execute(
        text(
            "INSERT INTO imports (kind, sha256, file_name, rows_stored, rows_skipped, "
            "imported_by) VALUES ('requests', :sha, :name, :n, 0, :by) RETURNING id"
        ),
        {"sha": digest, "name": file_name, "n": len(placed), "by": by},
    ).scalar_one()
    references = []
    for row, code in placed:
        _, reference = create_request(
            session,
            kind=row.kind,
            title=row.title,
            points=row.points,
            partner_borough=code,
            partner_team=row.partner_team,
            raised_by=by,
            raised_role=role,
            note=f"Imported from {file_name}, line {row.line}",
            import_id=import_id,
            status=row.status,
            bid_reference=row.bid_reference,
            installed_on=row.installed_on,
            decline_reason=row.decline_reason,
            outcome=row.outcome,
        )
        references.append(reference)
    return ImportOutcome(file_name, False, len(placed), tuple(references))
