"""Counting every term of every text as a fitted TfidfVectorizer's analysers would, fast, and what
a vectorizer learns from those counts.

scikit-learn's analysers build each n-gram as a Python string and count it in a dict; here character
n-grams are packed integers and word n-grams are token ids, counted with numpy. From the counts
follow the vocabulary (min_df, max_features with the vectorizer's own tie order) and the idf that
fitting would learn. Used by cross-validation (classifier/folds.py) and by the Pipeline's own
vectorizers (classifier/pipeline.py); tests prove both equal scikit-learn's results.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from numbers import Integral

import numpy as np
from scipy import sparse
from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer
from sklearn.preprocessing import normalize as normalize_rows


@dataclass
class LearnedTerms:
    """What a vectorizer learns from some texts: its columns of the full counts, and their idf."""

    columns: np.ndarray
    idf: np.ndarray


BITS = 21  # a code point fits in 21 bits: three characters fit in one uint64
MAX_PACKED_CHARS = 3
_WHITE_SPACES = re.compile(r"\s\s+")  # what scikit-learn's character analyser folds to one space


def code_points(text: str) -> np.ndarray:
    """The text's code points as uint64 (surrogatepass: a lone surrogate counts as its own value)."""
    return np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32).astype(np.uint64)


def ngram_positions(lengths: np.ndarray, sizes: Sequence[int]) -> Iterator[tuple[int, np.ndarray, np.ndarray]]:
    """For sequences of `lengths` laid end to end: for each n in `sizes`, where every n-gram starts and
    which sequence it belongs to. No n-gram crosses into the next sequence."""
    doc_of = np.repeat(np.arange(len(lengths)), lengths)
    end_of = np.repeat(np.cumsum(lengths), lengths)  # where each position's sequence ends
    for n in sizes:
        starts = np.arange(max(len(doc_of) - n + 1, 0))
        starts = starts[starts + n <= end_of[starts]]
        yield n, starts, doc_of[starts]


def pack_chars(codes: np.ndarray, starts: np.ndarray, n: int) -> np.ndarray:
    """The n-grams of `codes` at `starts` as integers, packed left-aligned: the first character in the
    highest bits and zeros after a short gram, so that numeric order is string order."""
    key = np.zeros(len(starts), dtype=np.uint64)
    for k in range(MAX_PACKED_CHARS):
        key <<= np.uint64(BITS)
        if k < n:
            key |= codes[starts + k]
    return key


def count_terms(vectorizer: TfidfVectorizer, texts: Sequence[str]) -> tuple[sparse.csr_matrix, list[str]]:
    """Counts of every term (no min_df, no max_features) in every text, columns in sorted term order,
    as float32 CSR; and the terms.

    The vectorizer's own analysers, made fast with numpy for the two shapes the Pipeline uses; any
    other configuration is counted by scikit-learn itself."""
    plain = vectorizer.preprocessor is None and not vectorizer.lowercase and vectorizer.strip_accents is None
    low, high = vectorizer.ngram_range
    if plain and vectorizer.analyzer == "char" and high <= MAX_PACKED_CHARS:
        return _count_chars(texts, low, high)
    if plain and vectorizer.analyzer == "word" and callable(vectorizer.tokenizer) and vectorizer.stop_words is None:
        tokens = [vectorizer.tokenizer(t) for t in texts]
        distinct = len({token for words in tokens for token in words})
        # "a b" must name one gram only, and an n-gram's number must fit in 63 bits
        if not any(" " in token for words in tokens for token in words) and (distinct + 1) ** high * (high + 1) < 2**62:
            return _count_words(tokens, low, high)
    own = CountVectorizer().get_params()
    counter = CountVectorizer(
        **{key: value for key, value in vectorizer.get_params().items() if key in own},
    ).set_params(min_df=1, max_df=1.0, max_features=None)
    counts = sparse.csr_matrix(counter.fit_transform(texts))
    vocabulary: dict[str, int] = counter.vocabulary_
    terms = sorted(vocabulary)
    order = np.fromiter((vocabulary[t] for t in terms), dtype=np.int64, count=len(terms))
    return sparse.csr_matrix(counts[:, order]), terms


def _count_matrix(docs: np.ndarray, term_ids: np.ndarray, n_docs: int, n_terms: int) -> sparse.csr_matrix:
    keys, counts = np.unique(docs * max(n_terms, 1) + term_ids, return_counts=True)
    rows, cols = np.divmod(keys, max(n_terms, 1))
    indptr = np.zeros(n_docs + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows, minlength=n_docs), out=indptr[1:])
    return sparse.csr_matrix((counts.astype(np.float32), cols, indptr), shape=(n_docs, n_terms))


