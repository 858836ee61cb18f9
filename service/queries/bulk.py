r"""COPY a DataFrame into a table in chunks of CSV text, reporting progress as it goes.

Formatting whole columns with pandas and sending CSV text is many times faster than handing
psycopg one Python tuple per row. Missing values travel as ``\N`` so that empty strings stay
empty strings.
"""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd
from sqlalchemy.orm import Session

# Called with (rows sent so far, rows in all); the CLI draws a progress bar with it.
Progress = Callable[[int, int], None]
CHUNK_ROWS = 50_000


def copy_frame(
    session: Session,
    table: str,
    frame: pd.DataFrame,
    *,
    progress: Progress | None = None,
    chunk_rows: int = CHUNK_ROWS,
) -> int:
    """COPY every row of ``frame`` (columns named as the table's) into ``table``."""
    raw = session.connection().connection.driver_connection
    assert raw is not None
    total = len(frame)
    columns = ", ".join(frame.columns)
    with (
        raw.cursor() as cursor,
        cursor.copy(f"COPY {table} ({columns}) FROM STDIN WITH (FORMAT csv, NULL '\\N')") as copy,
    ):
        for start in range(0, total, chunk_rows):
            chunk = frame.iloc[start : start + chunk_rows]
            copy.write(chunk.to_csv(index=False, header=False, na_rep="\\N"))
            if progress is not None:
                progress(min(start + chunk_rows, total), total)
    if progress is not None and total == 0:
        progress(0, 0)
    return total


def ewkt_points(lon: pd.Series, lat: pd.Series) -> pd.Series:
    """``SRID=4326;POINT(lon lat)`` text for each row, built column-wise."""
    return (
        "SRID=4326;POINT(" + lon.astype(float).map(repr) + " " + lat.astype(float).map(repr) + ")"
    )


def pg_text_array(values: pd.Series) -> pd.Series:
    """PostgreSQL array literals (``{a,b}``) for lists of plain slugs."""
    return pd.Series(["{" + ",".join(v) + "}" for v in values], index=values.index)
