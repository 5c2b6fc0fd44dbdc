"""Prometheus /metrics: request counts, latency histogram, predictions by label, share flagged for review."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from api.app import create_app
from api.settings import Settings
from classifier.labels import LABEL_CODES
from classifier.train import TrainResult


@pytest.fixture
def client(mini_bundle: TrainResult) -> Iterator[TestClient]:
    settings = Settings(models_dir=mini_bundle.path.parent, reload_poll_seconds=0, api_key=None)
    with TestClient(create_app(settings)) as test_client:
        yield test_client


def scrape(client: TestClient) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    response = client.get("/metrics")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain")
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def value(samples: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def test_requests_latency_predictions_and_review_share(client: TestClient, mini_bundle: TrainResult) -> None:
    single = [client.post("/v1/classify", json={"text": t}).json() for t in ("推诿扯皮拖着不办", "不敢签字")]
    batch = client.post("/v1/classify/batch", json={"texts": ["感谢社区", "不懂新政策", "层层请示"]}).json()
    client.post("/v1/classify", json={"text": ""})  # 422
    client.get("/v1/nowhere")  # 404
    results = single + batch["results"]

    samples = scrape(client)
    route = "/v1/classify"
    assert value(samples, "buwei_http_requests_total", method="POST", route=route, status="200") == 2
    assert value(samples, "buwei_http_requests_total", method="POST", route=route, status="422") == 1
    assert value(samples, "buwei_http_requests_total", method="GET", route="unmatched", status="404") == 1
    assert value(samples, "buwei_http_request_duration_seconds_count", method="POST", route=route) == 3
    assert value(samples, "buwei_http_request_duration_seconds_bucket", method="POST", route=route, le="+Inf") == 3

    for code in LABEL_CODES:
        expected = sum(r["label"] == code for r in results)
        assert value(samples, "buwei_predictions_total", label=code) == expected
    flagged = sum(r["needs_review"] for r in results)
    assert value(samples, "buwei_predictions_needs_review_total") == flagged
    assert value(samples, "buwei_predictions_needs_review_ratio") == pytest.approx(flagged / len(results))
    assert value(samples, "buwei_model_info", version=mini_bundle.manifest["version"]) == 1
    assert value(samples, "buwei_http_requests_in_progress") == 0


def test_uploaded_files_count_as_predictions(client: TestClient) -> None:
    before = scrape(client)
    response = client.post("/v1/files", files={"file": ("a.csv", "内容\n推诿扯皮\n不敢签字\n\n".encode())})
    assert response.status_code == 200
    after = scrape(client)
    total = sum(value(after, "buwei_predictions_total", label=c) for c in LABEL_CODES)
    assert total - sum(value(before, "buwei_predictions_total", label=c) for c in LABEL_CODES) == 2


def test_scrapes_are_not_counted_as_traffic(client: TestClient) -> None:
    scrape(client)
    samples = scrape(client)
    assert not any(name == "buwei_http_requests_total" and ("route", "/metrics") in labels for name, labels in samples)


def test_unknown_methods_are_counted_together(client: TestClient) -> None:
    for method in ("BREW", "PROPFIND", "BREW"):
        client.request(method, "/v1/classify")
    samples = scrape(client)
    assert value(samples, "buwei_http_requests_total", method="OTHER", route="/v1/classify", status="405") == 3
    assert not any(("method", "BREW") in labels for _, labels in samples)
