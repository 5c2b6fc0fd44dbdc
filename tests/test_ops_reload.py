"""Hot reload: verified and warmed up before the swap, refused bundles leave the old model serving,
and five reloads under concurrent load drop no request and mix no two models in one response."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.settings import Settings
from classifier import bundle
from classifier.train import TrainResult
from tests.live_server import copy_version, live_server

V1, V2 = "20260101-000000", "20260102-000000"
TEXTS = ["街道办推诿扯皮，拖着不办", "领导怕担责，不敢签字", "不懂新政策，束手无策", "感谢社区帮忙"]


@pytest.fixture
def models(mini_bundle: TrainResult, tmp_path: Path) -> Path:
    """A models folder with two loadable versions, V1 current."""
    root = tmp_path / "models"
    root.mkdir()
    copy_version(mini_bundle.path, root, V1)
    copy_version(mini_bundle.path, root, V2)
    bundle.set_current(V1, root)
    return root


def make_client(root: Path, **overrides: Any) -> TestClient:
    settings = Settings(**{"models_dir": root, "reload_poll_seconds": 0, "api_key": None, **overrides})
    return TestClient(create_app(settings))


def served_version(client: TestClient) -> str:
    version: str = client.post("/v1/classify", json={"text": TEXTS[0]}).json()["model_version"]
    return version


def test_reload_swaps_in_the_new_current_version(models: Path) -> None:
    with make_client(models) as client:
        assert served_version(client) == V1
        bundle.set_current(V2, models)
        answer = client.post("/v1/model/reload")
        assert answer.status_code == 200
        assert answer.json()["status"] == "reloaded" and answer.json()["version"] == V2
        assert answer.json()["previous_version"] == V1
        assert served_version(client) == V2 and client.get("/v1/model").json()["version"] == V2
        again = client.post("/v1/model/reload").json()
        assert again["status"] == "unchanged" and again["version"] == V2
        assert client.post("/v1/model/reload", params={"force": "true"}).json()["status"] == "reloaded"


def tamper(root: Path, version: str) -> None:
    model = root / version / bundle.MODEL_FILE
    model.write_bytes(model.read_bytes()[:-10] + b"0123456789")


def wrong_labels(root: Path, version: str) -> None:
    path = root / version / bundle.MANIFEST_FILE
    path.write_text(path.read_text(encoding="utf-8").replace('"other"', '"misc"'), encoding="utf-8")


def wrong_sklearn(root: Path, version: str) -> None:
    path = root / version / bundle.MANIFEST_FILE
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace('"scikit-learn": "', '"scikit-learn": "0.1-'), encoding="utf-8")


def missing_model(root: Path, version: str) -> None:
    (root / version / bundle.MODEL_FILE).unlink()


@pytest.mark.parametrize(
    ("break_it", "reason"),
    [(tamper, "sha256"), (wrong_labels, "label"), (wrong_sklearn, "scikit-learn"), (missing_model, "missing")],
)
def test_a_bad_bundle_is_refused_and_the_old_model_keeps_serving(models: Path, break_it: Any, reason: str) -> None:
    with make_client(models) as client:
        break_it(models, V2)
        (models / bundle.POINTER_FILE).write_text(V2 + "\n", encoding="utf-8")  # what a careless copy would do
        answer = client.post("/v1/model/reload")
        assert answer.status_code == 409
        error = answer.json()["error"]
        assert error["code"] == "reload_refused"
        assert V1 in error["message"] and reason in error["message"]
        assert served_version(client) == V1
        assert client.get("/readyz").json()["model_version"] == V1
        assert reason in client.get("/v1/model").json()["reload_error"]
        metrics = client.get("/metrics").text
        assert 'buwei_model_reloads_total{outcome="refused"} 1.0' in metrics


def test_a_model_that_fails_its_warm_up_is_refused(models: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import api.store

    with make_client(models) as client:
        bundle.set_current(V2, models)

        def broken(predictor: Any) -> None:
            raise ValueError("warm-up produced NaN")

        monkeypatch.setattr(api.store, "warm_up", broken)
        answer = client.post("/v1/model/reload")
        assert answer.status_code == 409 and "NaN" in answer.json()["error"]["message"]
        assert served_version(client) == V1


def test_the_server_notices_the_pointer_change(models: Path) -> None:
    with make_client(models, reload_poll_seconds=0.05) as client:
        assert served_version(client) == V1
        bundle.set_current(V2, models)
        deadline = time.monotonic() + 30
        while client.get("/v1/model").json()["version"] != V2:
            assert time.monotonic() < deadline, "the watcher never reloaded"
            time.sleep(0.05)
        assert served_version(client) == V2


def test_the_watcher_does_not_retry_a_refused_version(models: Path) -> None:
    with make_client(models, reload_poll_seconds=0.05) as client:
        tamper(models, V2)
        (models / bundle.POINTER_FILE).write_text(V2 + "\n", encoding="utf-8")
        deadline = time.monotonic() + 30
        while client.get("/v1/model").json()["reload_error"] is None:
            assert time.monotonic() < deadline, "the watcher never tried"
            time.sleep(0.05)
        time.sleep(0.3)  # several more polls
        assert 'buwei_model_reloads_total{outcome="refused"} 1.0' in client.get("/metrics").text.splitlines()
        assert served_version(client) == V1


def test_reload_without_any_model_says_so(tmp_path: Path) -> None:
    with make_client(tmp_path) as client:
        answer = client.post("/v1/model/reload")
        assert answer.status_code == 503 and answer.json()["error"]["code"] == "model_unavailable"


@dataclass
class Load:
    """What the clients saw while the server reloaded."""

    ok: int = 0
    failures: list[str] = field(default_factory=list)
    versions: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, versions: set[str]) -> None:
        with self.lock:
            self.ok += 1
            if len(versions) != 1:
                self.failures.append(f"mixed versions in one response: {sorted(versions)}")
            self.versions.extend(versions)


def hammer(base: str, load: Load, stop: threading.Event, k: int) -> None:
    with httpx.Client(base_url=base, timeout=60) as client:  # one kept-open connection per client
        i = 0
        while not stop.is_set():
            i += 1
            try:
                if (i + k) % 3:
                    response = client.post("/v1/classify", json={"text": TEXTS[(i + k) % len(TEXTS)]})
                    got = {response.json()["model_version"]} if response.status_code == 200 else set()
                else:
                    response = client.post("/v1/classify/batch", json={"texts": TEXTS * 5})
                    results = response.json().get("results", []) if response.status_code == 200 else []
                    got = {r["model_version"] for r in results}
                if response.status_code != 200:
                    load.failures.append(f"HTTP {response.status_code}: {response.text[:200]}")
                else:
                    load.record(got)
            except Exception as exc:  # a dropped connection is a failed request
                load.failures.append(f"{type(exc).__name__}: {exc}")


def test_five_reloads_under_concurrent_load(models: Path) -> None:
    app = create_app(Settings(models_dir=models, reload_poll_seconds=0, api_key=None))
    load, stop = Load(), threading.Event()
    with live_server(app) as base:
        clients = [threading.Thread(target=hammer, args=(base, load, stop, k)) for k in range(4)]
        for thread in clients:
            thread.start()
        try:
            with httpx.Client(base_url=base, timeout=120) as admin:
                for n in range(5):
                    target = (V2, V1)[n % 2]
                    bundle.set_current(target, models)
                    answer = admin.post("/v1/model/reload")
                    assert answer.status_code == 200 and answer.json()["version"] == target
                    served_from = load.ok
                    deadline = time.monotonic() + 60
                    while load.ok < served_from + 20:  # requests answered between this reload and the next
                        assert time.monotonic() < deadline and not load.failures, load.failures[:3]
                        time.sleep(0.01)
        finally:
            stop.set()
            for thread in clients:
                thread.join(60)
    assert load.failures == []
    assert load.ok >= 100
    assert set(load.versions) == {V1, V2}
    assert load.versions[-1] == V2  # the fifth reload (to V2) is what the last requests saw
