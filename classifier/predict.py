"""Prediction: labels, calibrated probabilities, a review flag and readable evidence.

`Predictor` is built once (from a verified bundle) and reused by the CLI, batch labelling and the API.
"""

from __future__ import annotations

import bisect
import os
import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
from scipy import sparse

from classifier.bundle import Bundle, load_bundle
from classifier.errors import BadInputError
from classifier.evaluation import apply_temperature
from classifier.fastpath import FastScorer
from classifier.labels import LABEL_CODES, LABEL_ZH
from classifier.normalize import normalize
from classifier.pipeline import linear_weights
from classifier.segment import load_segmenters, tokenize

EVIDENCE_TERMS = 6
EVIDENCE_FEATURES_PER_TERM = 8
# Placeholders, numbers, anonymised place codes (A市, K8县) and lone characters explain nothing to a
# reader, whatever their weight; a few single characters do carry a cause and stay.
_NOT_EVIDENCE = {"PHONE", "IDNO", "CARD", "EMAIL", "URL", "NUM", "MASKED"}
_MEANINGFUL_SINGLE = set("怕拖推懒躲慌懂等催卡混")
_NOISE_TERM = re.compile(r"^[A-Za-z0-9.%]*[A-Za-z0-9][A-Za-z0-9.%]*[市区县镇村乡省号年月日元次个]?$")


@lru_cache(maxsize=65_536)
def _readable(term: str) -> bool:
    if term in _NOT_EVIDENCE or _NOISE_TERM.match(term):
        return False
    return len(term) > 1 or term in _MEANINGFUL_SINGLE


@dataclass
class Prediction:
    label: str
    confidence: float
    probabilities: dict[str, float]
    second_label: str
    needs_review: bool
    evidence: list[dict[str, Any]] = field(default_factory=list)
    model_version: str = ""

    @property
    def label_zh(self) -> str:
        return LABEL_ZH[self.label]

    def to_dict(self) -> dict[str, Any]:
        """The result shape of PRODUCT.md, shared by the CLI and the API."""
        return {
            "label": self.label,
            "label_zh": self.label_zh,
            "confidence": self.confidence,
            "probabilities": self.probabilities,
            "second_label": self.second_label,
            "needs_review": self.needs_review,
            "evidence": self.evidence,
            "model_version": self.model_version,
        }


@dataclass(frozen=True)
class Thresholds:
    """needs_review when confidence < min_confidence or top-two gap < min_margin."""

    min_confidence: float = 0.6
    min_margin: float = 0.2

    @classmethod
    def from_manifest(cls, manifest: dict[str, Any]) -> Thresholds:
        found = manifest.get("thresholds", {})
        return cls(float(found.get("min_confidence", 0.6)), float(found.get("min_margin", 0.2)))

    def flags(self, confidence: float, margin: float) -> bool:
        return confidence < self.min_confidence or margin < self.min_margin


