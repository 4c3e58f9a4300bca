"""Need extraction by an LLM, behind the ``NeedExtractor`` protocol, with the rule-based extractor as fallback.

The model sees the redacted assessment as data and the taxonomy's codes; its answer is filtered: only taxonomy
category codes are kept, needs the text negates ("不需要送餐") are dropped, each person is mapped to the
applicant or a listed household member. Any failure — server down, unusable output, nothing found — returns
what the fallback extractor finds, so matching never fails because of the LLM.
"""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import HumanMessage, SystemMessage
from pydantic import BaseModel, Field

from assistant.matching.needs import CHILD_CATEGORIES, infer_members, is_child
from assistant.matching.types import MatchRequest, Member, Need, NeedExtractor, Person
from assistant.planning.llm import LLMFailure, invoke_structured
from assistant.planning.prompts import load_prompt
from assistant.privacy import redact
from assistant.taxonomy.model import Taxonomy, get_taxonomy

log = logging.getLogger(__name__)

MAX_NEEDS = 12
LLM_CONFIDENCE = 0.8
APPLICANT = ("", "申请人", "本人", "服务对象", "户主")
_NEGATION = re.compile(r"不需要|不用|无需|不必|不想要|不愿意|不愿|拒绝|暂不需要|暂时不需要|没有.{0,2}需要")
_NEGATION_WINDOW = 8


class ExtractedNeed(BaseModel):
    text: str = Field(description="评估原文中体现该需求的原句")
    category: str = Field(description="服务类别代码，只能取给定代码之一")
    person: str = Field(default="申请人", description="需求属于谁：申请人，或家庭成员的称谓（如 孙子）")
    negated: bool = Field(default=False, description="原文明确表示不需要、已有人提供或拒绝时为 true")


class ExtractedNeeds(BaseModel):
    """从需求评估原文中识别出的服务需求。"""

    needs: list[ExtractedNeed] = Field(default_factory=list)


def negates(text: str, category: str, taxonomy: Taxonomy) -> bool:
    """True when ``text`` says the category is not needed (a negation cue shortly before one of its words)."""
    entry = taxonomy.categories.get(category)
    if entry is None:
        return False
    words = [w for w in (*entry.keywords, *re.split(r"[/（）()、]", entry.label)) if len(w) >= 2]
    for cue in _NEGATION.finditer(text):
        window = text[cue.end() : cue.end() + _NEGATION_WINDOW]
        if any(word in window for word in words):
            return True
    return False


class LLMNeedExtractor:
    """``NeedExtractor`` asking ``llm`` for structured needs; ``fallback`` answers whenever the LLM cannot."""

    def __init__(
        self,
        llm: BaseChatModel,
        fallback: NeedExtractor,
        *,
        taxonomy: Taxonomy | None = None,
        method: str = "auto",
        prompts_dir: Path | None = None,
    ) -> None:
        self.llm = llm
        self.fallback = fallback
        self.taxonomy = taxonomy or get_taxonomy()
        self.method = method
        self.prompts_dir = prompts_dir

    def extract(self, request: MatchRequest) -> list[Need]:
        try:
            needs = self._extract(request)
        except LLMFailure as failure:
            log.warning("LLM need extraction fell back to rules: %s", failure.message)
            return self.fallback.extract(request)
        except Exception:  # an extractor must never break matching
            log.exception("LLM need extraction failed; falling back to rules")
            return self.fallback.extract(request)
        if not needs:
            log.info("LLM found no need; using the rule-based extractor")
            return self.fallback.extract(request)
        return needs

    def _extract(self, request: MatchRequest) -> list[Need]:
        t = self.taxonomy
        prompt = load_prompt("need_extraction", self.prompts_dir)
        categories = "\n".join(f"- {c.code}：{c.label}。{c.description}" for c in t.categories.values())
        members = "；".join(
            m.relation + (f"（{m.age}岁）" if m.age is not None else "") for m in infer_members(request)
        )
        text = redact(request.text).replace("</assessment>", "＜/assessment＞")
        rendered = prompt.render(
            categories=categories,
            members=members or "无",
            assessment=text,
            output_schema=json.dumps(ExtractedNeeds.model_json_schema(), ensure_ascii=False),
        )
        messages = [SystemMessage(redact(rendered.system)), HumanMessage(redact(rendered.user))]
        answer = invoke_structured(self.llm, ExtractedNeeds, messages, method=self.method).value
        household = infer_members(request)
        needs: list[Need] = []
        seen: set[tuple[str, str]] = set()
        for item in answer.needs:
            category = item.category.strip()
            if category not in t.categories:
                log.info("LLM need with unknown category dropped: %r", category[:40])
                continue
            quote = item.text.strip() or t.category_label(category)
            if item.negated or negates(quote, category, t):
                continue
            person = _person(item.person, category, request, household)
            key = (category, person.relation)
            if key in seen:
                continue
            seen.add(key)
            needs.append(Need(text=quote, category=category, confidence=LLM_CONFIDENCE, person=person))
        return needs[:MAX_NEEDS]


def _person(name: str, category: str, request: MatchRequest, household: list[Member]) -> Person:
    """The person a need is for: a named household member, a child for child services, else the applicant."""
    name = name.strip()
    if name not in APPLICANT:
        for member in household:
            if member.relation and (member.relation in name or name in member.relation):
                return Person(relation=member.relation, age=member.age, groups=list(member.groups))
    if category in CHILD_CATEGORIES and not is_child(request.age, request.groups):
        for member in household:
            if is_child(member.age, member.groups):
                return Person(relation=member.relation, age=member.age, groups=list(member.groups))
    return Person(relation="申请人", age=request.age, groups=list(request.groups))
