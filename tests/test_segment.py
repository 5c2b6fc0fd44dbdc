"""Code tier: the jieba tokenizer."""

from __future__ import annotations

import pickle

from classifier import segment
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
