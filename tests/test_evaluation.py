"""Code tier: metrics, calibration, temperature, the review band and the report."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np

from classifier.evaluation import (
    apply_temperature,
    calibration,
    choose_thresholds,
    classification_metrics,
    fit_temperature,
)
from classifier.labels import LABEL_CODES
from classifier.train import TrainResult
from tests.conftest import MINI_CORPUS, subprocess_env


def _underconfident(n: int = 2000, seed: int = 0) -> tuple[list[str], np.ndarray]:
    """Labels and probabilities that are right 90% of the time but claim only ~40% confidence."""
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, 4, n)
    predicted = np.where(rng.random(n) < 0.9, truth, (truth + 1) % 4)
    proba = np.full((n, 4), 0.2)
    proba[np.arange(n), predicted] = 0.4
    return [LABEL_CODES[i] for i in truth], proba


def test_temperature_fixes_underconfidence_without_changing_labels() -> None:
    labels, proba = _underconfident()
    temperature = fit_temperature(labels, proba)
    scaled = apply_temperature(proba, temperature)
    assert temperature < 1
    assert (scaled.argmax(axis=1) == proba.argmax(axis=1)).all()
    assert calibration(labels, scaled)["ece"] < calibration(labels, proba)["ece"] / 3


def test_metrics_and_confusion_matrix() -> None:
    labels = ["unwilling", "afraid", "unable", "other"]
    proba = np.eye(4)[[0, 1, 2, 2]]  # the last one is wrong: other predicted as unable
    metrics = classification_metrics(labels, proba)
    assert metrics["accuracy"] == 0.75
    assert metrics["per_label"]["other"]["recall"] == 0.0
    assert metrics["per_label"]["unable"]["precision"] == 0.5
    assert metrics["confusion_matrix"]["rows_true_cols_pred"][3] == [0, 0, 1, 0]


def test_review_band_reaches_the_target_precision() -> None:
    # A model whose confidence means something: it is right with probability equal to its confidence.
    rng = np.random.default_rng(1)
    n = 3000
    confidence = rng.uniform(0.3, 1.0, n)
    truth = rng.integers(0, 4, n)
    predicted = np.where(rng.random(n) < confidence, truth, (truth + 1) % 4)
    proba = np.tile(((1 - confidence) / 3)[:, None], (1, 4))
    proba[np.arange(n), predicted] = confidence
    labels = [LABEL_CODES[i] for i in truth]
    band = choose_thresholds(labels, proba, target_precision=0.95)
    ordered = np.sort(proba, axis=1)
    kept = (ordered[:, -1] >= band["min_confidence"]) & (ordered[:, -1] - ordered[:, -2] >= band["min_margin"])
    assert band["target_reached"]
    assert (predicted == truth)[kept].mean() >= 0.95
    assert band["coverage"] == round(kept.mean(), 4)
    assert 0.05 < band["coverage"] < 0.5  # only the confident end can be left unflagged


def test_evaluate_on_external_file_writes_a_report(models_env: Path, tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "classifier", "evaluate", "--data", str(MINI_CORPUS), "--out", str(tmp_path / "r")],
        capture_output=True,
        text=True,
        env=subprocess_env(models_env),
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert "macro-F1" in done.stdout
    report = (tmp_path / "r" / "report.md").read_text(encoding="utf-8")
    assert "混淆矩阵" in report and "Confusion matrix" in report
    assert (tmp_path / "r" / "reliability.png").stat().st_size > 1000


def test_trained_model_stores_temperature_and_calibrated_band(mini_bundle: TrainResult) -> None:
    manifest = mini_bundle.manifest
    assert 0.05 <= manifest["temperature"] <= 5.0
    assert {"min_confidence", "min_margin", "coverage", "precision_unflagged"} <= set(manifest["thresholds"])
