"""Chat over cases: stored messages, offline or LLM answers, and conversations opened from the OpenAI face.

An answer comes from the LLM with tool calling (``agent``) when the planner has one (``planner.llm``), else from
the offline responder (``offline``); both act through ``CaseTools`` so they cite only real, eligible resources.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage
from sqlalchemy import select

from assistant.auth.models import User
from assistant.cases.schemas import CaseCreate
from assistant.catalog.service import CatalogService
from assistant.chat import offline
from assistant.chat.agent import run_agent, unverified_ids
from assistant.chat.models import ChatConversation, ChatMessage
from assistant.chat.schemas import MessageOut, OAIMessage
from assistant.chat.tools import Answer, CaseTools
from assistant.config import Settings
from assistant.db import Database
from assistant.errors import Invalid
from assistant.matching.types import MatchRequest
from assistant.planning.prompts import load_prompt
from assistant.privacy import redact
from assistant.taxonomy import get_taxonomy
from assistant.taxonomy.model import CITYWIDE

log = logging.getLogger(__name__)

MODEL_ID = "huangshi-assistant"
HISTORY_TURNS = 10
NEGATION = re.compile(r"(不是|并非|非|没有|未|无)$")
CODE_RE = re.compile(r"\b4202\d{2}\b")


@dataclass
class Turn:
    """A streamed answer: iterate ``deltas()``; afterwards ``answer`` and the stored ``message`` are set."""

    deltas_iter: Iterator[str]
    answer: Answer | None = None
    message: MessageOut | None = None
    question: MessageOut | None = None
    case_id: str | None = None
    parts: list[str] = field(default_factory=list)

    def deltas(self) -> Iterator[str]:
        for delta in self.deltas_iter:
            self.parts.append(delta)
            yield delta

    def run(self) -> str:
        return "".join(self.deltas())


@dataclass
class Conversation:
    """Where an OpenAI-style request belongs: a case (maybe just created) or a question back to the user."""

    case_id: str | None
    created: bool
    question: str
    history: list[OAIMessage]
    reply: str | None = None  # set when we must ask something (e.g. the county) before a case can exist


class ChatService:
    def __init__(
        self,
        settings: Settings,
        db: Database,
        catalog: CatalogService,
        matcher: Any,
        planner: Any,
        cases: Any,
    ) -> None:
        self.settings = settings
        self.db = db
        self.catalog = catalog
        self.matcher = matcher
        self.planner = planner
        self.cases = cases

    @property
    def llm(self) -> Any:
        """The planner's LangChain chat model, or None (offline mode)."""
        return getattr(self.planner, "llm", None)

    @property
    def mode(self) -> str:
        return "llm" if self.llm is not None else "offline"

    # -- messages ------------------------------------------------------------------------------------

    def tools(self, case_id: str, user: User) -> CaseTools:
        """Case operations as ``user`` (raises NotFound / Forbidden through the cases service)."""
        return CaseTools(case_id, user, cases=self.cases, catalog=self.catalog, matcher=self.matcher)

    def messages(self, case_id: str, user: User, limit: int = 200) -> list[MessageOut]:
        self.cases.get_case(case_id, user)  # access check
        with self.db.session() as session:
            rows = session.scalars(
                select(ChatMessage)
                .where(ChatMessage.case_id == case_id)
                .order_by(ChatMessage.id.desc())
                .limit(limit)
            )
            return [MessageOut.model_validate(r) for r in reversed(list(rows))]

    def _store(
        self,
        case_id: str,
        role: str,
        content: str,
        actor: str,
        source: str,
        meta: dict[str, Any] | None = None,
    ) -> MessageOut:
        with self.db.session() as session:
            row = ChatMessage(
                case_id=case_id, role=role, content=content, actor=actor, source=source, meta=meta or {}
            )
            session.add(row)
            session.flush()
            return MessageOut.model_validate(row)

    def _memory(self, case_id: str) -> dict[str, Any]:
        """The meta of the last answer (what "第一个", "它", "换一个" refer to)."""
        with self.db.session() as session:
            row = session.scalar(
                select(ChatMessage)
                .where(ChatMessage.case_id == case_id, ChatMessage.role == "assistant")
                .order_by(ChatMessage.id.desc())
                .limit(1)
            )
            return dict(row.meta) if row else {}

    def _history(self, case_id: str) -> list[BaseMessage]:
        with self.db.session() as session:
            rows = list(
                session.scalars(
                    select(ChatMessage)
                    .where(ChatMessage.case_id == case_id)
                    .order_by(ChatMessage.id.desc())
                    .limit(HISTORY_TURNS * 2)
                )
            )
        return [
            HumanMessage(redact(r.content)) if r.role == "user" else AIMessage(r.content)
            for r in reversed(rows)
        ]

    # -- answering -----------------------------------------------------------------------------------

    def ask(self, case_id: str, text: str, user: User, *, source: str = "workbench") -> Turn:
        """Store the question, answer it (streamed through the returned ``Turn``), store the answer."""
        tools = self.tools(case_id, user)
        history = self._history(case_id)
        memory = self._memory(case_id)
        turn = Turn(iter(()), case_id=case_id)
        turn.question = self._store(case_id, "user", text, user.name, source)
        turn.deltas_iter = self._answer(turn, tools, text, user, source, history, memory)
        return turn

    def ask_now(self, case_id: str, text: str, user: User, *, source: str = "workbench") -> Turn:
        turn = self.ask(case_id, text, user, source=source)
        turn.run()
        return turn

    def _answer(
        self,
        turn: Turn,
        tools: CaseTools,
        text: str,
        user: User,
        source: str,
        history: list[BaseMessage],
        memory: dict[str, Any],
    ) -> Iterator[str]:
        meta: dict[str, Any]
        if self.llm is not None:
            used: list[Answer] = []
            parts: list[str] = []
            try:
                for delta in run_agent(
                    self.llm, self._system_prompt(tools), history, redact(text), tools, used
                ):
                    parts.append(delta)
                    yield delta
            except Exception as exc:  # the LLM server failing must not lose the caseworker's question
                log.warning("chat LLM failed, answering offline: %s", exc)
                if parts:
                    yield "\n\n（大模型服务中断，回答可能不完整。）"
                    parts.append("\n\n（大模型服务中断，回答可能不完整。）")
                else:
                    answer = offline.respond(tools, text, memory)
                    note = f"（大模型服务暂不可用，以下为{offline.OFFLINE_LABEL}）\n"
                    yield note + answer.text
                    parts.append(note + answer.text)
                    used.append(answer)
            known = self._known_ids(tools, used)
            strange = unverified_ids("".join(parts), known)
            if strange:
                warning = f"\n\n注意：回答中的 {'、'.join(strange)} 不在本个案的匹配或查询结果中，未经系统核实，请勿直接采用。"
                parts.append(warning)
                yield warning
            cited = [rid for a in used for rid in a.cited]
            answer = Answer(
                "".join(parts),
                "llm",
                cited=list(dict.fromkeys(cited)),
                proposed=next((a.proposed for a in reversed(used) if a.proposed), []),
                category=next((a.category for a in reversed(used) if a.category), None),
                plan_changed=any(a.plan_changed for a in used),
            )
            meta = {**answer.meta(), "mode": "llm", "model": _model_name(self.llm), "unverified": strange}
        else:
            answer = offline.respond(tools, text, memory)
            if source == "openai":  # other front-ends show no badge: say it in the text
                answer.text += f"\n\n（{offline.OFFLINE_LABEL}）"
            yield answer.text
            meta = {**answer.meta(), "mode": "offline", "model": offline.OFFLINE_LABEL}
        turn.answer = answer
        turn.message = self._store(tools.case_id, "assistant", answer.text, "助手", source, meta)

    def _system_prompt(self, tools: CaseTools) -> str:
        context = f"{tools.overview().text}\n评估原文（已脱敏）：{tools.case.text}"
        taxonomy = get_taxonomy()
        codes = "、".join(f"{c.code}（{c.label}）" for c in taxonomy.categories.values())
        prompt = load_prompt("chat_system", self.settings.prompts_dir).render(case_context=context)
        return f"{prompt.system}\n\n服务类别代码：{codes}"

    def _known_ids(self, tools: CaseTools, used: list[Answer]) -> set[str]:
        known = {tools.case_id, MODEL_ID, *tools.matched()}
        known |= {i.resource_id for _, i in tools.plan_items()}
        for answer in used:
            known |= set(answer.cited) | set(answer.proposed)
        return known

    # -- conversations from OpenAI-compatible clients ------------------------------------------------

    def open_conversation(
        self,
        model: str,
        messages: list[OAIMessage],
        user: User,
        metadata: dict[str, Any] | None = None,
        user_field: str | None = None,
    ) -> Conversation:
        """Find (or start) the case a chat-completions request continues.

        The rule, in order: a case id in the model name (``huangshi-assistant:case-<id>``) or in
        ``metadata.case_id``; else the conversation key — sha256 of the user's id and the first user message —
        if an earlier turn already opened a case for it; else a new case whose assessment is the first user
        message, in the county named by ``metadata.county``, the ``user`` field, the user's own county (if
        not city-level) or any user message ("阳新县", "420222"); if none is found we ask for it.
        """
        users = [m for m in messages if m.role == "user" and m.text.strip()]
        if not users:
            raise Invalid("请求中没有用户消息（role 为 user 的消息）")
        question = users[-1].text.strip()
        history = messages[:-1] if messages[-1].role == "user" else messages
        task = frontend_task(question)
        if task is not None:
            return Conversation(None, False, question, history, reply=task)
        metadata = metadata or {}
        explicit = _case_in_model(model) or str(metadata.get("case_id") or "").strip() or None
        if explicit:
            self.cases.get_case(explicit, user)  # exists and may be seen by this user
            return Conversation(explicit, False, question, history)
        key = conversation_key(user.id, users[0].text)
        with self.db.session() as session:
            mapped = session.get(ChatConversation, key)
            if mapped is not None:
                return Conversation(mapped.case_id, False, question, history)
        county = self._county(metadata, user_field, user, [m.text for m in users])
        if county is None:
            options = "、".join(get_taxonomy().area_label(c) for c in get_taxonomy().counties)
            reply = (
                "收到这份需求评估。请告诉我申请人所在的区县（"
                + options
                + "），我再为其建立个案、匹配服务资源并起草服务方案。"
            )
            return Conversation(None, False, question, history, reply=reply)
        case_id = self._start_case(users[0].text, county, user)
        with self.db.session() as session:
            session.add(ChatConversation(key=key, case_id=case_id, user_id=user.id))
        return Conversation(case_id, True, question, history)

    def _county(
        self, metadata: dict[str, Any], user_field: str | None, user: User, texts: list[str]
    ) -> str | None:
        for value in (metadata.get("county"), _user_field_county(user_field)):
            code = _county_code(str(value)) if value else None
            if code:
                return code
        if user.county != CITYWIDE and not user.is_admin:
            return user.county
        for text in texts:
            code = _county_code(text)
            if code:
                return code
        return None

    def _start_case(self, text: str, county: str, user: User) -> str:
        """A case from a chat's first message: groups and age read from the text, then matched and drafted."""
        age = _applicant_age(text, county)
        case = self.cases.create_case(
            CaseCreate(text=text, county=county, groups=infer_groups(text, age), age=age), user
        )
        self.cases.draft_plan(case.id, user)
        return str(case.id)

    def opening(self, case_id: str, question: str, user: User, *, source: str = "openai") -> Turn:
        """Store the first message of a conversation that just opened a case; answer with the case at a glance."""
        tools = self.tools(case_id, user)
        stored_question = self._store(case_id, "user", question, user.name, source)
        answer = tools.overview()
        text = (
            f"已根据您的评估建立个案 {case_id}，并完成需求识别、资源匹配和方案草稿：\n\n{answer.text}\n\n"
            "接下来可以问我：为什么推荐某项资源、有没有离家近或周末也开的替代资源、某人能否申请，"
            "或让我加上 / 删除方案条目。方案需社工在工作台确认后才会生成转介工单。"
            f"\n\n（{offline.OFFLINE_LABEL}）"
        )
        meta = {**answer.meta(), "mode": "offline", "model": offline.OFFLINE_LABEL, "opening": True}
        turn = Turn(iter([text]), case_id=case_id, question=stored_question)
        turn.answer = Answer(text, "summary", cited=answer.cited)
        turn.message = self._store(case_id, "assistant", text, "助手", source, meta)
        return turn


