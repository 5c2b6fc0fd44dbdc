"""Property tests: any text or file in gives a result or one clear error, never a crash or a hang."""

from __future__ import annotations

import signal
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from classifier.errors import BadInputError
from classifier.normalize import normalize
from classifier.pii import mask_pii
from classifier.segment import cut, tokenize
from classifier.tables import iter_rows, scan_table

TEXT = st.text(alphabet=st.characters(codec="utf-8"), max_size=400)
DIGITY = st.text(alphabet="0123456789 -+*xX@.天电话", max_size=80)


@settings(max_examples=300, deadline=None)
@given(TEXT)
def test_normalize_is_total_and_idempotent(text: str) -> None:
    once = normalize(text)
    assert isinstance(once, str)
    assert normalize(once) == once
    assert once == once.strip() and "  " not in once


NUMBERY = st.text(alphabet="0123456789 -+*\n\txX@.年月日:/wWhtps电话", max_size=30)
NUMBER_PIECES = st.sampled_from(
    ["13812345678", "138-1234-5678", "+86 138 1234 5678", "0086-13912345678", "138****5678", "0731-1234567",
     "010-12345678", "11010519491231002X", "4111 1111 1111 1111", "6222021234567890123", "2023年5月1日",
     "a@b.cn", "http://x.cn/a", "WWW.X.CN", "*****"]
)  # fmt: skip
MIXED = st.lists(st.one_of(NUMBER_PIECES, NUMBERY), max_size=6).map("".join)


@settings(max_examples=500, deadline=None)
@given(MIXED)
def test_the_cheap_gates_skip_only_texts_the_patterns_would_not_change(text: str) -> None:
    # mask_pii and normalize skip their slow patterns unless a cheap check says they could match
    from classifier import normalize as n
    from classifier import pii

    assert mask_pii(text) == pii.mask_numbers(pii._EMAIL.sub(pii.EMAIL, text))
    ungated = n._URL.sub(n.URL, n._CONTROL.sub("", text))
    ungated = n._STARRED.sub(n.MASKED, pii.mask_numbers(pii._EMAIL.sub(pii.EMAIL, ungated)))
    ungated = n._WHITESPACE.sub(" ", n._LONG_DIGITS.sub(n.NUMBER, ungated)).strip()
    assert normalize(text) == ungated


@settings(max_examples=300, deadline=None)
@given(DIGITY)
def test_masking_never_leaves_a_mobile_number(text: str) -> None:
    masked = mask_pii(text)
    digits_only = "".join(ch for ch in masked if ch.isdigit())
    assert isinstance(masked, str)
    # whatever survives masking, no 11-digit mobile number stands alone in it
    for start in range(len(masked)):
        window = masked[start : start + 11]
        if len(window) == 11 and window.isdigit() and window[0] == "1" and window[1] in "3456789":
            before = masked[start - 1] if start else ""
            after = masked[start + 11 : start + 12]
            assert before.isdigit() or after.isdigit(), (text, masked)
    assert len(digits_only) <= len(text)


@settings(max_examples=200, deadline=None)
@given(TEXT)
def test_segmentation_keeps_every_character(text: str) -> None:
    clean = normalize(text)
    assert "".join(cut(clean)) == clean
    assert all(token.isalnum() for token in tokenize(clean))


# ---- the file reader: any bytes in give rows or one clear BadInputError, never a crash or a hang

CSV_ISH = st.binary(max_size=600) | st.text(alphabet='a,"\n\r\t中文，\ufeff=+-@', max_size=300).map(
    lambda t: t.encode("utf-8")
)


@contextmanager
def _time_limit(seconds: int) -> Iterator[None]:
    def _hang(signum: int, frame: object) -> None:
        raise TimeoutError("the reader hung")

    previous = signal.signal(signal.SIGALRM, _hang)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def _read_all(data: bytes, suffix: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"input{suffix}"
        path.write_bytes(data)
        with _time_limit(20):
            try:
                info = scan_table(path)
                rows = list(iter_rows(info))
            except BadInputError as exc:
                assert str(exc).strip() and "\n" not in str(exc)
                return
        assert all(len(row) == len(info.columns) for row in rows)


@pytest.mark.parametrize("suffix", [".csv", ".tsv", ".jsonl"])
@settings(max_examples=120, deadline=None)
@given(data=CSV_ISH)
def test_text_tables_from_any_bytes(suffix: str, data: bytes) -> None:
    _read_all(data, suffix)


@settings(max_examples=60, deadline=None)
@given(data=st.binary(max_size=2000))
def test_xlsx_from_any_bytes(data: bytes) -> None:
    _read_all(data, ".xlsx")


@settings(max_examples=40, deadline=None)
@given(cut=st.integers(min_value=0, max_value=4000), flip=st.integers(min_value=0, max_value=255))
def test_damaged_xlsx(tmp_path_factory: pytest.TempPathFactory, cut: int, flip: int) -> None:
    from openpyxl import Workbook

    folder = tmp_path_factory.mktemp("xlsx")
    book = Workbook()
    book.active.append(["内容", "编号"])
    book.active.append(["街道办互相推诿", 1])
    book.save(folder / "good.xlsx")
    data = bytearray((folder / "good.xlsx").read_bytes())
    if data:
        data[cut % len(data)] ^= flip
    _read_all(bytes(data[: max(1, len(data) - cut // 2)]), ".xlsx")
