"""`buwei serve`: run the API on uvicorn (uvloop + httptools) by import string, so that the
classifier package never imports the api package."""

from __future__ import annotations

import os
import signal
import sys
from types import FrameType

from classifier.errors import BadInputError

LOOPBACK = {"127.0.0.1", "localhost", "::1"}


def _exit_cleanly(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(0)


def serve(host: str | None = None, port: int | None = None, workers: int | None = None) -> int:
    import uvicorn

    host = host or os.environ.get("HOST", "127.0.0.1")
    try:
        port = port or int(os.environ.get("PORT", "8000"))
        workers = workers or int(os.environ.get("WORKERS", "1"))
    except ValueError:
        raise BadInputError("PORT 和 WORKERS 必须是整数", "PORT and WORKERS must be whole numbers") from None
    # the same rule as api.settings: a blank key is no key
    if not os.environ.get("BUWEI_API_KEY", "").strip() and host not in LOOPBACK:
        print(
            f"buwei: 未设置 BUWEI_API_KEY，只监听 127.0.0.1（而不是 {host}） / "
            f"BUWEI_API_KEY is not set, so serving on 127.0.0.1 only (not {host})",
            file=sys.stderr,
        )
        host = "127.0.0.1"
    print(f"buwei: serving on http://{host}:{port} with {workers} worker(s)", file=sys.stderr)
    # uvicorn finishes in-flight requests on SIGTERM, then re-raises the signal with the handler that
    # was there before it started: make that handler a clean exit, so a graceful stop exits 0.
    signal.signal(signal.SIGTERM, _exit_cleanly)
    uvicorn.run(
        "api.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        loop="uvloop",
        http="httptools",
        access_log=False,
        log_config=None,
        timeout_graceful_shutdown=20,
    )
    return 0
