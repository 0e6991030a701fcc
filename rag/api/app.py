"""`create_app(settings, engine)`: the FastAPI app, wiring only. The engine (or an EngineHandle
that builds it) comes from the composition root, rag.service, which also mounts the Slack app."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio
from fastapi import FastAPI

from rag.api.access import Access
from rag.api.errors import install_error_handlers
from rag.api.middleware import install_middleware
from rag.api.openapi import APP_INFO
from rag.api.routes import install_routes
from rag.engine_handle import EngineHandle
from rag.errors import ConfigError, IndexMissingError, StoreUnavailableError
from rag.metrics import ServiceMetrics
from rag.settings import Settings

log = logging.getLogger("citebot.api")


def create_app(settings: Settings | None = None, engine: object = None) -> FastAPI:
    """The HTTP app over `engine` (an Engine, or an EngineHandle that builds one at start-up)."""
    if engine is None:
        raise ConfigError("create_app needs the engine: rag.service.build_app(settings) builds both")
    settings = settings or Settings()
    handle = EngineHandle.of(engine)
    metrics = ServiceMetrics(multiprocess_dir=settings.prometheus_multiproc_dir)
    # /docs, /redoc and /openapi.json are served offline by rag.web (key-guarded when keys are set)
    app = FastAPI(
        **APP_INFO, lifespan=_lifespan(settings, handle, metrics), docs_url=None, redoc_url=None, openapi_url=None
    )
    app.state.settings, app.state.engine, app.state.metrics = settings, handle, metrics
    app.state.access = Access(settings, metrics)
    install_error_handlers(app)
    install_routes(app)
    install_middleware(app, settings, metrics, app.state.access)
    from rag.web.routes import install_web  # the page, its assets, the offline docs, /passages and /feedback

    install_web(app)
    return app


def _lifespan(settings: Settings, handle: EngineHandle, metrics: ServiceMetrics):
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if not handle.built:
            try:
                await anyio.to_thread.run_sync(handle.get)
            except (StoreUnavailableError, IndexMissingError) as exc:
                log.warning("starting without an engine (will retry on the next request): %s", exc)
        log.info(
            "citebot API ready: generator=%s chroma=%s auth=%s rate_limit=%s/min",
            settings.generator.value,
            settings.chroma_mode,
            "on" if settings.api_keys else "off",
            settings.rate_limit_per_minute or "off",
        )
        yield
        metrics.close()

    return lifespan