def frontend_task(text: str) -> str | None:
    """Front-ends send housekeeping prompts of their own (Open WebUI: "### Task: … title / tags / follow-up",
    with the chat pasted inside). They are not assessments: answer them briefly and never open a case."""
    head = text.lstrip()[:400].lower()
    if not (head.startswith("### task") or "<chat_history>" in text.lower()):
        return None
    if "follow" in head:
        return json.dumps(
            {"follow_ups": ["有没有离家近一点的助餐点？", "现在的方案是什么？"]}, ensure_ascii=False
        )
    if "tag" in head:
        return json.dumps({"tags": ["社会救助", "服务匹配"]}, ensure_ascii=False)
    if "title" in head:
        return json.dumps({"title": "救助个案对话"}, ensure_ascii=False)
    return ""


def conversation_key(user_id: int, first_message: str) -> str:
    return hashlib.sha256(f"{user_id}\n{first_message.strip()}".encode()).hexdigest()


def _case_in_model(model: str) -> str | None:
    _, _, suffix = model.partition(":")
    suffix = suffix.strip()
    return suffix if suffix.startswith("case-") else None


def _user_field_county(value: str | None) -> str | None:
    """The OpenAI ``user`` field may carry ``{"county": …}`` as JSON, ``county=420222``, or just a county."""
    if not value:
        return None
    try:
        data = json.loads(value)
    except ValueError:
        data = None
    if isinstance(data, dict):
        return str(data.get("county") or "") or None
    return value


