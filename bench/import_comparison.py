"""The project's report import against GeoPandas and the COPY floor, at three sizes, two states.

Run with ``python -m bench.import_comparison [--sizes 10000,200000,1000000] [--filled 1000000]``.
Every size is loaded three ways, from the same CSV bytes (points spread over all 657 London
wards of 2018, which are loaded and active in each database), into a table that is either
empty or already holds ``--filled`` committed rows, VACUUM ANALYZEd:

* **project**: ``service.queries.imports.import_reports(session, data, "bench.csv",
  imported_by="bench")`` into ``reports`` -- parse and check every row, darkness, hexagon
  cells, wards in PostGIS, binary COPY into the indexed table (dropping and rebuilding the
  indexes when the load is at least 100,000 rows and the table holds fewer), the import's own
  bookkeeping in ``imports``. The call is timed, whole.
* **GeoPandas**, what an analyst would do: ``pd.read_csv`` of the bytes, ``points_from_xy``,
  ``gpd.sjoin(points, wards, predicate="within")`` against the 657 wards to get each row's ward
  and borough code (a point on a shared edge keeps its first ward), and ``to_postgis(...,
  if_exists="append", index=False)`` into ``geopandas_reports``. The wards are read from their
  file into memory *before* the clock starts (reading the MapInfo file is not timed). Into the
  empty state the table does not exist yet and ``to_postgis`` makes it (with the GiST index
  geoalchemy2 gives it); into the filled state it holds ``--filled`` rows written the same
  way, with that index. Timed from ``read_csv`` to the end of ``to_postgis``.
* **floor**: a binary COPY of exactly the rows the project's import wrote -- the same columns
  (those the import's COPY names, read from the call itself), the same values (ids included),
  in the same order -- into the same ``reports`` table in the same state, with all its
  indexes, keys and checks maintained row by row. The rows are copied out of the project's
  transaction before it is rolled back; the import's ``imports`` row (the foreign key's
  target) is put back untimed before the timed COPY.

How each state is kept the same for every load: every measured load runs in a transaction
that is rolled back, nothing is committed (so no method's time includes a COMMIT). After each
one the table loaded (and ``imports``) is VACUUMed -- the aborted rows' space is truncated
off the heap's end -- and REINDEXed, so the next load finds the same heap and freshly built
indexes, not indexes swollen by the rolled-back entries. The filled tables are REINDEXed
once right after they are filled too, so every load into them starts from the same state.
Before measuring, each database runs all three loads once on a small CSV (not reported), so
no method pays for first-use imports or cold catalogue caches.

``import_peak_memory`` times a separate ``walktalk reports import FILE`` process, as a user
would run it, and reads its peak resident memory from ``wait4``.
"""

from __future__ import annotations

import argparse
import io
import os
import secrets
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.orm import Session

from bench.report_import import make_csv
from bench.ward_lookup import _database, _say, _server
from boundaries.bundled import LONDON_WARDS_2018
from boundaries.reading import read_wards
from service.cluster import ensure_postgis
from service.db import migrate
from service.queries import imports, reports, wards

GEOPANDAS_TABLE = "geopandas_reports"
_WARD_SET = "london-2018"
_WARM_UP_ROWS = 1_000
_COPY_CHUNK = 8 * 2**20


@dataclass(frozen=True)
class ImportFigure:
    """Seconds to load ``rows`` rows three ways into a table in state ``table``."""

    rows: int
    table: str  # "empty" or "holding 1,000,000"
    project_s: float
    geopandas_s: float
    floor_s: float

    @property
    def vs_geopandas(self) -> float:
        """GeoPandas' seconds over the project's (above 1: the project is faster)."""
        return self.geopandas_s / self.project_s

    @property
    def vs_floor(self) -> float:
        """The floor's seconds over the project's (1 would be as fast as the bare COPY)."""
        return self.floor_s / self.project_s


def london_wards() -> gpd.GeoDataFrame:
    """The 657 London wards of 2018, as ``read_wards`` gives them (EPSG:4326)."""
    return read_wards(LONDON_WARDS_2018.path).wards


def _prepared_database(url: str, ward_frame: gpd.GeoDataFrame) -> Engine:
    """Migrate the database at ``url`` and load and activate the London wards in it."""
    ensure_postgis(url)
    engine = create_engine(url)
    migrate(engine)
    with Session(engine) as session, session.begin():
        wards.load_ward_set(
            session,
            ward_frame,
            name=_WARD_SET,
            source="bench",
            attribution=LONDON_WARDS_2018.attribution,
        )
        wards.activate_ward_set(session, _WARD_SET)
    return engine


