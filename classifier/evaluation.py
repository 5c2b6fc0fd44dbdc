"""Cross-validated quality: metrics, calibration, breakdowns, review thresholds and learning curves."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import numpy as np
from joblib import Parallel, delayed
from sklearn.metrics import accuracy_score, confusion_matrix, f1_score, precision_recall_fscore_support
from sklearn.model_selection import RepeatedStratifiedKFold, StratifiedKFold

from classifier.folds import CountedBlock, count_blocks, fit_predict_fold
from classifier.labels import LABEL_CODES
from classifier.pipeline import PipelineConfig

# Folds are independent: use both cores of the machines this runs on (BUWEI_TRAIN_JOBS overrides).
DEFAULT_JOBS = int(os.environ.get("BUWEI_TRAIN_JOBS", "2"))


def _parallel_fits(
    config: PipelineConfig,
    texts: np.ndarray,
    y: np.ndarray,
    splits: list[tuple[np.ndarray, np.ndarray]],
    jobs: int,
    blocks: Sequence[CountedBlock] | None = None,
) -> list[np.ndarray]:
    """Fit one model per (train, test) split, on `jobs` processes; probabilities for each test part.

    The texts are counted once (or `blocks` holds their counts already) and every split's features are
    derived from the counts (classifier/folds.py).
    """
    counted = [block.without_terms() for block in (blocks or count_blocks(config, list(texts)))]
    tasks = (delayed(fit_predict_fold)(config, counted, y, train, test) for train, test in splits)
    results = Parallel(n_jobs=min(jobs, len(splits)))(tasks)
    return [proba[:, [classes.index(c) for c in LABEL_CODES]] for classes, proba in results]


def out_of_fold(
    config: PipelineConfig,
    texts: Sequence[str],
    labels: Sequence[str],
    folds: int = 5,
    repeats: int = 1,
    seed: int = 0,
    jobs: int = DEFAULT_JOBS,
    blocks: Sequence[CountedBlock] | None = None,
) -> tuple[np.ndarray, list[float]]:
    """Out-of-fold probabilities (averaged over repeats) and the macro-F1 of every repeat."""
    texts_arr, y = np.asarray(texts, dtype=object), np.asarray(labels)
    splits = list(RepeatedStratifiedKFold(n_splits=folds, n_repeats=repeats, random_state=seed).split(texts_arr, y))
    results = _parallel_fits(config, texts_arr, y, splits, jobs, blocks)
    total = np.zeros((len(y), len(LABEL_CODES)))
    per_repeat: list[float] = []
    for r in range(repeats):
        current = np.zeros_like(total)
        for (_, test), proba in zip(
            splits[r * folds : (r + 1) * folds], results[r * folds : (r + 1) * folds], strict=True
        ):
            current[test] = proba
        per_repeat.append(float(f1_score(y, predicted_labels(current), average="macro")))
        total += current
    return total / repeats, per_repeat


def predicted_labels(proba: np.ndarray) -> np.ndarray:
    return np.asarray(np.asarray(LABEL_CODES)[proba.argmax(axis=1)])


def classification_metrics(labels: Sequence[str], proba: np.ndarray) -> dict[str, Any]:
    y, pred = np.asarray(labels), predicted_labels(proba)
    precision, recall, f1, support = precision_recall_fscore_support(y, pred, labels=list(LABEL_CODES), zero_division=0)
    return {
        "n": int(len(y)),
        "accuracy": round(float(accuracy_score(y, pred)), 4),
        "macro_f1": round(float(f1_score(y, pred, labels=list(LABEL_CODES), average="macro", zero_division=0)), 4),
        "per_label": {
            code: {
                "precision": round(float(p), 4),
                "recall": round(float(r), 4),
                "f1": round(float(f), 4),
                "support": int(s),
            }
            for code, p, r, f, s in zip(LABEL_CODES, precision, recall, f1, support, strict=False)
        },
        "confusion_matrix": {
            "labels": list(LABEL_CODES),
            "rows_true_cols_pred": confusion_matrix(y, pred, labels=list(LABEL_CODES)).tolist(),
        },
        "calibration": calibration(y, proba),
    }


def calibration(labels: Sequence[str] | np.ndarray, proba: np.ndarray, bins: int = 10) -> dict[str, Any]:
    """Expected calibration error of the top label, and the reliability-diagram bins."""
    y = np.asarray(labels)
    confidence = proba.max(axis=1)
    correct = predicted_labels(proba) == y
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.digitize(confidence, edges[1:-1]), 0, bins - 1)
    rows, ece = [], 0.0
    for b in range(bins):
        mask = which == b
        if not mask.any():
            continue
        conf, acc = float(confidence[mask].mean()), float(correct[mask].mean())
        ece += mask.mean() * abs(conf - acc)
        rows.append(
            {
                "low": round(edges[b], 2),
                "high": round(edges[b + 1], 2),
                "n": int(mask.sum()),
                "confidence": round(conf, 4),
                "accuracy": round(acc, 4),
            }
        )
    return {"ece": round(float(ece), 4), "bins": rows}


def breakdown(labels: Sequence[str], proba: np.ndarray, groups: Sequence[str]) -> dict[str, dict[str, Any]]:
    """Accuracy and macro-F1 within each group (voice, domain)."""
    y, pred, g = np.asarray(labels), predicted_labels(proba), np.asarray(groups)
    result = {}
    for name in sorted(set(g)):
        mask = g == name
        present = sorted(set(y[mask]))
        result[str(name) or "(none)"] = {
            "n": int(mask.sum()),
            "accuracy": round(float(accuracy_score(y[mask], pred[mask])), 4),
            "macro_f1": round(
                float(f1_score(y[mask], pred[mask], labels=present, average="macro", zero_division=0)), 4
            ),
        }
    return result


def choose_thresholds(
    labels: Sequence[str], proba: np.ndarray, target_precision: float = 0.95, confidence_floor: float = 0.25
) -> dict[str, Any]:
    """The review band: the (min_confidence, min_margin) pair that keeps the most predictions
    unflagged while those unflagged predictions reach `target_precision` out of fold."""
    y = np.asarray(labels)
    ordered = np.sort(proba, axis=1)
    confidence, margin = ordered[:, -1], ordered[:, -1] - ordered[:, -2]
    correct = predicted_labels(proba) == y
    best: dict[str, Any] | None = None
    fallback: dict[str, Any] | None = None
    for min_conf in np.round(np.arange(confidence_floor, 0.991, 0.01), 2):
        for min_margin in np.round(np.arange(0.0, 0.61, 0.02), 2):
            kept = (confidence >= min_conf) & (margin >= min_margin)
            if kept.sum() < max(10, 0.02 * len(y)):
                continue
            precision, coverage = float(correct[kept].mean()), float(kept.mean())
            candidate = {
                "min_confidence": float(min_conf),
                "min_margin": float(min_margin),
                "precision_unflagged": round(precision, 4),
                "coverage": round(coverage, 4),
            }
            if precision >= target_precision and (best is None or coverage > best["coverage"]):
                best = candidate
            if fallback is None or precision > fallback["precision_unflagged"]:
                fallback = candidate
    chosen = (
        best or fallback or {"min_confidence": 0.99, "min_margin": 0.6, "precision_unflagged": 0.0, "coverage": 0.0}
    )
    return {
        **chosen,
        "target_precision": target_precision,
        "target_reached": best is not None,
        "confidence_floor": confidence_floor,
    }


def learning_curve(
    config: PipelineConfig,
    texts: Sequence[str],
    labels: Sequence[str],
    fractions: Sequence[float] = (0.2, 0.4, 0.6, 0.8, 1.0),
    folds: int = 5,
    seed: int = 0,
    jobs: int = DEFAULT_JOBS,
    blocks: Sequence[CountedBlock] | None = None,
) -> list[dict[str, float]]:
    """Macro-F1 on held-out folds when training on a fraction of each training split."""
    texts_arr, y = np.asarray(texts, dtype=object), np.asarray(labels)
    rng = np.random.default_rng(seed)
    splits, owners = [], []
    for fraction in fractions:
        for train, test in StratifiedKFold(folds, shuffle=True, random_state=seed).split(texts_arr, y):
            subset = rng.permutation(train)[: max(len(LABEL_CODES) * 2, int(round(len(train) * fraction)))]
            if len(set(y[subset])) == len(LABEL_CODES):
                splits.append((subset, test))
                owners.append(fraction)
    results = _parallel_fits(config, texts_arr, y, splits, jobs, blocks)
    points = []
    for fraction in fractions:
        scores = [
            f1_score(y[test], predicted_labels(proba), average="macro")
            for (_, test), proba, owner in zip(splits, results, owners, strict=True)
            if owner == fraction
        ]
        points.append(
            {
                "fraction": float(fraction),
                "train_size": int(round(len(y) * (folds - 1) / folds * fraction)),
                "macro_f1": round(float(np.mean(scores)), 4) if scores else 0.0,
            }
        )
    return points


def apply_temperature(proba: np.ndarray, temperature: float) -> np.ndarray:
    """Rescale probabilities as softmax(log p / T): T < 1 sharpens, T > 1 softens; the ranking stays."""
    logits = np.log(np.clip(proba, 1e-12, 1.0)) / temperature
    logits -= logits.max(axis=1, keepdims=True)
    scaled = np.exp(logits)
    return np.asarray(scaled / scaled.sum(axis=1, keepdims=True))


def fit_temperature(labels: Sequence[str], proba: np.ndarray) -> float:
    """The one temperature that minimises the log-loss of out-of-fold probabilities.

    A linear model trained on a balanced, modest corpus spreads its probability too thinly; one scalar
    fixes the calibration without changing any label, the evidence, or the fast path.
    """
    from scipy.optimize import minimize_scalar

    y = np.asarray(labels)
    truth = np.asarray([LABEL_CODES.index(label) for label in y])

    def log_loss(t: float) -> float:
        p = apply_temperature(proba, t)
        return float(-np.mean(np.log(np.clip(p[np.arange(len(y)), truth], 1e-12, 1.0))))

    found = minimize_scalar(log_loss, bounds=(0.05, 5.0), method="bounded")
    return round(float(found.x), 4)
