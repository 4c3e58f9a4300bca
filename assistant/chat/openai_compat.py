"""OpenAI-compatible face, so existing chat front-ends (Open WebUI, LobeChat, ChatBox …) can talk to cases.

Point the front-end at ``http://<host>:<port>/v1`` with an API key = your workbench token.

Conversation → case rule (``ChatService.open_conversation``):
1. model ``huangshi-assistant:case-<id>`` (listed by ``GET /v1/models`` for your recent cases) or
   ``metadata.case_id`` continues that case;
2. otherwise the conversation is keyed by sha256(user id, first user message): front-ends resend the whole
   history each turn, so every later turn of the same chat finds the case the first turn opened;
3. otherwise the first user message is the needs assessment: a case is opened in the county from
   ``metadata.county``, the ``user`` field (``{"county": "420222"}``, ``420222`` or ``阳新县``), the user's own
   county, or any user message naming one — if none, the assistant asks for the county first.
Front-end housekeeping prompts (Open WebUI's "### Task: generate a title / tags / follow-ups") get a short
JSON answer and never open a case.
Every reply's ``model`` is ``huangshi-assistant:case-<id>`` and the ``X-Case-Id`` header carries the case id.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, StreamingResponse

from assistant.auth.deps import CurrentUser, container
from assistant.chat.schemas import ChatCompletionRequest
from assistant.chat.service import MODEL_ID, ChatService, Turn

router = APIRouter(prefix="/v1", tags=["openai-compatible"])

RECENT_CASES = 20


def _chat(request: Request) -> ChatService:
    return container(request).chat  # type: ignore[no-any-return]


def _model(model_id: str, created: int, description: str) -> dict[str, Any]:
    return {
        "id": model_id,
        "object": "model",
        "created": created,
        "owned_by": "huangshi-mca",
        "name": description,
    }


@router.get("/models", summary="可用模型（OpenAI 兼容）：总助手及您近期的个案")
def list_models(request: Request, user: CurrentUser) -> dict[str, Any]:
    now = int(time.time())
    data = [_model(MODEL_ID, now, "服务类社会救助匹配助手（新对话的第一条消息作为需求评估）")]
    if user.role in ("caseworker", "admin"):
        page = container(request).cases.list_cases(user, limit=RECENT_CASES)
        for case in page.items:
            if case.status == "closed":
                continue
            label = f"个案 {case.id}（{case.county_label}，{case.status_label}）"
            data.append(_model(f"{MODEL_ID}:{case.id}", int(case.created_at.timestamp()), label))
    return {"object": "list", "data": data}


@router.post(
    "/chat/completions",
    summary="对话（OpenAI 兼容，支持 stream）",
    description=__doc__,
)
def chat_completions(body: ChatCompletionRequest, request: Request, user: CurrentUser) -> Any:
    chat = _chat(request)
    conversation = chat.open_conversation(body.model, body.messages, user, body.metadata, body.user)
    if conversation.case_id is None:
        turn = Turn(iter([conversation.reply or ""]))
        model = body.model
    else:
        if conversation.created:
            turn = chat.opening(conversation.case_id, conversation.question, user)
        else:
            turn = chat.ask(conversation.case_id, conversation.question, user, source="openai")
        model = f"{MODEL_ID}:{conversation.case_id}"
    completion_id = f"chatcmpl-{uuid.uuid4().hex[:24]}"
    created = int(time.time())
    headers = {"X-Case-Id": conversation.case_id or ""}
    prompt_tokens = sum(_tokens(m.text) for m in body.messages)

    if not body.stream:
        text = turn.run()
        return JSONResponse(
            {
                "id": completion_id,
                "object": "chat.completion",
                "created": created,
                "model": model,
                "choices": [
                    {"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}
                ],
                "usage": _usage(prompt_tokens, text),
                "case_id": conversation.case_id,
            },
            headers=headers,
        )

    include_usage = bool(body.stream_options and body.stream_options.include_usage)

    def chunk(delta: dict[str, Any], finish: str | None = None) -> str:
        payload = {
            "id": completion_id,
            "object": "chat.completion.chunk",
            "created": created,
            "model": model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
        }
        return f"data: {json.dumps(payload, ensure_ascii=False)}\n\n"

    def events() -> Iterator[str]:
        yield chunk({"role": "assistant", "content": ""})
        parts: list[str] = []
        for delta in turn.deltas():
            parts.append(delta)
            yield chunk({"content": delta})
        yield chunk({}, "stop")
        if include_usage:
            usage = {
                "id": completion_id,
                "object": "chat.completion.chunk",
                "created": created,
                "model": model,
                "choices": [],
                "usage": _usage(prompt_tokens, "".join(parts)),
            }
            yield f"data: {json.dumps(usage, ensure_ascii=False)}\n\n"
        yield "data: [DONE]\n\n"

    return StreamingResponse(
        events(), media_type="text/event-stream", headers={**headers, "Cache-Control": "no-cache"}
    )


def _tokens(text: str) -> int:
    # A rough count (about one token per Chinese character); clients only display it.
    return len(text)


def _usage(prompt_tokens: int, text: str) -> dict[str, int]:
    completion = _tokens(text)
    return {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion,
        "total_tokens": prompt_tokens + completion,
    }
