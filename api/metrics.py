"""Prometheus metrics at /metrics: requests, latency, predictions by label, share flagged for review.

Each app owns its registry (tests build many apps in one process). With several uvicorn workers each
worker counts for itself and a scrape reaches one of them; prometheus-client's multiprocess mode is
not wired in, so run one worker per process you scrape, or sum across scrapes of every worker.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable

from prometheus_client import CONTENT_TYPE_LATEST as CONTENT_TYPE  # noqa: N811
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from classifier.labels import LABEL_CODES
from classifier.predict import Prediction

__all__ = ["CONTENT_TYPE", "Metrics"]

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
KNOWN_METHODS = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "buwei_http_requests",
            "HTTP requests answered (scrapes of /metrics excluded), by method, route template and status.",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "buwei_http_request_duration_seconds",
            "Time from request start to the end of the response, by method and route template.",
            ["method", "route"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.in_progress = Gauge(
            "buwei_http_requests_in_progress", "Requests being handled now (scrapes excluded).", registry=self.registry
        )
        self.predictions = Counter(
            "buwei_predictions",
            "Texts classified through the API, by predicted label.",
            ["label"],
            registry=self.registry,
        )
        self.flagged = Counter(
            "buwei_predictions_needs_review", "Texts classified with needs_review set.", registry=self.registry
        )
        self.review_share = Gauge(
            "buwei_predictions_needs_review_ratio",
            "Share of the texts classified since start that were flagged for review (0 before any).",
            registry=self.registry,
        )
        self.model_info = Gauge(
            "buwei_model_info", "The model version being served has value 1.", ["version"], registry=self.registry
        )
        self.reloads = Counter(
            "buwei_model_reloads", "Model reload attempts, by outcome.", ["outcome"], registry=self.registry
        )
        # Children by label values, looked up once: labels() takes a lock and checks its arguments on
        # every call (three calls a request, ≈40k of the ≈80k instructions these metrics cost one).
        self._by_label = {code: self.predictions.labels(code) for code in LABEL_CODES}
        self._by_request: dict[tuple[str, str, int], tuple[Counter, Histogram]] = {}
        for outcome in ("reloaded", "unchanged", "refused"):
            self.reloads.labels(outcome)
        self._lock = threading.Lock()
        self._total = 0
        self._review = 0
        self.review_share.set_function(self._share)

    def _share(self) -> float:
        with self._lock:
            return self._review / self._total if self._total else 0.0

    def _label(self, code: str) -> Counter:
        return self._by_label.get(code) or self.predictions.labels(code)

    def observe_request(self, method: str, route: str, status: int, seconds: float) -> None:
        method = method if method in KNOWN_METHODS else "OTHER"
        key = (method, route, status)
        children = self._by_request.get(key)
        if children is None:  # methods are known, routes templates and statuses few: this stays small
            children = self.requests.labels(method, route, str(status)), self.latency.labels(method, route)
            self._by_request[key] = children
        children[0].inc()
        children[1].observe(seconds)

    def observe_predictions(self, predictions: Iterable[Prediction]) -> None:
        flagged = total = 0
        for prediction in predictions:
            self._label(prediction.label).inc()
            total += 1
            flagged += prediction.needs_review
        if flagged:
            self.flagged.inc(flagged)
        with self._lock:
            self._total += total
            self._review += flagged

    def observe_counts(self, counts: dict[str, int], flagged: int) -> None:
        """Predictions made in bulk (an uploaded file): texts by label, and how many were flagged."""
        for code, n in counts.items():
            if n:
                self._label(code).inc(n)
        if flagged > 0:
            self.flagged.inc(flagged)
        with self._lock:
            self._total += sum(counts.values())
            self._review += max(0, flagged)

    def serving(self, version: str | None) -> None:
        self.model_info.clear()
        if version:
            self.model_info.labels(version).set(1)

    def render(self) -> bytes:
        return generate_latest(self.registry)
