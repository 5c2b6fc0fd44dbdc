"""Every error is JSON `{"error": {"code", "message"}}`, the message in Chinese and English.

Handlers here cover validation (422), HTTP errors (401/404/405/413/…), and Buwei's own errors; an
unexpected exception becomes a 500 in api.middleware. No response carries a traceback or the text
being classified, and every message passes through mask_pii on the way out.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from api.schemas import MAX_BATCH_TEXTS, MAX_TEXT_CHARS
from classifier.errors import BuweiError
from classifier.pii import mask_pii

MAX_MESSAGE_CHARS = 300
# Where api.middleware.BodySizeLimitMiddleware records the cap that applies to this request.
MAX_BODY_SCOPE_KEY = "buwei.max_body_bytes"


class ApiError(Exception):
    """An error the API answers on purpose, with its status and code."""

    def __init__(self, status: int, code: str, message_zh: str, message_en: str) -> None:
        self.status = status
        self.code = code
        self.message = f"{message_zh} / {message_en}"
        super().__init__(self.message)


def error_body(code: str, message: str) -> dict[str, Any]:
    return {"error": {"code": code, "message": mask_pii(message)[:MAX_MESSAGE_CHARS]}}


def error_response(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(error_body(code, message), status_code=status, headers=headers)


_HTTP_ERRORS: dict[int, tuple[str, str, str]] = {
    400: ("bad_request", "请求格式不正确", "malformed request"),
    401: ("unauthorized", "缺少或错误的 API 密钥（X-API-Key）", "missing or wrong API key (X-API-Key)"),
    403: ("forbidden", "无权访问", "forbidden"),
    404: ("not_found", "找不到该地址", "no such path"),
    405: ("method_not_allowed", "该地址不支持此请求方法", "method not allowed on this path"),
    406: ("not_acceptable", "无法提供所要求的格式", "cannot produce the requested format"),
    413: ("body_too_large", "请求体过大", "request body too large"),
    415: ("unsupported_media_type", "不支持的内容类型", "unsupported content type"),
    422: ("invalid_request", "请求无效", "invalid request"),
    503: ("service_unavailable", "服务暂不可用", "service unavailable"),
}


def body_too_large_message(cap: int) -> str:
    return f"请求体过大：此地址最多接受 {cap:,} 字节 / request body too large: this path accepts at most {cap:,} bytes"


def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    code, zh, en = _HTTP_ERRORS.get(exc.status_code, ("http_error", "请求失败", "request failed"))
    cap = request.scope.get(MAX_BODY_SCOPE_KEY)
    if exc.status_code == 413 and isinstance(cap, int):
        return error_response(413, code, body_too_large_message(cap), {"Connection": "close"})
    headers = {k: v for k, v in (exc.headers or {}).items() if k.lower() in {"allow", "www-authenticate"}}
    return error_response(exc.status_code, code, f"{zh} / {en}", headers or None)


def _field(loc: Sequence[Any]) -> str:
    parts = [p for p in loc if p not in ("body", "query", "path", "header")]
    out = ""
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "body"


def describe_validation_error(errors: Sequence[Any]) -> tuple[str, str]:
    """The code and bilingual message for the first validation error (never echoing the input)."""
    if not errors:
        return "invalid_request", "请求无效 / invalid request"
    first = errors[0]
    kind, loc = str(first.get("type", "")), tuple(first.get("loc", ()))
    where = _field(loc)
    if kind == "json_invalid":
        return "invalid_json", "请求体不是有效的 JSON / the request body is not valid JSON"
    if kind in {"model_attributes_type", "dict_type", "model_type"} and where == "body":
        return (
            "invalid_json",
            "请求体应为 JSON 对象（Content-Type: application/json） / "
            "the body must be a JSON object (Content-Type: application/json)",
        )
    if kind == "missing":
        return "missing_field", f"缺少字段 {where} / missing field {where}"
    if kind in {"string_too_short", "string_pattern_mismatch", "blank_text"}:
        return "empty_text", f"文本为空或只有空白（{where}） / text is empty or whitespace only ({where})"
    if kind == "string_too_long":
        return (
            "text_too_long",
            f"文本过长（{where}）：最多 {MAX_TEXT_CHARS:,} 个字符 / "
            f"text too long ({where}): at most {MAX_TEXT_CHARS:,} characters",
        )
    if kind == "too_long":
        return (
            "too_many_texts",
            f"一次最多 {MAX_BATCH_TEXTS:,} 条文本 / at most {MAX_BATCH_TEXTS:,} texts in one batch",
        )
    if kind == "too_short":
        return "empty_batch", f"{where} 不能为空列表 / {where} must not be an empty list"
    if kind in {"string_type", "list_type", "model_attributes_type", "dict_type", "model_type"}:
        expected = {"string_type": "字符串 / a string", "list_type": "列表 / a list"}.get(kind, "对象 / an object")
        zh, en = expected.split(" / ")
        return "invalid_type", f"{where} 应为{zh} / {where} must be {en}"
    return "invalid_request", f"请求无效：{where} / invalid request: {where} ({kind})"


async def validation_error_handler(request: Request, exc: RequestValidationError) -> JSONResponse:
    code, message = describe_validation_error(exc.errors())
    return error_response(422, code, message)


async def http_error_handler(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    return _http_error(request, exc)


async def api_error_handler(request: Request, exc: ApiError) -> JSONResponse:
    return error_response(exc.status, exc.code, exc.message)


async def buwei_error_handler(request: Request, exc: BuweiError) -> JSONResponse:
    return error_response(exc.http_status, exc.code, exc.message)


async def internal_error_handler(request: Request, exc: Exception) -> JSONResponse:
    """The last resort (api.middleware answers unexpected errors first): a bare 500, nothing of `exc`."""
    return error_response(500, "internal_error", "服务器内部错误 / internal error")


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, validation_error_handler)  # type: ignore[arg-type]
    app.add_exception_handler(StarletteHTTPException, http_error_handler)  # type: ignore[arg-type]
    app.add_exception_handler(ApiError, api_error_handler)  # type: ignore[arg-type]
    app.add_exception_handler(BuweiError, buwei_error_handler)  # type: ignore[arg-type]
    app.add_exception_handler(Exception, internal_error_handler)