def _maintain(engine: Engine, *statements: str) -> None:
    """Run statements that cannot run in a transaction (VACUUM)."""
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        for statement in statements:
            conn.execute(text(statement))


def _restore(engine: Engine, table: str) -> None:
    """Put ``table`` back as it was after a rolled-back load: dead rows gone, indexes fresh."""
    if table == GEOPANDAS_TABLE:
        exists = _exists(engine, GEOPANDAS_TABLE)
        if not exists:
            return  # the load made the table and the rollback took it away again
        _maintain(engine, f"VACUUM {table}", f"REINDEX TABLE {table}")
    else:
        _maintain(engine, f"VACUUM {table}, imports", f"REINDEX TABLE {table}")


def _exists(engine: Engine, table: str) -> bool:
    with engine.connect() as conn:
        return conn.execute(text("SELECT to_regclass(:t) IS NOT NULL"), {"t": table}).scalar_one()


@contextmanager
def _written_columns() -> Iterator[list[str]]:
    """The names of the columns ``store_reports`` COPYs into ``reports`` while inside."""
    names: list[str] = []
    original = reports.copy_binary

    def recording(session: Session, table: str, columns: Sequence[Any], **kwargs: Any) -> int:
        if table == "reports":
            names[:] = [column.name for column in columns]
        return original(session, table, columns, **kwargs)

    reports.copy_binary = recording
    try:
        yield names
    finally:
        reports.copy_binary = original


def _raw(session: Session) -> Any:
    raw = session.connection().connection.driver_connection
    assert raw is not None
    return raw


def _copy_out(session: Session, query: str) -> bytes:
    out = bytearray()
    with _raw(session).cursor() as cursor, cursor.copy(query) as copy:
        for chunk in copy:
            out += chunk
    return bytes(out)


def _copy_in(session: Session, statement: str, data: bytes) -> None:
    with _raw(session).cursor() as cursor, cursor.copy(statement) as copy:
        view = memoryview(data)
        for start in range(0, len(view), _COPY_CHUNK):
            copy.write(view[start : start + _COPY_CHUNK])


@dataclass(frozen=True)
class _Written:
    """What the project's import wrote, to be written again by the floor's COPY."""

    columns: list[str]
    rows: bytes  # binary COPY of the reports rows, in the order written
    import_row: bytes  # binary COPY of the imports row they point to


def _project(engine: Engine, data: bytes, rows: int) -> tuple[float, _Written]:
    """Seconds of the project's import of ``data`` (rolled back), and the rows it wrote."""
    with Session(engine) as session:
        session.begin()
        try:
            with _written_columns() as columns:
                started = time.perf_counter()
                outcome = imports.import_reports(session, data, "bench.csv", imported_by="bench")
                seconds = time.perf_counter() - started
            if outcome.stored != rows:
                raise RuntimeError(f"the project's import stored {outcome.stored:,} of {rows:,}")
            import_id = session.execute(
                text("SELECT id FROM imports WHERE sha256 = :sha"),
                {"sha": imports.file_sha256(data)},
            ).scalar_one()
            names = ", ".join(columns)
            written = _Written(
                columns=list(columns),
                rows=_copy_out(
                    session,
                    f"COPY (SELECT {names} FROM reports WHERE import_id = {int(import_id)} "
                    "ORDER BY ctid) TO STDOUT (FORMAT binary)",
                ),
                import_row=_copy_out(
                    session,
                    f"COPY (SELECT * FROM imports WHERE id = {int(import_id)}) "
                    "TO STDOUT (FORMAT binary)",
                ),
            )
        finally:
            session.rollback()
    _restore(engine, "reports")
    return seconds, written


def _floor(engine: Engine, written: _Written) -> float:
    """Seconds of a binary COPY of the written rows into ``reports`` (rolled back)."""
    with Session(engine) as session:
        session.begin()
        try:
            _copy_in(session, "COPY imports FROM STDIN (FORMAT binary)", written.import_row)
            names = ", ".join(written.columns)
            started = time.perf_counter()
            _copy_in(session, f"COPY reports ({names}) FROM STDIN (FORMAT binary)", written.rows)
            seconds = time.perf_counter() - started
        finally:
            session.rollback()
    _restore(engine, "reports")
    return seconds


def _analyst_load(data: bytes, ward_frame: gpd.GeoDataFrame, con: Any) -> int:
    """What an analyst would do with the CSV: read it, find the wards, append to PostGIS."""
    frame = pd.read_csv(io.BytesIO(data))
    points = gpd.GeoDataFrame(
        frame, geometry=gpd.points_from_xy(frame["lon"], frame["lat"]), crs=4326
    )
    joined = gpd.sjoin(points, ward_frame, predicate="within")
    # A point on an edge two wards share is in both: keep the first.
    joined = joined[~joined.index.duplicated()].drop(columns="index_right")
    joined = joined.rename(columns={"code": "ward_code"})
    joined.to_postgis(GEOPANDAS_TABLE, con, if_exists="append", index=False)
    return len(joined)


