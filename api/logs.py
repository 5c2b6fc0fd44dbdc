"""Structured JSON logs: one object a line on stderr, for access and for events.

What a line may hold: time, level, logger, event name, request id, method, route, status, latency,
labels, review flags, model version, counts and sizes. What it never holds: the text being
classified, uploaded file contents or names, or the query string. Every string that reaches the
formatter, including exception messages and tracebacks, passes through classifier.pii.mask_pii.
"""

from __future__ import annotations

import functools
import json
import logging
import sys
import traceback
from datetime import UTC, datetime
from typing import Any, TextIO

from classifier.pii import mask_pii

ACCESS = logging.getLogger("buwei.access")
EVENTS = logging.getLogger("buwei.events")
MAX_FIELD_CHARS = 500


# mask_pii is pure, and most strings a line carries repeat from line to line: event names, methods,
# routes, labels, the model version. Remembering its answer for short strings took the masking of an
# access line from ≈112k to ≈72k instructions (the request id, new each time, is most of the rest).
# Every string is still masked; the memo only lives in memory, 1,024 strings of ≤ 64 characters.
_MEMO_MAX_CHARS = 64


@functools.lru_cache(maxsize=1024)
def _mask_short(value: str) -> str:
    return mask_pii(value)


def _clean(value: Any) -> Any:
    if isinstance(value, str):
        return (_mask_short(value) if len(value) <= _MEMO_MAX_CHARS else mask_pii(value))[:MAX_FIELD_CHARS]
    if value is None or isinstance(value, (bool, int, float)):  # a tuple: twice as fast as a union here
        return value
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    return _clean(str(value))


# json.dumps with options builds a JSONEncoder for every call; a prebuilt one writes the same bytes.
_encode = json.JSONEncoder(ensure_ascii=False, default=str).encode


def fields_of(record: logging.LogRecord) -> dict[str, Any]:
    """The structured fields a record was logged with (`extra={"fields": {...}}`), masked."""
    found = getattr(record, "fields", None)
    return _clean(found) if isinstance(found, dict) else {}


class JsonFormatter(logging.Formatter):
    """One JSON object a line; masks personal data in every string it writes."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "event": _clean(record.getMessage()),
            **fields_of(record),
        }
        if record.exc_info and record.exc_info[1] is not None:
            exc = record.exc_info[1]
            line["error_type"] = type(exc).__name__
            line["error"] = _clean(str(exc))
            line["traceback"] = mask_pii("".join(traceback.format_exception(exc)))[-4000:]
        return _encode(line)


class _StderrHandler(logging.StreamHandler[TextIO]):
    """Writes to whatever sys.stderr is at the time (test runners swap it)."""

    _buwei_json = True

    def __init__(self) -> None:
        super().__init__(sys.stderr)
        self.setFormatter(JsonFormatter())

    def emit(self, record: logging.LogRecord) -> None:
        self.stream = sys.stderr
        super().emit(record)


def access(level: int, fields: dict[str, Any]) -> None:
    """Log one access line ("request") with its fields.

    Made by hand rather than with ACCESS.log, which first walks the stack for the caller's file and
    line (≈16k instructions, a twentieth of an access line's cost): a JSON line never shows them.
    """
    if ACCESS.isEnabledFor(level):
        record = ACCESS.makeRecord(
            ACCESS.name, level, "(unknown file)", 0, "request", (), None, extra={"fields": fields}
        )
        ACCESS.handle(record)


def event(name: str, level: int = logging.INFO, **fields: Any) -> None:
    """Log one event (model loaded, reload refused, …) with its fields."""
    EVENTS.log(level, name, extra={"fields": fields})


def configure_logging(log_format: str, level: str) -> None:
    """Send Buwei's loggers (and uvicorn's, when nothing else configured them) to stderr as JSON.

    Idempotent: building several apps in one process adds one handler, not several.
    """
    root = logging.getLogger("buwei")
    root.setLevel(level)
    if log_format != "json":
        return
    targets = [root]
    server = logging.getLogger("uvicorn")
    if not server.handlers and not logging.getLogger("uvicorn.error").handlers:
        targets.append(server)
        server.setLevel(logging.INFO)
    for logger in targets:
        if not any(getattr(h, "_buwei_json", False) for h in logger.handlers):
            logger.addHandler(_StderrHandler())
