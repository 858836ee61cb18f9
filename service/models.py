"""Tables of the store of record (SQLAlchemy 2 + GeoAlchemy2).

Geometries are kept in EPSG:4326 with a GiST index; metric work transforms to EPSG:27700 in
the query. Every fact table that later issues add carries its area (borough) code so the
tables can be distributed by area (see DESIGN.md, Scale).
"""

from __future__ import annotations

import uuid
from datetime import date, datetime

from geoalchemy2 import Geometry
from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Identity,
    Index,
    Integer,
    LargeBinary,
    SmallInteger,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

ROLES = ("officer", "supervisor", "partner", "planner", "public")


class Base(DeclarativeBase):
    """Declarative base of every table."""


class WardSet(Base):
    """A generation of ward boundaries: loaded, checked, then activated (MapIt's idea)."""

    __tablename__ = "ward_sets"

    id: Mapped[int] = mapped_column(Integer, Identity(), primary_key=True)
    name: Mapped[str] = mapped_column(Text, unique=True)
    description: Mapped[str] = mapped_column(Text, server_default="")
    source: Mapped[str] = mapped_column(Text)
    attribution: Mapped[str] = mapped_column(Text)
    loaded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    activated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    is_active: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))

    __table_args__ = (
        # At most one active generation: lookups must never see two.
        Index("ward_sets_one_active", "is_active", unique=True, postgresql_where=text("is_active")),
    )


class Ward(Base):
    """One ward polygon of a ward set."""

    __tablename__ = "wards"

    id: Mapped[int] = mapped_column(Integer, Identity(), primary_key=True)
    ward_set_id: Mapped[int] = mapped_column(ForeignKey("ward_sets.id", ondelete="CASCADE"))
    code: Mapped[str] = mapped_column(Text)
    name: Mapped[str] = mapped_column(Text)
    borough_code: Mapped[str] = mapped_column(Text)
    borough_name: Mapped[str] = mapped_column(Text)
    geom = mapped_column(Geometry("MULTIPOLYGON", srid=4326, spatial_index=False), nullable=False)

    __table_args__ = (
        UniqueConstraint("ward_set_id", "code", name="wards_set_code_key"),
        Index("wards_geom_idx", "geom", postgresql_using="gist"),
        Index("wards_set_borough_idx", "ward_set_id", "borough_code"),
    )


class WardPart(Base):
    """A ward cut into small pieces (ST_Subdivide) so point lookups test few vertices."""

    __tablename__ = "ward_parts"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    ward_id: Mapped[int] = mapped_column(ForeignKey("wards.id", ondelete="CASCADE"))
    ward_set_id: Mapped[int] = mapped_column(ForeignKey("ward_sets.id", ondelete="CASCADE"))
    geom = mapped_column(Geometry("POLYGON", srid=4326, spatial_index=False), nullable=False)

    __table_args__ = (
        Index("ward_parts_geom_idx", "geom", postgresql_using="gist"),
        Index("ward_parts_ward_idx", "ward_id"),
    )


