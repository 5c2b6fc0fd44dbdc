"""The model being served, and how it is swapped for a new one without dropping a request.

A reload resolves the CURRENT pointer, verifies the bundle (sha256, label set, library versions: see
classifier.bundle), unpickles it, and runs a warm-up prediction whose shape is checked, all off the
event loop and while the old model keeps answering. Only then is the reference swapped, in one
assignment. A request takes the reference once, so it is answered by one model from start to end.
A bundle that fails any step is refused: the old model stays, and the reason is kept and logged.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from api.logs import event
from api.metrics import Metrics
from classifier.bundle import current_version
from classifier.errors import BuweiError, ModelError
from classifier.labels import LABEL_CODES
from classifier.pii import mask_pii
from classifier.predict import Predictor

# Two texts, so that both segmenters load before the first request: classifier.segment sends a text
# with a run of one repeated character (急急急) to jieba and every other text to rjieba.
WARM_UP_TEXTS = [
    "街道办和住建局互相推诿，谁都不敢签字拍板，问题拖了半年没人管。",
    "群众急急急，干部却说不懂新政策，束手无策。",
]


@dataclass(frozen=True)
class ReloadOutcome:
    status: str  # "reloaded" or "unchanged"
    version: str
    previous_version: str | None
    seconds: float


class ReloadRefused(Exception):
    """The new bundle failed verification or warm-up; the previous model (if any) keeps serving."""

    def __init__(self, reason: str, serving: str | None) -> None:
        self.reason = reason
        self.serving = serving
        super().__init__(reason)


def warm_up(predictor: Predictor) -> None:
    """One prediction through every code path, checked for the contract's shape."""
    results = predictor.predict(WARM_UP_TEXTS)
    if len(results) != len(WARM_UP_TEXTS):
        raise ModelError("模型预热失败：结果数量不对", "warm-up failed: wrong number of results")
    for result in results:
        probabilities = list(result.probabilities.values())
        if (
            result.label not in LABEL_CODES
            or tuple(result.probabilities) != LABEL_CODES
            or not all(math.isfinite(p) and 0 <= p <= 1 for p in probabilities)
            or abs(sum(probabilities) - 1) > 1e-3
        ):
            raise ModelError("模型预热失败：输出不合规", "warm-up failed: the output is not a valid result")


class ModelStore:
    """Holds the served Predictor; thread-safe; one reload at a time."""

    def __init__(self, root: Path, metrics: Metrics) -> None:
        self.root = root
        self.metrics = metrics
        self._predictor: Predictor | None = None
        self._reload_lock = threading.Lock()
        self.last_error: str | None = None
        self.refused_pointer: str | None = None

    @property
    def predictor(self) -> Predictor | None:
        return self._predictor

    @property
    def serving_folder(self) -> str | None:
        """The folder name (pointer value) of the model being served."""
        predictor = self._predictor
        return predictor.path.name if predictor is not None and predictor.path is not None else None

    def pointer(self) -> str | None:
        try:
            return current_version(self.root)
        except OSError:
            return None

    def reload(self, force: bool = False) -> ReloadOutcome:
        """Load, verify and warm up the version CURRENT names, then swap it in. Raises ReloadRefused."""
        with self._reload_lock:
            started = time.perf_counter()
            old = self._predictor
            old_version = old.version if old is not None else None
            pointer = self.pointer()
            if pointer is not None and not force and pointer == self.serving_folder and old is not None:
                self.metrics.reloads.labels("unchanged").inc()
                return ReloadOutcome("unchanged", old.version, old_version, 0.0)
            try:
                if pointer is None:
                    raise ModelError(
                        f"没有可用的模型：{self.root} 下没有 CURRENT，请先运行 buwei train",
                        f"no model: {self.root} has no CURRENT pointer; run `buwei train` first",
                    )
                new = Predictor.load(self.root / pointer)
                warm_up(new)
            except Exception as exc:  # anything a bad bundle can throw; the old model stays
                reason = exc.message if isinstance(exc, BuweiError) else f"{type(exc).__name__}: {exc}"
                reason = mask_pii(reason)
                self.last_error = reason
                self.refused_pointer = pointer
                self.metrics.reloads.labels("refused").inc()
                event(
                    "model_reload_refused",
                    logging.ERROR,
                    pointer=pointer,
                    serving=old_version,
                    reason=reason,
                )
                raise ReloadRefused(reason, old_version) from None
            self._predictor = new  # the swap: one reference assignment
            self.last_error = None
            self.refused_pointer = None
            seconds = round(time.perf_counter() - started, 3)
            self.metrics.reloads.labels("reloaded").inc()
            self.metrics.serving(new.version)
            event("model_loaded", version=new.version, previous_version=old_version, seconds=seconds)
            return ReloadOutcome("reloaded", new.version, old_version, seconds)

    def reload_if_pointer_changed(self) -> ReloadOutcome | None:
        """For the watcher: reload when CURRENT names another version than the one served or refused."""
        pointer = self.pointer()
        if pointer is None or pointer == self.serving_folder or pointer == self.refused_pointer:
            return None
        event("model_pointer_changed", pointer=pointer, serving=self.serving_folder)
        try:
            return self.reload()
        except ReloadRefused:
            return None
