"""The ``walktalk`` command: the embedded database, ward boundaries, tokens, and the server.

Every command that writes does so in one transaction: on any refusal nothing is stored and the
exit code is non-zero, with a message that says what was wrong and how to fix it.
"""

from __future__ import annotations

import argparse
import smtplib
import socket
import sys
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool

from boundaries.bundled import (
    BOROUGHS_ATTRIBUTION,
    DATA_DIR,
    LONDON_BOROUGHS_PATH,
    LONDON_WARDS_2018,
    PILOT_WARDS,
    BundledWardSet,
)
from boundaries.reading import BoundaryFileError, read_boroughs, read_wards
from geo.osm import OsmFileError, read_osm_features
from geo.problems import ProblemTally
from geo.streets import read_osm_streets
from maps.assets import INSTALL_COMMAND, VENDOR_DIR, check_assets_installed
from service import backup as backup_tools
from service.auth import Role
from service.cluster import Cluster, ClusterError, ensure_postgis
from service.db import head_revision, libpq_url, migrate, require_migrated, sqlalchemy_url
from service.errors import WalkTalkError
from service.population_load import BUNDLED_DIR, load_population
from service.queries import assets as asset_queries
from service.queries import demo as demo_queries
from service.queries import demo_requests, officers
from service.queries import imports as import_queries
from service.queries import osm as osm_queries
from service.queries import population as population_queries
from service.queries import retention as retention_queries
from service.queries import tokens as token_queries
from service.queries import wards as ward_queries
from service.queries.bulk import Progress
from service.queries.demo_walks import demo_officer, seed_patrols, seed_walks
from service.settings import Settings

CLI_ACTOR = "command line"
#: The pilot's boroughs, Lambeth and Southwark: the demo planner's; the demo council is Lambeth.
DEMO_BOROUGHS = ["E09000022", "E09000028"]
#: Synthetic patrols the demo adds in SE1 beside its walks.
DEMO_PATROLS = 8


def _say(*lines: str) -> None:
    for line in lines:
        print(line)


def _note(*lines: str) -> None:
    for line in lines:
        print(line, file=sys.stderr)


def _database(settings: Settings, *, start: bool = True) -> Engine:
    """An engine, starting the embedded cluster first when no DATABASE_URL is set."""
    if not settings.database_url and start:
        cluster = Cluster(settings.home)
        if not cluster.status().running:
            _note(*cluster.up())
    # No pool: a command is short-lived and must leave no connection open behind it.
    return create_engine(sqlalchemy_url(settings), poolclass=NullPool)


def _migrated(settings: Settings) -> Engine:
    engine = _database(settings)
    require_migrated(engine)
    return engine


# -- db -------------------------------------------------------------------------------------------


def cmd_db_up(settings: Settings, _: argparse.Namespace) -> None:
    """Start the embedded cluster (or check the configured server)."""
    if settings.database_url:
        _say(
            f"DATABASE_URL is set: using that server; PostGIS {ensure_postgis(libpq_url(settings))}"
        )
        return
    _say(*Cluster(settings.home).up())


def cmd_db_down(settings: Settings, _: argparse.Namespace) -> None:
    """Stop the embedded cluster."""
    if settings.database_url:
        raise ClusterError("DATABASE_URL is set: that server is not ours to stop")
    _say(*Cluster(settings.home).down())


def cmd_db_status(settings: Settings, _: argparse.Namespace) -> None:
    """Say whether the embedded cluster runs, and where."""
    if settings.database_url:
        _say("using DATABASE_URL (not the embedded cluster)")
        return
    status = Cluster(settings.home).status()
    state = f"running (pid {status.pid})" if status.running else "stopped"
    if not status.initialised:
        state = "not created yet (run `walktalk db up`)"
    _say(
        f"embedded PostgreSQL: {state}", f"data: {status.data_dir}", f"socket: {status.socket_dir}"
    )
    if not status.running:
        raise SystemExit(3)


def cmd_db_url(settings: Settings, _: argparse.Namespace) -> None:
    """Print a libpq URL for psql."""
    _say(libpq_url(settings))


def cmd_db_migrate(settings: Settings, _: argparse.Namespace) -> None:
    """Create PostGIS if needed and apply every migration."""
    engine = _database(settings)
    ensure_postgis(libpq_url(settings))
    before, after = migrate(engine)
    _say(f"database migrated: {before or 'empty'} → {after}")


def cmd_db_backup(settings: Settings, args: argparse.Namespace) -> None:
    """Write the whole database to a file (pg_dump custom format)."""
    _database(settings).dispose()  # starts the embedded cluster when it is stopped
    done = backup_tools.backup(libpq_url(settings), Path(args.path))
    _say(
        f"backed up database {done.database!r} (PostgreSQL {done.server_version}, migration "
        f"{done.revision or 'none'}) to {done.path} ({done.bytes / 1e6:,.1f} MB)",
        f"  {backup_tools.describe_rows(done.rows) or 'no rows'}",
        f"restore it with `walktalk db restore {done.path}`",
    )


