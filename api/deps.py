"""Dependencies the handlers declare with Annotated aliases: the model, the store, settings, metrics.

They are `async def` on purpose: a plain `def` dependency runs in the thread pool, and that hand-off
costs more than what they do (../shared/PERF-NOTES.md).
"""

from __future__ import annotations

import hmac
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.encoders import jsonable_encoder
from fastapi.security import APIKeyHeader
from starlette.types import Scope

from api.errors import ApiError
from api.metrics import Metrics
from api.settings import Settings
from api.store import ModelStore
from classifier.predict import Predictor

API_KEY_HEADER = "X-API-Key"
# What OpenAPI shows for the key; api.middleware.ApiKeyMiddleware is what enforces it.
API_KEY_SCHEME = APIKeyHeader(
    name=API_KEY_HEADER,
    auto_error=False,
    description="Needed on every /v1 call when the server has BUWEI_API_KEY set.",
)


async def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def get_store(request: Request) -> ModelStore:
    store: ModelStore = request.app.state.store
    return store


async def get_metrics(request: Request) -> Metrics:
    metrics: Metrics = request.app.state.metrics
    return metrics


def no_model_error() -> ApiError:
    return ApiError(
        503,
        "model_unavailable",
        "模型尚未加载，请先训练（buwei train）或稍后再试",
        "no model is loaded yet: train one (buwei train) or try again shortly",
    )


async def get_predictor(request: Request) -> Predictor:
    """The model served right now; taken once per request, so a reload cannot mix two models."""
    predictor = request.app.state.store.predictor
    if predictor is None:
        raise no_model_error()
    return predictor  # type: ignore[no-any-return]


def access_fields(scope: Scope) -> dict[str, Any]:
    """Fields a handler adds to this request's access-log line (labels, model version, counts)."""
    fields: dict[str, Any] = scope.setdefault("state", {}).setdefault("access_fields", {})
    return fields


async def get_access_fields(request: Request) -> dict[str, Any]:
    return access_fields(request.scope)


def key_accepted(settings: Settings, given: str | None) -> bool:
    """True when no key is configured, or `given` equals it (constant-time comparison)."""
    if settings.api_key is None:
        return True
    expected = settings.api_key.get_secret_value().encode("utf-8")
    return given is not None and hmac.compare_digest(given.encode("utf-8"), expected)


def unauthorized_error() -> ApiError:
    return ApiError(
        401,
        "unauthorized",
        f"缺少或错误的 API 密钥（请求头 {API_KEY_HEADER}）",
        f"missing or wrong API key (header {API_KEY_HEADER})",
    )


def needs_api_key(path: str) -> bool:
    """The paths the key guards (when BUWEI_API_KEY is set): /v1 and everything under it."""
    return path == "/v1" or path.startswith("/v1/")


def declare_api_key(openapi: dict[str, Any]) -> dict[str, Any]:
    """Declare the X-API-Key scheme on every operation under /v1, in place.

    By the rule ApiKeyMiddleware enforces, rather than by a router-level Security dependency: FastAPI
    solved that dependency again on every request (≈100k instructions, an eighth of the overhead of a
    /v1/classify request), only to repeat the middleware's check.
    """
    name = API_KEY_SCHEME.scheme_name
    scheme = jsonable_encoder(API_KEY_SCHEME.model, by_alias=True, exclude_none=True)
    openapi.setdefault("components", {}).setdefault("securitySchemes", {})[name] = scheme
    for path, operations in openapi.get("paths", {}).items():
        if needs_api_key(path):
            for operation in operations.values():
                operation.setdefault("security", []).append({name: []})
    return openapi


SettingsDep = Annotated[Settings, Depends(get_settings)]
StoreDep = Annotated[ModelStore, Depends(get_store)]
MetricsDep = Annotated[Metrics, Depends(get_metrics)]
ModelDep = Annotated[Predictor, Depends(get_predictor)]
AccessFields = Annotated[dict[str, Any], Depends(get_access_fields)]
