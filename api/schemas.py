"""Request and response shapes, with the limits of PRODUCT.md declared where OpenAPI shows them."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, Field
from pydantic_core import PydanticCustomError

from classifier.labels import LABEL_CODES

MAX_TEXT_CHARS = 20_000
MAX_BATCH_TEXTS = 1_000

# Body caps (413), sized so that every valid request fits even when a client escapes every character
# as \uXXXX (json.dumps' default): 6 bytes for one Chinese character, plus quotes, commas and
# indentation per text and a fixed allowance for keys and whitespace. Characters outside the BMP
# take 12 bytes escaped; a body of nothing else but those can exceed the cap before the text limit.
JSON_BYTES_PER_CHAR = 6
JSON_BYTES_PER_TEXT = 16
JSON_OVERHEAD_BYTES = 64 * 1024
CLASSIFY_MAX_BODY_BYTES = MAX_TEXT_CHARS * JSON_BYTES_PER_CHAR + JSON_OVERHEAD_BYTES
BATCH_MAX_BODY_BYTES = (
    MAX_BATCH_TEXTS * (MAX_TEXT_CHARS * JSON_BYTES_PER_CHAR + JSON_BYTES_PER_TEXT) + JSON_OVERHEAD_BYTES
)
# Routes without a body of their own (reload, GETs) accept at most this much.
DEFAULT_MAX_BODY_BYTES = 64 * 1024
# Multipart framing and the small form fields around an uploaded file.
MULTIPART_OVERHEAD_BYTES = 64 * 1024


def _not_blank(text: str) -> str:
    # str.strip() knows a few separators (U+001C–U+001F) that the schema's \S pattern lets through.
    if not text.strip():
        raise PydanticCustomError("blank_text", "text is empty or whitespace only")
    return text


Text = Annotated[
    str,
    Field(
        min_length=1,
        max_length=MAX_TEXT_CHARS,
        pattern=r"\S",
        description=f"One Chinese text, 1–{MAX_TEXT_CHARS:,} characters, not only whitespace.",
        examples=["区里几个部门互相推诿，谁都不愿意拍板，材料交上去三个月没人管。"],
    ),
    AfterValidator(_not_blank),
]

LABEL_SCHEMA: dict[str, Any] = {"enum": list(LABEL_CODES)}


class ClassifyRequest(BaseModel):
    text: Text


class BatchRequest(BaseModel):
    texts: list[Text] = Field(
        min_length=1,
        max_length=MAX_BATCH_TEXTS,
        description=f"1–{MAX_BATCH_TEXTS:,} texts; the results come back in the same order.",
    )


class Evidence(BaseModel):
    term: str
    weight: float = Field(description="How much this term pushed the text toward its label.")


class ClassifyResult(BaseModel):
    label: str = Field(json_schema_extra=LABEL_SCHEMA)
    label_zh: str
    confidence: float = Field(ge=0, le=1)
    probabilities: dict[str, float] = Field(description="Calibrated probability of every label code.")
    second_label: str = Field(json_schema_extra=LABEL_SCHEMA)
    needs_review: bool = Field(description="True when a person should check this result.")
    evidence: list[Evidence]
    model_version: str


class BatchResponse(BaseModel):
    results: list[ClassifyResult]


class LabelInfo(BaseModel):
    code: str = Field(json_schema_extra=LABEL_SCHEMA)
    zh: str
    definition_zh: str
    definition_en: str


class LabelsResponse(BaseModel):
    labels: list[LabelInfo]


class ModelInfo(BaseModel):
    version: str
    trained_at: str | None
    data_sha256: str | None
    data: dict[str, Any] = Field(description="Training files, their hash and row count.")
    metrics: dict[str, Any] = Field(description="Cross-validated metrics recorded at training time.")
    thresholds: dict[str, Any] = Field(description="The review band: needs_review below these.")
    model_name: str | None = None
    report_url: str | None = Field(description="The evaluation report of this version, as a web page.")
    figures: list[str] = Field(description="URLs of the report's figures.")
    reload_error: str | None = Field(None, description="Why the last reload was refused, if it was.")


class ReloadResponse(BaseModel):
    status: Literal["reloaded", "unchanged"]
    version: str
    previous_version: str | None
    seconds: float


class Health(BaseModel):
    status: Literal["ok"]


class Ready(BaseModel):
    status: Literal["ready"]
    model_version: str


class ErrorDetail(BaseModel):
    code: str = Field(description="A stable machine-readable code, e.g. text_too_long.")
    message: str = Field(description="中文说明 / English explanation.")


class ErrorResponse(BaseModel):
    error: ErrorDetail
