"""A real uvicorn server on a free 127.0.0.1 port, in a thread, for tests that need sockets."""

from __future__ import annotations

import shutil
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import uvicorn

from classifier import bundle


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def live_server(app: Any) -> Iterator[str]:
    """Serve `app` until the block ends; yields its base URL once the lifespan has started."""
    config = uvicorn.Config(app, host="127.0.0.1", port=free_port(), log_config=None, access_log=False)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="uvicorn-test", daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the test server did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{config.port}"
    finally:
        server.should_exit = True
        thread.join(30)


def copy_version(source: Path, root: Path, version: str) -> Path:
    """A copy of a trained bundle under another version name (the manifest says the new name)."""
    target = root / version
    shutil.copytree(source, target)
    manifest = (target / bundle.MANIFEST_FILE).read_text(encoding="utf-8")
    (target / bundle.MANIFEST_FILE).write_text(manifest.replace(source.name, version), encoding="utf-8")
    return target