def _geopandas(engine: Engine, data: bytes, ward_frame: gpd.GeoDataFrame, rows: int) -> float:
    """Seconds of the analyst's load of ``data`` into ``geopandas_reports`` (rolled back)."""
    with engine.connect() as conn:
        transaction = conn.begin()
        try:
            started = time.perf_counter()
            written = _analyst_load(data, ward_frame, conn)
            seconds = time.perf_counter() - started
        finally:
            transaction.rollback()
    if written != rows:
        raise RuntimeError(f"GeoPandas wrote {written:,} of {rows:,} rows")
    _restore(engine, GEOPANDAS_TABLE)
    return seconds


def _fill(engine: Engine, data: bytes, ward_frame: gpd.GeoDataFrame, rows: int) -> None:
    """Commit ``rows`` rows into both ``reports`` and ``geopandas_reports``, each its way."""
    with Session(engine) as session, session.begin():
        outcome = imports.import_reports(session, data, "filled.csv", imported_by="bench")
    if outcome.stored != rows:
        raise RuntimeError(f"filling stored {outcome.stored:,} of {rows:,} rows")
    _analyst_load(data, ward_frame, engine)
    _maintain(
        engine,
        "REINDEX TABLE reports",
        f"REINDEX TABLE {GEOPANDAS_TABLE}",
        f"VACUUM ANALYZE reports, imports, {GEOPANDAS_TABLE}",
    )


def _measure(
    engine: Engine, data: bytes, rows: int, ward_frame: gpd.GeoDataFrame
) -> tuple[float, float, float]:
    project_s, written = _project(engine, data, rows)
    floor_s = _floor(engine, written)
    del written
    geopandas_s = _geopandas(engine, data, ward_frame, rows)
    return project_s, geopandas_s, floor_s


def compare_imports(
    server: str,
    *,
    sizes: Sequence[int] = (10_000, 200_000, 1_000_000),
    filled_rows: int = 1_000_000,
    seed: int = 20261205,
    say: Callable[[str], None] = _say,
) -> list[ImportFigure]:
    """Time the three loads of each size into an empty and into a filled table.

    ``server`` is an admin URL (as ``bench.ward_lookup._server`` yields); each table state gets
    a database of its own, dropped afterwards. CSVs of a size are made with ``seed``, the
    filling one with ``seed + 1`` (so no measured file was imported before).
    """
    ward_frame = london_wards()
    # What the analyst joins against, in memory before any clock starts.
    join_wards = ward_frame[["code", "borough_code", "geometry"]]
    say(f"making CSVs of {', '.join(f'{n:,}' for n in sizes)} reports in London's wards …")
    files = {rows: make_csv(rows, seed, wards=ward_frame) for rows in sizes}
    warm_up = make_csv(_WARM_UP_ROWS, seed + 2, wards=ward_frame)
    figures: list[ImportFigure] = []
    states = [("empty", 0)]
    if filled_rows > 0:
        states.append((f"holding {filled_rows:,}", filled_rows))
    for state, filled in states:
        with _database(server) as url:
            say(f"[{state}] a database with the 657 London wards …")
            engine = _prepared_database(url, ward_frame)
            try:
                if filled:
                    say(f"[{state}] filling both tables with {filled:,} rows …")
                    _fill(engine, make_csv(filled, seed + 1, wards=ward_frame), join_wards, filled)
                say(f"[{state}] warming up with {_WARM_UP_ROWS:,} rows …")
                _measure(engine, warm_up, _WARM_UP_ROWS, join_wards)
                for rows in sizes:
                    say(f"[{state}] {rows:,} rows: project, floor, GeoPandas …")
                    project_s, geopandas_s, floor_s = _measure(
                        engine, files[rows], rows, join_wards
                    )
                    figure = ImportFigure(rows, state, project_s, geopandas_s, floor_s)
                    say(
                        f"[{state}] {rows:,} rows: project {project_s:.2f}s, GeoPandas "
                        f"{geopandas_s:.2f}s, floor {floor_s:.2f}s"
                    )
                    figures.append(figure)
            finally:
                engine.dispose()
    return figures


def _cli_command() -> list[str]:
    script = Path(sys.executable).parent / "walktalk"
    if script.exists():
        return [str(script)]
    return [sys.executable, "-m", "service.cli"]


