"""Word segmentation with jieba and the project's user dictionary.

`tokenize` is a module-level function so that a pickled Pipeline stores its import path. The jieba
dictionary loads once per process, on first use, under a lock (the API calls it from many threads).

jieba is the reference segmenter. BUWEI_SEGMENTER=jieba_next selects the accelerated jieba-next when
it is installed; tests prove it gives jieba's tokens exactly, and unsetting the variable switches it off.
"""

from __future__ import annotations

import logging
import os
import re
import threading
from functools import lru_cache
from typing import Any

from classifier.config import USERDICT

_WORDLIKE = re.compile(r"\w")
_lock = threading.Lock()
_segmenters: dict[tuple[str, bool], Any] = {}


def backend_name() -> str:
    """The segmenter in use: 'jieba' unless BUWEI_SEGMENTER names an installed alternative."""
    wanted = os.environ.get("BUWEI_SEGMENTER", "jieba").strip().lower()
    if wanted in {"jieba_next", "jieba-next"}:
        try:
            import jieba_next  # noqa: F401
        except ImportError:
            return "jieba"
        return "jieba_next"
    return "jieba"


def _load(backend: str, with_userdict: bool) -> Any:
    if backend == "jieba_next":
        import jieba_next as module
    else:
        import jieba as module
    module.setLogLevel(logging.WARNING)
    segmenter = module.Tokenizer()
    segmenter.initialize()
    if with_userdict and USERDICT.exists():
        with USERDICT.open("rb") as handle:  # jieba leaves a path it opened itself unclosed
            segmenter.load_userdict(handle)
    return segmenter


def segmenter(backend: str | None = None, with_userdict: bool = True) -> Any:
    """The shared, initialised jieba Tokenizer for this backend and dictionary choice."""
    key = (backend or backend_name(), with_userdict)
    found = _segmenters.get(key)
    if found is None:
        with _lock:
            found = _segmenters.get(key)
            if found is None:
                found = _segmenters[key] = _load(*key)
    return found


def cut(text: str, backend: str | None = None, with_userdict: bool = True) -> list[str]:
    """jieba's precise-mode tokens (HMM on), every character kept: "".join(cut(t)) == t."""
    return list(segmenter(backend, with_userdict).cut(text, HMM=True))


@lru_cache(maxsize=20_000)
def _words(text: str, with_userdict: bool, backend: str) -> tuple[str, ...]:
    # Cached: cross-validation tokenises the same texts once per fold.
    return tuple(tok for tok in cut(text, backend, with_userdict) if _WORDLIKE.search(tok))


def tokenize(text: str) -> list[str]:
    """Word tokens for features (punctuation and spaces dropped), with the user dictionary."""
    return list(_words(text, True, backend_name()))


def tokenize_without_userdict(text: str) -> list[str]:
    """The same without the user dictionary: a model-selection candidate."""
    return list(_words(text, False, backend_name()))