def cmd_db_restore(settings: Settings, args: argparse.Namespace) -> None:
    """Replace the database by a backup, whole or not at all."""
    _database(settings).dispose()
    path = Path(args.path)
    _note(f"restoring {path} …")
    done = backup_tools.restore(libpq_url(settings), path, replace=args.replace)
    if backup_tools.holds_data(done.replaced):
        _say(f"replaced what database {done.database!r} held: "
             f"{backup_tools.describe_rows(done.replaced)}")
    _say(
        f"restored {path} into database {done.database!r} (migration {done.revision or 'none'})",
        f"  {backup_tools.describe_rows(done.rows) or 'no rows'}",
    )
    if done.revision != head_revision():
        _say(
            f"the backup is at migration {done.revision} and this walktalk at {head_revision()}: "
            "run `walktalk db migrate` next (or, for a backup from a newer walktalk, serve it "
            "with that version)"
        )


# -- wards ----------------------------------------------------------------------------------------


def _store_ward_set(
    engine: Engine,
    path: Path,
    *,
    name: str,
    attribution: str,
    description: str,
    activate: bool,
    source: str | None = None,
    **read_options: str | None,
) -> None:
    ward_file = read_wards(path, **read_options)
    if ward_file.repaired:
        _note(
            f"repaired invalid polygons of {len(ward_file.repaired)} wards: "
            + ", ".join(ward_file.repaired)
        )
    with Session(engine) as session, session.begin():
        set_id = ward_queries.load_ward_set(
            session,
            ward_file.wards,
            name=name,
            source=source or str(path),
            attribution=attribution,
            description=description,
        )
        check = ward_queries.check_ward_set(session, set_id)
        for warning in check.warnings:
            _note(f"warning: {warning}")
        if check.problems:
            raise WalkTalkError(f"ward set {name!r} refused: " + "; ".join(check.problems))
        # Residents per ward for rates per 1,000 (nothing when no population is loaded yet).
        population_queries.store_ward_population(session, set_id)
        _say(
            f"loaded ward set {name!r}: {check.wards} wards from {path.name} "
            f"({ward_file.source_crs}), {check.parts} lookup pieces"
        )
        if activate:
            reassigned = ward_queries.activate_ward_set(session, name)
            _say(
                f"activated {name!r}"
                + "".join(f"; re-assigned {n} rows of {t}" for t, n in reassigned.items())
            )


def cmd_wards_load(settings: Settings, args: argparse.Namespace) -> None:
    """Load a boundary file as a new ward set."""
    path = Path(args.path)
    _store_ward_set(
        _migrated(settings),
        path,
        name=args.set or path.stem,
        attribution=args.attribution or f"Ward boundaries: {path.name}",
        description=args.description or "",
        activate=args.activate,
        layer=args.layer,
        code_field=args.code_field,
        name_field=args.name_field,
        borough_field=args.borough_field,
        borough_name_field=args.borough_name_field,
        crs=args.crs,
    )


def _load_bundled(engine: Engine, bundled: BundledWardSet, activate: bool) -> None:
    with Session(engine) as session:
        known = {s.name for s in ward_queries.list_ward_sets(session)}
    if bundled.name in known:
        _say(f"ward set {bundled.name!r} already loaded")
        return
    _store_ward_set(
        engine,
        bundled.path,
        name=bundled.name,
        attribution=bundled.attribution,
        description=bundled.description,
        activate=activate,
        source=f"bundled: boundaries/data/{bundled.path.relative_to(DATA_DIR)}",
    )


def cmd_wards_bundled(settings: Settings, args: argparse.Namespace) -> None:
    """Load the bundled boroughs, the pilot wards (active) and, unless told not, all London's."""
    engine = _migrated(settings)
    with Session(engine) as session, session.begin():
        count = ward_queries.load_boroughs(
            session, read_boroughs(LONDON_BOROUGHS_PATH), attribution=BOROUGHS_ATTRIBUTION
        )
        active = ward_queries.active_ward_set(session)
    _say(f"boroughs: {count} London boroughs stored")
    _load_bundled(engine, PILOT_WARDS, activate=active is None)
    if not args.pilot_only:
        _load_bundled(engine, LONDON_WARDS_2018, activate=False)


def cmd_wards_list(settings: Settings, _: argparse.Namespace) -> None:
    """List the stored ward sets."""
    with Session(_migrated(settings)) as session:
        sets = ward_queries.list_ward_sets(session)
    if not sets:
        _say("no ward sets loaded: run `walktalk wards bundled`")
    for s in sets:
        mark = "*" if s.is_active else " "
        _say(
            f"{mark} {s.name:<20} {s.wards:>4} wards {s.boroughs:>3} boroughs  "
            f"loaded {s.loaded_at:%Y-%m-%d %H:%M}  {s.source}"
        )


def cmd_wards_activate(settings: Settings, args: argparse.Namespace) -> None:
    """Make a loaded ward set the active one."""
    with Session(_migrated(settings)) as session, session.begin():
        reassigned = ward_queries.activate_ward_set(session, args.name)
    _say(
        f"activated {args.name!r}"
        + "".join(f"; re-assigned {n} rows of {t}" for t, n in reassigned.items())
    )


def cmd_wards_delete(settings: Settings, args: argparse.Namespace) -> None:
    """Delete an inactive ward set that nothing references, in one transaction."""
    with Session(_migrated(settings)) as session, session.begin():
        wards = ward_queries.delete_ward_set(session, args.name)
    _say(f"deleted ward set {args.name!r} and its {wards} wards")


# -- reports and crimes ---------------------------------------------------------------------------


