"""A faster way through a fitted Pipeline: the same features and probabilities, fewer Python loops.

scikit-learn's character analyser builds every n-gram as a Python string and looks each one up in a
dict: for a 400-character text that is 1,200 strings. Here each n-gram is packed into one integer
(21 bits per code point) for a whole batch at once, and numpy looks all of them up in the fitted
vocabulary with one `searchsorted`. Word n-grams keep a dict lookup (there are few of them). TF-IDF,
sublinear tf, idf and L2 norms are then applied exactly as the fitted vectorizers do.

Only used when the fitted Pipeline has the shape build_pipeline() makes with a LogisticRegression;
tests prove its features and probabilities equal the Pipeline's. Anything else falls back to the
Pipeline itself.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

import numpy as np
from scipy import sparse
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import FeatureUnion, Pipeline

from classifier.counting import MAX_PACKED_CHARS, code_points, ngram_positions, pack_chars
from classifier.normalize import normalize


class _CharBlock:
    """Character n-gram TF-IDF of one fitted vectorizer, computed with packed integer keys."""

    def __init__(self, vectorizer: TfidfVectorizer) -> None:
        self.low, self.high = vectorizer.ngram_range
        vocabulary: dict[str, int] = vectorizer.vocabulary_
        grams = list(vocabulary)
        lengths = np.fromiter(map(len, grams), dtype=np.int64, count=len(grams))
        codes, starts = code_points("".join(grams)), np.cumsum(lengths) - lengths
        keys = np.zeros(len(grams), dtype=np.uint64)
        for n in np.unique(lengths).tolist():
            keys[lengths == n] = pack_chars(codes, starts[lengths == n], n)
        columns = np.fromiter(vocabulary.values(), dtype=np.int64, count=len(vocabulary))
        self.index = _KeyIndex(keys, columns)
        self.width = len(vocabulary)
        self.idf = np.asarray(vectorizer.idf_, dtype=np.float64)
        self.sublinear = vectorizer.sublinear_tf

    def counts(self, texts: Sequence[str]) -> _Block:
        lengths = np.fromiter(map(len, texts), dtype=np.int64, count=len(texts))
        codes = code_points("".join(texts))
        docs, found = [], []
        for n, starts, doc in ngram_positions(lengths, range(self.low, self.high + 1)):
            found.append(pack_chars(codes, starts, n))
            docs.append(doc)
        columns = self.index.find(np.concatenate(found))
        known = columns >= 0
        return _count_matrix(np.concatenate(docs)[known], columns[known], self.width)


class _WordBlock:
    """Word n-gram TF-IDF of one fitted vectorizer, with its own tokenizer.

    Each token becomes a word id with one dict lookup (in C, through map); an n-gram of ids becomes
    one integer, looked up for a whole batch in a _KeyIndex."""

    def __init__(self, vectorizer: TfidfVectorizer) -> None:
        self.low, self.high = vectorizer.ngram_range
        self.tokenizer = vectorizer.tokenizer
        vocabulary: dict[str, int] = vectorizer.vocabulary_
        grams = [gram.split(" ") for gram in vocabulary]  # tokens hold no spaces
        self.word_ids: dict[str, int] = {}
        for words in grams:
            for word in words:
                self.word_ids.setdefault(word, len(self.word_ids))
        self.base = max(len(self.word_ids), 1)
        by_length: dict[int, tuple[list[int], list[int]]] = {}
        for words, column in zip(grams, vocabulary.values(), strict=True):
            keys, columns = by_length.setdefault(len(words), ([], []))
            keys.append(self._key(words))
            columns.append(column)
        self.lookup = {
            n: _KeyIndex(np.asarray(keys, dtype=np.uint64), np.asarray(columns, dtype=np.int64))
            for n, (keys, columns) in by_length.items()
        }
        self.width = len(vocabulary)
        self.idf = np.asarray(vectorizer.idf_, dtype=np.float64)
        self.sublinear = vectorizer.sublinear_tf

    def _key(self, words: Sequence[str]) -> int:
        key = 0
        for word in words:
            key = key * self.base + self.word_ids[word]
        return key

    def counts(self, texts: Sequence[str]) -> _Block:
        tokens = [self.tokenizer(text) for text in texts]
        lengths = np.fromiter(map(len, tokens), dtype=np.int64, count=len(tokens))
        every = itertools.chain.from_iterable(tokens)
        ids = np.fromiter(map(self.word_ids.get, every, itertools.repeat(-1)), dtype=np.int64, count=int(lengths.sum()))
        rows, cols = [np.zeros(0, dtype=np.int64)], [np.zeros(0, dtype=np.int64)]
        for n, starts, doc_of_start in ngram_positions(lengths, list(self.lookup)):
            index = self.lookup[n]
            key = np.zeros(len(starts), dtype=np.int64)
            known = np.ones(len(starts), dtype=bool)
            for k in range(n):
                part = ids[starts + k]
                known &= part >= 0  # a word outside every gram of the vocabulary
                key = key * self.base + part
            found = index.find(key[known].astype(np.uint64))
            hit = found >= 0
            rows.append(doc_of_start[known][hit])
            cols.append(found[hit])
        return _count_matrix(np.concatenate(rows), np.concatenate(cols), self.width)


class _KeyIndex:
    """Integer keys -> columns for a whole batch of lookups at once: an open-addressing hash table
    (linear probing) in numpy arrays. One or two random reads a lookup, where `searchsorted` on
    150,000 sorted keys made seventeen."""

    _MULTIPLIER = np.uint64(0x9E3779B97F4A7C15)  # Fibonacci hashing

    def __init__(self, keys: np.ndarray, columns: np.ndarray) -> None:
        bits = max(4, int(np.ceil(np.log2(max(len(keys), 1) * 4))))  # at most a quarter full
        self.shift, self.mask = np.uint64(64 - bits), (1 << bits) - 1
        self.keys = np.zeros(1 << bits, dtype=np.uint64)
        self.columns = np.full(1 << bits, -1, dtype=np.int64)  # -1: an empty slot
        pending, slot = np.arange(len(keys)), self._home(keys)
        while len(pending):
            # every key tries its slot; of those wanting the same free slot the first takes it, the
            # rest move one on: every slot between a key's home and its place is taken
            free = self.columns[slot] < 0
            taken, first = np.unique(slot[free], return_index=True)
            winners = pending[free][first]
            self.keys[taken], self.columns[taken] = keys[winners], columns[winners]
            placed = np.zeros(len(pending), dtype=bool)
            placed[np.flatnonzero(free)[first]] = True
            pending, slot = pending[~placed], (slot[~placed] + 1) & self.mask

    def _home(self, keys: np.ndarray) -> np.ndarray:
        return ((keys * self._MULTIPLIER) >> self.shift).astype(np.int64)

    def find(self, queries: np.ndarray) -> np.ndarray:
        """The column of each query key, or -1."""
        found = np.full(len(queries), -1, dtype=np.int64)
        active, slot = np.arange(len(queries)), self._home(queries)
        while len(active):
            columns = self.columns[slot]
            occupied = columns >= 0
            same = (self.keys[slot] == queries[active]) & occupied
            found[active[same]] = columns[same]
            going_on = occupied & ~same  # an empty slot ends the search: the key is not there
            active, slot = active[going_on], (slot[going_on] + 1) & self.mask
        return found


def _count_matrix(rows: np.ndarray, cols: np.ndarray, width: int) -> _Block:
    """Term counts per (row, column), sorted by row then column, as flat arrays."""
    keys, counts = np.unique(rows.astype(np.int64) * max(width, 1) + cols, return_counts=True)
    return _Block(keys // max(width, 1), keys % max(width, 1), counts.astype(np.float64))


class _Block:
    """One vectorizer's sparse output for a batch, as parallel arrays (no scipy object per step)."""

    def __init__(self, rows: np.ndarray, cols: np.ndarray, data: np.ndarray) -> None:
        self.rows, self.cols, self.data = rows, cols, data


