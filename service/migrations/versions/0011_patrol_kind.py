"""Walks of kind "patrol": the kind check admits it

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-05
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_KINDS = "'commute', 'park', 'transport_hub', 'other'"


def upgrade() -> None:
    """Let a walk be a patrol (0010 added the patrol's fields but not the kind)."""
    op.drop_constraint("walks_kind", "walks", type_="check")
    op.create_check_constraint("walks_kind", "walks", f"kind IN ({_KINDS}, 'patrol')")


def downgrade() -> None:
    """Patrols cannot be kept under the old kinds: remove them first."""
    op.execute("DELETE FROM walks WHERE kind = 'patrol'")
    op.drop_constraint("walks_kind", "walks", type_="check")
    op.create_check_constraint("walks_kind", "walks", f"kind IN ({_KINDS})")
