"""The stock tokenizer for the baseline pipeline: plain jieba.lcut, importable so the Pipeline pickles."""

import jieba


def jieba_tokens(text: str) -> list[str]:
    return jieba.lcut(text)
