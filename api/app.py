"""The app factory. `create_app()` builds everything and loads nothing: the lifespan loads the model.

uvicorn runs it by import string with factory=True (classifier/serving.py), one app per worker.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from importlib.metadata import PackageNotFoundError, version
from typing import Any

import anyio
from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from api.deps import declare_api_key
from api.errors import install_error_handlers
from api.logs import EVENTS, configure_logging, event
from api.metrics import Metrics
from api.middleware import ApiKeyMiddleware, BodySizeLimitMiddleware, RequestContextMiddleware, RouteTemplates
from api.routes import classify, files, health, model, page
from api.schemas import (
    BATCH_MAX_BODY_BYTES,
    CLASSIFY_MAX_BODY_BYTES,
    DEFAULT_MAX_BODY_BYTES,
    MULTIPART_OVERHEAD_BYTES,
)
from api.settings import Settings
from api.store import ModelStore, ReloadRefused

DESCRIPTION = f"""\
Buwei 不为 classifies Chinese reports of official inaction (为官不为) by cause:
`unwilling` 不想干事, `afraid` 不敢干事, `unable` 不会干事, `other` 其他(非为官不为).

Limits: a text has 1–20,000 characters and is not only whitespace; a batch has 1–1,000 texts.
Request bodies are capped, with room for `\\uXXXX`-escaped JSON, and larger ones get 413:
{CLASSIFY_MAX_BODY_BYTES:,} bytes for /v1/classify, {BATCH_MAX_BODY_BYTES:,} bytes for
/v1/classify/batch, {DEFAULT_MAX_BODY_BYTES:,} bytes for other JSON routes; an upload to /v1/files may be
BUWEI_MAX_UPLOAD_BYTES (default 52,428,800) plus {MULTIPART_OVERHEAD_BYTES:,} bytes of multipart framing.
Every error is `{{"error": {{"code", "message"}}}}`. When BUWEI_API_KEY is set, every /v1 call needs
the header `X-API-Key`.
"""


def _package_version() -> str:
    try:
        return version("buwei")
    except PackageNotFoundError:
        return "0"


async def _watch_pointer(store: ModelStore, interval: float) -> None:
    """Reload when models/CURRENT names another version (e.g. after `buwei train` or `models use`)."""
    while True:
        await asyncio.sleep(interval)
        try:
            pointer = store.pointer()
            if pointer is not None and pointer not in (store.serving_folder, store.refused_pointer):
                await anyio.to_thread.run_sync(store.reload_if_pointer_changed)
        except Exception:
            EVENTS.exception("model_watch_failed")


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the API and the page. Settings default to the BUWEI_* environment."""
    settings = settings or Settings()
    configure_logging(settings.log_format, settings.log_level)
    metrics = Metrics()
    store = ModelStore(settings.models_root(), metrics)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        event(
            "starting",
            models_dir=str(store.root),
            api_key_required=settings.api_key is not None,
            reload_poll_seconds=settings.reload_poll_seconds,
        )
        try:
            await anyio.to_thread.run_sync(store.reload)
        except ReloadRefused as refused:
            event("not_ready", logging.WARNING, reason=refused.reason)
        watcher = None
        if settings.reload_poll_seconds > 0:
            watcher = asyncio.create_task(_watch_pointer(store, settings.reload_poll_seconds))
        try:
            yield
        finally:
            if watcher is not None:
                watcher.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await watcher
            event("stopped", model_version=store.predictor.version if store.predictor else None)

    app = FastAPI(
        title="Buwei 不为",
        version=_package_version(),
        description=DESCRIPTION,
        lifespan=lifespan,
        # FastAPI's own OpenTelemetry records exception messages, which can quote request data; Buwei
        # exports Prometheus metrics and PII-masked JSON logs instead.
        telemetry={"tracing": False, "metrics": False, "logs": False, "operation_spans": False},
    )
    app.state.settings = settings
    app.state.metrics = metrics
    app.state.store = store

    install_error_handlers(app)
    app.include_router(classify.router)
    app.include_router(model.router)
    app.include_router(files.router)
    app.include_router(health.router)
    app.include_router(page.router)
    app.mount("/static", StaticFiles(directory=page.STATIC_DIR), name="static")

    def openapi_with_api_key() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = declare_api_key(FastAPI.openapi(app))
        return app.openapi_schema

    app.openapi = openapi_with_api_key  # type: ignore[method-assign]
    caps = {
        "/v1/classify": CLASSIFY_MAX_BODY_BYTES,
        "/v1/classify/batch": BATCH_MAX_BODY_BYTES,
        "/v1/files": settings.max_upload_bytes + MULTIPART_OVERHEAD_BYTES,
    }
    app.add_middleware(BodySizeLimitMiddleware, caps=caps, default=DEFAULT_MAX_BODY_BYTES)
    # Added last = outermost: the request id, log line and metrics cover the 401 and every error too.
    app.add_middleware(ApiKeyMiddleware, settings=settings)
    app.add_middleware(RequestContextMiddleware, metrics=metrics, templates=RouteTemplates(app.openapi))
    return app