class Borough(Base):
    """A London borough (local authority district); partners' and planners' scope unit."""

    __tablename__ = "boroughs"

    code: Mapped[str] = mapped_column(Text, primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    attribution: Mapped[str] = mapped_column(Text)
    geom = mapped_column(Geometry("MULTIPOLYGON", srid=4326, spatial_index=False), nullable=False)

    __table_args__ = (Index("boroughs_geom_idx", "geom", postgresql_using="gist"),)


class ApiToken(Base):
    """A bearer token: only its keyed hash is stored, never the token itself."""

    __tablename__ = "api_tokens"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    role: Mapped[str] = mapped_column(Text)
    ward_codes: Mapped[list[str]] = mapped_column(ARRAY(Text), server_default="{}")
    borough_codes: Mapped[list[str]] = mapped_column(ARRAY(Text), server_default="{}")
    token_hash: Mapped[bytes] = mapped_column(LargeBinary, unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    created_by: Mapped[str] = mapped_column(Text)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # The officer's record a token signs in as, so her pages know which walks are hers.
    officer_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("officers.id", ondelete="SET NULL")
    )

    __table_args__ = (
        CheckConstraint(
            "role IN ('officer', 'supervisor', 'partner', 'planner')", name="api_tokens_role"
        ),
    )


class BrowserSession(Base):
    """A signed-in browser: the cookie holds a random id; only its keyed hash is stored."""

    __tablename__ = "browser_sessions"

    id_hash: Mapped[bytes] = mapped_column(LargeBinary, primary_key=True)
    token_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("api_tokens.id", ondelete="CASCADE"))
    csrf_token: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class AuditEntry(Base):
    """Who read or changed sensitive data, and when."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    token_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    actor: Mapped[str] = mapped_column(Text)
    role: Mapped[str] = mapped_column(Text)
    action: Mapped[str] = mapped_column(Text)
    target: Mapped[str] = mapped_column(Text, server_default="")

    __table_args__ = (Index("audit_log_at_idx", "at"),)


class Import(Base):
    """A file imported whole: its content hash makes a re-import add nothing."""

    __tablename__ = "imports"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    kind: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(Text)
    # A digest of the parsed rows, normalised and sorted (service.queries.imports.rows_digest):
    # the same rows in a file saved another way. Empty for files without good rows.
    content_sha256: Mapped[str | None] = mapped_column(Text)
    file_name: Mapped[str] = mapped_column(Text)
    rows_stored: Mapped[int] = mapped_column(Integer)
    rows_skipped: Mapped[int] = mapped_column(Integer)
    imported_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    imported_by: Mapped[str] = mapped_column(Text)

    __table_args__ = (
        UniqueConstraint("kind", "sha256", name="imports_kind_sha256_key"),
        Index("imports_kind_content_idx", "kind", "content_sha256", unique=True),
    )


class Report(Base):
    """A place where someone felt unsafe. Nothing here identifies who reported it.

    No address, user agent or token is stored, and the time it reached us only to the hour.
    """

    __tablename__ = "reports"

    id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), primary_key=True, server_default=text("gen_random_uuid()")
    )
    geom = mapped_column(Geometry("POINT", srid=4326, spatial_index=False), nullable=False)
    ward_code: Mapped[str | None] = mapped_column(Text)
    borough_code: Mapped[str | None] = mapped_column(Text)
    occurred_on: Mapped[date] = mapped_column(Date)
    time_band: Mapped[str | None] = mapped_column(Text)
    occurred_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    categories: Mapped[list[str]] = mapped_column(ARRAY(Text))
    free_text: Mapped[str | None] = mapped_column("text", Text)
    text_redacted: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    source: Mapped[str] = mapped_column(Text)
    sun_elevation: Mapped[float] = mapped_column(Float)
    is_dark: Mapped[bool] = mapped_column(Boolean)
    darkness_basis: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(Text)
    moderation_reason: Mapped[str | None] = mapped_column(Text)
    moderated_by: Mapped[str | None] = mapped_column(Text)
    received_hour: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=text("date_trunc('hour', now())")
    )
    import_id: Mapped[int | None] = mapped_column(ForeignKey("imports.id", ondelete="CASCADE"))
    walk_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("walks.id", ondelete="SET NULL"))
    # A walk concern raised along a short stretch: counted at ``geom``, its middle.
    concern_line = mapped_column(Geometry("LINESTRING", srid=4326, spatial_index=False))
    # The id the live page gave a walk concern on the phone: a resend finds it again.
    client_ref: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    # Its hexagon cell at each offered edge (geo.hexagons.cell_keys): hot spots GROUP BY these.
    hex_250: Mapped[int | None] = mapped_column(Integer)
    hex_500: Mapped[int | None] = mapped_column(Integer)
    hex_1000: Mapped[int | None] = mapped_column(Integer)
    hex_2000: Mapped[int | None] = mapped_column(Integer)

    __table_args__ = (
        Index("reports_geom_idx", "geom", postgresql_using="gist"),
        Index("reports_walk_idx", "walk_id"),
        Index(
            "reports_walk_client_ref_idx",
            "walk_id",
            "client_ref",
            unique=True,
            postgresql_where=text("client_ref IS NOT NULL"),
        ),
        Index("reports_ward_idx", "ward_code", "occurred_on"),
        Index("reports_borough_idx", "borough_code", "occurred_on"),
        Index("reports_status_idx", "status"),
    )


class Crime(Base):
    """A police.uk street-level crime: context beside the reports, never a report."""

    __tablename__ = "crimes"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    crime_id: Mapped[str] = mapped_column(Text)
    police_uk_id: Mapped[str] = mapped_column(Text)
    month: Mapped[date] = mapped_column(Date)
    crime_type: Mapped[str] = mapped_column(Text)
    falls_within: Mapped[str] = mapped_column(Text)
    lsoa_code: Mapped[str] = mapped_column(Text)
    lsoa_name: Mapped[str] = mapped_column(Text)
    street_name: Mapped[str] = mapped_column(Text)
    outcome: Mapped[str] = mapped_column(Text)
    geom = mapped_column(Geometry("POINT", srid=4326, spatial_index=False), nullable=False)
    ward_code: Mapped[str | None] = mapped_column(Text)
    borough_code: Mapped[str | None] = mapped_column(Text)
    import_id: Mapped[int] = mapped_column(ForeignKey("imports.id", ondelete="CASCADE"))

    __table_args__ = (
        Index("crimes_geom_idx", "geom", postgresql_using="gist"),
        Index("crimes_ward_idx", "ward_code", "month"),
    )


class Officer(Base):
    """A dedicated ward officer who walks with buddies."""

    __tablename__ = "officers"

    id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), primary_key=True, server_default=text("gen_random_uuid()")
    )
    name: Mapped[str] = mapped_column(Text)
    shoulder_number: Mapped[str] = mapped_column(Text, unique=True)
    ward_codes: Mapped[list[str]] = mapped_column(ARRAY(Text))
    borough_codes: Mapped[list[str]] = mapped_column(ARRAY(Text))
    command_unit: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    synthetic: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    # A deactivated officer plans no new walks; her walks and their history stay.
    deactivated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Buddy(Base):
    """A woman who walks with an officer, known here only by a pseudonymous code."""

    __tablename__ = "buddies"

    id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), primary_key=True, server_default=text("gen_random_uuid()")
    )
    code: Mapped[str] = mapped_column(Text, unique=True)
    home_ward: Mapped[str | None] = mapped_column(Text)
    work_ward: Mapped[str | None] = mapped_column(Text)
    borough_code: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    erased_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    synthetic: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))


class BuddyContact(Base):
    """A buddy's contact details: supervisors only, never exported."""

    __tablename__ = "buddy_contacts"

    buddy_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("buddies.id", ondelete="CASCADE"), primary_key=True
    )
    contact: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class ParticipationRequest(Base):
    """A woman's request to take part, routed to the officers of the ward she named.

    Where she lives or works is kept only as that ward; how to reach her is in
    :class:`ParticipationContact`. Accepted, it becomes a :class:`Buddy`.
    """

    __tablename__ = "participation_requests"

    id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), primary_key=True, server_default=text("gen_random_uuid()")
    )
    reference: Mapped[str] = mapped_column(Text, unique=True)
    ward_code: Mapped[str] = mapped_column(Text)
    borough_code: Mapped[str] = mapped_column(Text)
    availability: Mapped[list[str]] = mapped_column(ARRAY(Text), server_default="{}")
    status: Mapped[str] = mapped_column(Text, server_default="new")
    decline_reason: Mapped[str | None] = mapped_column(Text)
    buddy_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("buddies.id", ondelete="SET NULL")
    )
    decided_by: Mapped[str | None] = mapped_column(Text)
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    synthetic: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))

    __table_args__ = (
        CheckConstraint(
            "status IN ('new', 'accepted', 'declined')", name="participation_requests_status"
        ),
        CheckConstraint(
            "status <> 'declined' OR decline_reason IS NOT NULL",
            name="participation_requests_decline_reason",
        ),
        Index("participation_requests_ward_idx", "ward_code", "status"),
    )