def _progress(description: str) -> Progress:
    """A tqdm progress bar on stderr, drawn as rows are sent (silent when not a terminal)."""
    from tqdm import tqdm

    bar: Any = None

    def update(done: int, total: int) -> None:
        nonlocal bar
        if bar is None:
            bar = tqdm(total=total, desc=description, unit=" rows", disable=None)
        bar.update(done - bar.n)
        if done >= total:
            bar.close()

    return update


def cmd_reports_import(settings: Settings, args: argparse.Namespace) -> None:
    """Import a CSV or GeoJSON of reports, whole or not at all."""
    path = Path(args.path)
    if not path.is_file():
        raise WalkTalkError(f"no such file: {path}")
    fields = import_queries.ReportFields(
        lon=args.lon_field,
        lat=args.lat_field,
        easting=args.easting_field,
        northing=args.northing_field,
    )
    # Every bad row goes to the rejects file when one is named, or when the good rows are
    # stored without them; the terminal gets the first rows of each kind of problem only.
    rejects = (
        Path(args.rejects)
        if args.rejects
        else Path(f"{path.stem}.rejects.csv")
        if args.skip_invalid
        else None
    )
    engine = _migrated(settings)
    try:
        with Session(engine) as session, session.begin():
            outcome = import_queries.import_reports(
                session,
                path.read_bytes(),
                path.name,
                imported_by=CLI_ACTOR,
                fields=fields,
                skip_invalid=args.skip_invalid,
                progress=_progress(f"importing {path.name}"),
                rejects=rejects,
            )
    except import_queries.ImportRefused as refused:
        _note(*refused.tally.summary(path.name))
        if rejects is not None:
            _note(f"every bad row is listed in {rejects}")
        raise
    if outcome.already_imported:
        _say(f"{path.name} was imported before (same content): nothing added")
        return
    _say(f"{path.name}: stored {outcome.stored} reports")
    if outcome.skipped:
        _say(f"skipped {outcome.skipped} bad rows, listed in {rejects}")
        _say(*(f"  {kind}: {rows:,} rows" for kind, rows in outcome.kinds))


def cmd_crimes_import(settings: Settings, args: argparse.Namespace) -> None:
    """Import police.uk files (bulk CSV or API JSON), all of them in one go or none."""
    paths = [Path(name) for name in args.paths]
    for path in paths:
        if not path.is_file():
            raise WalkTalkError(f"no such file: {path}")
    engine = _migrated(settings)
    # One transaction for every file: a refused file leaves the files before it unstored too.
    with Session(engine) as session, session.begin():
        outcomes = [
            import_queries.import_crimes(
                session,
                path,
                imported_by=CLI_ACTOR,
                progress=_progress(f"importing {path.name}"),
            )
            for path in paths
        ]
    for outcome in outcomes:
        if outcome.already_imported:
            _say(f"{outcome.file_name} was imported before (same content): nothing added")
        else:
            _say(
                f"{outcome.file_name}: stored {outcome.stored} crimes, skipped "
                f"{outcome.skipped} published without a location"
            )


def cmd_osm_load(settings: Settings, args: argparse.Namespace) -> None:
    """Load OpenStreetMap extracts for the base map, all of them in one go or none."""
    paths = [Path(name) for name in args.paths]
    try:
        extracts = [(path, read_osm_features(path)) for path in paths]
    except OsmFileError as exc:
        raise WalkTalkError(f"{exc}: nothing was loaded") from None
    with Session(_migrated(settings)) as session, session.begin():
        stored = [
            (path, osm_queries.store_features(session, features, source=path.name))
            for path, features in extracts
        ]
    for path, count in stored:
        _say(f"{path.name}: {count} streets, paths, parks, water areas and lamps loaded")
    _say("the base map's tiles (/tiles/{z}/{x}/{y}.mvt) now draw them; © OpenStreetMap (ODbL)")


def cmd_assets_import(settings: Settings, args: argparse.Namespace) -> None:
    """Import a council's CSV or GeoJSON of street lights or cameras, whole or not at all."""
    path = Path(args.path)
    if not path.is_file():
        raise WalkTalkError(f"no such file: {path}")
    with Session(_migrated(settings)) as session, session.begin():
        outcome = asset_queries.import_assets(
            session,
            path.read_bytes(),
            path.name,
            kind=args.kind,
            name=args.name,
            covers=args.covers,
            attribution=args.attribution,
            loaded_by=CLI_ACTOR,
            progress=_progress(f"importing {path.name}"),
        )
    if outcome.already_loaded:
        _say(f"{path.name} was loaded before (same content) as {outcome.name!r}: nothing added")
        return
    _say(
        f"{path.name}: stored {outcome.stored:,} {args.kind}s as {outcome.name!r} "
        f"({outcome.in_wards:,} inside the active wards), placed by {outcome.location}",
        f"coverage: {outcome.coverage_note}",
    )
    if outcome.skipped is not None and outcome.rows_skipped:
        tally = ProblemTally(keep=3)
        tally.add(outcome.skipped.problems)
        _say(f"skipped {outcome.rows_skipped:,} of {outcome.rows_read:,} rows:")
        _say(*(f"  {line}" for line in tally.summary(path.name)))


