"""Structured JSON logs: what a line holds, and that no text or personal number ever reaches one."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.logs import JsonFormatter, event
from api.settings import Settings
from classifier.train import TrainResult

# A phrase no label, evidence term or field name could produce: if it shows up, the text leaked.
MARKER = "紫色长颈鹿在档案室里跳舞"

# (personal data as a citizen writes it, the digits that must not survive)
PII_POSITIVE = [
    ("13812345678", "13812345678"),
    ("+86 138 1234 5678", "1234 5678"),
    ("+86-13812345678", "13812345678"),
    ("008613812345678", "13812345678"),
    ("138-1234-5678", "1234-5678"),
    ("11010519491231002X", "11010519491231002X"),  # 身份证 with a valid check character
    ("6222021234567890128", "6222021234567890128"),  # bank card, Luhn-valid
    ("4111 1111 1111 1111", "4111 1111 1111 1111"),
    ("010-12345678", "12345678"),
    ("zhang.san@example.com", "zhang.san@example.com"),
]
# Numbers that are not personal data stay readable (an operator needs them).
PII_NEGATIVE = [
    "110105194912310021",  # 18 digits, wrong check character: not an ID number
    "4111111111111112",  # fails Luhn: not a card
    "2024-05-01",
    "1234567890",
    "第2024123号",
]


def lines(caplog: pytest.LogCaptureFixture) -> list[dict[str, Any]]:
    """Every captured Buwei record as the JSON line the server would write."""
    formatter = JsonFormatter()
    return [json.loads(formatter.format(r)) for r in caplog.records if r.name.startswith(("buwei", "uvicorn"))]


@pytest.fixture
def client(mini_bundle: TrainResult, caplog: pytest.LogCaptureFixture) -> Iterator[TestClient]:
    caplog.set_level(logging.INFO, logger="buwei")
    settings = Settings(models_dir=mini_bundle.path.parent, reload_poll_seconds=0, api_key=None)
    with TestClient(create_app(settings)) as test_client:
        yield test_client


def test_access_line_has_request_id_latency_status_label_and_version(
    client: TestClient, caplog: pytest.LogCaptureFixture, mini_bundle: TrainResult
) -> None:
    response = client.post("/v1/classify", json={"text": "部门之间互相推诿扯皮"}, headers={"X-Request-ID": "req-42"})
    access = [line for line in lines(caplog) if line["logger"] == "buwei.access"]
    assert len(access) == 1
    line = access[0]
    assert line["event"] == "request" and line["level"] == "info"
    assert line["request_id"] == "req-42" == response.headers["x-request-id"]
    assert line["method"] == "POST" and line["route"] == "/v1/classify" and line["status"] == 200
    assert isinstance(line["latency_ms"], float) and line["latency_ms"] >= 0
    assert line["label"] == response.json()["label"]
    assert line["model_version"] == mini_bundle.manifest["version"]
    assert set(line) >= {"ts", "level", "logger", "event"}


def test_batch_line_counts_labels(client: TestClient, caplog: pytest.LogCaptureFixture) -> None:
    results = client.post("/v1/classify/batch", json={"texts": ["推诿扯皮", "不敢签字", "感谢"]}).json()["results"]
    line = next(line for line in lines(caplog) if line["logger"] == "buwei.access")
    assert line["texts"] == 3
    assert sum(line["labels"].values()) == 3
    assert line["needs_review"] == sum(r["needs_review"] for r in results)


def test_startup_logs_the_model_loaded(mini_bundle: TrainResult, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="buwei")
    with TestClient(create_app(Settings(models_dir=mini_bundle.path.parent, reload_poll_seconds=0, api_key=None))):
        pass
    events = [line["event"] for line in lines(caplog) if line["logger"] == "buwei.events"]
    assert events[:2] == ["starting", "model_loaded"] and events[-1] == "stopped"


@pytest.mark.parametrize(("pii", "digits"), PII_POSITIVE)
def test_no_text_and_no_personal_data_reach_any_log_line(
    client: TestClient, caplog: pytest.LogCaptureFixture, pii: str, digits: str
) -> None:
    text = f"{MARKER}，我的联系方式 {pii}，街道办推诿扯皮。"
    calls = [
        client.post("/v1/classify", json={"text": text}),
        client.post("/v1/classify/batch", json={"texts": [text, "   "]}),  # 422: blank second text
        client.post("/v1/classify", json={"text": (text * 1000)[:20_001]}),  # 422: too long
        client.post("/v1/classify", content=text.encode(), headers={"Content-Type": "application/json"}),
        client.get(f"/v1/{pii}/{MARKER}"),  # 404 with the text in the path
        client.post("/v1/files", files={"file": (f"{pii}.csv", f"内容\n{text}\n".encode())}),
    ]
    assert [c.status_code for c in calls] == [200, 422, 422, 422, 404, 200]
    written = "\n".join(json.dumps(line, ensure_ascii=False) for line in lines(caplog))
    assert written.count('"buwei.access"') == len(calls)
    assert MARKER not in written and digits not in written
    for call in calls[1:5]:  # error answers do not echo the text either
        assert MARKER not in call.text and digits not in call.text


@pytest.mark.parametrize(("pii", "digits"), PII_POSITIVE)
def test_log_lines_mask_personal_data_in_every_field(pii: str, digits: str, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="buwei")
    event("probe", reason=f"来电 {pii}", nested={"list": [f"x {pii}"]})
    line = json.dumps(lines(caplog)[-1], ensure_ascii=False)
    assert digits not in line
    assert any(placeholder in line for placeholder in ("PHONE", "IDNO", "CARD", "EMAIL"))


def test_masking_holds_for_repeated_and_for_long_strings(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="buwei")
    short, long = "来电 13812345678", "群众反映" * 20 + " 13812345678"  # remembered / too long to remember
    for _ in range(2):
        event("probe", short=short, long=long)
    for line in lines(caplog)[-2:]:
        assert line["short"] == "来电 PHONE" and line["long"].endswith(" PHONE")


def test_access_line_masks_a_request_id_that_looks_like_a_phone_number(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    for _ in range(2):
        client.post("/v1/classify", json={"text": "部门之间互相推诿扯皮"}, headers={"X-Request-ID": "13812345678"})
    access = [line for line in lines(caplog) if line["logger"] == "buwei.access"]
    assert [line["request_id"] for line in access] == ["PHONE", "PHONE"]


@pytest.mark.parametrize("number", PII_NEGATIVE)
def test_log_lines_keep_numbers_that_are_not_personal_data(number: str, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="buwei")
    event("probe", reason=f"编号 {number}")
    assert number in lines(caplog)[-1]["reason"]


def test_exceptions_are_logged_masked_with_their_type(
    mini_bundle: TrainResult, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="buwei")
    app = create_app(Settings(models_dir=mini_bundle.path.parent, reload_poll_seconds=0, api_key=None))

    @app.get("/boom")
    async def boom() -> None:
        raise ValueError("cannot parse 13812345678 in 11010519491231002X")

    with TestClient(app) as test_client:
        request_id = test_client.get("/boom").headers["x-request-id"]
    errors = [line for line in lines(caplog) if line["event"] == "unhandled_error"]
    assert len(errors) == 1
    error = errors[0]
    assert error["error_type"] == "ValueError" and error["request_id"] == request_id
    assert "PHONE" in error["error"] and "IDNO" in error["error"] and "Traceback" in error["traceback"]
    written = json.dumps(lines(caplog), ensure_ascii=False)
    assert "13812345678" not in written and "11010519491231002X" not in written


def test_a_refused_reload_is_logged_with_its_reason(
    mini_bundle: TrainResult, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="buwei")
    (tmp_path / "CURRENT").write_text("missing-version\n", encoding="utf-8")
    with TestClient(create_app(Settings(models_dir=tmp_path, reload_poll_seconds=0, api_key=None))) as test_client:
        assert test_client.get("/readyz").status_code == 503
    refused = [line for line in lines(caplog) if line["event"] == "model_reload_refused"]
    assert refused and refused[0]["level"] == "error" and "missing-version" in refused[0]["reason"]


def test_requests_refused_before_routing_are_logged_under_their_route(
    mini_bundle: TrainResult, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="buwei")
    settings = Settings(models_dir=mini_bundle.path.parent, reload_poll_seconds=0, api_key="k" * 20)
    with TestClient(create_app(settings)) as test_client:
        assert test_client.post("/v1/classify", json={"text": "x"}).status_code == 401
        too_big = b'{"text": "' + b"x" * 300_000 + b'"}'
        headers = {"X-API-Key": "k" * 20, "Content-Type": "application/json"}
        assert test_client.post("/v1/classify", content=too_big, headers=headers).status_code == 413
    access = [line for line in lines(caplog) if line["logger"] == "buwei.access"]
    assert [(line["route"], line["status"]) for line in access] == [("/v1/classify", 401), ("/v1/classify", 413)]