def _county_code(text: str) -> str | None:
    """A county-level code named in ``text`` by code, name, short name or town (citywide does not count)."""
    taxonomy = get_taxonomy()
    for code in CODE_RE.findall(text):
        if code in taxonomy.areas and code != CITYWIDE:
            return code
    for code in taxonomy.counties:
        area = taxonomy.areas[code]
        for name in (area.label, area.short, *area.aliases):
            if name and len(name) >= 2 and name in text:
                return code
    return None


def _applicant_age(text: str, county: str) -> int | None:
    from assistant.matching.needs import applicant_age

    return applicant_age(MatchRequest(text=text, county=county))


def infer_groups(text: str, age: int | None) -> list[str]:
    """Target groups the text states about the applicant (keywords, not negated); 60+ makes 老年人."""
    taxonomy = get_taxonomy()
    child_groups = {"orphan", "de_facto_orphan", "left_behind_child", "child_in_difficulty"}
    found: list[str] = []
    for code, group in taxonomy.groups.items():
        if code in child_groups and (age is None or age >= 18):
            continue  # a child's groups belong to a household member, not the applicant
        for keyword in sorted(group.keywords, key=len, reverse=True):
            at = text.find(keyword)
            if at >= 0 and not NEGATION.search(text[max(0, at - 2) : at]):
                found.append(code)
                break
    if age is not None and age >= 60 and "elderly" not in found:
        found.append("elderly")
    return found


def _model_name(llm: Any) -> str:
    for attr in ("model_name", "model"):
        value = getattr(llm, attr, None)
        if isinstance(value, str) and value:
            return value
    return type(llm).__name__
