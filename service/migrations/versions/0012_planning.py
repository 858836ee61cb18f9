"""Planners: assets already there, and requests to partners

Street lights and cameras with the area each inventory covers; requests (lighting, CCTV,
vegetation) with their life, backing and bids.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-05
"""

from collections.abc import Sequence

import geoalchemy2
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB, UUID

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

REQUEST_KINDS = "'lighting', 'cctv', 'vegetation', 'other'"
REQUEST_STATUSES = "'proposed', 'sent', 'accepted', 'in_bid', 'funded', 'installed', 'declined'"


def _geometry(kind: str) -> geoalchemy2.Geometry:
    return geoalchemy2.Geometry(kind, srid=4326, spatial_index=False)


def upgrade() -> None:
    """Create asset inventories and assets, and partner requests with their history."""
    # One imported file of street lights or cameras. "No light here" is claimed only inside
    # its coverage (the boroughs or wards it is known to list every asset of).
    op.create_table(
        "asset_inventories",
        sa.Column("id", sa.BigInteger(), sa.Identity(), primary_key=True),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False, unique=True),
        sa.Column("file_name", sa.Text(), nullable=False),
        sa.Column("sha256", sa.Text(), nullable=False),
        sa.Column("attribution", sa.Text(), nullable=False),
        sa.Column("coverage", _geometry("MULTIPOLYGON"), nullable=False),
        sa.Column("coverage_note", sa.Text(), nullable=False),
        sa.Column("assets", sa.Integer(), nullable=False),
        sa.Column("rows_skipped", sa.Integer(), nullable=False),
        sa.Column(
            "loaded_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column("loaded_by", sa.Text(), nullable=False),
        sa.CheckConstraint("kind IN ('light', 'camera')", name="asset_inventories_kind"),
    )
    op.create_index(
        "asset_inventories_coverage_idx",
        "asset_inventories",
        ["coverage"],
        postgresql_using="gist",
    )
    op.create_table(
        "assets",
        sa.Column("id", sa.BigInteger(), sa.Identity(), primary_key=True),
        sa.Column(
            "inventory_id",
            sa.BigInteger(),
            sa.ForeignKey("asset_inventories.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("kind", sa.Text(), nullable=False),
        # The council's own id or description of the asset, as its file gives it.
        sa.Column("ref", sa.Text(), nullable=True),
        sa.Column("properties", JSONB(), server_default="{}", nullable=False),
        sa.Column("geom", _geometry("POINT"), nullable=False),
        sa.Column("ward_code", sa.Text(), nullable=True),
        sa.Column("borough_code", sa.Text(), nullable=True),
        sa.CheckConstraint("kind IN ('light', 'camera')", name="assets_kind"),
    )
    op.create_index("assets_geom_idx", "assets", ["geom"], postgresql_using="gist")
    op.create_index("assets_inventory_idx", "assets", ["inventory_id"])

    # A recommendation to a partner (a council team): a point or a short street stretch.
    op.create_table(
        "partner_requests",
        sa.Column(
            "id", UUID(as_uuid=True), primary_key=True, server_default=sa.text("gen_random_uuid()")
        ),
        sa.Column("reference", sa.Text(), nullable=False, unique=True),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        # A point, or a stretch's middle (where it is placed in a ward, as a walk concern is);
        # a stretch's line beside it. Evidence is measured from the line when there is one.
        sa.Column("geom", _geometry("POINT"), nullable=False),
        sa.Column("line", _geometry("LINESTRING"), nullable=True),
        sa.Column("ward_code", sa.Text(), nullable=True),
        sa.Column("borough_code", sa.Text(), nullable=True),
        # The council addressed (its borough: partners' tokens are scoped to boroughs) and team.
        sa.Column("partner_borough", sa.Text(), nullable=False),
        sa.Column("partner_team", sa.Text(), nullable=False),
        sa.Column("status", sa.Text(), server_default="proposed", nullable=False),
        sa.Column("status_at", sa.DateTime(timezone=True), server_default=sa.func.now(),
                  nullable=False),
        sa.Column("decline_reason", sa.Text(), nullable=True),
        sa.Column("bid_reference", sa.Text(), nullable=True),
        sa.Column("installed_on", sa.Date(), nullable=True),
        sa.Column("outcome", sa.Text(), nullable=True),
        sa.Column("raised_by", sa.Text(), nullable=False),
        sa.Column("raised_role", sa.Text(), nullable=False),
        sa.Column(
            "raised_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        # Raised from a walk concern, the walk (its officers follow what became of it).
        sa.Column(
            "walk_id", UUID(as_uuid=True), sa.ForeignKey("walks.id", ondelete="SET NULL")
        ),
        sa.Column("import_id", sa.BigInteger(), sa.ForeignKey("imports.id", ondelete="CASCADE")),
        sa.Column("synthetic", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.CheckConstraint(f"kind IN ({REQUEST_KINDS})", name="partner_requests_kind"),
        sa.CheckConstraint(f"status IN ({REQUEST_STATUSES})", name="partner_requests_status"),
        sa.CheckConstraint(
            "status <> 'declined' OR decline_reason IS NOT NULL",
            name="partner_requests_decline_reason",
        ),
        sa.CheckConstraint(
            "status <> 'installed' OR installed_on IS NOT NULL",
            name="partner_requests_installed_on",
        ),
    )
    op.create_index(
        "partner_requests_geom_idx", "partner_requests", ["geom"], postgresql_using="gist"
    )
    op.create_index(
        "partner_requests_partner_idx", "partner_requests", ["partner_borough", "status"]
    )
    # Every change of status: who, when, and what was said.
    op.create_table(
        "partner_request_events",
        sa.Column("id", sa.BigInteger(), sa.Identity(), primary_key=True),
        sa.Column(
            "request_id",
            UUID(as_uuid=True),
            sa.ForeignKey("partner_requests.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("changed_by", sa.Text(), nullable=False),
        sa.Column("changed_role", sa.Text(), nullable=False),
        sa.Column(
            "changed_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
    )
    op.create_index("partner_request_events_request_idx", "partner_request_events", ["request_id"])
    # The reports and walk concerns a request stands on.
    op.create_table(
        "partner_request_backing",
        sa.Column(
            "request_id",
            UUID(as_uuid=True),
            sa.ForeignKey("partner_requests.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column(
            "report_id",
            UUID(as_uuid=True),
            sa.ForeignKey("reports.id", ondelete="CASCADE"),
            primary_key=True,
        ),
    )
    op.drop_constraint("imports_kind", "imports", type_="check")
    op.create_check_constraint(
        "imports_kind", "imports", "kind IN ('reports', 'crimes', 'requests')"
    )


def downgrade() -> None:
    """Drop the planners' tables (their imports go with them)."""
    op.execute("DELETE FROM imports WHERE kind = 'requests'")
    op.drop_constraint("imports_kind", "imports", type_="check")
    op.create_check_constraint("imports_kind", "imports", "kind IN ('reports', 'crimes')")
    op.drop_table("partner_request_backing")
    op.drop_table("partner_request_events")
    op.drop_table("partner_requests")
    op.drop_table("assets")
    op.drop_table("asset_inventories")
