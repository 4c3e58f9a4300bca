"""Redaction of 身份证号, phone numbers, bank cards, e-mail and known names.

Checksums (GB 11643 for identity numbers, Luhn for cards) keep ordinary numbers such as incomes
and dates from being mangled, while anything shaped like a phone number is always masked.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
ID_CHECK = "10X98765432"

_ID_RE = re.compile(r"(?<![0-9A-Za-z])[1-9]\d{5}(?:18|19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])\d{3}[0-9Xx](?![0-9A-Za-z])")
_ID15_RE = re.compile(r"(?<!\d)[1-9]\d{5}\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])\d{3}(?!\d)")
_MOBILE_RE = re.compile(r"(?<!\d)(?:\+?86[-\s]?)?1[3-9]\d[-\s]?\d{4}[-\s]?\d{4}(?!\d)")
_LANDLINE_RE = re.compile(r"(?<!\d)(?:\(?0\d{2,3}\)?[-\s]?)\d{7,8}(?:-\d{1,6})?(?!\d)")
_CARD_RE = re.compile(r"(?<!\d)(?:\d[\s-]?){15,18}\d(?!\d)")
_EMAIL_RE = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")

ID_MASK = "[身份证号]"
PHONE_MASK = "[电话]"
CARD_MASK = "[银行卡号]"
EMAIL_MASK = "[邮箱]"
NAME_MASK = "[姓名]"


def valid_id_number(value: str) -> bool:
    """GB 11643-1999 check digit of an 18-character identity number."""
    if len(value) != 18 or not value[:17].isdigit():
        return False
    total = sum(int(d) * w for d, w in zip(value[:17], ID_WEIGHTS, strict=True))
    return ID_CHECK[total % 11] == value[17].upper()


def luhn_ok(digits: str) -> bool:
    total = 0
    for index, char in enumerate(reversed(digits)):
        n = int(char)
        if index % 2 == 1:
            n = n * 2 - 9 if n > 4 else n * 2
        total += n
    return total % 10 == 0


def _id_sub(match: re.Match[str]) -> str:
    # Masked even with a wrong check digit: a typo in an identity number is still an identity number.
    return ID_MASK


def _card_sub(match: re.Match[str]) -> str:
    digits = re.sub(r"\D", "", match.group(0))
    if 16 <= len(digits) <= 19 and luhn_ok(digits):
        return CARD_MASK
    return match.group(0)


def redact(text: str, names: Iterable[str] = ()) -> str:
    """Mask identity numbers, bank cards, phone numbers, e-mail and the given names in ``text``."""
    if not text:
        return text
    out = _ID_RE.sub(_id_sub, text)
    out = _CARD_RE.sub(_card_sub, out)
    out = _ID15_RE.sub(ID_MASK, out)
    out = _MOBILE_RE.sub(PHONE_MASK, out)
    out = _LANDLINE_RE.sub(PHONE_MASK, out)
    out = _EMAIL_RE.sub(EMAIL_MASK, out)
    return redact_names(out, names)


def redact_names(text: str, names: Iterable[str]) -> str:
    """Mask each given personal name (longest first, so 张三丰 is not left as [姓名]丰)."""
    for name in sorted({n.strip() for n in names if n and len(n.strip()) >= 2}, key=len, reverse=True):
        text = text.replace(name, NAME_MASK)
    return text
