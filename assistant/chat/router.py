"""Workbench chat bound to a case: ``GET/POST /api/cases/{id}/messages`` (POST may stream as SSE)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse

from assistant.auth.deps import CaseworkerUser, container
from assistant.chat.schemas import ExchangeOut, MessageIn, MessageOut
from assistant.chat.service import ChatService

router = APIRouter(prefix="/api/cases", tags=["chat"])


def _chat(request: Request) -> ChatService:
    return container(request).chat  # type: ignore[no-any-return]


@router.get("/{case_id}/messages", response_model=list[MessageOut], summary="个案对话记录")
def list_messages(case_id: str, request: Request, user: CaseworkerUser) -> Any:
    return _chat(request).messages(case_id, user)


@router.post(
    "/{case_id}/messages",
    response_model=ExchangeOut,
    summary="向助手提问（解释匹配、找替代资源、增删方案条目、判断资格）",
    description='stream=true 时以 SSE 返回：若干 `data: {"delta": …}`，最后一条 `data: {"done": true, …}`（同非流式的返回体）。',
)
def post_message(
    case_id: str,
    body: MessageIn,
    request: Request,
    user: CaseworkerUser,
    stream: Annotated[bool, Query(description="以 SSE 流式返回")] = False,
) -> Any:
    turn = _chat(request).ask(case_id, body.content, user)
    if not stream:
        turn.run()
        return _exchange(turn)

    def events() -> Iterator[str]:
        for delta in turn.deltas():
            yield _sse({"delta": delta})
        yield _sse({"done": True, **_exchange(turn).model_dump(mode="json")})

    return StreamingResponse(events(), media_type="text/event-stream", headers={"Cache-Control": "no-cache"})


def _exchange(turn: Any) -> ExchangeOut:
    return ExchangeOut(
        question=turn.question,
        answer=turn.message,
        plan_changed=bool(turn.answer and turn.answer.plan_changed),
    )


def _sse(data: dict[str, Any]) -> str:
    return f"data: {json.dumps(data, ensure_ascii=False)}\n\n"
