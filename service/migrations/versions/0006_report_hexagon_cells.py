"""Each report keeps its hexagon cell at every offered edge, so hot-spot counts are a GROUP BY

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

EDGES = (250, 500, 1000, 2000)

# PostGIS's own hexagon cells (ST_HexagonGrid / ST_Hexagon) on the British National Grid: the
# cell of a point is the one with the nearer centre of the two columns either side of it
# (geo.hexagons.hex_index does the same in numpy). Kept as i * 100000 + j in one integer
# (geo.hexagons.CELL_KEY_BASE). Stores compute the keys in Python as they write a report; this
# function fills the rows already there, and any row written without them.
HEX_CELL_KEY = """
CREATE FUNCTION hex_cell_key(x float8, y float8, edge float8) RETURNS integer
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
  SELECT (CASE WHEN d_right < d_left THEN (left_i + 1) * 100000 + right_j
               ELSE left_i * 100000 + left_j END)::integer
    FROM (SELECT left_i, left_j, right_j,
                 (x - 1.5 * edge * left_i) ^ 2
                   + (y - h * (2 * left_j + abs(left_i % 2))) ^ 2 AS d_left,
                 (x - 1.5 * edge * (left_i + 1)) ^ 2
                   + (y - h * (2 * right_j + abs((left_i + 1) % 2))) ^ 2 AS d_right
            FROM (SELECT left_i, h,
                         round((y / h - abs(left_i % 2)) / 2)::bigint AS left_j,
                         round((y / h - abs((left_i + 1) % 2)) / 2)::bigint AS right_j
                    FROM (SELECT floor(x / (1.5 * edge))::bigint AS left_i,
                                 edge * sqrt(3::float8) / 2 AS h) columns) rows_) cells
$$
"""


def upgrade() -> None:
    for edge in EDGES:
        op.add_column("reports", sa.Column(f"hex_{edge}", sa.Integer(), nullable=True))
    op.execute(HEX_CELL_KEY)
    keys = ", ".join(f"hex_{edge} = hex_cell_key(ST_X(g.p), ST_Y(g.p), {edge})" for edge in EDGES)
    op.execute(
        f"UPDATE reports r SET {keys} FROM (SELECT id, ST_Transform(geom, 27700) AS p "
        "FROM reports) g WHERE g.id = r.id"
    )


def downgrade() -> None:
    op.execute("DROP FUNCTION hex_cell_key(float8, float8, float8)")
    for edge in EDGES:
        op.drop_column("reports", f"hex_{edge}")
