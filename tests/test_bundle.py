"""Code tier: model bundles are verified before unpickling, written atomically, and versioned."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from classifier import bundle
from classifier.errors import ModelError
from classifier.predict import Predictor
from classifier.train import TrainResult
from tests.conftest import subprocess_env


@pytest.fixture
def bundle_copy(mini_bundle: TrainResult, tmp_path: Path) -> Path:
    """A private copy of the mini model's folder, safe to tamper with."""
    root = tmp_path / "models"
    root.mkdir()
    shutil.copytree(mini_bundle.path, root / mini_bundle.path.name)
    bundle.set_current(mini_bundle.path.name, root)
    return root / mini_bundle.path.name


def test_round_trip_gives_the_same_predictions(mini_bundle: TrainResult, bundle_copy: Path) -> None:
    text = "社区和街道互相推诿，半年没人管"
    original = Predictor.load(mini_bundle.path).predict_one(text)
    copied = Predictor.load(bundle_copy).predict_one(text)
    assert copied.to_dict() == original.to_dict()


def test_vocabularies_are_stored_as_one_string_and_load_back_whole(mini_bundle: TrainResult) -> None:
    import joblib

    from classifier.pipeline import CompactTfidfVectorizer

    model = joblib.load(mini_bundle.path / bundle.MODEL_FILE)
    for _, vectorizer in model.named_steps["features"].transformer_list:
        assert isinstance(vectorizer, CompactTfidfVectorizer)
        state = vectorizer.__getstate__()
        assert "vocabulary_" not in state and isinstance(state["vocabulary_terms_"], str)
        vocabulary = vectorizer.vocabulary_
        assert sorted(vocabulary.values()) == list(range(len(vocabulary)))
        restored = CompactTfidfVectorizer.__new__(CompactTfidfVectorizer)
        restored.__setstate__(state)
        assert restored.vocabulary_ == vocabulary
        texts = ["街道办互相推诿", "怕担责不敢签字"]
        assert (restored.transform(texts) != vectorizer.transform(texts)).nnz == 0


def test_manifest_records_what_loading_needs(bundle_copy: Path) -> None:
    manifest = json.loads((bundle_copy / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["model_sha256"] == bundle.sha256_file(bundle_copy / "model.joblib")
    assert manifest["labels"] == ["unwilling", "afraid", "unable", "other"]
    assert {"python", "scikit-learn", "jieba", "numpy"} <= set(manifest["library_versions"])
    assert len(manifest["data"]["sha256"]) == 64
    assert 0 <= manifest["thresholds"]["min_confidence"] <= 1
    assert (bundle_copy / manifest["report"]).exists()


def test_tampered_model_file_is_refused_before_unpickling(bundle_copy: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with (bundle_copy / "model.joblib").open("ab") as handle:
        handle.write(b"tampered")
    unpickled = []
    monkeypatch.setattr(bundle.joblib, "load", lambda *a, **k: unpickled.append(a))
    with pytest.raises(ModelError, match="sha256"):
        bundle.load_bundle(bundle_copy)
    assert unpickled == []


def _edit_manifest(folder: Path, **changes: object) -> None:
    path = folder / "manifest.json"
    manifest = json.loads(path.read_text(encoding="utf-8"))
    for key, value in changes.items():
        if isinstance(value, dict):
            manifest[key].update(value)
        else:
            manifest[key] = value
    path.write_text(json.dumps(manifest), encoding="utf-8")


def test_other_scikit_learn_version_is_refused(bundle_copy: Path) -> None:
    _edit_manifest(bundle_copy, library_versions={"scikit-learn": "0.24.2"})
    with pytest.raises(ModelError, match="scikit-learn 0.24.2"):
        bundle.load_bundle(bundle_copy)


def test_other_label_set_is_refused(bundle_copy: Path) -> None:
    _edit_manifest(bundle_copy, labels=["a", "b"])
    with pytest.raises(ModelError, match="label set"):
        bundle.load_bundle(bundle_copy)


def test_cli_refuses_tampered_model_with_one_line_and_exit_1(bundle_copy: Path) -> None:
    (bundle_copy / "model.joblib").write_bytes(b"not a model")
    done = subprocess.run(
        [sys.executable, "-m", "classifier", "predict", "推诿扯皮"],
        capture_output=True,
        text=True,
        env=subprocess_env(bundle_copy.parent),
        timeout=120,
    )
    assert done.returncode == 1
    assert len(done.stderr.strip().splitlines()) == 1
    assert "sha256" in done.stderr and "Traceback" not in done.stderr


def test_missing_model_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="buwei train"):
        bundle.resolve(None, tmp_path)


def test_failed_write_leaves_no_half_bundle_and_keeps_current(bundle_copy: Path) -> None:
    root = bundle_copy.parent
    before = sorted(p.name for p in root.iterdir())

    def crash(folder: Path, version: str) -> None:
        (folder / "report.md").write_text("half", encoding="utf-8")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        bundle.save_bundle({"not": "a model"}, {}, write_extras=crash, root=root)
    assert sorted(p.name for p in root.iterdir()) == before
    assert bundle.current_version(root) == bundle_copy.name


def test_versions_list_use_and_prune(bundle_copy: Path) -> None:
    root = bundle_copy.parent
    second = bundle.save_bundle({"toy": 1}, {}, root=root, make_current=False)
    assert bundle.current_version(root) == bundle_copy.name
    assert [m["version"] for m in bundle.list_versions(root)] == sorted([bundle_copy.name, second.name])
    bundle.set_current(second.name, root)
    assert bundle.current_version(root) == second.name
    bundle.set_current(bundle_copy.name, root)  # roll back
    assert bundle.prune(keep=1, root=root) == []  # the newest is kept and the current one is never pruned
    bundle.set_current(second.name, root)
    assert bundle.prune(keep=1, root=root) == [bundle_copy.name]
    assert not bundle_copy.exists()
