"""Model selection by cross-validation: candidate pipelines compared on the same folds.

`buwei select` runs it and records the comparison and the winner in data/model-selection.json, which
`buwei train` then uses and quotes in every model report.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from classifier.evaluation import apply_temperature, calibration, fit_temperature, out_of_fold
from classifier.pipeline import PipelineConfig

BASE = PipelineConfig()

CANDIDATES: tuple[PipelineConfig, ...] = (
    # classifiers on both feature sets, with their key regularisation strength
    *(replace(BASE, classifier="logreg", C=c) for c in (3.0, 10.0, 30.0)),
    replace(BASE, classifier="svm", C=10.0),
    replace(BASE, classifier="cnb", C=30.0),
    replace(BASE, classifier="sgd", C=10.0),
    # features, with the classifier fixed
    replace(BASE, features="word"),
    replace(BASE, features="char"),
    replace(BASE, userdict=False),
    replace(BASE, hmm=True),
)


def compare(
    texts: Sequence[str],
    labels: Sequence[str],
    candidates: Sequence[PipelineConfig] = CANDIDATES,
    folds: int = 5,
    repeats: int = 2,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Every candidate on the same repeated stratified folds; the winner by mean macro-F1.

    Candidates within one standard error of the best are treated as tied; among them the
    better-calibrated (lower ECE) one wins, since users act on the confidence.
    """
    rows = []
    for config in candidates:
        started = time.perf_counter()
        proba, per_repeat = out_of_fold(config, texts, labels, folds=folds, repeats=repeats)
        row = {
            "name": config.name,
            "config": config.as_dict(),
            "macro_f1": round(float(np.mean(per_repeat)), 4),
            "macro_f1_sd": round(float(np.std(per_repeat)), 4),
            "ece_raw": calibration(labels, proba)["ece"],
            # what users see: probabilities after the temperature train() fits on the same folds
            "ece": calibration(labels, apply_temperature(proba, fit_temperature(labels, proba)))["ece"],
            "seconds": round(time.perf_counter() - started, 1),
        }
        rows.append(row)
        if progress:
            progress(f"{row['name']}: macro-F1 {row['macro_f1']:.3f} ± {row['macro_f1_sd']:.3f}, ECE {row['ece']:.3f}")
    best = max(rows, key=lambda r: r["macro_f1"])
    tolerance = max(best["macro_f1_sd"], 0.005)
    tied = [r for r in rows if best["macro_f1"] - r["macro_f1"] <= tolerance]
    winner = min(tied, key=lambda r: r["ece"])
    reason = (
        f"highest mean macro-F1 ({winner['macro_f1']:.3f})"
        if winner is best
        else f"within {tolerance:.3f} macro-F1 of the best ({best['name']}, {best['macro_f1']:.3f}) "
        f"and better calibrated (ECE {winner['ece']:.3f} vs {best['ece']:.3f})"
    )
    return {
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "method": f"{repeats}x repeated stratified {folds}-fold cross-validation",
        "n": len(labels),
        "winner": winner["name"],
        "winner_config": winner["config"],
        "reason": reason,
        "candidates": sorted(rows, key=lambda r: -r["macro_f1"]),
    }


def save(selection: dict[str, Any], path: Path) -> None:
    path.write_text(json.dumps(selection, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