class Predictor:
    """A loaded model with its manifest; thread-safe for prediction."""

    def __init__(
        self, model: Any, manifest: dict[str, Any], path: Path | None = None, priors: str | None = None
    ) -> None:
        self.model = model
        self.manifest = manifest
        self.path = path
        self.version = str(manifest.get("version", ""))
        self.thresholds = Thresholds.from_manifest(manifest)
        self.temperature = float(manifest.get("temperature", 1.0))
        self.prior_weights = _prior_weights(manifest, priors if priors is not None else os.environ.get("BUWEI_PRIORS"))
        classes = list(model.classes_)
        if sorted(classes) != sorted(LABEL_CODES):
            # a model trained on a corpus missing a label cannot answer in the contract's shape
            missing = sorted(set(LABEL_CODES) - set(classes))
            raise ValueError(f"model lacks labels {missing}")
        self._order = [classes.index(code) for code in LABEL_CODES]
        # The fast path reproduces the Pipeline exactly (tests prove it); BUWEI_FASTPATH=0 turns it off.
        use_fast = os.environ.get("BUWEI_FASTPATH", "1") != "0" and FastScorer.supports(model)
        self._fast = FastScorer(model) if use_fast else None
        self._names = _FeatureNames(model.named_steps["features"])
        # Evidence is read from word n-grams when the model has them: whole words, and cheap to map.
        self._evidence_columns = self._names.columns_of("word")
        weights = linear_weights(model.named_steps["classifier"])[self._order]
        # Relative weights: what pushes a class up against the average class.
        self._relative = (weights - weights.mean(axis=0, keepdims=True)).astype(np.float32)

    @classmethod
    def load(cls, version_or_path: str | Path | None = None, priors: str | None = None) -> Predictor:
        bundle: Bundle = load_bundle(version_or_path)
        return cls(bundle.model, bundle.manifest, bundle.path, priors)

    def probabilities(self, texts: Sequence[str]) -> np.ndarray:
        """(n, 4) probabilities in LABEL_CODES order."""
        return self._scores([normalize(t) for t in texts], list(texts))[1]

    def _scores(self, normalized: list[str], texts: list[str]) -> tuple[sparse.csr_matrix, np.ndarray]:
        """Feature rows and probabilities (LABEL_CODES order), by the fast path when the model allows."""
        if self._fast is not None:
            features = self._fast.features(normalized)
            proba = self._fast.probabilities(features)
        else:
            features = sparse.csr_matrix(self.model[:-1].transform(texts))
            proba = np.asarray(self.model[-1].predict_proba(features))
        proba = apply_temperature(proba[:, self._order], self.temperature)
        if self.prior_weights is not None:
            proba = proba * self.prior_weights
            proba /= proba.sum(axis=1, keepdims=True)
        return features, proba

    def predict(self, texts: Sequence[str], evidence_terms: int = EVIDENCE_TERMS) -> list[Prediction]:
        if not texts:
            return []
        texts = list(texts)
        normalized = [normalize(t) for t in texts]
        features, proba = self._scores(normalized, texts)
        ranked = np.argsort(-proba, axis=1)
        if evidence_terms:
            # every feature's push toward its text's label, for the whole batch at once
            row_of = np.repeat(ranked[:, 0], np.diff(features.indptr))
            pushes = features.data * self._relative[row_of, features.indices]
            usable = self._evidence_columns[features.indices]
        results = []
        for row, probs in enumerate(proba):
            best, second = int(ranked[row, 0]), int(ranked[row, 1])
            confidence = float(probs[best])
            margin = confidence - float(probs[second])
            span = slice(features.indptr[row], features.indptr[row + 1])
            evidence = (
                self._evidence(features.indices[span], pushes[span], usable[span], normalized[row], evidence_terms)
                if evidence_terms
                else []
            )
            results.append(
                Prediction(
                    label=LABEL_CODES[best],
                    confidence=round(confidence, 4),
                    probabilities={code: round(float(p), 4) for code, p in zip(LABEL_CODES, probs, strict=False)},
                    second_label=LABEL_CODES[second],
                    needs_review=self.thresholds.flags(confidence, margin),
                    evidence=evidence,
                    model_version=self.version,
                )
            )
        return results

    def predict_one(self, text: str) -> Prediction:
        return self.predict([text])[0]

    def warm_up(self) -> None:
        """Load the segmenters now (jieba takes ~1 s), e.g. once before forking labelling workers."""
        load_segmenters()

    def _evidence(
        self, indices: np.ndarray, pushes: np.ndarray, usable: np.ndarray, text: str, limit: int
    ) -> list[dict[str, Any]]:
        """Terms that pushed this text toward its label, as whole words where possible.

        `pushes`: each feature's value times its relative weight for the label; `usable`: the features
        evidence may come from. Only the strongest features are mapped back to words (a long text has
        thousands of n-grams, and the weakest cannot reach the top of the list)."""
        indices, contributions = indices[usable], pushes[usable]
        strongest = np.argsort(-contributions)[: EVIDENCE_FEATURES_PER_TERM * limit]
        strongest = strongest[contributions[strongest] > 0]
        if not len(strongest):
            return []
        spans: tuple[list[int], list[int]] | None = None
        totals: dict[str, float] = defaultdict(float)
        for column, value in zip(indices[strongest].tolist(), contributions[strongest].tolist(), strict=True):
            kind, gram, joined, words = self._names.describe(column)
            if kind == "word":
                # a bigram across punctuation is not a substring: credit its words instead
                terms = (joined,) if joined in text else words
            else:
                spans = spans or _token_spans(text, tokenize(text))
                terms = (_covering_words(gram, text, *spans),)
            share = value / len(terms)
            for term in terms:
                if term and _readable(term):
                    totals[term] += share
        # rounded weight first, then the term: ties read the same whichever path computed them
        best = sorted(totals.items(), key=lambda item: (-round(item[1], 4), item[0]))[:limit]
        return [{"term": term, "weight": round(weight, 4)} for term, weight in best]


