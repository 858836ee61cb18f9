"""``create_app(settings)``: the FastAPI application, with the engine owned by its lifespan."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from maps.assets import VENDOR_DIR
from maps.tiles import tile_source
from service.db import make_engine, require_migrated
from service.errors import register_error_handlers
from service.ratelimit import RateLimiter
from service.routers import (
    audit,
    health,
    imports,
    maps,
    ogc,
    pages,
    reports,
    tokens,
    walks,
    wards,
)
from service.settings import Settings

DESCRIPTION = """
Walk routes, anonymous unsafe-place reports and hot spots on London ward boundaries.

Send a token as `Authorization: Bearer <token>`; requests without one are the public.
Errors are `application/problem+json` (type, title, status, detail).
"""


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the app; nothing touches the database until the lifespan starts."""
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = make_engine(settings)
        try:
            require_migrated(engine)
        except Exception:
            engine.dispose()
            raise
        app.state.engine = engine
        try:
            yield
        finally:
            engine.dispose()

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
    app.state.report_limiter = RateLimiter(settings.report_rate_limit)
    register_error_handlers(app)
    for module in (health, wards, reports, imports, ogc, walks, tokens, audit, maps, pages):
        app.include_router(module.router)
    return app
