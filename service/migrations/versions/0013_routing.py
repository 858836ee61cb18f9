"""Routes along streets: pgRouting and the walkable street network built from OSM ways

``street_vertices`` are the junctions and dead ends of the walkable OSM ways (a coordinate
shared by two ways, or a way's end); ``street_edges`` are the ways split at them, each with
its length in metres (the cost pgRouting minimises), the way's ``lit`` tag, and the
connected part of the network it belongs to (``component``: its lowest vertex id). Both are
rebuilt from ``osm_features`` by ``walktalk osm load``; nothing else writes them.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-05
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Enable pgRouting and create the street network's vertices and edges."""
    op.execute("CREATE EXTENSION IF NOT EXISTS pgrouting")
    op.create_table(
        "street_vertices",
        sa.Column("id", sa.BigInteger(), primary_key=True, autoincrement=False),
        sa.Column("geom", Geometry("POINT", srid=4326, spatial_index=False), nullable=False),
    )
    op.create_index(
        "street_vertices_geom_idx", "street_vertices", ["geom"], postgresql_using="gist"
    )
    op.create_table(
        "street_edges",
        sa.Column("id", sa.BigInteger(), primary_key=True, autoincrement=False),
        sa.Column("source", sa.BigInteger(), nullable=False),
        sa.Column("target", sa.BigInteger(), nullable=False),
        sa.Column("osm_id", sa.BigInteger(), nullable=False),
        sa.Column("highway", sa.Text(), nullable=True),
        sa.Column("lit", sa.Text(), nullable=False),
        sa.Column("length_m", sa.Float(), nullable=False),
        sa.Column("component", sa.BigInteger(), nullable=False),
        sa.Column("geom", Geometry("LINESTRING", srid=4326, spatial_index=False), nullable=False),
        sa.CheckConstraint("lit IN ('yes', 'no', 'unknown')", name="street_edges_lit"),
        sa.CheckConstraint("length_m >= 0", name="street_edges_length"),
    )
    op.create_index("street_edges_geom_idx", "street_edges", ["geom"], postgresql_using="gist")


def downgrade() -> None:
    """Drop the street network (pgRouting stays: other databases' objects may use it)."""
    op.drop_index("street_edges_geom_idx", table_name="street_edges")
    op.drop_table("street_edges")
    op.drop_index("street_vertices_geom_idx", table_name="street_vertices")
    op.drop_table("street_vertices")
