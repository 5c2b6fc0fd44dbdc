"""One error hierarchy. The CLI maps it to exit codes, the API to 4xx/5xx responses.

Every message is one line, Chinese then English, and never contains the text being classified.
"""

from __future__ import annotations


class BuweiError(Exception):
    """Base of every error Buwei raises on purpose."""

    exit_code = 1
    http_status = 500
    code = "internal_error"

    def __init__(self, message_zh: str, message_en: str) -> None:
        self.message_zh = message_zh
        self.message_en = message_en
        super().__init__(f"{message_zh} / {message_en}")

    @property
    def message(self) -> str:
        return str(self)


class BadInputError(BuweiError):
    """The user's input (text, file, option) cannot be used."""

    exit_code = 2
    http_status = 422
    code = "bad_input"


class UnsupportedFileError(BadInputError):
    """A file type Buwei does not read."""

    http_status = 415
    code = "unsupported_file"


class EncodingDetectionError(BadInputError):
    """No encoding decodes the file."""

    code = "unknown_encoding"


class ColumnNotFoundError(BadInputError):
    """The text column is not in the file."""

    code = "column_not_found"


class ModelError(BuweiError):
    """No usable model: missing, tampered, or built by other library versions."""

    exit_code = 1
    http_status = 503
    code = "model_unavailable"


class TrainingError(BuweiError):
    """The training data cannot train a model."""

    exit_code = 2
    http_status = 422
    code = "bad_training_data"
