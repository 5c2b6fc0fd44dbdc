"""Code tier: the normaliser and PII masking."""

from __future__ import annotations

import pytest

from classifier.normalize import normalize, normalize_all
from classifier.pii import is_valid_id_number, mask_pii, passes_luhn

# A valid 身份证 number (checksum X) and a Luhn-valid card number, made up for the test.
VALID_ID = "11010519491231002X"
VALID_CARD = "6222021234567890128"


def test_full_width_becomes_half_width() -> None:
    assert normalize("ＡＢＣ１２３，好") == "ABC123,好"


def test_whitespace_is_folded_and_stripped() -> None:
    assert normalize("  推诿\t\n\n扯皮\u3000 了 ") == "推诿 扯皮 了"


def test_control_and_zero_width_characters_are_removed() -> None:
    assert normalize("不\u200b作\ufeff为\x07") == "不作为"


def test_lone_surrogates_are_removed() -> None:
    # JSON may carry "\ud800"; no encoder (nor the Rust segmenter) accepts it
    assert normalize("推诿\ud800不管\udfff") == "推诿不管"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("电话13812345678。", "电话PHONE。"),
        ("电话+86 138-1234-5678", "电话PHONE"),
        ("电话0086 13812345678", "电话PHONE"),
        ("座机0731-88889999", "座机PHONE"),
        ("电话138****5678", "电话PHONE"),
        (f"身份证{VALID_ID}", "身份证IDNO"),
        (f"卡号{VALID_CARD}", "卡号CARD"),
        ("详见https://example.cn/a?b=1 谢谢", "详见URL 谢谢"),
        ("编号202311280001", "编号NUM"),
        ("电话0000-00000000", "电话PHONE"),
        ("号码*****", "号码MASKED"),
    ],
)
def test_personal_numbers_and_noise_become_placeholders(raw: str, expected: str) -> None:
    assert normalize(raw) == expected


def test_short_numbers_dates_and_amounts_are_kept() -> None:
    assert normalize("2023年5月6日补偿3500元，共12户") == "2023年5月6日补偿3500元,共12户"


def test_normalize_all_keeps_order_and_length() -> None:
    assert normalize_all(["Ａ", "ｂ", ""]) == ["A", "b", ""]


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        # positives: must never survive into a log
        ("13912345678", "PHONE"),
        ("+8613912345678", "PHONE"),
        ("+86-139-1234-5678", "PHONE"),
        ("手机 139 1234 5678 联系", "手机 PHONE 联系"),
        (VALID_ID, "IDNO"),
        (VALID_ID.lower(), "IDNO"),
        (VALID_CARD, "CARD"),
        ("6222 0212 3456 7890 128", "CARD"),
        ("a.b@example.com", "EMAIL"),
        ("010-12345678", "PHONE"),
        # negatives: ordinary numbers stay
        ("2023年11月27日", "2023年11月27日"),
        ("补偿款35000元", "补偿款35000元"),
        ("12345热线", "12345热线"),
        ("11010519491231002Y", "11010519491231002Y"),  # not an ID: bad check character
        ("110105194912310021", "110105194912310021"),  # 18 digits, wrong checksum, not Luhn
        ("23456789012", "23456789012"),  # 11 digits but not a mobile prefix
        ("20261127-031551", "20261127-031551"),  # a model version: passes Luhn, but is no card
        ("模型 20261127-031551-2", "模型 20261127-031551-2"),
    ],
)
def test_mask_pii_table(text: str, masked: str) -> None:
    assert mask_pii(text) == masked


def test_id_checksum_and_luhn() -> None:
    assert is_valid_id_number(VALID_ID)
    assert not is_valid_id_number(VALID_ID[:-1] + "1")
    assert passes_luhn(VALID_CARD)
    assert not passes_luhn(VALID_CARD[:-1] + "9")
