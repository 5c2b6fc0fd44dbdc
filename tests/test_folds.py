"""Fold features derived from shared counts must be what fitting the Pipeline on the fold gives."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import Pipeline

from classifier.config import DEFAULT_CORPUS
from classifier.corpus import load_examples
from classifier.folds import count_blocks, fit_block, fit_predict_fold, transform_block
from classifier.labels import LABEL_CODES
from classifier.pipeline import PipelineConfig, build_pipeline
from classifier.train import selected_config

MINI_CORPUS = Path(__file__).parent / "fixtures" / "mini_corpus.csv"


def _scikit_learn_pipeline(config: PipelineConfig) -> Pipeline:
    """The configuration's Pipeline with scikit-learn's own TfidfVectorizer (the reference)."""
    pipeline = build_pipeline(config)
    union = pipeline.named_steps["features"]
    union.transformer_list = [(name, TfidfVectorizer(**v.get_params())) for name, v in union.transformer_list]
    return pipeline


def _assert_fold_equals_pipeline(config: PipelineConfig, texts: list[str], labels: list[str]) -> None:
    y = np.asarray(labels)
    train, test = next(StratifiedKFold(3, shuffle=True, random_state=1).split(texts, y))
    pipeline = _scikit_learn_pipeline(config).fit([texts[i] for i in train], y[train])
    union = pipeline.named_steps["features"]
    blocks = count_blocks(config, texts)
    assert len(blocks) == len(union.transformer_list)
    for block, (_, fitted_vectorizer) in zip(blocks, union.transformer_list, strict=True):
        derived = fit_block(block, train)
        assert block.terms is not None
        vocabulary = {block.terms[c]: i for i, c in enumerate(derived.columns)}
        assert vocabulary == fitted_vectorizer.vocabulary_
        assert np.array_equal(derived.idf, fitted_vectorizer.idf_)
        normalized = pipeline.named_steps["normalize"].transform([texts[i] for i in test])
        expected = fitted_vectorizer.transform(normalized)
        got = transform_block(block, derived, test)
        assert got.shape == expected.shape
        assert abs(got - expected).max() < 1e-6
    classes, proba = fit_predict_fold(config, blocks, y, train, test)
    assert classes == list(pipeline.classes_)
    assert np.abs(proba - pipeline.predict_proba([texts[i] for i in test])).max() < 1e-4


def test_mini_corpus_with_a_max_features_cut() -> None:
    examples = load_examples([MINI_CORPUS])
    # a cut far below the vocabulary, so that ties at the cut must fall as the vectorizer breaks them
    config = replace(PipelineConfig(), max_features=150)
    _assert_fold_equals_pipeline(config, [e.text for e in examples], [e.label for e in examples])


def test_word_only_and_char_only_configurations() -> None:
    examples = load_examples([MINI_CORPUS])
    texts, labels = [e.text for e in examples], [e.label for e in examples]
    for features in ("word", "char"):
        _assert_fold_equals_pipeline(replace(PipelineConfig(), features=features), texts, labels)


@pytest.mark.slow
def test_shipped_corpus_with_the_selected_configuration() -> None:
    examples = load_examples([DEFAULT_CORPUS])
    config, _ = selected_config()
    _assert_fold_equals_pipeline(config, [e.text for e in examples], [e.label for e in examples])


def test_classes_follow_the_label_codes_whatever_the_order() -> None:
    # the fold's classes are the classifier's own; evaluation reorders them to LABEL_CODES
    examples = load_examples([MINI_CORPUS])
    blocks = count_blocks(PipelineConfig(), [e.text for e in examples])
    y = np.asarray([e.label for e in examples])
    everything = np.arange(len(y))
    classes, proba = fit_predict_fold(PipelineConfig(), blocks, y, everything, everything[:5])
    assert sorted(classes) == sorted(LABEL_CODES)
    assert proba.shape == (5, len(LABEL_CODES))
    assert np.allclose(proba.sum(axis=1), 1.0)
