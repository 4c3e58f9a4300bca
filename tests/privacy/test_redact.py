"""Redaction: generated PII embedded in Chinese text never survives; ordinary numbers are never touched."""

from __future__ import annotations

import re
from datetime import date

from hypothesis import given, settings
from hypothesis import strategies as st

from assistant.privacy import redact, redact_names
from assistant.privacy.redact import ID_CHECK, ID_WEIGHTS, luhn_ok, valid_id_number

# Common characters that spell none of the redaction keywords (电话, 卡号, 姓名 …).
SAFE = "的一是在不了有和人这中大为上个国我以要他时来们生到作地于出就分对成会可主发动同工也能下过子说产种面而方后多定行学法所民得经之进着等部度家更想样"
PUNCTUATION = "，。；、！？ "
text = st.text(alphabet=st.sampled_from(SAFE + PUNCTUATION), max_size=25)
AREAS = ["420202", "420203", "420204", "420205", "420222", "420281", "110101", "440305", "310104"]


def check_char(first17: str) -> str:
    return ID_CHECK[sum(int(d) * w for d, w in zip(first17, ID_WEIGHTS, strict=True)) % 11]


@st.composite
def identity_numbers(draw: st.DrawFn) -> str:
    area = draw(st.sampled_from(AREAS) | st.from_regex(r"[1-9][0-9]{5}", fullmatch=True))
    born = draw(st.dates(min_value=date(1900, 1, 1), max_value=date(2024, 12, 31)))
    first17 = f"{area}{born:%Y%m%d}{draw(st.integers(0, 999)):03d}"
    number = first17 + check_char(first17)
    if number.endswith("X") and draw(st.booleans()):
        number = number[:-1] + "x"
    spaced = draw(st.booleans())
    return f"{number[:6]} {number[6:14]} {number[14:]}" if spaced else number


@st.composite
def mobiles(draw: st.DrawFn) -> str:
    digits = "1" + draw(st.sampled_from("3456789")) + draw(st.from_regex(r"[0-9]{9}", fullmatch=True))
    style = draw(st.sampled_from(["plain", "space", "hyphen", "+86", "+86 ", "0086", "86-"]))
    if style == "space":
        return f"{digits[:3]} {digits[3:7]} {digits[7:]}"
    if style == "hyphen":
        return f"{digits[:3]}-{digits[3:7]}-{digits[7:]}"
    return digits if style == "plain" else style + digits


@st.composite
def landlines(draw: st.DrawFn) -> str:
    area = "0" + draw(st.from_regex(r"[1-9][0-9]{1,2}", fullmatch=True))
    local = draw(st.from_regex(r"[2-8][0-9]{6,7}", fullmatch=True))
    style = draw(st.sampled_from(["-", "", " ", "()", "ext"]))
    if style == "()":
        return f"({area}){local}"
    if style == "ext":
        return f"{area}-{local}-{draw(st.integers(1, 9999))}"
    return f"{area}{style}{local}"


@st.composite
def bank_cards(draw: st.DrawFn) -> str:
    length = draw(st.integers(16, 19))
    body = draw(st.sampled_from(["62", "4", "5", "9"])) + draw(st.from_regex(r"[0-9]{20}", fullmatch=True))
    body = body[: length - 1]
    digits = next(body + str(c) for c in range(10) if luhn_ok(body + str(c)))
    separator = draw(st.sampled_from(["", " ", "-"]))
    return separator.join(digits[i : i + 4] for i in range(0, len(digits), 4))


def embedded(strategy: st.SearchStrategy[str]) -> st.SearchStrategy[tuple[str, str]]:
    return st.tuples(text, strategy, text).map(lambda t: (t[0] + t[1] + t[2], t[1]))


def assert_no_digits_left(pii: str, source: str) -> None:
    out = redact(source)
    assert pii not in out
    assert not re.search(r"\d", out), f"digits survived: {out!r} (from {source!r})"


def test_generated_identity_numbers_are_valid() -> None:
    assert valid_id_number("11010519491231002X")
    assert not valid_id_number("110105194912310021")


@settings(max_examples=300)
@given(embedded(identity_numbers()))
def test_identity_numbers_never_survive(case: tuple[str, str]) -> None:
    source, pii = case
    assert_no_digits_left(pii, source)


@settings(max_examples=300)
@given(embedded(mobiles()))
def test_mobile_numbers_never_survive(case: tuple[str, str]) -> None:
    source, pii = case
    assert_no_digits_left(pii, source)


@settings(max_examples=300)
@given(embedded(landlines()))
def test_landline_numbers_never_survive(case: tuple[str, str]) -> None:
    source, pii = case
    assert_no_digits_left(pii, source)


