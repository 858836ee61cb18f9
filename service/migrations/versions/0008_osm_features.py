"""OpenStreetMap features for the base map: streets, paths, parks, water, street lamps

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create ``osm_features`` keyed by OSM type and id, with a GiST index."""
    op.create_table(
        "osm_features",
        sa.Column("osm_type", sa.Text(), primary_key=True),
        sa.Column("osm_id", sa.BigInteger(), primary_key=True),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=True),
        sa.Column("highway", sa.Text(), nullable=True),
        sa.Column("lit", sa.Text(), nullable=True),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("geom", Geometry("GEOMETRY", srid=4326, spatial_index=False), nullable=False),
        sa.CheckConstraint(
            "kind IN ('street', 'path', 'park', 'water', 'lamp')", name="osm_features_kind_check"
        ),
    )
    op.create_index("osm_features_geom_idx", "osm_features", ["geom"], postgresql_using="gist")


def downgrade() -> None:
    """Drop the OpenStreetMap features."""
    op.drop_index("osm_features_geom_idx", table_name="osm_features")
    op.drop_table("osm_features")