class ParticipationContact(Base):
    """How to reach a woman who asked to take part: the protected store, never in an answer."""

    __tablename__ = "participation_contacts"

    request_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("participation_requests.id", ondelete="CASCADE"), primary_key=True
    )
    contact: Mapped[str] = mapped_column(Text)
    consent_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Walk(Base):
    """A walk and talk: officer, buddy, times, consent and the route she uses."""

    __tablename__ = "walks"

    id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), primary_key=True, server_default=text("gen_random_uuid()")
    )
    officer_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("officers.id"))
    buddy_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("buddies.id", ondelete="SET NULL")
    )
    ward_code: Mapped[str] = mapped_column(Text)
    borough_code: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(Text)
    planned_start: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    planned_end: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    actual_start: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    actual_end: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    meeting_point = mapped_column(Geometry("POINT", srid=4326, spatial_index=False))
    route = mapped_column(Geometry("LINESTRING", srid=4326, spatial_index=False))
    route_trimmed = mapped_column(Geometry("LINESTRING", srid=4326, spatial_index=False))
    route_wards: Mapped[list[str]] = mapped_column(ARRAY(Text), server_default="{}")
    length_m: Mapped[float | None] = mapped_column(Float)
    dark_at_start: Mapped[bool | None] = mapped_column(Boolean)
    dark_share: Mapped[float | None] = mapped_column(Float)
    consent_keep_route: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    consent_contact: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    consent_date: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    synthetic: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # The buddy's answer before the walk: how safe she feels on this route, 1 to 5.
    baseline_safety: Mapped[int | None] = mapped_column(SmallInteger)
    baseline_recorded_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # A patrol (kind "patrol", no buddy): conversations held, themes heard, officers' feedback.
    conversations: Mapped[int | None] = mapped_column(Integer)
    patrol_themes: Mapped[list[str]] = mapped_column(ARRAY(Text), server_default="{}")
    patrol_feedback: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        Index("walks_route_idx", "route", postgresql_using="gist"),
        Index("walks_ward_idx", "ward_code", "planned_start"),
        CheckConstraint(
            "conversations IS NULL OR conversations >= 0", name="walks_conversations_check"
        ),
    )


