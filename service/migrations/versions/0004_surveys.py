"""Surveys, one-time survey links, and the stretch a walk concern is about

The buddy's baseline, the officer's and the buddy's after-walk answers; concerns raised along a
short stretch keep the stretch.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import geoalchemy2
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _walk_fk() -> sa.ForeignKey:
    return sa.ForeignKey("walks.id", ondelete="CASCADE")


def _one_to_five(column: str, table: str) -> sa.CheckConstraint:
    return sa.CheckConstraint(f"{column} BETWEEN 1 AND 5", name=f"{table}_{column}_1_to_5")


def upgrade() -> None:
    # How safe the buddy feels on this route before the walk, 1 (very unsafe) to 5 (very safe).
    op.add_column("walks", sa.Column("baseline_safety", sa.SmallInteger(), nullable=True))
    op.add_column(
        "walks", sa.Column("baseline_recorded_at", sa.DateTime(timezone=True), nullable=True)
    )
    op.create_check_constraint(
        "walks_baseline_safety_1_to_5", "walks", "baseline_safety BETWEEN 1 AND 5"
    )
    # A concern raised along a stretch (an unlit path, say) is counted at the stretch's middle;
    # the stretch itself is kept to draw it.
    op.add_column(
        "reports",
        sa.Column(
            "concern_line",
            geoalchemy2.Geometry("LINESTRING", srid=4326, spatial_index=False),
            nullable=True,
        ),
    )
    op.create_table(
        "officer_surveys",
        sa.Column("walk_id", postgresql.UUID(as_uuid=True), _walk_fk(), primary_key=True),
        sa.Column("ward_code", sa.Text(), nullable=False),
        sa.Column("borough_code", sa.Text(), nullable=False),
        sa.Column("walk_useful", sa.SmallInteger(), nullable=False),
        sa.Column("themes", postgresql.ARRAY(sa.Text()), server_default="{}", nullable=False),
        sa.Column("actions", postgresql.ARRAY(sa.Text()), server_default="{}", nullable=False),
        sa.Column("follow_up_walk", sa.Boolean(), nullable=False),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("submitted_by", sa.Text(), nullable=False),
        sa.Column(
            "submitted_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        _one_to_five("walk_useful", "officer_surveys"),
    )
    op.create_table(
        "buddy_surveys",
        sa.Column("walk_id", postgresql.UUID(as_uuid=True), _walk_fk(), primary_key=True),
        sa.Column("ward_code", sa.Text(), nullable=False),
        sa.Column("borough_code", sa.Text(), nullable=False),
        sa.Column("felt_safer", sa.SmallInteger(), nullable=False),
        sa.Column("police_confidence", sa.SmallInteger(), nullable=False),
        sa.Column("would_recommend", sa.Boolean(), nullable=False),
        sa.Column("themes", postgresql.ARRAY(sa.Text()), server_default="{}", nullable=False),
        sa.Column("comments", sa.Text(), nullable=True),
        # The day only: the buddy answers alone, and the hour adds nothing to the evaluation.
        sa.Column("submitted_on", sa.Date(), server_default=sa.func.current_date(), nullable=False),
        _one_to_five("felt_safer", "buddy_surveys"),
        _one_to_five("police_confidence", "buddy_surveys"),
    )
    # The link's secret is never stored, only its keyed hash (as for API tokens).
    op.create_table(
        "survey_links",
        sa.Column(
            "id",
            postgresql.UUID(as_uuid=True),
            primary_key=True,
            server_default=sa.text("gen_random_uuid()"),
        ),
        sa.Column("walk_id", postgresql.UUID(as_uuid=True), _walk_fk(), nullable=False),
        sa.Column("borough_code", sa.Text(), nullable=False),
        sa.Column("secret_hash", sa.LargeBinary(), nullable=False, unique=True),
        sa.Column("created_by", sa.Text(), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("survey_links_walk_idx", "survey_links", ["walk_id"])


def downgrade() -> None:
    op.drop_index("survey_links_walk_idx", "survey_links")
    for table in ("survey_links", "buddy_surveys", "officer_surveys"):
        op.drop_table(table)
    op.drop_column("reports", "concern_line")
    op.drop_constraint("walks_baseline_safety_1_to_5", "walks")
    op.drop_column("walks", "baseline_recorded_at")
    op.drop_column("walks", "baseline_safety")
