"""``create_app(settings)``: the FastAPI application, with the engine owned by its lifespan."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from maps.assets import VENDOR_DIR
from maps.tiles import tile_source
from service.access_log import install_private_access_log
from service.db import make_engine, make_read_engine, require_migrated
from service.errors import ProblemOnCrash, register_error_handlers
from service.input_guard import InputGuard
from service.page_cache import ForgetPagesOnWrite, PageCache
from service.printing import Printer
from service.queries.retention import apply_retention
from service.ratelimit import RateLimiter
from service.routers import (
    admin_people,
    admin_queues,
    after_walk,
    assets,
    audit,
    bid_pack,
    briefing,
    emerging,
    evaluation,
    health,
    hotspots,
    imports,
    lighting,
    lighting_map,
    live,
    maps,
    ogc,
    pages,
    patrols,
    printing,
    reports,
    request_pages,
    requests,
    street_routes,
    summaries,
    surveys,
    take_part,
    themes,
    tiles,
    tokens,
    walks,
    wards,
    work,
)
from service.settings import Settings

log = logging.getLogger("walktalk")
DESCRIPTION = """
Walk routes, anonymous unsafe-place reports and hot spots on London ward boundaries.

Send a token as `Authorization: Bearer <token>`; requests without one are the public.
Errors are `application/problem+json` (type, title, status, detail).
"""


RETENTION_EVERY_S = 24 * 3600
#: With a read replica, map pages drawn this soon after a write are not kept (see page_cache).
REPLICA_SETTLE_S = 10.0


def _apply_retention(engine: Engine, months: int) -> None:
    with Session(engine) as session, session.begin():
        done = apply_retention(session, months=months)
    log.info(
        "retention (%d months): removed %d contact records and %d full routes",
        months,
        done.contacts,
        done.routes,
    )


async def _daily_retention(engine: Engine, months: int, stop: asyncio.Event) -> None:
    """Apply the retention period at start and then once a day, off the event loop."""
    while not stop.is_set():
        try:
            await asyncio.to_thread(_apply_retention, engine, months)
        except SQLAlchemyError:
            # A passing database fault must not stop the service; the next day tries again.
            log.exception("retention could not be applied; it will be tried again")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), RETENTION_EVERY_S)


REMINDERS_EVERY_S = 5 * 60


async def _safeguarding_reminders(engine: Engine, settings: Settings, stop: asyncio.Event) -> None:
    """Every few minutes, email reminders of safeguarding flags due soon (when email is on)."""
    from service.mail import remind

    while settings.email_on and not stop.is_set():
        try:
            await asyncio.to_thread(remind, engine, settings, settings.public_url)
        except Exception:
            # A mail server or database fault must not stop the service; the next run retries.
            log.exception("safeguarding reminders could not be sent; they will be tried again")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), REMINDERS_EVERY_S)


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the app; nothing touches the database until the lifespan starts."""
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = make_engine(settings)
        replica = make_read_engine(settings)  # None: the map and aggregate reads use `engine`
        try:
            await asyncio.to_thread(require_migrated, engine)
            if replica is not None:
                await asyncio.to_thread(require_migrated, replica, replica=True)
        except Exception:
            engine.dispose()
            if replica is not None:
                replica.dispose()
            raise
        app.state.engine = engine
        app.state.read_engine = replica
        stop = asyncio.Event()
        retention = asyncio.create_task(_daily_retention(engine, settings.retention_months, stop))
        reminders = asyncio.create_task(_safeguarding_reminders(engine, settings, stop))
        try:
            yield
        finally:
            # Let a run in progress finish rather than cut it off mid-transaction.
            stop.set()
            await retention
            await reminders
            # Prints read tiles through the engine: their browsers close first.
            await asyncio.to_thread(app.state.printer.close)
            engine.dispose()
            if replica is not None:
                replica.dispose()

    app = FastAPI(
        title="Walk and Talk Maps",
        version="0.1.0",
        description=DESCRIPTION,
        lifespan=lifespan,
        # Served by our own routes so they declare roles and load no CDN assets.
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    app.state.settings = settings
    app.state.secret_key = settings.resolved_secret_key()
    app.state.tiles = tile_source(settings.tiles)
    app.state.assets_dir = settings.assets_dir or VENDOR_DIR
    app.state.printer = Printer()
    app.state.report_limiter = RateLimiter(settings.report_rate_limit)
    app.state.take_part_limiter = RateLimiter(settings.report_rate_limit)
    app.state.page_cache = PageCache(
        seconds=settings.page_cache_seconds,
        max_bytes=settings.page_cache_mb * 1024 * 1024,
        # A replica replays a write a moment after the primary answers it.
        settle_seconds=REPLICA_SETTLE_S if settings.read_database_url else 0.0,
    )
    register_error_handlers(app)
    app.add_middleware(ForgetPagesOnWrite, cache=app.state.page_cache)
    # Added last runs first: a crash anywhere, the guard included, still answers problem+json.
    app.add_middleware(InputGuard, body_limit=settings.json_body_limit)
    app.add_middleware(ProblemOnCrash)
    install_private_access_log()
    # Fixed paths before the path parameters they resemble: /wards/summary before /wards/{code}.
    for module in (
        health,
        printing,  # /maps/walks/{walk_id}.pdf before the walk map's /maps/walks/{walk_id}
        summaries,
        wards,
        reports,
        imports,
        ogc,
        live,  # /walks/live-sw.js before the walks' /walks/{walk_id}
        walks,
        surveys,
        patrols,
        after_walk,
        briefing,
        street_routes,
        emerging,
        hotspots,
        themes,
        tiles,
        evaluation,
        tokens,
        audit,
        maps,
        take_part,
        admin_people,
        admin_queues,
        work,  # /work/walks/new before /work/walks/{walk_id}
        assets,
        requests,  # /requests.csv and /requests/import before /requests/{request_id}
        request_pages,  # /lighting/requests/new before /lighting/requests/{request_id}
        lighting,
        lighting_map,
        bid_pack,
        pages,
    ):
        app.include_router(module.router)
    maps.document_bearer_auth(app)
    return app
