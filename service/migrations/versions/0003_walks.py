"""Walk and Talk: officers, buddies (contacts apart), walks with their routes

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import geoalchemy2
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "officers",
        sa.Column(
            "id",
            postgresql.UUID(as_uuid=True),
            primary_key=True,
            server_default=sa.text("gen_random_uuid()"),
        ),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("shoulder_number", sa.Text(), nullable=False, unique=True),
        sa.Column("ward_codes", postgresql.ARRAY(sa.Text()), nullable=False),
        sa.Column("borough_codes", postgresql.ARRAY(sa.Text()), nullable=False),
        sa.Column("command_unit", sa.Text(), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column("synthetic", sa.Boolean(), server_default=sa.text("false"), nullable=False),
    )
    op.create_table(
        "buddies",
        sa.Column(
            "id",
            postgresql.UUID(as_uuid=True),
            primary_key=True,
            server_default=sa.text("gen_random_uuid()"),
        ),
        sa.Column("code", sa.Text(), nullable=False, unique=True),
        sa.Column("home_ward", sa.Text(), nullable=True),
        sa.Column("work_ward", sa.Text(), nullable=True),
        sa.Column("borough_code", sa.Text(), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column("erased_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("synthetic", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.CheckConstraint(
            "home_ward IS NOT NULL OR work_ward IS NOT NULL OR erased_at IS NOT NULL",
            name="buddies_a_ward",
        ),
    )
    # Contact details live apart so that no query for buddies can carry them by accident.
    op.create_table(
        "buddy_contacts",
        sa.Column(
            "buddy_id",
            postgresql.UUID(as_uuid=True),
            sa.ForeignKey("buddies.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("contact", sa.Text(), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
    )
    op.create_table(
        "walks",
        sa.Column(
            "id",
            postgresql.UUID(as_uuid=True),
            primary_key=True,
            server_default=sa.text("gen_random_uuid()"),
        ),
        sa.Column(
            "officer_id",
            postgresql.UUID(as_uuid=True),
            sa.ForeignKey("officers.id"),
            nullable=False,
        ),
        sa.Column(
            "buddy_id",
            postgresql.UUID(as_uuid=True),
            sa.ForeignKey("buddies.id", ondelete="SET NULL"),
            nullable=True,
        ),
        sa.Column("ward_code", sa.Text(), nullable=False),
        sa.Column("borough_code", sa.Text(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("planned_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("planned_end", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actual_start", sa.DateTime(timezone=True), nullable=True),
        sa.Column("actual_end", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "meeting_point",
            geoalchemy2.Geometry("POINT", srid=4326, spatial_index=False),
            nullable=True,
        ),
        sa.Column(
            "route",
            geoalchemy2.Geometry("LINESTRING", srid=4326, spatial_index=False),
            nullable=True,
        ),
        sa.Column(
            "route_trimmed",
            geoalchemy2.Geometry("LINESTRING", srid=4326, spatial_index=False),
            nullable=True,
        ),
        sa.Column("route_wards", postgresql.ARRAY(sa.Text()), server_default="{}", nullable=False),
        sa.Column("length_m", sa.Float(), nullable=True),
        sa.Column("dark_at_start", sa.Boolean(), nullable=True),
        sa.Column("dark_share", sa.Float(), nullable=True),
        sa.Column(
            "consent_keep_route", sa.Boolean(), server_default=sa.text("false"), nullable=False
        ),
        sa.Column("consent_contact", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("consent_date", sa.Date(), nullable=True),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column("synthetic", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.CheckConstraint(
            "planned_end >= planned_start + interval '30 minutes'", name="walks_thirty_minutes"
        ),
        sa.CheckConstraint(
            "kind IN ('commute', 'park', 'transport_hub', 'other')", name="walks_kind"
        ),
    )
    op.create_index("walks_route_idx", "walks", ["route"], postgresql_using="gist")
    op.create_index("walks_ward_idx", "walks", ["ward_code", "planned_start"])
    op.add_column("walks", sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True))
    # No details of an allegation are kept here: only whether one was made and the reference
    # of the report made the usual way.
    op.create_table(
        "safeguarding",
        sa.Column(
            "walk_id",
            postgresql.UUID(as_uuid=True),
            sa.ForeignKey("walks.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("borough_code", sa.Text(), nullable=False),
        sa.Column("disclosed", sa.Boolean(), nullable=False),
        sa.Column("answered_by", sa.Text(), nullable=False),
        sa.Column(
            "answered_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reference", sa.Text(), nullable=True),
        sa.Column("reviewed_by", sa.Text(), nullable=True),
        sa.Column("reviewed_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("disclosed OR due_at IS NULL", name="safeguarding_due_if_disclosed"),
    )
    # Concerns raised on a walk are reports (source walk_concern) that remember their walk.
    op.add_column(
        "reports",
        sa.Column(
            "walk_id",
            postgresql.UUID(as_uuid=True),
            sa.ForeignKey("walks.id", ondelete="SET NULL"),
            nullable=True,
        ),
    )
    op.create_index("reports_walk_idx", "reports", ["walk_id"])


def downgrade() -> None:
    op.drop_index("reports_walk_idx", "reports")
    op.drop_column("reports", "walk_id")
    for table in ("safeguarding", "walks", "buddy_contacts", "buddies", "officers"):
        op.drop_table(table)
