"""Structured output from an OpenAI-compatible server through ``langchain-openai``, robust to real servers.

Servers differ: some support ``response_format: json_schema``, some only tool calls, some only
``json_object``; reasoning models wrap answers in ``<think>…</think>``; some ignore ``max_completion_tokens``;
some return an empty message instead of refusing. So:

- the schema goes to LangChain as a JSON-schema dict (a pydantic class would make the openai SDK parse the reply
  itself and raise before we see it), the raw reply is kept (``include_raw=True``) and parsed here: think blocks
  and code fences stripped, the JSON object found, then validated with pydantic (LangChain's parsed value is
  ignored: its parser accepts truncated JSON); a reply cut off by the token limit counts as invalid;
- the method is configurable (``llm_structured_method``); ``auto`` tries json_schema → function_calling →
  json_mode and remembers, per server and model, the first one the server accepts and answers;
- an answer that does not validate gets one repair request; after that the caller falls back (offline drafter);
- timeouts, connection errors, 5xx and auth errors are "unavailable": the caller falls back at once.

Chat models other than ``ChatOpenAI`` (LangChain fake models in tests) are invoked plainly and parsed the same way.
"""

from __future__ import annotations

import json
import logging
import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage
from pydantic import BaseModel, ValidationError

from assistant.config import Settings
from assistant.planning.prompts import load_prompt
from assistant.privacy import redact

log = logging.getLogger(__name__)

T = TypeVar("T", bound=BaseModel)

METHODS = ("json_schema", "function_calling", "json_mode")
PLAIN = "plain"
# Sent as ``max_tokens`` in the body: llama.cpp, Ollama, LM Studio and older vLLM ignore ``max_completion_tokens``.
MAX_TOKENS = 4096

_THINK = re.compile(r"<think(?:ing)?>.*?</think(?:ing)?>", re.DOTALL | re.IGNORECASE)
_UNCLOSED_THINK = re.compile(r"\A\s*<think(?:ing)?>.*", re.DOTALL | re.IGNORECASE)
_FENCE = re.compile(r"```(?:json|JSON)?\s*(.*?)```", re.DOTALL)

TRUNCATED = "输出被截断（达到长度上限），请输出更简短的完整 JSON"

_memory: dict[str, str] = {}
_memory_lock = threading.Lock()


class LLMFailure(Exception):
    """The model gave nothing usable. ``kind``: unavailable | rejected | empty | invalid."""

    def __init__(self, kind: str, message: str, output: str = "") -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.output = output  # the model's raw text, for the repair request


@dataclass
class Structured(Generic[T]):
    value: T
    method: str
    attempts: int


def build_chat_model(settings: Settings, *, max_tokens: int = MAX_TOKENS) -> BaseChatModel | None:
    """A ``ChatOpenAI`` for ``ASSISTANT_LLM_BASE_URL``, or None when no server is configured (offline)."""
    if not settings.llm_base_url:
        return None
    from langchain_openai import ChatOpenAI

    return ChatOpenAI(
        model=settings.llm_model or "default",
        base_url=settings.llm_base_url,
        api_key=settings.llm_api_key or "not-needed",  # type: ignore[arg-type]
        timeout=settings.llm_timeout,
        max_retries=0,  # a slow or failing server means the offline drafter, not a long wait
        temperature=0.2,
        use_responses_api=False,
        extra_body={"max_tokens": max_tokens},
    )


def model_label(llm: BaseChatModel) -> str:
    """What a plan records as its author: the model name, else the class name."""
    for attr in ("model_name", "model"):
        value = getattr(llm, attr, None)
        if isinstance(value, str) and value:
            return value
    return type(llm).__name__


def server_key(llm: BaseChatModel) -> str:
    base = getattr(llm, "openai_api_base", None) or ""
    return f"{base}|{model_label(llm)}"


def remembered_method(llm: BaseChatModel) -> str | None:
    with _memory_lock:
        return _memory.get(server_key(llm))


def forget_methods() -> None:
    """Clear what ``auto`` learned (tests; a server upgrade)."""
    with _memory_lock:
        _memory.clear()


def _is_openai(llm: BaseChatModel) -> bool:
    try:
        from langchain_openai.chat_models.base import BaseChatOpenAI
    except ImportError:  # pragma: no cover - langchain-openai is a dependency
        return False
    return isinstance(llm, BaseChatOpenAI)


def candidate_methods(llm: BaseChatModel, configured: str) -> list[str]:
    if not _is_openai(llm):
        return [PLAIN]
    if configured in METHODS:
        return [configured]
    if configured not in ("", "auto"):
        log.warning("未知的结构化输出方式 %r，按 auto 处理", configured)
    known = remembered_method(llm)
    return [known, *[m for m in METHODS if m != known]] if known else list(METHODS)


# -- parsing ----------------------------------------------------------------------------------------------


def strip_reasoning(text: str) -> str:
    """Remove ``<think>…</think>`` blocks (and an unterminated leading one, as truncated replies have)."""
    text = _THINK.sub("", text)
    return _UNCLOSED_THINK.sub("", text).strip()


def extract_json(text: str) -> Any:
    """The first JSON object in a model's text: think blocks and code fences removed, prose around it ignored."""
    cleaned = strip_reasoning(text)
    fenced = _FENCE.search(cleaned)
    if fenced:
        cleaned = fenced.group(1).strip()
    try:
        return json.loads(cleaned)
    except json.JSONDecodeError:
        pass
    start = cleaned.find("{")
    if start < 0:
        raise ValueError("回复中没有 JSON 对象")
    decoder = json.JSONDecoder()
    try:
        value, _ = decoder.raw_decode(cleaned[start:])
    except json.JSONDecodeError as exc:
        raise ValueError(f"JSON 格式错误：{exc.msg}（第 {exc.lineno} 行第 {exc.colno} 列）") from exc
    return value


