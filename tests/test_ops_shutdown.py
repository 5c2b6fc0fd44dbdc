"""Graceful shutdown: `buwei serve` in a child process gets SIGTERM while a request is in flight."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from classifier.train import TrainResult
from tests.live_server import free_port

pytestmark = pytest.mark.slow


@dataclass
class Shutdown:
    status_line: str
    body: dict[str, object]
    returncode: int
    log: list[dict[str, object]]


def metric(port: int, name: str) -> float:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as response:
        for line in response.read().decode().splitlines():
            if line.startswith(name + " "):
                return float(line.split()[1])
    return 0.0


def wait_ready(proc: subprocess.Popen[bytes], port: int) -> None:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("the server exited before it was ready")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("the server never became ready")


@pytest.fixture(scope="module")
def shutdown(mini_bundle: TrainResult, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Shutdown]:
    """Start `python -m classifier serve`, begin a request, SIGTERM the server, then finish the request."""
    port = free_port()
    stderr_path = tmp_path_factory.mktemp("serve") / "stderr.log"
    env = {
        **os.environ,
        "BUWEI_MODELS_DIR": str(mini_bundle.path.parent),
        "BUWEI_RELOAD_POLL_SECONDS": "0",
        "PYTHONIOENCODING": "utf-8",
    }
    env.pop("BUWEI_API_KEY", None)
    with stderr_path.open("wb") as stderr:
        proc = subprocess.Popen(
            [sys.executable, "-m", "classifier", "serve", "--port", str(port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
            cwd=Path(__file__).resolve().parents[1],
        )
        try:
            wait_ready(proc, port)
            body = json.dumps({"text": "街道办推诿扯皮，拖着不办"}).encode()
            half = len(body) // 2
            with socket.create_connection(("127.0.0.1", port), timeout=60) as conn:
                conn.sendall(
                    b"POST /v1/classify HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n"
                    + f"Content-Length: {len(body)}\r\n\r\n".encode()
                    + body[:half]
                )
                # In flight: the server has the headers and is waiting for the rest of the body.
                deadline = time.monotonic() + 30
                while metric(port, "buwei_http_requests_in_progress") < 1:
                    assert time.monotonic() < deadline, "the request never reached the app"
                    time.sleep(0.05)
                proc.send_signal(signal.SIGTERM)
                time.sleep(0.5)  # let the server begin its shutdown before the request completes
                conn.sendall(body[half:])
                response = b""
                while chunk := conn.recv(65536):
                    response += chunk
            returncode = proc.wait(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    head, _, payload = response.partition(b"\r\n\r\n")
    log = []
    for line in stderr_path.read_text(encoding="utf-8").splitlines():
        if line.startswith("{"):
            log.append(json.loads(line))
    yield Shutdown(head.split(b"\r\n")[0].decode(), json.loads(payload), returncode, log)


def test_the_in_flight_request_completes(shutdown: Shutdown) -> None:
    assert shutdown.status_line == "HTTP/1.1 200 OK"
    assert shutdown.body["label"] in ("unwilling", "afraid", "unable", "other")


def test_the_server_shuts_down_gracefully(shutdown: Shutdown) -> None:
    events = [line["event"] for line in shutdown.log]
    assert "Shutting down" in events
    assert events.index("Shutting down") < events.index("stopped")  # the lifespan's shutdown ran
    access = [line for line in shutdown.log if line.get("logger") == "buwei.access" and line["route"] == "/v1/classify"]
    assert [line["status"] for line in access] == [200]


def test_the_server_exits_0(shutdown: Shutdown) -> None:
    assert shutdown.returncode == 0