def cmd_assets_list(settings: Settings, _: argparse.Namespace) -> None:
    """List the stored inventories of street lights and cameras."""
    with Session(_migrated(settings)) as session:
        inventories = asset_queries.list_inventories(session)
    if not inventories:
        _say("no street lights or cameras loaded: run `walktalk assets import FILE --kind light`")
    for i in inventories:
        _say(
            f"{i.name:<28} {i.kind:<6} {i.assets:>7,} ({i.in_wards:,} in the active wards, "
            f"{i.rows_skipped:,} rows skipped)  loaded {i.loaded_at:%Y-%m-%d %H:%M}  "
            f"from {i.file_name}",
            f"    coverage: {i.coverage_note}",
            f"    {i.attribution}",
        )


def cmd_assets_delete(settings: Settings, args: argparse.Namespace) -> None:
    """Delete an inventory and its assets, in one transaction."""
    with Session(_migrated(settings)) as session, session.begin():
        count = asset_queries.delete_inventory(session, args.name)
    _say(f"deleted asset inventory {args.name!r} and its {count:,} assets")


def cmd_population_load(settings: Settings, args: argparse.Namespace) -> None:
    """Load ONS LSOA population estimates (the bundled ones by default), all or none."""
    folder = Path(args.folder) if args.folder else None
    loaded = load_population(
        _migrated(settings), folder, progress=_progress("storing LSOA estimates")
    )
    _say(
        f"{loaded.folder.name}: {loaded.lsoas:,} LSOAs loaded, {loaded.persons:,} residents, "
        f"{loaded.females:,} women"
    )
    for name, wards in loaded.wards.items():
        _say(f"ward set {name!r}: residents apportioned by area to {wards} wards")
    _say("rates per 1,000 residents and per 1,000 women now show in summaries and hot spots")


def cmd_demo_seed(settings: Settings, args: argparse.Namespace) -> None:
    """Store synthetic demo reports and walks, flagged as such."""
    streets = None
    if args.walks and args.streets:
        try:
            streets = read_osm_streets(args.streets)
        except (OSError, ValueError) as exc:
            raise WalkTalkError(f"--streets: {exc}") from None
    # Said only once the transaction has committed: a failure later in it stores nothing.
    done: list[str] = []
    with Session(_migrated(settings)) as session, session.begin():
        if args.if_empty and demo_queries.has_reports(session):
            done.append("reports already stored: no synthetic ones added")
        else:
            result = demo_queries.seed_reports(session, args.count, args.seed)
            done.append(
                f"stored {result.stored} synthetic reports (source 'synthetic'; "
                "`walktalk demo purge` removes them)"
            )
        if args.walks and args.if_empty and demo_queries.has_walks(session):
            done.append("walks already stored: no demo walks added")
        elif args.walks and demo_queries.has_demo_walks(session):
            done.append(
                "demo walks already stored: no more added (`walktalk demo purge` removes them, "
                "then `demo seed` makes new ones)"
            )
        elif args.walks:
            walks = seed_walks(
                session,
                key=settings.resolved_secret_key(),
                count=args.walks,
                seed=args.seed,
                streets=streets,
            )
            done.append(
                f"stored {walks.walks} synthetic walks ({walks.routes_on_streets} along "
                f"OpenStreetMap streets) of {walks.officers} demo officers and {walks.buddies} "
                f"buddies, with {walks.concerns} concerns, {walks.buddy_surveys} buddy surveys "
                f"and {walks.disclosures} safeguarding flags"
            )
            patrols = seed_patrols(session, count=DEMO_PATROLS, seed=args.seed)
            if patrols:
                done.append(f"stored {len(patrols)} synthetic patrols in SE1, with their records")
        if demo_requests.has_requests(session):
            done.append("requests to partners already stored: no demo requests added")
        else:
            planning = demo_requests.seed_planning(session, seed=args.seed)
            if not planning.requests:
                done.append(
                    "no demo requests to partners: no place has two published reports of poor "
                    "lighting in the dark to stand on (seed more reports with --count)"
                )
            else:
                done.append(
                    f"stored {planning.requests} synthetic requests to partners and "
                    f"{planning.lights} synthetic street lights ({demo_requests.DEMO_LIGHTS!r}), "
                    f"leaving {planning.dark_places} dark places for the gaps map"
                )
    _say(*done)


def cmd_demo_purge(settings: Settings, _: argparse.Namespace) -> None:
    """Delete every synthetic report, officer, buddy and walk."""
    with Session(_migrated(settings)) as session, session.begin():
        requests, lights = demo_requests.purge_planning(session)
        removed = demo_queries.purge_synthetic(session)
    _say(
        f"removed {removed.reports} synthetic reports and walk concerns, {removed.walks} walks, "
        f"{removed.buddies} buddies and {removed.officers} officers, {requests} requests to "
        f"partners and {lights} synthetic street lights"
    )


def cmd_buddies_erase(settings: Settings, args: argparse.Namespace) -> None:
    """Erase a buddy's personal data on request."""
    with Session(_migrated(settings)) as session, session.begin():
        erased = retention_queries.erase_buddy(session, args.code)
    _say(
        f"erased buddy {args.code}: {erased.contacts} contact records and the routes of "
        f"{erased.routes} walks removed; the walks remain as anonymous facts"
    )


def cmd_retention_apply(settings: Settings, _: argparse.Namespace) -> None:
    """Apply the retention period to contact details and full routes."""
    with Session(_migrated(settings)) as session, session.begin():
        done = retention_queries.apply_retention(session, months=settings.retention_months)
    _say(
        f"retention ({settings.retention_months} months): removed {done.contacts} contact "
        f"records and {done.routes} full routes (trimmed routes kept)"
    )


