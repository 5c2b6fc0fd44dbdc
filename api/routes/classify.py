"""POST /v1/classify and /v1/classify/batch."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from starlette.concurrency import run_in_threadpool

from api.deps import ModelDep
from api.routes.common import ERROR_RESPONSES, prepared_json, record_predictions
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


# Both handlers answer a prepared response (routes/common.py): with a constant predictor, validating
# the result against the response model and two dependencies were a sixth of a request's overhead.
@router.post("/classify", response_model=ClassifyResult, summary="Classify one text")
async def classify_text(body: ClassifyRequest, predictor: ModelDep, request: Request) -> Response:
    """Classify one text: its label, calibrated probabilities, review flag and evidence terms."""
    if len(body.text) <= INLINE_MAX_CHARS:
        prediction = predictor.predict_one(body.text)
    else:
        prediction = await run_in_threadpool(predictor.predict_one, body.text)
    record_predictions(request, [prediction], predictor.version)
    return prepared_json(prediction.to_dict())


# `def` (thread pool): up to 1 000 long texts can take seconds, which must not stall the event loop.
@router.post(
    "/classify/batch",
    response_model=BatchResponse,
    summary="Classify many texts",
)
def classify_batch(body: BatchRequest, predictor: ModelDep, request: Request) -> Response:
    """Classify up to 1,000 texts; the results come back in input order, all from one model version."""
    predictions = predictor.predict(body.texts)
    record_predictions(request, predictions, predictor.version)
    return prepared_json({"results": [p.to_dict() for p in predictions]})
