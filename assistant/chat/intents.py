"""Offline reading of a caseworker's chat message (no LLM): what they want, about what, with which wishes.

Rules over common Chinese phrasings, e.g. "为什么推荐花湖街道老年幸福食堂" (why), "有没有离家近一点的助餐点"
(alternatives, near home), "换一个周末也开的" (alternatives, open at weekends), "把助浴去掉" (drop), "加上第一个"
(add), "他能申请助浴吗" (eligibility). Resources are recognised by id, by full name, or by ordinal ("第二个"),
categories by the taxonomy's labels and keywords.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from assistant.taxonomy import Taxonomy, get_taxonomy

# Order matters: the first kind whose pattern matches wins (see ``parse``).
REPLACE_RE = re.compile(r"换成|换为|改成|改为|替换成|替换为|调整为|调成")
REPLACE_WITH_RE = re.compile(r"用(?P<new>.+?)(?:替换|代替|替代|顶替)(?P<old>.*)")
DROP_RE = re.compile(
    r"去掉|删掉|删除|删了|去除|移除|拿掉|撤掉|撤下|取消|划掉|不要了|不需要了|不用了|用不上|"
    r"不需要(?!钱|预约|排队)|不要(?!钱|收费|太远|预约)"
)
ADD_RE = re.compile(
    r"加上|加入|添加|增加|加一个|加一项|加个|再加|补上|补充|安排上|放进|列入|纳入|也要|还要|也安排"
)
USE_RE = re.compile(r"就用|用这个|用那个|就选|选这个|选那个|就它|选第|用第|要第|就这个|就那个")
WHY_RE = re.compile(r"为什么|为何|理由|依据|原因|怎么(?:会)?(?:匹配|推荐|选)|凭什么|根据什么|为啥")
WISH_ALT_RE = re.compile(r"换一个|换个|换一家|换家|其他|其它|别的|另外|还有别")
ELIGIBLE_RE = re.compile(
    r"能不能|能否|可不可以|可否|符合|资格|条件|够不够|够格|合不合适|适不适合|"
    r"(?:可以|能)(?:申请|享受|参加|去|用|办|领)"
)
ALT_RE = re.compile(r"有没有|有无|还有|哪些|哪家|哪个|推荐|找一个|找个|找一家|想找|需要一个|要一个")
SUMMARY_RE = re.compile(r"方案|计划|总结|概况|概要|进展|工单|转介|回访|目前|现在|情况|需求")
HELP_RE = re.compile(
    r"^(你好|您好|hi|hello|帮助|help|怎么用|能做什么|你能做什么|使用说明)[!！。?？]*$", re.IGNORECASE
)

WISH_PATTERNS = {
    "near": re.compile(r"近|附近|离家|家门口|步行|走路|不远|同一?个?(?:镇|乡|街道|社区|村)"),
    "weekend": re.compile(r"周末|周六|周日|星期六|星期天|星期日|礼拜六|礼拜天|节假日|双休"),
    "free": re.compile(r"免费|不要钱|不收费|便宜|费用低|少花钱|减免|花钱少"),
    "at_home": re.compile(r"上门|到家|送上门|送到家|入户|送餐"),
}
WISH_LABELS = {"near": "离家近", "weekend": "周末也服务", "free": "免费或低收费", "at_home": "上门服务"}

ORDINALS = {"一": 0, "二": 1, "两": 1, "三": 2, "四": 3, "五": 4, "1": 0, "2": 1, "3": 2, "4": 3, "5": 4}
ORDINAL_RE = re.compile(r"第\s*([一二两三四五12345])\s*(?:个|家|项|条|处|种)?")
ID_RE = re.compile(r"[A-Za-z][A-Za-z0-9_.]*(?:-[A-Za-z0-9_.]+)+")
_STRIP = re.compile(r"[\s“”\"'‘’「」《》（）()【】\[\]·・]")


@dataclass
class Intent:
    """What a message asks. ``resource_ids`` / ``ordinals`` / ``categories`` are in the order mentioned;
    for a replacement, ``old_*`` hold what is replaced and the plain fields what replaces it."""

    kind: str  # replace | drop | add | use | why | alternatives | eligibility | summary | category | help
    resource_ids: list[str] = field(default_factory=list)
    ordinals: list[int] = field(default_factory=list)
    categories: list[str] = field(default_factory=list)
    old_resource_ids: list[str] = field(default_factory=list)
    old_categories: list[str] = field(default_factory=list)
    wishes: set[str] = field(default_factory=set)

    @property
    def has_target(self) -> bool:
        return bool(self.resource_ids or self.ordinals or self.categories)


def normalise(text: str) -> str:
    return _STRIP.sub("", text)


def find_categories(text: str, taxonomy: Taxonomy | None = None) -> list[str]:
    """Category codes named in ``text`` (labels or keywords), in order of first mention; longest term wins."""
    taxonomy = taxonomy or get_taxonomy()
    spans: list[tuple[int, int, str]] = []
    for code, category in taxonomy.categories.items():
        terms = {category.label, *category.keywords}
        for part in re.split(r"[（()）/、]", category.label):
            if len(part.strip()) >= 2:
                terms.add(part.strip())
        for term in terms:
            if len(term) < 2:
                continue
            start = text.find(term)
            if start >= 0:
                spans.append((start, start + len(term), code))
    # Prefer the longest term at each place so "送餐上门" is meal assistance, not just "上门".
    spans.sort(key=lambda s: (s[0], -(s[1] - s[0])))
    found: list[str] = []
    covered_until = -1
    for start, end, code in spans:
        if start < covered_until and code not in found:
            continue
        if code not in found:
            found.append(code)
        covered_until = max(covered_until, end)
    return found


def find_resources(text: str, known: Mapping[str, str]) -> list[str]:
    """Resource ids mentioned by id or full name (``known``: id → name), in order of mention."""
    flat = normalise(text)
    hits: list[tuple[int, str]] = []
    for match in ID_RE.finditer(text):
        hits.append((match.start(), match.group(0)))
    lowered = text.lower()
    for rid, name in known.items():
        at = lowered.find(rid.lower())
        if at >= 0:
            hits.append((at, rid))
            continue
        short = normalise(name)
        if len(short) >= 4:
            at = flat.find(short)
            if at >= 0:
                hits.append((at, rid))
    out: list[str] = []
    for _, rid in sorted(hits):
        canonical = next((k for k in known if k.lower() == rid.lower()), rid)
        if canonical not in out:
            out.append(canonical)
    return out


def find_ordinals(text: str) -> list[int]:
    return [ORDINALS[m.group(1)] for m in ORDINAL_RE.finditer(text)]


def find_wishes(text: str) -> set[str]:
    return {name for name, pattern in WISH_PATTERNS.items() if pattern.search(text)}


def parse(text: str, known: Mapping[str, str], taxonomy: Taxonomy | None = None) -> Intent:
    """Read one message. ``known`` maps the resource ids the conversation can refer to onto their names."""
    text = text.strip()
    taxonomy = taxonomy or get_taxonomy()
    wishes = find_wishes(text)

    def targets(part: str) -> dict[str, list]:  # type: ignore[type-arg]
        return {
            "resource_ids": find_resources(part, known),
            "ordinals": find_ordinals(part),
            "categories": find_categories(part, taxonomy),
        }

    if HELP_RE.match(text):
        return Intent("help")
    with_match = REPLACE_WITH_RE.search(text)
    if with_match:
        new, old = targets(with_match.group("new")), targets(with_match.group("old"))
        return Intent(
            "replace",
            **new,
            old_resource_ids=old["resource_ids"],
            old_categories=old["categories"],
            wishes=wishes,
        )
    split = REPLACE_RE.search(text)
    if split:
        old, new = targets(text[: split.start()]), targets(text[split.end() :])
        if new["resource_ids"] or new["ordinals"]:
            return Intent(
                "replace",
                **new,
                old_resource_ids=old["resource_ids"],
                old_categories=old["categories"],
                wishes=wishes,
            )
        # "换成周末也开的" names no resource: a request for alternatives.
        return Intent("alternatives", **targets(text), wishes=wishes)
    everything = targets(text)
    if DROP_RE.search(text):
        return Intent("drop", **everything, wishes=wishes)
    if ADD_RE.search(text):
        return Intent("add", **everything, wishes=wishes)
    if USE_RE.search(text):
        return Intent("use", **everything, wishes=wishes)
    if WHY_RE.search(text):
        return Intent("why", **everything, wishes=wishes)
    if wishes or WISH_ALT_RE.search(text):
        return Intent("alternatives", **everything, wishes=wishes)
    if ELIGIBLE_RE.search(text):
        return Intent("eligibility", **everything, wishes=wishes)
    if ALT_RE.search(text):
        return Intent("alternatives", **everything, wishes=wishes)
    if everything["resource_ids"] or everything["ordinals"]:
        return Intent("why", **everything, wishes=wishes)
    if everything["categories"]:
        return Intent("category", **everything, wishes=wishes)
    if SUMMARY_RE.search(text):
        return Intent("summary")
    return Intent("help")