def cmd_safeguarding_remind(settings: Settings, _: argparse.Namespace) -> None:
    """Email the supervisors about safeguarding flags due soon or overdue (for cron)."""
    from service.mail import remind  # only this command sends mail

    try:
        done = remind(_migrated(settings), settings, settings.public_url)
    except (OSError, smtplib.SMTPException) as exc:
        _note(
            f"walktalk: error: the reminder could not be sent through {settings.smtp_host}:"
            f"{settings.smtp_port}: {exc}. Nothing was marked as sent; the next run tries again."
        )
        raise SystemExit(1) from exc
    if not done.email_on:
        _note(
            "email reminders are off: set WALKTALK_SMTP_HOST, WALKTALK_SMTP_FROM and "
            "WALKTALK_SMTP_TO to send them"
        )
        return
    _say(f"safeguarding reminder: {done.flags} flag(s) mentioned")


# -- tokens ---------------------------------------------------------------------------------------


def _officer_for_token(
    session: Session, role: Role, given: str | None, wards: tuple[str, ...]
) -> uuid.UUID | None:
    """The officer record an officer token signs in as (``--officer ID``), checked."""
    if not given:
        return None
    if role is not Role.officer:
        raise WalkTalkError("--officer is for officer tokens only")
    try:
        officer_id = uuid.UUID(given)
    except ValueError:
        raise WalkTalkError(f"--officer {given!r} is not an officer id (a UUID)") from None
    officers.check_token_officer(session, officer_id, wards)
    return officer_id


#: Tokens ``demo sign-in`` issues end so; each run revokes the previous ones.
DEMO_SIGN_IN = " (demo sign-in)"


def cmd_demo_sign_in(settings: Settings, args: argparse.Namespace) -> None:
    """Issue short-lived tokens for a demo officer, supervisor, planner and council partner."""
    with Session(_migrated(settings)) as session, session.begin():
        found = demo_officer(session)
        if found is None:
            raise WalkTalkError("no demo walks are stored: run `walktalk demo seed` first")
        her_id, officer_name, wards = found
        session.execute(
            text(
                "UPDATE api_tokens SET revoked_at = now() "
                "WHERE name LIKE :suffix AND revoked_at IS NULL"
            ),
            {"suffix": f"%{DEMO_SIGN_IN}"},
        )
        expires = token_queries.parse_expiry(args.expires)
        issued = []
        linked: uuid.UUID | None
        for role, name, scope, linked in (
            (
                Role.officer,
                f"{officer_name}{DEMO_SIGN_IN}",
                token_queries.resolve_scope(session, Role.officer, wards=wards),
                her_id,
            ),
            (
                Role.supervisor,
                f"Demo supervisor{DEMO_SIGN_IN}",
                token_queries.resolve_scope(session, Role.supervisor, command_unit="AS"),
                None,
            ),
            (
                Role.planner,
                f"Demo planner{DEMO_SIGN_IN}",
                token_queries.resolve_scope(session, Role.planner, boroughs=DEMO_BOROUGHS),
                None,
            ),
            (
                Role.partner,
                f"Lambeth council{DEMO_SIGN_IN}",
                token_queries.resolve_scope(session, Role.partner, boroughs=DEMO_BOROUGHS[:1]),
                None,
            ),
        ):
            _, raw = token_queries.create_token(
                session,
                key=settings.resolved_secret_key(),
                role=role,
                name=name,
                scope=scope,
                expires_at=expires,
                created_by=CLI_ACTOR,
                officer_id=linked,
            )
            issued.append((role, name.removesuffix(DEMO_SIGN_IN), raw))
    _say(
        f"Sign in at {settings.public_url.rstrip('/')}/login with one of these demo tokens "
        f"(until {expires:%d %b %Y}; the next `walktalk demo sign-in` replaces them):"
    )
    for role, name, raw in issued:
        _say(f"  {role.value:<10} {name:<20} {raw}")


def cmd_tokens_create(settings: Settings, args: argparse.Namespace) -> None:
    """Create a token and print it once."""
    role = Role(args.role)
    with Session(_migrated(settings)) as session, session.begin():
        scope = token_queries.resolve_scope(
            session, role, wards=args.ward, boroughs=args.borough, command_unit=args.command_unit
        )
        officer_id = _officer_for_token(session, role, args.officer, scope.ward_codes)
        info, raw = token_queries.create_token(
            session,
            key=settings.resolved_secret_key(),
            role=role,
            name=args.name,
            scope=scope,
            expires_at=token_queries.parse_expiry(args.expires),
            created_by=CLI_ACTOR,
            officer_id=officer_id,
        )
    where = ", ".join(info.ward_codes or info.borough_codes)
    _note(
        f"created {info.role} token {info.id} for {info.name!r} ({where}), "
        f"expires {info.expires_at:%Y-%m-%d %H:%M} UTC. It is shown once; keep it secret:"
    )
    _say(raw)


def cmd_tokens_list(settings: Settings, _: argparse.Namespace) -> None:
    """List tokens (never the tokens themselves)."""
    with Session(_migrated(settings)) as session:
        found = token_queries.list_tokens(session)
    for t in found:
        _say(
            f"{t.id}  {t.state:<8} {t.role:<10} {t.name:<30} "
            f"{','.join(t.ward_codes or t.borough_codes)}  expires {t.expires_at:%Y-%m-%d}"
        )
    if not found:
        _say("no tokens yet: create one with `walktalk tokens create`")