@settings(max_examples=300)
@given(embedded(bank_cards()))
def test_luhn_bank_cards_never_survive(case: tuple[str, str]) -> None:
    source, pii = case
    assert_no_digits_left(pii, source)


@settings(max_examples=300)
@given(embedded(st.emails()))
def test_emails_never_survive(case: tuple[str, str]) -> None:
    source, email = case
    out = redact(source)
    assert email not in out
    assert "@" not in out


@settings(max_examples=200)
@given(
    text,
    st.lists(st.one_of(identity_numbers(), mobiles(), landlines(), bank_cards()), min_size=2, max_size=5),
)
def test_several_numbers_in_a_row_never_survive(filler: str, numbers: list[str]) -> None:
    source = filler + " ".join(numbers) + filler
    out = redact(source)
    assert not re.search(r"\d", out), f"digits survived: {out!r} (from {source!r})"


@st.composite
def ordinary_sentences(draw: st.DrawFn) -> str:
    born = draw(st.dates(min_value=date(1930, 1, 1), max_value=date(2030, 12, 31)))
    pieces = [
        f"月收入{draw(st.integers(0, 99999))}元",
        f"{born.year}年{born.month}月{born.day}日",
        f"{born:%Y-%m-%d}",
        f"享受低保{draw(st.integers(1, 30))}年",
        f"{draw(st.integers(0, 110))}岁",
        f"每周{draw(st.integers(1, 7))}次",
        f"房租每月{draw(st.integers(100, 5000))}元",
        f"身高{draw(st.integers(90, 190))}厘米",
        f"住{draw(st.integers(1, 33))}楼",
        f"存款{draw(st.integers(0, 9_999_999))}元",
        f"每餐{draw(st.integers(1, 30))}.{draw(st.integers(0, 9))}元",
    ]
    chosen = draw(st.lists(st.sampled_from(pieces), min_size=1, max_size=6))
    glue = draw(st.lists(text, min_size=len(chosen), max_size=len(chosen)))
    return "".join(g + "，" + p for g, p in zip(glue, chosen, strict=True))


@settings(max_examples=300)
@given(ordinary_sentences())
def test_ordinary_amounts_dates_and_durations_survive_unchanged(sentence: str) -> None:
    assert redact(sentence) == sentence


@given(st.lists(st.one_of(text, identity_numbers(), mobiles(), landlines(), bank_cards(), st.emails())))
def test_redaction_is_idempotent(parts: list[str]) -> None:
    once = redact("，".join(parts))
    assert redact(once) == once


def test_examples_from_the_issue_survive() -> None:
    sentence = "月收入1200元，2024年3月15日申请，享受低保3年，独居78岁。"
    assert redact(sentence) == sentence


def test_full_width_numbers_are_masked_and_the_rest_kept() -> None:
    out = redact("身份证：４２０２０２１９４６０１０１１２３４，座机（０７１４）６１２３４５６。")
    assert out == "身份证：[身份证号]，座机[电话]。"


def test_identity_number_with_wrong_check_digit_is_still_masked() -> None:
    assert redact("号码420202194601011230") == "号码[身份证号]"


def test_disability_certificate_number_is_masked_whole() -> None:
    assert redact("残疾证号42020219460101123X42。") == "残疾证号[身份证号]。"


def test_local_number_after_a_keyword_is_masked_but_phone_bills_are_not() -> None:
    assert redact("联系电话6123456，电话费120元") == "联系电话[电话]，电话费120元"


def test_card_after_a_phone_number_is_found_inside_the_digit_run() -> None:
    card = "6222021234567890"
    card = card[:-1] + next(str(c) for c in range(10) if luhn_ok(card[:-1] + str(c)))
    out = redact(f"手机 138 1234 5678 {card}")
    assert not re.search(r"\d", out)


def test_long_account_numbers_failing_luhn_are_masked() -> None:
    assert redact("存折 12345678901234567，谢谢") == "存折 [银行卡号]，谢谢"
    assert redact("编号123456789012345678901") == "编号[号码]"


def test_given_names_and_names_stated_in_the_text_are_masked_everywhere() -> None:
    out = redact("姓名：王秀英，女。王秀英的孙子王小明读三年级。", names=["王小明"])
    assert "王秀英" not in out and "王小明" not in out
    assert out == "姓名：[姓名]，女。[姓名]的孙子[姓名]读三年级。"


def test_longer_names_are_masked_before_their_prefixes() -> None:
    assert redact_names("张三丰和张三", ["张三", "张三丰"]) == "[姓名]和[姓名]"


def test_one_character_names_are_ignored() -> None:
    assert redact("王老人", names=["王"]) == "王老人"


def test_qq_mail_is_masked_as_one_email() -> None:
    assert redact("邮箱12345678@qq.com。") == "邮箱[邮箱]。"
