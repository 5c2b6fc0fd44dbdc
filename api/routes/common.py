"""What every /v1 route shares: the error responses it declares and how it records its predictions."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

from api.metrics import Metrics
from api.schemas import ErrorResponse
from classifier.predict import Prediction

ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorResponse, "description": "Missing or wrong X-API-Key (when BUWEI_API_KEY is set)."},
    413: {"model": ErrorResponse, "description": "Request body larger than this route accepts."},
    422: {"model": ErrorResponse, "description": "Invalid request: empty or too long text, too many texts, …"},
    503: {"model": ErrorResponse, "description": "No model is loaded yet."},
}


def record_predictions(
    fields: dict[str, Any], metrics: Metrics, predictions: Sequence[Prediction], version: str
) -> None:
    """Count predictions in the metrics and note labels (never texts) for the access log."""
    metrics.observe_predictions(predictions)
    fields["model_version"] = version
    if len(predictions) == 1:
        fields["label"] = predictions[0].label
        fields["confidence"] = predictions[0].confidence
        fields["needs_review"] = predictions[0].needs_review
    else:
        fields["texts"] = len(predictions)
        fields["labels"] = dict(Counter(p.label for p in predictions))
        fields["needs_review"] = sum(p.needs_review for p in predictions)