def import_peak_memory(
    server: str, rows: int = 1_000_000, seed: int = 20261205
) -> tuple[float, int]:
    """Seconds and peak resident bytes of ``walktalk reports import`` of ``rows`` rows.

    The CSV (points over the 657 London wards) is written to a file and imported by the
    project's CLI in a child process, into an empty ``reports`` table of a fresh database with
    the wards active, as a user would. The seconds run from starting the child to its exit
    (interpreter start-up and imports included); the peak is the child's own ``ru_maxrss``
    from ``wait4``. A non-zero exit raises with the child's stderr.
    """
    ward_frame = london_wards()
    data = make_csv(rows, seed, wards=ward_frame)
    with _database(server) as url, tempfile.TemporaryDirectory(prefix="walktalk-mem-") as tmp:
        _prepared_database(url, ward_frame).dispose()
        path = Path(tmp) / "reports.csv"
        path.write_bytes(data)
        del data
        env = {
            **os.environ,
            "DATABASE_URL": url,
            "WALKTALK_HOME": str(Path(tmp) / "home"),
            "WALKTALK_SECRET_KEY": secrets.token_urlsafe(48),
        }
        stderr_path = Path(tmp) / "stderr.txt"
        with stderr_path.open("wb") as stderr, (Path(tmp) / "stdout.txt").open("wb") as stdout:
            started = time.perf_counter()
            child = subprocess.Popen(
                [*_cli_command(), "reports", "import", str(path)],
                env=env,
                cwd=tmp,
                stdin=subprocess.DEVNULL,
                stdout=stdout,
                stderr=stderr,
            )
            _, status, usage = os.wait4(child.pid, 0)
            seconds = time.perf_counter() - started
        code = os.waitstatus_to_exitcode(status)
        child.returncode = code  # reaped here: Popen must not wait for it again
        if code != 0:
            raise RuntimeError(
                f"walktalk reports import exited with {code}: "
                + stderr_path.read_text(errors="replace")
            )
        engine = create_engine(url)
        try:
            with engine.connect() as conn:
                stored = conn.execute(text("SELECT count(*) FROM reports")).scalar_one()
        finally:
            engine.dispose()
        if stored != rows:
            raise RuntimeError(f"walktalk reports import stored {stored:,} of {rows:,} rows")
    # ru_maxrss is in kilobytes on Linux.
    return seconds, usage.ru_maxrss * 1024


def format_figures(figures: Sequence[ImportFigure]) -> str:
    """The figures as a plain-text table."""
    lines = [
        f"{'rows':>10}  {'table':<18}{'project':>10}{'GeoPandas':>11}{'floor':>9}"
        f"{'vs GeoPandas':>14}{'vs floor':>10}"
    ]
    for f in figures:
        lines.append(
            f"{f.rows:>10,}  {f.table:<18}{f.project_s:>9.2f}s{f.geopandas_s:>10.2f}s"
            f"{f.floor_s:>8.2f}s{f.vs_geopandas:>14.2f}{f.vs_floor:>10.2f}"
        )
    return "\n".join(lines)


def _sizes(value: str) -> list[int]:
    return [int(part.replace("_", "")) for part in value.split(",") if part.strip()]


def main(argv: Sequence[str] | None = None) -> int:
    """Parse options, run the comparison (and the CLI's peak memory), print the table."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--sizes", type=_sizes, default=[10_000, 200_000, 1_000_000])
    parser.add_argument("--filled", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=20261205)
    parser.add_argument(
        "--memory-rows",
        type=int,
        default=1_000_000,
        help="rows for the CLI's time and peak memory in a separate process (0: skip)",
    )
    args = parser.parse_args(argv)
    load_before = os.getloadavg()
    with _server() as server:
        figures = compare_imports(server, sizes=args.sizes, filled_rows=args.filled, seed=args.seed)
        memory = None
        if args.memory_rows:
            _say(f"walktalk reports import of {args.memory_rows:,} rows in its own process …")
            memory = import_peak_memory(server, args.memory_rows, args.seed)
    print(format_figures(figures))
    print(
        "vs GeoPandas = GeoPandas s / project s (above 1: the project is faster); "
        "vs floor = floor s / project s"
    )
    load_after = os.getloadavg()
    print(
        "load average (1/5/15 min) at the start "
        + " / ".join(f"{x:.1f}" for x in load_before)
        + ", at the end "
        + " / ".join(f"{x:.1f}" for x in load_after)
        + " (2 cores: above about 2, something else shared the machine)"
    )
    if memory is not None:
        seconds, peak = memory
        print(
            f"walktalk reports import, {args.memory_rows:,} rows, own process: "
            f"{seconds:.2f}s, peak resident memory {peak / 2**20:,.0f} MiB"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
