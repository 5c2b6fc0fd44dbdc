"""Property tests: any text in gives a normalised text out, never a crash or a hang."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from classifier.normalize import normalize
from classifier.pii import mask_pii
from classifier.segment import cut, tokenize

TEXT = st.text(alphabet=st.characters(codec="utf-8"), max_size=400)
DIGITY = st.text(alphabet="0123456789 -+*xX@.天电话", max_size=80)


@settings(max_examples=300, deadline=None)
@given(TEXT)
def test_normalize_is_total_and_idempotent(text: str) -> None:
    once = normalize(text)
    assert isinstance(once, str)
    assert normalize(once) == once
    assert once == once.strip() and "  " not in once


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
