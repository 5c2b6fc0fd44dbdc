"""Data tier: the labelled corpus and the user dictionary meet the data card's promises."""

from __future__ import annotations

import csv
import statistics
from collections import Counter, defaultdict

import pytest

from classifier.config import DEFAULT_CORPUS, USERDICT
from classifier.corpus import DOMAINS, VOICES, near_duplicates
from classifier.labels import LABEL_CODES


@pytest.fixture(scope="module")
def rows() -> list[dict[str, str]]:
    with DEFAULT_CORPUS.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        assert reader.fieldnames == ["id", "text", "label", "domain", "voice"]
        return list(reader)


def test_labels_domains_and_voices_are_known(rows: list[dict[str, str]]) -> None:
    assert {r["label"] for r in rows} == set(LABEL_CODES)
    assert {r["domain"] for r in rows} <= DOMAINS
    assert {r["voice"] for r in rows} <= VOICES


def test_no_empty_or_duplicate_ids_or_texts(rows: list[dict[str, str]]) -> None:
    ids = [r["id"] for r in rows]
    texts = ["".join(r["text"].split()) for r in rows]
    assert all(ids) and all(texts)
    assert len(set(ids)) == len(ids)
    assert len(set(texts)) == len(texts)


def test_no_near_duplicates(rows: list[dict[str, str]]) -> None:
    pairs = near_duplicates([r["text"] for r in rows], threshold=0.5)
    assert [(rows[i]["id"], rows[j]["id"], round(s, 2)) for i, j, s in pairs] == []


def test_size_and_balance(rows: list[dict[str, str]]) -> None:
    counts = Counter(r["label"] for r in rows)
    assert len(rows) >= 2400
    assert min(counts.values()) >= 600, counts


def test_domain_and_voice_coverage(rows: list[dict[str, str]]) -> None:
    domains_of, voices_of = defaultdict(set), defaultdict(set)
    for r in rows:
        domains_of[r["label"]].add(r["domain"])
        voices_of[r["label"]].add(r["voice"])
    assert len({r["domain"] for r in rows}) >= 20
    assert len({r["voice"] for r in rows}) >= 6
    for label in LABEL_CODES:
        assert len(domains_of[label]) >= 12, (label, domains_of[label])
        assert len(voices_of[label]) >= 5, (label, voices_of[label])


def test_lengths_look_like_real_texts(rows: list[dict[str, str]]) -> None:
    lengths = [len(r["text"]) for r in rows]
    assert statistics.median(lengths) >= 120
    assert sum(n > 250 for n in lengths) / len(lengths) >= 0.20
    assert min(lengths) >= 15 and max(lengths) <= 1500


def test_user_dictionary_has_enough_unique_terms() -> None:
    terms = [line.split()[0] for line in USERDICT.read_text(encoding="utf-8").splitlines() if line.strip()]
    assert len(terms) >= 200
    assert len(set(terms)) == len(terms)