class Safeguarding(Base):
    """The officer's answer to "was a crime or intelligence disclosed?" for one walk.

    A yes opens a flag that needs the reference of the usual report before a deadline. No
    detail of what was disclosed is kept here.
    """

    __tablename__ = "safeguarding"

    walk_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("walks.id", ondelete="CASCADE"), primary_key=True
    )
    borough_code: Mapped[str] = mapped_column(Text)
    disclosed: Mapped[bool] = mapped_column(Boolean)
    answered_by: Mapped[str] = mapped_column(Text)
    answered_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    due_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    reference: Mapped[str | None] = mapped_column(Text)
    reviewed_by: Mapped[str | None] = mapped_column(Text)
    reviewed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # When supervisors were last emailed that this flag is due or overdue.
    reminded_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class OfficerSurvey(Base):
    """The officer's survey after a walk: how useful it was, themes heard, actions to take."""

    __tablename__ = "officer_surveys"

    walk_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("walks.id", ondelete="CASCADE"), primary_key=True
    )
    ward_code: Mapped[str] = mapped_column(Text)
    borough_code: Mapped[str] = mapped_column(Text)
    walk_useful: Mapped[int] = mapped_column(SmallInteger)
    themes: Mapped[list[str]] = mapped_column(ARRAY(Text), server_default="{}")
    actions: Mapped[list[str]] = mapped_column(ARRAY(Text), server_default="{}")
    follow_up_walk: Mapped[bool] = mapped_column(Boolean)
    notes: Mapped[str | None] = mapped_column(Text)
    submitted_by: Mapped[str] = mapped_column(Text)
    submitted_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )


class BuddySurvey(Base):
    """The buddy's own answers after the walk, given through a one-time link."""

    __tablename__ = "buddy_surveys"

    walk_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("walks.id", ondelete="CASCADE"), primary_key=True
    )
    ward_code: Mapped[str] = mapped_column(Text)
    borough_code: Mapped[str] = mapped_column(Text)
    felt_safer: Mapped[int] = mapped_column(SmallInteger)
    police_confidence: Mapped[int] = mapped_column(SmallInteger)
    would_recommend: Mapped[bool] = mapped_column(Boolean)
    themes: Mapped[list[str]] = mapped_column(ARRAY(Text), server_default="{}")
    comments: Mapped[str | None] = mapped_column(Text)
    submitted_on: Mapped[date] = mapped_column(Date, server_default=func.current_date())


class SurveyLink(Base):
    """A one-time link for the buddy's survey: only its keyed hash is stored."""

    __tablename__ = "survey_links"

    id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), primary_key=True, server_default=text("gen_random_uuid()")
    )
    walk_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("walks.id", ondelete="CASCADE"))
    borough_code: Mapped[str] = mapped_column(Text)
    secret_hash: Mapped[bytes] = mapped_column(LargeBinary, unique=True)
    created_by: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (Index("survey_links_walk_idx", "walk_id"),)


