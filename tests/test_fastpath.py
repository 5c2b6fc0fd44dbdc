"""The fast prediction path must give exactly the Pipeline's features, probabilities and labels."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from classifier.config import DEFAULT_CORPUS
from classifier.fastpath import FastScorer
from classifier.labels import LABEL_CODES
from classifier.normalize import normalize
from classifier.predict import Predictor
from classifier.train import TrainResult


def _assert_same(model: Predictor, texts: list[str]) -> None:
    pipeline = model.model
    fast = FastScorer(pipeline)
    expected_features = pipeline[:-1].transform(texts)
    features = fast.features([normalize(t) for t in texts])
    assert features.shape == expected_features.shape
    assert abs(features - expected_features).max() < 1e-6
    expected = pipeline.predict_proba(texts)
    got = fast.probabilities(features)
    assert np.abs(got - expected).max() < 1e-5
    assert (got.argmax(axis=1) == expected.argmax(axis=1)).all()


def test_supported_shape_is_recognised(mini_model: Predictor) -> None:
    assert FastScorer.supports(mini_model.model)
    assert not FastScorer.supports(object())


def test_edge_texts(mini_model: Predictor) -> None:
    edge = ["", "好", "急急急", "a b", "不作为" * 50, "电话13812345678", "𠀀𠀁 emoji 😀 推诿", "推诿\ud800不管"]
    _assert_same(mini_model, edge)
    assert mini_model.predict_one("推诿\ud800不管").label in LABEL_CODES


def test_predictor_uses_and_can_switch_off_the_fast_path(
    mini_bundle: TrainResult, monkeypatch: pytest.MonkeyPatch
) -> None:
    fast = Predictor.load(mini_bundle.path)
    monkeypatch.setenv("BUWEI_FASTPATH", "0")
    slow = Predictor.load(mini_bundle.path)
    assert fast._fast is not None and slow._fast is None
    texts = ["街道办互相推诿", "怕担责不敢签字", "开发商拖延交房"]
    assert [p.to_dict() for p in fast.predict(texts)] == [p.to_dict() for p in slow.predict(texts)]


@pytest.mark.slow
def test_equal_on_the_corpus(default_model: Predictor) -> None:
    with DEFAULT_CORPUS.open(encoding="utf-8", newline="") as handle:
        texts = [row["text"] for row in csv.DictReader(handle)]
    _assert_same(default_model, texts)


@pytest.mark.slow
def test_equal_on_the_real_messages(default_model: Predictor, real_messages: Path) -> None:
    with real_messages.open(encoding="utf-8", newline="") as handle:
        texts = [f"{row['title']}\n{row['text']}" for row in csv.DictReader(handle)]
    _assert_same(default_model, texts[::3])


def test_key_index_finds_every_key_and_nothing_else() -> None:
    from classifier.fastpath import _KeyIndex

    rng = np.random.default_rng(0)
    keys = np.unique(rng.integers(1, 2**63, 5000, dtype=np.uint64))
    # keys that share a home slot force probing past occupied slots
    keys = np.unique(np.concatenate([keys, keys[:50] + np.uint64(1), np.arange(1, 200, dtype=np.uint64)]))
    columns = rng.permutation(len(keys)).astype(np.int64)
    index = _KeyIndex(keys, columns)
    assert np.array_equal(index.find(keys), columns)
    absent = np.setdiff1d(rng.integers(1, 2**63, 5000, dtype=np.uint64), keys)
    assert (index.find(absent) == -1).all()
    assert len(index.find(np.zeros(0, dtype=np.uint64))) == 0


def test_character_grams_longer_than_three_are_left_to_the_pipeline() -> None:
    # four 21-bit code points do not fit in one uint64 key: the fast path must not take such a model
    from dataclasses import replace

    from classifier.corpus import load_examples
    from classifier.pipeline import PipelineConfig, build_pipeline
    from tests.conftest import MINI_CORPUS

    examples = load_examples([MINI_CORPUS])
    texts, labels = [e.text for e in examples], [e.label for e in examples]
    assert FastScorer.supports(build_pipeline(PipelineConfig()).fit(texts, labels))
    assert not FastScorer.supports(build_pipeline(replace(PipelineConfig(), char_ngrams=(1, 4))).fit(texts, labels))
