"""Requests to take part, patrols, officers' accounts and safeguarding reminders

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-05
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import ARRAY, UUID

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add the take-part requests and their contacts, patrol fields, and account links."""
    # A woman's request to take part, routed to the officers of one ward. Where she lives or
    # works is kept only as that ward: the point she tapped is not stored.
    op.create_table(
        "participation_requests",
        sa.Column(
            "id", UUID(as_uuid=True), primary_key=True, server_default=sa.text("gen_random_uuid()")
        ),
        sa.Column("reference", sa.Text(), nullable=False, unique=True),
        sa.Column("ward_code", sa.Text(), nullable=False),
        sa.Column("borough_code", sa.Text(), nullable=False),
        sa.Column("availability", ARRAY(sa.Text()), nullable=False, server_default="{}"),
        sa.Column("status", sa.Text(), nullable=False, server_default="new"),
        sa.Column("decline_reason", sa.Text()),
        sa.Column("buddy_id", UUID(as_uuid=True), sa.ForeignKey("buddies.id", ondelete="SET NULL")),
        sa.Column("decided_by", sa.Text()),
        sa.Column("decided_at", sa.DateTime(timezone=True)),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column("synthetic", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.CheckConstraint(
            "status IN ('new', 'accepted', 'declined')", name="participation_requests_status"
        ),
        sa.CheckConstraint(
            "status <> 'declined' OR decline_reason IS NOT NULL",
            name="participation_requests_decline_reason",
        ),
    )
    op.create_index(
        "participation_requests_ward_idx", "participation_requests", ["ward_code", "status"]
    )
    # How to reach her: the protected contact store, as buddy_contacts; never in an answer.
    op.create_table(
        "participation_contacts",
        sa.Column(
            "request_id",
            UUID(as_uuid=True),
            sa.ForeignKey("participation_requests.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("contact", sa.Text(), nullable=False),
        sa.Column("consent_at", sa.DateTime(timezone=True), nullable=False),
    )
    # A patrol is a walk without a buddy: how many conversations, the themes heard, feedback.
    op.add_column("walks", sa.Column("conversations", sa.Integer()))
    op.add_column(
        "walks", sa.Column("patrol_themes", ARRAY(sa.Text()), nullable=False, server_default="{}")
    )
    op.add_column("walks", sa.Column("patrol_feedback", sa.Text()))
    op.create_check_constraint(
        "walks_conversations_check", "walks", "conversations IS NULL OR conversations >= 0"
    )
    # An officer's account can be closed; a token can belong to an officer's record.
    op.add_column("officers", sa.Column("deactivated_at", sa.DateTime(timezone=True)))
    op.add_column(
        "api_tokens",
        sa.Column(
            "officer_id", UUID(as_uuid=True), sa.ForeignKey("officers.id", ondelete="SET NULL")
        ),
    )
    # When the last reminder about a due safeguarding flag was sent (none twice a day).
    op.add_column("safeguarding", sa.Column("reminded_at", sa.DateTime(timezone=True)))


def downgrade() -> None:
    """Drop what upgrade added."""
    op.drop_column("safeguarding", "reminded_at")
    op.drop_column("api_tokens", "officer_id")
    op.drop_column("officers", "deactivated_at")
    op.drop_constraint("walks_conversations_check", "walks", type_="check")
    op.drop_column("walks", "patrol_feedback")
    op.drop_column("walks", "patrol_themes")
    op.drop_column("walks", "conversations")
    op.drop_table("participation_contacts")
    op.drop_index("participation_requests_ward_idx", table_name="participation_requests")
    op.drop_table("participation_requests")
