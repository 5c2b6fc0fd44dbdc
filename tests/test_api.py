"""The HTTP API through TestClient (the lifespan runs): every endpoint, every limit, every error shape."""

from __future__ import annotations

import asyncio
import io
import json
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError

from api.app import create_app
from api.routes.page import STATIC_DIR
from api.schemas import (
    BATCH_MAX_BODY_BYTES,
    CLASSIFY_MAX_BODY_BYTES,
    MAX_BATCH_TEXTS,
    MAX_TEXT_CHARS,
    BatchResponse,
    ClassifyResult,
)
from api.settings import Settings
from classifier.labelling import label_file
from classifier.labels import LABEL_CODES
from classifier.predict import Predictor
from classifier.train import TrainResult

KEY = "k" * 24
TEXT = "区住建局和街道办互相推诿，材料交上去三个月没人管，打电话就说不归我们管。"


def settings_for(root: Path, **overrides: Any) -> Settings:
    return Settings(**{"models_dir": root, "reload_poll_seconds": 0, "api_key": None, **overrides})


@pytest.fixture(scope="module")
def client(mini_bundle: TrainResult) -> Iterator[TestClient]:
    with TestClient(create_app(settings_for(mini_bundle.path.parent))) as test_client:
        yield test_client


@pytest.fixture
def keyed(mini_bundle: TrainResult) -> Iterator[TestClient]:
    with TestClient(create_app(settings_for(mini_bundle.path.parent, api_key=KEY))) as test_client:
        yield test_client


@pytest.fixture
def no_model(tmp_path: Path) -> Iterator[TestClient]:
    with TestClient(create_app(settings_for(tmp_path))) as test_client:
        yield test_client


