"""What every /v1 route shares: the error responses it declares, how it records its predictions, and
how it answers results."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

from fastapi import Request, Response
from pydantic_core import to_json

from api.deps import access_fields
from api.metrics import Metrics
from api.schemas import ErrorResponse
from classifier.predict import Prediction

ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorResponse, "description": "Missing or wrong X-API-Key (when BUWEI_API_KEY is set)."},
    413: {"model": ErrorResponse, "description": "Request body larger than this route accepts."},
    422: {"model": ErrorResponse, "description": "Invalid request: empty or too long text, too many texts, …"},
    503: {"model": ErrorResponse, "description": "No model is loaded yet."},
}


def record_predictions(request: Request, predictions: Sequence[Prediction], version: str) -> None:
    """Count predictions in the metrics and note labels (never texts) for the access log.

    Metrics and log fields are taken from the request rather than declared as dependencies: FastAPI
    solves each dependency on every request, at about the cost of the rest of the handler.
    """
    metrics: Metrics = request.app.state.metrics
    metrics.observe_predictions(predictions)
    fields = access_fields(request.scope)
    fields["model_version"] = version
    if len(predictions) == 1:
        fields["label"] = predictions[0].label
        fields["confidence"] = predictions[0].confidence
        fields["needs_review"] = predictions[0].needs_review
    else:
        fields["texts"] = len(predictions)
        fields["labels"] = dict(Counter(p.label for p in predictions))
        fields["needs_review"] = sum(p.needs_review for p in predictions)


def prepared_json(content: Any) -> Response:
    """Results from Prediction.to_dict(), serialised by pydantic-core as FastAPI would have.

    FastAPI would first validate them against the route's response_model (kept for OpenAPI), which
    costs more than serialising them, and for a `def` route it does that in the thread pool, a second
    hand-off. tests/test_api.py checks the bytes against the response models' own serialisation.
    """
    return Response(to_json(content), media_type="application/json")
