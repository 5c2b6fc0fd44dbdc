"""Every setting of the API in one pydantic-settings class, read from BUWEI_* environment variables."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from classifier.config import models_dir

MIN_API_KEY_CHARS = 16


class Settings(BaseSettings):
    """BUWEI_API_KEY, BUWEI_MODELS_DIR, BUWEI_MAX_UPLOAD_BYTES, BUWEI_RELOAD_POLL_SECONDS, BUWEI_LOG_*."""

    model_config = SettingsConfigDict(env_prefix="BUWEI_", extra="ignore", frozen=True, hide_input_in_errors=True)

    api_key: SecretStr | None = Field(
        default=None, description="When set, every /v1 call needs the header X-API-Key with this value."
    )
    models_dir: Path | None = Field(default=None, description="Model bundles; default: classifier.config.models_dir().")
    max_upload_bytes: int = Field(default=50 * 1024 * 1024, gt=0, description="Largest upload to /v1/files, in bytes.")
    reload_poll_seconds: float = Field(
        default=5.0, ge=0, description="How often to look at models/CURRENT and reload when it changes; 0 turns it off."
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_format: Literal["json", "none"] = Field(
        default="json", description="'json': one JSON object a line on stderr; 'none': leave logging to the host."
    )

    @field_validator("api_key", mode="before")
    @classmethod
    def _blank_key_is_no_key(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("api_key")
    @classmethod
    def _refuse_weak_key(cls, value: SecretStr | None) -> SecretStr | None:
        # An API key is what lets the server listen beyond 127.0.0.1: a guessable one is worse than none.
        if value is not None and len(value.get_secret_value()) < MIN_API_KEY_CHARS:
            raise ValueError(f"BUWEI_API_KEY must have at least {MIN_API_KEY_CHARS} characters")
        return value

    def models_root(self) -> Path:
        return self.models_dir or models_dir()