class OsmFeature(Base):
    """A street, path, park, water area or street lamp from OpenStreetMap (© OSM, ODbL).

    The base map's own data: drawn as vector tiles, so map pages show streets with no tile
    server. Loaded with ``walktalk osm load``; a feature loaded again replaces the older copy.
    """

    __tablename__ = "osm_features"

    osm_type: Mapped[str] = mapped_column(Text, primary_key=True)
    osm_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    kind: Mapped[str] = mapped_column(Text)
    name: Mapped[str | None] = mapped_column(Text)
    highway: Mapped[str | None] = mapped_column(Text)
    lit: Mapped[str | None] = mapped_column(Text)
    source: Mapped[str] = mapped_column(Text)
    geom = mapped_column(Geometry("GEOMETRY", srid=4326, spatial_index=False), nullable=False)

    __table_args__ = (
        CheckConstraint(
            "kind IN ('street', 'path', 'park', 'water', 'lamp')", name="osm_features_kind_check"
        ),
        Index("osm_features_geom_idx", "geom", postgresql_using="gist"),
    )


class LsoaPopulation(Base):
    """Residents of one London LSOA (ONS mid-2020 estimates, OGL v3.0) with its boundary.

    Loaded with ``walktalk population load``; a load replaces every row. Apportioned to wards,
    uploaded areas and hexagons by area for rates per 1,000 residents (``geo.population``).
    """

    __tablename__ = "lsoa_population"

    code: Mapped[str] = mapped_column(Text, primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    # ONS's 2011 local authority district (LAD11CD/NM): for London the borough, by a code that
    # is the ONS's own and fixed, not derived from a ward set (activation leaves it alone).
    district_code: Mapped[str] = mapped_column(Text)
    district_name: Mapped[str] = mapped_column(Text)
    persons: Mapped[int] = mapped_column(Integer)
    females: Mapped[int] = mapped_column(Integer)
    source: Mapped[str] = mapped_column(Text)
    loaded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    geom = mapped_column(Geometry("MULTIPOLYGON", srid=4326, spatial_index=False), nullable=False)

    __table_args__ = (
        CheckConstraint(
            "persons >= 0 AND females >= 0 AND females <= persons",
            name="lsoa_population_counts_check",
        ),
        Index("lsoa_population_geom_idx", "geom", postgresql_using="gist"),
        Index("lsoa_population_district_idx", "district_code"),
    )


class WardPopulation(Base):
    """Residents and women apportioned to one ward, kept per ward set (a cache of tobler's work).

    Filled for every ward set when the population is loaded, and for a ward set when it is
    loaded after the population; wards are never edited in place, so it stays right.
    """

    __tablename__ = "ward_population"

    ward_id: Mapped[int] = mapped_column(
        ForeignKey("wards.id", ondelete="CASCADE"), primary_key=True
    )
    ward_set_id: Mapped[int] = mapped_column(ForeignKey("ward_sets.id", ondelete="CASCADE"))
    persons: Mapped[float] = mapped_column(Float)
    females: Mapped[float] = mapped_column(Float)

    __table_args__ = (Index("ward_population_set_idx", "ward_set_id"),)


class AssetInventory(Base):
    """One imported file of street lights or cameras, with the area it lists every asset of.

    "No light here" is claimed only inside ``coverage``.
    """

    __tablename__ = "asset_inventories"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    kind: Mapped[str] = mapped_column(Text)
    name: Mapped[str] = mapped_column(Text, unique=True)
    file_name: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(Text)
    attribution: Mapped[str] = mapped_column(Text)
    coverage = mapped_column(
        Geometry("MULTIPOLYGON", srid=4326, spatial_index=False), nullable=False
    )
    coverage_note: Mapped[str] = mapped_column(Text)
    assets: Mapped[int] = mapped_column(Integer)
    rows_skipped: Mapped[int] = mapped_column(Integer)
    loaded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    loaded_by: Mapped[str] = mapped_column(Text)

    __table_args__ = (
        CheckConstraint("kind IN ('light', 'camera')", name="asset_inventories_kind"),
        Index("asset_inventories_coverage_idx", "coverage", postgresql_using="gist"),
    )


class StreetVertex(Base):
    """A junction or dead end of the walkable street network (``walktalk osm load`` builds it)."""

    __tablename__ = "street_vertices"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    geom = mapped_column(Geometry("POINT", srid=4326, spatial_index=False), nullable=False)

    __table_args__ = (Index("street_vertices_geom_idx", "geom", postgresql_using="gist"),)


class StreetEdge(Base):
    """A walkable OSM way between two junctions: the edges pgRouting follows.

    ``length_m`` is the cost; ``lit`` is the way's tag (``yes``, ``no``, or ``unknown``);
    ``component`` names the connected part of the network it is in (its lowest vertex id).
    """

    __tablename__ = "street_edges"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    source: Mapped[int] = mapped_column(BigInteger)
    target: Mapped[int] = mapped_column(BigInteger)
    osm_id: Mapped[int] = mapped_column(BigInteger)
    highway: Mapped[str | None] = mapped_column(Text)
    lit: Mapped[str] = mapped_column(Text)
    length_m: Mapped[float] = mapped_column(Float)
    component: Mapped[int] = mapped_column(BigInteger)
    geom = mapped_column(Geometry("LINESTRING", srid=4326, spatial_index=False), nullable=False)

    __table_args__ = (
        CheckConstraint("lit IN ('yes', 'no', 'unknown')", name="street_edges_lit"),
        CheckConstraint("length_m >= 0", name="street_edges_length"),
        Index("street_edges_geom_idx", "geom", postgresql_using="gist"),
    )


class Asset(Base):
    """A street light or a camera already on the ground, from a council's file."""

    __tablename__ = "assets"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    inventory_id: Mapped[int] = mapped_column(
        ForeignKey("asset_inventories.id", ondelete="CASCADE")
    )
    kind: Mapped[str] = mapped_column(Text)
    ref: Mapped[str | None] = mapped_column(Text)
    properties: Mapped[dict[str, object]] = mapped_column(JSONB, server_default="{}")
    geom = mapped_column(Geometry("POINT", srid=4326, spatial_index=False), nullable=False)
    ward_code: Mapped[str | None] = mapped_column(Text)
    borough_code: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        CheckConstraint("kind IN ('light', 'camera')", name="assets_kind"),
        Index("assets_geom_idx", "geom", postgresql_using="gist"),
        Index("assets_inventory_idx", "inventory_id"),
    )


