"""GET /healthz (liveness), GET /readyz (a model is loaded), GET /metrics (Prometheus)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response

from api.deps import MetricsDep, StoreDep, no_model_error
from api.metrics import CONTENT_TYPE
from api.schemas import ErrorResponse, Health, Ready

router = APIRouter(tags=["operations"])


@router.get("/healthz", response_model=Health, summary="Liveness")
async def get_health() -> Any:
    """The process answers. Says nothing about the model: see /readyz."""
    return {"status": "ok"}


@router.get(
    "/readyz",
    response_model=Ready,
    summary="Readiness",
    responses={503: {"model": ErrorResponse, "description": "No model is loaded yet."}},
)
async def get_ready(store: StoreDep) -> Any:
    """200 once a model is loaded and warmed up; 503 before."""
    predictor = store.predictor
    if predictor is None:
        raise no_model_error()
    return {"status": "ready", "model_version": predictor.version}


@router.get(
    "/metrics",
    response_class=Response,
    summary="Prometheus metrics",
    responses={200: {"content": {CONTENT_TYPE.split(";")[0]: {}}}},
)
async def get_metrics(metrics: MetricsDep) -> Response:
    """Request counts, latency histogram, predictions by label, share flagged for review, model version."""
    return Response(metrics.render(), media_type=CONTENT_TYPE)
