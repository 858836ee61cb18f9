"""Imports keep a digest of their parsed rows, so a file saved again adds nothing

A copy with CRLF line endings, another encoding, or its rows or columns reordered has other
bytes but the same rows; ``content_sha256`` recognises it.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add ``imports.content_sha256`` (empty for imports made before) and index it per kind."""
    op.add_column("imports", sa.Column("content_sha256", sa.Text(), nullable=True))
    op.create_index("imports_kind_content_idx", "imports", ["kind", "content_sha256"], unique=True)


def downgrade() -> None:
    """Drop the rows' digest."""
    op.drop_index("imports_kind_content_idx", table_name="imports")
    op.drop_column("imports", "content_sha256")