class PartnerRequest(Base):
    """A recommendation to a partner (a council team): lighting, CCTV, vegetation or other.

    A point or a short street stretch, addressed to a council (``partner_borough``: partners'
    tokens are scoped to boroughs) and its team, followed from proposed to installed or
    declined. Raised from a walk concern (``walk_id``), on the planner's map, or imported.
    """

    __tablename__ = "partner_requests"

    id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), primary_key=True, server_default=text("gen_random_uuid()")
    )
    reference: Mapped[str] = mapped_column(Text, unique=True)
    kind: Mapped[str] = mapped_column(Text)
    title: Mapped[str] = mapped_column(Text)
    # A point, or a stretch's middle (placed in a ward as a walk concern is); the stretch beside.
    geom = mapped_column(Geometry("POINT", srid=4326, spatial_index=False), nullable=False)
    line = mapped_column(Geometry("LINESTRING", srid=4326, spatial_index=False))
    ward_code: Mapped[str | None] = mapped_column(Text)
    borough_code: Mapped[str | None] = mapped_column(Text)
    partner_borough: Mapped[str] = mapped_column(Text)
    partner_team: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(Text, server_default="proposed")
    status_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    decline_reason: Mapped[str | None] = mapped_column(Text)
    bid_reference: Mapped[str | None] = mapped_column(Text)
    installed_on: Mapped[date | None] = mapped_column(Date)
    outcome: Mapped[str | None] = mapped_column(Text)
    raised_by: Mapped[str] = mapped_column(Text)
    raised_role: Mapped[str] = mapped_column(Text)
    raised_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    walk_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("walks.id", ondelete="SET NULL"))
    import_id: Mapped[int | None] = mapped_column(ForeignKey("imports.id", ondelete="CASCADE"))
    synthetic: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))

    __table_args__ = (
        Index("partner_requests_geom_idx", "geom", postgresql_using="gist"),
        Index("partner_requests_partner_idx", "partner_borough", "status"),
    )


class PartnerRequestEvent(Base):
    """A change of a request's status: who, in which role, when, and what was said."""

    __tablename__ = "partner_request_events"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    request_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("partner_requests.id", ondelete="CASCADE")
    )
    status: Mapped[str] = mapped_column(Text)
    note: Mapped[str | None] = mapped_column(Text)
    changed_by: Mapped[str] = mapped_column(Text)
    changed_role: Mapped[str] = mapped_column(Text)
    changed_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )

    __table_args__ = (Index("partner_request_events_request_idx", "request_id"),)


class PartnerRequestBacking(Base):
    """A report or walk concern a request stands on."""

    __tablename__ = "partner_request_backing"

    request_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("partner_requests.id", ondelete="CASCADE"), primary_key=True
    )
    report_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("reports.id", ondelete="CASCADE"), primary_key=True
    )
