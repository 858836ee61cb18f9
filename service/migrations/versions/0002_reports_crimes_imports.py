"""Anonymous unsafe-place reports, police.uk crimes, and the imports they came from

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import geoalchemy2
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _point() -> geoalchemy2.Geometry:
    return geoalchemy2.Geometry("POINT", srid=4326, spatial_index=False)


def upgrade() -> None:
    op.create_table(
        "imports",
        sa.Column("id", sa.BigInteger(), sa.Identity(), primary_key=True),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("sha256", sa.Text(), nullable=False),
        sa.Column("file_name", sa.Text(), nullable=False),
        sa.Column("rows_stored", sa.Integer(), nullable=False),
        sa.Column("rows_skipped", sa.Integer(), nullable=False),
        sa.Column(
            "imported_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column("imported_by", sa.Text(), nullable=False),
        sa.UniqueConstraint("kind", "sha256", name="imports_kind_sha256_key"),
        sa.CheckConstraint("kind IN ('reports', 'crimes')", name="imports_kind"),
    )

    op.create_table(
        "reports",
        sa.Column(
            "id",
            postgresql.UUID(as_uuid=True),
            primary_key=True,
            server_default=sa.text("gen_random_uuid()"),
        ),
        sa.Column("geom", _point(), nullable=False),
        sa.Column("ward_code", sa.Text(), nullable=True),
        sa.Column("borough_code", sa.Text(), nullable=True),
        sa.Column("occurred_on", sa.Date(), nullable=False),
        sa.Column("time_band", sa.Text(), nullable=True),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("categories", postgresql.ARRAY(sa.Text()), nullable=False),
        sa.Column("text", sa.Text(), nullable=True),
        sa.Column("text_redacted", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("sun_elevation", sa.Float(), nullable=False),
        sa.Column("is_dark", sa.Boolean(), nullable=False),
        sa.Column("darkness_basis", sa.Text(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("moderation_reason", sa.Text(), nullable=True),
        sa.Column("moderated_by", sa.Text(), nullable=True),
        sa.Column(
            "received_hour",
            sa.DateTime(timezone=True),
            server_default=sa.text("date_trunc('hour', now())"),
            nullable=False,
        ),
        sa.Column(
            "import_id",
            sa.BigInteger(),
            sa.ForeignKey("imports.id", ondelete="CASCADE"),
            nullable=True,
        ),
        sa.CheckConstraint(
            "(time_band IS NULL) <> (occurred_at IS NULL)", name="reports_one_time_form"
        ),
        sa.CheckConstraint(
            "time_band IS NULL OR time_band IN ('early_morning', 'daytime', 'evening', 'night')",
            name="reports_time_band",
        ),
        sa.CheckConstraint("cardinality(categories) >= 1", name="reports_categories"),
        sa.CheckConstraint("char_length(text) <= 1000", name="reports_text_length"),
        sa.CheckConstraint(
            "source IN ('public', 'imported', 'walk_concern', 'synthetic')", name="reports_source"
        ),
        sa.CheckConstraint("status IN ('pending', 'published', 'hidden')", name="reports_status"),
        sa.CheckConstraint(
            "darkness_basis IN ('exact_time', 'time_band')", name="reports_darkness_basis"
        ),
        sa.CheckConstraint(
            "received_hour = date_trunc('hour', received_hour)", name="reports_received_hour"
        ),
    )
    op.create_index("reports_geom_idx", "reports", ["geom"], postgresql_using="gist")
    op.create_index("reports_ward_idx", "reports", ["ward_code", "occurred_on"])
    op.create_index("reports_borough_idx", "reports", ["borough_code", "occurred_on"])
    op.create_index("reports_status_idx", "reports", ["status"])

    op.create_table(
        "crimes",
        sa.Column("id", sa.BigInteger(), sa.Identity(), primary_key=True),
        sa.Column("crime_id", sa.Text(), nullable=False),
        sa.Column("police_uk_id", sa.Text(), nullable=False),
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("crime_type", sa.Text(), nullable=False),
        sa.Column("falls_within", sa.Text(), nullable=False),
        sa.Column("lsoa_code", sa.Text(), nullable=False),
        sa.Column("lsoa_name", sa.Text(), nullable=False),
        sa.Column("street_name", sa.Text(), nullable=False),
        sa.Column("outcome", sa.Text(), nullable=False),
        sa.Column("geom", _point(), nullable=False),
        sa.Column("ward_code", sa.Text(), nullable=True),
        sa.Column("borough_code", sa.Text(), nullable=True),
        sa.Column(
            "import_id",
            sa.BigInteger(),
            sa.ForeignKey("imports.id", ondelete="CASCADE"),
            nullable=False,
        ),
    )
    op.create_index("crimes_geom_idx", "crimes", ["geom"], postgresql_using="gist")
    op.create_index("crimes_ward_idx", "crimes", ["ward_code", "month"])


def downgrade() -> None:
    op.drop_table("crimes")
    op.drop_table("reports")
    op.drop_table("imports")