def _count_chars(texts: Sequence[str], low: int, high: int) -> tuple[sparse.csr_matrix, list[str]]:
    """scikit-learn's char analyser on packed integers. A gram is packed left-aligned (its first
    character in the highest bits, zeros after a short gram), so numeric order is string order."""
    folded = [_WHITE_SPACES.sub(" ", t) for t in texts]
    lengths = np.fromiter(map(len, folded), dtype=np.int64, count=len(folded))
    codes = code_points("".join(folded))
    keys, docs = [], []
    for n, starts, doc in ngram_positions(lengths, range(low, high + 1)):
        keys.append(pack_chars(codes, starts, n))
        docs.append(doc)
    grams, term_ids = np.unique(np.concatenate(keys), return_inverse=True)
    matrix = _count_matrix(np.concatenate(docs), term_ids.ravel(), len(folded), len(grams))
    width = MAX_PACKED_CHARS
    shifts = [np.uint64(BITS * (width - 1 - k)) for k in range(width)]
    spread = np.stack([(grams >> shift) & np.uint64((1 << BITS) - 1) for shift in shifts], axis=1)
    joined = spread.astype(np.uint32).tobytes().decode("utf-32-le", "surrogatepass")
    terms = [joined[i : i + width].rstrip("\x00") for i in range(0, len(joined), width)]
    return matrix, terms


def _count_words(tokens: list[list[str]], low: int, high: int) -> tuple[sparse.csr_matrix, list[str]]:
    """scikit-learn's word n-grams (tokens joined by one space), counted on token ids with numpy."""
    ids: dict[str, int] = {}
    flat = np.fromiter(
        (ids.setdefault(w, len(ids)) for words in tokens for w in words),
        dtype=np.int64,
        count=sum(map(len, tokens)),
    )
    lengths = np.fromiter(map(len, tokens), dtype=np.int64, count=len(tokens))
    vocabulary_size = max(len(ids), 1)
    keys, docs, sizes = [], [], []
    for n, starts, doc in ngram_positions(lengths, range(low, high + 1)):
        key = np.zeros(len(starts), dtype=np.int64)
        for k in range(n):  # an n-gram of word ids as one number in base vocabulary_size
            key = key * vocabulary_size + flat[starts + k]
        keys.append(key)
        docs.append(doc)
        sizes.append(np.full(len(starts), n))
    # grams of different lengths may share a number: the length goes into the lowest digit
    tagged = np.concatenate(keys) * (high + 1) + np.concatenate(sizes)
    grams, gram_ids = np.unique(tagged, return_inverse=True)
    words_by_id = list(ids)
    names = []
    for tag in grams.tolist():
        key, size = divmod(tag, high + 1)
        parts = []
        for _ in range(size):
            key, last = divmod(key, vocabulary_size)
            parts.append(words_by_id[last])
        names.append(" ".join(reversed(parts)))
    order = sorted(range(len(names)), key=names.__getitem__)
    column_of = np.empty(len(order), dtype=np.int64)
    column_of[order] = np.arange(len(order))
    matrix = _count_matrix(np.concatenate(docs), column_of[gram_ids.ravel()], len(tokens), len(names))
    return matrix, [names[i] for i in order]


def learn_terms(vectorizer: TfidfVectorizer, all_counts: sparse.csr_matrix, rows: np.ndarray) -> LearnedTerms:
    """The vocabulary and idf `vectorizer` would learn from the texts `rows` of `all_counts`.

    Mirrors CountVectorizer._limit_features and TfidfTransformer.fit step by step (same dtypes, same
    sort), so that ties at the max_features cut fall the same way."""
    counts = all_counts[rows]
    dfs = np.bincount(counts.indices, minlength=counts.shape[1])
    seen = np.flatnonzero(dfs)  # the terms the fold's own vectorizer would meet, in sorted order
    dfs = dfs[seen]
    n_docs = counts.shape[0]
    min_df, max_df = vectorizer.min_df, vectorizer.max_df
    keep = dfs >= (int(min_df) if isinstance(min_df, Integral) else float(min_df) * n_docs)
    keep &= dfs <= (int(max_df) if isinstance(max_df, Integral) else float(max_df) * n_docs)
    limit = vectorizer.max_features
    if limit is not None and keep.sum() > limit:
        term_totals = np.asarray(counts[:, seen].sum(axis=0)).ravel()
        strongest = (-term_totals[keep]).argsort()[:limit]
        limited = np.zeros(len(dfs), dtype=bool)
        limited[np.flatnonzero(keep)[strongest]] = True
        keep = limited
    columns = seen[keep]
    df = dfs[keep].astype(counts.dtype)
    smooth = float(vectorizer.smooth_idf)
    idf = np.full_like(df, fill_value=n_docs + int(vectorizer.smooth_idf))
    idf /= df + smooth
    np.log(idf, out=idf)
    idf += 1.0
    return LearnedTerms(columns, idf)


def tfidf_rows(
    vectorizer: TfidfVectorizer, all_counts: sparse.csr_matrix, learned: LearnedTerms, rows: np.ndarray
) -> sparse.csr_matrix:
    """TF-IDF of the texts `rows`, as `vectorizer` would transform them after learning `learned`."""
    matrix = sparse.csr_matrix(all_counts[rows][:, learned.columns])
    if vectorizer.sublinear_tf:
        np.log(matrix.data, matrix.data)
        matrix.data += 1.0
    if vectorizer.use_idf:
        matrix.data *= learned.idf[matrix.indices]
    if vectorizer.norm is not None:
        matrix = normalize_rows(matrix, norm=vectorizer.norm, copy=False)
    return sparse.csr_matrix(matrix)
