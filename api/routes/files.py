"""POST /v1/files: upload a CSV/TSV/XLSX/JSONL file, get it back labelled exactly as `buwei label` writes it."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, File, Form, UploadFile
from fastapi.responses import FileResponse
from starlette.background import BackgroundTask

from api.deps import AccessFields, MetricsDep, ModelDep
from api.errors import ApiError
from api.routes.common import ERROR_RESPONSES
from api.schemas import ErrorResponse
from classifier.labelling import SUPPORTED_SUFFIXES, default_output_path, label_file

MEDIA_TYPES = {
    ".csv": "text/csv; charset=utf-8",
    ".tsv": "text/tab-separated-values; charset=utf-8",
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ".jsonl": "application/x-ndjson",
}
COPY_CHUNK = 1 << 20

router = APIRouter(prefix="/v1", tags=["files"], responses=ERROR_RESPONSES)


@router.post(
    "/files",
    response_class=FileResponse,
    form_limits={"max_files": 1, "max_fields": 20, "max_part_size": 64 * 1024},
    summary="Label a file",
    responses={
        200: {
            "description": "The same file with the prediction columns appended, named INPUT.labelled.SUFFIX.",
            "content": {media.split(";")[0]: {} for media in MEDIA_TYPES.values()},
        },
        415: {"model": ErrorResponse, "description": "Not a .csv, .tsv, .xlsx or .jsonl file."},
    },
)
def label_uploaded_file(
    file: Annotated[UploadFile, File(description="A .csv, .tsv, .xlsx or .jsonl file (UTF-8, GBK or GB18030).")],
    predictor: ModelDep,
    metrics: MetricsDep,
    fields: AccessFields,
    text_column: Annotated[
        list[str] | None,
        Form(max_length=10, description="The text column; repeat to join several. Default: guessed from names."),
    ] = None,
    encoding: Annotated[
        str | None, Form(max_length=40, description="Force the input encoding, e.g. gb18030. Default: detected.")
    ] = None,
) -> FileResponse:
    """Label every row and send the file back with pred_label, pred_label_zh, confidence, second_label,
    needs_review and evidence appended.

    The same engine as `buwei label`: the bytes are those `buwei label` would write. Headers
    X-Buwei-Rows and X-Buwei-Needs-Review give the counts.
    """
    name = Path(file.filename or "").name
    suffix = Path(name).suffix.lower()
    fields["file_type"] = suffix or "none"
    if suffix not in SUPPORTED_SUFFIXES:
        raise ApiError(
            415,
            "unsupported_file",
            "只支持 .csv、.tsv、.xlsx、.jsonl 文件",
            "only .csv, .tsv, .xlsx and .jsonl files can be labelled",
        )
    workdir = Path(tempfile.mkdtemp(prefix="buwei-upload-"))
    try:
        # The client's file name never touches the disk: only its suffix does.
        source = workdir / f"upload{suffix}"
        with source.open("wb") as out:
            shutil.copyfileobj(file.file, out, COPY_CHUNK)
        fields["upload_bytes"] = source.stat().st_size
        summary = label_file(
            source,
            default_output_path(source),
            predictor=predictor,
            text_columns=text_column or None,
            encoding=encoding or None,
            show_progress=False,
        )
    except BaseException:
        shutil.rmtree(workdir, ignore_errors=True)
        raise
    # Counts only: column names can be a text (a file without a header row), so they are not logged.
    fields.update(
        model_version=predictor.version,
        rows=summary.total_rows,
        labels=dict(summary.counts),
        needs_review=summary.needs_review,
        empty_text_rows=summary.empty_text_rows,
    )
    metrics.observe_counts(summary.counts, summary.needs_review - summary.empty_text_rows)
    return FileResponse(
        summary.output_path,
        media_type=MEDIA_TYPES.get(suffix, "application/octet-stream"),
        filename=default_output_path(name or f"upload{suffix}").name,
        headers={
            "X-Buwei-Rows": str(summary.total_rows),
            "X-Buwei-Needs-Review": str(summary.needs_review),
            "X-Buwei-Model-Version": predictor.version,
        },
        background=BackgroundTask(shutil.rmtree, workdir, ignore_errors=True),
    )
