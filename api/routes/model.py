"""GET /v1/labels, GET /v1/model (+ its evaluation report and figures), POST /v1/model/reload."""

from __future__ import annotations

import html
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi import Path as PathParam
from fastapi.responses import FileResponse, HTMLResponse, PlainTextResponse
from markdown_it import MarkdownIt

from api.deps import AccessFields, ModelDep, StoreDep
from api.errors import ApiError
from api.routes.common import ERROR_RESPONSES
from api.schemas import ErrorResponse, LabelInfo, LabelsResponse, ModelInfo, ReloadResponse
from api.store import ReloadRefused
from classifier.labels import LABELS
from classifier.predict import Predictor

router = APIRouter(prefix="/v1", tags=["model"], responses=ERROR_RESPONSES)

REPORT_FILE = "report.md"
FIGURE_PATTERN = r"^[A-Za-z0-9_-]{1,64}\.png$"
# The report page is ours, but nothing in it needs scripts or anything from another origin.
REPORT_CSP = "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; base-uri 'self'"


@router.get("/labels", response_model=LabelsResponse, summary="The label taxonomy")
async def get_labels() -> Any:
    """The four labels with their Chinese names and definitions."""
    return {"labels": [LabelInfo(**vars(label)) for label in LABELS]}


def _bundle_folder(predictor: Predictor) -> Path:
    if predictor.path is None:
        raise ApiError(404, "report_not_found", "该模型没有评估报告", "this model has no evaluation report")
    return predictor.path


def _figures(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.glob("*.png") if p.is_file())


@router.get("/model", response_model=ModelInfo, summary="The model being served")
async def get_model(predictor: ModelDep, store: StoreDep) -> Any:
    """Version, training time, data hash, cross-validated metrics, review thresholds, report links."""
    manifest = predictor.manifest
    folder = predictor.path
    has_report = folder is not None and (folder / REPORT_FILE).is_file()
    data = manifest.get("data", {}) if isinstance(manifest.get("data"), dict) else {}
    return {
        "version": predictor.version,
        "trained_at": manifest.get("trained_at"),
        "data_sha256": data.get("sha256"),
        "data": data,
        "metrics": manifest.get("metrics", {}),
        "thresholds": manifest.get("thresholds", {}),
        "model_name": manifest.get("config", {}).get("name") if isinstance(manifest.get("config"), dict) else None,
        "report_url": "/v1/model/report" if has_report else None,
        "figures": [f"/v1/model/report/{name}" for name in _figures(folder)] if folder is not None else [],
        "reload_error": store.last_error,
    }


_markdown = MarkdownIt("commonmark", {"html": False}).enable("table")

_REPORT_PAGE = """<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><base href="report/">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>模型评估报告 {version}</title>
<style>
body {{ font-family: system-ui, "PingFang SC", "Microsoft YaHei", "Noto Sans CJK SC", "WenQuanYi Zen Hei",
  sans-serif; max-width: 60rem; margin: 2rem auto; padding: 0 1rem; line-height: 1.6; color: #1f2328; }}
table {{ border-collapse: collapse; margin: 1rem 0; }}
th, td {{ border: 1px solid #d0d7de; padding: .25rem .6rem; text-align: right; }}
th:first-child, td:first-child {{ text-align: left; }}
img {{ max-width: 48%; vertical-align: top; }}
code {{ background: #f6f8fa; padding: 0 .2rem; }}
</style></head><body>
{body}
</body></html>
"""


@router.get(
    "/model/report",
    response_class=HTMLResponse,
    summary="The evaluation report of the model being served",
    responses={404: {"model": ErrorResponse}},
)
async def get_model_report(predictor: ModelDep) -> HTMLResponse:
    """The served model's evaluation report (report.md) as a web page, with its figures."""
    path = _bundle_folder(predictor) / REPORT_FILE
    if not path.is_file():
        raise ApiError(404, "report_not_found", "该模型没有评估报告", "this model has no evaluation report")
    body = _markdown.render(path.read_text(encoding="utf-8"))
    page = _REPORT_PAGE.format(version=html.escape(predictor.version), body=body)
    return HTMLResponse(page, headers={"Content-Security-Policy": REPORT_CSP})


@router.get(
    "/model/report.md",
    response_class=PlainTextResponse,
    summary="The evaluation report as Markdown",
    responses={404: {"model": ErrorResponse}},
)
async def get_model_report_markdown(predictor: ModelDep) -> PlainTextResponse:
    """The served model's report.md, as written at training time."""
    path = _bundle_folder(predictor) / REPORT_FILE
    if not path.is_file():
        raise ApiError(404, "report_not_found", "该模型没有评估报告", "this model has no evaluation report")
    return PlainTextResponse(path.read_text(encoding="utf-8"), media_type="text/markdown; charset=utf-8")


@router.get(
    "/model/report/{figure}",
    response_class=FileResponse,
    summary="A figure of the evaluation report",
    responses={200: {"content": {"image/png": {}}}, 404: {"model": ErrorResponse}},
)
async def get_model_figure(
    predictor: ModelDep, figure: Annotated[str, PathParam(pattern=FIGURE_PATTERN, max_length=68)]
) -> FileResponse:
    """One PNG figure of the served model's report (confusion matrix, reliability, learning curve)."""
    folder = _bundle_folder(predictor)
    if figure not in _figures(folder):
        raise ApiError(404, "figure_not_found", "找不到该图", "no such figure in this model's report")
    return FileResponse(folder / figure, media_type="image/png")


@router.post(
    "/model/reload",
    response_model=ReloadResponse,
    summary="Load the current model version and swap it in",
    responses={409: {"model": ErrorResponse, "description": "The new bundle was refused; the old one serves."}},
)
def reload_model(
    store: StoreDep,
    fields: AccessFields,
    force: Annotated[bool, Query(description="Reload even when CURRENT names the version being served.")] = False,
) -> Any:
    """Verify and warm up the version models/CURRENT names, then swap it in without dropping requests."""
    try:
        outcome = store.reload(force=force)
    except ReloadRefused as refused:
        fields["reload"] = "refused"
        if refused.serving is None:
            raise ApiError(
                503,
                "model_unavailable",
                f"模型无法加载：{refused.reason}",
                f"no model could be loaded: {refused.reason}",
            ) from None
        raise ApiError(
            409,
            "reload_refused",
            f"新模型未通过校验，仍在使用 {refused.serving}：{refused.reason}",
            f"the new model was refused; still serving {refused.serving}: {refused.reason}",
        ) from None
    fields.update(reload=outcome.status, model_version=outcome.version)
    return vars(outcome)
