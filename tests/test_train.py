"""Training on a small fixture: a complete bundle, honest metrics, and `buwei predict`'s output shape."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from classifier.corpus import load_examples
from classifier.errors import TrainingError
from classifier.labels import LABEL_CODES
from classifier.predict import Predictor
from classifier.train import TrainResult
from tests.conftest import subprocess_env

RESULT_KEYS = {
    "label",
    "label_zh",
    "confidence",
    "probabilities",
    "second_label",
    "needs_review",
    "evidence",
    "model_version",
}


def test_training_writes_a_current_bundle_with_report(mini_bundle: TrainResult) -> None:
    folder = mini_bundle.path
    assert (folder.parent / "CURRENT").read_text().strip() == folder.name
    for name in ("model.joblib", "manifest.json", "report.md", "confusion_matrix.png", "reliability.png"):
        assert (folder / name).stat().st_size > 0, name
    report = (folder / "report.md").read_text(encoding="utf-8")
    assert "macro-F1" in report and "宏平均" in report
    assert mini_bundle.manifest["metrics"]["n"] == 48


def test_summary_states_quality(mini_bundle: TrainResult) -> None:
    summary = mini_bundle.summary()
    assert "macro-F1" in summary and mini_bundle.manifest["version"] in summary


def test_prediction_has_the_contract_shape(mini_model: Predictor) -> None:
    result = mini_model.predict_one("窗口人员上班玩手机，材料压了三个月不办").to_dict()
    assert set(result) == RESULT_KEYS
    assert result["label"] in LABEL_CODES and result["second_label"] != result["label"]
    assert list(result["probabilities"]) == list(LABEL_CODES)
    assert sum(result["probabilities"].values()) == pytest.approx(1.0, abs=1e-3)
    assert result["confidence"] == max(result["probabilities"].values())
    assert all(isinstance(e["term"], str) and e["weight"] > 0 for e in result["evidence"])


def test_evidence_terms_are_words_of_the_text(mini_model: Predictor) -> None:
    text = "街道办和城管互相推诿，踢皮球半年，没人管"
    for item in mini_model.predict_one(text).evidence:
        assert item["term"] in text


def test_predict_cli_prints_one_json_object(models_env: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "classifier", "predict", "开发商拖延交房"],
        capture_output=True,
        text=True,
        env=subprocess_env(models_env),
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert set(json.loads(done.stdout)) == RESULT_KEYS


def test_predict_cli_reads_stdin(models_env: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "classifier", "predict"],
        input="干部怕担责不敢签字",
        capture_output=True,
        text=True,
        env=subprocess_env(models_env),
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["label"] in LABEL_CODES


def test_empty_text_is_bad_input(models_env: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "classifier", "predict"],
        input="  \n",
        capture_output=True,
        text=True,
        env=subprocess_env(models_env),
        timeout=120,
    )
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "empty" in done.stderr


def test_bad_usage_exits_2() -> None:
    done = subprocess.run([sys.executable, "-m", "classifier", "no-such-command"], capture_output=True, text=True)
    assert done.returncode == 2 and "usage" in done.stderr


def test_training_file_without_label_column_is_refused(tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("text\n推诿\n", encoding="utf-8")
    with pytest.raises(TrainingError, match="label"):
        load_examples([bad])


def test_unknown_label_names_the_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("text,label\n推诿,unwilling\n不敢,scared\n", encoding="utf-8")
    with pytest.raises(TrainingError, match="line 3"):
        load_examples([bad])


@pytest.mark.parametrize(
    ("term", "readable"),
    [
        ("推诿", True),
        ("怕", True),
        ("不敢签字", True),
        ("了", False),
        ("A市", False),
        ("K8县", False),
        ("2019年", False),
        ("200", False),
        ("PHONE", False),
        ("3.5", False),
        ("12345热线", True),
    ],
)
def test_evidence_keeps_only_readable_terms(term: str, readable: bool) -> None:
    from classifier.predict import _readable

    assert _readable(term) is readable


def test_priors_shift_probabilities_by_bayes_rule(mini_bundle: TrainResult) -> None:
    text = "社区和街道互相推诿，半年没人管"
    plain = Predictor.load(mini_bundle.path).predict_one(text).probabilities
    skewed = Predictor.load(mini_bundle.path, "other=0.97,unwilling=0.01,afraid=0.01,unable=0.01")
    shifted = skewed.predict_one(text).probabilities
    assert shifted["other"] > plain["other"]
    assert shifted["unwilling"] < plain["unwilling"]
    assert sum(shifted.values()) == pytest.approx(1.0, abs=1e-3)


@pytest.mark.parametrize("spec", ["other=0.7", "other=x,unwilling=1,afraid=1,unable=1", "bad", "other=0,a=1"])
def test_bad_priors_are_bad_input(mini_bundle: TrainResult, spec: str) -> None:
    from classifier.errors import BadInputError

    with pytest.raises(BadInputError):
        Predictor.load(mini_bundle.path, spec)


def test_priors_from_the_environment(mini_bundle: TrainResult, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BUWEI_PRIORS", "other=0.97,unwilling=0.01,afraid=0.01,unable=0.01")
    assert Predictor.load(mini_bundle.path).prior_weights is not None


def test_report_is_titled_with_the_version(mini_bundle: TrainResult) -> None:
    first_line = (mini_bundle.path / "report.md").read_text(encoding="utf-8").splitlines()[0]
    assert mini_bundle.manifest["version"] in first_line and ".tmp" not in first_line


@pytest.mark.parametrize(
    "args",
    [["train", "--only"], ["evaluate", "--model", "x"], ["train", "--only", "--data", "/tmp"]],
)
def test_cli_usage_mistakes_exit_2_with_one_line(args: list[str], tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "classifier", *args],
        capture_output=True,
        text=True,
        env=subprocess_env(tmp_path),
        timeout=120,
    )
    assert done.returncode == 2
    assert len(done.stderr.strip().splitlines()) == 1 and "Traceback" not in done.stderr
