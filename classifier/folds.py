"""Cross-validation that reads the texts once, not once per fold.

A TfidfVectorizer fitted on a fold keeps the terms of the fold's training texts that pass `min_df` and
`max_features`, and weights them by the idf of those texts: all of it follows from term counts. So
every text is counted once, with every term, and each fold's vectorizer is derived from the counts of
its training rows. The features are the ones fitting the Pipeline on the fold would give (same
vocabulary, idf and TF-IDF rows; tests/test_folds.py proves it), and the classifier is the Pipeline's
own. Tokenising and counting n-grams in Python was most of the cost of a fit; it is now paid once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import sparse
from sklearn.feature_extraction.text import TfidfVectorizer

from classifier.counting import LearnedTerms, count_terms, learn_terms, tfidf_rows
from classifier.normalize import normalize_all
from classifier.pipeline import PipelineConfig, build_pipeline


@dataclass
class CountedBlock:
    """One vectorizer of the Pipeline, with the counts of every term in every text.

    `counts` is float32 CSR (texts × terms), columns in sorted term order, as the vectorizer sorts its
    vocabulary before it applies max_features."""

    vectorizer: TfidfVectorizer
    counts: sparse.csr_matrix
    terms: list[str] | None  # the column names; not sent to the fold workers

    def without_terms(self) -> CountedBlock:
        return CountedBlock(self.vectorizer, self.counts, None)


def count_blocks(config: PipelineConfig, texts: Sequence[str]) -> list[CountedBlock]:
    """Normalise the texts as the Pipeline does and count every term of each of its vectorizers.

    In this process: counting takes about a second, less than starting a worker and shipping it back."""
    normalized = normalize_all(texts)
    union = build_pipeline(config).named_steps["features"]
    return [CountedBlock(v, *count_terms(v, normalized)) for _, v in union.transformer_list]


def fit_block(block: CountedBlock, train: np.ndarray) -> LearnedTerms:
    """The vocabulary and idf the block's vectorizer would learn from the texts `train`."""
    return learn_terms(block.vectorizer, block.counts, train)


def transform_block(block: CountedBlock, fitted: LearnedTerms, rows: np.ndarray) -> sparse.csr_matrix:
    """TF-IDF rows of the texts `rows`, as the vectorizer fitted on the fold would transform them."""
    return tfidf_rows(block.vectorizer, block.counts, fitted, rows)


def fold_features(
    blocks: Sequence[CountedBlock], train: np.ndarray, test: np.ndarray
) -> tuple[sparse.csr_matrix, sparse.csr_matrix]:
    """The FeatureUnion's training and test matrices for one split."""
    fitted = [fit_block(block, train) for block in blocks]
    parts = [
        sparse.hstack([transform_block(b, f, rows) for b, f in zip(blocks, fitted, strict=True)], format="csr")
        for rows in (train, test)
    ]
    return parts[0], parts[1]


def fit_predict_fold(
    config: PipelineConfig, blocks: Sequence[CountedBlock], y: np.ndarray, train: np.ndarray, test: np.ndarray
) -> tuple[list[Any], np.ndarray]:
    """Fit the Pipeline's classifier on one split; its classes and the test rows' probabilities."""
    train_x, test_x = fold_features(blocks, train, test)
    classifier = build_pipeline(config).named_steps["classifier"].fit(train_x, y[train])
    return list(classifier.classes_), np.asarray(classifier.predict_proba(test_x))
