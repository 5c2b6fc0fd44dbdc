"""Shared fixtures. Tests build their own models in temporary folders: a clean clone has none."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from classifier.config import DEFAULT_CORPUS
from classifier.predict import Predictor
from classifier.train import TrainResult, train

FIXTURES = Path(__file__).parent / "fixtures"
MINI_CORPUS = FIXTURES / "mini_corpus.csv"
SHARED = Path(__file__).resolve().parents[2] / "shared"
REAL_MESSAGES = SHARED / "corpus" / "citizen_messages.csv"


@pytest.fixture(scope="session")
def mini_bundle(tmp_path_factory: pytest.TempPathFactory) -> TrainResult:
    """A small model trained on the 48-text fixture: fast, for code tests."""
    return train([MINI_CORPUS], models_root=tmp_path_factory.mktemp("mini-models"), folds=3, with_curve=False)


@pytest.fixture(scope="session")
def mini_model(mini_bundle: TrainResult) -> Predictor:
    return Predictor.load(mini_bundle.path)


@pytest.fixture(scope="session")
def default_bundle(tmp_path_factory: pytest.TempPathFactory) -> TrainResult:
    """The default model, trained on data/complaints.csv as `make train` would: for behavioural tests."""
    return train([DEFAULT_CORPUS], models_root=tmp_path_factory.mktemp("default-models"), with_curve=False)


@pytest.fixture(scope="session")
def default_model(default_bundle: TrainResult) -> Predictor:
    return Predictor.load(default_bundle.path)


@pytest.fixture
def models_env(mini_bundle: TrainResult, monkeypatch: pytest.MonkeyPatch) -> Path:
    """BUWEI_MODELS_DIR pointed at the mini model's folder, for CLI and API tests."""
    root = mini_bundle.path.parent
    monkeypatch.setenv("BUWEI_MODELS_DIR", str(root))
    return root


@pytest.fixture
def real_messages() -> Iterator[Path]:
    """The real citizen messages in ../shared, when this checkout sits beside it."""
    if not REAL_MESSAGES.exists():
        pytest.skip("../shared/corpus is not beside this checkout")
    yield REAL_MESSAGES


def subprocess_env(models_root: Path) -> dict[str, str]:
    """Environment for running `python -m classifier` in a child process against a model folder."""
    return {**os.environ, "BUWEI_MODELS_DIR": str(models_root), "PYTHONIOENCODING": "utf-8"}
