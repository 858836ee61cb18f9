"""A walk concern remembers the id the phone gave it, so a resend is not a second concern

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # The live page keeps concerns on the phone while there is no signal and sends each when it
    # can; if the answer is lost on the way back it sends again, with the same id.
    op.add_column("reports", sa.Column("client_ref", postgresql.UUID(as_uuid=True), nullable=True))
    op.create_index(
        "reports_walk_client_ref_idx",
        "reports",
        ["walk_id", "client_ref"],
        unique=True,
        postgresql_where=sa.text("client_ref IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_index("reports_walk_client_ref_idx", "reports")
    op.drop_column("reports", "client_ref")
