"""Redaction of 身份证号, phone numbers, bank cards, e-mail and names before text leaves the process.

What is masked (each detector is a named pass, run in this order on one text):

- names: the names given (from a structured field), and whatever follows “姓名：”;
- e-mail addresses (first, so ``13812345678@qq.com`` goes as one e-mail, not a phone and a stray domain);
- identity numbers: 18 characters shaped like GB 11643 (area, valid birth date, sequence, check character;
  also with spaces in 6-8-4 groups, and 残疾证号 = identity number + 1–2 digits); a wrong check character is
  still masked — a typo in an identity number is still one. Old 15-digit numbers too;
- numbers a keyword introduces (“身份证号：…”, “卡号 …”, “账号…”), whatever their shape (dates excepted);
- any run of digit groups (single spaces or hyphens between) holding 16 or more digits, whole: bank cards
  (labelled so when a card-shaped window passes Luhn), account numbers (passbooks often fail Luhn), several
  numbers typed in a row — no ordinary amount or date looks like that; also 15 contiguous digits;
- mobile numbers (1[3-9]x, contiguous or 3-4-4, with +86 / 0086), landlines with an area code
  (0714-6123456, (0714)6123456, 07146123456, extensions), and 7–8 digit local numbers after “电话/手机/座机…”.

Full-width digits, letters and punctuation (１３８…, （０７１４）) are detected as their ASCII forms; the
untouched parts of the text keep their characters. Ordinary numbers — amounts, dates, ages, durations
(“月收入1200元”, “2024年3月15日”, “享受低保3年”) — are never changed.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
ID_CHECK = "10X98765432"

ID_MASK = "[身份证号]"
PHONE_MASK = "[电话]"
CARD_MASK = "[银行卡号]"
NUMBER_MASK = "[号码]"
EMAIL_MASK = "[邮箱]"
NAME_MASK = "[姓名]"

_FULL_WIDTH = {code: code - 0xFEE0 for code in range(0xFF01, 0xFF5F)}  # ！..～ → !..~
_FULL_WIDTH.update({0x3000: ord(" "), 0x2010: ord("-"), 0x2011: ord("-"), 0x2012: ord("-"), 0x2013: ord("-")})
_BLANK = "\x00"

_DATE = r"(?:18|19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])"
_EMAIL_RE = re.compile(
    r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+"
)
_ID_RE = re.compile(
    rf"(?<![0-9A-Za-z])[1-9]\d{{5}}[ -]?{_DATE}[ -]?\d{{3}}[0-9Xx](?:\d{{1,2}})?(?![0-9A-Za-z])"
)
_ID15_RE = re.compile(r"(?<!\d)[1-9]\d{5}\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])\d{3}(?!\d)")
_KEYWORD_ID_RE = re.compile(
    r"(?:身份证|证件|残疾证|社保卡|医保卡)(?:号码|号)?[^\d\n]{0,6}?(\d[\dXx -]{4,22}[\dXx])"
)
_KEYWORD_CARD_RE = re.compile(
    r"(?:银行卡|卡号|账号|帐号|存折|账户|帐户)(?:号码|号)?[^\d\n]{0,6}?(\d[\d -]{6,28}\d)"
)
_KEYWORD_PHONE_RE = re.compile(
    r"(?:电话|手机|座机|联系方式|号码|微信|tel|Tel|TEL)[^\d\n]{0,6}?(\d{7,8}|\d{3,4}[ -]\d{4})(?![ -]?\d)"
)
_DIGIT_RUN_RE = re.compile(r"(?<!\d)\d(?:[ -]?\d)+(?!\d)")
_CODE_PREFIX_RE = re.compile(r"\(\+?\d{2,4}\) ?$")  # "(0714)" or "(+86)" just before a run
_LONG_NUMBER_RE = re.compile(r"(?<!\d)\d{15,}(?!\d)")
_MOBILE_RE = re.compile(r"(?<!\d)(?:(?:\+|00)?86[ -]?|\(\+?86\) ?)?1[3-9]\d(?:[ -]?\d{4}){2}(?!\d)")
_LANDLINE_RE = re.compile(
    r"(?<!\d)(?:\(0\d{2,3}\) ?|0\d{2,3}[ -]?)(?:\d{7,8}|\d{3,4}[ -]\d{4})(?:(?:-|转|ext\.?)\d{1,6})?(?!\d)"
)
_DATE_LIKE_RE = re.compile(r"(?:18|19|20)\d{2}[ -]?\d{1,2}[ -]?\d{1,2}")
_NAME_FIELD_RE = re.compile(r"姓\s*名\s*[:：]\s*([\u4e00-\u9fff·]{2,5})")


def valid_id_number(value: str) -> bool:
    """GB 11643-1999 check character of an 18-character identity number."""
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


Span = tuple[int, int, str]


class _Scan:
    """The text being scanned: detection runs on a normalised copy whose masked parts are blanked out."""

    def __init__(self, text: str) -> None:
        self.original = text
        self.work = text.translate(_FULL_WIDTH)
        self.spans: list[Span] = []

    def claim(self, start: int, end: int, mask: str) -> None:
        if start >= end or _BLANK in self.work[start:end]:
            return
        self.spans.append((start, end, mask))
        self.work = self.work[:start] + _BLANK * (end - start) + self.work[end:]

    def claim_all(
        self, pattern: re.Pattern[str], mask: str, group: int = 0, keep: Callable[[str], bool] | None = None
    ) -> None:
        for match in list(pattern.finditer(self.work)):
            if keep is None or keep(match.group(group)):
                self.claim(match.start(group), match.end(group), mask)

    def result(self) -> str:
        out, position = [], 0
        for start, end, mask in sorted(self.spans):
            out.append(self.original[position:start])
            out.append(mask)
            position = end
        out.append(self.original[position:])
        return "".join(out)


def _names(scan: _Scan, names: Iterable[str], *, from_text: bool = True) -> None:
    """Every occurrence of each given name, and of names the text itself states (“姓名：王秀英”)."""
    wanted = {n.strip().translate(_FULL_WIDTH) for n in names if n}
    if from_text:
        wanted |= {m.group(1) for m in _NAME_FIELD_RE.finditer(scan.work)}
    for name in sorted((n for n in wanted if len(n) >= 2), key=len, reverse=True):
        for match in list(re.finditer(re.escape(name), scan.work)):
            scan.claim(match.start(), match.end(), NAME_MASK)


def _card_shaped(lengths: list[int]) -> bool:
    """One block of digits, or groups of four (the last may be shorter): how cards are written."""
    return len(lengths) == 1 or (all(n == 4 for n in lengths[:-1]) and 1 <= lengths[-1] <= 4)


def _has_card(groups: list[str]) -> bool:
    """Some card-shaped window of 16–19 digits in ``groups`` passes Luhn (or the whole run is card-shaped)."""
    lengths = [len(g) for g in groups]
    if 16 <= sum(lengths) <= 19 and _card_shaped(lengths):
        return True  # a card with a typo in it is still a card
    for first in range(len(groups)):
        for last in range(first, len(groups)):
            digits = "".join(groups[first : last + 1])
            if len(digits) > 19:
                break
            if len(digits) >= 16 and _card_shaped(lengths[first : last + 1]) and luhn_ok(digits):
                return True
    return False


def _long_digit_runs(scan: _Scan) -> None:
    """A run of digit groups (single spaces or hyphens between) holding 16+ digits is masked whole.

    No amount, date or age looks like that; cards, account numbers and several numbers typed in a row do,
    and cutting such a run into pieces by guesswork can leave a piece of a number behind.
    """
    for run in list(_DIGIT_RUN_RE.finditer(scan.work)):
        groups = re.findall(r"\d+", run.group(0))
        if sum(len(g) for g in groups) >= 16:
            prefix = _CODE_PREFIX_RE.search(scan.work, max(0, run.start() - 8), run.start())
            start = prefix.start() if prefix else run.start()
            scan.claim(start, run.end(), CARD_MASK if _has_card(groups) else NUMBER_MASK)


def _not_a_date(value: str) -> bool:
    return _DATE_LIKE_RE.fullmatch(value.strip()) is None and sum(c.isdigit() for c in value) >= 6


def _keyword_numbers(scan: _Scan) -> None:
    scan.claim_all(_KEYWORD_ID_RE, ID_MASK, group=1, keep=_not_a_date)
    scan.claim_all(_KEYWORD_CARD_RE, CARD_MASK, group=1, keep=_not_a_date)


PASSES: tuple[Callable[[_Scan], None], ...] = (
    lambda s: s.claim_all(_EMAIL_RE, EMAIL_MASK),
    lambda s: s.claim_all(_ID_RE, ID_MASK),
    lambda s: s.claim_all(_ID15_RE, ID_MASK),
    _keyword_numbers,
    _long_digit_runs,
    lambda s: s.claim_all(_LONG_NUMBER_RE, NUMBER_MASK),
    lambda s: s.claim_all(_MOBILE_RE, PHONE_MASK),
    lambda s: s.claim_all(_LANDLINE_RE, PHONE_MASK),
    # last: a local number without area code only counts after a keyword ("电话6123456")
    lambda s: s.claim_all(_KEYWORD_PHONE_RE, PHONE_MASK, group=1),
)


def redact(text: str, names: Iterable[str] = ()) -> str:
    """Mask identity numbers, bank cards, phone numbers, e-mail and the given names in ``text``."""
    if not text:
        return text
    scan = _Scan(text)
    _names(scan, names)
    for detect in PASSES:
        detect(scan)
    return scan.result()


def redact_names(text: str, names: Iterable[str]) -> str:
    """Mask each given personal name (longest first, so 张三丰 is not left as [姓名]丰)."""
    scan = _Scan(text)
    _names(scan, names, from_text=False)
    return scan.result()