class _FeatureNames:
    """Column -> (vectorizer name, term) for a fitted FeatureUnion of vectorizers.

    Cheaper than get_feature_names_out(), which builds 300,000 prefixed strings at every load."""

    def __init__(self, union: Any) -> None:
        self.kinds: list[str] = []
        self.terms: list[list[str]] = []
        self.offsets = [0]
        self._described: dict[int, tuple[str, str, str, tuple[str, ...]]] = {}  # bounded by the columns
        for kind, vectorizer in union.transformer_list:
            vocabulary: dict[str, int] = vectorizer.vocabulary_
            terms = [""] * len(vocabulary)
            for term, column in vocabulary.items():
                terms[column] = term
            self.kinds.append(kind)
            self.terms.append(terms)
            self.offsets.append(self.offsets[-1] + len(terms))

    def __getitem__(self, column: int) -> tuple[str, str]:
        block = bisect.bisect_right(self.offsets, column) - 1
        return self.kinds[block], self.terms[block][column - self.offsets[block]]

    def describe(self, column: int) -> tuple[str, str, str, tuple[str, ...]]:
        """(kind, term, the term without spaces, its words): what evidence needs, worked out once."""
        found = self._described.get(column)
        if found is None:
            kind, term = self[column]
            found = self._described[column] = (kind, term, term.replace(" ", ""), tuple(term.split(" ")))
        return found

    def columns_of(self, kind: str) -> np.ndarray:
        """A mask of the columns of vectorizer `kind`; every column when there is no such vectorizer."""
        mask = np.zeros(self.offsets[-1], dtype=bool)
        for block, name in enumerate(self.kinds):
            if name == kind:
                mask[self.offsets[block] : self.offsets[block + 1]] = True
        return mask if mask.any() else np.ones(self.offsets[-1], dtype=bool)


def parse_priors(spec: str) -> dict[str, float]:
    """'other=0.7,unwilling=0.25,afraid=0.03,unable=0.02' -> shares that sum to 1 (all four labels)."""
    shares: dict[str, float] = {}
    for part in spec.replace("，", ",").split(","):
        code, sep, value = part.partition("=")
        try:
            share = float(value)
        except ValueError:
            share = -1.0
        if not sep or code.strip() not in LABEL_CODES or share <= 0:
            raise BadInputError(
                f"先验比例格式不对：{part.strip()!r}，应为 label=比例，例如 other=0.7",
                f"bad prior {part.strip()!r}: use label=share for all four labels, e.g. other=0.7",
            )
        shares[code.strip()] = share
    if set(shares) != set(LABEL_CODES):
        raise BadInputError(
            f"先验比例必须给出全部四个标签：{list(LABEL_CODES)}",
            f"priors must name all four labels: {list(LABEL_CODES)}",
        )
    total = sum(shares.values())
    return {code: shares[code] / total for code in LABEL_CODES}


def _prior_weights(manifest: dict[str, Any], spec: str | None) -> np.ndarray | None:
    """Bayes' rule for a deployment whose label mix differs from the balanced training corpus:
    multiply each probability by (expected share / training share) and renormalise."""
    if not spec:
        return None
    wanted = parse_priors(spec)
    counts = manifest.get("data", {}).get("label_counts") or {code: 1 for code in LABEL_CODES}
    total = sum(counts.values())
    return np.asarray([wanted[c] / (counts.get(c, 1) / total) for c in LABEL_CODES])


def _token_spans(text: str, tokens: list[str]) -> tuple[list[int], list[int]]:
    starts, ends, pos = [], [], 0
    for token in tokens:
        found = text.find(token, pos)
        if found < 0:
            continue
        starts.append(found)
        ends.append(found + len(token))
        pos = found + len(token)
    return starts, ends


def _covering_words(gram: str, text: str, starts: list[int], ends: list[int]) -> str:
    """The run of whole words that covers the first place a character n-gram occurs."""
    at = text.find(gram)
    first = bisect.bisect_right(ends, at)  # first word ending after the gram starts
    last = bisect.bisect_left(starts, at + len(gram)) - 1  # last word starting before it ends
    if at < 0 or first > last:
        return gram.strip()
    return text[starts[first] : ends[last]].strip()