def cmd_tokens_revoke(settings: Settings, args: argparse.Namespace) -> None:
    """Revoke a token by id."""
    try:
        token_id = uuid.UUID(args.id)
    except ValueError:
        raise WalkTalkError(f"{args.id!r} is not a token id: see `walktalk tokens list`") from None
    with Session(_migrated(settings)) as session, session.begin():
        info = token_queries.revoke_token(session, token_id)
    _say(f"revoked {info.id} ({info.name})")


# -- serve ----------------------------------------------------------------------------------------


WILDCARD_HOSTS = ("0.0.0.0", "::")  # noqa: S104 - names the wildcard, binds nothing


def _network_address() -> str:
    """The computer's address on its local network, for the URL a phone should open."""
    # Connecting a UDP socket sends nothing; it only makes the system choose the outgoing
    # interface, whose address is the one a phone on the same network can reach.
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("192.0.2.1", 9))  # TEST-NET-1: never routed anywhere real
            return str(probe.getsockname()[0])
        except OSError:
            return socket.gethostname()


def _tls_files(args: argparse.Namespace) -> tuple[str, str] | None:
    """The key and certificate to serve HTTPS with, or ``None`` for plain HTTP."""
    if not args.ssl_keyfile and not args.ssl_certfile:
        return None
    if not (args.ssl_keyfile and args.ssl_certfile):
        raise WalkTalkError(
            "HTTPS needs both --ssl-keyfile and --ssl-certfile (the private key and its "
            "certificate, e.g. made with `openssl req -x509` or mkcert)"
        )
    for option, name in (
        ("--ssl-keyfile", args.ssl_keyfile),
        ("--ssl-certfile", args.ssl_certfile),
    ):
        if not Path(name).is_file():
            raise WalkTalkError(f"{option}: no such file: {name}")
    return args.ssl_keyfile, args.ssl_certfile


def cmd_serve(settings: Settings, args: argparse.Namespace) -> None:
    """Serve the API and the map pages, over HTTPS when given a key and certificate."""
    import uvicorn

    from service.app import create_app

    tls = _tls_files(args)
    _migrated(settings)
    missing = check_assets_installed(settings.assets_dir or VENDOR_DIR)
    if missing:
        _note(
            f"warning: {len(missing)} map asset files are not installed, so map pages will "
            f"be blank: run `{INSTALL_COMMAND}` (make demo does)"
        )
    base = f"{'https' if tls else 'http'}://{args.host}:{args.port}"
    _say(
        f"Walk and Talk Maps on {base}",
        f"  API docs:  {base}/docs",
        f"  home:      {base}/  (links to every page for your role)",
        f"  ward map:  {base}/maps/wards",
        f"  hot spots: {base}/maps/hotspots   heatmap: {base}/maps/heatmap",
        f"  wards:     {base}/maps/wards/summary   themes: {base}/themes/page",
        f"  report:    {base}/report  (the public's form)",
        f"  sign in:   {base}/login  (walks, briefing, evaluation)",
        f"  health:    {base}/healthz",
        f"  lookup:    {base}/wards/lookup?lon=-0.1136&lat=51.5033",
    )
    if tls:
        _say(f"  live walk: {base}/walks/<walk id>/live")
        if args.host in WILDCARD_HOSTS:
            _say(
                f"  on a phone on this network: https://{_network_address()}:{args.port}"
                "/walks/<walk id>/live"
            )
        if not settings.secure_cookies:
            _note(
                "note: set WALKTALK_SECURE_COOKIES=true so browsers send the session cookie "
                "over HTTPS only"
            )
    uvicorn.run(create_app(settings), **uvicorn_options(args.host, args.port, tls=tls))


def uvicorn_options(
    host: str,
    port: int,
    *,
    tls: tuple[str, str] | None = None,
    log_level: str = "info",
    access_log: bool = True,
) -> dict[str, Any]:
    """How ``serve`` runs uvicorn (tests serve the app with the same options)."""
    return {
        "host": host,
        "port": port,
        "log_level": log_level,
        "access_log": access_log,
        # The client's address is ours to judge (WALKTALK_TRUSTED_PROXIES), not uvicorn's:
        # its default believes X-Forwarded-For from loopback, so any local client could
        # name itself anew per request.
        "proxy_headers": False,
        "ssl_keyfile": tls[0] if tls else None,
        "ssl_certfile": tls[1] if tls else None,
    }