def _tfidf(block: _CharBlock | _WordBlock, counts: _Block, n_rows: int) -> _Block:
    """TfidfTransformer.transform on flat arrays: sublinear tf, times idf, rows scaled to unit length."""
    data = counts.data
    if block.sublinear:
        np.log(data, data)
        data += 1
    data *= block.idf[counts.cols]
    norms = np.sqrt(np.bincount(counts.rows, weights=data * data, minlength=n_rows))
    data /= norms[counts.rows]  # every row present here has a positive norm
    return counts


class FastScorer:
    """Features and class probabilities of a fitted Pipeline, without its Python n-gram loops."""

    def __init__(self, pipeline: Pipeline) -> None:
        union: FeatureUnion = pipeline.named_steps["features"]
        classifier: LogisticRegression = pipeline.named_steps["classifier"]
        self.blocks = [_CharBlock(v) if v.analyzer == "char" else _WordBlock(v) for _, v in union.transformer_list]
        self.coef = np.asarray(classifier.coef_, dtype=np.float64).T
        self.intercept = np.asarray(classifier.intercept_, dtype=np.float64)
        self.classes = list(classifier.classes_)

    @staticmethod
    def supports(pipeline: Any) -> bool:
        """True when the Pipeline has exactly the shape this path reproduces."""
        try:
            union = pipeline.named_steps["features"]
            classifier = pipeline.named_steps["classifier"]
            normalizer = pipeline.named_steps["normalize"]
        except (AttributeError, KeyError):
            return False
        if not isinstance(classifier, LogisticRegression) or len(classifier.classes_) < 3:
            return False
        if getattr(normalizer, "func", None) is None or normalizer.func.__name__ != "normalize_all":
            return False
        for _, v in union.transformer_list:
            if not isinstance(v, TfidfVectorizer) or v.lowercase or v.norm != "l2" or not v.use_idf:
                return False
            if v.analyzer == "char":
                if v.ngram_range[1] > MAX_PACKED_CHARS:  # a longer gram would not fit in one uint64
                    return False
                continue
            if v.analyzer != "word" or v.tokenizer is None or v.preprocessor is not None or v.stop_words:
                return False
            # an n-gram of word ids must fit in an int64 (at most n × vocabulary size distinct words)
            high = v.ngram_range[1]
            if (high * len(v.vocabulary_) + 1) ** high >= 2**62:
                return False
        return len(pipeline.steps) == 3

    def features(self, normalized: Sequence[str]) -> sparse.csr_matrix:
        """The FeatureUnion's output for texts that are already normalised.

        Built from flat arrays: for one text, scipy's per-operation overhead (a diagonal idf matrix,
        hstack, format conversions) cost several times the arithmetic."""
        n_rows, offset = len(normalized), 0
        rows, cols, data = [], [], []
        for block in self.blocks:
            part = _tfidf(block, block.counts(normalized), n_rows)
            rows.append(part.rows)
            cols.append(part.cols + offset)
            data.append(part.data)
            offset += max(block.width, 1)
        all_rows = np.concatenate(rows)
        # blocks are each sorted by (row, column) and later blocks have larger columns: a stable sort
        # by row alone gives the CSR order
        order = np.argsort(all_rows, kind="stable")
        indptr = np.zeros(n_rows + 1, dtype=np.int64)
        np.cumsum(np.bincount(all_rows, minlength=n_rows), out=indptr[1:])
        return sparse.csr_matrix(
            (np.concatenate(data)[order], np.concatenate(cols)[order], indptr), shape=(n_rows, offset)
        )

    def probabilities(self, features: sparse.csr_matrix) -> np.ndarray:
        """Multinomial logistic regression: softmax of the linear scores, in `classes` order."""
        scores = np.asarray(features @ self.coef) + self.intercept
        scores -= scores.max(axis=1, keepdims=True)
        np.exp(scores, scores)
        return np.asarray(scores / scores.sum(axis=1, keepdims=True))

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        return self.probabilities(self.features([normalize(t) for t in texts]))
