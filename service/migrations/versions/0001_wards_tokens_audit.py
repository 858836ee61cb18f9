"""Ward sets, wards and their subdivided parts, boroughs, tokens, browser sessions, audit log

Revision ID: 0001
Revises:
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import geoalchemy2
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _multipolygon() -> geoalchemy2.Geometry:
    return geoalchemy2.Geometry("MULTIPOLYGON", srid=4326, spatial_index=False)


def upgrade() -> None:
    op.execute("CREATE EXTENSION IF NOT EXISTS postgis")
    op.create_table(
        "ward_sets",
        sa.Column("id", sa.Integer(), sa.Identity(), primary_key=True),
        sa.Column("name", sa.Text(), nullable=False, unique=True),
        sa.Column("description", sa.Text(), server_default="", nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("attribution", sa.Text(), nullable=False),
        sa.Column(
            "loaded_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column("activated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("is_active", sa.Boolean(), server_default=sa.text("false"), nullable=False),
    )
    op.create_index(
        "ward_sets_one_active",
        "ward_sets",
        ["is_active"],
        unique=True,
        postgresql_where=sa.text("is_active"),
    )

    op.create_table(
        "wards",
        sa.Column("id", sa.Integer(), sa.Identity(), primary_key=True),
        sa.Column(
            "ward_set_id",
            sa.Integer(),
            sa.ForeignKey("ward_sets.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("code", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("borough_code", sa.Text(), nullable=False),
        sa.Column("borough_name", sa.Text(), nullable=False),
        sa.Column("geom", _multipolygon(), nullable=False),
        sa.UniqueConstraint("ward_set_id", "code", name="wards_set_code_key"),
    )
    op.create_index("wards_geom_idx", "wards", ["geom"], postgresql_using="gist")
    op.create_index("wards_set_borough_idx", "wards", ["ward_set_id", "borough_code"])

    op.create_table(
        "ward_parts",
        sa.Column("id", sa.BigInteger(), sa.Identity(), primary_key=True),
        sa.Column(
            "ward_id", sa.Integer(), sa.ForeignKey("wards.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column(
            "ward_set_id",
            sa.Integer(),
            sa.ForeignKey("ward_sets.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column(
            "geom", geoalchemy2.Geometry("POLYGON", srid=4326, spatial_index=False), nullable=False
        ),
    )
    op.create_index("ward_parts_geom_idx", "ward_parts", ["geom"], postgresql_using="gist")
    op.create_index("ward_parts_ward_idx", "ward_parts", ["ward_id"])

    op.create_table(
        "boroughs",
        sa.Column("code", sa.Text(), primary_key=True),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("attribution", sa.Text(), nullable=False),
        sa.Column("geom", _multipolygon(), nullable=False),
    )
    op.create_index("boroughs_geom_idx", "boroughs", ["geom"], postgresql_using="gist")

    op.create_table(
        "api_tokens",
        sa.Column("id", postgresql.UUID(as_uuid=True), primary_key=True),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("role", sa.Text(), nullable=False),
        sa.Column("ward_codes", postgresql.ARRAY(sa.Text()), server_default="{}", nullable=False),
        sa.Column(
            "borough_codes", postgresql.ARRAY(sa.Text()), server_default="{}", nullable=False
        ),
        sa.Column("token_hash", sa.LargeBinary(), nullable=False, unique=True),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column("created_by", sa.Text(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "role IN ('officer', 'supervisor', 'partner', 'planner')", name="api_tokens_role"
        ),
    )

    op.create_table(
        "browser_sessions",
        sa.Column("id_hash", sa.LargeBinary(), primary_key=True),
        sa.Column(
            "token_id",
            postgresql.UUID(as_uuid=True),
            sa.ForeignKey("api_tokens.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("csrf_token", sa.Text(), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
    )

    op.create_table(
        "audit_log",
        sa.Column("id", sa.BigInteger(), sa.Identity(), primary_key=True),
        sa.Column("at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.Column("token_id", postgresql.UUID(as_uuid=True), nullable=True),
        sa.Column("actor", sa.Text(), nullable=False),
        sa.Column("role", sa.Text(), nullable=False),
        sa.Column("action", sa.Text(), nullable=False),
        sa.Column("target", sa.Text(), server_default="", nullable=False),
    )
    op.create_index("audit_log_at_idx", "audit_log", ["at"])


def downgrade() -> None:
    for table in (
        "audit_log",
        "browser_sessions",
        "api_tokens",
        "boroughs",
        "ward_parts",
        "wards",
        "ward_sets",
    ):
        op.drop_table(table)