# -- parser ---------------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    """The ``walktalk`` argument parser."""
    parser = argparse.ArgumentParser(prog="walktalk", description=__doc__)
    groups = parser.add_subparsers(dest="group", required=True)

    db = groups.add_parser("db", help="the database").add_subparsers(dest="cmd", required=True)
    db.add_parser("up", help="start the embedded PostGIS").set_defaults(func=cmd_db_up)
    db.add_parser("down", help="stop the embedded PostGIS").set_defaults(func=cmd_db_down)
    db.add_parser("status", help="is it running").set_defaults(func=cmd_db_status)
    db.add_parser("url", help="print a libpq URL for psql").set_defaults(func=cmd_db_url)
    db.add_parser("migrate", help="apply migrations").set_defaults(func=cmd_db_migrate)
    dbackup = db.add_parser("backup", help="write the whole database to a file (pg_dump -Fc)")
    dbackup.add_argument("path", help="the backup file to write (never overwritten)")
    dbackup.set_defaults(func=cmd_db_backup)
    drestore = db.add_parser(
        "restore", help="replace the database by a backup file, whole or not at all"
    )
    drestore.add_argument("path", help="a file `walktalk db backup` wrote")
    drestore.add_argument(
        "--replace",
        action="store_true",
        help="replace a database that holds data (without it, only an empty one is restored)",
    )
    drestore.set_defaults(func=cmd_db_restore)

    wards = groups.add_parser("wards", help="ward boundaries").add_subparsers(
        dest="cmd", required=True
    )
    load = wards.add_parser("load", help="load a boundary file as a ward set")
    load.add_argument("path", help="GeoJSON, shapefile, MapInfo TAB, GeoPackage …")
    load.add_argument("--layer", help="layer name, for files with several")
    load.add_argument("--code-field", help="field with ward codes (default: guessed)")
    load.add_argument("--name-field", help="field with ward names (default: guessed)")
    load.add_argument("--borough-field", help="field with borough codes (default: guessed)")
    load.add_argument("--borough-name-field", help="field with borough names")
    load.add_argument(
        "--crs", help="CRS of the file when it has none or a wrong one, e.g. EPSG:27700"
    )
    load.add_argument("--set", help="name of the new ward set (default: the file name)")
    load.add_argument("--attribution", help="the data's attribution line, shown on maps")
    load.add_argument("--description", help="a note on the set")
    load.add_argument("--activate", action="store_true", help="make it the active set")
    load.set_defaults(func=cmd_wards_load)
    bundled = wards.add_parser("bundled", help="load the bundled boroughs and wards")
    bundled.add_argument(
        "--pilot-only",
        action="store_true",
        help="only the Lambeth + Southwark wards, not all of London 2018",
    )
    bundled.set_defaults(func=cmd_wards_bundled)
    wards.add_parser("list", help="list ward sets").set_defaults(func=cmd_wards_list)
    activate = wards.add_parser("activate", help="make a loaded set the active one")
    activate.add_argument("name")
    activate.set_defaults(func=cmd_wards_activate)
    delete = wards.add_parser("delete", help="delete an inactive ward set")
    delete.add_argument("name")
    delete.set_defaults(func=cmd_wards_delete)

    safeguarding = groups.add_parser(
        "safeguarding", help="safeguarding flags"
    ).add_subparsers(dest="cmd", required=True)
    safeguarding.add_parser(
        "remind", help="email reminders of flags due soon or overdue (run from cron)"
    ).set_defaults(func=cmd_safeguarding_remind)

    tokens = groups.add_parser("tokens", help="API tokens").add_subparsers(
        dest="cmd", required=True
    )
    create = tokens.add_parser("create", help="create a token (printed once)")
    create.add_argument(
        "--role", required=True, choices=[r.value for r in Role if r is not Role.public]
    )
    create.add_argument("--name", required=True, help="who holds it")
    create.add_argument("--ward", action="append", default=[], help="officers: a ward code")
    create.add_argument("--borough", action="append", default=[], help="a borough code or name")
    create.add_argument("--command-unit", help="supervisors: a command unit, e.g. AS")
    create.add_argument("--expires", help="90d (default), 12h, 2w or an ISO date")
    create.add_argument("--officer", help="officers: the id of her officer record (same wards)")
    create.set_defaults(func=cmd_tokens_create)
    tokens.add_parser("list", help="list tokens").set_defaults(func=cmd_tokens_list)
    revoke = tokens.add_parser("revoke", help="revoke a token")
    revoke.add_argument("id")
    revoke.set_defaults(func=cmd_tokens_revoke)

    reports = groups.add_parser("reports", help="anonymous unsafe-place reports").add_subparsers(
        dest="cmd", required=True
    )
    rimport = reports.add_parser("import", help="import a CSV or GeoJSON file of reports")
    rimport.add_argument("path")
    rimport.add_argument(
        "--skip-invalid",
        action="store_true",
        help="store the good rows; write the bad ones to a CSV",
    )
    rimport.add_argument(
        "--rejects",
        help="write every bad row (line, reason) to this CSV; by default --skip-invalid "
        "writes them to NAME.rejects.csv",
    )
    rimport.add_argument("--lon-field", default="lon")
    rimport.add_argument("--lat-field", default="lat")
    rimport.add_argument("--easting-field", default="easting", help="EPSG:27700 alternative")
    rimport.add_argument("--northing-field", default="northing")
    rimport.set_defaults(func=cmd_reports_import)

    crimes = groups.add_parser("crimes", help="police.uk crimes (context)").add_subparsers(
        dest="cmd", required=True
    )
    cimport = crimes.add_parser(
        "import",
        help="import police.uk CSV or API JSON files, all or none",
        description="Import police.uk files in one transaction: if any file is refused, "
        "nothing from any of them is stored.",
    )
    cimport.add_argument("paths", nargs="+")
    cimport.set_defaults(func=cmd_crimes_import)

    osm = groups.add_parser("osm", help="OpenStreetMap data for the base map").add_subparsers(
        dest="cmd", required=True
    )
    oload = osm.add_parser(
        "load",
        help="load .osm or .osm.pbf extracts, all or none",
        description="Load the streets, paths, parks, water and street lamps of OpenStreetMap "
        "extracts (.osm XML or .osm.pbf) for the base map's vector tiles; a feature loaded "
        "again replaces the older copy.",
    )
    oload.add_argument("paths", nargs="+")
    oload.set_defaults(func=cmd_osm_load)

    assets = groups.add_parser(
        "assets", help="street lights and cameras already on the ground"
    ).add_subparsers(dest="cmd", required=True)
    aimport = assets.add_parser(
        "import",
        help="import a council's CSV or GeoJSON of street lights or cameras, all or none",
        description="Import a file of street lights or cameras in one transaction. Columns "
        "are guessed: Easting/Northing (British National Grid) or Longitude/Latitude (lon/lat, "
        "x/y); with both, the grid is used and rows whose two positions differ by more than "
        "25 m are skipped, as are rows that cannot be placed in Great Britain. The same file "
        "again adds nothing.",
    )
    aimport.add_argument("path", help="CSV with coordinate columns, or GeoJSON of points")
    aimport.add_argument("--kind", required=True, choices=["light", "camera"])
    aimport.add_argument("--name", help="the inventory's name (default: the file name)")
    aimport.add_argument(
        "--covers",
        nargs="+",
        default=[],
        metavar="CODE",
        help="borough (E09…) or ward (E05…) codes the file lists every asset of; default: "
        "the London boroughs holding at least a fifth of its points",
    )
    aimport.add_argument("--attribution", help="the data's attribution line, shown on maps")
    aimport.set_defaults(func=cmd_assets_import)
    assets.add_parser("list", help="list loaded inventories").set_defaults(func=cmd_assets_list)
    adelete = assets.add_parser("delete", help="delete an inventory and its assets")
    adelete.add_argument("name")
    adelete.set_defaults(func=cmd_assets_delete)

    population = groups.add_parser(
        "population", help="resident population for rates per 1,000"
    ).add_subparsers(dest="cmd", required=True)
    pload = population.add_parser(
        "load",
        help="load ONS LSOA population estimates, replacing any loaded before",
        description="Load ONS mid-year LSOA population estimates (a CSV with LSOA11CD, "
        "LAD11CD, Persons_All-Ages, Females_All-Ages) and the LSOA boundary shapefile "
        "(EPSG:27700) from a folder, in one transaction, replacing those loaded before, and "
        "apportion residents to every ward set's wards by area.",
    )
    pload.add_argument(
        "folder", nargs="?", help=f"folder of the CSV and shapefile (default: {BUNDLED_DIR})"
    )
    pload.set_defaults(func=cmd_population_load)

    demo = groups.add_parser("demo", help="synthetic demo data").add_subparsers(
        dest="cmd", required=True
    )
    seed = demo.add_parser(
        "seed", help="store synthetic reports and walks in the active wards (flagged)"
    )
    seed.add_argument("--count", type=int, default=5000, help="reports")
    seed.add_argument("--walks", type=int, default=40, help="walks already walked (0: none)")
    seed.add_argument(
        "--streets",
        nargs="+",
        metavar="FILE.osm",
        help="OpenStreetMap XML to route demo walks along (make demo passes data/osm/*.osm)",
    )
    seed.add_argument("--seed", type=int, default=2026)
    seed.add_argument("--if-empty", action="store_true", help="only when no report is stored")
    seed.set_defaults(func=cmd_demo_seed)
    demo.add_parser(
        "purge", help="delete every synthetic report, walk, request and street light"
    ).set_defaults(func=cmd_demo_purge)
    sign_in = demo.add_parser(
        "sign-in", help="print sign-in tokens for a demo officer, supervisor, planner and council"
    )
    sign_in.add_argument("--expires", default="7d", help="how long they work (default 7d)")
    sign_in.set_defaults(func=cmd_demo_sign_in)

    buddies = groups.add_parser("buddies", help="buddies' personal data").add_subparsers(
        dest="cmd", required=True
    )
    erase = buddies.add_parser("erase", help="erase a buddy's personal data on request")
    erase.add_argument("code", help="the buddy's pseudonymous code")
    erase.set_defaults(func=cmd_buddies_erase)
    retention = groups.add_parser("retention", help="the retention period").add_subparsers(
        dest="cmd", required=True
    )
    retention.add_parser(
        "apply", help="delete contact details and full routes past WALKTALK_RETENTION_MONTHS"
    ).set_defaults(func=cmd_retention_apply)

    serve = groups.add_parser("serve", help="serve the API and map pages")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    # Browsers give a page the phone's location only over HTTPS (or on localhost).
    serve.add_argument("--ssl-keyfile", help="private key (PEM) to serve HTTPS with")
    serve.add_argument("--ssl-certfile", help="certificate (PEM) for that key")
    serve.set_defaults(func=cmd_serve)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one ``walktalk`` command; the exit code is non-zero on any refusal."""
    args = build_parser().parse_args(argv)
    try:
        settings = Settings()
        args.func(settings, args)
    except ValidationError as exc:
        _note(f"walktalk: bad setting: {exc}")
        return 2
    except (WalkTalkError, BoundaryFileError, ClusterError) as exc:
        _note(f"walktalk: error: {exc}")
        return 1
    except OperationalError as exc:
        _note(
            f"walktalk: error: cannot reach the database: {exc.orig}. "
            "Start it with `walktalk db up`, or check DATABASE_URL."
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
