"""Text normalisation before features: NFKC, personal data and noise masked, whitespace folded."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

from classifier.pii import mask_pii

_URL = re.compile(r"(?:https?://|www\.)[^\s\u4e00-\u9fff，。；！？、]+", re.IGNORECASE)
# Masked numbers as they arrive from hotline systems: 138****5678, 0000-00000000, *****.
_STARRED = re.compile(r"[\d*]*\*{3,}[\d*]*")
_LONG_DIGITS = re.compile(r"\d{5,}")
_WHITESPACE = re.compile(r"\s+")
# control characters, zero-width marks, and lone surrogates (JSON can carry "\\ud800"; no encoder takes them)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u200b-\u200f\ufeff\ud800-\udfff]")

URL = "URL"
NUMBER = "NUM"
MASKED = "MASKED"


def normalize(text: str) -> str:
    """One text ready for tokenising: half-width, no personal numbers, single spaces."""
    if not unicodedata.is_normalized("NFKC", text):
        text = unicodedata.normalize("NFKC", text)
    text = _CONTROL.sub("", text)
    if "://" in text or "www." in text.lower():  # what _URL needs; most texts have neither
        text = _URL.sub(URL, text)
    text = mask_pii(text)
    if "***" in text:
        text = _STARRED.sub(MASKED, text)
    text = _LONG_DIGITS.sub(NUMBER, text)
    return _WHITESPACE.sub(" ", text).strip()


def normalize_all(texts: Iterable[str]) -> list[str]:
    """The Pipeline's first step; module-level so the pickle stores a stable import path."""
    return [normalize(t) for t in texts]