def assert_error(response: Any, status: int, code: str | None = None) -> dict[str, Any]:
    """The error contract: JSON {"error": {"code", "message"}}, Chinese and English, no traceback."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message"}
    if code is not None:
        assert body["error"]["code"] == code
    message = body["error"]["message"]
    assert " / " in message and re.search(r"[\u4e00-\u9fff]", message) and re.search(r"[a-z]", message)
    assert "Traceback" not in response.text and 'File "' not in response.text
    return body["error"]


# ---------------------------------------------------------------- classify


def test_classify_returns_the_contract_shape(client: TestClient, mini_bundle: TrainResult) -> None:
    response = client.post("/v1/classify", json={"text": TEXT})
    assert response.status_code == 200
    result = response.json()
    assert set(result) == {
        "label",
        "label_zh",
        "confidence",
        "probabilities",
        "second_label",
        "needs_review",
        "evidence",
        "model_version",
    }
    assert result["label"] in LABEL_CODES and result["second_label"] in LABEL_CODES
    assert result["label"] != result["second_label"]
    assert list(result["probabilities"]) == list(LABEL_CODES)
    assert abs(sum(result["probabilities"].values()) - 1) < 1e-3
    assert result["confidence"] == max(result["probabilities"].values())
    assert all(set(e) == {"term", "weight"} for e in result["evidence"])
    assert result["model_version"] == mini_bundle.manifest["version"]
    assert re.fullmatch(r"[0-9a-f]{32}", response.headers["x-request-id"])


def test_classify_matches_the_predictor(client: TestClient, mini_model: Predictor) -> None:
    assert client.post("/v1/classify", json={"text": TEXT}).json() == mini_model.predict_one(TEXT).to_dict()


def test_results_are_the_bytes_their_response_models_would_write(client: TestClient, mini_model: Predictor) -> None:
    # The handlers answer prepared responses: they must read exactly as the response models serialise.
    texts = [TEXT, "感谢社区工作人员耐心帮我们解决了停车难的问题。"]
    single = client.post("/v1/classify", json={"text": TEXT})
    batch = client.post("/v1/classify/batch", json={"texts": texts})
    results = [p.to_dict() for p in mini_model.predict(texts)]
    assert single.content == ClassifyResult.model_validate(results[0]).model_dump_json().encode()
    assert batch.content == BatchResponse.model_validate({"results": results}).model_dump_json().encode()
    assert single.headers["content-type"] == batch.headers["content-type"] == "application/json"


def test_long_text_is_classified_off_the_event_loop_with_the_same_result(
    client: TestClient, mini_model: Predictor
) -> None:
    text = (TEXT * 200)[:MAX_TEXT_CHARS]  # over INLINE_MAX_CHARS: handed to the thread pool
    assert client.post("/v1/classify", json={"text": text}).json() == mini_model.predict_one(text).to_dict()


def test_batch_answers_in_input_order(client: TestClient) -> None:
    texts = [TEXT, "感谢社区工作人员耐心帮我们解决了停车难的问题。", "领导怕担责任，不敢签字，层层请示等上级文件。"]
    response = client.post("/v1/classify/batch", json={"texts": texts})
    assert response.status_code == 200
    results = response.json()["results"]
    singles = [client.post("/v1/classify", json={"text": t}).json() for t in texts]
    assert results == singles


def test_request_id_from_the_client_is_echoed(client: TestClient) -> None:
    response = client.get("/healthz", headers={"X-Request-ID": "abc-123"})
    assert response.headers["x-request-id"] == "abc-123"
    odd = client.get("/healthz", headers={"X-Request-ID": "no spaces, please; " + "x" * 80})
    assert re.fullmatch(r"[0-9a-f]{32}", odd.headers["x-request-id"])


# ---------------------------------------------------------------- limits


def test_text_of_the_maximum_length_fits_even_with_every_character_escaped(client: TestClient) -> None:
    text = ("推诿扯皮不作为" * 3000)[:MAX_TEXT_CHARS]
    body = json.dumps({"text": text}).encode()  # ensure_ascii: \uXXXX for every character
    assert len(body) > 6 * MAX_TEXT_CHARS
    response = client.post("/v1/classify", content=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 200


def test_text_too_long_is_422(client: TestClient) -> None:
    error = assert_error(client.post("/v1/classify", json={"text": "中" * (MAX_TEXT_CHARS + 1)}), 422, "text_too_long")
    assert "20,000" in error["message"]


@pytest.mark.parametrize("blank", ["", " ", "\n\t  \r\n", "\u3000\u3000", "\x1c"])
def test_empty_or_whitespace_text_is_422_and_says_so(client: TestClient, blank: str) -> None:
    error = assert_error(client.post("/v1/classify", json={"text": blank}), 422, "empty_text")
    assert "空白" in error["message"] and "whitespace" in error["message"]


def test_blank_text_inside_a_batch_is_422_naming_it(client: TestClient) -> None:
    error = assert_error(client.post("/v1/classify/batch", json={"texts": [TEXT, "   "]}), 422, "empty_text")
    assert "texts[1]" in error["message"]


def test_batch_of_the_maximum_size_is_answered(client: TestClient) -> None:
    texts = [f"第{i}件：推诿扯皮" for i in range(MAX_BATCH_TEXTS)]
    response = client.post("/v1/classify/batch", json={"texts": texts})
    assert response.status_code == 200
    assert len(response.json()["results"]) == MAX_BATCH_TEXTS


def test_batch_too_big_is_422(client: TestClient) -> None:
    error = assert_error(
        client.post("/v1/classify/batch", json={"texts": ["推诿"] * (MAX_BATCH_TEXTS + 1)}), 422, "too_many_texts"
    )
    assert "1,000" in error["message"]


def test_empty_batch_is_422(client: TestClient) -> None:
    assert_error(client.post("/v1/classify/batch", json={"texts": []}), 422, "empty_batch")


@pytest.mark.parametrize(
    ("path", "body", "code"),
    [
        ("/v1/classify", b"{not json", "invalid_json"),
        ("/v1/classify", b'{"text": 5}', "invalid_type"),
        ("/v1/classify", b'{"words": "x"}', "missing_field"),
        ("/v1/classify", b'["x"]', "invalid_json"),
        ("/v1/classify/batch", b'{"texts": "x"}', "invalid_type"),
    ],
)
def test_malformed_bodies_are_422(client: TestClient, path: str, body: bytes, code: str) -> None:
    assert_error(client.post(path, content=body, headers={"Content-Type": "application/json"}), 422, code)


def test_body_too_big_by_content_length_is_413(client: TestClient) -> None:
    padding = b" " * (CLASSIFY_MAX_BODY_BYTES + 1)
    response = client.post(
        "/v1/classify", content=b'{"text": "x"' + padding + b"}", headers={"Content-Type": "application/json"}
    )
    error = assert_error(response, 413, "body_too_large")
    assert f"{CLASSIFY_MAX_BODY_BYTES:,}" in error["message"]


def test_body_too_big_without_content_length_is_413(client: TestClient) -> None:
    def chunks() -> Iterator[bytes]:  # a streamed (chunked) body: counted as it arrives
        yield b'{"text": "'
        for _ in range(CLASSIFY_MAX_BODY_BYTES // 65536 + 2):
            yield b"x" * 65536
        yield b'"}'

    response = client.post("/v1/classify", content=chunks(), headers={"Content-Type": "application/json"})
    assert_error(response, 413, "body_too_large")


def call_asgi(app: Any, method: str, path: str, headers: list[tuple[bytes, bytes]], body: bytes) -> dict[str, Any]:
    """Drive the ASGI app directly: lets a test declare a Content-Length it does not send."""
    sent: list[dict[str, Any]] = []
    received = False

    async def receive() -> dict[str, Any]:
        nonlocal received
        if received:
            return {"type": "http.disconnect"}
        received = True
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "headers": headers,
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 80),
        "scheme": "http",
        "root_path": "",
    }
    asyncio.run(app(scope, receive, send))
    start = next(m for m in sent if m["type"] == "http.response.start")
    content = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return {"status": start["status"], "body": json.loads(content)}


def test_batch_body_cap_refuses_a_declared_oversize_body_without_reading_it(client: TestClient) -> None:
    headers = [(b"content-type", b"application/json"), (b"content-length", str(BATCH_MAX_BODY_BYTES + 1).encode())]
    answer = call_asgi(client.app, "POST", "/v1/classify/batch", headers, b'{"texts": ["x"]}')
    assert answer["status"] == 413 and answer["body"]["error"]["code"] == "body_too_large"


def test_body_caps_hold_every_valid_request_escaped() -> None:
    """Worst-case valid bodies, as json.dumps writes them (\\uXXXX for every Chinese character)."""
    one_text = len(json.dumps("中" * MAX_TEXT_CHARS))
    assert len(json.dumps({"text": "中" * 10})) - len(json.dumps("中" * 10)) + one_text <= CLASSIFY_MAX_BODY_BYTES
    largest_batch = len('{"texts": []}') + MAX_BATCH_TEXTS * one_text + (MAX_BATCH_TEXTS - 1) * len(", ")
    assert largest_batch <= BATCH_MAX_BODY_BYTES
    # ... and the caps are not wildly larger than that: at most 1 % slack beyond the fixed allowance.
    assert largest_batch * 1.01 + 128 * 1024 > BATCH_MAX_BODY_BYTES


def test_the_schema_declares_the_limits(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    parts = schema["components"]["schemas"]
    text = parts["ClassifyRequest"]["properties"]["text"]
    assert text["maxLength"] == MAX_TEXT_CHARS and text["minLength"] == 1
    texts = parts["BatchRequest"]["properties"]["texts"]
    assert texts["maxItems"] == MAX_BATCH_TEXTS and texts["items"]["maxLength"] == MAX_TEXT_CHARS
    classify = schema["paths"]["/v1/classify"]["post"]["responses"]
    assert {"401", "413", "422", "503"} <= set(classify)
    assert classify["422"]["content"]["application/json"]["schema"]["$ref"].endswith("/ErrorResponse")


# ---------------------------------------------------------------- other errors


def test_unknown_path_is_404_json(client: TestClient) -> None:
    assert_error(client.get("/v1/nothing-here"), 404, "not_found")


def test_wrong_method_is_405_json_with_allow(client: TestClient) -> None:
    response = client.get("/v1/classify")
    assert_error(response, 405, "method_not_allowed")
    assert response.headers["allow"] == "POST"


def test_unexpected_exception_is_500_json_without_a_traceback(mini_bundle: TrainResult) -> None:
    app = create_app(settings_for(mini_bundle.path.parent))

    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError("something broke while reading 13812345678")

    with TestClient(app) as test_client:
        error = assert_error(test_client.get("/boom"), 500, "internal_error")
    assert "13812345678" not in error["message"] and "RuntimeError" not in error["message"]


# ---------------------------------------------------------------- API key


def test_api_key_is_required_on_every_v1_route(keyed: TestClient) -> None:
    calls = [
        ("POST", "/v1/classify", {"json": {"text": TEXT}}),
        ("POST", "/v1/classify/batch", {"json": {"texts": [TEXT]}}),
        ("GET", "/v1/labels", {}),
        ("GET", "/v1/model", {}),
        ("GET", "/v1/model/report", {}),
        ("POST", "/v1/model/reload", {}),
        ("POST", "/v1/files", {"files": {"file": ("a.csv", b"text\nx\n")}}),
    ]
    for method, path, kwargs in calls:
        assert_error(keyed.request(method, path, **kwargs), 401, "unauthorized")
        assert_error(keyed.request(method, path, headers={"X-API-Key": "wrong" * 5}, **kwargs), 401, "unauthorized")
    assert keyed.post("/v1/classify", json={"text": TEXT}, headers={"X-API-Key": KEY}).status_code == 200
    assert keyed.get("/v1/labels", headers={"X-API-Key": KEY}).status_code == 200


def test_api_key_is_checked_before_the_body_is_read(keyed: TestClient) -> None:
    response = keyed.post("/v1/classify", content=b"{not json", headers={"Content-Type": "application/json"})
    assert_error(response, 401, "unauthorized")


def test_the_schema_declares_the_key_on_every_v1_operation_and_no_other(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    scheme = schema["components"]["securitySchemes"]["APIKeyHeader"]
    assert scheme["type"] == "apiKey" and scheme["in"] == "header" and scheme["name"] == "X-API-Key"
    for path, operations in schema["paths"].items():
        for operation in operations.values():
            declared = operation.get("security") == [{"APIKeyHeader": []}]
            assert declared == path.startswith("/v1/"), path
    assert client.get("/openapi.json").json() == schema  # declared once, however often it is asked for


def test_health_page_and_metrics_need_no_key(keyed: TestClient) -> None:
    for path in ("/healthz", "/readyz", "/", "/static/app.js", "/metrics", "/openapi.json"):
        assert keyed.get(path).status_code == 200, path


def test_a_weak_api_key_is_refused_without_echoing_it() -> None:
    with pytest.raises(ValidationError) as caught:
        Settings(api_key="tooshort")
    assert "16" in str(caught.value) and "tooshort" not in str(caught.value)


def test_blank_api_key_means_no_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BUWEI_API_KEY", "  ")
    assert Settings().api_key is None


# ---------------------------------------------------------------- no model


def test_without_a_model_classify_and_readyz_are_503(no_model: TestClient) -> None:
    assert no_model.get("/healthz").json() == {"status": "ok"}
    assert_error(no_model.get("/readyz"), 503, "model_unavailable")
    assert_error(no_model.post("/v1/classify", json={"text": TEXT}), 503, "model_unavailable")
    assert_error(no_model.post("/v1/classify/batch", json={"texts": [TEXT]}), 503, "model_unavailable")
    assert_error(no_model.get("/v1/model"), 503, "model_unavailable")
    assert no_model.get("/").status_code == 200
    assert no_model.get("/v1/labels").status_code == 200


# ---------------------------------------------------------------- labels, model, report


def test_labels_are_the_taxonomy(client: TestClient) -> None:
    labels = client.get("/v1/labels").json()["labels"]
    assert [label["code"] for label in labels] == list(LABEL_CODES)
    assert all(label["zh"] and label["definition_zh"] and label["definition_en"] for label in labels)


def test_model_info_and_its_report(client: TestClient, mini_bundle: TrainResult) -> None:
    info = client.get("/v1/model").json()
    manifest = mini_bundle.manifest
    assert info["version"] == manifest["version"]
    assert info["trained_at"] == manifest["trained_at"]
    assert info["data_sha256"] == manifest["data"]["sha256"]
    assert info["metrics"]["macro_f1"] == manifest["metrics"]["macro_f1"]
    assert info["thresholds"] == manifest["thresholds"]
    assert info["reload_error"] is None

    page = client.get(info["report_url"])
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "模型评估报告" in page.text and "<table>" in page.text
    assert "<script" not in page.text
    assert "default-src 'none'" in page.headers["content-security-policy"]
    assert client.get("/v1/model/report.md").text == (mini_bundle.path / "report.md").read_text(encoding="utf-8")

    assert info["figures"], "the mini model's report has figures"
    for url in info["figures"]:
        figure = client.get(url)
        assert figure.status_code == 200 and figure.headers["content-type"] == "image/png"
        assert figure.content.startswith(b"\x89PNG")
        name = url.rsplit("/", 1)[1]
        assert re.search(rf'src="{re.escape(name)}"', page.text), "the page shows every figure"


@pytest.mark.parametrize("figure", ["nothing.png", "..%2Fmanifest.json", "manifest.json", "%2e%2e%2fmodel.png"])
def test_report_figures_serve_only_the_bundles_pngs(client: TestClient, figure: str) -> None:
    response = client.get(f"/v1/model/report/{figure}")
    assert response.status_code in (404, 422)
    assert "application/json" in response.headers["content-type"]


# ---------------------------------------------------------------- health


def test_healthz_and_readyz(client: TestClient, mini_bundle: TrainResult) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/readyz").json() == {"status": "ready", "model_version": mini_bundle.manifest["version"]}


# ---------------------------------------------------------------- files


def labelled_locally(tmp_path: Path, name: str, content: bytes, predictor: Predictor) -> bytes:
    source = tmp_path / "local" / name
    source.parent.mkdir()
    source.write_bytes(content)
    summary = label_file(source, predictor=predictor, show_progress=False)
    return summary.output_path.read_bytes()


CSV_BYTES = ("编号,内容\n1," + TEXT + "\n2,感谢社区工作人员\n3,\n").encode("utf-8")


def test_csv_upload_comes_back_labelled_as_buwei_label_writes_it(
    client: TestClient, mini_model: Predictor, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "server-tmp"))
    (tmp_path / "server-tmp").mkdir()
    response = client.post("/v1/files", files={"file": ("投诉 2024.csv", CSV_BYTES, "text/csv")})
    assert response.status_code == 200, response.text
    assert response.content == labelled_locally(tmp_path, "投诉 2024.csv", CSV_BYTES, mini_model)
    disposition = response.headers["content-disposition"]
    assert disposition.startswith("attachment;") and "%E6%8A%95%E8%AF%89%202024.labelled.csv" in disposition
    assert response.headers["x-buwei-rows"] == "3"
    header = response.content.decode("utf-8-sig").splitlines()[0].split(",")
    assert header[-6:] == ["pred_label", "pred_label_zh", "confidence", "second_label", "needs_review", "evidence"]
    assert list((tmp_path / "server-tmp").iterdir()) == [], "the upload's temporary folder is removed"


def test_xlsx_upload_round_trip(client: TestClient) -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["id", "留言详情"])
    sheet.append([1, TEXT])
    buffer = io.BytesIO()
    book.save(buffer)
    response = client.post("/v1/files", files={"file": ("in.xlsx", buffer.getvalue())})
    assert response.status_code == 200, response.text
    assert 'filename="in.labelled.xlsx"' in response.headers["content-disposition"]
    rows = list(openpyxl.load_workbook(io.BytesIO(response.content)).active.iter_rows(values_only=True))
    assert rows[0][:3] == ("id", "留言详情", "pred_label") and rows[1][2] in LABEL_CODES


def test_text_column_can_be_named(client: TestClient) -> None:
    content = "a,b\n其他内容,领导不敢签字\n".encode()
    response = client.post("/v1/files", files={"file": ("x.csv", content)}, data={"text_column": "b"})
    assert response.status_code == 200, response.text
    assert_error(
        client.post("/v1/files", files={"file": ("x.csv", content)}, data={"text_column": "nope"}),
        422,
        "column_not_found",
    )


@pytest.mark.parametrize("name", ["notes.txt", "table.xls", "noextension", ""])
def test_unsupported_file_type_is_415(client: TestClient, name: str) -> None:
    response = client.post("/v1/files", files={"file": (name, b"text\nx\n")})
    if name == "":  # no file name at all: the form has no file in it
        assert_error(response, 422)
    else:
        assert_error(response, 415, "unsupported_file")


def test_missing_file_is_422(client: TestClient) -> None:
    assert_error(client.post("/v1/files", data={"text_column": "x"}), 422)


def test_unreadable_file_is_a_422_json_error(client: TestClient) -> None:
    response = client.post("/v1/files", files={"file": ("bad.xlsx", b"this is not a zip file")})
    assert_error(response, 422)


def test_upload_over_the_cap_is_413(mini_bundle: TrainResult) -> None:
    with TestClient(create_app(settings_for(mini_bundle.path.parent, max_upload_bytes=1000))) as small:
        big = b"text\n" + ("推诿扯皮" * 50 + "\n").encode() * 200
        assert_error(small.post("/v1/files", files={"file": ("big.csv", big)}), 413, "body_too_large")
        assert small.post("/v1/files", files={"file": ("ok.csv", b"text\nx\n")}).status_code == 200


# ---------------------------------------------------------------- page and docs


def test_page_is_served_in_chinese_with_a_strict_csp(client: TestClient) -> None:
    page = client.get("/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert 'lang="zh-CN"' in page.text and "为官不为" in page.text
    csp = page.headers["content-security-policy"]
    assert "default-src 'self'" in csp and "script-src 'self'" in csp
    for asset in ("/static/app.js", "/static/style.css"):
        assert client.get(asset).status_code == 200


def test_page_loads_nothing_from_another_host() -> None:
    for path in STATIC_DIR.iterdir():
        text = path.read_text(encoding="utf-8")
        assert not re.search(r"(?:src|href)\s*=\s*[\"']?(?:https?:)?//", text), path.name
        assert not re.search(r"url\(\s*[\"']?(?:https?:)?//", text), path.name
        assert not re.search(r"(?:fetch|import)\s*\(\s*[\"'](?:https?:)?//", text), path.name


def test_openapi_and_docs(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    for path in ("/v1/classify", "/v1/classify/batch", "/v1/files", "/v1/labels", "/v1/model", "/v1/model/reload"):
        assert path in paths
    assert "/" not in paths
    assert client.get("/docs").status_code == 200


def test_the_factory_reads_its_settings_from_the_environment(
    models_env: Path, mini_bundle: TrainResult, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("BUWEI_API_KEY", raising=False)
    monkeypatch.setenv("BUWEI_RELOAD_POLL_SECONDS", "0")
    monkeypatch.setenv("BUWEI_MAX_UPLOAD_BYTES", "1234")
    app = create_app()  # what uvicorn calls (factory=True)
    assert app.state.settings.models_root() == models_env and app.state.settings.max_upload_bytes == 1234
    with TestClient(app) as test_client:
        assert test_client.get("/readyz").json()["model_version"] == mini_bundle.manifest["version"]
