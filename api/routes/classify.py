"""POST /v1/classify and /v1/classify/batch."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from pydantic_core import to_json
from starlette.concurrency import run_in_threadpool

from api.deps import AccessFields, MetricsDep, ModelDep, access_fields
from api.routes.common import ERROR_RESPONSES, record_predictions
from api.schemas import (
    BatchRequest,
    BatchResponse,
    ClassifyRequest,
    ClassifyResult,
)

router = APIRouter(prefix="/v1", tags=["classify"], responses=ERROR_RESPONSES)


# `async def`, measured: one text is a short burst of CPU, and the thread-pool hand-off a `def`
# handler pays costs more than it saves. In-process (httpx ASGI transport, mini model, corpus texts of
# 218 characters on average, 2 × 2,000 requests each, 2-core machine), CPU per request:
#   1 client:   async def 4.47–4.63 ms,  def 5.03–5.30 ms
#   16 clients: async def 4.98–5.13 ms,  def 5.70–5.72 ms
# (../shared/PERF-NOTES.md found the same: 2.45 against 3.2–3.7 ms.) A long text, though, would hold
# the event loop (20,000 characters: 65–190 ms here), so texts above INLINE_MAX_CHARS go to the pool.
INLINE_MAX_CHARS = 2_000


# Per-request overhead, measured with a constant predictor (instructions per request, direct ASGI): each
# dependency FastAPI solves costs about as much as the handler's own work, and validating the result
# against ClassifyResult and serialising it again costs more. So metrics and the access fields come
# from the request, and the handler answers Prediction.to_dict() serialised by pydantic-core, as
# FastAPI did (the same bytes: tests/test_api.py; json.dumps takes five times as long). response_model=
# stays for OpenAPI.
@router.post("/classify", response_model=ClassifyResult, summary="Classify one text")
async def classify_text(body: ClassifyRequest, predictor: ModelDep, request: Request) -> Response:
    """Classify one text: its label, calibrated probabilities, review flag and evidence terms."""
    if len(body.text) <= INLINE_MAX_CHARS:
        prediction = predictor.predict_one(body.text)
    else:
        prediction = await run_in_threadpool(predictor.predict_one, body.text)
    record_predictions(access_fields(request.scope), request.app.state.metrics, [prediction], predictor.version)
    return Response(to_json(prediction.to_dict()), media_type="application/json")


# `def` (thread pool): up to 1 000 long texts can take seconds, which must not stall the event loop.
@router.post(
    "/classify/batch",
    response_model=BatchResponse,
    summary="Classify many texts",
)
def classify_batch(body: BatchRequest, predictor: ModelDep, metrics: MetricsDep, fields: AccessFields) -> Any:
    """Classify up to 1,000 texts; the results come back in input order, all from one model version."""
    predictions = predictor.predict(body.texts)
    record_predictions(fields, metrics, predictions, predictor.version)
    return {"results": [p.to_dict() for p in predictions]}
