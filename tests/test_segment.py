"""Code tier: the jieba tokenizer."""

from __future__ import annotations

import csv
import pickle
from pathlib import Path

import pytest

from classifier import segment
from classifier.config import DEFAULT_CORPUS
from classifier.normalize import normalize
from classifier.segment import cut, tokenize, tokenize_without_userdict


def test_user_dictionary_keeps_domain_terms_whole() -> None:
    tokens = tokenize("他们推诿扯皮，一直不敢签字，矛盾上交")
    assert "推诿扯皮" in tokens and "不敢签字" in tokens and "矛盾上交" in tokens


def test_without_user_dictionary_the_same_terms_split() -> None:
    assert "推诿扯皮" not in tokenize_without_userdict("他们推诿扯皮")


def test_punctuation_and_spaces_are_dropped() -> None:
    assert tokenize("好，不 好！") == ["好", "不", "好"]


def test_cut_keeps_every_character() -> None:
    text = "市民来电反映：A市B区某某小区，电话PHONE。"
    assert "".join(cut(text)) == text


def test_tokenizer_pickles_by_import_path() -> None:
    restored = pickle.loads(pickle.dumps(tokenize))
    assert restored is tokenize


def test_dictionary_loads_once_per_backend() -> None:
    first = segment.segmenter()
    assert segment.segmenter() is first


def test_segmenter_can_be_switched_to_jieba(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BUWEI_SEGMENTER", "jieba")
    assert segment.backend_name() == "jieba"
    monkeypatch.delenv("BUWEI_SEGMENTER")
    assert segment.backend_name() == "rjieba"


def test_tie_prone_repeated_runs_go_to_jieba() -> None:
    text = "急急急，求救声声声都不管用"
    assert cut(text, backend="rjieba") == cut(text, backend="jieba")


def _assert_same_tokens(texts: list[str], dictionaries: tuple[bool, ...] = (True, False)) -> None:
    for with_userdict in dictionaries:
        differing = [
            t[:30]
            for t in texts
            if cut(t, with_userdict=with_userdict, backend="rjieba")
            != cut(t, with_userdict=with_userdict, backend="jieba")
        ]
        assert differing == [], f"{len(differing)} texts differ (userdict={with_userdict})"


@pytest.mark.slow
def test_rjieba_reproduces_jieba_on_the_corpus() -> None:
    with DEFAULT_CORPUS.open(encoding="utf-8", newline="") as handle:
        texts = [normalize(row["text"]) for row in csv.DictReader(handle)]
    _assert_same_tokens(texts)


@pytest.mark.slow
def test_rjieba_reproduces_jieba_on_the_real_messages(real_messages: Path) -> None:
    with real_messages.open(encoding="utf-8", newline="") as handle:
        texts = [normalize(f"{row['title']}\n{row['text']}") for row in csv.DictReader(handle)]
    assert len(texts) > 10_000
    _assert_same_tokens(texts, dictionaries=(True,))  # the default model's tokenizer
