"""Pure ASGI middleware.

- RequestContextMiddleware (outermost): request id, access log line, metrics, and the JSON 500.
- ApiKeyMiddleware: refuses /v1 calls without the right key before any body is read.
- BodySizeLimitMiddleware: caps request bytes per route and answers 413 JSON, from Content-Length
  when there is one (nothing is read) and by counting the bytes as they stream in otherwise.
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from collections.abc import Callable
from typing import Any

from fastapi import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.deps import API_KEY_HEADER, key_accepted, needs_api_key, unauthorized_error
from api.errors import MAX_BODY_SCOPE_KEY, body_too_large_message, error_response
from api.logs import EVENTS, access
from api.metrics import Metrics
from api.settings import Settings

REQUEST_ID_HEADER = "x-request-id"
_REQUEST_ID_KEY = REQUEST_ID_HEADER.encode()
_SAFE_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")
# Probes and scrapes would drown the access log at INFO: they are logged at DEBUG.
_QUIET_ROUTES = {"/healthz", "/readyz", "/metrics", "/static"}


class RouteTemplates:
    """Maps a raw path to its OpenAPI path template, for requests refused before routing (401, 413)."""

    def __init__(self, openapi: Callable[[], dict[str, Any]]) -> None:
        self.openapi = openapi
        self._patterns: list[tuple[re.Pattern[str], str]] | None = None

    def __call__(self, path: str) -> str | None:
        if self._patterns is None:
            self._patterns = [
                (re.compile(re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(template))), template)
                for template in self.openapi().get("paths", {})
            ]
        return next((template for pattern, template in self._patterns if pattern.fullmatch(path)), None)


def header(scope: Scope, name: bytes) -> bytes | None:
    """The first value of a request header; `name` in lower case, as ASGI gives names."""
    for key, value in scope["headers"]:
        if key == name:
            return bytes(value)
    return None


def route_of(scope: Scope, templates: Callable[[str], str | None] | None = None) -> str:
    """The route template (never the raw path: it could carry text, and it would explode metrics)."""
    path = str(scope.get("path", ""))
    if path.startswith("/static/"):
        return "/static"
    template = getattr(scope.get("route"), "path", None)
    if not isinstance(template, str) and templates is not None:
        template = templates(path)
    return template if isinstance(template, str) else "unmatched"


class RequestContextMiddleware:
    def __init__(self, app: ASGIApp, metrics: Metrics, templates: RouteTemplates | None = None) -> None:
        self.app = app
        self.metrics = metrics
        self.templates = templates

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        incoming = (header(scope, _REQUEST_ID_KEY) or b"").decode("latin-1")
        request_id = incoming if _SAFE_REQUEST_ID.fullmatch(incoming) else uuid.uuid4().hex
        state = scope.setdefault("state", {})
        state["request_id"] = request_id
        fields: dict[str, Any] = state.setdefault("access_fields", {})
        status = 500
        response_started = False
        scrape = scope.get("path") == "/metrics"

        async def send_with_id(message: Message) -> None:
            nonlocal status, response_started
            if message["type"] == "http.response.start":
                status = int(message["status"])
                response_started = True
                message["headers"] = [*message.get("headers", []), (_REQUEST_ID_KEY, request_id.encode())]
            await send(message)

        if not scrape:
            self.metrics.in_progress.inc()
        try:
            await self.app(scope, receive, send_with_id)
        except Exception:
            status = 500
            fields_ = {"request_id": request_id, "route": route_of(scope, self.templates)}
            EVENTS.exception("unhandled_error", extra={"fields": fields_})
            if not response_started:
                response = error_response(
                    500,
                    "internal_error",
                    f"服务器内部错误（请求号 {request_id}） / internal error (request {request_id})",
                )
                await response(scope, receive, send_with_id)
        finally:
            if not scrape:
                self.metrics.in_progress.dec()
            seconds = time.perf_counter() - started
            route = route_of(scope, self.templates)
            method = str(scope.get("method", ""))
            if not scrape:
                self.metrics.observe_request(method, route, status, seconds)
            access(
                logging.DEBUG if route in _QUIET_ROUTES else logging.INFO,
                {
                    "request_id": request_id,
                    "method": method,
                    "route": route,
                    "status": status,
                    "latency_ms": round(seconds * 1000, 2),
                    **fields,
                },
            )


class ApiKeyMiddleware:
    """Refuse /v1 requests without the right X-API-Key before reading their body (a cheap gate)."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.settings = settings
        self.header = API_KEY_HEADER.lower().encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and self.settings.api_key is not None and needs_api_key(str(scope.get("path", ""))):
            given = header(scope, self.header)
            if not key_accepted(self.settings, given.decode("latin-1") if given is not None else None):
                refused = unauthorized_error()
                await error_response(401, refused.code, refused.message)(scope, receive, send)
                return
        await self.app(scope, receive, send)


class BodyTooLarge(HTTPException):
    """Raised from `receive` once a body passes its cap; FastAPI lets HTTPException through."""

    def __init__(self) -> None:
        super().__init__(status_code=413)


class BodySizeLimitMiddleware:
    """413 for a request body over its route's cap (`caps` by exact path, else `default`)."""

    def __init__(self, app: ASGIApp, caps: dict[str, int], default: int) -> None:
        self.app = app
        self.caps = caps
        self.default = default

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        cap = self.caps.get(str(scope.get("path", "")), self.default)
        scope[MAX_BODY_SCOPE_KEY] = cap
        declared = header(scope, b"content-length")
        if declared is not None and declared.strip().isdigit() and int(declared) > cap:
            await self._refuse(scope, receive, send, cap)
            return
        received = 0
        over = False
        response_started = False

        async def counting_receive() -> Message:
            nonlocal received, over
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > cap:
                    over = True
                    raise BodyTooLarge()
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal response_started
            if message["type"] == "http.response.start":
                response_started = True
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except Exception:
            if not over or response_started:
                raise
            await self._refuse(scope, receive, send, cap)

    @staticmethod
    async def _refuse(scope: Scope, receive: Receive, send: Send, cap: int) -> None:
        await error_response(413, "body_too_large", body_too_large_message(cap), {"Connection": "close"})(
            scope, receive, send
        )
