"""Paths derived from the project root, overridable from the environment. Importing has no side effects."""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = PROJECT_ROOT / "data"
DEFAULT_CORPUS = DATA_DIR / "complaints.csv"
USERDICT = DATA_DIR / "userdict.txt"


def models_dir() -> Path:
    """Where model bundles live: BUWEI_MODELS_DIR, else models/ in the project."""
    return Path(os.environ.get("BUWEI_MODELS_DIR", PROJECT_ROOT / "models"))
