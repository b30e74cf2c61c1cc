"""The ASGI application. It never starts the scheduler: that runs in `shouwang worker`."""

from fastapi import FastAPI
from prometheus_client import CollectorRegistry
from starlette.middleware.gzip import DEFAULT_EXCLUDED_CONTENT_TYPES, GZipMiddleware

from app.api import errors, openapi
from app.api.middleware import BodySizeLimit, InFlightLimit, RequestContext
from app.api.router import api_router
from app.api.routes import health, metrics
from app.api.routes.risk_lists import XLSX
from app.config import Settings, get_settings
from app.db import engine_for, sessions_for
from app.metrics import DatabaseCollector, PoolCollector, RequestMetrics
from app.web import pages


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    docs = settings.docs_enabled
    app = FastAPI(
        title="Shouwang 守望",
        summary="Return-to-poverty monitoring: household registry, indicator reports, audit.",
        version="0.1.0",
        docs_url="/docs" if docs else None,
        redoc_url=None,
        openapi_url="/openapi.json" if docs else None,
    )
    engine = engine_for(settings.database_url, settings.db_pool_size)
    app.state.settings = settings
    app.state.engine = engine
    app.state.sessionmaker = sessions_for(engine)
    registry = CollectorRegistry()
    registry.register(PoolCollector(engine))
    registry.register(DatabaseCollector(app.state.sessionmaker))
    app.state.metrics_registry = registry
    errors.install(app)
    openapi.install(app)
    app.include_router(health.router)
    app.include_router(metrics.router)
    app.include_router(api_router)
    pages.install(app)
    # a phone on a weak connection downloads the app's files and the lists' JSON about a third to a
    # fifteenth of their size (an XLSX is a zip already); the session cookies are SameSite=Strict, so no
    # other site can have an answer holding personal data compressed beside what it sent
    app.add_middleware(InFlightLimit, limit=settings.requests_in_flight)
    app.add_middleware(
        GZipMiddleware,
        minimum_size=1024,
        compresslevel=6,
        exclude_content_types=(*DEFAULT_EXCLUDED_CONTENT_TYPES, XLSX),
    )
    app.add_middleware(
        BodySizeLimit,
        max_bytes=settings.max_body_bytes,
        # the file and its mapping, with multipart's few hundred bytes of framing
        larger={"/api/v1/imports/households": settings.import_max_bytes + 1024 * 1024},
    )
    app.add_middleware(RequestContext, metrics=RequestMetrics(registry))
    return app