def message_text(message: BaseMessage) -> str:
    content = message.content
    if isinstance(content, str):
        return content
    parts = []
    for block in content or []:
        if isinstance(block, str):
            parts.append(block)
        elif isinstance(block, dict) and block.get("type") == "text":
            parts.append(str(block.get("text", "")))
    return "".join(parts)


def _raw_output(raw: Any) -> str:
    """What the model actually produced: tool-call arguments if any, else the message text."""
    if isinstance(raw, AIMessage):
        if raw.tool_calls:
            return json.dumps(raw.tool_calls[0]["args"], ensure_ascii=False)
        if raw.invalid_tool_calls:
            return str(raw.invalid_tool_calls[0].get("args") or "")
        return message_text(raw)
    if isinstance(raw, BaseMessage):
        return message_text(raw)
    return "" if raw is None else str(raw)


def validate(schema: type[T], output: str) -> T:
    """Parse and validate a model's output; raises LLMFailure(empty|invalid) with a message for the repair."""
    if not strip_reasoning(output):
        raise LLMFailure("empty", "回复为空")
    try:
        data = extract_json(output)
    except ValueError as exc:
        raise LLMFailure("invalid", str(exc)) from exc
    if not isinstance(data, dict):
        raise LLMFailure("invalid", "回复不是 JSON 对象")
    try:
        return schema.model_validate(data)
    except ValidationError as exc:
        details = "；".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors(include_url=False)[:5]
        )
        raise LLMFailure("invalid", f"不符合结构：{details}") from exc


def _classify(exc: Exception) -> LLMFailure:
    try:
        import openai
    except ImportError:  # pragma: no cover
        openai = None  # type: ignore[assignment]
    if openai is not None:
        if isinstance(exc, openai.LengthFinishReasonError):
            return LLMFailure("invalid", TRUNCATED)
        if isinstance(exc, openai.APIConnectionError):  # includes timeouts
            return LLMFailure("unavailable", f"连接大模型服务失败：{type(exc).__name__}")
        if isinstance(exc, openai.APIStatusError):
            status = exc.status_code
            if status in (400, 404, 415, 422):
                return LLMFailure("rejected", f"服务器拒绝该请求（HTTP {status}）")
            return LLMFailure("unavailable", f"大模型服务出错（HTTP {status}）")
    if isinstance(exc, NotImplementedError):
        return LLMFailure("rejected", "该模型不支持此结构化输出方式")
    return LLMFailure("unavailable", f"调用大模型失败：{type(exc).__name__}")


# -- calling ----------------------------------------------------------------------------------------------


def _attempt(llm: BaseChatModel, schema: type[T], messages: Sequence[BaseMessage], method: str) -> T:
    try:
        if method == PLAIN:
            raw: Any = llm.invoke(list(messages))
        else:
            runnable = llm.with_structured_output(schema.model_json_schema(), method=method, include_raw=True)
            raw = runnable.invoke(list(messages)).get("raw")  # type: ignore[union-attr]
    except Exception as exc:  # every transport or provider error becomes a typed failure
        raise _classify(exc) from exc
    # LangChain's own "parsed" is not used: its JSON parser accepts truncated JSON as a partial object.
    output = _raw_output(raw)
    try:
        if isinstance(raw, BaseMessage) and raw.response_metadata.get("finish_reason") == "length":
            raise LLMFailure("invalid", TRUNCATED)
        return validate(schema, output)
    except LLMFailure as failure:
        failure.output = output
        raise


def _repair_messages(
    messages: Sequence[BaseMessage], error: str, previous: str, schema_json: str
) -> list[BaseMessage]:
    prompt = load_prompt("output_repair").render(
        error=error, previous_output=redact(previous[:2000]), output_schema=schema_json
    )
    return [*messages, HumanMessage(prompt.user or prompt.system)]


def invoke_structured(
    llm: BaseChatModel,
    schema: type[T],
    messages: Sequence[BaseMessage],
    *,
    method: str = "auto",
) -> Structured[T]:
    """Ask for ``schema``; try methods as configured, repair once, raise ``LLMFailure`` when nothing works."""
    methods = candidate_methods(llm, method)
    schema_json = json.dumps(schema.model_json_schema(), ensure_ascii=False)
    attempts = 0
    last: LLMFailure | None = None
    for index, current in enumerate(methods):
        more_methods = index + 1 < len(methods)
        attempts += 1
        try:
            value = _attempt(llm, schema, messages, current)
        except LLMFailure as failure:
            last = failure
            if failure.kind == "unavailable":
                raise
            if failure.kind in ("rejected", "empty") and more_methods:
                log.info("结构化输出方式 %s 不可用（%s），改试下一种", current, failure.message)
                continue
            if failure.kind == "rejected":
                raise
            attempts += 1
            repair = _repair_messages(messages, failure.message, failure.output, schema_json)
            try:
                value = _attempt(llm, schema, repair, current)
            except LLMFailure as second:
                log.warning("大模型输出两次均无法使用（%s；%s）", failure.message, second.message)
                raise second from failure
        _remember(llm, current)
        return Structured(value=value, method=current, attempts=attempts)
    raise last or LLMFailure("unavailable", "没有可用的结构化输出方式")


def _remember(llm: BaseChatModel, method: str) -> None:
    if method == PLAIN:
        return
    with _memory_lock:
        _memory[server_key(llm)] = method
