"""Find and mask personal data: mobile and landline numbers, 身份证 numbers, bank cards, e-mails.

Used on every path where text could reach a log or an error message, and by the normaliser, so that
personal numbers never become model features either.
"""

from __future__ import annotations

import re

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"

# (?<![\d]) / (?!\d) keep us from cutting a number out of a longer digit run.
_MOBILE = re.compile(r"(?<![\d+])(?:(?:\+|00)?86[-\s]?)?1[3-9]\d(?:[-\s]?[\d*]{4}){2}(?!\d)")
_LANDLINE = re.compile(r"(?<!\d)0\d{2,3}-\d{7,8}(?!\d)")
_ID_CANDIDATE = re.compile(r"(?<!\d)\d{17}[\dXx](?!\d)")
# A card number is 13-19 digits written solid or in groups of four; anything else with dashes (a date
# stamp like 20261127-031551, a model version) is not one, even when it happens to pass Luhn.
_CARD_CANDIDATE = re.compile(r"(?<![\d-])(?:\d{13,19}|\d{4}(?:[ -]\d{4}){2,3}(?:[ -]\d{1,3})?)(?![\d-])")
# Every number masked below is a run of 7+ digits, stars, spaces, dashes or pluses that starts with a
# digit or star. Most texts have none (dates are written 2023年5月), and one search for such a run is
# much cheaper than the four lookbehind patterns.
_NUMBER_RUN = re.compile(r"[\d*][\d*\s+-]{6,}")
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")

PHONE = "PHONE"
ID_NUMBER = "IDNO"
BANK_CARD = "CARD"
EMAIL = "EMAIL"


def is_valid_id_number(candidate: str) -> bool:
    """True for an 18-character 身份证 number whose check character (GB 11643) is right."""
    if len(candidate) != 18 or not candidate[:17].isdigit():
        return False
    total = sum(int(d) * w for d, w in zip(candidate[:17], _ID_WEIGHTS, strict=False))
    return _ID_CHECK[total % 11] == candidate[17].upper()


def passes_luhn(digits: str) -> bool:
    """The Luhn check used by bank card numbers."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 1:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def _mask_id(match: re.Match[str]) -> str:
    return ID_NUMBER if is_valid_id_number(match.group()) else match.group()


def _mask_card(match: re.Match[str]) -> str:
    digits = re.sub(r"[ -]", "", match.group())
    return BANK_CARD if 13 <= len(digits) <= 19 and passes_luhn(digits) else match.group()


def mask_pii(text: str) -> str:
    """Replace personal numbers and e-mail addresses with placeholder words."""
    if "@" in text:  # the e-mail pattern is slow; most texts have no @
        text = _EMAIL.sub(EMAIL, text)
    if not _NUMBER_RUN.search(text):
        return text
    return mask_numbers(text)


def mask_numbers(text: str) -> str:
    """Mask 身份证, mobile, bank card and landline numbers (the numbers `mask_pii` looks for)."""
    text = _ID_CANDIDATE.sub(_mask_id, text)
    text = _MOBILE.sub(PHONE, text)
    text = _CARD_CANDIDATE.sub(_mask_card, text)
    return _LANDLINE.sub(PHONE, text)
