"""The Pipeline's vectorizers count terms with numpy; they must learn exactly what scikit-learn's would."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from sklearn.feature_extraction.text import TfidfVectorizer

from classifier.config import DEFAULT_CORPUS
from classifier.corpus import load_examples
from classifier.normalize import normalize_all
from classifier.pipeline import CompactTfidfVectorizer, PipelineConfig, build_pipeline
from classifier.train import selected_config

MINI_CORPUS = Path(__file__).parent / "fixtures" / "mini_corpus.csv"


def _assert_fit_equals_scikit_learn(config: PipelineConfig, texts: list[str]) -> None:
    normalized = normalize_all(texts)
    for _, ours in build_pipeline(config).named_steps["features"].transformer_list:
        assert isinstance(ours, CompactTfidfVectorizer)
        reference = TfidfVectorizer(**ours.get_params())
        expected = reference.fit_transform(normalized)
        got = ours.fit_transform(normalized)
        assert ours.vocabulary_ == reference.vocabulary_
        assert np.array_equal(ours.idf_, reference.idf_)
        assert got.shape == expected.shape and abs(got - expected).max() < 1e-6
        assert abs(ours.transform(normalized[:7]) - reference.transform(normalized[:7])).max() < 1e-6


def test_mini_corpus_with_and_without_a_max_features_cut() -> None:
    texts = [e.text for e in load_examples([MINI_CORPUS])]
    _assert_fit_equals_scikit_learn(PipelineConfig(), texts)
    _assert_fit_equals_scikit_learn(replace(PipelineConfig(), max_features=150), texts)


def test_other_shapes_fall_back_to_scikit_learn_and_still_agree() -> None:
    texts = [e.text for e in load_examples([MINI_CORPUS])]
    _assert_fit_equals_scikit_learn(replace(PipelineConfig(), char_ngrams=(2, 4), word_ngrams=(1, 3)), texts)
    vectorizer = CompactTfidfVectorizer(analyzer="char", lowercase=True).fit(["ABC abc", "Abc"])
    assert (
        vectorizer.vocabulary_ == TfidfVectorizer(analyzer="char", lowercase=True).fit(["ABC abc", "Abc"]).vocabulary_
    )


def test_an_empty_vocabulary_gets_scikit_learns_error() -> None:
    with pytest.raises(ValueError, match="no terms remain|empty vocabulary"):
        CompactTfidfVectorizer(analyzer="char", min_df=2).fit(["甲", "乙"])


@pytest.mark.slow
def test_shipped_corpus_with_the_selected_configuration() -> None:
    config, _ = selected_config()
    _assert_fit_equals_scikit_learn(config, [e.text for e in load_examples([DEFAULT_CORPUS])])
