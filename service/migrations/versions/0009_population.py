"""Resident population: ONS mid-2020 LSOA estimates, and their share in each ward

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create ``lsoa_population`` (GiST-indexed) and ``ward_population`` (per ward set)."""
    op.create_table(
        "lsoa_population",
        sa.Column("code", sa.Text(), primary_key=True),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("district_code", sa.Text(), nullable=False),
        sa.Column("district_name", sa.Text(), nullable=False),
        sa.Column("persons", sa.Integer(), nullable=False),
        sa.Column("females", sa.Integer(), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column(
            "loaded_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column(
            "geom", Geometry("MULTIPOLYGON", srid=4326, spatial_index=False), nullable=False
        ),
        sa.CheckConstraint(
            "persons >= 0 AND females >= 0 AND females <= persons",
            name="lsoa_population_counts_check",
        ),
    )
    op.create_index(
        "lsoa_population_geom_idx", "lsoa_population", ["geom"], postgresql_using="gist"
    )
    op.create_index("lsoa_population_district_idx", "lsoa_population", ["district_code"])
    op.create_table(
        "ward_population",
        sa.Column(
            "ward_id",
            sa.Integer(),
            sa.ForeignKey("wards.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column(
            "ward_set_id",
            sa.Integer(),
            sa.ForeignKey("ward_sets.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("persons", sa.Float(), nullable=False),
        sa.Column("females", sa.Float(), nullable=False),
    )
    op.create_index("ward_population_set_idx", "ward_population", ["ward_set_id"])


def downgrade() -> None:
    """Drop the population tables."""
    op.drop_index("ward_population_set_idx", table_name="ward_population")
    op.drop_table("ward_population")
    op.drop_index("lsoa_population_borough_idx", table_name="lsoa_population")
    op.drop_index("lsoa_population_geom_idx", table_name="lsoa_population")
    op.drop_table("lsoa_population")
