"""LLM mode: LangChain tool calling over the case tools, streamed.

Each round streams the model's reply; if the reply calls tools, they run (against the catalog, the matcher and
the stored plan) and the model is asked again; text deltas are passed on as they arrive. Reasoning blocks
(``<think>…</think>``) are not shown. After the answer, resource ids the tools never returned are flagged.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import (
    AIMessage,
    AIMessageChunk,
    BaseMessage,
    HumanMessage,
    SystemMessage,
    ToolMessage,
)
from langchain_core.tools import BaseTool, StructuredTool
from pydantic import BaseModel, Field

from assistant.chat.intents import ID_RE
from assistant.chat.tools import Answer, CaseTools

log = logging.getLogger(__name__)

MAX_ROUNDS = 4


class ResourceArg(BaseModel):
    resource_id: str = Field(description="资源编号，如 hsg-meal-001")


class AlternativesArgs(BaseModel):
    category: str = Field(description="服务类别代码，如 meal_assistance、bathing_assistance")
    near_home: bool = Field(default=False, description="希望离家近")
    open_weekends: bool = Field(default=False, description="希望周末也服务")
    free_or_cheap: bool = Field(default=False, description="希望免费或低收费")
    at_home: bool = Field(default=False, description="希望上门服务")


class CategoryArg(BaseModel):
    category: str = Field(description="服务类别代码，如 meal_assistance")


class NoArgs(BaseModel):
    pass


def case_tools(tools: CaseTools, used: list[Answer]) -> list[BaseTool]:
    """The case operations as LangChain tools; every result is also kept in ``used`` (for grounding)."""

    def run(fn: Callable[..., Answer]) -> Callable[..., str]:
        def call(**kwargs: Any) -> str:
            answer = fn(**kwargs)
            used.append(answer)
            return answer.text

        return call

    def alternatives(
        category: str,
        near_home: bool = False,
        open_weekends: bool = False,
        free_or_cheap: bool = False,
        at_home: bool = False,
    ) -> Answer:
        flags = {"near": near_home, "weekend": open_weekends, "free": free_or_cheap, "at_home": at_home}
        return tools.alternatives(category, {k for k, v in flags.items() if v})

    def drop(resource_id: str) -> Answer:
        return tools.drop([resource_id], [])

    def replace_category(resource_id: str) -> Answer:
        return tools.replace([], resource_id)

    specs: list[tuple[str, str, type[BaseModel], Callable[..., Answer]]] = [
        (
            "case_overview",
            "查看当前个案：申请人情况、识别的需求、各需求的候选资源、方案条目和工单状态。",
            NoArgs,
            tools.overview,
        ),
        (
            "explain_match",
            "解释某资源为什么被匹配给本个案（匹配理由、服务时间、地址、名额），或为什么不在匹配结果中。",
            ResourceArg,
            tools.explain,
        ),
        (
            "find_alternatives",
            "查找本个案可申请的某类服务的其他资源（已按资格过滤），可要求离家近、周末服务、免费、上门。",
            AlternativesArgs,
            alternatives,
        ),
        (
            "check_eligibility",
            "判断本户每个人是否符合某资源的服务条件，并说明理由。",
            ResourceArg,
            tools.eligibility,
        ),
        (
            "eligibility_for_category",
            "判断本户能否申请某类服务，列出可申请的资源。",
            CategoryArg,
            tools.eligibility_for_category,
        ),
        (
            "add_plan_item",
            "把某资源加入服务方案（保存为新版本；只能加入本个案有资格的资源）。",
            ResourceArg,
            tools.add,
        ),
        ("remove_plan_item", "从服务方案中删除某资源的条目（保存为新版本）。", ResourceArg, drop),
        (
            "replace_plan_item",
            "用某资源替换方案中同类别的条目（保存为新版本）。",
            ResourceArg,
            replace_category,
        ),
    ]
    return [
        StructuredTool.from_function(func=run(fn), name=name, description=description, args_schema=schema)
        for name, description, schema, fn in specs
    ]


class ThinkFilter:
    """Drops ``<think>…</think>`` from a stream whose tags may be split across chunks."""

    OPEN, CLOSE = "<think>", "</think>"

    def __init__(self) -> None:
        self.buffer = ""
        self.inside = False

    def feed(self, text: str) -> str:
        self.buffer += text
        out = []
        while self.buffer:
            tag = self.CLOSE if self.inside else self.OPEN
            at = self.buffer.find(tag)
            if at >= 0:
                if not self.inside:
                    out.append(self.buffer[:at])
                self.buffer = self.buffer[at + len(tag) :]
                self.inside = not self.inside
                continue
            keep = _partial_suffix(self.buffer, tag)
            if not self.inside:
                out.append(self.buffer[: len(self.buffer) - keep])
            self.buffer = self.buffer[len(self.buffer) - keep :]
            break
        return "".join(out)

    def flush(self) -> str:
        rest, self.buffer = ("" if self.inside else self.buffer), ""
        return rest


def _partial_suffix(text: str, tag: str) -> int:
    for size in range(min(len(tag) - 1, len(text)), 0, -1):
        if text.endswith(tag[:size]):
            return size
    return 0


def _text(chunk: BaseMessage) -> str:
    content = chunk.content
    if isinstance(content, str):
        return content
    return "".join(b.get("text", "") if isinstance(b, dict) else str(b) for b in content)


def run_agent(
    llm: BaseChatModel,
    system: str,
    history: Sequence[BaseMessage],
    question: str,
    tools: CaseTools,
    used: list[Answer],
) -> Iterator[str]:
    """Yield the answer's text deltas; tool results are appended to ``used``."""
    lc_tools = case_tools(tools, used)
    by_name = {t.name: t for t in lc_tools}
    bound = llm.bind_tools(lc_tools)
    messages: list[BaseMessage] = [SystemMessage(system), *history, HumanMessage(question)]
    for round_no in range(MAX_ROUNDS + 1):
        model = bound if round_no < MAX_ROUNDS else llm  # the last round must answer in words
        think = ThinkFilter()
        full: AIMessageChunk | None = None
        for chunk in model.stream(messages):
            if not isinstance(chunk, AIMessageChunk):
                continue
            full = chunk if full is None else full + chunk  # type: ignore[assignment]
            delta = think.feed(_text(chunk))
            if delta:
                yield delta
        tail = think.flush()
        if tail:
            yield tail
        if full is None or not full.tool_calls:
            return
        messages.append(AIMessage(content=full.content, tool_calls=full.tool_calls))
        for call in full.tool_calls:
            tool = by_name.get(call["name"])
            if tool is None:
                result = f"没有名为 {call['name']} 的工具。"
            else:
                try:
                    result = str(tool.invoke(call.get("args") or {}))
                except Exception as exc:  # a bad argument must not end the conversation
                    log.warning("chat tool %s failed: %s", call["name"], exc)
                    result = f"工具调用失败：{exc}"
            messages.append(ToolMessage(result, tool_call_id=call.get("id") or call["name"]))


def unverified_ids(answer: str, known: set[str]) -> list[str]:
    """Resource-id-like tokens in an answer that neither the case nor any tool result contained."""
    return [rid for rid in dict.fromkeys(ID_RE.findall(answer)) if rid not in known and "-" in rid]
