"""`buwei evaluate`: a cross-validated report on training data, or a saved model scored on a labelled file."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from classifier.config import DEFAULT_CORPUS, PROJECT_ROOT
from classifier.corpus import data_hash, load_examples
from classifier.evaluation import (
    breakdown,
    classification_metrics,
    learning_curve,
)
from classifier.folds import count_blocks
from classifier.predict import Predictor
from classifier.report import save_report
from classifier.train import TARGET_PRECISION, cross_validated_quality, selected_config

REPORTS_DIR = PROJECT_ROOT / "reports"


def _default_folder(kind: str) -> Path:
    return REPORTS_DIR / f"{kind}-{datetime.now(UTC).strftime('%Y%m%d-%H%M%S')}"


def cross_validated(
    paths: list[Path] | None = None, folds: int = 5, repeats: int = 3, out_dir: Path | None = None
) -> tuple[Path, dict[str, Any]]:
    """Repeated stratified k-fold on the training data, with the full report."""
    paths = paths or [DEFAULT_CORPUS]
    examples = load_examples(paths)
    config, selection = selected_config()
    texts = [e.text for e in examples]
    blocks = count_blocks(config, texts)  # counted once for every fit below
    curve = learning_curve(config, texts, [e.label for e in examples], folds=folds, blocks=blocks)
    report = {
        "title": "cross-validation",
        **cross_validated_quality(config, examples, folds, repeats, blocks=blocks),
        "learning_curve": curve,
        "selection": selection,
        "data_sha256": data_hash(paths),
        "model_name": config.name,
    }
    return save_report(out_dir or _default_folder("cv"), report, curve), report


def external(
    data: Path, model: str | None = None, out_dir: Path | None = None, priors: str | None = None
) -> tuple[Path, dict[str, Any]]:
    """Score a saved model on an external labelled file (columns text, label; voice/domain optional)."""
    predictor = Predictor.load(model, priors)
    examples = load_examples([data], require_every_label=False)  # a test set may lack a label
    labels = [e.label for e in examples]
    proba = predictor.probabilities([e.text for e in examples])
    ordered = np.sort(proba, axis=1)
    flagged = np.array(
        [
            predictor.thresholds.flags(float(c), float(c - s))
            for c, s in zip(ordered[:, -1], ordered[:, -2], strict=False)
        ]
    )
    correct = np.asarray(labels) == np.asarray(predictor.manifest["labels"])[proba.argmax(axis=1)]
    kept = ~flagged
    thresholds = {
        "min_confidence": predictor.thresholds.min_confidence,
        "min_margin": predictor.thresholds.min_margin,
        "precision_unflagged": round(float(correct[kept].mean()), 4) if kept.any() else 0.0,
        "coverage": round(float(kept.mean()), 4),
        "target_precision": TARGET_PRECISION,
        "target_reached": bool(kept.any() and correct[kept].mean() >= TARGET_PRECISION),
    }
    report = {
        "title": f"model {predictor.version} on {data.name}",
        "method": f"saved model {predictor.version} scored on {data.name} (no retraining)",
        "metrics": classification_metrics(labels, proba),
        "thresholds": thresholds,
        "by_voice": breakdown(labels, proba, [e.voice for e in examples]) if any(e.voice for e in examples) else {},
        "by_domain": breakdown(labels, proba, [e.domain for e in examples]) if any(e.domain for e in examples) else {},
        "data_sha256": data_hash([data]),
        "model_name": predictor.manifest.get("config", {}).get("classifier", ""),
    }
    return save_report(out_dir or _default_folder("external"), report), report
